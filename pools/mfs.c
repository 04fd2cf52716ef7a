/* mfs.c -- manual fixed-size pool: the template for a new pool class.
 *
 * Every block is one unit of `unit_size` bytes (rounded up to a multiple of
 * 8; units of a multiple of 16 bytes are 16-byte aligned). Segments of
 * `extend_by` bytes are carved lazily with a bump pointer, a page's worth of
 * units at a time, so fresh pages are touched only when used. Each segment
 * keeps its own LIFO free list and a count of live units; segments with free
 * units sit on the pool's `partial` ring.
 *
 * The current segment: one segment at a time lends its free list to the
 * pool's public head (kiln.h, struct kiln_pool_head_s), so kiln_alloc pops
 * and kiln_free pushes a unit of that segment inline, with no call and no
 * page-table lookup (mimalloc's page-local free lists). Only frees of units
 * of other segments, and allocations when the list is empty, reach this
 * file. Checked builds leave the head's size and span 0, so every call is
 * checked here, but they use the same current segment.
 *
 * Invariants:
 *  - the current segment's free list is pool.head.free (its own `free` is
 *    NULL), and it is on no ring; its true live count is its `live` plus
 *    head.allocs minus head.frees, until mfs_sync folds them in;
 *  - every other segment with a free or unbumped unit is on `partial`;
 *  - after a sync, at most one segment has no live unit and is kept: the
 *    current one if it is empty, else `cached` (the last to empty), so a
 *    workload that frees and reallocates a whole batch does not trade pages
 *    with the arena each time.
 *
 * Bounds: alloc and free are O(1); a slow allocation carves at most a page
 * of units. Statistics are exact after mfs_sync, which kiln_pool_stats and
 * kiln_arena_stats call.
 *
 * Checked build: a bitmap per segment records which units are live, and an
 * array the size each live unit was allocated with, so a double free, a
 * pointer that is not the start of a unit, a pointer from another pool, a
 * size no allocation could have asked for (0, or more than unit_size) and a
 * size that is neither the allocation's nor the unit size are reported. It
 * carves one unit at a time, so `bump` marks exactly the units ever handed
 * out and a pointer past it is reported as never allocated.
 */
#include "config.h"
#include "pool.h"
#include "bits.h"

#include <stdlib.h>
#include <string.h>

typedef struct mfs_seg_s {
  struct seg_s seg;
  void *free;            /* LIFO list of freed units (NULL while current) */
  char *bump, *end;      /* never-used units: [bump, end) */
  size_t live;           /* units handed out and not freed (current: see above) */
  ring_t partial;        /* in mfs->partial while it has a free unit, unless current */
  uint64_t *livemap;     /* checked builds only: one bit per unit */
  uint32_t *sizes;       /* checked builds only: each live unit's requested size */
} mfs_seg_t;

typedef struct mfs_s {
  struct kiln_pool_s pool;
  size_t unit, requested, extend_by;
  ring_t partial;        /* other segments with free or unbumped units */
  mfs_seg_t *cur;        /* the current segment, or NULL */
  mfs_seg_t *cached;     /* one empty segment kept for reuse */
} mfs_t;

enum { P_UNIT_SIZE, P_EXTEND_BY };
static const kiln_param_t mfs_params[] = {
  {"unit_size", KILN_ARGT_SIZE, "64", 1, 1 << 20, "bytes in every block"},
  {"extend_by", KILN_ARGT_SIZE, "64KB", 4096, 1u << 30, "bytes in each segment taken from the arena"},
  {NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};

/* Manual segments are never traced: only a name and a descriptor size. */
static const seg_class_t mfs_seg_class = {.name = "mfs", .size = sizeof(mfs_seg_t)};

static mfs_t *mfs_of(pool_t pool) { return (mfs_t *)pool; }
static mfs_seg_t *mseg_of(seg_t seg) { return (mfs_seg_t *)seg; }

static kiln_res_t mfs_init(pool_t pool, const pval_t *v)
{
  mfs_t *mfs = mfs_of(pool);
  mfs->requested = v[P_UNIT_SIZE].size;
  mfs->unit = size_align_up(v[P_UNIT_SIZE].size, 8);
  mfs->extend_by = v[P_EXTEND_BY].size;
  if (mfs->extend_by < mfs->unit)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "pool class 'mfs': extend_by (%zu) is smaller than unit_size (%zu)",
                        mfs->extend_by, mfs->unit);
  ring_init(&mfs->partial);
  /* The inline paths serve every request up to the unit; span stays 0
     until there is a current segment. */
  pool->head.size = KILN_CHECKING ? 0 : mfs->unit;
  return KILN_OK;
}

static void mseg_release(mfs_seg_t *ms)
{
  ring_remove(&ms->partial);
  free(ms->livemap);
  free(ms->sizes);
  seg_free(&ms->seg);
}

static void mfs_finish(pool_t pool)
{
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt)
    mseg_release(mseg_of(SEG_OF_RING(node)));
  mfs_of(pool)->cur = mfs_of(pool)->cached = NULL;
}

