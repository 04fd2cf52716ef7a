/* trace.c -- the trace engine: one stop-the-world collection over any set
 * of automatic pools, and the allocation trigger that starts one.
 *
 * A collection: flush every AP (trapping outstanding reservations), condemn
 * the chosen pools' segments (white), scan roots (ambiguous first, so moving
 * pools learn what is pinned before they copy anything), scan the segments
 * of other automatic pools whose summary meets the white zones (and, in a
 * sticky pool's minor collection, the old objects under the dirty cards of
 * its own segments), drain the grey stack, fix weak roots, then reclaim
 * every white segment.
 *
 * The engine knows segments through their class only (seg.h): it never asks
 * which pool a segment belongs to, so new pool classes plug in unchanged.
 *
 * Invariant 1: every object reachable from a root is reached, because each
 * reference goes through kiln_ss_fix exactly when KILN_FIX1 says its zone is
 * white, and every white segment's class fixes (marks or moves) what it is
 * shown; grey objects are scanned until none are left.
 */
#include "config.h"
#include "root.h"
#include "trace.h"
#include "vm.h"

#include <stdlib.h>
#include <string.h>

void trace_grey_grow(trace_t *trace)
{
  size_t cap = trace->grey_cap ? trace->grey_cap * 2 : 4096;
  void **g = realloc(trace->grey, cap * sizeof *g);
  if (g == NULL)
    KILN_FAILF("trace: no memory to grow the grey stack to %zu entries", cap);
  trace->grey = g;
  trace->grey_cap = cap;
}

static kiln_res_t weak_fix(kiln_ss_t pss, void **ref_io);

kiln_res_t kiln_ss_fix(kiln_ss_t pss, void **ref_io)
{
  ss_t *ss = ss_of(pss);
  if (KILN_CHECKING && (pss == NULL || ref_io == NULL))
    api_misuse("kiln_ss_fix: %s is NULL; call it from a scan with the scan state it was given "
               "and the address of a reference", pss == NULL ? "the scan state" : "ref_io");
  if (ss->verify)
    return verify_fix(ss, ref_io);
  if (ss->rank == KILN_RANK_WEAK)
    return weak_fix(pss, ref_io);
  seg_t seg = arena_seg_of(ss->arena, *ref_io);
  if (seg == NULL)
    return KILN_OK;
  if (!seg->white) {
    /* A white zone but not a condemned segment: the reference stays, and
       its zone must stay in the scanned segment's summary (scan_other_seg
       drops the white zones and keeps only what fixing records; found by
       fuzz/regress/api/poolcollect-lost-summary). During an incremental
       collection, the collected pool's segments that are not white hold
       what was allocated since it started. */
    ss->summary |= zone_of(*ref_io);
    ss->hit_new |= seg->pool == ss->arena->inc_pool;
    return KILN_OK;
  }
  if (seg->marks != NULL && ss->rank != KILN_RANK_AMBIG) {
    size_t g = ((uintptr_t)*ref_io - seg->mark_header - seg->base) >> seg->mark_shift;
    uint64_t *w = &seg->marks[g >> 6], bit = (uint64_t)1 << (g & 63);
    if (!(*w & bit)) {
      *w |= bit;
      trace_grey(ss->trace, *ref_io);
    }
    ss->summary |= zone_of(*ref_io);
    return KILN_OK;
  }
  kiln_res_t res = seg->klass->fix(seg, pss, ref_io);
  ss->summary |= zone_of(*ref_io);
  return res;
}

static int pool_condemned(pool_t pool, pool_t only)
{
  return (pool->klass->attr & CLASS_AUTO) && (only == NULL || pool == only);
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
  int keep_summary = trace->minor && pool->sticky;
  pool->st.live = 0;
  pool->st.live_objects = 0;
  if (pool->klass->condemn != NULL)
    pool->klass->condemn(pool, trace);
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt) {
    seg_t seg = SEG_OF_RING(node);
    seg->white = 1;
    if (!keep_summary)
      seg->summary = 0;
    trace->white |= seg->klass->whiten(seg, trace);
  }
}

