/* copy.c -- automatic copying pool: evacuates reachable objects into fresh
 * to-space segments and gives from-space back to the arena after every
 * collection; ambiguous references pin whole segments (mostly-copying).
 *
 * Layout. Small objects are bump-allocated from the bottom of "small"
 * segments of `segment_size` bytes; a small segment's objects are packed
 * from its base up to `used` with no gaps, so it can be walked with the
 * format's skip, except a kept segment (below), which is walked through
 * its starts bitmap only. Objects of at least `large_size` bytes get a
 * segment of their own and are never copied: marked, then kept or freed
 * in place. Each small segment has two bitmaps outside it, one bit per
 * format grain (align):
 *   starts -- first grain of each object, exact below `starts_to` and built
 *             lazily (by walking) only when an ambiguous reference or a walk
 *             needs it; every copy sets its own bit, so to-space is current;
 *   mark   -- during a trace, first grain of each object kept in place in a
 *             nailed segment.
 * Bitmaps cost 2 bits per grain (3% of the segment for an 8-byte align).
 *
 * Allocation points. Each AP owns one small segment at a time (ap->priv:
 * the segment and the pool's epoch when claimed) and takes buffers from its
 * tail, each shorter than large_size: so an object of large_size or more
 * never fits the inline fast path and always reaches copy_fill, which gives
 * it a large segment. At empty the unused tail is simply handed back
 * (used := init), which works because a segment has at most one buffer out
 * and it is always the segment's tail. Condemning bumps the epoch, which
 * voids every AP's claim: after a collection APs continue in the last
 * to-space segment, then in new ones, never in from-space or a pinned one
 * while a new segment can be had; when none can, a fill (for an object of
 * any size) takes a buffer from a hole of a kept segment instead, which
 * may hold several such buffers at once and is never claimed (Holes).
 * A fill for another pool's AP (gen pretenuring into this pool) cannot use
 * ap->priv, which belongs to that pool: it gets exactly its size, from a
 * hole (below) if the object is small and a hole fits it, else from a
 * segment of its own, treated as large.
 *
 * Collection. Every segment of the pool is condemned. Fix of an exact
 * reference to a white small object: if isfwd gives its new address, update
 * the reference; otherwise copy it (size from skip) to the to-space segment
 * being filled, leave a forwarding marker (fwd), update the reference and
 * grey the copy with trace_grey. To-space segments are not white, so the
 * copy is never fixed again, and the engine scans it through this segment
 * class's scan_obj. Order: the engine's grey stack is LIFO (behind an
 * 8-entry prefetch window), so the copy made last is scanned almost next
 * and evacuation runs nearly depth-first: scanning an object copies its
 * children side by side, then descends into the last of them, so a subtree
 * lands in few pages, where Cheney's breadth-first scan spreads it across
 * all of to-space (the locality argument of Moon 1984 and of Wilson, Lam
 * and Moher 1991). It costs a word of grey stack per pending object, where
 * Cheney's scan pointer costs none. A Cheney scan would also need the
 * engine to let a pool scan its own to-space, which the segment protocol
 * has no call for. The order was chosen for those reasons, not measured
 * better.
 *
 * Descriptor format (core/desc_layout.h). With it, fix, size, copy and
 * forwarding are inline (poolutil.h, desc_scan_fused and copy_fix_desc):
 * no call into the format, none through kiln_ss_fix for references
 * between white copy segments; and copy_scan_obj scans the copies its
 * scan made itself, depth first (up to DESCENT_MAX at a time), instead of
 * pushing them for the drain, so the order above holds more strictly.
 *
 * Pinning. An ambiguous reference (rank KILN_RANK_AMBIG) that points at or
 * into an object of a white small segment nails the segment: the object is
 * marked in place (mark bitmap) and greyed, and so is every object of that
 * segment reached later, by exact references too, which are left unchanged.
 * At reclaim a nailed segment survives as a kept segment: the dead runs
 * between its marked objects and after the last one become format pads,
 * its starts bitmap becomes the mark bitmap, and `used` is the whole
 * segment. The pads are holes (below); at the first collection that does
 * not nail it, its survivors are copied out and it is freed.
 * The trace scans ambiguous roots before anything else, so every nail is
 * known before the first copy; an ambiguous reference to an object already
 * copied cannot happen (asserted).
 *
 * Trade-off of segment granularity (chosen) against object granularity:
 * nailing a segment costs one bit per segment, checked once per fix, and
 * leaves to-space free of holes, so allocation stays a bump and the pool
 * needs no free-space search. Its price is retention: one ambiguous word
 * keeps a whole segment, dead space included, until a collection in which
 * no ambiguous word points into it, so k false pointers may hold up to k x
 * segment_size bytes for one cycle, and objects that share a segment with a
 * pinned one do not move (they are not compacted). Pinning single objects
 * would copy their neighbours out but leave from-space segments full of
 * holes that only a hole-finding allocator (as in ms) could reuse, and would
 * put a per-object pin test on every exact fix. Ambiguous roots are few
 * (thread stacks) in the clients Kiln serves, so the segment wins; a smaller
 * segment_size reduces the retention.
 *
 * Promotion. The `promote` hook (gen's minor collections evacuating into
 * this pool) appends to the same to-space segment, which stays current
 * after a trace; collections flush every AP first, so even when an AP has
 * claimed that segment its tail is free while the hook runs. Cards: a
 * segment that is not condemned is scanned from the object under each run
 * of dirty cards (scan_range), found with the starts bitmap.
 *
 * Out of to-space. If no segment can be had for a copy (commit limit, or the
 * OS refuses), the object's segment is nailed as if pinned and the object
 * marked in place; the rest of the trace stops trying to copy. A collection
 * therefore never fails for want of memory; it just compacts less, and
 * still frees what died: segments with no survivor go back to the arena,
 * and the dead objects of the others become holes.
 *
 * Holes. Kept segments with free space are listed (cp->kept, rebuilt by
 * every reclaim of the pool). When no new segment can be had, an AP's fill
 * takes a buffer from the first hole big enough (first fit, a cursor per
 * segment so each is searched once between collections), and the promote
 * hook puts an object in one; so a pool full of segments that are each
 * half dead keeps allocating, like a mark-sweep pool, until a collection
 * frees whole segments and copying resumes: new segments are always
 * preferred to holes, and to-space is asked for afresh by every collection.
 * A hole buffer's objects enter starts when the AP gives it back, and its
 * unused rest becomes a pad again. A kept segment is scanned object by
 * object through starts and its pads are never read, because an AP
 * reservation that a collection trapped may still be written over one.
 *
 * Invariants (outside a trace): for a small segment that is not kept,
 * [base, base+used) is a sequence of committed objects, [base+used,
 * base+top) is the one outstanding AP buffer if any, and starts is exact
 * below starts_to <= used. For a kept segment, used = top = starts_to =
 * the segment's size, starts marks exactly its committed objects, and
 * every other byte lies in a pad (whose contents a trapped reservation
 * may have overwritten, so nothing reads them) or in an outstanding AP
 * buffer taken from a hole below hole_from. starts never marks a pad,
 * mark is all zero, and seg.nailed is zero. A kept segment not on
 * cp->kept offers no hole until the next collection.
 */
