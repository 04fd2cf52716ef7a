/* ms.c -- automatic mark-sweep pool: non-moving, tolerant of ambiguous
 * references, bump allocation into holes.
 *
 * Layout. Objects are grain-aligned (grain = max(format align, 8)). Objects
 * of at least `large_size` bytes get a segment of their own. Smaller ones
 * live in "small" segments of `segment_size` bytes, described by three
 * bitmaps outside the segment (one bit per grain):
 *   alloc  -- grains in use: objects, or an AP's buffer;
 *   starts -- the first grain of every committed object (finds the object
 *             containing an interior ambiguous pointer, and walks objects);
 *   mark   -- during a trace, every grain of every reached object.
 * Object headers are never touched by the collector.
 *
 * Allocation. An AP gets a whole hole (a maximal run of free grains) as its
 * buffer and bumps through it inline; the pool searches holes from a
 * per-segment cursor, so each hole is handed out at most once per cycle.
 * When an AP gives a buffer back, the pool frees the unused tail and notes
 * the committed range as unparsed (up to LAZY_MAX per segment, beyond which
 * it is parsed at once). Parsing walks the range's objects with the
 * format's skip to set their start bits; it happens only when something
 * needs them before the next sweep: an ambiguous reference into the
 * segment, a heap walk, or a scan of the segment as a root. The sweep needs
 * none of it: scanning a survivor sets its start bit. Walking every buffer
 * at once would cost a cache miss on most objects written long before.
 *
 * Sweep. Eager and bitmap-only: at reclaim, alloc := mark and
 * starts &= mark, word by word, without touching the objects; a segment with
 * nothing marked goes back to the arena. Holes are then found lazily by the
 * allocator. Cost O(segment bytes / grain / 64) words per segment.
 *
 * Sticky mark bits (`young_size` > 0). A generation without moving
 * anything (the design of MMTk's sticky Immix and Whippet's generational
 * mark-region): reclaim keeps the mark bitmap, so the objects that survived
 * the last collection stay marked -- they are the old generation -- and
 * every object allocated since is unmarked, young. After young_size bytes
 * of allocation the next fill runs a minor collection of this pool alone:
 * old objects are black (fix finds them marked and stops), the young ones
 * reached from roots and from old objects under dirty cards (remset.c,
 * remset_scan_sticky_cards; ms_scan_range then skips young objects) are marked in
 * place, and the sweep frees the rest. Survivors become old by being
 * marked; nothing is copied, so a minor pause is the marking of the young
 * survivors plus a bitmap sweep, and ambiguous references cost nothing
 * extra. A full collection clears every mark (and the pool's cards: all
 * its survivors will be old) and marks from scratch. Old objects that die
 * are found only by full collections, whose budget counts what minor
 * collections tenure (trace->tenured), not what the pool allocates. An
 * object promoted into the pool by another (gen's promote_to) outside its
 * own collections is old at once; its cards are dirtied, as it may refer to
 * young objects of this pool. A stop-the-world minor collection marks from
 * ambiguous references last (trace.c, trace_scan_roots); the young objects only
 * they reach may survive it young (ms_keep_begin: their marks are cleared
 * after the sweep), since such references are often stale.
 *
 * Invariants (outside a collection, an incremental one's increments
 * included): starts is a subset of alloc; every committed object's first
 * grain is in starts or in an unparsed range; mark is all zero, or with
 * sticky mark bits a subset of alloc covering exactly the old objects'
 * grains; only a segment marked young holds unparsed ranges or objects a
 * minor collection kept young (was_kept); no old object refers to one of
 * those off a dirty card (a collection keeps all of them young or none).
 */
#include "config.h"
#include "pool.h"
#include "poolutil.h"

#include <stdlib.h>
#include <string.h>

#define LAZY_MAX 8 /* unparsed ranges kept per segment (see Allocation) */

/* A minor collection's decision on what only ambiguous roots reach:
   none yet (ms_keep_end decides), keep them young, or tenure them (also
   when ms_keep_begin ran out of memory). */
enum { KEEP_NONE, KEEP_YES, KEEP_NO };

typedef struct ms_seg_s {
  struct seg_s seg;
  int large;
  size_t grains;
  uint64_t *alloc, *starts, *mark;  /* small segments */
  uint64_t *lost;                    /* small: marked but not pushed (seg.h, lost) */
  size_t cursor;                     /* hole search resumes here */
  ring_t avail;                      /* in ms->avail while the cursor has not reached the end */
  size_t obj_size;                   /* large segments: the object's extent (0: none yet) */
  int marked;                        /* large segments */
  int young;                         /* small: handed to an AP since the last sweep */
  uint64_t *pre;                     /* small, young: mark before the ambiguous roots'
                                        marking (ms_keep_begin), or NULL */
  uint64_t *was_kept;                /* small: grains the last minor GC kept young, or NULL */
  int pre_marked, large_was_kept;    /* large: the same */
  unsigned nlazy;                    /* unparsed ranges of committed objects */
  uint32_t lazy[LAZY_MAX][2];        /* [first grain, end grain) each */
} ms_seg_t;

