/* cache.c -- per-thread caches in front of manual pools (kiln_cache_*),
 * and sharing a manual pool between threads (kiln_pool_share).
 *
 * A cache is the public head of kiln.h (struct kiln_cache_head_s: one LIFO
 * list per size class, each with the room it has left) and what the slow
 * paths need: its pool, the most blocks each list may hold, and its place
 * in the pool's ring of caches. The inline paths touch the head only; every
 * slow path holds the arena lock, which is also what serialises the pool
 * class's own alloc and free once the pool is shared, so the caches of
 * several threads refill and flush into one pool concurrently.
 *
 * Size classes: the pool class says the largest request a cache may serve
 * (limit) and the log2 of the distance between classes (class
 * cache_limit); list i holds blocks allocated from the pool with the
 * request min(i << shift, limit), which the class accepts back with any
 * size of that class, so a block needs no header and any cache of the pool
 * may take it.
 *
 * Refill and flush move half a list at a time: an empty list gets
 * (max + 1) / 2 blocks in one locked batch (the one asked for included),
 * and a full one keeps its max / 2 most recently freed blocks, the ones
 * likeliest to be in the processor's caches, and gives the rest back. A
 * thread that alternates allocating and freeing around either edge so
 * takes the lock at most once per max / 2 operations.
 *
 * Invariants:
 *  - list[i].free holds exactly max[i] - list[i].room blocks of class i;
 *  - a cache's blocks count as in use by its pool (the pool granted them);
 *  - limit is 0 in the checked build, so every call reaches the pool with
 *    its exact size and the pool's checks see every block, and 0 in an
 *    orphan (its pool destroyed), whose lists are empty.
 */
#include "config.h"
#include "param.h"
#include "pool.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

typedef struct cache_s {
  struct kiln_cache_head_s head; /* public prefix (kiln.h) */
  unsigned sig;
  pool_t pool;                   /* NULL once the pool is destroyed (an orphan) */
  kiln_arena_t arena;
  ring_t pool_ring;              /* in pool->caches */
  size_t max[KILN_CACHE_CLASSES]; /* the most blocks each list may hold */
} cache_t;

enum { P_CAPACITY };
static const kiln_param_t cache_params[] = {
  {"capacity", KILN_ARGT_SIZE, "32KB", 0, 1u << 30,
   "bytes of free blocks each size class of the cache may hold (0: none)"},
  {NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};

static cache_t *cache_of(kiln_cache_t c) { return (cache_t *)(void *)c; }

/* ---- sharing a pool ------------------------------------------------------ */

/* Pre: the arena lock is held. */
static kiln_res_t pool_share_locked(pool_t pool)
{
  if (pool->klass->alloc == NULL)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "kiln_pool_share: pool class '%s' is automatic; its allocation points "
                        "are per thread already", pool->klass->name);
  if (pool->shared)
    return KILN_OK;
  /* Fold in what the inline paths did, then close them: with size and
     span 0 every kiln_alloc and kiln_free takes the locked slow path. */
  pool_sync(pool);
  pool->head.size = 0;
  pool->head.span = 0;
  pool->shared = 1;
  return KILN_OK;
}

kiln_res_t kiln_pool_share(kiln_pool_t pool)
{
  kiln_res_t res = api_handle(pool, API_SIG(pool), SIG_POOL, "kiln_pool_share", "pool", 0);
  if (res != KILN_OK)
    return res;
  arena_lock(pool->arena);
  res = pool_share_locked(pool);
  arena_unlock(pool->arena);
  return res;
}

/* ---- refill and flush (arena lock held) ---------------------------------- */

/* The request list i's blocks were allocated with. */
static size_t class_request(const cache_t *c, size_t i)
{
  size_t req = i << c->head.shift;
  return req < c->head.limit ? req : c->head.limit;
}

/* Give the blocks of list i after its first keep back to the pool. */
static void list_trim(cache_t *c, size_t i, size_t keep)
{
  struct kiln_cache_list_s *l = &c->head.list[i];
  void **link = &l->free;
  for (size_t k = 0; k < keep && *link != NULL; k++)
    link = (void **)*link;
  void *b = *link;
  *link = NULL;
  size_t req = class_request(c, i);
  while (b != NULL) {
    void *next = *(void **)b;
    c->pool->klass->free(c->pool, b, req);
    l->room++;
    b = next;
  }
}

