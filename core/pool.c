/* pool.c -- pool classes and pools: lookup, creation with validated
 * parameters, destruction, and the manual alloc/free entry points.
 *
 * Every argument to a pool passes param_resolve (param.c) here and nowhere
 * else, so the C API, plans and the CLI report the same errors.
 */
#include "config.h"
#include "final.h"
#include "param.h"
#include "pool.h"
#include "trace.h"
#include "weak.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Classes designed but not built yet answer NULL, and plans say so. */
kiln_class_t kiln_class_mfs(void) { return &pool_class_mfs; }
kiln_class_t kiln_class_mvff(void) { return &pool_class_mvff; }
/* kiln_class_ms is defined in pools/ms.c, kiln_class_copy in pools/copy.c. */
/* kiln_class_gen is defined in pools/gen.c. */

const kiln_class_t *kiln_classes(void)
{
  static kiln_class_t all[8];
  if (all[0] == NULL) {
    kiln_class_t (*const ctor[])(void) = {kiln_class_mfs, kiln_class_mvff, kiln_class_ms,
                                          kiln_class_copy, kiln_class_gen};
    size_t n = 0;
    for (size_t i = 0; i < sizeof ctor / sizeof ctor[0]; i++)
      if (ctor[i]() != NULL)
        all[n++] = ctor[i]();
    all[n] = NULL;
  }
  return all;
}

kiln_class_t kiln_class_lookup(const char *name)
{
  if (name == NULL)
    return NULL;
  for (const kiln_class_t *c = kiln_classes(); *c != NULL; c++)
    if (strcmp((*c)->name, name) == 0)
      return *c;
  return NULL;
}

/* A class has no signature (internal code may define classes): NULL is
   the one class these can tell is wrong. */
const char *kiln_class_name(kiln_class_t klass) { return klass ? klass->name : NULL; }
const char *kiln_class_doc(kiln_class_t klass) { return klass ? klass->doc : NULL; }
int kiln_class_is_automatic(kiln_class_t klass) { return klass && (klass->attr & CLASS_AUTO); }
const kiln_param_t *kiln_class_params(kiln_class_t klass) { return klass ? klass->params : NULL; }

int pool_check(pool_t pool)
{
  return pool != NULL && pool->sig == SIG_POOL && arena_check(pool->arena) && pool->klass != NULL;
}

void pool_misuse(pool_t pool, const char *fmt, ...)
{
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  KILN_FAILF("pool %p (%s): %s", (void *)pool, pool->klass->name, msg);
}

/* Automatic pools need a format; moving ones need fwd and isfwd too. */
static kiln_res_t check_format(kiln_arena_t arena, kiln_class_t klass, const pval_t *vals)
{
  size_t n = param_count(klass->params);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(klass->params[i].key, "format") != 0)
      continue;
    kiln_fmt_t fmt = vals[i].ptr;
    if (fmt == NULL || fmt->sig != SIG_FMT || fmt->arena != arena)
      return arena_errorf(arena, KILN_PARAM,
                          "pool class '%s': parameter 'format' must be a format of this arena "
                          "(kiln_fmt_create), got %s", klass->name, fmt == NULL ? "none" : "something else");
    if ((klass->attr & CLASS_MOVING) && (fmt->f.fwd == NULL || fmt->f.isfwd == NULL || fmt->f.pad == NULL))
      return arena_errorf(arena, KILN_PARAM,
                          "pool class '%s': moves objects, so its format needs fwd, isfwd and pad",
                          klass->name);
    return KILN_OK;
  }
  return KILN_OK;
}

static kiln_fmt_t format_of(kiln_class_t klass, const pval_t *vals)
{
  size_t n = param_count(klass->params);
  for (size_t i = 0; i < n; i++)
    if (strcmp(klass->params[i].key, "format") == 0)
      return vals[i].ptr;
  return NULL;
}