typedef struct ms_s {
  struct kiln_pool_s pool;
  size_t grain, seg_size, large_size, header;
  unsigned shift;
  ring_t avail;
  ms_seg_t *promo_seg;              /* promotion buffer: see promo_space */
  uint64_t promo_epoch;
  size_t promo_next, promo_limit;
  size_t young_size;                /* sticky mark bits: bytes between minor GCs (0: off) */
  size_t young_step;                /* incremental minor GCs: bytes between increments */
  size_t young;                     /* bytes handed to APs since the last collection */
  int inc;                          /* an incremental minor GC of this pool is under way */
  size_t inc_in_use;                /* bytes committed since it started */
  size_t old_live, old_objects;     /* the old generation's figures, for minor GCs */
  size_t kept_live, kept_objects;   /* of a minor GC's survivors: those kept young */
  int keep;                         /* this minor GC: KEEP_* (ms_keep_begin) */
} ms_t;

enum { P_FORMAT, P_SEGMENT_SIZE, P_LARGE_SIZE, P_YOUNG_SIZE, P_YOUNG_STEP };
static const kiln_param_t ms_params[] = {
  {"format", KILN_ARGT_PTR, NULL, 0, 0, "the object format (kiln_fmt_create)"},
  {"segment_size", KILN_ARGT_SIZE, "256KB", 16384, 1u << 30, "bytes per small-object segment"},
  {"large_size", KILN_ARGT_SIZE, "16KB", 64, 1u << 30, "objects this big get their own segment"},
  {"young_size", KILN_ARGT_SIZE, "0", 0, 0,
   "bytes allocated between minor collections, which mark young objects in place "
   "(sticky mark bits; needs barrier = \"card\"); 0: full collections only"},
  {"young_step", KILN_ARGT_SIZE, "0", 0, 0,
   "makes minor collections incremental: at most this many bytes are allocated "
   "between two of their pauses, each of which marks 4 times as many; needs young_size; "
   "0: a minor collection is one pause"},
  {NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};

static ms_t *ms_of(pool_t pool) { return (ms_t *)pool; }
static ms_seg_t *mseg(seg_t seg) { return (ms_seg_t *)seg; }
static ms_t *ms_of_seg(seg_t seg) { return ms_of(seg->pool); }

/* ---- objects ---------------------------------------------------------- */

static void *client_of(ms_t *ms, ms_seg_t *s, size_t g)
{
  return grain_client(&s->seg, g, ms->shift, ms->header);
}

/* ---- segments --------------------------------------------------------- */

static const seg_class_t ms_seg_class;

static void mseg_free(ms_seg_t *s)
{
  ms_t *ms = ms_of(s->seg.pool);
  if (ms->promo_seg == s)
    ms->promo_seg = NULL;
  ring_remove(&s->avail);
  free(s->pre);
  free(s->was_kept);
  free(s->alloc);
  seg_free(&s->seg);
}

static kiln_res_t mseg_new(ms_seg_t **s_o, ms_t *ms, size_t bytes, int large)
{
  seg_t seg;
  kiln_res_t res = seg_alloc(&seg, &ms->pool, &ms_seg_class, bytes);
  if (res != KILN_OK)
    return res;
  ms_seg_t *s = mseg(seg);
  ring_init(&s->avail);
  s->large = large;
  /* Empty: it points nowhere. Whoever puts objects in widens it (ms_fill,
     ms_promote), so a segment made for promotion is not scanned whole by
     the next minor collection merely for being new. */
  seg->summary = 0;
  if (!large) {
    s->grains = seg_size(seg) >> ms->shift;
    size_t words = bits_words(s->grains);
    s->alloc = calloc(4 * words, sizeof(uint64_t));
    if (s->alloc == NULL) {
      seg_free(seg);
      return arena_errorf(ms->pool.arena, KILN_MEMORY, "ms: no memory for segment bitmaps");
    }
    s->starts = s->alloc + words;
    s->mark = s->starts + words;
    seg->marks = s->mark; /* exact fixes are mark_first, done by the trace (seg.h) */
    seg->mark_header = ms->header;
    seg->mark_shift = ms->shift;
    s->lost = s->mark + words;
    seg->lost = s->lost; /* ms_scan_obj counts an object live: rescan each once */
    ring_append(&ms->avail, &s->avail);
  }
  *s_o = s;
  return KILN_OK;
}

static int mark_first(ms_seg_t *s, size_t g);

/* ---- pool ------------------------------------------------------------- */

static kiln_res_t ms_init(pool_t pool, const pval_t *v)
{
  ms_t *ms = ms_of(pool);
  size_t align = pool->fmt->f.align;
  ms->grain = align > 8 ? align : 8;
  ms->shift = 0;
  while (((size_t)1 << ms->shift) < ms->grain)
    ms->shift++;
  ms->header = pool->fmt->f.header_size;
  ms->seg_size = v[P_SEGMENT_SIZE].size;
  ms->large_size = v[P_LARGE_SIZE].size;
  ms->young_size = v[P_YOUNG_SIZE].size;
  if (ms->young_size > 0 && !pool->arena->barrier)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "pool class 'ms': young_size makes a generational pool, which relies on "
                        "kiln_write's card marks to find old-to-young references, but the arena "
                        "was created with barrier = \"none\"; create it with barrier = \"card\" "
                        "or leave young_size at 0");
  ms->young_step = v[P_YOUNG_STEP].size;
  if (ms->young_step > 0 && ms->young_size == 0)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "pool class 'ms': young_step makes minor collections incremental, but "
                        "there are none: young_size is 0; set young_size too, or leave "
                        "young_step at 0");
  if (ms->young_step > ms->young_size)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "pool class 'ms': young_step (%zu) must be at most young_size (%zu): "
                        "it is the allocation between two pauses of one minor collection",
                        ms->young_step, ms->young_size);
  if (ms->large_size > ms->seg_size / 2)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "pool class 'ms': large_size (%zu) must be at most half of segment_size (%zu)",
                        ms->large_size, ms->seg_size);
  ring_init(&ms->avail);
  return KILN_OK;
}