/* ms has no live unit and is not current: keep it as the one empty segment,
   unless the current segment already is that. */
static void mseg_emptied(mfs_t *mfs, mfs_seg_t *ms)
{
  if (mfs->cur != NULL && mfs->cur->live == 0) {
    mseg_release(ms);
    return;
  }
  if (mfs->cached != NULL)
    mseg_release(mfs->cached);
  mfs->cached = ms;
}

/* Fold what the inline paths did into the current segment and the
   statistics, then apply the one-empty-segment rule. */
static void mfs_sync(pool_t pool)
{
  mfs_t *mfs = mfs_of(pool);
  struct kiln_pool_head_s *h = &pool->head;
  if (mfs->cur == NULL) /* nothing to fold: every count went through a segment */
    return;
  size_t allocs = h->allocs, frees = h->frees;
  h->allocs = h->frees = 0;
  mfs->cur->live += allocs - frees; /* modulo: the sum is never negative */
  pool->st.in_use += (allocs - frees) * mfs->unit;
  pool->st.allocated += allocs * mfs->unit;
  pool->arena->stats.allocated += allocs * mfs->unit;
  if (mfs->cur->live == 0 && mfs->cached != NULL) {
    mseg_release(mfs->cached);
    mfs->cached = NULL;
  }
}

/* Stop lending cur's list to the head. Pre: synced. */
static void mseg_retire(mfs_t *mfs)
{
  mfs_seg_t *ms = mfs->cur;
  struct kiln_pool_head_s *h = &mfs->pool.head;
  ms->free = h->free;
  h->free = NULL;
  if (!mfs->pool.shared) /* a shared pool's base and span stay 0: see mseg_adopt */
    h->base = h->span = 0;
  mfs->cur = NULL;
  if (ms->free != NULL || ms->bump < ms->end)
    ring_append(&mfs->partial, &ms->partial);
  if (ms->live == 0)
    mseg_emptied(mfs, ms);
}

/* Make ms the current segment. Pre: there is none. */
static void mseg_adopt(mfs_t *mfs, mfs_seg_t *ms)
{
  struct kiln_pool_head_s *h = &mfs->pool.head;
  ring_remove(&ms->partial);
  if (ms == mfs->cached)
    mfs->cached = NULL;
  h->free = ms->free;
  ms->free = NULL;
  /* Other threads' inline kiln_free reads base and span of a shared pool
     without the lock: they stay 0, unwritten, so every free is locked. */
  if (!mfs->pool.shared) {
    h->base = ms->seg.base;
    h->span = KILN_CHECKING ? 0 : seg_size(&ms->seg);
  }
  mfs->cur = ms;
}

static kiln_res_t mfs_grow(mfs_t *mfs, mfs_seg_t **ms_o)
{
  seg_t seg;
  kiln_res_t res = seg_alloc(&seg, &mfs->pool, &mfs_seg_class, mfs->extend_by);
  if (res != KILN_OK)
    return res;
  mfs_seg_t *ms = mseg_of(seg);
  size_t units = seg_size(seg) / mfs->unit;
  ms->bump = (char *)seg->base;
  ms->end = ms->bump + units * mfs->unit;
  ring_init(&ms->partial);
  if (KILN_CHECKING && ((ms->livemap = calloc(bits_words(units), 8)) == NULL ||
                        (ms->sizes = calloc(units, sizeof *ms->sizes)) == NULL)) {
    free(ms->livemap);
    seg_free(seg);
    return arena_errorf(mfs->pool.arena, KILN_MEMORY, "mfs: no memory for the checking map");
  }
  *ms_o = ms;
  return KILN_OK;
}

/* Put the next unbumped units of the current segment on the head's empty
   list: up to the end of the page the first one ends in (one unit in checked
   builds), linked in address order so fresh units are handed out upwards. */
static void mseg_carve(mfs_t *mfs)
{
  mfs_seg_t *ms = mfs->cur;
  uintptr_t bump = (uintptr_t)ms->bump, stop = bump + mfs->unit;
  if (!KILN_CHECKING) {
    stop = addr_align_up(stop, mfs->pool.arena->page_size);
    if (stop > (uintptr_t)ms->end)
      stop = (uintptr_t)ms->end;
  }
  size_t n = (stop - bump) / mfs->unit;
  void *list = NULL;
  for (size_t i = n; i-- > 0;) {
    void *u = ms->bump + i * mfs->unit;
    *(void **)u = list;
    list = u;
  }
  ms->bump += n * mfs->unit;
  mfs->pool.head.free = list;
}

/* The head's list is empty: refill it from the current segment's fresh
   units, or make another segment current. Pre: synced. */
static kiln_res_t mfs_refill(mfs_t *mfs)
{
  if (mfs->cur != NULL && mfs->cur->bump < mfs->cur->end) {
    mseg_carve(mfs);
    return KILN_OK;
  }
  if (mfs->cur != NULL)
    mseg_retire(mfs);
  mfs_seg_t *ms = NULL;
  if (!ring_empty(&mfs->partial)) {
    ms = CONTAINER(mfs->partial.next, mfs_seg_t, partial);
  } else {
    kiln_res_t res = mfs_grow(mfs, &ms);
    if (res != KILN_OK)
      return res;
  }
  mseg_adopt(mfs, ms);
  if (mfs->pool.head.free == NULL)
    mseg_carve(mfs);
  return KILN_OK;
}