/* Old-to-young references that outlive a collection (their young object
   was pinned, or aged in a survivor space) must be found again by the next
   minor collection. In an older segment they are remembered by a dirty
   card overlapping the object that holds them -- the scan of a card covers
   every object overlapping it (seg.h, scan_range) -- and not by a nursery
   zone in the segment's summary: a summary that meets the nursery's zones
   makes the next minor collection scan the whole segment (issue 4).
   found: the zones recorded by scanning the objects overlapping [lo, hi)
   of seg. Returns them minus the nursery zones when cards remember those.
   A nursery's own segments are condemned with it, so need neither. */
static uint64_t remember_young(kiln_arena_t arena, seg_t seg, uintptr_t lo, uintptr_t hi,
                               uint64_t found)
{
  if (!(found & arena->nursery_zones) || (seg->pool->klass->attr & CLASS_NURSERY))
    return found;
  arena_dirty_cards(arena, lo, hi);
  return found & ~arena->nursery_zones;
}

static uint8_t *seg_cards(kiln_arena_t arena, seg_t seg, size_t *n_o)
{
  return arena_cards(arena, seg->base, seg->limit, n_o);
}

/* A word at a time: every minor collection asks this of every segment. */
static int seg_cards_dirty(kiln_arena_t arena, seg_t seg)
{
  size_t n, i = 0;
  const uint8_t *c = seg_cards(arena, seg, &n);
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, c + i, sizeof w);
    if (w != 0)
      return 1;
  }
  for (; i < n; i++)
    if (c[i])
      return 1;
  return 0;
}

/* The dirty cards over a sticky pool's segments are also that pool's own
   remembered set (scan_sticky_cards), which no collection that leaves the
   pool uncondemned can judge: it sees only references into its white set,
   so cleaning them would forget the pool's old-to-young references
   (kiln_write's, or those of an object ms_promote made old) before its
   next minor collection. Only the pool's own collections clean them, and
   not at an incremental one's final pause: objects allocated during it
   stay young, and a store may have made an old or black object refer to
   one (the next minor collection scans those cards again). */
static int cards_cleanable(const ss_t *ss, seg_t seg)
{
  return !seg->pool->sticky || (seg->white && !ss->trace->keep_cards);
}

/* A card's byte: 0 clean, 1 dirty (kiln_write, remember_young), or
   CARD_KEPT: an incremental collection scanned it before its final pause
   (scan_run) and found an old object there referring to an object
   allocated since it started, so the card is the next minor collection's
   remembered set; nothing was written there since, so the final pause
   need not scan it. To everything else it is dirty. fresh: only 1. */
#define CARD_KEPT 2
static int card_wanted(uint8_t c, int fresh) { return fresh ? c == 1 : c != 0; }

/* The final pause of an incremental collection rescans only the cards of
   its pool written since they were last scanned. */
static int fresh_only(const ss_t *ss, seg_t seg)
{
  return ss->trace->keep_cards && seg->pool == ss->arena->inc_pool;
}

/* The first run [*i_o, *j_o) of wanted cards at or after card from of
   c[0..n); 0 if there is none. */
static int card_run(const uint8_t *c, size_t n, size_t from, int fresh, size_t *i_o,
                    size_t *j_o)
{
  size_t i = from;
  while (i < n && !card_wanted(c[i], fresh))
    i++;
  if (i == n)
    return 0;
  size_t j = i;
  while (j < n && card_wanted(c[j], fresh))
    j++;
  *i_o = i;
  *j_o = j;
  return 1;
}

/* Scan the objects under each run of dirty cards, cleaning them (see
   cards_cleanable). The cards are the remembered set: a store through
   kiln_write dirtied them. */
