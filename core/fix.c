/* fix.c -- the fix and the grey stack: what the trace does with a
 * reference into the white set, and the drain that scans grey objects.
 *
 * Owns: kiln_ss_fix (strong, weak and the verifier's), growing the grey
 * stack, scanning one grey object into its segment's summary, the drain
 * (grey objects through a prefetching FIFO, then an incremental
 * collection's noted runs), fixing weak roots after the drain, and the
 * failure of a scan function inside a collection.
 *
 * Invariant: an object is pushed on the grey stack once per trace, when its
 * class first marks or copies it, and the drain returns only when the stack
 * and the noted runs are empty or an increment's budget is spent; so every
 * object reached is scanned before reclaim.
 * Invariant: fixing a reference adds its zone to the scan state's summary,
 * whether its segment is white or not, so a rebuilt summary misses nothing
 * the scan saw.
 */
#include "config.h"
#include "bits.h"
#include "record.h"
#include "root.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

/* Double the grey stack, up to the arena's grey_max. Returns 0 if it
   cannot grow (no memory, or at grey_max): the caller then loses the push
   (trace_grey_lost), which costs a rescan but never the collection. */
int trace_grey_grow(trace_t *trace)
{
  size_t cap = trace->grey_cap ? trace->grey_cap * 2 : 4096;
  size_t max = trace->arena->grey_max;
  if (max != 0 && cap > max)
    cap = max;
  if (cap <= trace->grey_cap)
    return 0;
  void **g = realloc(trace->grey, cap * sizeof *g);
  if (g == NULL)
    return 0;
  trace->grey = g;
  trace->grey_cap = cap;
  return 1;
}

/* Mark-stack overflow, as in MPS and the Boehm collector: obj is reached
   (marked, pinned or copied) but not pushed. Its segment remembers that
   it holds such an object (and which, if its class published seg->lost);
   the drain rescans it once the stack is empty. */
void trace_grey_lost(trace_t *trace, void *obj)
{
  seg_t seg = arena_seg_of(trace->arena, obj);
  KILN_ASSERT(seg != NULL);
  trace->grey_overflow = 1;
  size_t g = ((uintptr_t)obj - seg->mark_header - seg->base) >> seg->mark_shift;
  if (trace->marker == NULL) {
    seg->grey_lost = 1;
    if (seg->lost != NULL)
      bit_set(seg->lost, g);
  } else { /* other markers may note theirs in seg at once */
    __atomic_store_n(&seg->grey_lost, 1, __ATOMIC_RELAXED);
    if (seg->lost != NULL)
      bit_set_shared(seg->lost, g);
  }
}

/* Every lost bit of seg clear: seg->lost has one bit per mark_shift
   granule of the segment. */
static void clear_lost(seg_t seg)
{
  seg->grey_lost = 0;
  if (seg->lost != NULL) {
    size_t granules = seg_size(seg) >> seg->mark_shift;
    memset(seg->lost, 0, bits_words(granules) * sizeof(uint64_t));
  }
}

static kiln_res_t weak_fix(kiln_ss_t pss, void **ref_io);
static inline kiln_res_t mark_ref(ss_t *ss, seg_t seg, void *ref);

void ss_check(const ss_t *ss)
{
  CHECK_RULE(arena_check(ss->arena) && ss->pub.zone_shift == ZONE_SHIFT, "scan state", ss,
             "'it belongs to a live arena and zone_shift is the arena's'");
  CHECK_RULE((unsigned)ss->rank <= KILN_RANK_WEAK, "scan state", ss, "'rank is ambiguous, exact or weak'");
  if (ss->verify)
    return;
  CHECK_RULE(ss->trace != NULL && ss->trace->origin == ss->arena->trace, "scan state", ss,
             "'outside the verifier it belongs to its arena's current trace or a marker's copy'");
  CHECK_RULE(!ss->parallel == (ss->trace->marker == NULL), "scan state", ss,
             "'it is parallel exactly when its trace is a marker's copy'");
  CHECK_RULE((ss->pub.white & ss->trace->white) == ss->trace->white, "scan state", ss,
             "'its white zones include the trace's'");
}

