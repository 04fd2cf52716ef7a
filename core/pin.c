/* pin.c -- objects the client pins (kiln_pin, kiln_unpin).
 *
 * A pinned object is an ambiguous root of its own: every collection fixes
 * it with the ambiguous roots (root.c calls pin_scan), so it stays alive
 * and, as for any ambiguous reference, a moving pool leaves it where it is
 * (copy nails its segment, gen marks it in place). Pins nest: each kiln_pin
 * adds one to the object's count and each kiln_unpin takes one away; the
 * object is free to move or die once the count is back to zero.
 *
 * The arena keeps the counts in an address set (addrset.h) keyed by the
 * pinned address, so pinning and unpinning cost O(1) however many objects
 * are pinned, and a collection visits each pinned object once.
 *
 * Invariant: every address in the set has count >= 1.
 */
#include "config.h"
#include "pin.h"
#include "root.h"
#include "trace.h"

static kiln_res_t pin_locked(kiln_arena_t arena, void *obj)
{
  kiln_res_t res = api_mutator_object(arena, obj, "kiln_pin", "pin");
  if (res != KILN_OK)
    return res;
  addr_entry_t *e = addrset_add(&arena->pins, obj);
  if (e == NULL)
    return arena_errorf(arena, KILN_MEMORY,
                        "kiln_pin: no memory to grow arena %p's table of %zu pinned objects",
                        (void *)arena, arena->pins.count);
  e->count++;
  return KILN_OK;
}

static kiln_res_t unpin_locked(kiln_arena_t arena, void *obj)
{
  kiln_res_t res = api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_unpin", "arena", 0);
  if (res != KILN_OK)
    return res;
  addr_entry_t *e = obj != NULL ? addrset_find(&arena->pins, obj) : NULL;
  if (e == NULL)
    return arena_errorf(arena, KILN_PARAM,
                        "kiln_unpin: the address %p is not pinned in arena %p; call kiln_unpin "
                        "once for each kiln_pin, with the address given to kiln_pin", obj,
                        (void *)arena);
  if (--e->count == 0)
    addrset_remove(&arena->pins, e);
  return KILN_OK;
}

kiln_res_t pin_scan(kiln_arena_t arena, kiln_ss_t ss)
{
  const addrset_t *pins = &arena->pins;
  for (size_t i = 0; i < pins->cap; i++) {
    void *ref = pins->slots[i].addr;
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
  addrset_finish(&arena->pins);
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