#include "config.h"
#include "pool.h"
#include "poolutil.h"

#include <stdlib.h>
#include <string.h>

typedef struct copy_seg_s {
  struct seg_s seg;
  int large;
  size_t used;           /* bytes from base of objects and pads */
  size_t top;            /* bytes from base handed out (used + an AP's buffer) */
  size_t starts_to;      /* starts is exact below this offset */
  size_t grains;
  uint64_t *starts, *mark; /* small segments; one allocation */
  size_t obj_size;       /* large segments: the object's extent (0: none yet) */
  int marked;            /* large segments */
  int kept;              /* small, kept by a nailing collection: its free space is
                            holes between objects, found through starts */
  size_t hole_from;      /* kept: no hole below this offset is offered again */
  struct copy_seg_s *next_kept; /* kept with holes: the pool's list */
} cseg_t;

typedef struct copy_s {
  struct kiln_pool_s pool;
  size_t grain, seg_size, large_size, header;
  size_t buf_max;        /* longest AP buffer: the last grain multiple below large_size */
  unsigned shift;
  uintptr_t epoch;       /* bumped at each condemn; AP claims of older epochs are void */
  cseg_t *to;            /* copies and promotions append here; never white */
  cseg_t *tail;          /* after a trace: `to`, offered to the first AP that fills */
  int no_to;             /* this trace could not get to-space: copy nothing more */
  cseg_t *kept;          /* kept segments that may still have holes (last reclaim) */
} copy_t;

enum { AP_SEG, AP_EPOCH }; /* ap->priv slots */