static void cache_flush_locked(cache_t *c)
{
  for (size_t i = 0; i < KILN_CACHE_CLASSES; i++)
    if (c->head.list[i].free != NULL)
      list_trim(c, i, 0);
}

/* Refill the empty list i: one block for the caller and up to half the
   list's room for later. */
static kiln_res_t refill(void **p_o, cache_t *c, size_t i)
{
  struct kiln_cache_list_s *l = &c->head.list[i];
  size_t req = class_request(c, i), want = (c->max[i] + 1) / 2;
  kiln_res_t res = c->pool->klass->alloc(p_o, c->pool, req);
  if (res != KILN_OK)
    return res;
  for (size_t k = 1; k < want; k++) {
    void *b;
    if (c->pool->klass->alloc(&b, c->pool, req) != KILN_OK)
      break; /* the caller has its block; the pool's limit stops the batch */
    *(void **)b = l->free;
    l->free = b;
    l->room--;
  }
  return KILN_OK;
}

/* ---- the entry points ---------------------------------------------------- */

kiln_res_t kiln_cache_create(kiln_cache_t *cache_o, kiln_pool_t pool, const kiln_arg_t args[])
{
  kiln_res_t res = api_handle(pool, API_SIG(pool), SIG_POOL, "kiln_cache_create", "pool", 0);
  if (res != KILN_OK)
    return res;
  if (cache_o == NULL)
    return arena_errorf(pool->arena, KILN_PARAM, "kiln_cache_create: cache_o is NULL");
  pval_t vals[1];
  char err[ARENA_ERROR_MAX];
  if (param_resolve(vals, cache_params, args, "kiln_cache_create", NULL, err, sizeof err) !=
      KILN_OK)
    return arena_errorf(pool->arena, KILN_PARAM, "%s", err);
  arena_lock(pool->arena);
  res = pool_share_locked(pool);
  if (res != KILN_OK) {
    arena_unlock(pool->arena);
    return res;
  }
  cache_t *c = calloc(1, sizeof *c);
  if (c == NULL) {
    arena_unlock(pool->arena);
    return arena_errorf(pool->arena, KILN_MEMORY, "kiln_cache_create: no memory for the cache");
  }
  c->pool = pool;
  c->arena = pool->arena;
  c->sig = SIG_CACHE;
  unsigned shift = 0;
  size_t limit = pool->klass->cache_limit != NULL ? pool->klass->cache_limit(pool, &shift) : 0;
  /* The classes must fit the public array. */
  if (limit > (size_t)(KILN_CACHE_CLASSES - 1) << shift)
    limit = (size_t)(KILN_CACHE_CLASSES - 1) << shift;
  c->head.shift = shift;
  c->head.round = ((size_t)1 << shift) - 1;
  for (size_t i = 1; i < KILN_CACHE_CLASSES && limit != 0; i++) {
    size_t req = (i << shift) < limit ? i << shift : limit;
    c->max[i] = vals[P_CAPACITY].size / req;
    c->head.list[i].room = c->max[i];
  }
  /* The checked build caches nothing, so the pool checks every call. */
  c->head.limit = KILN_CHECKING || vals[P_CAPACITY].size == 0 ? 0 : limit;
  ring_init(&c->pool_ring);
  ring_append(&pool->caches, &c->pool_ring);
  arena_unlock(pool->arena);
  *cache_o = (kiln_cache_t)(void *)c;
  return KILN_OK;
}

void kiln_cache_flush(kiln_cache_t cache)
{
  cache_t *c = cache_of(cache);
  if (api_handle(c, API_SIG(c), SIG_CACHE, "kiln_cache_flush", "cache", 1) != KILN_OK ||
      c->pool == NULL)
    return;
  arena_lock(c->arena);
  cache_flush_locked(c);
  arena_unlock(c->arena);
}

void kiln_cache_destroy(kiln_cache_t cache)
{
  cache_t *c = cache_of(cache);
  if (c == NULL ||
      api_handle(c, API_SIG(c), SIG_CACHE, "kiln_cache_destroy", "cache", 1) != KILN_OK)
    return;
  kiln_arena_t arena = c->arena;
  arena_lock(arena);
  if (c->pool != NULL) {
    cache_flush_locked(c);
    ring_remove(&c->pool_ring);
  }
  c->sig = SIG_DEAD;
  memset(&c->head, 0, sizeof c->head); /* the inline paths now call the slow ones */
  arena_bury(arena, c);
  arena_unlock(arena);
}