static kiln_res_t scan_dirty_cards(kiln_arena_t arena, ss_t *ss, seg_t seg)
{
  size_t n, i = 0, j = 0;
  uint8_t *c = seg_cards(arena, seg, &n);
  unsigned shift = arena->head.card_shift;
  int clean = cards_cleanable(ss, seg), fresh = fresh_only(ss, seg);
  for (size_t from = 0; card_run(c, n, from, fresh, &i, &j); from = j) {
    if (clean)
      memset(c + i, 0, j - i);
    uintptr_t lo = seg->base + (i << shift), hi = seg->base + (j << shift);
    uint64_t before = ss->summary;
    ss->summary = 0;
    kiln_res_t res = seg->klass->scan_range(seg, &ss->pub, lo, hi);
    /* A run still holding old-to-young references stays dirty, all of it:
       its next scan covers the same objects. */
    ss->summary = before | remember_young(arena, seg, lo, hi, ss->summary);
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

/* A segment not condemned may still point into the white set. Its summary
   covers what it held when last scanned; writes since then dirtied cards
   (or, with no barrier, anything may have changed). Scan the whole segment
   if the summary meets the white set, else only its dirty cards. */
static kiln_res_t scan_other_seg(kiln_arena_t arena, ss_t *ss, seg_t seg)
{
  int whole = !arena->barrier || (seg->summary & ss->pub.white) != 0;
  int dirty = arena->barrier && seg_cards_dirty(arena, seg);
  if (!whole && !dirty)
    return KILN_OK;
  ss->summary = 0;
  ss->rank = KILN_RANK_EXACT;
  kiln_res_t res;
  if (whole || seg->klass->scan_range == NULL) {
    if (dirty && cards_cleanable(ss, seg)) { /* before the scan, which may dirty some
                                             again (remember_young) */
      size_t n;
      uint8_t *cards = seg_cards(arena, seg, &n);
      memset(cards, 0, n);
    }
    res = seg->klass->scan(seg, &ss->pub);
  } else {
    res = scan_dirty_cards(arena, ss, seg);
  }
  /* Fixing shows only references into the white zones; the rest of the
     old summary stands, except that a written segment may now refer
     anywhere outside them (MPS's summary rule). */
  seg->summary = ((dirty ? ZONES_ALL : seg->summary) & ~ss->pub.white) | ss->summary;
  return res;
}

static kiln_res_t scan_other_pools(kiln_arena_t arena, ss_t *ss, pool_t only)
{
  ring_t *pn, *px, *sn, *sx;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (!(pool->klass->attr & CLASS_AUTO) || pool_condemned(pool, only))
      continue;
    POOL_SEGS(sn, pool, sx) {
      kiln_res_t res = scan_other_seg(arena, ss, SEG_OF_RING(sn));
      if (res != KILN_OK)
        return res;
    }
  }
  return KILN_OK;
}

/* A minor collection of a sticky pool (pool.h) leaves the objects that
   survived earlier collections marked and unscanned: those written since,
   under the dirty cards of the pool's own segments, are its remembered
   set. Its scan_range of a white segment skips the young objects there
   (they are scanned if reached, and freed if not). Cleaning those cards
   forgets their references into other pools' segments that share this
   pool's (white) zones, which reclaim's widening of the summary does not
   restore: what the scan found goes into the segment's summary. */
static kiln_res_t scan_sticky_cards(kiln_arena_t arena, ss_t *ss, pool_t pool)
{
  if (!pool->sticky || !arena->barrier)
    return KILN_OK;
  ss->rank = KILN_RANK_EXACT;
  ring_t *sn, *sx;
  POOL_SEGS(sn, pool, sx) {
    seg_t seg = SEG_OF_RING(sn);
    if (seg->klass->scan_range == NULL || !seg_cards_dirty(arena, seg))
      continue;
    ss->summary = 0;
    kiln_res_t res = scan_dirty_cards(arena, ss, seg);
    seg->summary |= ss->summary;
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

/* An incremental collection's start does not scan the dirty cards of its
   pool (a Populate-style workload dirties thousands: 1-4 ms of scanning);
   it cleans them and notes their runs, which its increments then scan
   like grey objects. A store meanwhile dirties a card again, for the
   final pause. Nor does it scan exact area roots (the churn workload's
   116 k slots took 4-16 ms, cache-cold): it notes them in chunks (seg
   NULL, [lo, hi) the words), as the final pause scans every root again
   anyway. */
struct card_run_s {
  seg_t seg;
  uintptr_t lo, hi;
};
#define ROOT_CHUNK 4096 /* words of an area root scanned at once */

/* The budget of an increment counts objects and root words scanned. */
static size_t trace_work(const trace_t *trace) { return trace->scanned + trace->root_scanned; }

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

static void note_root_area(void *cl, void **base, void **limit)
{
  while (base < limit) {
    void **end = limit - base > ROOT_CHUNK ? base + ROOT_CHUNK : limit;
    note_run(cl, NULL, (uintptr_t)base, (uintptr_t)end);
    base = end;
  }
}

static void note_sticky_cards(kiln_arena_t arena, trace_t *trace, pool_t pool, int fresh)
{
  unsigned shift = arena->head.card_shift;
  ring_t *sn, *sx;
  POOL_SEGS(sn, pool, sx) {
    seg_t seg = SEG_OF_RING(sn);
    if (seg->klass->scan_range == NULL || !seg_cards_dirty(arena, seg))
      continue;
    size_t n, i = 0, j = 0;
    uint8_t *c = seg_cards(arena, seg, &n);
    for (size_t from = 0; card_run(c, n, from, fresh, &i, &j); from = j) {
      memset(c + i, 0, j - i);
      note_run(trace, seg, seg->base + (i << shift), seg->base + (j << shift));
    }
  }
}

/* Objects overlapping [lo, hi) that will be old after the incremental
   collection under way refer to ones allocated during it (young for the
   next): remember them, CARD_KEPT unless written again meanwhile. A run's
   scan (scan_run) finds such references in objects marked by then; a
   young object under a card a pre-clean cleaned is skipped there and may
   be reached, and scanned by scan_grey, only later
   (fuzz/regress/api/inc-preclean-young-holder). */
static void keep_cards(kiln_arena_t arena, uintptr_t lo, uintptr_t hi)
{
  size_t n;
  uint8_t *c = arena_cards(arena, lo, hi, &n);
  for (size_t i = 0; i < n; i++)
    c[i] = c[i] ? c[i] : CARD_KEPT;
}

/* As scan_sticky_cards does for one run (the segment is still white). */
static kiln_res_t scan_run(ss_t *ss, const struct card_run_s *run)
{
  ss->summary = 0;
  ss->rank = KILN_RANK_EXACT;
  if (run->seg == NULL) {
    ss->trace->root_scanned += run->hi - run->lo;
    return root_scan_words(&ss->pub, (void **)run->lo, (void **)run->hi);
  }
  ss->hit_new = 0;
  kiln_res_t res = run->seg->klass->scan_range(run->seg, &ss->pub, run->lo, run->hi);
  run->seg->summary |= remember_young(ss->arena, run->seg, run->lo, run->hi, ss->summary);
  /* The cards were cleaned when noted; new objects need no remembering. */
  if (ss->hit_new && run->seg->white)
    keep_cards(ss->arena, run->lo, run->hi);
  return res;
}

/* A grey object adds the white zones it now refers to into its segment's
   summary: a promoted or copied object into its older segment's, a
   survivor in place (marked, pinned) into its white segment's, which
   restarted empty at condemn. */
static kiln_res_t scan_grey(ss_t *ss, void *obj)
{
  seg_t seg = arena_seg_of(ss->arena, obj);
  KILN_ASSERT_HOT(seg != NULL);
  ss->summary = 0;
  ss->hit_new = 0;
  kiln_res_t res = seg->klass->scan_obj(seg, &ss->pub, obj);
  uintptr_t block = (uintptr_t)obj - seg->pool->fmt->f.header_size;
  ss->summary = remember_young(ss->arena, seg, block, block + 1, ss->summary);
  seg->summary |= ss->summary;
  if (ss->hit_new && seg->white)
    keep_cards(ss->arena, block, block + 1);
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
                       have filled the stack (found by review) */
        trace_grey(trace, fifo[(head + --n) % PREFETCH_DEPTH]);
      return KILN_OK;
    }
    void *obj = fifo[head];
    head = (head + 1) % PREFETCH_DEPTH;
    n--;
    kiln_res_t res = scan_grey(ss, obj);
    if (res != KILN_OK)
      return res;
  }
}

/* Weak roots: a reference to a dead white object becomes NULL; one to a
   moved object is updated. */
static kiln_res_t weak_fix(kiln_ss_t pss, void **ref_io)
{
  ss_t *ss = ss_of(pss);
  seg_t seg = arena_seg_of(ss->arena, *ref_io);
  if (seg == NULL || !seg->white)
    return KILN_OK;
  *ref_io = seg->klass->survivor != NULL ? seg->klass->survivor(seg, *ref_io) : *ref_io;
  return KILN_OK;
}

static void fail_scan(kiln_res_t res);

/* Weak areas word by word; weak scan functions with a weak scan state,
   whose kiln_ss_fix is weak_fix. */
static void fix_weak_roots(kiln_arena_t arena, trace_t *trace)
{
  ring_t *node, *nxt;
  ss_t ss = {{trace->white, ZONE_SHIFT}, arena, trace, KILN_RANK_WEAK, 0, 0, NULL, 0};
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
        fail_scan(res);
    }
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
      seg->white = 0;
      /* Every survivor was scanned (grey), which recorded its references
         into the white zones; references elsewhere were not looked at.
         Summaries stay exact in the white zones -- a nursery's, as every
         collection condemns the nursery -- so the next minor collection
         need not scan the whole mature space (issue 4). */
      seg->summary |= ~trace->white;
      seg->klass->reclaim(seg, trace); /* may free seg */
    }
    if (pool->klass->reclaimed != NULL)
      pool->klass->reclaimed(pool, trace);
  }
}

