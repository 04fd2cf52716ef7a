/* trace.h -- one collection: condemn, scan roots, drain grey, reclaim.
 *
 * Pools see a trace through three things: trace_grey() (an object was
 * marked or copied and must be scanned), ss_trace()/ss_rank() inside a fix,
 * and the byte counters they add to.
 *
 * The trace's own files share the declarations at the end: trace.c (the
 * stop-the-world sequence), fix.c (the fix and the grey stack), remset.c
 * (summaries and cards), inc.c (incremental collections) and policy.c
 * (when to collect). Nothing outside core/ calls those.
 */
#ifndef KILN_TRACE_H
#define KILN_TRACE_H

#include "pool.h"

#include <stdatomic.h>

struct trace_s {
  kiln_arena_t arena;
  uint64_t white;              /* zones of condemned segments */
  int minor;                   /* a minor (nursery-only) collection */
  int incremental;             /* cut into pauses (trace_inc_start) */
  int keep_cards;              /* its final pause: cards_cleanable (remset.c) */
  int keep_young;              /* a sticky pool's minor collection marks from ambiguous
                                  roots last (pool class keep_begin, keep_end) */
  void **grey;                 /* grey stack of client pointers */
  size_t ngrey, grey_cap;
  int grey_overflow;           /* the grey stack could not grow: some segment is
                                  grey_lost until the drain rescans it */
  size_t marked, scanned, copied;
  size_t helped;               /* of scanned: by markers other than the collecting thread */
  size_t aged;                 /* of copied: bytes kept young (a nursery's survivor
                                  space), so not growth of the older generations */
  size_t tenured;              /* of marked: young bytes a sticky pool marked in a
                                  minor collection, so growth of its old generation */
  uint64_t objects;
  size_t root_scanned;         /* bytes of root words scanned by increments */
  uint64_t new_zones;          /* zones of what was allocated since the start */
  unsigned precleans;          /* passes over the dirty cards before the final pause */
  void **deferred;              /* weak-rank objects reached, scanned weakly after the
                                  exact trace (weak.c) */
  size_t ndeferred, deferred_cap;
  void ***ephemerons;          /* key slot, value slot pairs whose key was not yet
                                  known alive when their object was scanned (weak.c) */
  size_t nephemerons, ephemerons_cap;
  int tenure_all;              /* an ephemeron's value was reached after the ambiguous
                                  roots: a sticky pool tenures all it marked (keep_end) */
  struct card_run_s *runs;     /* incremental: dirty cards and roots to scan (inc.c) */
  size_t nruns, runs_cap, run_next;
  pool_t only;                 /* the pool collected, or NULL: every automatic pool */
  int parallel;                /* its drains may use the arena's markers (mark.c) */
  trace_t *origin;             /* the collection's trace: itself, or what a marker's
                                  copy was made from */
  struct marker_s *marker;     /* a marker's copy: the live figures go to its tally */
  atomic_uint *hungry;         /* a marker's copy: nonzero while a marker waits for work */
};

/* The internal scan state; its public prefix is what KILN_FIX1 reads. */
typedef struct ss_s {
  struct kiln_ss_s pub;
  kiln_arena_t arena;
  trace_t *trace;
  kiln_rank_t rank;
  uint64_t summary;            /* zones of references fixed since reset */
  int verify;                  /* a verifier's scan (verify.c, checked builds), or
                                  SS_RECORD: the recorder's (record.c) */
  void *obj;                   /* verifier: the object being scanned */
  int hit_new;                 /* fixed a reference to an object allocated during the
                                  incremental collection under way (inc.c, inc_scan_run) */
  int parallel;                /* a marker's: other markers mark and scan at once, so
                                  shared marks, summaries and cards change atomically */
} ss_t;

enum { SS_RECORD = 16 };      /* ss_t.verify of the recorder's scans */

