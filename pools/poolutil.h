/* poolutil.h -- helpers the automatic pool classes share (internal to
 * pools/): an object's size through the format, grain arithmetic over a
 * segment, finding the object an address falls in from a starts bitmap,
 * scanning one object, and handing a new segment to an allocation point.
 *
 * The inline copy path (the end of this file) is for moving pools whose
 * format is the descriptor format: they read size, forwarding marker and
 * reference slots from the objects themselves (core/desc_layout.h).
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
#include "desc_layout.h"

#include <string.h>

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

/* ---- the inline copy path (descriptor-format objects) ------------------

   A moving pool whose format is the descriptor format scans a grey object
   and fixes its references in one pass (desc_scan_fused): the object's type
   gives its size and reference slots, a reference into a white segment
   goes to its class's fix_desc (forwarded: one load; else size, bump,
   copy, forward in two stores), a direct call for the pool's own class,
   and any other reference goes through kiln_ss_fix as a format scan would
   send it. This
   skips, per object, the format's scan and skip and, per reference,
   kiln_ss_fix and the class fix, isfwd, skip and fwd calls.

   Only the drain's exact scans take it, and only while the arena has no
   weak-rank object: such an object must be deferred (weak_defer) and its
   moves told to the weak tables (weak_moved), which the generic path does.
   A type with its own scan function, and a grey pad, are scanned by the
   format's scan. */
static inline int desc_fast(pool_t pool, kiln_ss_t pss)
{
  const ss_t *ss = ss_of(pss);
  KILN_ASSERT_HOT(!ss->verify); /* the verifier and the recorder never scan grey objects */
  return pool->fmt->desc && pool->arena->weak.count == 0 && ss->rank == KILN_RANK_EXACT;
}

/* The object o of the descriptor format: its header word as a type, or
   NULL for a forwarding marker or a pad. */
static inline const struct kiln_type_s *desc_type_of(const uint64_t *o)
{
  uint64_t h = o[0];
  return (h & DESC_TAG_MASK) == DESC_TAG_OBJ ? (const struct kiln_type_s *)(uintptr_t)h : NULL;
}

/* Where o was copied to, or NULL if it was not. */
static inline void *desc_forwarded(const uint64_t *o)
{
  uint64_t h = o[0];
  return (h & DESC_TAG_MASK) == DESC_TAG_FWD ? (void *)(uintptr_t)(h & ~(uint64_t)DESC_TAG_MASK)
                                             : NULL;
}

/* Copy the size bytes of o to block (both 8-aligned, size a multiple of 8,
   at least 16) and leave the forwarding marker: the moves of the common
   sizes are inline, with no call. */
static inline void desc_copy_fwd(void *block, uint64_t *o, size_t size)
{
  switch (size) {
  case 16: memcpy(block, o, 16); break;
  case 24: memcpy(block, o, 24); break;
  case 32: memcpy(block, o, 32); break;
  case 40: memcpy(block, o, 40); break;
  case 48: memcpy(block, o, 48); break;
  case 56: memcpy(block, o, 56); break;
  case 64: memcpy(block, o, 64); break;
  default: memcpy(block, o, size); break;
  }
  o[0] = (uint64_t)(uintptr_t)block | DESC_TAG_FWD;
  o[1] = size;
}

/* Prefetch the referents of the fixed part of the copy o of type t (at
   most the first four): they are fixed when o is scanned, which the LIFO
   grey stack makes soon, so their cache misses overlap the work between. */
static inline void desc_prefetch_refs(const uint64_t *o, const struct kiln_type_s *t)
{
  void *const *fixed = (void *const *)(o + desc_head_words(t));
  size_t n = t->nrefs < 4 ? t->nrefs : 4;
  for (size_t i = 0; i < n; i++)
    __builtin_prefetch(fixed[t->refs != NULL ? t->refs[i] : i]);
}

/* Move obj, an object of pool of size bytes (its header included), to
   block and leave its forwarding marker: inline for a descriptor-format
   object (t: its type), else by memcpy and the format's fwd. The weak
   tables learn of the move. Returns the copy's client pointer. */
static inline void *pool_move(pool_t pool, void *obj, char *block, size_t size,
                              const struct kiln_type_s *t)
{
  const kiln_format_t *f = &pool->fmt->f;
  void *copy = block + f->header_size;
  if (t != NULL) {
    desc_copy_fwd(copy, obj, size);
    desc_prefetch_refs(copy, t);
  } else {
    memcpy(block, (char *)obj - f->header_size, size);
    f->fwd(obj, copy);
  }
  if (pool->arena->weak.count != 0)
    weak_moved(pool->arena, obj, copy);
  return copy;
}