/* Every stop-the-world pause, whole collection or increment. */
static void record_pause(kiln_arena_t arena, int minor, double seconds)
{
  arena_stats_t *st = &arena->stats;
  pause_record(&st->all, seconds);
  pause_record(minor ? &st->minor : &st->full, seconds);
  events_pause(arena, seconds);
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
  st->copied += trace->copied;
  /* The full-collection budget counts growth of the older generations:
     what minor collections promote, and what mature pools allocate; not
     what stays in a survivor space. */
  if (trace->minor) {
    arena->since_gc += trace->copied - trace->aged + trace->tenured;
    st->live = pools_live(arena);
  } else {
    st->live = arena->live_full = trace->marked + trace->copied;
    arena->since_gc = 0;
    /* What this collection copied came out of fresh pages: keep as much
       back for the next one, or each cycle would commit more to-space and
       hand the from-space it frees to the next budget. */
    arena->held = arena->committed;
    size_t spare = arena_spare_in(arena, ~arena->nursery_zones);
    arena->headroom = spare > trace->copied ? spare - trace->copied : 0;
  }
  events_note(arena, trace->minor ? KILN_COLLECTION_MINOR : KILN_COLLECTION_FULL,
              trace->incremental, trace->marked, trace->copied);
}

static void fail_scan(kiln_res_t res)
{
  KILN_FAILF("trace: a scan function returned %s; a collection cannot be abandoned halfway",
             kiln_res_name(res));
}