/* Every case but the common one: checks, the verifier and recorder, weak
   rank, ambiguous references, segments outside the white set, and the
   classes that fix objects themselves. Kept out of kiln_ss_fix, so that
   the common case saves few registers. */
static KILN_COLD kiln_res_t fix_rest(ss_t *ss, void **ref_io)
{
  kiln_ss_t pss = &ss->pub;
  if (KILN_CHECKING && (pss == NULL || ref_io == NULL))
    api_misuse("kiln_ss_fix: %s is NULL; call it from a scan with the scan state it was given "
               "and the address of a reference", pss == NULL ? "the scan state" : "ref_io");
  if (KILN_CHECKING)
    ss_check(ss);
  if (ss->verify)
    return ss->verify == SS_RECORD ? record_fix(ss, ref_io) : verify_fix(ss, ref_io);
  if (ss->rank == KILN_RANK_WEAK)
    return weak_fix(pss, ref_io);
  seg_t seg = arena_seg_of(ss->arena, *ref_io);
  if (seg == NULL)
    return KILN_OK;
  if (!seg->white) {
    /* A white zone but not a condemned segment: the reference stays, and
       its zone must stay in the scanned segment's summary (scan_other_seg,
       remset.c, drops the white zones and keeps only what fixing records;
       fuzz/regress/api/poolcollect-lost-summary covers it). During an incremental
       collection, the collected pool's segments that are not white hold
       what was allocated since it started. */
    ss->summary |= zone_of(*ref_io);
    ss->hit_new |= seg->pool == ss->arena->inc_pool;
    return KILN_OK;
  }
  if (seg->marks != NULL && ss->rank != KILN_RANK_AMBIG)
    return mark_ref(ss, seg, *ref_io);
  kiln_res_t res = seg->klass->fix(seg, pss, ref_io);
  ss->summary |= zone_of(*ref_io);
  return res;
}

/* An exact reference into a white segment that publishes its marks:
   set the object's bit and push it if it was clear. With markers, only
   the one whose or sets the bit pushes it. */
static inline kiln_res_t mark_ref(ss_t *ss, seg_t seg, void *ref)
{
  size_t g = ((uintptr_t)ref - seg->mark_header - seg->base) >> seg->mark_shift;
  uint64_t *w = &seg->marks[g >> 6], bit = (uint64_t)1 << (g & 63);
  if (!(word_load(w) & bit)) {
    if (!ss->parallel)
      *w |= bit;
    if (!ss->parallel || word_or(w, bit))
      trace_grey(ss->trace, ref);
  }
  ss->summary |= zone_of(ref);
  return KILN_OK;
}

kiln_res_t kiln_ss_fix(kiln_ss_t pss, void **ref_io)
{
  ss_t *ss = ss_of(pss);
  if (!KILN_CHECKING && ss->rank == KILN_RANK_EXACT && !ss->verify) {
    seg_t seg = arena_seg_of(ss->arena, *ref_io);
    if (seg != NULL && seg->white && seg->marks != NULL)
      return mark_ref(ss, seg, *ref_io);
  }
  return fix_rest(ss, ref_io);
}

/* A grey object adds the white zones it now refers to into its segment's
   summary: a promoted or copied object into its older segment's, a
   survivor in place (marked, pinned) into its white segment's, which
   restarted empty at condemn. */
static kiln_res_t scan_grey(ss_t *ss, void *obj)
{
  seg_t seg = arena_seg_of(ss->arena, obj);
  KILN_ASSERT_HOT(seg != NULL);
  if (KILN_CHECKING)
    seg_check(seg);
  ss->summary = 0;
  ss->hit_new = 0;
  kiln_res_t res = seg->klass->scan_obj(seg, &ss->pub, obj);
  uintptr_t block = (uintptr_t)obj - seg->pool->fmt->f.header_size;
  ss->summary = remset_remember_young(ss->arena, seg, block, block + 1, ss->summary, ss->parallel);
  if (!ss->parallel)
    seg->summary |= ss->summary;
  else if ((__atomic_load_n(&seg->summary, __ATOMIC_RELAXED) & ss->summary) != ss->summary)
    __atomic_fetch_or(&seg->summary, ss->summary, __ATOMIC_RELAXED);
  if (ss->hit_new && seg->white)
    remset_keep_cards(ss->arena, block, block + 1);
  return res;
}