enum { P_FORMAT, P_SEGMENT_SIZE, P_LARGE_SIZE };
static const kiln_param_t copy_params[] = {
  {"format", KILN_ARGT_PTR, NULL, 0, 0,
   "the object format (kiln_fmt_create; needs fwd, isfwd, pad)"},
  {"segment_size", KILN_ARGT_SIZE, "256KB", 16384, 1u << 30,
   "bytes per small-object segment (also the unit an ambiguous reference pins)"},
  {"large_size", KILN_ARGT_SIZE, "32KB", 64, 1u << 30,
   "objects this big get their own segment and are never copied"},
  {NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};

static copy_t *copy_of(pool_t pool) { return (copy_t *)pool; }
static cseg_t *cseg(seg_t seg) { return (cseg_t *)seg; }
static copy_t *copy_of_seg(seg_t seg) { return copy_of(seg->pool); }

/* ---- objects ---------------------------------------------------------- */

static const kiln_format_t *fmt_of(copy_t *cp) { return &cp->pool.fmt->f; }
/* Client pointer of the object whose block starts at offset off. */
static void *client_at(copy_t *cp, cseg_t *s, size_t off)
{
  return (char *)s->seg.base + off + cp->header;
}
/* Grain of the block start of the object whose client pointer is obj. */
static size_t grain_of(copy_t *cp, cseg_t *s, const void *obj)
{
  return grain_index(&s->seg, obj, cp->shift, cp->header);
}

/* ---- segments --------------------------------------------------------- */

static const seg_class_t copy_seg_class;

static void cseg_free(cseg_t *s)
{
  free(s->starts);
  seg_free(&s->seg);
}

static kiln_res_t cseg_new(cseg_t **s_o, copy_t *cp, size_t bytes, int large)
{
  seg_t seg;
  kiln_res_t res = seg_alloc(&seg, &cp->pool, &copy_seg_class, bytes);
  if (res != KILN_OK)
    return res;
  cseg_t *s = cseg(seg);
  s->large = large;
  seg->summary = 0; /* empty: widened by whoever puts objects in (fill, to_alloc) */
  if (!large) {
    s->grains = seg_size(seg) >> cp->shift;
    size_t words = bits_words(s->grains);
    s->starts = calloc(2 * words, sizeof(uint64_t));
    if (s->starts == NULL) {
      seg_free(seg);
      return arena_errorf(cp->pool.arena, KILN_MEMORY, "copy: no memory for segment bitmaps");
    }
    s->mark = s->starts + words;
  }
  *s_o = s;
  return KILN_OK;
}

/* Make starts exact up to used by walking the objects past starts_to. The
   walked range never holds a pad: pads exist only below a nailed
   segment's starts_to (see keep_nailed). O(objects walked). */
static void starts_extend(copy_t *cp, cseg_t *s)
{
  for (size_t off = s->starts_to; off < s->used;) {
    bit_set(s->starts, off >> cp->shift);
    off += pool_obj_size(&cp->pool, client_at(cp, s, off));
  }
  s->starts_to = s->used;
}

/* ---- holes of kept segments ------------------------------------------ */

/* The first hole of at least size bytes at or after s->hole_from, as
   [*lo_o, *hi_o); 0 if there is none. A kept segment's starts mark every
   object and no pad, so a hole is the run of grains from the end of one
   object to the next start. The search moves hole_from past what it passes
   over, holes too small for this request included, so a segment is walked
   at most once between collections. */
static int find_hole(copy_t *cp, cseg_t *s, size_t size, size_t *lo_o, size_t *hi_o)
{
  size_t n = s->grains, g = s->hole_from >> cp->shift;
  while (g < n) {
    s->hole_from = g << cp->shift;
    if (bit_get(s->starts, g)) {
      g += pool_obj_size(&cp->pool, client_at(cp, s, g << cp->shift)) >> cp->shift;
      continue;
    }
    size_t end = bits_find(s->starts, g, n, 1);
    if (end > n)
      end = n;
    if ((end - g) << cp->shift >= size) {
      *lo_o = g << cp->shift;
      *hi_o = end << cp->shift;
      return 1;
    }
    g = end;
  }
  s->hole_from = seg_size(&s->seg);
  return 0;
}

/* A hole of at least size bytes in some kept segment, or NULL. Segments
   found to have none left leave the list until the next collection. */
static cseg_t *take_hole(copy_t *cp, size_t size, size_t *lo_o, size_t *hi_o)
{
  cseg_t **link = &cp->kept;
  while (*link != NULL) {
    cseg_t *s = *link;
    if (find_hole(cp, s, size, lo_o, hi_o))
      return s;
    if (s->hole_from >= seg_size(&s->seg))
      *link = s->next_kept;
    else
      link = &s->next_kept;
  }
  return NULL;
}

/* Take [lo, at) of the hole [lo, hi): what remains becomes a pad. */
static void hole_shrink(copy_t *cp, cseg_t *s, size_t at, size_t hi)
{
  if (at < hi)
    fmt_of(cp)->pad(client_at(cp, s, at), hi - at);
  s->hole_from = at;
}

/* An AP buffer in a hole: at least size bytes and at most max (>= size). */
static int fill_hole(char **base_o, char **limit_o, copy_t *cp, size_t size, size_t max)
{
  size_t lo, hi;
  cseg_t *s = take_hole(cp, size, &lo, &hi);
  if (s == NULL)
    return 0;
  size_t len = hi - lo < max ? hi - lo : max;
  hole_shrink(cp, s, lo + len, hi);
  s->seg.summary = ZONES_ALL; /* new objects are written without a barrier */
  *base_o = (char *)s->seg.base + lo;
  *limit_o = *base_o + len;
  return 1;
}

/* The block of one object of size bytes put in a hole by the collector
   (promotion), or NULL. */
static char *hole_alloc(copy_t *cp, size_t size, trace_t *trace)
{
  size_t lo, hi;
  cseg_t *s = take_hole(cp, size, &lo, &hi);
  if (s == NULL)
    return NULL;
  bit_set(s->starts, lo >> cp->shift);
  hole_shrink(cp, s, lo + size, hi);
  s->seg.summary |= ~trace->white; /* as in to_alloc */
  return (char *)s->seg.base + lo;
}

/* An AP gives back a buffer [base, limit) taken from a hole: record the
   objects committed in [base, init) in starts and pad the rest. */
static void empty_hole(copy_t *cp, cseg_t *s, char *base, char *init, char *limit)
{
  for (char *p = base; p < init; p += pool_obj_size(&cp->pool, p + cp->header))
    bit_set(s->starts, ((uintptr_t)p - s->seg.base) >> cp->shift);
  if (init < limit)
    fmt_of(cp)->pad(init + cp->header, (size_t)(limit - init));
}

/* ---- pool ------------------------------------------------------------- */

static kiln_res_t copy_init(pool_t pool, const pval_t *v)
{
  copy_t *cp = copy_of(pool);
  /* Objects are packed at the format's alignment, so that is the bitmap
     grain: a coarser one could see two objects start in one grain. */
  cp->grain = pool->fmt->f.align;
  cp->shift = (unsigned)__builtin_ctzll(cp->grain);
  cp->header = pool->fmt->f.header_size;
  cp->seg_size = v[P_SEGMENT_SIZE].size;
  cp->large_size = v[P_LARGE_SIZE].size;
  if (cp->large_size > cp->seg_size / 2)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "pool class 'copy': large_size (%zu) must be at most half of "
                        "segment_size (%zu)", cp->large_size, cp->seg_size);
  cp->buf_max = (cp->large_size - 1) & ~(cp->grain - 1);
  cp->epoch = 1;
  return KILN_OK;
}

