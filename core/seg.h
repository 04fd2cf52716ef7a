/* seg.h -- the segment protocol: what the trace knows about memory.
 *
 * A segment is a run of arena pages owned by one pool. Its class says how
 * to trace it (docs/design.md, invariant 9: segments, not pools), so one
 * pool may own several kinds of segment. The trace reaches a segment's
 * behaviour only through its class; of the owning pool (seg->pool) it reads
 * only generic fields: its format, class attributes, sticky, and whether it
 * is the pool of the incremental collection under way. Segment descriptors live outside the segment (malloc'd, of the
 * class's `size`), so a segment's pages hold nothing but the client's data.
 *
 * Invariants:
 *  - every page of [base, limit) maps to this segment in the page table;
 *  - white is set only during a trace, for segments of condemned pools;
 *  - grey_lost is set only during a trace, and the trace's drain clears it
 *    (through the class's rescan) before the trace ends;
 *  - summary is a superset of the zones any reference in the segment points
 *    into, unless the segment was written since it was last scanned (then it
 *    is ZONES_ALL).
 */
#ifndef KILN_SEG_H
#define KILN_SEG_H

#include "arena.h"

typedef struct seg_class_s seg_class_t;
typedef struct kiln_pool_s *pool_t;

struct seg_s {
  /* First, so the two fields a manual pool's free reads (is it mine, which
     kind) share one cache line whatever malloc's alignment of the
     descriptor. */
  pool_t pool;
  const seg_class_t *klass;
  unsigned sig;
  uintptr_t base, limit;
  ring_t pool_ring;       /* in the owning pool's list of segments */
  uint64_t summary;       /* zones its references may point into */
  unsigned white : 1;     /* condemned in the current trace */
  unsigned nailed : 1;    /* pinned by an ambiguous reference (moving pools) */
  unsigned char grey_lost; /* holds an object the trace reached but could not push on
                              its full grey stack: its class's rescan finds it (a byte
                              of its own, which markers set at once) */
  /* Optional fast fix (NULL: always call klass->fix). A non-moving class
     that marks an object by one bit at its first grain may publish that
     bitmap: the trace then fixes an exact reference itself -- bit
     ((ref - mark_header - base) >> mark_shift), and a grey push when it
     was clear -- with no call into the class: one indirect call less per
     reference. */
  uint64_t *marks;
  size_t mark_header;
  unsigned mark_shift;
  /* Optional, with marks: a bitmap of the same geometry in which the trace
     sets the bit of an object it could not push (grey stack full), for a
     class whose rescan must scan each such object exactly once. */
  uint64_t *lost;
};

/* How the trace handles one kind of segment. Every function gets the
 * segment; pool-private state hangs off the segment's descriptor (class size
 * > sizeof(struct seg_s), the pool's struct starting with struct seg_s). */
struct seg_class_s {
  const char *name;
  size_t size;                                         /* descriptor size */
  /* Condemn: called once per trace for each segment of a condemned pool,
     after seg->white is set. Returns the zones of the white objects. */
  uint64_t (*whiten)(seg_t seg, trace_t *trace);
  /* Fix one reference into a white segment: mark or move, update *ref_io.
     ss knows the rank: an ambiguous reference must be validated (it may be
     interior or point at nothing) and must never be updated. */
  kiln_res_t (*fix)(seg_t seg, kiln_ss_t ss, void **ref_io);
  /* Scan one grey object (popped from the trace's grey stack). */
  kiln_res_t (*scan_obj)(seg_t seg, kiln_ss_t ss, void *obj);
  /* Scan every object of a non-condemned segment (it may point into white). */
  kiln_res_t (*scan)(seg_t seg, kiln_ss_t ss);
  /* After the trace: free white objects that were not reached. */
  void (*reclaim)(seg_t seg, trace_t *trace);
  /* Visit every committed object of the segment, never a pad nor a
     forwarded object (kiln_pool_walk, verification); outside a trace. */
  void (*walk)(seg_t seg, void (*visit)(void *obj, void *closure), void *closure);
  /* Weak references: the object's address after the trace, or NULL if it
     died (optional; NULL means the class has no weak support). */
  void *(*survivor)(seg_t seg, void *obj);
  /* Optional: scan the objects that overlap [lo, hi) of a non-condemned
     segment (dirty cards). Without it the whole segment is scanned. */
  kiln_res_t (*scan_range)(seg_t seg, kiln_ss_t ss, uintptr_t lo, uintptr_t hi);
  /* Required of a class that greys objects: the grey stack overflowed and
     an object of seg that the trace marked, pinned or copied there was not
     pushed (seg->grey_lost; its bit in seg->lost if published). Scan every
     such object of seg, as scan_obj would; objects scanned already may be
     scanned again only if that counts nothing twice. */
  kiln_res_t (*rescan)(seg_t seg, kiln_ss_t ss);
  /* Optional: fix an exact reference into seg (white) from the inline copy
     path of a moving pool (pools/poolutil.h, desc_scan_fused): the drain's
     exact scan, no weak-rank object in the arena. Like fix, and it also
     adds the zone of the reference it leaves to the scan state's summary,
     which kiln_ss_fix does after fix. */
  kiln_res_t (*fix_desc)(seg_t seg, kiln_ss_t ss, void **ref_io);
};
/* Class tables use designated initialisers, so a new optional method never
   disturbs existing classes. */

/* Allocate a segment of at least size bytes (rounded up to pages) for pool,
   with a descriptor of klass->size bytes (zeroed apart from the seg fields). */
kiln_res_t seg_alloc(seg_t *seg_o, pool_t pool, const seg_class_t *klass, size_t size);
void seg_free(seg_t seg);
/* Abort with a sentence naming the rule if seg breaks an invariant above
   (checked builds call it where the trace takes a segment). */
void seg_check(seg_t seg);
static inline size_t seg_size(seg_t seg) { return seg->limit - seg->base; }

#endif
