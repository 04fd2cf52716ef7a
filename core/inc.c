/* inc.c -- incremental minor collections of a sticky pool.
 *
 * Owns: the start, the increments with their pre-cleans, the final pause,
 * abandoning a collection under way, the runs of dirty cards and root words
 * noted for the increments, and scanning what the pool allocates meanwhile.
 *
 * The same trace, cut into pauses (pool.h, sticky; ms.c, young_step).
 *  - The start is trace_open: ambiguous roots and roots other than exact
 *    areas grey the young objects they reach; the pool's dirty cards are
 *    cleaned and, with the exact area roots, noted as runs (card_run_s).
 *  - Each increment scans a budget of grey objects and noted runs while
 *    the mutator runs. When none are left it pre-cleans (twice at most):
 *    it notes and cleans the cards written since, for the next increments.
 *  - The final pause flushes the APs, rescans every root and the cards
 *    written since they were last scanned, drains, and sweeps.
 * What the mutator may do meanwhile, and how it is caught (incremental
 * update, as with Dijkstra's barrier, the card table being the barrier):
 *  - store into an existing object: kiln_write dirties its card, which a
 *    pre-clean or the final pause rescans (marked objects only, in a white
 *    segment);
 *  - keep a reference in a root: the final pause rescans every root;
 *  - allocate: the pool allocates only in segments created since the start
 *    (never white, so neither marked nor swept by this collection), and
 *    scans each buffer's objects when the AP gives it back (trace_scan_new),
 *    once they are committed and initialised; stores into them after that
 *    go through kiln_write.
 * Objects allocated meanwhile are young for the next minor collection, so
 * an old object referring to one must stay remembered: the final pause
 * leaves the pool's cards dirty (cards_cleanable), and a run scanned after
 * its cards were cleaned, or a grey object scanned, marks its cards
 * CARD_KEPT if it found such a reference (kiln_ss_fix's hit_new; the
 * drain's filter admits the new zones, which the pool reports through
 * trace_note_alloc).
 * Invariant (checked builds verify it at the final pause, after draining):
 * an object of the pool that is marked or was allocated during the
 * collection and refers to an unmarked white object lies on a dirty card.
 * A full collection of the pool abandons the incremental one (it marks
 * everything again); anything else that wants a collection, or a parked or
 * quiet heap, or the destruction of a root, first finishes it.
 * Several threads: an arena with more than one registered thread starts
 * no incremental collection (its minor collections are one pause), and
 * registering a second thread finishes one under way (root.c).
 */
#include "config.h"
#include "root.h"
#include "trace.h"
#include "weak.h"
#include "vm.h"

#include <stdlib.h>
#include <string.h>

/* An incremental collection's start does not scan the dirty cards of its
   pool, which may be thousands: it cleans them and notes their runs, which
   its increments then scan like grey objects. A store meanwhile dirties a
   card again, for the final pause. Nor does it scan exact area roots,
   which may be large and cache-cold: it notes them in chunks (seg NULL,
   [lo, hi) the words), as the final pause scans every root again anyway
   (struct card_run_s, trace.h). Both keep the start's pause independent
   of the size of the remembered set and of the roots. */
#define ROOT_CHUNK 4096 /* words of an area root scanned at once */

static void note_run(trace_t *trace, seg_t seg, uintptr_t lo, uintptr_t hi)
{
  if (trace->nruns == trace->runs_cap) {
    size_t cap = trace->runs_cap ? trace->runs_cap * 2 : 256;
    struct card_run_s *r = realloc(trace->runs, cap * sizeof *r);
    if (r == NULL)
      KILN_FAILF("trace: no memory to note %zu runs of dirty cards", cap);
    trace->runs = r;
    trace->runs_cap = cap;
  }
  trace->runs[trace->nruns++] = (struct card_run_s){seg, lo, hi};
}

void inc_note_root_area(void *cl, void **base, void **limit)
{
  while (base < limit) {
    void **end = limit - base > ROOT_CHUNK ? base + ROOT_CHUNK : limit;
    note_run(cl, NULL, (uintptr_t)base, (uintptr_t)end);
    base = end;
  }
}

