/* ap.c -- allocation points: per-thread bump buffers with MPS's
 * reserve/commit protocol (docs/design.md, §Allocation points).
 *
 * The fast paths are inline in kiln.h; this file is the slow path. States:
 *  - empty:   base == NULL, init == alloc == limit == NULL;
 *  - buffer:  base <= init <= alloc <= limit, limit != NULL;
 *  - trapped: a collection flushed the buffer while a reservation was
 *             outstanding (alloc != init): limit == NULL, base == NULL, so
 *             the next kiln_commit calls kiln_ap_trip and fails.
 * Invariant 5 (no collection between reserve and a successful commit) holds
 * because every collection starts with ap_flush_all, which traps any AP
 * whose reservation is outstanding.
 *
 * Stress mode (arena "stress" = N): the AP exposes only one object of its
 * buffer at a time (limit = alloc), so every reserve takes the slow path and
 * arena_poll collects at every Nth one; the pool still sees its real buffer.
 */
#include "config.h"
#include "pool.h"
#include "trace.h"

#include <stdlib.h>

kiln_res_t kiln_ap_create(kiln_ap_t *ap_o, kiln_pool_t pool, const kiln_arg_t args[])
{
  if (pool == NULL || pool->sig != SIG_POOL)
    return kiln_set_error(KILN_PARAM, "kiln_ap_create: not a pool");
  if (ap_o == NULL)
    return arena_errorf(pool->arena, KILN_PARAM, "kiln_ap_create: ap_o is NULL");
  if (pool->klass->fill == NULL)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "kiln_ap_create: pool class '%s' is manual; use kiln_alloc/kiln_free",
                        pool->klass->name);
  if (args != NULL && args[0].key != NULL)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "allocation point: unknown parameter '%s' (it takes no parameters)",
                        args[0].key);
  ap_t *ap = calloc(1, sizeof *ap);
  if (ap == NULL)
    return arena_errorf(pool->arena, KILN_MEMORY, "kiln_ap_create: no memory");
  ap->sig = SIG_AP;
  ap->pool = pool;
  pool->aps++;
  ring_append(&pool->arena->aps, &ap->arena_ring);
  *ap_o = &ap->pub;
  return KILN_OK;
}

static ap_t *ap_of(kiln_ap_t pub) { return (ap_t *)(void *)pub; }

/* Give the buffer back to the pool; [base, init) is committed objects. */
static void ap_empty(ap_t *ap)
{
  if (ap->base == NULL)
    return;
  pool_t pool = ap->pool;
  size_t used = (size_t)(ap->pub.init - ap->base);
  pool->st.allocated += used;
  pool->arena->stats.allocated += used;
  pool->klass->empty(pool, ap, ap->base, ap->pub.init, ap->real_limit);
  ap->base = NULL;
}

void ap_flush_all(kiln_arena_t arena)
{
  ring_t *node, *nxt;
  RING_FOR(node, &arena->aps, nxt) {
    ap_t *ap = CONTAINER(node, ap_t, arena_ring);
    int outstanding = ap->pub.alloc != ap->pub.init;
    ap_empty(ap);
    ap->pub.limit = NULL;
    if (!outstanding)
      ap->pub.init = ap->pub.alloc = NULL;
  }
}

void kiln_ap_destroy(kiln_ap_t pub)
{
  if (pub == NULL)
    return;
  ap_t *ap = ap_of(pub);
  KILN_ASSERT(ap->sig == SIG_AP);
  KILN_ASSERT(!ap->pool->arena->collecting);
  ap->pub.alloc = ap->pub.init; /* an outstanding reservation is abandoned, not committed */
  ap_empty(ap);
  ap->pool->aps--;
  ring_remove(&ap->arena_ring);
  ap->sig = SIG_DEAD;
  free(ap);
}

void ap_destroy_for_pool(pool_t pool)
{
  ring_t *node, *nxt;
  RING_FOR(node, &pool->arena->aps, nxt) {
    ap_t *ap = CONTAINER(node, ap_t, arena_ring);
    if (ap->pool == pool)
      kiln_ap_destroy(&ap->pub);
  }
}

