/* poolutil.h -- helpers the automatic pool classes share (internal to
 * pools/): an object's size through the format, grain arithmetic over a
 * segment, finding the object an address falls in from a starts bitmap,
 * scanning one object, and handing a new segment to an allocation point.
 *
 * A grain is 1 << shift bytes; grain g of a segment holds the block (the
 * object with its format header of `header` bytes) that starts at
 * seg->base + (g << shift), whose client pointer is header bytes further.
 */
#ifndef KILN_POOLUTIL_H
#define KILN_POOLUTIL_H

#include "pool.h"
#include "trace.h"
#include "bits.h"
#include "weak.h"

/* The size of obj, a client pointer of pool, as its format's skip says. */
static inline size_t pool_obj_size(pool_t pool, void *obj)
{
  return (size_t)((char *)pool_skip(pool, obj) - (char *)obj);
}

/* Grains needed for bytes. */
static inline size_t grains_for(size_t bytes, unsigned shift)
{
  return (bytes + ((size_t)1 << shift) - 1) >> shift;
}

/* The client pointer of the block at grain g of seg. */
static inline void *grain_client(seg_t seg, size_t g, unsigned shift, size_t header)
{
  return (char *)seg->base + (g << shift) + header;
}

/* The grain of the block of the client pointer obj in seg. */
static inline size_t grain_index(seg_t seg, const void *obj, unsigned shift, size_t header)
{
  return ((uintptr_t)obj - header - seg->base) >> shift;
}

/* The first grain of the object of pool in seg that ref points at or
   into, found by the last start bit at or before ref, or (size_t)-1.
   Never trusts ref (it may be any word from a stack): the caller has
   checked that it lies in the used part of seg. */
static inline size_t starts_object(pool_t pool, seg_t seg, const uint64_t *starts, unsigned shift,
                                   uintptr_t ref)
{
  size_t g = bits_find_back(starts, (ref - seg->base) >> shift);
  if (g == (size_t)-1)
    return (size_t)-1;
  void *obj = grain_client(seg, g, shift, pool->fmt->f.header_size);
  return ref < seg->base + (g << shift) + pool_obj_size(pool, obj) ? g : (size_t)-1;
}

/* Scan the object obj of pool that ends at next; counts the work. The
   exact trace defers an object of weak rank to the weak phase (weak.c). */
static inline kiln_res_t pool_scan_one(pool_t pool, kiln_ss_t ss, void *obj, void *next)
{
  ss_trace(ss)->scanned += (size_t)((char *)next - (char *)obj);
  if (pool->arena->weak.count != 0 && weak_defer(ss, obj))
    return KILN_OK;
  return pool->fmt->f.scan(ss, obj, next);
}

/* Scan the objects [lo, hi) of pool, deferring those of weak rank. */
static inline kiln_res_t pool_scan_range(pool_t pool, kiln_ss_t ss, void *lo, void *hi)
{
  if (pool->arena->weak.count != 0)
    return weak_scan_range(pool, ss, lo, hi);
  return pool->fmt->f.scan(ss, lo, hi);
}

/* Scan one object of pool (a grey object, or one of a kept range). */
static inline kiln_res_t pool_scan_obj(pool_t pool, kiln_ss_t ss, void *obj)
{
  return pool_scan_one(pool, ss, obj, pool_skip(pool, obj));
}

/* Hand the first size bytes of a new segment to an AP as its buffer. */
static inline void seg_give(seg_t seg, size_t size, char **base_o, char **limit_o)
{
  *base_o = (char *)seg->base;
  *limit_o = *base_o + size;
}

#endif