/* Pop grey objects through a small FIFO that prefetches each one a few
   objects before it is scanned, so the cache miss of reading an object
   overlaps the scanning of others (marking is bound by memory latency).
   Stops once trace_work reaches until (an increment's budget; SIZE_MAX
   drains all), putting what the FIFO holds back on the grey stack. */
#define PREFETCH_DEPTH 8
static kiln_res_t drain_grey(ss_t *ss, size_t until)
{
  trace_t *trace = ss->trace;
  void *fifo[PREFETCH_DEPTH];
  size_t head = 0, n = 0;
  ss->rank = KILN_RANK_EXACT;
  for (;;) {
    while (n < PREFETCH_DEPTH && trace->ngrey > 0) {
      void *obj = trace->grey[--trace->ngrey];
      __builtin_prefetch(obj);
      fifo[(head + n++) % PREFETCH_DEPTH] = obj;
    }
    if (n == 0)
      return KILN_OK;
    if (trace_work(trace) >= until) {
      while (n > 0) /* not a plain store: the scans since they came off it may
                       have filled the stack */
        trace_grey(trace, fifo[(head + --n) % PREFETCH_DEPTH]);
      return KILN_OK;
    }
    void *obj = fifo[head];
    head = (head + 1) % PREFETCH_DEPTH;
    n--;
    kiln_res_t res = scan_grey(ss, obj);
    if (res != KILN_OK)
      return res;
    if (trace->hungry != NULL && trace->ngrey > 1 &&
        atomic_load_explicit(trace->hungry, memory_order_relaxed))
      mark_share(trace);
  }
}

kiln_res_t trace_drain_grey(ss_t *ss) { return drain_grey(ss, SIZE_MAX); }

/* Weak roots and objects of weak rank: a reference to a dead white object
   becomes NULL; one to a moved object is updated; the zone of one that
   stays goes into the summary (weak.c, scan_deferred). */
static kiln_res_t weak_fix(kiln_ss_t pss, void **ref_io)
{
  ss_t *ss = ss_of(pss);
  seg_t seg = arena_seg_of(ss->arena, *ref_io);
  if (seg == NULL)
    return KILN_OK;
  if (seg->white && seg->klass->survivor != NULL)
    *ref_io = seg->klass->survivor(seg, *ref_io);
  if (*ref_io != NULL)
    ss->summary |= zone_of(*ref_io);
  ss->hit_new |= !seg->white && seg->pool == ss->arena->inc_pool;
  return KILN_OK;
}

/* Weak areas word by word; weak scan functions with a weak scan state,
   whose kiln_ss_fix is weak_fix. */
void trace_fix_weak_roots(kiln_arena_t arena, trace_t *trace)
{
  ring_t *node, *nxt;
  ss_t ss = {.pub = {.white = trace->white, .zone_shift = ZONE_SHIFT}, .arena = arena,
             .trace = trace, .rank = KILN_RANK_WEAK};
  RING_FOR(node, &arena->roots, nxt) {
    kiln_root_t r = CONTAINER(node, struct kiln_root_s, arena_ring);
    if (r->rank != KILN_RANK_WEAK)
      continue;
    if (r->kind == ROOT_AREA) {
      for (void **p = r->base; p < r->limit; p++)
        weak_fix(&ss.pub, p);
    } else if (r->kind == ROOT_SCAN) {
      kiln_res_t res = r->scan(&ss.pub, r->closure);
      if (res != KILN_OK)
        trace_fail_scan(res);
    }
  }
}