static void copy_finish(pool_t pool)
{
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt)
    cseg_free(cseg(SEG_OF_RING(node)));
}

static kiln_res_t fill_large(char **base_o, char **limit_o, copy_t *cp, size_t size)
{
  cseg_t *s;
  kiln_res_t res = cseg_new(&s, cp, size, 1);
  if (res != KILN_OK)
    return res;
  s->seg.summary = ZONES_ALL; /* the new object is written without a barrier */
  seg_give(&s->seg, size, base_o, limit_o);
  return KILN_OK;
}

/* The AP's segment if its claim is current and it has room for size. */
static cseg_t *ap_seg(copy_t *cp, ap_t *ap, size_t size)
{
  cseg_t *s = (cseg_t *)ap->priv[AP_SEG];
  if (s == NULL || ap->priv[AP_EPOCH] != cp->epoch || seg_size(&s->seg) - s->top < size)
    return NULL;
  return s;
}

static kiln_res_t copy_fill(char **base_o, char **limit_o, pool_t pool, ap_t *ap, size_t size)
{
  copy_t *cp = copy_of(pool);
  /* An AP of another pool (gen pretenuring into this one) has priv slots
     that are not ours: its buffer holds its one object, in a hole if the
     object is small and a hole fits it (a segment of its own would be
     mostly waste), else in a segment of its own. */
  if (size >= cp->large_size || ap->pool != pool) {
    if (size < cp->large_size && fill_hole(base_o, limit_o, cp, size, size))
      return KILN_OK;
    kiln_res_t res = fill_large(base_o, limit_o, cp, size);
    return res == KILN_OK || fill_hole(base_o, limit_o, cp, size, size) ? KILN_OK : res;
  }
  cseg_t *s = ap_seg(cp, ap, size);
  if (s == NULL) {
    s = cp->tail;
    cp->tail = NULL;
    if (s == NULL || seg_size(&s->seg) - s->top < size) {
      kiln_res_t res = cseg_new(&s, cp, cp->seg_size, 0);
      if (res != KILN_OK)
        return fill_hole(base_o, limit_o, cp, size, cp->buf_max) ? KILN_OK : res;
    }
    ap->priv[AP_SEG] = (uintptr_t)s;
    ap->priv[AP_EPOCH] = cp->epoch;
  }
  KILN_ASSERT(s->used == s->top); /* one buffer per segment, given back at empty */
  size_t len = seg_size(&s->seg) - s->top;
  if (len > cp->buf_max)
    len = cp->buf_max;
  *base_o = (char *)s->seg.base + s->top;
  *limit_o = *base_o + len;
  s->top += len;
  s->seg.summary = ZONES_ALL; /* new objects are written without a barrier */
  return KILN_OK;
}

