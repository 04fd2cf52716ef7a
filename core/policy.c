/* policy.c -- when to collect: the allocation trigger, stress mode,
 * parking, and the budget each collection leaves for the next.
 *
 * Invariant: no collection starts while the arena is parked or already
 * collecting; a parked arena has no incremental collection under way.
 */
#include "config.h"
#include "trace.h"

void kiln_arena_park(kiln_arena_t arena)
{
  if (api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_arena_park", "arena", 1) != KILN_OK)
    return;
  trace_inc_finish(arena); /* parked: no collection under way */
  arena->park_depth++;
}

void kiln_arena_release(kiln_arena_t arena)
{
  if (api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_arena_release", "arena", 1) != KILN_OK)
    return;
  if (arena->park_depth > 0)
    arena->park_depth--;
  else
    api_misuse("kiln_arena_release: arena %p is not parked; call it once per kiln_arena_park",
               (void *)arena);
}

/* The budget: collect when allocation since the last collection exceeds
   (growth - 1) x live, but never more often than every budget_min bytes.
   While the arena commits nothing beyond what it held after the last full
   collection, allocation may also fill that collection's spare pages (at
   most `spare` bytes, less room for the next collection's copying):
   collecting earlier would return no memory, only spend time. Spare pages
   in a nursery's zones do not count: older pools avoid them. Should the
   arena grow all the same (no run long enough, say), the plain budget
   applies again. */
void arena_poll(kiln_arena_t arena)
{
  if (arena->park_depth > 0 || arena->collecting)
    return;
  if (arena->stress != 0) {
    if (++arena->stress_count % arena->stress == 0)
      trace_collect(arena, NULL, 0);
    return;
  }
  double budget = (double)arena->stats.live * (arena->growth - 1.0);
  if (budget < (double)arena->budget_min)
    budget = (double)arena->budget_min;
  if (arena->committed <= arena->held && budget < (double)arena->headroom)
    budget = (double)arena->headroom;
  if ((double)arena->since_gc > budget)
    trace_collect(arena, NULL, 0);
}

/* The full-collection budget counts growth of the older generations:
   what minor collections promote, and what mature pools allocate; not
   what stays in a survivor space. */
void policy_note_collection(kiln_arena_t arena, const trace_t *trace)
{
  if (trace->minor) {
    arena->since_gc += trace->copied - trace->aged + trace->tenured;
    return;
  }
  arena->since_gc = 0;
  /* What this collection copied came out of fresh pages: keep as much
     back for the next one, or each cycle would commit more to-space and
     hand the from-space it frees to the next budget. */
  arena->held = arena->committed;
  size_t spare = arena_spare_in(arena, ~arena->nursery_zones);
  arena->headroom = spare > trace->copied ? spare - trace->copied : 0;
}