static inline ss_t *ss_of(kiln_ss_t ss) { return (ss_t *)(void *)ss; }
static inline trace_t *ss_trace(kiln_ss_t ss) { return ss_of(ss)->trace; }
static inline kiln_rank_t ss_rank(kiln_ss_t ss) { return ss_of(ss)->rank; }
static inline int ss_parallel(kiln_ss_t ss) { return ss_of(ss)->parallel; }

/* A condemned pool's live figures grow by each object its class finds
   alive: directly, or in a marker through the marker's own tally, which
   the drain adds in after (mark.c). */
void mark_tally(struct marker_s *m, pool_t pool, size_t size);
static inline void trace_count_live(trace_t *trace, pool_t pool, size_t size)
{
  if (trace->marker != NULL) {
    mark_tally(trace->marker, pool, size);
    return;
  }
  pool->st.live += size;
  pool->st.live_objects++;
}

/* Push obj on the grey stack: once per marked or copied object, so the
   push is inline and only growing the stack is a call. When the stack
   cannot grow, obj stays reached but unpushed: trace_grey_lost notes it
   on its segment, and the drain rescans that segment (fix.c). */
int trace_grey_grow(trace_t *trace);
void trace_grey_lost(trace_t *trace, void *obj);
static inline void trace_grey(trace_t *trace, void *obj)
{
  if (trace->ngrey == trace->grey_cap && !trace_grey_grow(trace)) {
    trace_grey_lost(trace, obj);
    return;
  }
  trace->grey[trace->ngrey++] = obj;
}

/* Abort with a sentence naming the rule if trace or ss breaks an
   invariant (checked builds call them where the trace takes them). */
void trace_check(const trace_t *trace);
void ss_check(const ss_t *ss);

/* verify.c (checked builds): the heap verifier after every collection, and
   the missing-barrier check before every minor collection. */
kiln_res_t verify_fix(ss_t *ss, void **ref_io);
void verify_heap(kiln_arena_t arena);
void verify_barrier(kiln_arena_t arena, trace_t *trace, pool_t young);

/* Collect the given pools (all automatic pools if pool == NULL). An
   incremental collection under way is first abandoned if this is a full
   collection of its pool, else finished. */
void trace_collect(kiln_arena_t arena, pool_t pool, int minor);

/* Incremental minor collections of a sticky pool (inc.c): start one
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
/* At a pause's start and end: pad the reservations that collections
   trapped and whose commit has not come, and put the thread's bytes back
   (ap.c, threads). */
void ap_pad_pending(kiln_arena_t arena);
void ap_restore_pending(kiln_arena_t arena);
/* Fix, as ambiguous references, the reservations the flush trapped and
   kept as fillers (ap.c); with the ambiguous roots (root.c). */
kiln_res_t ap_scan_traps(kiln_arena_t arena, kiln_ss_t ss);
/* Bytes committed into the buffers the APs of pool (every pool: NULL) hold
   now: allocated, though not counted until each buffer goes back. */
size_t ap_open_bytes(kiln_arena_t arena, pool_t pool);
/* The APs of a pool that is being destroyed give their buffers back and
   become orphans: handles the client may only destroy (ap.c). */
void ap_orphan_for_pool(pool_t pool);
/* cache.c: drop the lists of pool's caches and cut them off it (the pool
   is being destroyed). */
void cache_orphan_for_pool(pool_t pool);

/* ---- shared by the trace's own files -------------------------------- */

/* mark.c: parallel marking. mark_decide sets trace->parallel at its
   opening; mark_drain drains the grey stack with every marker (the
   calling thread is one) and returns with it empty, unless adding a
   marker's weak or ephemeron entries to the trace's failed, which leaves
   them fixed strongly and grey; mark_share hands grey objects of a
   marker's copy to the markers waiting; mark_stop joins the arena's
   marker threads (its destruction). */
void mark_decide(kiln_arena_t arena, trace_t *trace);
void mark_drain(kiln_arena_t arena, trace_t *trace);
void mark_share(trace_t *copy);
void mark_stop(kiln_arena_t arena);
/* fix.c: scan ss's trace's grey objects until none are left (a marker's
   drain, with ss->parallel). */