static kiln_res_t pool_create_locked(kiln_pool_t *pool_o, kiln_arena_t arena, kiln_class_t klass,
                            const kiln_arg_t args[])
{
  char err[ARENA_ERROR_MAX];
  pval_t vals[32];
  if (arena == NULL || arena->sig != SIG_ARENA)
    return kiln_set_error(KILN_PARAM, "kiln_pool_create: not an arena");
  if (pool_o == NULL || klass == NULL)
    return arena_errorf(arena, KILN_PARAM, "kiln_pool_create: %s is NULL",
                        pool_o == NULL ? "pool_o" : "the class (not built, or lookup failed)");
  if (param_resolve(vals, klass->params, args, "pool class", klass->name, err, sizeof err) !=
      KILN_OK)
    return arena_errorf(arena, KILN_PARAM, "%s", err);
  kiln_res_t res = check_format(arena, klass, vals);
  if (res != KILN_OK)
    return res;
  pool_t pool = calloc(1, klass->size);
  if (pool == NULL)
    return arena_errorf(arena, KILN_MEMORY, "pool class '%s': no memory for the pool",
                        klass->name);
  pool->arena = arena;
  pool->klass = klass;
  pool->fmt = format_of(klass, vals);
  ring_init(&pool->segs);
  ring_init(&pool->arena_ring);
  ring_init(&pool->caches);
  pool->sig = SIG_POOL;
  res = klass->init(pool, vals);
  if (res != KILN_OK) {
    pool->sig = SIG_DEAD;
    free(pool);
    return res;
  }
  if (pool->fmt != NULL)
    pool->fmt->pools++;
  ring_append(&arena->pools, &pool->arena_ring);
  *pool_o = pool;
  return KILN_OK;
}


static void pool_destroy_locked(kiln_pool_t pool)
{
  if (pool == NULL)
    return;
  if (api_handle(pool, pool->sig, SIG_POOL, "kiln_pool_destroy", "pool", 1) != KILN_OK)
    return;
  if (pool->arena->collecting) {
    api_misuse("kiln_pool_destroy: pool %p (%s): its arena is collecting; destroy it after "
               "the collection, not from a scan or skip function", (void *)pool, pool->klass->name);
    return;
  }
  if (pool->aps != 0)
    api_misuse("kiln_pool_destroy: pool %p (%s) still has %zu allocation point(s); destroy "
               "them first (kiln_ap_destroy): an allocation point of a destroyed pool can "
               "only be destroyed", (void *)pool, pool->klass->name, pool->aps);
  if (pool->arena->inc_pool == pool) /* its segments are about to go */
    (void)trace_inc_abandon(pool->arena);
  else
    trace_inc_finish(pool->arena);
  ap_orphan_for_pool(pool);
  cache_orphan_for_pool(pool);
  if (pool->arena->weak.count != 0)
    weak_forget_pool(pool->arena, pool);
  final_forget_pool(pool->arena, pool);
  pool->klass->finish(pool);
  /* finish frees what it knows; anything left is freed here. */
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt)
    seg_free(SEG_OF_RING(node));
  if (pool->fmt != NULL)
    pool->fmt->pools--;
  ring_remove(&pool->arena_ring);
  pool->sig = SIG_DEAD;
  memset(&pool->head, 0, sizeof pool->head); /* the inline paths now call the slow ones */
  arena_bury(pool->arena, pool);
}

/* NULL answers NULL (no pool, no class); anything else must be a pool. */
kiln_class_t kiln_pool_class(kiln_pool_t pool)
{
  if (pool == NULL ||
      api_handle(pool, pool->sig, SIG_POOL, "kiln_pool_class", "pool", 1) != KILN_OK)
    return NULL;
  return pool->klass;
}

kiln_arena_t kiln_pool_arena(kiln_pool_t pool)
{
  if (pool == NULL ||
      api_handle(pool, pool->sig, SIG_POOL, "kiln_pool_arena", "pool", 1) != KILN_OK)
    return NULL;
  return pool->arena;
}

void pool_sync(pool_t pool)
{
  if (pool->klass->sync != NULL)
    pool->klass->sync(pool);
}