/* Checked builds: record that unit p is live (allocated with size bytes)
   or free. */
static void mark_live(mfs_t *mfs, mfs_seg_t *ms, void *p, int live, size_t size)
{
  size_t i = ((uintptr_t)p - ms->seg.base) / mfs->unit;
  ms->sizes[i] = (uint32_t)size;
  if (live)
    ms->livemap[i / 64] |= (uint64_t)1 << (i % 64);
  else
    ms->livemap[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* The slow path of kiln_alloc: a bad size, an empty list, or a checked build. */
static kiln_res_t mfs_alloc(void **p_o, pool_t pool, size_t size)
{
  mfs_t *mfs = mfs_of(pool);
  struct kiln_pool_head_s *h = &pool->head;
  if (size > mfs->unit)
    return arena_errorf(pool->arena, KILN_PARAM, "mfs: asked for %zu bytes; units are %zu bytes",
                        size, mfs->unit);
  if (h->free == NULL) {
    mfs_sync(pool);
    kiln_res_t res = mfs_refill(mfs);
    if (res != KILN_OK)
      return res;
  }
  void *p = h->free;
  h->free = *(void **)p;
  h->allocs++; /* counted as the inline path counts */
  if (KILN_CHECKING)
    mark_live(mfs, mfs->cur, p, 1, size);
  *p_o = p;
  return KILN_OK;
}

/* Checked builds: is p a live unit of this pool, freed with the right size? */
static void mfs_check_free(mfs_t *mfs, seg_t seg, void *p, size_t size)
{
  pool_t pool = &mfs->pool;
  if (seg == NULL || seg->pool != pool)
    pool_misuse(pool, "kiln_free(%p): not a block of this pool", p);
  mfs_seg_t *ms = mseg_of(seg);
  size_t off = (uintptr_t)p - seg->base, i = off / mfs->unit;
  if (off % mfs->unit != 0 || (char *)p >= ms->bump)
    pool_misuse(pool, "kiln_free(%p): not the start of a block this pool gave out", p);
  if (!(ms->livemap[i / 64] >> (i % 64) & 1))
    pool_misuse(pool, "kiln_free(%p): double free (block already free)", p);
  if (size == 0 || size > mfs->unit) /* the same rule as mfs_alloc's */
    pool_misuse(pool, "kiln_free(%p, %zu): no block of this pool has that size (1 to %zu bytes)",
                p, size, mfs->unit);
  if (size != ms->sizes[i] && size != mfs->requested && size != mfs->unit)
    pool_misuse(pool, "kiln_free(%p, %zu): the block was allocated with %zu bytes; free it "
                "with that size (or the unit size, %zu)", p, size, (size_t)ms->sizes[i],
                mfs->requested);
}

/* The slow path of kiln_free: a unit of another segment than the current
   one, a foreign pointer, or a checked build. */
static void mfs_free(pool_t pool, void *p, size_t size)
{
  mfs_t *mfs = mfs_of(pool);
  seg_t seg = arena_seg_of(pool->arena, p);
  if (KILN_CHECKING)
    mfs_check_free(mfs, seg, p, size);
  else if (seg == NULL || seg->pool != pool)
    return; /* not ours: ignoring it is safer than corrupting a free list */
  mfs_seg_t *ms = mseg_of(seg);
  if (KILN_CHECKING) {
    mark_live(mfs, ms, p, 0, 0);
    memset(p, KILN_POISON_BYTE, mfs->unit);
  }
  if (ms == mfs->cur) { /* checked builds and shared pools: else the inline path takes these */
    *(void **)p = pool->head.free;
    pool->head.free = p;
    pool->head.frees++;
    return;
  }
  mfs_sync(pool); /* the empty-segment rule needs the current segment's count */
  if (ms->free == NULL && ms->bump == ms->end)
    ring_append(&mfs->partial, &ms->partial);
  *(void **)p = ms->free;
  ms->free = p;
  ms->live--;
  pool->st.in_use -= mfs->unit;
  if (ms->live == 0)
    mseg_emptied(mfs, ms);
}

/* Caches have one size class: every request up to the unit. */
static size_t mfs_cache_limit(pool_t pool, unsigned *shift_o)
{
  size_t unit = mfs_of(pool)->unit;
  unsigned shift = 0;
  while (((size_t)1 << shift) < unit)
    shift++;
  *shift_o = shift;
  return unit;
}

const struct kiln_class_s pool_class_mfs = {
  .name = "mfs", .doc = "manual pool of fixed-size units (O(1) alloc and free)",
  .size = sizeof(mfs_t), .attr = CLASS_MANUAL, .params = mfs_params, .init = mfs_init,
  .finish = mfs_finish, .alloc = mfs_alloc, .free = mfs_free, .sync = mfs_sync,
  .cache_limit = mfs_cache_limit};
