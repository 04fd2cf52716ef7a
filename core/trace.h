/* trace.h -- one collection: condemn, scan roots, drain grey, reclaim.
 *
 * Pools see a trace through three things: trace_grey() (an object was
 * marked or copied and must be scanned), ss_trace()/ss_rank() inside a fix,
 * and the byte counters they add to.
 */
#ifndef KILN_TRACE_H
#define KILN_TRACE_H

#include "pool.h"

struct trace_s {
  kiln_arena_t arena;
  uint64_t white;              /* zones of condemned segments */
  int minor;                   /* a minor (nursery-only) collection */
  int incremental;             /* cut into pauses (trace_inc_start) */
  int keep_cards;              /* its final pause: cards_cleanable */
  int keep_young;              /* a sticky pool's minor collection marks from ambiguous
                                  roots last (pool class keep_begin, keep_end) */
  void **grey;                 /* grey stack of client pointers */
  size_t ngrey, grey_cap;
  int grey_overflow;           /* the grey stack could not grow */
  size_t marked, scanned, copied;
  size_t aged;                 /* of copied: bytes kept young (a nursery's survivor
                                  space), so not growth of the older generations */
  size_t tenured;              /* of marked: young bytes a sticky pool marked in a
                                  minor collection, so growth of its old generation */
  uint64_t objects;
  size_t root_scanned;         /* bytes of root words scanned by increments */
  uint64_t new_zones;          /* zones of what was allocated since the start */
  unsigned precleans;          /* passes over the dirty cards before the final pause */
  struct card_run_s *runs;     /* incremental: dirty cards and roots to scan (trace.c) */
  size_t nruns, runs_cap, run_next;
};

/* The internal scan state; its public prefix is what KILN_FIX1 reads. */
typedef struct ss_s {
  struct kiln_ss_s pub;
  kiln_arena_t arena;
  trace_t *trace;
  kiln_rank_t rank;
  uint64_t summary;            /* zones of references fixed since reset */
  int verify;                  /* checked builds: a verifier's scan (verify.c) */
  void *obj;                   /* verifier: the object being scanned */
  int hit_new;                 /* fixed a reference to an object allocated during the
                                  incremental collection under way (trace.c, scan_run) */
} ss_t;

static inline ss_t *ss_of(kiln_ss_t ss) { return (ss_t *)(void *)ss; }
static inline trace_t *ss_trace(kiln_ss_t ss) { return ss_of(ss)->trace; }
static inline kiln_rank_t ss_rank(kiln_ss_t ss) { return ss_of(ss)->rank; }

/* Push obj on the grey stack: once per marked or copied object, so the
   push is inline and only growing the stack is a call. */
void trace_grey_grow(trace_t *trace);
static inline void trace_grey(trace_t *trace, void *obj)
{
  if (trace->ngrey == trace->grey_cap)
    trace_grey_grow(trace);
  trace->grey[trace->ngrey++] = obj;
}

/* verify.c (checked builds): the heap verifier after every collection, and
   the missing-barrier check before every minor collection. */
kiln_res_t verify_fix(ss_t *ss, void **ref_io);
void verify_heap(kiln_arena_t arena);
void verify_barrier(kiln_arena_t arena, trace_t *trace, pool_t young);

/* Collect the given pools (all automatic pools if pool == NULL). An
   incremental collection under way is first abandoned if this is a full
   collection of its pool, else finished. */
void trace_collect(kiln_arena_t arena, pool_t pool, int minor);

/* Incremental minor collections of a sticky pool (trace.c): start one
   (its first pause), run one increment of budget bytes of scanning (the
   last one finishes it), finish one under way now (no-op if none), and,
   for the pool, scan objects allocated in [lo, hi) of a segment that is
   not white since the collection started. */
void trace_inc_start(kiln_arena_t arena, pool_t pool);
void trace_inc_step(kiln_arena_t arena, size_t budget);
void trace_inc_finish(kiln_arena_t arena);
/* Drop the incremental collection under way unfinished (its pool's
   segments turn back from white; a full collection or the pool's or
   arena's destruction follows). Returns the seconds of its scanning not
   yet counted in a pause. */
double trace_inc_abandon(kiln_arena_t arena);
void trace_scan_new(kiln_arena_t arena, seg_t seg, uintptr_t lo, uintptr_t hi);
/* The pool of the incremental collection under way handed [base, limit)
   to an AP (its fill method; a gen pool's pretenuring APs fill there too). */
void trace_note_alloc(kiln_arena_t arena, uintptr_t base, uintptr_t limit);

/* Collection events (stats.c): note a collection that ended (after its
   statistics), give the pause it ended in to the notes lacking one, and
   deliver the notes to kiln_arena_on_collect's function (at the outermost
   entry's exit, outside the collection). events_refuse says, and returns
   1, when call may not run because that function is running. */
void events_note(kiln_arena_t arena, kiln_collection_kind_t kind, int incremental,
                 size_t marked, size_t copied);
void events_pause(kiln_arena_t arena, double seconds);
void events_deliver(kiln_arena_t arena);
int events_refuse(kiln_arena_t arena, const char *call);

/* Flush every AP of the arena (before a collection), trapping reservations. */
void ap_flush_all(kiln_arena_t arena);
/* Bytes committed into the buffers the APs of pool (every pool: NULL) hold
   now: allocated, though not counted until each buffer goes back. */
size_t ap_open_bytes(kiln_arena_t arena, pool_t pool);
/* The APs of a pool that is being destroyed give their buffers back and
   become orphans: handles the client may only destroy (ap.c). */
void ap_orphan_for_pool(pool_t pool);

#endif
