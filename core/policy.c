/* policy.c -- when to collect: the allocation trigger, stress mode (minor
 * and full collections in turn), parking, and the budget each collection
 * leaves for the next.
 *
 * Invariant: no collection starts while the arena is parked or already
 * collecting; a parked arena has no incremental collection under way.
 */
#include "config.h"
#include "trace.h"

void kiln_arena_park(kiln_arena_t arena)
{
  if (api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_arena_park", "arena", 1) != KILN_OK ||
      events_refuse(arena, "kiln_arena_park"))
    return;
  trace_inc_finish(arena); /* parked: no collection under way */
  arena->park_depth++;
}

void kiln_arena_release(kiln_arena_t arena)
{
  if (api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_arena_release", "arena", 1) != KILN_OK ||
      events_refuse(arena, "kiln_arena_release"))
    return;
  if (arena->park_depth > 0)
    arena->park_depth--;
  else
    api_misuse("kiln_arena_release: arena %p is not parked; call it once per kiln_arena_park",
               (void *)arena);
}

/* The budget: collect when allocation since the last collection exceeds
   (growth - 1) x live (of the last full collection), but never more often than every budget_min bytes.
   While the arena commits nothing beyond what it held after the last full
   collection, allocation may also fill that collection's spare pages (at
   most `spare` bytes, less room for the next collection's copying):
   collecting earlier would return no memory, only spend time. Spare pages
   in a nursery's zones do not count: older pools avoid them. Should the
   arena grow all the same (no run long enough, say), the plain budget
   applies again. */
/* Stress mode's minor collections: one of each pool with a young
   generation (a nursery, a sticky pool), through its class. 0 if there
   is none. */
static int stress_minors(kiln_arena_t arena)
{
  int any = 0;
  ring_t *pn, *px;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (pool->klass->minor != NULL)
      any |= pool->klass->minor(pool);
  }
  return any;
}

/* Stress: every stress-th slow path collects, minor collections and full
   ones in turn, so that the checked build's barrier verifier (before each
   minor) sees every store since the last collection. */
static void stress_poll(kiln_arena_t arena)
{
  if (++arena->stress_count % arena->stress != 0)
    return;
  if ((arena->stress_count / arena->stress) % 2 == 1 && stress_minors(arena))
    return;
  trace_collect(arena, NULL, 0);
}

void arena_poll(kiln_arena_t arena)
{
  if (arena->park_depth > 0 || arena->collecting)
    return;
  if (arena->stress != 0) {
    stress_poll(arena);
    return;
  }
  double budget = (double)arena->live_full * (arena->growth - 1.0);
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
