/* object.c -- the client's view of its objects through their format: one
 * object's size (kiln_obj_size), a walk over a pool's objects
 * (kiln_pool_walk), and a derived pointer fixed with its base
 * (kiln_ss_fix_derived).
 *
 * A walk visits what the pool's segment class walk method visits: every
 * committed object, never a pad nor a forwarded object (seg.h). It runs
 * from the mutator only, outside any collection: it finishes an
 * incremental collection under way (its segments hold white and grey
 * objects) and gives every allocation point's buffer back to its pool
 * first (as a collection does), so the objects committed in those buffers
 * are walked too, and keeps the arena parked while the client's function
 * runs, so no collection moves or frees an object under the walk.
 */
#include "config.h"
#include "pool.h"
#include "trace.h"

static const char *why_not_formatted(kiln_arena_t arena, const void *obj)
{
  seg_t seg = arena_seg_of(arena, obj);
  if (seg == NULL)
    return "is not in the arena's heap (no segment holds it)";
  if (!(seg->pool->klass->attr & CLASS_AUTO))
    return "is a block of a manual pool, which has no format to measure it with (its size "
           "is the one it was allocated with)";
  return NULL;
}

kiln_res_t kiln_obj_size(size_t *size_o, kiln_arena_t arena, void *obj)
{
  kiln_res_t res = api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_obj_size", "arena", 0);
  if (res != KILN_OK)
    return res;
  if (size_o == NULL)
    return arena_errorf(arena, KILN_PARAM, "kiln_obj_size: size_o is NULL; pass the address "
                        "of a size_t to receive the size");
  const char *why = why_not_formatted(arena, obj);
  if (why != NULL)
    return arena_errorf(arena, KILN_PARAM, "kiln_obj_size: the address %p %s; ask only about "
                        "objects of the arena's automatic pools", obj, why);
  pool_t pool = arena_seg_of(arena, obj)->pool;
  const kiln_format_t *f = &pool->fmt->f;
  if (((uintptr_t)obj - f->header_size) % f->align != 0)
    return arena_errorf(arena, KILN_PARAM, "kiln_obj_size: the address %p is not an object of "
                        "pool %p (%s): its block would start off the format's %zu-byte "
                        "alignment; pass the client pointer kiln_reserve's block gave",
                        obj, (void *)pool, pool->klass->name, f->align);
  *size_o = (size_t)((char *)pool_skip(pool, obj) - (char *)obj);
  return KILN_OK;
}

typedef struct walk_cl_s {
  pool_t pool;
  kiln_walk_fn fn;
  void *closure;
} walk_cl_t;

static void walk_visit(void *obj, void *closure)
{
  walk_cl_t *cl = closure;
  cl->fn(obj, (size_t)((char *)pool_skip(cl->pool, obj) - (char *)obj), cl->closure);
}

kiln_res_t kiln_pool_walk(kiln_pool_t pool, kiln_walk_fn fn, void *closure)
{
  kiln_res_t res = api_handle(pool, API_SIG(pool), SIG_POOL, "kiln_pool_walk", "pool", 0);
  if (res != KILN_OK)
    return res;
  kiln_arena_t arena = pool->arena;
  if (fn == NULL)
    return arena_errorf(arena, KILN_PARAM, "kiln_pool_walk: fn is NULL; pass the function to "
                        "call for each object of pool %p", (void *)pool);
  if (!(pool->klass->attr & CLASS_AUTO))
    return arena_errorf(arena, KILN_PARAM, "kiln_pool_walk: pool %p is of class %s, a manual "
                        "pool, which keeps no format to find its blocks with; walk only "
                        "automatic pools (ms, copy, gen)", (void *)pool, pool->klass->name);
  if (arena->collecting)
    return arena_errorf(arena, KILN_PARAM, "kiln_pool_walk: pool %p's arena is collecting; "
                        "walk from the mutator, not from a scan or format function",
                        (void *)pool);
  trace_inc_finish(arena);
  ap_flush_all(arena);
  arena->park_depth++;
  walk_cl_t cl = {pool, fn, closure};
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt) {
    seg_t seg = SEG_OF_RING(node);
    seg->klass->walk(seg, walk_visit, &cl);
  }
  arena->park_depth--;
  return KILN_OK;
}

/* The checked build's test of a derived pointer against its (fixed) base:
   it must point into the base's block or just past its end. */
static void check_derived(kiln_ss_t ss, const void *base, const void *derived)
{
  seg_t seg = arena_seg_of(ss_of(ss)->arena, base);
  if (seg == NULL || !(seg->pool->klass->attr & CLASS_AUTO))
    return;
  uintptr_t block = (uintptr_t)base - seg->pool->fmt->f.header_size;
  uintptr_t end = (uintptr_t)pool_skip(seg->pool, (void *)(uintptr_t)base) -
                  seg->pool->fmt->f.header_size;
  if ((uintptr_t)derived < block || (uintptr_t)derived > end)
    KILN_FAILF("kiln_ss_fix_derived: the derived pointer %p lies outside its base object %p "
               "(block %p..%p); a derived pointer must point into its base's object or just "
               "past its end", derived, base, (void *)block, (void *)end);
}

kiln_res_t kiln_ss_fix_derived(kiln_ss_t ss, void **base_io, void **derived_io)
{
  if (KILN_CHECKING && (ss == NULL || base_io == NULL || derived_io == NULL))
    api_misuse("kiln_ss_fix_derived: %s is NULL; call it from a scan with the scan state it "
               "was given and the addresses of a base and a derived pointer",
               ss == NULL ? "the scan state" : base_io == NULL ? "base_io" : "derived_io");
  void *base = *base_io;
  if (base == NULL || !KILN_FIX1(ss, base)) {
    if (KILN_CHECKING && base != NULL)
      check_derived(ss, base, *derived_io);
    return KILN_OK;
  }
  uintptr_t offset = (uintptr_t)*derived_io - (uintptr_t)base;
  kiln_res_t res = kiln_ss_fix(ss, base_io);
  if (*base_io != base)
    *derived_io = *base_io == NULL ? NULL : (void *)((uintptr_t)*base_io + offset);
  if (KILN_CHECKING && *base_io != NULL)
    check_derived(ss, *base_io, *derived_io);
  return res;
}
