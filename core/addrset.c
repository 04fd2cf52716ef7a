/* addrset.c -- a hash set of addresses, each with a count (addrset.h).
 *
 * Open addressing with linear probing keyed by the address; a removal
 * shifts the run after the emptied slot back instead of leaving a
 * tombstone, so a lookup stops at the first free slot. Adding, finding and
 * removing cost O(1) however many addresses the set holds.
 *
 * Invariant: every entry with a non-NULL addr sits in the run of occupied
 * slots that starts at its home slot; at most half the slots are occupied
 * (so every probe ends at a free slot).
 */
#include "config.h"
#include "addrset.h"

#include <stdint.h>
#include <stdlib.h>

#define ADDRSET_MIN 16 /* slots of the first table */

static size_t addr_home(const void *addr, size_t cap)
{
  uint64_t h = (uint64_t)(uintptr_t)addr * UINT64_C(0x9E3779B97F4A7C15);
  return (size_t)(h >> 32) & (cap - 1);
}

/* The slot holding addr, or the free slot where it would go; cap > 0. */
static size_t addr_slot(const addrset_t *s, const void *addr)
{
  size_t i = addr_home(addr, s->cap);
  while (s->slots[i].addr != NULL && s->slots[i].addr != addr)
    i = (i + 1) & (s->cap - 1);
  return i;
}

static int addrset_grow(addrset_t *s)
{
  size_t cap = s->cap ? s->cap * 2 : ADDRSET_MIN;
  addrset_t bigger = {calloc(cap, sizeof(addr_entry_t)), cap, s->count};
  if (bigger.slots == NULL)
    return 0;
  for (size_t i = 0; i < s->cap; i++)
    if (s->slots[i].addr != NULL)
      bigger.slots[addr_slot(&bigger, s->slots[i].addr)] = s->slots[i];
  free(s->slots);
  *s = bigger;
  return 1;
}

addr_entry_t *addrset_find(const addrset_t *s, const void *addr)
{
  if (s->count == 0)
    return NULL;
  addr_entry_t *e = &s->slots[addr_slot(s, addr)];
  return e->addr == addr ? e : NULL;
}

addr_entry_t *addrset_add(addrset_t *s, void *addr)
{
  if (2 * (s->count + 1) > s->cap && !addrset_grow(s))
    return NULL;
  addr_entry_t *e = &s->slots[addr_slot(s, addr)];
  if (e->addr == NULL) {
    *e = (addr_entry_t){addr, 0};
    s->count++;
  }
  return e;
}

/* Empty slot i and move back the entries after it that would otherwise be
   cut off from their home slot. */
static void remove_at(addrset_t *s, size_t i)
{
  size_t mask = s->cap - 1;
  for (size_t j = (i + 1) & mask; s->slots[j].addr != NULL; j = (j + 1) & mask) {
    size_t home = addr_home(s->slots[j].addr, s->cap);
    /* The entry at j may fill the hole at i unless its home lies in (i, j]. */
    if (((j - home) & mask) >= ((j - i) & mask)) {
      s->slots[i] = s->slots[j];
      i = j;
    }
  }
  s->slots[i] = (addr_entry_t){NULL, 0};
  s->count--;
}

void addrset_remove(addrset_t *s, addr_entry_t *e)
{
  remove_at(s, (size_t)(e - s->slots));
}

void addrset_remove_if(addrset_t *s, int (*gone)(void *addr, void *closure), void *closure)
{
  for (size_t i = 0; i < s->cap;) {
    void *addr = s->slots[i].addr;
    if (addr != NULL && gone(addr, closure))
      remove_at(s, i); /* slot i may now hold a later entry: look again */
    else
      i++;
  }
}

void addrset_finish(addrset_t *s)
{
  free(s->slots);
  *s = (addrset_t){NULL, 0, 0};
}