kiln_res_t trace_drain_grey(ss_t *ss);

static inline int pool_condemned(pool_t pool, pool_t only)
{
  return (pool->klass->attr & CLASS_AUTO) && (only == NULL || pool == only);
}

/* The budget of an increment counts objects and root words scanned. */
static inline size_t trace_work(const trace_t *trace)
{
  return trace->scanned + trace->root_scanned;
}

/* A run an incremental collection noted for its increments to scan: dirty
   cards [lo, hi) of seg, or (seg NULL) the words [lo, hi) of an exact area
   root (inc.c). */
struct card_run_s {
  seg_t seg;
  uintptr_t lo, hi;
};

typedef struct collect_args_s {
  kiln_arena_t arena;
  pool_t only;
  int minor;
} collect_args_t;

/* trace.c: the two halves of a collection, root scanning, the pause
   record, and the entry from the mutator (every collection runs body
   through it). */
void trace_open(kiln_arena_t arena, trace_t *trace, pool_t only, int minor, int incremental);
void trace_close(kiln_arena_t arena, trace_t *trace, pool_t only);
void trace_scan_roots(kiln_arena_t arena, trace_t *trace, pool_t only);
void trace_record_pause(kiln_arena_t arena, int minor, double seconds);
void trace_from_mutator(kiln_arena_t arena, void (*body)(void *), void *args);

/* fix.c: drain grey objects and noted runs until trace_work reaches until
   (SIZE_MAX: all), fix the weak roots, and fail on a scan's error. */
void trace_drain(kiln_arena_t arena, trace_t *trace, size_t until);
void trace_fix_weak_roots(kiln_arena_t arena, trace_t *trace);
void trace_fail_scan(kiln_res_t res);
/* Forget the objects an abandoned trace could not push. */
void trace_forget_lost(kiln_arena_t arena);

/* remset.c */
/* remset_remember_young (remset.c) for found meeting the nursery's zones;
   the test is inline, as every grey object's scan asks it. */
uint64_t remset_remember_cards(kiln_arena_t arena, seg_t seg, uintptr_t lo, uintptr_t hi,
                               uint64_t found, int shared);
static inline uint64_t remset_remember_young(kiln_arena_t arena, seg_t seg, uintptr_t lo,
                                             uintptr_t hi, uint64_t found, int shared)
{
  if (!(found & arena->nursery_zones))
    return found;
  return remset_remember_cards(arena, seg, lo, hi, found, shared);
}
uint8_t *remset_seg_cards(kiln_arena_t arena, seg_t seg, size_t *n_o);
int remset_seg_dirty(kiln_arena_t arena, seg_t seg);
int remset_card_run(const uint8_t *c, size_t n, size_t from, int fresh, size_t *i_o,
                    size_t *j_o);
void remset_keep_cards(kiln_arena_t arena, uintptr_t lo, uintptr_t hi);
kiln_res_t remset_scan_other_pools(kiln_arena_t arena, ss_t *ss, pool_t only);
kiln_res_t remset_scan_sticky_cards(kiln_arena_t arena, ss_t *ss, pool_t pool);

/* inc.c */
void inc_note_root_area(void *cl, void **base, void **limit);
void inc_note_cards(kiln_arena_t arena, trace_t *trace, pool_t pool, int fresh);
kiln_res_t inc_scan_run(ss_t *ss, const struct card_run_s *run);
double inc_pause_start(kiln_arena_t arena);

/* policy.c: the budget a finished collection leaves for the next. */
void policy_note_collection(kiln_arena_t arena, const trace_t *trace);
/* Bytes of allocation the heap policy allows before the next full collection. */
size_t policy_budget(kiln_arena_t arena);
/* A pause just ended (trace_record_pause): the adaptive heap's clock. */
void policy_note_pause(kiln_arena_t arena, int minor, double seconds);

#endif