static void ms_finish(pool_t pool)
{
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt)
    mseg_free(mseg(SEG_OF_RING(node)));
}

/* Find a hole of at least n grains at or after the cursor. */
static int find_hole(ms_seg_t *s, size_t n, size_t *first_o, size_t *len_o)
{
  size_t i = s->cursor;
  while (i < s->grains) {
    size_t start = bits_find(s->alloc, i, s->grains, 0);
    if (start >= s->grains)
      break;
    size_t end = bits_find(s->alloc, start, s->grains, 1);
    if (end - start >= n) {
      *first_o = start;
      *len_o = end - start;
      s->cursor = end;
      return 1;
    }
    i = end;
  }
  s->cursor = s->grains;
  return 0;
}

/* A segment of its own for a large object, with the given summary. */
static kiln_res_t fill_large(char **base_o, char **limit_o, ms_t *ms, size_t size,
                             uint64_t summary)
{
  ms_seg_t *s;
  kiln_res_t res = mseg_new(&s, ms, size, 1);
  if (res != KILN_OK)
    return res;
  s->seg.summary = summary;
  seg_give(&s->seg, size, base_o, limit_o);
  return KILN_OK;
}

/* The first segment on the avail ring with a hole of n grains; segments
   whose cursor reached the end leave the ring until the next sweep. */
static ms_seg_t *avail_hole(ms_t *ms, size_t n, size_t *first_o, size_t *len_o)
{
  ring_t *node, *nxt;
  RING_FOR(node, &ms->avail, nxt) {
    ms_seg_t *s = CONTAINER(node, ms_seg_t, avail);
    if (ms->inc && s->seg.white)
      continue; /* condemned by the minor collection under way: see ms_fill */
    if (find_hole(s, n, first_o, len_o))
      return s;
    ring_remove(&s->avail);
  }
  return NULL;
}

static kiln_res_t fill_small(char **base_o, char **limit_o, ms_t *ms, size_t size)
{
  pool_t pool = &ms->pool;
  size_t n = grains_for(size, ms->shift), first, len;
  ms_seg_t *s = avail_hole(ms, n, &first, &len);
  if (s == NULL) {
    kiln_res_t res = mseg_new(&s, ms, ms->seg_size, 0);
    if (res != KILN_OK)
      return res;
    if (!find_hole(s, n, &first, &len))
      return arena_errorf(pool->arena, KILN_FAIL, "ms: a new segment has no hole");
  }
  size_t cap = grains_for(ms->young_step, ms->shift);
  if (ms->inc && len > n && len > cap) { /* one increment per young_step bytes */
    len = n > cap ? n : cap;
    s->cursor = first + len;
  }
  bits_set(s->alloc, first, len, 1);
  s->young = 1;
  s->seg.summary = ZONES_ALL; /* new objects are written without a barrier */
  *base_o = (char *)s->seg.base + (first << ms->shift);
  *limit_o = *base_o + (len << ms->shift);
  return KILN_OK;
}

/* With sticky mark bits, a minor collection once young_size bytes were
   handed out since the last collection; young counts what APs keep. An
   incremental one (young_step) runs an increment at every fill while it is
   under way, marking STEP_WORK times the young_step bytes the fill may hand
   out (or the size asked for, if larger: a large object), so marking
   outpaces allocation and each collection ends; until it does, new
   objects go only into segments it did not condemn (avail_hole), which it
   neither marks nor sweeps, and an AP gets at most young_step bytes at a
   time. Should allocation still reach twice young_size
   meanwhile, the collection finishes at once (not at young_size: a single
   large object would then force a final pause that drains half the young
   generation). */