static void copy_empty(pool_t pool, ap_t *ap, char *base, char *init, char *limit)
{
  cseg_t *s = cseg(arena_seg_of(pool->arena, base));
  (void)ap;
  (void)limit;
  pool->st.in_use += (size_t)(init - base);
  if (s->large) {
    if (init == base)
      cseg_free(s); /* the reservation was never committed */
    else
      s->obj_size = (size_t)(init - base);
    return;
  }
  if (s->kept) {
    empty_hole(copy_of(pool), s, base, init, limit);
    return;
  }
  /* The buffer is the segment's tail, so its unused part is simply free. */
  KILN_ASSERT((uintptr_t)limit == s->seg.base + s->top);
  s->used = s->top = (size_t)((uintptr_t)init - s->seg.base);
}

static void copy_condemn(pool_t pool, trace_t *trace)
{
  copy_t *cp = copy_of(pool);
  (void)trace;
  cp->epoch++;
  cp->to = cp->tail = NULL;
  cp->kept = NULL; /* every segment is white now; reclaim lists the kept ones again */
  cp->no_to = 0;
}

static void copy_reclaimed(pool_t pool, trace_t *trace)
{
  copy_t *cp = copy_of(pool);
  (void)trace;
  pool->st.in_use = pool->st.live;
  cp->tail = cp->to; /* to stays too: later promotions append to it */
}

/* ---- tracing ---------------------------------------------------------- */

static void count_live(copy_t *cp, size_t size)
{
  cp->pool.st.live += size;
  cp->pool.st.live_objects++;
}

/* Keep obj in place: mark (once) and grey it. */
static void mark_in_place(copy_t *cp, cseg_t *s, void *obj, trace_t *trace)
{
  if (s->large) {
    if (s->marked)
      return;
    s->marked = 1;
  } else {
    size_t g = grain_of(cp, s, obj);
    if (bit_get(s->mark, g))
      return;
    bit_set(s->mark, g);
  }
  size_t size = pool_obj_size(&cp->pool, obj);
  count_live(cp, size);
  trace->marked += size;
  trace->objects++;
  trace_grey(trace, obj);
}

/* Room for size bytes at the end of the to-space segment, or NULL if it is
   full and a new one may not or cannot be had. Runs only inside a trace,
   when no AP holds a buffer, so the segment's tail is free even if an AP
   claimed it after the last collection. */
static char *to_alloc(copy_t *cp, size_t size, int may_grow)
{
  cseg_t *s = cp->to;
  if (s == NULL || seg_size(&s->seg) - s->top < size) {
    if (!may_grow || cseg_new(&s, cp, cp->seg_size, 0) != KILN_OK)
      return NULL;
    cp->to = s;
  }
  size_t off = s->top;
  KILN_ASSERT_HOT(s->used == off);
  /* starts is left as it is: the copies are contiguous objects past
     starts_to, which starts_extend walks if an ambiguous reference or a
     kept segment ever needs them exact. */
  s->used = s->top = off + size;
  /* The copy may refer anywhere outside the white set; its references into
     the white set are fixed when it is scanned (it is grey), and the trace
     adds their zones to the summary then. ZONES_ALL here would make the
     next minor collection scan every segment copied or promoted into. */
  s->seg.summary |= ~cp->pool.arena->trace->white;
  return (char *)s->seg.base + off;
}

/* Copy obj out of from-space segment s; return its new client pointer (or
   obj itself, nailed in place, when to-space is exhausted). */
static void *evacuate(copy_t *cp, cseg_t *s, void *obj, trace_t *trace)
{
  const struct kiln_type_s *t = cp->pool.fmt->desc ? desc_type_of(obj) : NULL;
  size_t size = t != NULL ? desc_size_typed(obj, t) : pool_obj_size(&cp->pool, obj);
  char *block = to_alloc(cp, size, !cp->no_to);
  if (block == NULL) {
    cp->no_to = 1;
    s->seg.nailed = 1;
    mark_in_place(cp, s, obj, trace);
    return obj;
  }
  void *copy = pool_move(&cp->pool, obj, block, size, t);
  count_live(cp, size);
  trace->copied += size;
  trace->objects++;
  trace_grey(trace, copy);
  return copy;
}

/* The client pointer of the object that ref points at or into, or NULL.
   Never trusts ref: it may be any word from a stack. */
static void *ambig_object(copy_t *cp, cseg_t *s, uintptr_t ref)
{
  size_t off = ref - s->seg.base;
  if (s->large)
    return off < s->obj_size ? client_at(cp, s, 0) : NULL;
  if (off >= s->used)
    return NULL;
  if (s->starts_to < s->used)
    starts_extend(cp, s);
  size_t g = starts_object(&cp->pool, &s->seg, s->starts, cp->shift, ref);
  return g == (size_t)-1 ? NULL : client_at(cp, s, g << cp->shift);
}