/* The copies a descriptor-format copy pool's copy_scan_obj scans itself,
   depth first, before it returns to the drain: copies into that pool made
   by the inline path while it scans (copy.c), found through the pool's
   descent field, NULL outside such a scan. */
#define DESCENT_MAX 64
typedef struct descent_s {
  size_t n;
  void *obj[DESCENT_MAX];
} descent_t;

/* Grey obj, just copied into pool `to`: kept for the scan under way in
   that pool to scan if it has room, else pushed on the grey stack. */
static inline void desc_grey(trace_t *trace, pool_t to, void *obj)
{
  descent_t *d = to->descent;
  if (d != NULL && d->n < DESCENT_MAX)
    d->obj[d->n++] = obj;
  else
    trace_grey(trace, obj);
}

/* A pool's inline fix of an exact reference into a white segment of its
   own class: the class's fix_desc (core/seg.h). */
typedef kiln_res_t (*desc_fix_fn)(seg_t seg, kiln_ss_t ss, void **ref_io);

/* Fix one reference slot of a grey object: into a white segment of klass
   through fix (a direct call the compiler may inline), of another class
   through its fix_desc if it has one, and anything else (a class without
   fix_desc, a segment that is not white, a reference outside the arena)
   as kiln_ss_fix would. */
static inline __attribute__((always_inline)) kiln_res_t
desc_fix_slot(ss_t *ss, void **slot, const seg_class_t *klass, desc_fix_fn fix)
{
  void *ref = *slot;
  if (!KILN_FIX1(&ss->pub, ref))
    return KILN_OK;
  seg_t seg = arena_seg_of(ss->arena, ref);
  if (seg == NULL)
    return KILN_OK;
  if (seg->white) {
    if (seg->klass == klass)
      return fix(seg, &ss->pub, slot);
    if (seg->klass->fix_desc != NULL)
      return seg->klass->fix_desc(seg, &ss->pub, slot);
  }
  return kiln_ss_fix(&ss->pub, slot);
}

/* Scan the grey object obj of pool (desc_fast holds) and fix its
   references, those into white segments of klass through fix. The
   referents of the fixed part are prefetched first, so their misses
   overlap each other and the scan. */
static inline __attribute__((always_inline)) kiln_res_t
desc_scan_fused(pool_t pool, kiln_ss_t pss, void *obj, const seg_class_t *klass, desc_fix_fn fix)
{
  ss_t *ss = ss_of(pss);
  uint64_t *o = obj;
  const struct kiln_type_s *t = desc_type_of(o);
  /* A pad is grey when an ambiguous reference nailed a reservation that a
     collection trapped and padded (ap.c): the format's scan skips it. */
  if (t == NULL || t->scan != NULL)
    return pool_scan_obj(pool, pss, obj);
  size_t size = desc_size_typed(o, t);
  ss->trace->scanned += size;
  void **fixed = (void **)(o + desc_head_words(t));
  size_t nrefs = t->nrefs;
  const size_t *refs = t->refs;
  if (refs == NULL) { /* the common layout: references first */
    for (size_t i = 0; i < nrefs; i++)
      __builtin_prefetch(fixed[i]);
    for (size_t i = 0; i < nrefs; i++) {
      kiln_res_t res = desc_fix_slot(ss, &fixed[i], klass, fix);
      if (res != KILN_OK)
        return res;
    }
  } else {
    for (size_t i = 0; i < nrefs; i++)
      __builtin_prefetch(fixed[refs[i]]);
    for (size_t i = 0; i < nrefs; i++) {
      kiln_res_t res = desc_fix_slot(ss, &fixed[refs[i]], klass, fix);
      if (res != KILN_OK)
        return res;
    }
  }
  if (t->elem_refs == 0)
    return KILN_OK;
  char *e = (char *)(fixed + t->fixed_words);
  for (size_t n = (size_t)o[1]; n > 0; n--, e += t->elem_size)
    for (size_t j = 0; j < t->elem_refs; j++) {
      kiln_res_t res = desc_fix_slot(ss, (void **)e + j, klass, fix);
      if (res != KILN_OK)
        return res;
    }
  return KILN_OK;
}

#endif