#define STEP_WORK 4
static kiln_res_t ms_fill(char **base_o, char **limit_o, pool_t pool, ap_t *ap, size_t size)
{
  ms_t *ms = ms_of(pool);
  kiln_arena_t arena = pool->arena;
  (void)ap;
  int may_collect = arena->park_depth == 0 && !arena->collecting;
  if (ms->inc && may_collect) {
    if (ms->young >= 2 * ms->young_size)
      trace_inc_finish(arena);
    else
      trace_inc_step(arena, STEP_WORK * (size > ms->young_step ? size : ms->young_step));
  } else if (ms->young_size > 0 && ms->young >= ms->young_size && may_collect) {
    if (ms->young_step > 0)
      trace_inc_start(arena, pool);
    else
      trace_collect(arena, pool, 1);
  }
  kiln_res_t res = size >= ms->large_size /* the new object is written without a barrier */
                       ? fill_large(base_o, limit_o, ms, size, ZONES_ALL)
                       : fill_small(base_o, limit_o, ms, size);
  if (res != KILN_OK)
    return res;
  ms->young += (size_t)(*limit_o - *base_o);
  if (ms->inc) /* here, not in ap.c: a gen pool's pretenuring APs fill here too
                  (gen.c, fill_pretenured) */
    trace_note_alloc(arena, (uintptr_t)*base_o, (uintptr_t)*limit_o);
  return res;
}

/* Promotion allocates object by object during a trace, so it bumps through
   one hole at a time (the promotion buffer) instead of searching bitmaps
   per object. The buffer lives for one trace (epoch = collection count):
   afterwards the mutator's APs may take the rest of that hole. */
static kiln_res_t promo_space(ms_t *ms, size_t n, char **base_o)
{
  uint64_t epoch = ms->pool.arena->stats.collections;
  ms_seg_t *h = ms->promo_seg;
  if (h == NULL || ms->promo_epoch != epoch || ms->promo_next + n > ms->promo_limit) {
    size_t first, len;
    h = avail_hole(ms, n, &first, &len);
    if (h == NULL) {
      kiln_res_t res = mseg_new(&h, ms, ms->seg_size, 0);
      if (res != KILN_OK)
        return res;
      find_hole(h, n, &first, &len);
    }
    h->cursor = first; /* what promotion leaves of the hole stays findable */
    ms->promo_seg = h;
    ms->promo_epoch = epoch;
    ms->promo_next = first;
    ms->promo_limit = first + len;
  }
  bits_set(h->alloc, ms->promo_next, n, 1);
  *base_o = (char *)h->seg.base + (ms->promo_next << ms->shift);
  ms->promo_next += n;
  return KILN_OK;
}

/* Sticky mark bits: an object promoted outside this pool's collections is
   old at once (marked), so its references to young objects of this pool
   must be remembered as a store through kiln_write would (pool comment). */
static void tenure_promoted(ms_t *ms, ms_seg_t *s, size_t g, char *base, size_t size)
{
  if (s->large)
    s->marked = 1;
  else
    bits_set(s->mark, g, grains_for(size, ms->shift), 1);
  ms->old_live += size;
  ms->old_objects++;
  arena_dirty_cards(ms->pool.arena, (uintptr_t)base, (uintptr_t)base + size);
}

/* Promotion from another pool during a trace: the object is live, so it is
   allocated and, if its segment is condemned in this trace, marked. */
static kiln_res_t ms_promote(void **block_o, pool_t pool, size_t size, trace_t *trace)
{
  ms_t *ms = ms_of(pool);
  char *base, *limit;
  if (size >= ms->large_size) {
    kiln_res_t res = fill_large(&base, &limit, ms, size, 0);
    if (res != KILN_OK)
      return res;
  } else {
    kiln_res_t res = promo_space(ms, grains_for(size, ms->shift), &base);
    if (res != KILN_OK)
      return res;
  }
  /* The copy may refer anywhere outside the white set; its references into
     the white set are fixed when it is scanned, and the trace adds their
     zones to this segment's summary then. */
  seg_t to = arena_seg_of(pool->arena, base);
  to->summary |= ~trace->white; /* never narrow it: the segment may hold unscanned
                                   new objects (fuzz/regress/api/gen-init-before-commit) */
  ms_seg_t *s = mseg(to);
  pool->st.in_use += size;
  if (!s->seg.white) {
    /* Not condemned: the object is live now, and scanning it (it will be
       grey) does not count non-condemned objects. */
    pool->st.live += size;
    pool->st.live_objects++;
  }
  size_t g = 0;
  if (s->large) {
    s->obj_size = size;
  } else {
    g = ((uintptr_t)base - s->seg.base) >> ms->shift;
    bit_set(s->starts, g);
  }
  if (s->seg.white)
    mark_first(s, g); /* condemned: the grey scan marks its extent and counts it */
  else if (ms->young_size > 0)
    tenure_promoted(ms, s, g, base, size);
  *block_o = base;
  return KILN_OK;
}