void trace_fail_scan(kiln_res_t res)
{
  KILN_FAILF("trace: a scan function returned %s; a collection cannot be abandoned halfway",
             kiln_res_name(res));
}

/* Rescan one segment that holds objects the trace could not push; their
   references go into its summary as scan_grey's do. */
static kiln_res_t rescan_seg(ss_t *ss, seg_t seg)
{
  if (KILN_CHECKING)
    seg_check(seg);
  if (seg->klass->rescan == NULL)
    KILN_FAILF("trace: segment class '%s' greys objects but has no rescan method; a class "
               "that calls trace_grey must implement rescan (core/seg.h)", seg->klass->name);
  ss->summary = 0;
  ss->hit_new = 0;
  ss->rank = KILN_RANK_EXACT;
  kiln_res_t res = seg->klass->rescan(seg, &ss->pub);
  ss->summary = remset_remember_young(ss->arena, seg, seg->base, seg->limit, ss->summary, 0);
  seg->summary |= ss->summary;
  if (ss->hit_new && seg->white)
    remset_keep_cards(ss->arena, seg->base, seg->limit);
  return res;
}

/* After an overflow: rescan every segment holding objects that were not
   pushed. Rescanning may overflow again; the drain repeats until it does
   not, and terminates because each pass pushes or rescans only objects
   reached for the first time. */
static kiln_res_t rescan_lost(ss_t *ss)
{
  ss->trace->grey_overflow = 0;
  ring_t *pn, *px, *sn, *sx;
  RING_FOR(pn, &ss->arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    POOL_SEGS(sn, pool, sx) {
      seg_t seg = SEG_OF_RING(sn);
      if (!seg->grey_lost)
        continue;
      seg->grey_lost = 0;
      kiln_res_t res = rescan_seg(ss, seg);
      if (res != KILN_OK)
        return res;
    }
  }
  return KILN_OK;
}

void trace_forget_lost(kiln_arena_t arena)
{
  ring_t *pn, *px, *sn, *sx;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    POOL_SEGS(sn, pool, sx)
      clear_lost(SEG_OF_RING(sn));
  }
}

/* A drain to the end may use the markers (mark.c), once a first stretch
   of serial scanning (markers_after bytes) shows there is work enough to
   pay for waking them: most minor collections end within it. */
static kiln_res_t drain_all(ss_t *ss, size_t until)
{
  trace_t *trace = ss->trace;
  if (until != SIZE_MAX || !trace->parallel || trace->keep_young)
    return drain_grey(ss, until);
  size_t serial = ss->arena->markers_after;
  kiln_res_t res = drain_grey(ss, serial > SIZE_MAX - trace_work(trace) ? SIZE_MAX
                                                                         : trace_work(trace) + serial);
  if (res != KILN_OK || trace->ngrey == 0)
    return res;
  mark_drain(ss->arena, trace);
  return drain_grey(ss, until);
}

/* Scan grey objects, and the noted runs, until trace_work reaches until
   or nothing is left; after an overflow, rescan and go on. */
void trace_drain(kiln_arena_t arena, trace_t *trace, size_t until)
{
  if (KILN_CHECKING)
    trace_check(trace);
  /* The new zones too, so that inc_scan_run sees references to new objects. */
  ss_t ss = {.pub = {.white = trace->white | trace->new_zones, .zone_shift = ZONE_SHIFT},
             .arena = arena, .trace = trace, .rank = KILN_RANK_EXACT};
  kiln_res_t res;
  do {
    while ((res = drain_all(&ss, until)) == KILN_OK && trace_work(trace) < until &&
           trace->run_next < trace->nruns &&
           (res = inc_scan_run(&ss, &trace->runs[trace->run_next++])) == KILN_OK)
      ;
  } while (res == KILN_OK && trace->ngrey == 0 && trace->grey_overflow &&
           (res = rescan_lost(&ss)) == KILN_OK);
  if (res != KILN_OK)
    trace_fail_scan(res);
}
