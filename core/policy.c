/* policy.c -- when to collect: the allocation trigger, stress mode (minor
 * and full collections in turn), parking, and the budget each collection
 * leaves for the next under the arena's heap policy: growable (growth x
 * live, the free memory beyond the next cycle's returned to the OS),
 * fixed (heap_size, a commit limit) or adaptive (MemBalancer's
 * square-root rule from measured rates, with the free memory beyond the
 * budget returned to the OS after each full collection).
 *
 * Invariant: no collection starts while the arena is parked or already
 * collecting; a parked arena has no incremental collection under way.
 */
#include "config.h"
#include "trace.h"
#include "vm.h"

#include <math.h>

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

/* The growable heap's budget: collect when allocation since the last full
   collection exceeds (growth - 1) x live, but never more often than every
   budget_min bytes, so the heap a full collection starts at is growth x
   live whatever the heap held before. The free pages that collection kept
   do not count: counting them would size the heap by its history. */
static double growable_budget(kiln_arena_t arena)
{
  double budget = (double)arena->live_full * (arena->growth - 1.0);
  return budget < (double)arena->budget_min ? (double)arena->budget_min : budget;
}

size_t policy_budget(kiln_arena_t arena)
{
  if (arena->heap_policy != HEAP_GROWABLE)
    return arena->budget;
  double budget = growable_budget(arena);
  return budget < (double)SIZE_MAX / 2 ? (size_t)budget : SIZE_MAX / 2;
}

void arena_poll(kiln_arena_t arena)
{
  if (arena->park_depth > 0 || arena->collecting)
    return;
  if (arena->stress != 0) {
    stress_poll(arena);
    return;
  }
  if (arena->since_gc > policy_budget(arena))
    trace_collect(arena, NULL, 0);
}

/* What the next full collection may copy: the live bytes of the moving
   pools that are not nurseries (a nursery's survivors go to its
   promote_to pool, whose growth the budget counts). Objects nailed for
   want of to-space count too, so a heap that could not copy once keeps
   room to copy next time. */
static size_t copy_reserve(kiln_arena_t arena)
{
  size_t reserve = 0;
  ring_t *pn, *px;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if ((pool->klass->attr & (CLASS_MOVING | CLASS_NURSERY)) == CLASS_MOVING)
      reserve += pool->st.live;
  }
  return reserve;
}

/* A growable heap commits live + budget + what the next collection
   copies, or what the collection kept if that is more (a mark-sweep
   pool's holes stay in its segments): the free pages beyond go back to
   the OS, so memory that a burst of live data left free does not outlast
   it. */
static void growable_trim(kiln_arena_t arena)
{
  size_t held = arena->committed - arena->spare_committed;
  size_t want = arena->live_full + policy_budget(arena) + copy_reserve(arena);
  arena_trim_spare(arena, want > held ? want - held : 0);
}

/* A fixed heap keeps, of heap_size, room for the segments the collection
   kept (the live objects, with what shares their segments) and for what
   the next collection copies, and allows the rest to allocation. When that
   is nothing, every slow path collects, and the commit limit (heap_size)
   refuses what cannot fit. */
static size_t fixed_budget(kiln_arena_t arena)
{
  size_t held = arena->committed - arena->spare_committed; /* segments kept, nailed ones whole */
  size_t need = (held > arena->live_full ? held : arena->live_full) + copy_reserve(arena);
  return arena->heap_size > need ? arena->heap_size - need : 0;
}

/* MemBalancer (Kirisame, Shenoy and Panchekha, OOPSLA 2022): the extra
   room that balances time collecting against memory held grows as the
   square root of live x allocation rate / collection speed. heap_balance
   scales it: at live == heap_balance and equal rates the extra equals the
   live size. Never less than budget_min. */
static size_t adaptive_budget(kiln_arena_t arena)
{
  const heap_rates_t *r = &arena->rates;
  double ratio = r->alloc_rate > 0 && r->trace_rate > 0 ? r->alloc_rate / r->trace_rate : 1.0;
  double extra = sqrt((double)arena->live_full * (double)arena->heap_balance * ratio);
  if (extra < (double)arena->budget_min)
    extra = (double)arena->budget_min;
  return extra < (double)SIZE_MAX / 2 ? (size_t)extra : SIZE_MAX / 2;
}

static double smooth(double old, double sample)
{
  return old > 0 ? 0.5 * old + 0.5 * sample : sample;
}

/* The end of a full collection's pause: the adaptive heap measures both
   rates and returns the free committed memory beyond its new budget. */
static void adaptive_note_full(kiln_arena_t arena, double pause)
{
  heap_rates_t *r = &arena->rates;
  double now = vm_now();
  double mutator = now - pause - r->since - r->minor_seconds;
  if (r->since > 0 && mutator > 1e-6)
    r->alloc_rate = smooth(r->alloc_rate, (double)r->allocated / mutator);
  if (pause > 1e-6 && r->traced > 0)
    r->trace_rate = smooth(r->trace_rate, (double)r->traced / pause);
  r->since = now;
  r->minor_seconds = 0;
  arena->budget = adaptive_budget(arena);
  arena_trim_spare(arena, arena->budget);
}

void policy_note_pause(kiln_arena_t arena, int minor, double seconds)
{
  if (arena->heap_policy != HEAP_ADAPTIVE)
    return;
  if (minor)
    arena->rates.minor_seconds += seconds;
  else
    adaptive_note_full(arena, seconds);
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
  arena->rates.allocated = arena->since_gc;
  arena->rates.traced = trace->marked + trace->copied;
  arena->since_gc = 0;
  if (arena->heap_policy == HEAP_GROWABLE)
    growable_trim(arena);
  if (arena->heap_policy == HEAP_FIXED) {
    arena->budget = fixed_budget(arena);
    arena_trim_spare(arena, arena->budget);
  }
}