/* Set the start bits of the objects in grains [g, end) (see Allocation). */
static void parse_range(ms_t *ms, ms_seg_t *s, size_t g, size_t end)
{
  char *limit = (char *)s->seg.base + (end << ms->shift);
  for (char *obj = client_of(ms, s, g); obj - ms->header < limit; obj = pool_skip(&ms->pool, obj))
    bit_set(s->starts, (size_t)((uintptr_t)(obj - ms->header) - s->seg.base) >> ms->shift);
}

/* Before anything reads the start bitmap of a small segment. */
static void parse_lazy(ms_t *ms, ms_seg_t *s)
{
  for (unsigned i = 0; i < s->nlazy; i++)
    parse_range(ms, s, s->lazy[i][0], s->lazy[i][1]);
  s->nlazy = 0;
}

static void ms_empty(pool_t pool, ap_t *ap, char *base, char *init, char *limit)
{
  ms_t *ms = ms_of(pool);
  ms_seg_t *s = mseg(arena_seg_of(pool->arena, base));
  (void)ap;
  pool->st.in_use += (size_t)(init - base);
  if (ms->inc)
    ms->inc_in_use += (size_t)(init - base);
  size_t unused = (size_t)(limit - init);
  ms->young = ms->young > unused ? ms->young - unused : 0;
  if (s->large) {
    if (init == base)
      mseg_free(s); /* the reservation was never committed */
    else {
      s->obj_size = (size_t)(init - base);
      if (ms->inc)
        trace_scan_new(pool->arena, &s->seg, (uintptr_t)base, (uintptr_t)init);
    }
    return;
  }
  size_t g1 = ((uintptr_t)init - s->seg.base) >> ms->shift;
  size_t g2 = ((uintptr_t)limit - s->seg.base) >> ms->shift;
  bits_set(s->alloc, g1, g2 - g1, 0);
  if (g2 - g1 > 0 && g1 < s->cursor)
    s->cursor = g1; /* the tail is a hole again */
  if (init == base)
    return;
  size_t g0 = ((uintptr_t)base - s->seg.base) >> ms->shift;
  size_t ge = grains_for((uintptr_t)init - s->seg.base, ms->shift);
  if (s->nlazy == LAZY_MAX)
    parse_range(ms, s, g0, ge);
  else {
    s->lazy[s->nlazy][0] = (uint32_t)g0;
    s->lazy[s->nlazy++][1] = (uint32_t)ge;
  }
  if (ms->inc) /* committed, so initialised: see ms_fill */
    trace_scan_new(pool->arena, &s->seg, (uintptr_t)base, (uintptr_t)init);
}

/* Sticky mark bits: a minor collection starts from the old generation's
   figures (its objects stay marked and are not counted again); a full one
   forgets who is old, marks and cards alike (all survivors will be old). */
static void ms_condemn(pool_t pool, trace_t *trace)
{
  ms_t *ms = ms_of(pool);
  if (ms->young_size == 0)
    return;
  if (trace->minor) {
    pool->st.live = ms->old_live;
    pool->st.live_objects = ms->old_objects;
    ms->inc = trace->incremental;
    ms->inc_in_use = 0;
    if (ms->inc)
      ms->young = 0; /* what is allocated from now on is the next one's young */
    return;
  }
  kiln_arena_t arena = pool->arena;
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt) {
    ms_seg_t *s = mseg(SEG_OF_RING(node));
    if (s->large)
      s->marked = 0;
    else
      memset(s->mark, 0, bits_words(s->grains) * sizeof(uint64_t));
    size_t n;
    uint8_t *cards = arena_cards(arena, s->seg.base, s->seg.limit, &n);
    memset(cards, 0, n);
  }
}

static void ms_reclaimed(pool_t pool, trace_t *trace)
{
  ms_t *ms = ms_of(pool);
  /* What an incremental collection let the mutator allocate is young,
     unmarked and unswept: in use, and the next collection's young. */
  pool->st.in_use = pool->st.live + ms->inc_in_use;
  ms->old_live = pool->st.live - ms->kept_live;
  ms->old_objects = pool->st.live_objects - ms->kept_objects;
  if (!trace->incremental)
    ms->young = 0;
  ms->kept_live = ms->kept_objects = 0;
  ms->keep = KEEP_NONE;
  ms->inc = 0;
  ms->inc_in_use = 0;
}

/* A full collection follows: it clears the marks this one set, and counts
   what is live again. */