void kiln_pool_stats(kiln_pool_t pool, kiln_pool_stats_t *stats_o)
{
  if (stats_o == NULL) {
    api_misuse("kiln_pool_stats: stats_o is NULL; pass a kiln_pool_stats_t to fill");
    return;
  }
  memset(stats_o, 0, sizeof *stats_o);
  if (api_handle(pool, API_SIG(pool), SIG_POOL, "kiln_pool_stats", "pool", 1) != KILN_OK)
    return;
  /* Locked: syncing writes the pool, and other threads may be using it. */
  arena_lock(pool->arena);
  pool_sync(pool);
  *stats_o = pool->st;
  stats_o->allocated += ap_open_bytes(pool->arena, pool);
  arena_unlock(pool->arena);
}

/* The external definitions of the inline kiln_alloc and kiln_free (kiln.h),
   for callers that do not inline them: dynamic calls, -O0 builds. */
extern kiln_res_t kiln_alloc(void **p_o, kiln_pool_t pool, size_t size);
extern void kiln_free(kiln_pool_t pool, void *p, size_t size);

kiln_res_t kiln_alloc_slow(void **p_o, kiln_pool_t pool, size_t size)
{
  if (pool != NULL && pool->sig == SIG_DEAD)
    return api_handle(pool, pool->sig, SIG_POOL, "kiln_alloc", "pool", 0);
  if (pool == NULL || pool->sig != SIG_POOL)
    return kiln_set_error(KILN_PARAM, "kiln_alloc: not a pool");
  if (p_o == NULL)
    return arena_errorf(pool->arena, KILN_PARAM, "kiln_alloc: p_o is NULL");
  if (pool->klass->alloc == NULL)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "kiln_alloc: pool class '%s' is automatic; allocate through an "
                        "allocation point (kiln_ap_create, kiln_reserve/kiln_commit)",
                        pool->klass->name);
  if (size == 0)
    return arena_errorf(pool->arena, KILN_PARAM, "kiln_alloc: size is 0 (pool class '%s')",
                        pool->klass->name);
  /* The class counts what it grants in pool->st and arena->stats. A
     shared pool is called under the arena lock (kiln_pool_share); shared
     is set while one thread uses the pool, so reading it here is safe. */
  if (!pool->shared)
    return pool->klass->alloc(p_o, pool, size);
  arena_lock(pool->arena);
  kiln_res_t res = pool->klass->alloc(p_o, pool, size);
  arena_unlock(pool->arena);
  return res;
}

void kiln_free_slow(kiln_pool_t pool, void *p, size_t size)
{
  if (api_handle(pool, API_SIG(pool), SIG_POOL, "kiln_free", "pool", 1) != KILN_OK || p == NULL)
    return;
  if (pool->klass->free == NULL) {
    api_misuse("kiln_free(%p): pool %p (%s) is automatic; its objects die when nothing "
               "refers to them, and kiln_free is for manual pools only", p, (void *)pool,
               pool->klass->name);
    return;
  }
  if (!pool->shared) {
    pool->klass->free(pool, p, size);
    return;
  }
  arena_lock(pool->arena);
  pool->klass->free(pool, p, size);
  arena_unlock(pool->arena);
}

/* The public entry point holds the arena lock (arena.h). */
kiln_res_t kiln_pool_create(kiln_pool_t *pool_o, kiln_arena_t arena, kiln_class_t klass, const kiln_arg_t args[])
{
  kiln_arena_t locked = arena_lock_live(arena_if_live(arena));
  kiln_res_t res = pool_create_locked(pool_o, arena, klass, args);
  arena_unlock_live(locked);
  return res;
}

/* The public entry point holds the arena lock (arena.h). */
void kiln_pool_destroy(kiln_pool_t pool)
{
  kiln_arena_t locked = arena_lock_live(pool != NULL && pool->sig == SIG_POOL ? pool->arena : NULL);
  pool_destroy_locked(pool);
  arena_unlock_live(locked);
}
