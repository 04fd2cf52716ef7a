/* lrefs.c -- who refers to each manual object of a script's heap.
 *
 * Owns the reverse index that makes h:free safe: for every object of a
 * manual pool that a script's objects refer to, the reference slots holding
 * it. Only slots of manual objects are recorded (lobj.c refuses a manual
 * object in a collected object's slot), and manual objects never move, so
 * a slot's address stays valid until its own object is freed.
 *
 * When h:free frees an object, every slot still referring to it is set to
 * LK_FREED, and reading such a slot is the error "refers to an object that
 * was freed" rather than a dangling address: the slot can never reach
 * whatever the pool puts at that address next.
 *
 * The index is an open-addressing hash table (linear probing, deletion by
 * backward shift) from a target object to the array of slots holding it.
 * A store costs one lookup and, when it replaces a reference, a search of
 * the old target's slots from the newest; a free costs its own slots plus
 * the slots referring to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include "lobj.h"

const char lk_freed_mark = 0;

static size_t home_of(const void *target, size_t mask)
{
  uint64_t x = (uint64_t)(uintptr_t)target * UINT64_C(0x9E3779B97F4A7C15);
  return (size_t)(x >> 32) & mask;
}

/* The entry of target, or the empty entry where it would go. */
static lref_t *find(lrefs_t *r, const void *target)
{
  size_t mask = r->cap - 1;
  for (size_t i = home_of(target, mask);; i = (i + 1) & mask)
    if (r->tab[i].target == target || r->tab[i].target == NULL)
      return &r->tab[i];
}

static int grow(lrefs_t *r)
{
  size_t cap = r->cap ? 2 * r->cap : 64;
  lref_t *old = r->tab, *tab = calloc(cap, sizeof *tab);
  if (tab == NULL)
    return 0;
  size_t oldcap = r->cap;
  r->tab = tab;
  r->cap = cap;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].target != NULL)
      *find(r, old[i].target) = old[i];
  free(old);
  return 1;
}

/* Empty entry e, moving later entries of its probe run back so that every
   entry stays reachable from its home. */
static void erase(lrefs_t *r, lref_t *e)
{
  size_t mask = r->cap - 1, hole = (size_t)(e - r->tab);
  free(e->slots);
  e->target = NULL;
  r->count--;
  for (size_t i = (hole + 1) & mask; r->tab[i].target != NULL; i = (i + 1) & mask) {
    size_t home = home_of(r->tab[i].target, mask);
    if (((i - home) & mask) >= ((i - hole) & mask)) { /* home is not in (hole, i] */
      r->tab[hole] = r->tab[i];
      r->tab[i].target = NULL;
      hole = i;
    }
  }
}

int lk_refs_add(lrefs_t *r, void *target, void **slot)
{
  if ((r->count + 1) * 2 > r->cap && !grow(r))
    return 0;
  lref_t *e = find(r, target);
  if (e->target == NULL) {
    e->slots = NULL;
    e->n = e->cap = 0;
  }
  if (e->n == e->cap) {
    size_t cap = e->cap ? 2 * e->cap : 4;
    void ***s = realloc(e->slots, cap * sizeof *s);
    if (s == NULL)
      return 0;
    e->slots = s;
    e->cap = cap;
  }
  if (e->target == NULL) {
    e->target = target;
    r->count++;
  }
  e->slots[e->n++] = slot;
  return 1;
}

void lk_refs_remove(lrefs_t *r, void *target, void **slot)
{
  if (r->cap == 0)
    return;
  lref_t *e = find(r, target);
  for (size_t i = e->target == NULL ? 0 : e->n; i > 0; i--)
    if (e->slots[i - 1] == slot) {
      e->slots[i - 1] = e->slots[--e->n];
      if (e->n == 0)
        erase(r, e);
      return;
    }
}

void lk_refs_kill(lrefs_t *r, void *target)
{
  if (r->cap == 0)
    return;
  lref_t *e = find(r, target);
  if (e->target == NULL)
    return;
  for (size_t i = 0; i < e->n; i++)
    *e->slots[i] = LK_FREED;
  erase(r, e);
}

void lk_refs_free(lrefs_t *r)
{
  for (size_t i = 0; i < r->cap; i++)
    if (r->tab[i].target != NULL)
      free(r->tab[i].slots);
  free(r->tab);
  r->tab = NULL;
  r->cap = r->count = 0;
}