static void drain(kiln_arena_t arena, trace_t *trace, size_t until);

/* Grey everything the roots and the remembered sets refer to in the white
   set. An incremental collection does this at its start and again at its
   final pause (roots are not barriered; cards dirtied since are rescanned).
   A sticky pool's stop-the-world minor collection marks from ambiguous
   roots last, after draining, so that it knows what only they reach: that
   survives but may stay young (keep_young; ms.c, ms_keep_begin). Such
   words are often stale -- a dead frame's slot, a register not yet
   overwritten -- and each tenured a whole dead tree until the next full
   collection: in GCBench the minors marked up to 6 MB where 4 MB were
   live, and the full collections came sooner and the heap grew larger. */
static void scan_roots(kiln_arena_t arena, trace_t *trace, pool_t only)
{
  ss_t ss = {{trace->white, ZONE_SHIFT}, arena, trace, KILN_RANK_AMBIG, 0, 0, NULL, 0};
  int start = trace->incremental && !trace->keep_cards;
  int ambig_last = trace->minor && !trace->incremental && only != NULL && only->sticky;
  kiln_res_t res = ambig_last ? KILN_OK : root_scan_rank(arena, &ss.pub, KILN_RANK_AMBIG, 0);
  if (res == KILN_OK)
    res = root_scan_rank(arena, &ss.pub, KILN_RANK_EXACT, start);
  if (start)
    root_each_exact_area(arena, note_root_area, trace);
  if (res == KILN_OK)
    res = scan_other_pools(arena, &ss, only);
  if (res == KILN_OK && trace->minor && only != NULL) {
    if (start)
      note_sticky_cards(arena, trace, only, 0);
    else
      res = scan_sticky_cards(arena, &ss, only);
  }
  if (res == KILN_OK && ambig_last) {
    drain(arena, trace, SIZE_MAX);
    trace->keep_young = only->klass->keep_begin != NULL;
    if (trace->keep_young)
      only->klass->keep_begin(only, trace);
    res = root_scan_rank(arena, &ss.pub, KILN_RANK_AMBIG, 0);
  }
  if (res != KILN_OK)
    fail_scan(res);
}