static kiln_res_t fix_ambig(copy_t *cp, cseg_t *s, trace_t *trace, uintptr_t ref)
{
  void *obj = ambig_object(cp, s, ref);
  if (obj == NULL)
    return KILN_OK;
  if (!s->large) {
    /* Ambiguous roots are scanned before anything is copied (trace.c), so
       a pinned object cannot have moved already. */
    KILN_ASSERT(fmt_of(cp)->isfwd(obj) == NULL);
    s->seg.nailed = 1;
  }
  mark_in_place(cp, s, obj, trace);
  return KILN_OK;
}

static kiln_res_t copy_fix(seg_t seg, kiln_ss_t ss, void **ref_io)
{
  copy_t *cp = copy_of_seg(seg);
  cseg_t *s = cseg(seg);
  if (ss_rank(ss) == KILN_RANK_AMBIG)
    return fix_ambig(cp, s, ss_trace(ss), (uintptr_t)*ref_io);
  void *obj = *ref_io;
  KILN_ASSERT_HOT(s->large ? (uintptr_t)obj == seg->base + cp->header
                           : (uintptr_t)obj - cp->header - seg->base < s->used);
  if (s->large) {
    mark_in_place(cp, s, obj, ss_trace(ss));
    return KILN_OK;
  }
  /* In a nailed segment most objects are unforwarded: test the mark first.
     An object copied before its segment was nailed for want of to-space
     still has a forwarding marker, so isfwd comes before marking. */
  if (seg->nailed && bit_get(s->mark, grain_of(cp, s, obj)))
    return KILN_OK;
  void *to = cp->pool.fmt->desc ? desc_forwarded(obj) : fmt_of(cp)->isfwd(obj);
  if (to != NULL)
    *ref_io = to;
  else if (seg->nailed)
    mark_in_place(cp, s, obj, ss_trace(ss));
  else
    *ref_io = evacuate(cp, s, obj, ss_trace(ss));
  return KILN_OK;
}

/* The `promote` hook: another pool's trace evacuates an object of size
   bytes into this one (gen's minor collections). Small objects go to the
   end of to-space, large ones to a segment of their own; neither is white,
   so the object survives this trace whether or not this pool is condemned. */
static kiln_res_t copy_promote(void **block_o, pool_t pool, size_t size, trace_t *trace)
{
  copy_t *cp = copy_of(pool);
  char *block;
  if (size >= cp->large_size) {
    cseg_t *s;
    kiln_res_t res = cseg_new(&s, cp, size, 1);
    if (res != KILN_OK) {
      if ((block = hole_alloc(cp, size, trace)) == NULL)
        return res;
    } else {
      s->obj_size = size;
      s->seg.summary = ~trace->white; /* as in to_alloc */
      block = (char *)s->seg.base;
    }
  } else if ((block = to_alloc(cp, size, 1)) == NULL &&
             (block = hole_alloc(cp, size, trace)) == NULL) {
    return KILN_LIMIT; /* the arena's error says why */
  }
  count_live(cp, size);
  pool->st.in_use += size;
  *block_o = block;
  return KILN_OK;
}

/* fix_desc (core/seg.h): the inline fix of an exact reference into the
   white segment seg, from desc_scan_fused (poolutil.h): forwarded, one
   load; an unforwarded small object of a segment that is not nailed,
   copied to the end of to-space while it has room. Everything else
   (large, nailed, a new to-space segment, or none to be had) takes
   copy_fix. */
static kiln_res_t copy_fix_desc(seg_t seg, kiln_ss_t pss, void **slot)
{
  ss_t *ss = ss_of(pss);
  copy_t *cp = copy_of_seg(seg);
  cseg_t *s = cseg(seg);
  uint64_t *o = *slot;
  void *to;
  cseg_t *d = cp->to;
  const struct kiln_type_s *t;
  size_t size;
  if (cp->pool.fmt->desc && (to = desc_forwarded(o)) != NULL) {
    /* copied already */
  } else if (!cp->pool.fmt->desc || s->large || seg->nailed || d == NULL ||
             (t = desc_type_of(o)) == NULL ||
             seg_size(&d->seg) - d->top < (size = desc_size_typed(o, t))) {
    kiln_res_t res = copy_fix(seg, pss, slot);
    ss->summary |= zone_of(*slot);
    return res;
  } else {
    KILN_ASSERT_HOT((uintptr_t)o - seg->base < s->used && d->used == d->top);
    trace_t *trace = ss->trace;
    char *block = (char *)d->seg.base + d->top;
    d->used = d->top += size;
    d->seg.summary |= ~trace->white; /* as in to_alloc */
    desc_copy_fwd(block, o, size);
    desc_prefetch_refs((uint64_t *)(void *)block, t);
    count_live(cp, size);
    trace->copied += size;
    trace->objects++;
    desc_grey(trace, &cp->pool, block);
    to = block;
  }
  *slot = to;
  ss->summary |= zone_of(to);
  return KILN_OK;
}