static kiln_res_t bad_size(ap_t *ap, size_t size)
{
  pool_t pool = ap->pool;
  size_t align = pool->fmt ? pool->fmt->f.align : 1;
  if (size == 0)
    return arena_errorf(pool->arena, KILN_PARAM, "kiln_reserve: size is 0 (pool class '%s')",
                        pool->klass->name);
  if ((size & (align - 1)) != 0)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "kiln_reserve: size %zu is not a multiple of the format's alignment %zu",
                        size, align);
  if (size > pool->arena->reserve)
    return arena_errorf(pool->arena, KILN_LIMIT,
                        "kiln_reserve: %zu bytes is more than the arena's reservation", size);
  return KILN_OK;
}

/* Ask the pool for a new buffer; the bytes it hands out count against the
   collection budget. When memory runs out (commit limit or reservation),
   a full collection may free some: try once more after it, then give the
   client KILN_LIMIT (never abort; the heap stays usable, issue 7). */
static kiln_res_t ap_refill(ap_t *ap, size_t size)
{
  pool_t pool = ap->pool;
  kiln_arena_t arena = pool->arena;
  char *base = NULL, *limit = NULL; /* not stale words, should the fill collect */
  kiln_res_t res = pool->klass->fill(&base, &limit, pool, ap, size);
  if (res == KILN_LIMIT && arena->park_depth == 0 && !arena->collecting && arena->inc != NULL) {
    /* An incremental minor collection keeps its condemned segments' holes
       until it ends: ending it may be enough, and a full collection would
       abandon it (found by review: with a commit limit, incremental minors
       turned into full collections). */
    trace_inc_finish(arena);
    res = pool->klass->fill(&base, &limit, pool, ap, size);
  }
  if (res == KILN_LIMIT && arena->park_depth == 0 && !arena->collecting) {
    trace_collect(arena, NULL, 0);
    res = pool->klass->fill(&base, &limit, pool, ap, size);
  }
  if (res != KILN_OK)
    return res;
  KILN_ASSERT((size_t)(limit - base) >= size);
  if (!(pool->klass->attr & CLASS_NURSERY) && !pool->sticky)
    pool->arena->since_gc += (size_t)(limit - base);
  ap->base = ap->pub.init = ap->pub.alloc = base;
  ap->real_limit = limit;
  return KILN_OK;
}

kiln_res_t kiln_ap_fill(void **p_o, kiln_ap_t pub, size_t size)
{
  ap_t *ap = ap_of(pub);
  KILN_ASSERT(ap != NULL && ap->sig == SIG_AP);
  KILN_ASSERT(ap->pub.alloc == ap->pub.init); /* reserve twice without commit */
  kiln_res_t res = bad_size(ap, size);
  if (res != KILN_OK)
    return res;
  kiln_arena_t arena = ap->pool->arena;
  if (ap->base == NULL || ap->pub.alloc + size > ap->real_limit) {
    ap_empty(ap);
    ap->pub.init = ap->pub.alloc = ap->pub.limit = NULL;
  }
  /* May collect, which flushes every AP (this one included). In stress mode
     the buffer may still have room: only the exposed limit was short. */
  arena_poll(arena);
  if (ap->base == NULL && (res = ap_refill(ap, size)) != KILN_OK)
    return res;
  *p_o = ap->pub.alloc;
  ap->pub.alloc += size;
  ap->pub.limit = arena->stress ? ap->pub.alloc : ap->real_limit;
  return KILN_OK;
}

int kiln_ap_trip(kiln_ap_t pub, void *p, size_t size)
{
  ap_t *ap = ap_of(pub);
  (void)p;
  (void)size;
  KILN_ASSERT(ap != NULL && ap->sig == SIG_AP);
  /* Only a collection's flush leaves limit NULL after a reservation. */
  ap->pub.init = ap->pub.alloc = ap->pub.limit = NULL;
  return 0;
}