/* Scan grey objects, and the noted runs, until trace_work reaches until
   or nothing is left. */
static void drain(kiln_arena_t arena, trace_t *trace, size_t until)
{
  /* The new zones too, so that scan_run sees references to new objects. */
  ss_t ss = {{trace->white | trace->new_zones, ZONE_SHIFT}, arena, trace, KILN_RANK_EXACT,
             0, 0, NULL, 0};
  kiln_res_t res;
  while ((res = drain_grey(&ss, until)) == KILN_OK && trace_work(trace) < until &&
         trace->run_next < trace->nruns &&
         (res = scan_run(&ss, &trace->runs[trace->run_next++])) == KILN_OK)
    ;
  if (res != KILN_OK)
    fail_scan(res);
}

/* The first half of a collection: flush the APs, condemn, check the
   barrier (checked builds), grey what roots and remembered sets reach. */
static void trace_open(kiln_arena_t arena, trace_t *trace, pool_t only, int minor,
                       int incremental)
{
  memset(trace, 0, sizeof *trace);
  trace->arena = arena;
  trace->minor = minor;
  trace->incremental = incremental;
  /* The grey stack of the last trace is reused: freeing it let malloc
     return a large one to the OS, and growing it again cost a page fault
     per 512 entries in every big minor collection (issue 4). */
  trace->grey = arena->grey;
  trace->grey_cap = arena->grey_cap;
  arena->grey = NULL;
  arena->trace = trace;
  ap_flush_all(arena);
  ring_t *pn, *px;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (pool_condemned(pool, only))
      condemn_pool(pool, trace);
  }
  if (KILN_CHECKING && minor)
    verify_barrier(arena, trace, only);
  scan_roots(arena, trace, only);
}

/* The second half: drain, weak roots, reclaim, statistics. */
static void trace_close(kiln_arena_t arena, trace_t *trace, pool_t only)
{
  drain(arena, trace, SIZE_MAX);
  if (trace->keep_young)
    only->klass->keep_end(only, trace);
  fix_weak_roots(arena, trace);
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
   In GCBench 20-27 words of those frames pointed into the heap at each
   full collection (none happened to hold dead data there). Every entry
   to a collection goes through here; the callee-saved registers are
   spilled at this point (vm_with_registers), the outermost entry records
   the stack top, and root.c scans the thread's stack from it. */
typedef struct entry_s {
  kiln_arena_t arena;
  void (*body)(void *);
  void *args;
} entry_t;

static void entered(void *sp, void *closure)
{
  entry_t *e = closure;
  e->arena->stack_hot = sp;
  e->body(e->args);
  e->arena->stack_hot = NULL;
}

static void from_mutator(kiln_arena_t arena, void (*body)(void *), void *args)
{
  if (arena->stack_hot != NULL) { /* nested: the outermost entry recorded it */
    body(args);
    return;
  }
  entry_t e = {arena, body, args};
  vm_with_registers(entered, &e);
  events_deliver(arena); /* out of the collection now */
}

static double pause_start_finishing(kiln_arena_t arena);

typedef struct collect_args_s {
  kiln_arena_t arena;
  pool_t only;
  int minor;
} collect_args_t;

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
    t0 = pause_start_finishing(arena);
  arena->collecting = 1;
  trace_t trace;
  trace_open(arena, &trace, only, minor, 0);
  trace_close(arena, &trace, only);
  record_pause(arena, minor, vm_now() - t0);
  arena->collecting = 0;
}

void trace_collect(kiln_arena_t arena, pool_t only, int minor)
{
  if (arena->collecting)
    return;
  collect_args_t a = {arena, only, minor};
  from_mutator(arena, collect, &a);
}

/* ---- incremental minor collections of a sticky pool --------------------
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
 */

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
  double t0 = pause_start_finishing(arena);
  arena->collecting = 1;
  trace_open(arena, trace, pool, 1, 1);
  arena->inc = trace;
  arena->inc_pool = pool;
  arena->inc_carry = 0;
  record_pause(arena, 1, vm_now() - t0);
  arena->collecting = 0;
}

void trace_inc_start(kiln_arena_t arena, pool_t pool)
{
  if (arena->collecting)
    return;
  collect_args_t a = {arena, pool, 1};
  from_mutator(arena, inc_start, &a);
}

