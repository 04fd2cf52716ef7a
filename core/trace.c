/* trace.c -- the stop-the-world sequence of one collection over any set of
 * automatic pools, and the entry from the mutator every collection takes.
 *
 * A collection: flush every AP (trapping outstanding reservations), condemn
 * the chosen pools' segments (white), scan roots (ambiguous first, so moving
 * pools learn what is pinned before they copy anything), scan the segments
 * of other automatic pools whose summary meets the white zones (and, in a
 * sticky pool's minor collection, the old objects under the dirty cards of
 * its own segments; remset.c), drain the grey stack (fix.c), fix weak
 * roots, resurrect and queue the registered objects that died (final.c),
 * then reclaim every white segment and record the statistics.
 * Incremental collections (inc.c) use the same two halves, trace_open and
 * trace_close, with increments between them.
 *
 * Invariant 1: every object reachable from a root is reached, because each
 * reference goes through kiln_ss_fix exactly when KILN_FIX1 says its zone is
 * white, and every white segment's class fixes (marks or moves) what it is
 * shown; grey objects are scanned until none are left.
 * Invariant: segments are white only between trace_open and trace_close
 * (or trace_inc_abandon), and only segments of condemned pools.
 */
#include "config.h"
#include "final.h"
#include "record.h"
#include "root.h"
#include "trace.h"
#include "weak.h"
#include "vm.h"

#include <string.h>

void trace_check(const trace_t *trace)
{
  CHECK_RULE(trace != NULL && arena_check(trace->arena), "trace", trace,
             "'it belongs to a live arena'");
  CHECK_RULE(trace->arena->trace == trace, "trace", trace,
             "'it is its arena's current trace'");
  CHECK_RULE(trace->ngrey <= trace->grey_cap && (trace->grey_cap == 0 || trace->grey != NULL),
             "trace", trace, "'ngrey <= grey_cap, and a grey stack of that capacity exists'");
  CHECK_RULE(trace->run_next <= trace->nruns && trace->nruns <= trace->runs_cap, "trace", trace,
             "'run_next <= nruns <= runs_cap'");
}

/* Every condemned pool's live figures restart and every segment turns white
   through its class; the class's condemn hook does only what is its own.
   A white segment's summary restarts empty: scanning its survivors (they
   are all grey at some point) rebuilds it, and reclaim adds what the trace
   could not see (see reclaim_pools). */
static void condemn_pool(pool_t pool, trace_t *trace)
{
  /* A sticky pool's old objects are not rescanned by its minor collection,
     so its summaries keep what they knew. */
  int keep_summary = trace->minor && pool_sticky(pool);
  pool->st.live = 0;
  pool->st.live_objects = 0;
  if (pool->klass->condemn != NULL)
    pool->klass->condemn(pool, trace);
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt) {
    seg_t seg = SEG_OF_RING(node);
    if (KILN_CHECKING)
      seg_check(seg);
    seg->white = 1;
    if (!keep_summary)
      seg->summary = 0;
    trace->white |= seg->klass->whiten(seg, trace);
  }
}

static void reclaim_pools(kiln_arena_t arena, trace_t *trace, pool_t only)
{
  ring_t *pn, *px, *sn, *sx;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (!pool_condemned(pool, only))
      continue;
    POOL_SEGS(sn, pool, sx) {
      seg_t seg = SEG_OF_RING(sn);
      if (!seg->white)
        continue;
      if (KILN_CHECKING)
        seg_check(seg);
      seg->white = 0;
      /* Every survivor was scanned (grey), which recorded its references
         into the white zones; references elsewhere were not looked at.
         Summaries stay exact in the white zones -- a nursery's, as every
         collection condemns the nursery -- so the next minor collection
         need not scan the whole mature space. */
      seg->summary |= ~trace->white;
      seg->klass->reclaim(seg, trace); /* may free seg */
    }
    if (pool->klass->reclaimed != NULL)
      pool->klass->reclaimed(pool, trace);
  }
}

/* Every stop-the-world pause, whole collection or increment. */
void trace_record_pause(kiln_arena_t arena, int minor, double seconds)
{
  arena_stats_t *st = &arena->stats;
  pause_record(&st->all, seconds);
  pause_record(minor ? &st->minor : &st->full, seconds);
  events_pause(arena, seconds);
  policy_note_pause(arena, minor, seconds);
}

/* Live bytes after a minor collection: each automatic pool's figure, from
   its own last collection plus what was promoted into it since. */
