/* pin.c -- objects the client pins (kiln_pin, kiln_unpin).
 *
 * A pinned object is an ambiguous root of its own: every collection fixes
 * it with the ambiguous roots (root.c calls pin_scan), so it stays alive
 * and, as for any ambiguous reference, a moving pool leaves it where it is
 * (copy nails its segment, gen marks it in place). Pins nest: each kiln_pin
 * adds one to the object's count and each kiln_unpin takes one away; the
 * object is free to move or die once the count is back to zero.
 *
 * The arena keeps the counts in a hash table keyed by the pinned address
 * (open addressing, linear probing, deletion by shifting the run back), so
 * pinning and unpinning cost O(1) however many objects are pinned, and a
 * collection visits each pinned object once.
 *
 * Invariant: every entry with a non-NULL obj has count >= 1 and sits in
 * the run of occupied slots that starts at its home slot; at most half the
 * slots are occupied.
 */
#include "config.h"
#include "pin.h"
#include "root.h"
#include "trace.h"

#include <stdlib.h>

struct pin_entry_s {
  void *obj;       /* the pinned address; NULL: a free slot */
  size_t count;    /* kiln_pin calls not yet matched by kiln_unpin */
};

#define PINS_MIN 16 /* slots of the first table */

static size_t pin_home(const void *obj, size_t cap)
{
  uint64_t h = (uint64_t)(uintptr_t)obj * UINT64_C(0x9E3779B97F4A7C15);
  return (size_t)(h >> 32) & (cap - 1);
}

/* The slot holding obj, or the free slot where it would go. */
static size_t pin_slot(const pin_table_t *t, const void *obj)
{
  size_t i = pin_home(obj, t->cap);
  while (t->slots[i].obj != NULL && t->slots[i].obj != obj)
    i = (i + 1) & (t->cap - 1);
  return i;
}

static kiln_res_t pin_grow(pin_table_t *t)
{
  size_t cap = t->cap ? t->cap * 2 : PINS_MIN;
  pin_table_t bigger = {calloc(cap, sizeof(struct pin_entry_s)), cap, t->count};
  if (bigger.slots == NULL)
    return KILN_MEMORY;
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].obj != NULL)
      bigger.slots[pin_slot(&bigger, t->slots[i].obj)] = t->slots[i];
  free(t->slots);
  *t = bigger;
  return KILN_OK;
}

/* Empty slot i and move back the entries after it that would otherwise be
   cut off from their home slot. */
static void pin_delete(pin_table_t *t, size_t i)
{
  size_t mask = t->cap - 1;
  for (size_t j = (i + 1) & mask; t->slots[j].obj != NULL; j = (j + 1) & mask) {
    size_t home = pin_home(t->slots[j].obj, t->cap);
    /* The entry at j may fill the hole at i unless its home lies in (i, j]. */
    if (((j - home) & mask) >= ((j - i) & mask)) {
      t->slots[i] = t->slots[j];
      i = j;
    }
  }
  t->slots[i].obj = NULL;
  t->slots[i].count = 0;
  t->count--;
}

/* The sentence for an object kiln_pin cannot pin, or NULL if it can. */
static const char *unpinnable(kiln_arena_t arena, const void *obj)
{
  if (obj == NULL)
    return "is NULL";
  seg_t seg = arena_seg_of(arena, obj);
  if (seg == NULL)
    return "is not in the arena's heap (no segment holds it)";
  if (!(seg->pool->klass->attr & CLASS_AUTO))
    return "is in a manual pool, whose blocks never move nor die until freed";
  return NULL;
}

static kiln_res_t pin_locked(kiln_arena_t arena, void *obj)
{
  kiln_res_t res = api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_pin", "arena", 0);
  if (res != KILN_OK)
    return res;
  if (arena->collecting)
    return arena_errorf(arena, KILN_PARAM,
                        "kiln_pin: arena %p is collecting; pin objects from the mutator, not "
                        "from a scan or format function", (void *)arena);
  const char *why = unpinnable(arena, obj);
  if (why != NULL)
    return arena_errorf(arena, KILN_PARAM,
                        "kiln_pin: the address %p %s; pin only objects of the arena's automatic "
                        "pools", obj, why);
  pin_table_t *t = &arena->pins;
  if (2 * (t->count + 1) > t->cap && pin_grow(t) != KILN_OK)
    return arena_errorf(arena, KILN_MEMORY,
                        "kiln_pin: no memory to grow arena %p's table of %zu pinned objects",
                        (void *)arena, t->count);
  struct pin_entry_s *e = &t->slots[pin_slot(t, obj)];
  if (e->obj == NULL) {
    e->obj = obj;
    t->count++;
  }
  e->count++;
  return KILN_OK;
}

static kiln_res_t unpin_locked(kiln_arena_t arena, void *obj)
{
  kiln_res_t res = api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_unpin", "arena", 0);
  if (res != KILN_OK)
    return res;
  pin_table_t *t = &arena->pins;
  size_t i = t->cap != 0 && obj != NULL ? pin_slot(t, obj) : 0;
  if (t->cap == 0 || obj == NULL || t->slots[i].obj == NULL)
    return arena_errorf(arena, KILN_PARAM,
                        "kiln_unpin: the address %p is not pinned in arena %p; call kiln_unpin "
                        "once for each kiln_pin, with the address given to kiln_pin", obj,
                        (void *)arena);
  if (--t->slots[i].count == 0)
    pin_delete(t, i);
  return KILN_OK;
}

kiln_res_t pin_scan(kiln_arena_t arena, kiln_ss_t ss)
{
  const pin_table_t *t = &arena->pins;
  for (size_t i = 0; i < t->cap; i++) {
    void *ref = t->slots[i].obj;
    if (ref != NULL && KILN_FIX1(ss, ref)) {
      kiln_res_t res = KILN_FIX2(ss, &ref);
      if (res != KILN_OK)
        return res;
    }
  }
  return KILN_OK;
}

void pin_finish(kiln_arena_t arena)
{
  free(arena->pins.slots);
  arena->pins = (pin_table_t){NULL, 0, 0};
}

/* The public entry point holds the arena lock (arena.h). */
kiln_res_t kiln_pin(kiln_arena_t arena, void *obj)
{
  return arena_call_locked(pin_locked, arena, obj);
}

/* The public entry point holds the arena lock (arena.h). */
kiln_res_t kiln_unpin(kiln_arena_t arena, void *obj)
{
  return arena_call_locked(unpin_locked, arena, obj);
}