typedef struct finish_args_s {
  kiln_arena_t arena;
  double t0;
  int record;                    /* 0: the caller's pause goes on (pause_start_finishing) */
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
  drain(arena, trace, SIZE_MAX);
  if (KILN_CHECKING)
    verify_barrier(arena, trace, pool);
  trace->keep_cards = 1;
  scan_roots(arena, trace, pool);
  trace_close(arena, trace, pool);
  arena->inc = NULL;
  arena->inc_pool = NULL;
  arena->inc_carry = 0;
  if (a->record)
    record_pause(arena, 1, vm_now() - t0 + carry);
  free(trace->runs);
  free(trace);
  arena->collecting = 0;
}

static void inc_finish(kiln_arena_t arena, double t0)
{
  finish_args_t a = {arena, t0, 1};
  from_mutator(arena, inc_finish_at, &a);
}

/* A collection that must first finish an incremental one makes one pause
   of both: recorded apart, they understated the longest pause. Finishes
   it, if any, and returns when the caller's pause began, counting the
   incremental collection's scanning not yet in a pause. */
static double pause_start_finishing(kiln_arena_t arena)
{
  if (arena->inc == NULL || arena->collecting)
    return vm_now();
  double t0 = vm_now() - arena->inc_carry;
  finish_args_t a = {arena, t0, 0};
  from_mutator(arena, inc_finish_at, &a);
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
   only what is written after that. Without this, churn's final pauses
   rescanned every card its random stores dirtied: 2-15 ms. Twice at most,
   and not for a handful of runs, which the final pause takes as they are. */
#define PRECLEANS 2
#define PRECLEAN_MIN 16
static int preclean(kiln_arena_t arena, trace_t *trace)
{
  if (trace->precleans >= PRECLEANS)
    return 0;
  trace->precleans++;
  trace->nruns = trace->run_next = 0;
  note_sticky_cards(arena, trace, arena->inc_pool, 1);
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
  drain(arena, trace, until < budget ? SIZE_MAX : until);
  int done = trace->ngrey == 0 && trace->run_next == trace->nruns && !preclean(arena, trace);
  arena->collecting = 0;
  if (done) {
    inc_finish(arena, t0);
    return;
  }
  record_pause(arena, 1, vm_now() - t0 + arena->inc_carry);
  arena->inc_carry = 0;
}

void trace_scan_new(kiln_arena_t arena, seg_t seg, uintptr_t lo, uintptr_t hi)
{
  trace_t *trace = arena->inc;
  KILN_ASSERT(trace != NULL && !seg->white);
  double t0 = vm_now();
  /* This scan sees every store into these objects so far, so the cards
     wholly inside the range (they hold no other objects) need not stay
     dirty for the final pause; a later store dirties them again. GCBench's
     Populate, writing into its newest nodes, otherwise left 1.5 MB for
     each final pause to scan again. */
  unsigned shift = arena->head.card_shift;
  uintptr_t a = arena->base + ((lo - arena->base + ((uintptr_t)1 << shift) - 1) >> shift << shift);
  uintptr_t b = arena->base + ((hi - arena->base) >> shift << shift);
  if (a < b) {
    size_t n;
    uint8_t *c = arena_cards(arena, a, b, &n);
    memset(c, 0, n);
  }
  ss_t ss = {{trace->white, ZONE_SHIFT}, arena, trace, KILN_RANK_EXACT, 0, 0, NULL, 0};
  kiln_res_t res = seg->klass->scan_range(seg, &ss.pub, lo, hi);
  seg->summary |= remember_young(arena, seg, lo, hi, ss.summary);
  if (res != KILN_OK)
    fail_scan(res);
  arena->inc_carry += vm_now() - t0;
}

void kiln_arena_collect(kiln_arena_t arena)
{
  if (api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_arena_collect", "arena", 1) == KILN_OK &&
      !events_refuse(arena, "kiln_arena_collect"))
    trace_collect(arena, NULL, 0);
}

void kiln_pool_collect(kiln_pool_t pool)
{
  if (api_handle(pool, API_SIG(pool), SIG_POOL, "kiln_pool_collect", "pool", 1) != KILN_OK ||
      events_refuse(pool->arena, "kiln_pool_collect"))
    return;
  if (pool->klass->attr & CLASS_AUTO)
    trace_collect(pool->arena, pool, 0);
}

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