size_t kiln_cache_limit(kiln_cache_t cache)
{
  cache_t *c = cache_of(cache);
  if (api_handle(c, API_SIG(c), SIG_CACHE, "kiln_cache_limit", "cache", 1) != KILN_OK)
    return 0;
  return c->head.limit;
}

/* Hand-rolled checks first, as kiln_alloc_slow's: the inline path sends
   everything it cannot serve here, bad arguments included. */
kiln_res_t kiln_cache_alloc_slow(void **p_o, kiln_cache_t cache, size_t size)
{
  cache_t *c = cache_of(cache);
  kiln_res_t res = api_handle(c, API_SIG(c), SIG_CACHE, "kiln_cache_alloc", "cache", 0);
  if (res != KILN_OK)
    return res;
  if (c->pool == NULL)
    return arena_errorf(c->arena, KILN_PARAM,
                        "kiln_cache_alloc: the cache's pool was destroyed; destroy the cache");
  if (p_o == NULL)
    return arena_errorf(c->arena, KILN_PARAM, "kiln_cache_alloc: p_o is NULL");
  if (size == 0)
    return arena_errorf(c->arena, KILN_PARAM, "kiln_cache_alloc: size is 0 (pool class '%s')",
                        c->pool->klass->name);
  arena_lock(c->arena);
  if (size - 1 < c->head.limit) {
    size_t i = (size + c->head.round) >> c->head.shift;
    struct kiln_cache_list_s *l = &c->head.list[i];
    if (l->free != NULL) { /* only a dynamic caller of this function gets here */
      *p_o = l->free;
      l->free = *(void **)l->free;
      l->room++;
      res = KILN_OK;
    } else {
      res = refill(p_o, c, i);
    }
  } else {
    res = c->pool->klass->alloc(p_o, c->pool, size);
  }
  arena_unlock(c->arena);
  return res;
}

void kiln_cache_free_slow(kiln_cache_t cache, void *p, size_t size)
{
  cache_t *c = cache_of(cache);
  if (api_handle(c, API_SIG(c), SIG_CACHE, "kiln_cache_free", "cache", 1) != KILN_OK ||
      p == NULL)
    return;
  if (c->pool == NULL) {
    api_misuse("kiln_cache_free(%p): the cache's pool was destroyed, and the block with it",
               p);
    return;
  }
  arena_lock(c->arena);
  if (size - 1 < c->head.limit) {
    size_t i = (size + c->head.round) >> c->head.shift;
    struct kiln_cache_list_s *l = &c->head.list[i];
    if (l->room == 0)
      list_trim(c, i, c->max[i] / 2);
    if (l->room != 0) {
      *(void **)p = l->free;
      l->free = p;
      l->room--;
    } else { /* a list that holds no block: capacity below the class's size */
      c->pool->klass->free(c->pool, p, class_request(c, i));
    }
  } else {
    c->pool->klass->free(c->pool, p, size);
  }
  arena_unlock(c->arena);
}

void cache_orphan_for_pool(pool_t pool)
{
  ring_t *node, *nxt;
  RING_FOR(node, &pool->caches, nxt) {
    cache_t *c = CONTAINER(node, cache_t, pool_ring);
    if (KILN_CHECKING)
      pool_misuse(pool, "kiln_pool_destroy: pool %p (%s) still has a cache (%p); destroy its "
                  "caches first (kiln_cache_destroy)", (void *)pool, pool->klass->name,
                  (void *)c);
    ring_remove(&c->pool_ring);
    memset(&c->head, 0, sizeof c->head); /* its blocks go with the pool's segments */
    c->pool = NULL;
  }
}

/* The external definitions of the inline kiln_cache_alloc and
   kiln_cache_free (kiln.h), for callers that do not inline them. */
extern kiln_res_t kiln_cache_alloc(void **p_o, kiln_cache_t cache, size_t size);
extern void kiln_cache_free(kiln_cache_t cache, void *p, size_t size);