void inc_note_cards(kiln_arena_t arena, trace_t *trace, pool_t pool, int fresh)
{
  unsigned shift = arena->head.card_shift;
  ring_t *sn, *sx;
  POOL_SEGS(sn, pool, sx) {
    seg_t seg = SEG_OF_RING(sn);
    if (seg->klass->scan_range == NULL || !remset_seg_dirty(arena, seg))
      continue;
    size_t n, i = 0, j = 0;
    uint8_t *c = remset_seg_cards(arena, seg, &n);
    for (size_t from = 0; remset_card_run(c, n, from, fresh, &i, &j); from = j) {
      memset(c + i, 0, j - i);
      note_run(trace, seg, seg->base + (i << shift), seg->base + (j << shift));
    }
  }
}

/* As remset_scan_sticky_cards does for one run (the segment is still white). */
kiln_res_t inc_scan_run(ss_t *ss, const struct card_run_s *run)
{
  ss->summary = 0;
  ss->rank = KILN_RANK_EXACT;
  if (run->seg == NULL) {
    ss->trace->root_scanned += run->hi - run->lo;
    return root_scan_words(&ss->pub, (void **)run->lo, (void **)run->hi);
  }
  ss->hit_new = 0;
  kiln_res_t res = run->seg->klass->scan_range(run->seg, &ss->pub, run->lo, run->hi);
  run->seg->summary |= remset_remember_young(ss->arena, run->seg, run->lo, run->hi, ss->summary, 0);
  /* The cards were cleaned when noted; new objects need no remembering. */
  if (ss->hit_new && run->seg->white)
    remset_keep_cards(ss->arena, run->lo, run->hi);
  return res;
}

static void inc_start(void *closure)
{
  collect_args_t *a = closure;
  kiln_arena_t arena = a->arena;
  pool_t pool = a->only;
  trace_t *trace = malloc(sizeof *trace);
  if (trace == NULL) { /* no memory for the state: stop the world instead */
    trace_collect(arena, pool, 1);
    return;
  }
  /* Another pool's, which advances only when that pool allocates: were
     this one to wait for it, this pool's young generation could grow
     without bound. */
  double t0 = inc_pause_start(arena);
  arena->collecting = 1;
  trace_open(arena, trace, pool, 1, 1);
  arena->inc = trace;
  arena->inc_pool = pool;
  arena->inc_carry = 0;
  trace_record_pause(arena, 1, vm_now() - t0);
  arena->collecting = 0;
}

/* Increments run while the mutators do, and scan objects another thread
   may be writing: an arena with several registered threads makes its
   minor collection of the pool one stop-the-world pause instead. */
void trace_inc_start(kiln_arena_t arena, pool_t pool)
{
  if (arena->collecting)
    return;
  if (arena_threads_many(arena)) {
    trace_collect(arena, pool, 1);
    return;
  }
  collect_args_t a = {arena, pool, 1};
  trace_from_mutator(arena, inc_start, &a);
}

typedef struct finish_args_s {
  kiln_arena_t arena;
  double t0;
  int record;                    /* 0: the caller's pause goes on (inc_pause_start) */
} finish_args_t;

/* The final pause, which began at t0 (an increment may end in it). */
static void inc_finish_at(void *closure)
{
  finish_args_t *a = closure;
  kiln_arena_t arena = a->arena;
  double t0 = a->t0;
  trace_t *trace = arena->inc;
  pool_t pool = arena->inc_pool;
  double carry = arena->inc_carry; /* ap_flush_all's scans below are inside t0's pause */
  arena->collecting = 1;
  ap_flush_all(arena); /* the pool scans the last buffers (trace_scan_new) */
  trace_drain(arena, trace, SIZE_MAX);
  if (KILN_CHECKING)
    verify_barrier(arena, trace, pool);
  trace->keep_cards = 1;
  trace_scan_roots(arena, trace, pool);
  trace_close(arena, trace, pool);
  arena->inc = NULL;
  arena->inc_pool = NULL;
  arena->inc_carry = 0;
  if (a->record)
    trace_record_pause(arena, 1, vm_now() - t0 + carry);
  free(trace->runs);
  weak_trace_done(trace);
  free(trace);
  arena->collecting = 0;
}

static void inc_finish(kiln_arena_t arena, double t0)
{
  finish_args_t a = {arena, t0, 1};
  trace_from_mutator(arena, inc_finish_at, &a);
}

/* A collection that must first finish an incremental one makes one pause
   of both: recorded apart, they understated the longest pause. Finishes
   it, if any, and returns when the caller's pause began, counting the
   incremental collection's scanning not yet in a pause. */