static void ms_abandoned(pool_t pool, trace_t *trace)
{
  ms_t *ms = ms_of(pool);
  (void)trace;
  ms->inc = 0;
  ms->inc_in_use = 0;
}

/* ---- segment class ---------------------------------------------------- */

static uint64_t ms_whiten(seg_t seg, trace_t *trace)
{
  (void)trace;
  return zones_of_range(seg->base, seg->limit);
}

/* Mark an object grey: only its first grain's bit, so fixing never touches
   the object itself (its cache miss is paid once, when it is scanned, and
   the trace prefetches it). Returns 0 if it was already marked. */
static int mark_first(ms_seg_t *s, size_t g)
{
  if (s->large) {
    if (s->marked)
      return 0;
    s->marked = 1;
    return 1;
  }
  if (bit_get(s->mark, g))
    return 0;
  bit_set(s->mark, g);
  return 1;
}

/* An ambiguous reference: the first grain of the live object containing
   ref, or (size_t)-1 if ref points at no object. Never trusts ref. */
static size_t ambig_object(ms_t *ms, ms_seg_t *s, uintptr_t ref)
{
  if (s->large)
    return s->obj_size != 0 && ref - s->seg.base < s->obj_size ? 0 : (size_t)-1;
  size_t g = (ref - s->seg.base) >> ms->shift;
  if (!bit_get(s->alloc, g))
    return (size_t)-1;
  parse_lazy(ms, s);
  return starts_object(&ms->pool, &s->seg, s->starts, ms->shift, ref);
}

static kiln_res_t ms_fix(seg_t seg, kiln_ss_t ss, void **ref_io)
{
  ms_t *ms = ms_of_seg(seg);
  ms_seg_t *s = mseg(seg);
  size_t g;
  if (ss_rank(ss) == KILN_RANK_AMBIG) {
    g = ambig_object(ms, s, (uintptr_t)*ref_io);
    if (g == (size_t)-1)
      return KILN_OK;
  } else {
    /* The trace marks exact references into small segments itself
       (seg->marks, published by mseg_new): only a large one's come here. */
    KILN_ASSERT(s->large);
    g = 0;
  }
  /* Markers (exact, so a large segment) claim it with one exchange. */
  if (ss_parallel(ss) ? __atomic_exchange_n(&s->marked, 1, __ATOMIC_RELAXED) == 0
                      : mark_first(s, g))
    trace_grey(ss_trace(ss), client_of(ms, s, g));
  return KILN_OK;
}


/* Young objects that only ambiguous references reach (trace.c,
   trace_scan_roots) may survive a minor collection without being tenured:
   the sweep leaves them unmarked, and the next minor collection sees them
   afresh. Such references are often stale (a dead variable's register),
   and tenuring what one reaches keeps a dead tree until the next full
   collection. All such objects of one collection are kept young, or
   none, so that no old object refers to a young one off a dirty card.
   None if they add up to more than half of young_size (a live structure
   that a local variable holds, as binary-trees builds: marking it at every
   minor collection would cost more than tenuring it), or if the last minor
   collection kept one of them young too (the reference outlived a
   collection: likely a real one), or if there is no memory to note them,
   or if the ephemeron fixpoint marked objects after them (trace->tenure_all:
   those would look kept too).
   What they are is found word by word after the sweep: the marks then,
   less the marks before the ambiguous roots were marked from (pre). */
static void ms_keep_begin(pool_t pool, trace_t *trace)
{
  ms_t *ms = ms_of(pool);
  (void)trace;
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt) {
    ms_seg_t *s = mseg(SEG_OF_RING(node));
    if (s->large) {
      s->pre_marked = s->marked;
    } else if (s->young && ms->keep != KEEP_NO) {
      size_t bytes = bits_words(s->grains) * sizeof(uint64_t);
      if ((s->pre = malloc(bytes)) == NULL)
        ms->keep = KEEP_NO;
      else
        memcpy(s->pre, s->mark, bytes);
    }
  }
}

static void ms_keep_end(pool_t pool, trace_t *trace)
{
  ms_t *ms = ms_of(pool);
  int again = 0;
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt) {
    ms_seg_t *s = mseg(SEG_OF_RING(node));
    if (s->large) {
      again |= s->large_was_kept && s->marked && !s->pre_marked;
    } else if (s->pre != NULL && s->was_kept != NULL) {
      for (size_t w = 0; w < bits_words(s->grains) && !again; w++)
        again = (s->mark[w] & ~s->pre[w] & s->was_kept[w]) != 0;
    }
    if (again)
      break;
  }
  if (ms->keep == KEEP_NO || again || trace->tenure_all || ms->kept_live > ms->young_size / 2) {
    ms->keep = KEEP_NO; /* all tenured, as counted */
    ms->kept_live = ms->kept_objects = 0;
    return;
  }
  ms->keep = KEEP_YES;
  trace->tenured -= ms->kept_live; /* ms_scan_obj counted them in both */
}