static size_t pools_live(kiln_arena_t arena)
{
  size_t live = 0;
  ring_t *pn, *px;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (pool->klass->attr & CLASS_AUTO)
      live += pool->st.live;
  }
  return live;
}

static void record_stats(kiln_arena_t arena, trace_t *trace)
{
  arena_stats_t *st = &arena->stats;
  st->collections++;
  if (trace->minor)
    st->minor_collections++;
  st->marked += trace->marked;
  st->scanned += trace->scanned;
  st->helped += trace->helped;
  st->copied += trace->copied;
  if (trace->minor)
    st->live = pools_live(arena);
  else
    st->live = arena->live_full = trace->marked + trace->copied;
  policy_note_collection(arena, trace);
  events_note(arena, trace->minor ? KILN_COLLECTION_MINOR : KILN_COLLECTION_FULL,
              trace->incremental, trace->marked, trace->copied);
}

/* Grey everything the roots and the remembered sets refer to in the white
   set. An incremental collection does this at its start and again at its
   final pause (roots are not barriered; cards dirtied since are rescanned).
   A sticky pool's stop-the-world minor collection marks from ambiguous
   roots last, after draining, so that it knows what only they reach: that
   survives but may stay young (keep_young; ms.c, ms_keep_begin). Such
   words are often stale -- a dead frame's slot, a register not yet
   overwritten -- and each would tenure a whole dead tree until the next
   full collection, bringing full collections sooner and growing the
   heap. */
void trace_scan_roots(kiln_arena_t arena, trace_t *trace, pool_t only)
{
  ss_t ss = {.pub = {.white = trace->white, .zone_shift = ZONE_SHIFT}, .arena = arena,
             .trace = trace, .rank = KILN_RANK_AMBIG};
  int start = trace->incremental && !trace->keep_cards;
  int ambig_last = trace->minor && !trace->incremental && only != NULL && pool_sticky(only);
  kiln_res_t res = ambig_last ? KILN_OK : root_scan_rank(arena, &ss.pub, KILN_RANK_AMBIG, 0);
  if (res == KILN_OK)
    res = root_scan_rank(arena, &ss.pub, KILN_RANK_EXACT, start);
  if (res == KILN_OK)
    res = final_scan_queue(arena, &ss.pub);
  if (start)
    root_each_exact_area(arena, inc_note_root_area, trace);
  if (res == KILN_OK)
    res = remset_scan_other_pools(arena, &ss, only);
  if (res == KILN_OK && trace->minor && only != NULL) {
    if (start)
      inc_note_cards(arena, trace, only, 0);
    else
      res = remset_scan_sticky_cards(arena, &ss, only);
  }
  if (res == KILN_OK && ambig_last) {
    trace_drain(arena, trace, SIZE_MAX);
    trace->keep_young = only->klass->keep_begin != NULL;
    if (trace->keep_young)
      only->klass->keep_begin(only, trace);
    res = root_scan_rank(arena, &ss.pub, KILN_RANK_AMBIG, 0);
  }
  if (res != KILN_OK)
    trace_fail_scan(res);
}

/* The first half of a collection: flush the APs, condemn, check the
   barrier (checked builds), grey what roots and remembered sets reach. */
void trace_open(kiln_arena_t arena, trace_t *trace, pool_t only, int minor,
                       int incremental)
{
  memset(trace, 0, sizeof *trace);
  trace->arena = arena;
  trace->minor = minor;
  trace->incremental = incremental;
  trace->only = only;
  trace->origin = trace;
  mark_decide(arena, trace);
  /* The grey stack of the last trace is reused: freed, a large one goes
     back to the OS, and growing it again costs a page fault per page of
     entries in every big minor collection. */
  trace->grey = arena->grey;
  trace->grey_cap = arena->grey_cap;
  if (arena->grey_max != 0 && trace->grey_cap > arena->grey_max)
    trace->grey_cap = arena->grey_max; /* the rest of the block goes unused */
  arena->grey = NULL;
  arena->trace = trace;
  ap_flush_all(arena);
  if (arena->rec != NULL)
    record_sync(arena, trace);
  ring_t *pn, *px;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (pool_condemned(pool, only))
      condemn_pool(pool, trace);
  }
  if (KILN_CHECKING && minor)
    verify_barrier(arena, trace, only);
  trace_scan_roots(arena, trace, only);
}

