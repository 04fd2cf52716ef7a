/* verify.c -- the checked build's heap verifier (docs/design.md, §Checked build).
 *
 * verify_heap runs after every collection: it walks every object of every
 * automatic segment and checks each reference it holds: a reference into
 * the arena must land in a live segment, and never on an object that was
 * forwarded (a reference left pointing into from-space).
 *
 * verify_barrier runs before every minor collection, after the nursery is
 * condemned, and at an incremental one's final pause, after draining: a
 * reference from an older segment into the nursery must be held by an
 * object that overlaps a dirty card (the collector scans every object
 * overlapping a dirty card whole, and keeps a card dirty for an object
 * whose young referent survived in place, remset.c), or sit in a
 * segment whose summary admits the nursery's zones (it was allocated into
 * or promoted into since it was last scanned). Anything else is a store
 * that bypassed kiln_write. An object of weak rank the trace has already
 * deferred is not checked: its card was cleaned when it was scanned, and
 * the weak phase (weak.c) clears its references to young objects that
 * die and remembers the ones that stay. The object, not the slot, is what is checked:
 * a format's scan may fix a copy of the field (the slot address the fix
 * sees is then not in the heap).
 *
 * For a sticky pool (pool.h) the young objects are those its last
 * collection did not mark (or, at an incremental collection's final pause,
 * those this one has not marked either), and they share segments with the
 * old ones: an old object of the pool holding a young one must overlap a
 * dirty card (its segment's summary says nothing, as young objects live in
 * the same zones).
 *
 * Both report the object, slot and target and abort (checked builds only).
 */
#include "config.h"
#include "trace.h"
#include "weak.h"

#include <string.h>

enum { VERIFY_HEAP = 1, VERIFY_BARRIER = 2, VERIFY_STICKY = 3 };

static const char *seg_name(seg_t seg) { return seg ? seg->klass->name : "no segment"; }

/* Is a card overlapping the object (block start to skip) dirty? */
static int obj_card_dirty(kiln_arena_t arena, seg_t seg, void *obj)
{
  const kiln_format_t *f = &seg->pool->fmt->f;
  size_t n;
  const uint8_t *c = arena_cards(arena, (uintptr_t)obj - f->header_size,
                                 (uintptr_t)f->skip(obj), &n);
  for (size_t i = 0; i < n; i++)
    if (c[i])
      return 1;
  return 0;
}

/* Before a sticky pool's minor collection marks anything, an object of it
   is old if its mark survived the last collection (the class's survivor
   test reads the mark). */
static int is_old(seg_t seg, void *obj) { return seg->klass->survivor(seg, obj) != NULL; }

static void check_ref(ss_t *ss, void **slot, void *ref)
{
  kiln_arena_t arena = ss->arena;
  seg_t from = arena_seg_of(arena, slot);
  seg_t to = arena_seg_of(arena, ref);
  if (ss->verify == VERIFY_HEAP) {
    if (arena_has_addr(arena, ref) && to == NULL)
      KILN_FAILF("heap verify: object %p (segment %s) slot %p refers to %p, which is in no "
                 "segment (freed memory)", ss->obj, seg_name(from), (void *)slot, ref);
    if (to != NULL && (to->pool->klass->attr & CLASS_MOVING) && to->pool->fmt->f.isfwd(ref))
      KILN_FAILF("heap verify: object %p slot %p refers to %p in pool %s, which was moved "
                 "(a reference left in from-space)", ss->obj, (void *)slot, ref, to->pool->klass->name);
    return;
  }
  from = arena_seg_of(arena, ss->obj);
  if (to == NULL || !to->white || from == NULL)
    return;
  if (ss->trace != NULL && weak_is_deferred_slot(ss->trace, slot))
    return; /* a deferred ephemeron: the fixpoint or the weak phase settles it */
  if (ss->verify == VERIFY_STICKY && (!pool_sticky(to->pool) || is_old(to, ref)))
    return;
  if (!obj_card_dirty(arena, from, ss->obj) &&
      (ss->verify == VERIFY_STICKY || (from->summary & zone_of(ref)) == 0))
    KILN_FAILF("missing barrier: object %p (pool %s) slot %p holds young object %p on a clean "
               "card; the store did not go through kiln_write", ss->obj, from->pool->klass->name,
               (void *)slot, ref);
}

kiln_res_t verify_fix(ss_t *ss, void **ref_io)
{
  if (*ref_io != NULL)
    check_ref(ss, ref_io, *ref_io);
  return KILN_OK;
}

static void verify_obj(void *obj, void *closure)
{
  ss_t *ss = closure;
  if (ss->verify != VERIFY_HEAP && ss->trace != NULL && weak_is_deferred(ss->trace, obj))
    return;
  seg_t seg = arena_seg_of(ss->arena, obj);
  const kiln_format_t *f = &seg->pool->fmt->f;
  ss->obj = obj;
  (void)f->scan(&ss->pub, obj, f->skip(obj));
}

/* Old objects, and at an incremental collection's final pause (inc.c)
   also the black ones and those allocated since it started (in segments it
   did not condemn). */
static void verify_old_obj(void *obj, void *closure)
{
  ss_t *ss = closure;
  seg_t seg = arena_seg_of(ss->arena, obj);
  if (!seg->white || is_old(seg, obj))
    verify_obj(obj, closure);
}

static void verify_segs(kiln_arena_t arena, ss_t *ss, pool_t skip)
{
  ring_t *pn, *px, *sn, *sx;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (!(pool->klass->attr & CLASS_AUTO) || pool == skip)
      continue;
    POOL_SEGS(sn, pool, sx) {
      seg_t seg = SEG_OF_RING(sn);
      if (seg->klass->walk != NULL)
        seg->klass->walk(seg, verify_obj, ss);
    }
  }
}

void verify_heap(kiln_arena_t arena)
{
  ss_t ss = {.pub = {.white = ZONES_ALL, .zone_shift = ZONE_SHIFT}, .arena = arena,
             .rank = KILN_RANK_EXACT, .verify = VERIFY_HEAP};
  verify_segs(arena, &ss, NULL);
}

void verify_barrier(kiln_arena_t arena, trace_t *trace, pool_t young)
{
  ss_t ss = {.pub = {.white = trace->white, .zone_shift = ZONE_SHIFT}, .arena = arena,
             .trace = trace, .rank = KILN_RANK_EXACT, .verify = VERIFY_BARRIER};
  verify_segs(arena, &ss, young);
  if (young == NULL || !pool_sticky(young))
    return;
  ss.verify = VERIFY_STICKY;
  ring_t *sn, *sx;
  POOL_SEGS(sn, young, sx) {
    seg_t seg = SEG_OF_RING(sn);
    seg->klass->walk(seg, verify_old_obj, &ss);
  }
}