/* A grey object of a descriptor-format pool, and then, depth first, the
   copies into this pool that its scan made (desc_grey; up to DESCENT_MAX
   pending, more go to the grey stack): each is scanned here instead of
   going through the drain, and its segment's summary kept as the drain's
   scan_grey keeps it (fix.c). Those copies are in segments that are not
   white (to-space, or a hole or large segment promoted into), so none
   needs the cards an incremental collection keeps. */
static kiln_res_t copy_scan_obj(seg_t seg, kiln_ss_t pss, void *obj)
{
  pool_t pool = seg->pool;
  if (!desc_fast(pool, pss))
    return pool_scan_obj(pool, pss, obj);
  if (pool->descent != NULL) /* not nested today; flat if it ever is */
    return desc_scan_fused(pool, pss, obj, &copy_seg_class, copy_fix_desc);
  ss_t *ss = ss_of(pss);
  descent_t d;
  d.n = 0;
  pool->descent = &d;
  kiln_res_t res = desc_scan_fused(pool, pss, obj, &copy_seg_class, copy_fix_desc);
  uint64_t summary = ss->summary;
  int hit_new = ss->hit_new;
  while (res == KILN_OK && d.n > 0) {
    void *o = d.obj[--d.n];
    seg_t os = arena_seg_of(pool->arena, o);
    KILN_ASSERT_HOT(os != NULL && !os->white && os->klass == &copy_seg_class);
    ss->summary = 0;
    ss->hit_new = 0;
    res = desc_scan_fused(pool, pss, o, &copy_seg_class, copy_fix_desc);
    uintptr_t block = (uintptr_t)o - copy_of(pool)->header;
    os->summary |= remset_remember_young(pool->arena, os, block, block + 1, ss->summary, 0);
  }
  pool->descent = NULL;
  while (d.n > 0) /* after a failed scan: the drain's to scan, or to drop */
    trace_grey(ss->trace, d.obj[--d.n]);
  ss->summary = summary;
  ss->hit_new = hit_new;
  return res;
}

/* The objects of a kept segment that start in grains [g, end), one format
   scan each: its holes are never read, as an AP's reservation trapped by a
   collection may have written over the pad that fills one. */