/* The second half: drain, the ephemeron fixpoint, the weak phase (weak
   roots, objects of weak rank, dead ephemerons), finalization, reclaim,
   statistics. Weak references are cleared before finalization decides
   what dies, so none is left to an object that is finalized; what the
   resurrected objects reach gets its own fixpoint and weak phase. The
   objects finalization resurrects count, in a sticky pool's minor
   collection, with those only ambiguous roots reach (keep_end), which
   survive it young. */
void trace_close(kiln_arena_t arena, trace_t *trace, pool_t only)
{
  if (KILN_CHECKING)
    trace_check(trace);
  trace_drain(arena, trace, SIZE_MAX);
  trace_ephemeron_fixpoint(arena, trace);
  trace_clear_weak(arena, trace);
  if (final_resurrect(arena, trace)) {
    trace_ephemeron_fixpoint(arena, trace);
    trace_clear_weak_again(arena, trace);
  }
  weak_trace_end(arena, trace);
  if (trace->keep_young)
    only->klass->keep_end(only, trace);
  if (arena->rec != NULL)
    record_moves(arena, trace);
  reclaim_pools(arena, trace, only);
  arena->grey = trace->grey; /* kept: see trace_open */
  arena->grey_cap = trace->grey_cap;
  arena->trace = NULL;
  record_stats(arena, trace);
  if (KILN_CHECKING)
    verify_heap(arena);
}

/* The mutator's stack is scanned from where it entered the collector, not
   from the scan's own frame: the collector's frames in between hold no
   references of the mutator's, only stale words left there by deeper
   calls (populate's recursion, an earlier collection's marking), and each
   such word that hits a dead object keeps it, and all it reaches, alive.
   Every entry
   to a collection goes through here; the callee-saved registers are
   spilled at this point (vm_with_registers), the outermost entry records
   the stack top, and root.c scans the thread's stack from it. The
   outermost entry also stops every other registered thread (threads_stop,
   root.c) for the whole body and lets them go after it: the caller holds
   the arena lock, so none of them is inside the arena's slow paths. */
typedef struct entry_s {
  kiln_arena_t arena;
  void (*body)(void *);
  void *args;
} entry_t;

static void entered(void *sp, void *closure)
{
  entry_t *e = closure;
  e->arena->stack_hot = sp;
  threads_stop(e->arena);
  ap_pad_pending(e->arena);
  e->body(e->args);
  ap_restore_pending(e->arena);
  threads_resume(e->arena);
  e->arena->stack_hot = NULL;
}

void trace_from_mutator(kiln_arena_t arena, void (*body)(void *), void *args)
{
  if (arena->stack_hot != NULL) { /* nested: the outermost entry recorded it */
    body(args);
    return;
  }
  entry_t e = {arena, body, args};
  vm_with_registers(entered, &e);
  events_deliver(arena); /* out of the collection now */
}

static void collect(void *closure)
{
  collect_args_t *a = closure;
  kiln_arena_t arena = a->arena;
  pool_t only = a->only;
  int minor = a->minor;
  double t0;
  if (arena->inc != NULL && !minor && (only == NULL || only == arena->inc_pool))
    t0 = vm_now() - trace_inc_abandon(arena); /* its scanning not yet in a pause is in this one */
  else
    t0 = inc_pause_start(arena);
  arena->collecting = 1;
  trace_t trace;
  trace_open(arena, &trace, only, minor, 0);
  trace_close(arena, &trace, only);
  double pause = vm_now() - t0;
  trace_record_pause(arena, minor, pause);
  if (trace.copied > 0)
    arena->stats.copy_seconds += pause;
  arena->collecting = 0;
}

void trace_collect(kiln_arena_t arena, pool_t only, int minor)
{
  if (arena->collecting)
    return;
  collect_args_t a = {arena, only, minor};
  trace_from_mutator(arena, collect, &a);
}

void kiln_arena_collect(kiln_arena_t arena)
{
  if (api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_arena_collect", "arena", 1) != KILN_OK)
    return;
  arena_lock(arena);
  if (!events_refuse(arena, "kiln_arena_collect"))
    trace_collect(arena, NULL, 0);
  arena_unlock(arena);
}

void kiln_pool_collect(kiln_pool_t pool)
{
  if (api_handle(pool, API_SIG(pool), SIG_POOL, "kiln_pool_collect", "pool", 1) != KILN_OK)
    return;
  arena_lock(pool->arena);
  if (!events_refuse(pool->arena, "kiln_pool_collect") && (pool->klass->attr & CLASS_AUTO))
    trace_collect(pool->arena, pool, 0);
  arena_unlock(pool->arena);
}