/* After the sweep: what this minor collection marked from ambiguous roots
   alone is young again (its marks are pre's), and noted as kept (pre is
   reused for it) for the next one. */
static void unkeep(ms_seg_t *s)
{
  uint64_t any = 0;
  for (size_t w = 0; w < bits_words(s->grains); w++) {
    uint64_t k = s->mark[w] & ~s->pre[w];
    s->mark[w] = s->pre[w];
    s->pre[w] = k;
    any |= k;
  }
  if (any != 0) {
    s->was_kept = s->pre;
    s->pre = NULL;
    s->young = 1; /* the next minor collection sweeps them */
  }
}

/* A grey object: mark the rest of its extent (for the sweep), count it
   live, scan it. */
static kiln_res_t ms_scan_obj(seg_t seg, kiln_ss_t ss, void *obj)
{
  ms_t *ms = ms_of_seg(seg);
  ms_seg_t *s = mseg(seg);
  void *next = pool_skip(&ms->pool, obj);
  size_t size = (size_t)((char *)next - (char *)obj);
  if (seg->white) {
    if (!s->large) {
      size_t g = ((uintptr_t)obj - ms->header - seg->base) >> ms->shift;
      size_t n = grains_for(size, ms->shift);
      int shared = ss_parallel(ss); /* markers set other bits of these words */
      if (s->nlazy > 0) /* it may be in an unparsed range, which the sweep drops */
        shared ? bit_set_shared(s->starts, g) : bit_set(s->starts, g);
      if (n > 1)
        shared ? bits_set_shared(s->mark, g, n) : bits_set(s->mark, g, n, 1);
    }
    trace_t *trace = ss_trace(ss);
    trace_count_live(trace, &ms->pool, size);
    trace->marked += size;
    trace->objects++;
    if (trace->minor) /* only a sticky pool is condemned by its own minor collection */
      trace->tenured += size;
    if (trace->keep_young) { /* reached from ambiguous roots alone (ms_keep_end);
                                the drain is serial then (fix.c, drain_all) */
      ms->kept_live += size;
      ms->kept_objects++;
    }
  }
  return pool_scan_one(&ms->pool, ss, obj, next);
}

typedef struct {
  kiln_ss_t ss;
  kiln_res_t res;
} scan_cl_t;

static void ms_walk(seg_t seg, void (*visit)(void *obj, void *closure), void *closure)
{
  ms_t *ms = ms_of_seg(seg);
  ms_seg_t *s = mseg(seg);
  if (s->large) {
    if (s->obj_size != 0)
      visit(client_of(ms, s, 0), closure);
    return;
  }
  parse_lazy(ms, s);
  for (size_t g = bits_find(s->starts, 0, s->grains, 1); g < s->grains;
       g = bits_find(s->starts, g + 1, s->grains, 1))
    visit(client_of(ms, s, g), closure);
}

static void scan_visit(void *obj, void *closure)
{
  scan_cl_t *cl = closure;
  ms_t *ms = ms_of_seg(arena_seg_of(ss_of(cl->ss)->arena, obj));
  if (cl->res == KILN_OK)
    cl->res = pool_scan_one(&ms->pool, cl->ss, obj, pool_skip(&ms->pool, obj));
}

static kiln_res_t ms_scan(seg_t seg, kiln_ss_t ss)
{
  scan_cl_t cl = {ss, KILN_OK};
  ms_walk(seg, scan_visit, &cl);
  return cl.res;
}

static void ms_reclaim(seg_t seg, trace_t *trace)
{
  ms_t *ms = ms_of_seg(seg);
  ms_seg_t *s = mseg(seg);
  int sticky = ms->young_size > 0; /* marks stay: the survivors are the old generation */
  if (s->large) {
    if (!s->marked && s->obj_size != 0) {
      mseg_free(s);
      return;
    }
    int kept = ms->keep == KEEP_YES && s->marked && !s->pre_marked;
    s->marked = sticky && s->marked && !kept;
    s->large_was_kept = kept;
    return;
  }
  /* A sticky pool's minor collection changes nothing in a segment no AP
     allocated in since the last sweep: its alloc bitmap is its marks. */
  if (trace->minor && !s->young)
    return;
  s->young = 0;
  s->nlazy = 0; /* every survivor's start bit was set when it was scanned */
  uint64_t keep = sticky ? ~(uint64_t)0 : 0;
  size_t words = bits_words(s->grains), live = 0;
  for (size_t w = 0; w < words; w++) {
    s->alloc[w] = s->mark[w];
    s->starts[w] &= s->mark[w];
    live |= s->mark[w];
    s->mark[w] &= keep;
  }
  free(s->was_kept); /* those not kept again are old now, or dead */
  s->was_kept = NULL;
  if (s->pre != NULL && ms->keep == KEEP_YES)
    unkeep(s);
  free(s->pre);
  s->pre = NULL;
  if (live == 0) {
    mseg_free(s);
    return;
  }
  s->cursor = 0;
  if (ring_empty(&s->avail))
    ring_append(&ms->avail, &s->avail);
}