static kiln_res_t scan_kept(copy_t *cp, cseg_t *s, kiln_ss_t ss, size_t g, size_t end)
{
  for (g = bits_find(s->starts, g, end, 1); g < end; g = bits_find(s->starts, g + 1, end, 1)) {
    kiln_res_t res = pool_scan_obj(&cp->pool, ss, client_at(cp, s, g << cp->shift));
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

/* A segment that is not condemned: one format scan over all its objects
   (the format's scan steps over pads); a kept one object by object. */
static kiln_res_t copy_scan(seg_t seg, kiln_ss_t ss)
{
  copy_t *cp = copy_of_seg(seg);
  cseg_t *s = cseg(seg);
  if (s->kept)
    return scan_kept(cp, s, ss, 0, s->grains);
  size_t bytes = s->large ? s->obj_size : s->used;
  if (bytes == 0)
    return KILN_OK;
  ss_trace(ss)->scanned += bytes;
  char *first = client_at(cp, s, 0);
  return pool_scan_range(&cp->pool, ss, first, first + bytes);
}

/* Dirty cards of a segment that is not condemned: one format scan from the
   object containing lo to the end of the last object that starts before hi
   (pads in between are the format's to step over). */
static kiln_res_t copy_scan_range(seg_t seg, kiln_ss_t ss, uintptr_t lo, uintptr_t hi)
{
  copy_t *cp = copy_of_seg(seg);
  cseg_t *s = cseg(seg);
  if (s->large)
    return copy_scan(seg, ss);
  if (lo >= seg->base + s->used)
    return KILN_OK;
  if (s->starts_to < s->used)
    starts_extend(cp, s);
  size_t n = s->used >> cp->shift;
  size_t first = bits_find_back(s->starts, (lo - seg->base) >> cp->shift);
  size_t hi_grain = (hi - seg->base + cp->grain - 1) >> cp->shift;
  if (s->kept)
    return scan_kept(cp, s, ss, first == (size_t)-1 ? 0 : first, hi_grain < n ? hi_grain : n);
  size_t last = bits_find(s->starts, hi_grain, n, 1);
  size_t from = first == (size_t)-1 ? 0 : first << cp->shift;
  size_t to = last < n ? last << cp->shift : s->used;
  ss_trace(ss)->scanned += to - from;
  return pool_scan_range(&cp->pool, ss, client_at(cp, s, from), client_at(cp, s, to));
}

static uint64_t copy_whiten(seg_t seg, trace_t *trace)
{
  (void)trace;
  seg->nailed = 0;
  return zones_of_range(seg->base, seg->limit);
}

/* A nailed segment survives, kept: pad the dead runs between its marked
   objects and after the last one, keep exactly the survivors' starts, and
   list it so that its holes can take objects while no segment can be had.
   O(segment bytes / grain / 64) words plus one skip per survivor. */
static void keep_nailed(copy_t *cp, cseg_t *s)
{
  size_t end = 0, live = 0, words = bits_words(s->grains), size = seg_size(&s->seg);
  for (size_t g = bits_find(s->mark, 0, s->grains, 1); g < s->grains;
       g = bits_find(s->mark, g + 1, s->grains, 1)) {
    size_t off = g << cp->shift;
    if (off > end)
      fmt_of(cp)->pad(client_at(cp, s, end), off - end);
    end = off + pool_obj_size(&cp->pool, client_at(cp, s, off));
    live += end - off;
  }
  if (end < size)
    fmt_of(cp)->pad(client_at(cp, s, end), size - end);
  memcpy(s->starts, s->mark, words * sizeof(uint64_t));
  memset(s->mark, 0, words * sizeof(uint64_t));
  s->used = s->top = s->starts_to = size;
  s->kept = 1;
  s->hole_from = 0;
  if (live < size) {
    s->next_kept = cp->kept;
    cp->kept = s;
  }
}

static void copy_reclaim(seg_t seg, trace_t *trace)
{
  cseg_t *s = cseg(seg);
  (void)trace;
  if (s->large) {
    if (!s->marked && s->obj_size != 0)
      cseg_free(s);
    else
      s->marked = 0;
    return;
  }
  if (!seg->nailed) {
    cseg_free(s); /* from-space: every survivor was copied out */
    return;
  }
  seg->nailed = 0;
  keep_nailed(copy_of_seg(seg), s);
}

static void copy_walk(seg_t seg, void (*visit)(void *obj, void *closure), void *closure)
{
  copy_t *cp = copy_of_seg(seg);
  cseg_t *s = cseg(seg);
  if (s->large) {
    if (s->obj_size != 0)
      visit(client_at(cp, s, 0), closure);
    return;
  }
  if (s->starts_to < s->used)
    starts_extend(cp, s);
  size_t n = s->used >> cp->shift;
  for (size_t g = bits_find(s->starts, 0, n, 1); g < n; g = bits_find(s->starts, g + 1, n, 1))
    visit(client_at(cp, s, g << cp->shift), closure);
}

/* Weak references (during the trace, before reclaim). */
static void *copy_survivor(seg_t seg, void *obj)
{
  copy_t *cp = copy_of_seg(seg);
  cseg_t *s = cseg(seg);
  if (s->large)
    return s->marked ? obj : NULL;
  void *to = fmt_of(cp)->isfwd(obj);
  if (to != NULL)
    return to;
  return seg->nailed && bit_get(s->mark, grain_of(cp, s, obj)) ? obj : NULL;
}

/* After a grey-stack overflow. A white segment's unpushed objects are
   among those marked in place; any other segment (to-space, or a hole or
   large segment promoted into) is scanned whole, its objects all live.
   copy_scan_obj counts nothing but work, so scanning an object twice is
   harmless. */
static kiln_res_t copy_rescan(seg_t seg, kiln_ss_t ss)
{
  copy_t *cp = copy_of_seg(seg);
  cseg_t *s = cseg(seg);
  if (!seg->white)
    return copy_scan(seg, ss);
  if (s->large)
    return s->marked ? copy_scan_obj(seg, ss, client_at(cp, s, 0)) : KILN_OK;
  for (size_t g = bits_find(s->mark, 0, s->grains, 1); g < s->grains;
       g = bits_find(s->mark, g + 1, s->grains, 1)) {
    kiln_res_t res = copy_scan_obj(seg, ss, client_at(cp, s, g << cp->shift));
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

static const seg_class_t copy_seg_class = {
  .name = "copy", .size = sizeof(cseg_t), .whiten = copy_whiten, .fix = copy_fix,
  .scan_obj = copy_scan_obj, .scan = copy_scan, .reclaim = copy_reclaim, .walk = copy_walk,
  .survivor = copy_survivor, .scan_range = copy_scan_range, .rescan = copy_rescan,
  .fix_desc = copy_fix_desc};

const struct kiln_class_s pool_class_copy = {
  .name = "copy",
  .doc = "automatic copying: evacuates survivors, pins segments held by ambiguous references",
  .size = sizeof(copy_t), .attr = CLASS_AUTO | CLASS_MOVING, .params = copy_params,
  .init = copy_init, .finish = copy_finish, .fill = copy_fill, .empty = copy_empty,
  .condemn = copy_condemn, .reclaimed = copy_reclaimed, .promote = copy_promote};

kiln_class_t kiln_class_copy(void) { return &pool_class_copy; }