double inc_pause_start(kiln_arena_t arena)
{
  if (arena->inc == NULL || arena->collecting)
    return vm_now();
  double t0 = vm_now() - arena->inc_carry;
  finish_args_t a = {arena, t0, 0};
  trace_from_mutator(arena, inc_finish_at, &a);
  return t0;
}

double trace_inc_abandon(kiln_arena_t arena)
{
  trace_t *trace = arena->inc;
  if (trace == NULL || arena->collecting)
    return 0;
  double carry = arena->inc_carry;
  pool_t pool = arena->inc_pool;
  ring_t *sn, *sx;
  POOL_SEGS(sn, pool, sx)
    SEG_OF_RING(sn)->white = 0;
  if (trace->grey_overflow)
    trace_forget_lost(arena);
  if (pool->klass->abandoned != NULL)
    pool->klass->abandoned(pool, trace);
  arena->grey = trace->grey;
  arena->grey_cap = trace->grey_cap;
  arena->trace = NULL;
  arena->inc = NULL;
  arena->inc_pool = NULL;
  arena->inc_carry = 0;
  free(trace->runs);
  free(trace);
  return carry;
}

void trace_inc_finish(kiln_arena_t arena)
{
  if (arena->inc != NULL && !arena->collecting)
    inc_finish(arena, vm_now());
}

void trace_note_alloc(kiln_arena_t arena, uintptr_t base, uintptr_t limit)
{
  arena->inc->new_zones |= zones_of_range(base, limit);
}

/* Before the final pause, the cards dirtied meanwhile are noted again
   (and cleaned) for the increments to scan: the final pause then rescans
   only what is written after that, not every card the mutator's stores
   dirtied since the start. Twice at most, and not for a handful of runs,
   which the final pause takes as they are. */
#define PRECLEANS 2
#define PRECLEAN_MIN 16
static int preclean(kiln_arena_t arena, trace_t *trace)
{
  if (trace->precleans >= PRECLEANS)
    return 0;
  trace->precleans++;
  trace->nruns = trace->run_next = 0;
  inc_note_cards(arena, trace, arena->inc_pool, 1);
  return trace->nruns > PRECLEAN_MIN;
}

void trace_inc_step(kiln_arena_t arena, size_t budget)
{
  trace_t *trace = arena->inc;
  if (trace == NULL || arena->collecting)
    return;
  double t0 = vm_now();
  arena->collecting = 1;
  size_t until = trace_work(trace) + budget;
  trace_drain(arena, trace, until < budget ? SIZE_MAX : until);
  int done = trace->ngrey == 0 && !trace->grey_overflow && trace->run_next == trace->nruns &&
             !preclean(arena, trace);
  arena->collecting = 0;
  if (done) {
    inc_finish(arena, t0);
    return;
  }
  trace_record_pause(arena, 1, vm_now() - t0 + arena->inc_carry);
  arena->inc_carry = 0;
}

void trace_scan_new(kiln_arena_t arena, seg_t seg, uintptr_t lo, uintptr_t hi)
{
  trace_t *trace = arena->inc;
  KILN_ASSERT(trace != NULL && !seg->white);
  if (KILN_CHECKING) {
    trace_check(trace);
    seg_check(seg);
  }
  double t0 = vm_now();
  /* This scan sees every store into these objects so far, so the cards
     wholly inside the range (they hold no other objects) need not stay
     dirty for the final pause; a later store dirties them again. A mutator
     that writes into its newest objects would otherwise leave all of them
     for the final pause to scan again. */
  unsigned shift = arena->head.card_shift;
  uintptr_t a = arena->base + ((lo - arena->base + ((uintptr_t)1 << shift) - 1) >> shift << shift);
  uintptr_t b = arena->base + ((hi - arena->base) >> shift << shift);
  if (a < b) {
    size_t n;
    uint8_t *c = arena_cards(arena, a, b, &n);
    memset(c, 0, n);
  }
  ss_t ss = {.pub = {.white = trace->white, .zone_shift = ZONE_SHIFT}, .arena = arena,
             .trace = trace, .rank = KILN_RANK_EXACT};
  kiln_res_t res = seg->klass->scan_range(seg, &ss.pub, lo, hi);
  seg->summary |= remset_remember_young(arena, seg, lo, hi, ss.summary, 0);
  if (res != KILN_OK)
    trace_fail_scan(res);
  arena->inc_carry += vm_now() - t0;
}