static void *ms_survivor(seg_t seg, void *obj)
{
  ms_t *ms = ms_of_seg(seg);
  ms_seg_t *s = mseg(seg);
  if (s->large)
    return s->marked ? obj : NULL;
  size_t g = ((uintptr_t)obj - ms->header - seg->base) >> ms->shift;
  return bit_get(s->mark, g) ? obj : NULL;
}

/* Scan the objects overlapping [lo, hi): from the object containing lo
   (start bitmap, backwards) to the last one starting before hi. A white
   segment is a sticky pool's minor collection, which wants only the old
   (marked) objects: a young one is scanned if it is reached. */
static kiln_res_t ms_scan_range(seg_t seg, kiln_ss_t ss, uintptr_t lo, uintptr_t hi)
{
  ms_t *ms = ms_of_seg(seg);
  ms_seg_t *s = mseg(seg);
  int old_only = seg->white;
  if (s->large)
    return old_only && !s->marked ? KILN_OK : ms_scan(seg, ss);
  if (!old_only) /* unparsed ranges hold only young objects */
    parse_lazy(ms, s);
  size_t first = (lo - seg->base) >> ms->shift;
  size_t end = (hi - seg->base + ms->grain - 1) >> ms->shift;
  size_t g = bits_find_back(s->starts, first);
  if (g == (size_t)-1 || (old_only && !bit_get(s->mark, g)))
    g = old_only ? bits_find_both(s->starts, s->mark, first, s->grains)
                 : bits_find(s->starts, first, s->grains, 1);
  if (end > s->grains)
    end = s->grains;
  while (g < end) {
    void *obj = client_of(ms, s, g);
    kiln_res_t res = pool_scan_one(&ms->pool, ss, obj, pool_skip(&ms->pool, obj));
    if (res != KILN_OK)
      return res;
    g = old_only ? bits_find_both(s->starts, s->mark, g + 1, end)
                 : bits_find(s->starts, g + 1, end, 1);
  }
  return KILN_OK;
}

/* After a grey-stack overflow: each object the trace marked (or a pool
   promoted) into seg but could not push, scanned once as if popped. A
   large segment holds one object, so its grey_lost names it. */
static kiln_res_t ms_rescan(seg_t seg, kiln_ss_t ss)
{
  ms_t *ms = ms_of_seg(seg);
  ms_seg_t *s = mseg(seg);
  if (s->large)
    return ms_scan_obj(seg, ss, client_of(ms, s, 0));
  for (size_t g = bits_find(s->lost, 0, s->grains, 1); g < s->grains;
       g = bits_find(s->lost, g + 1, s->grains, 1)) {
    s->lost[g >> 6] &= ~((uint64_t)1 << (g & 63));
    kiln_res_t res = ms_scan_obj(seg, ss, client_of(ms, s, g));
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

/* Sticky mark bits: a young generation marked in place (pool.h). */
static int ms_sticky(pool_t pool) { return ms_of(pool)->young_size > 0; }

static const seg_class_t ms_seg_class = {
  .name = "ms", .size = sizeof(ms_seg_t), .whiten = ms_whiten, .fix = ms_fix,
  .scan_obj = ms_scan_obj, .scan = ms_scan, .reclaim = ms_reclaim, .walk = ms_walk,
  .survivor = ms_survivor, .scan_range = ms_scan_range, .rescan = ms_rescan};

/* A whole minor collection now (stress mode): an incremental one finishes
   the one under way, or starts one and finishes it, all its marking then
   in its final pause. */
static int ms_minor(pool_t pool)
{
  ms_t *ms = ms_of(pool);
  kiln_arena_t arena = pool->arena;
  if (ms->young_size == 0) /* no sticky mark bits: no young generation */
    return 0;
  if (ms->young_step == 0) {
    trace_collect(arena, pool, 1);
    return 1;
  }
  if (!ms->inc)
    trace_inc_start(arena, pool);
  trace_inc_finish(arena);
  return 1;
}

const struct kiln_class_s pool_class_ms = {
  .name = "ms", .doc = "automatic mark-sweep: non-moving, accepts ambiguous references",
  .size = sizeof(ms_t), .attr = CLASS_AUTO | CLASS_MARKERS, .params = ms_params, .init = ms_init,
  .finish = ms_finish, .fill = ms_fill, .empty = ms_empty, .condemn = ms_condemn,
  .reclaimed = ms_reclaimed, .abandoned = ms_abandoned, .promote = ms_promote,
  .keep_begin = ms_keep_begin, .keep_end = ms_keep_end, .sticky = ms_sticky,
  .minor = ms_minor};

kiln_class_t kiln_class_ms(void) { return &pool_class_ms; }
