/* mfs.c -- manual fixed-size pool: the template for a new pool class.
 *
 * Every block is one unit of `unit_size` bytes (rounded up to a multiple of
 * 8; units of a multiple of 16 bytes are 16-byte aligned). Segments of
 * `extend_by` bytes are carved lazily with a bump pointer, so fresh pages
 * are touched only when used. Each segment keeps its own LIFO free list and
 * a count of live units; segments with free units sit on the pool's
 * `partial` ring.
 *
 * Bounds: alloc and free are O(1). A segment whose last unit is freed goes
 * back to the arena, except one empty segment kept as a cache so a workload
 * that frees and reallocates a whole batch does not trade pages with the
 * arena each time.
 *
 * Checked build: a bitmap per segment records which units are live, so a
 * double free, a pointer that is not the start of a unit, a pointer from
 * another pool and a size that does not match unit_size are reported.
 */
#include "config.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

typedef struct mfs_seg_s {
  struct seg_s seg;
  void *free;            /* LIFO list of freed units */
  char *bump, *end;      /* never-used units: [bump, end) */
  size_t live;           /* units handed out and not freed */
  ring_t partial;        /* in mfs->partial while it has a free unit */
  uint64_t *livemap;     /* checked builds only: one bit per unit */
} mfs_seg_t;

typedef struct mfs_s {
  struct kiln_pool_s pool;
  size_t unit, requested, extend_by;
  ring_t partial;        /* segments with free or unbumped units */
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
  return KILN_OK;
}

static void mseg_release(mfs_seg_t *ms)
{
  ring_remove(&ms->partial);
  free(ms->livemap);
  seg_free(&ms->seg);
}

static void mfs_finish(pool_t pool)
{
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt)
    mseg_release(mseg_of(SEG_OF_RING(node)));
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
  if (KILN_CHECKING && (ms->livemap = calloc((units + 63) / 64, 8)) == NULL) {
    seg_free(seg);
    return arena_errorf(mfs->pool.arena, KILN_MEMORY, "mfs: no memory for the checking map");
  }
  ring_append(&mfs->partial, &ms->partial);
  *ms_o = ms;
  return KILN_OK;
}

static void mark_live(mfs_t *mfs, mfs_seg_t *ms, void *p, int live)
{
  size_t i = ((uintptr_t)p - ms->seg.base) / mfs->unit;
  if (live)
    ms->livemap[i / 64] |= (uint64_t)1 << (i % 64);
  else
    ms->livemap[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static kiln_res_t mfs_alloc(void **p_o, pool_t pool, size_t size)
{
  mfs_t *mfs = mfs_of(pool);
  if (size > mfs->unit)
    return arena_errorf(pool->arena, KILN_PARAM, "mfs: asked for %zu bytes; units are %zu bytes",
                        size, mfs->unit);
  mfs_seg_t *ms = NULL;
  kiln_res_t res;
  if (!ring_empty(&mfs->partial))
    ms = CONTAINER(mfs->partial.next, mfs_seg_t, partial);
  else if ((res = mfs_grow(mfs, &ms)) != KILN_OK)
    return res;
  void *p;
  if (ms->free != NULL) {
    p = ms->free;
    ms->free = *(void **)p;
  } else {
    p = ms->bump;
    ms->bump += mfs->unit;
  }
  if (ms->free == NULL && ms->bump == ms->end)
    ring_remove(&ms->partial);
  if (ms == mfs->cached)
    mfs->cached = NULL;
  ms->live++;
  pool->st.in_use += mfs->unit;
  pool->st.allocated += mfs->unit;
  pool->arena->stats.allocated += mfs->unit;
  if (KILN_CHECKING)
    mark_live(mfs, ms, p, 1);
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
  if (size_align_up(size, 8) != mfs->unit)
    pool_misuse(pool, "kiln_free(%p, %zu): size does not match unit_size %zu", p, size,
                mfs->requested);
}

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
    mark_live(mfs, ms, p, 0);
    memset(p, KILN_POISON_BYTE, mfs->unit);
  }
  if (ms->free == NULL && ms->bump == ms->end)
    ring_append(&mfs->partial, &ms->partial);
  *(void **)p = ms->free;
  ms->free = p;
  ms->live--;
  pool->st.in_use -= mfs->unit;
  if (ms->live == 0) {
    if (mfs->cached != NULL)
      mseg_release(mfs->cached);
    mfs->cached = ms;
  }
}

const struct kiln_class_s pool_class_mfs = {
  .name = "mfs", .doc = "manual pool of fixed-size units (O(1) alloc and free)",
  .size = sizeof(mfs_t), .attr = CLASS_MANUAL, .params = mfs_params, .init = mfs_init,
  .finish = mfs_finish, .alloc = mfs_alloc, .free = mfs_free};
