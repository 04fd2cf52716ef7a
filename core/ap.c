/* ap.c -- allocation points: per-thread bump buffers with MPS's
 * reserve/commit protocol (docs/design.md, §Allocation points).
 *
 * The fast paths are inline in kiln.h; this file is the slow path. States:
 *  - empty:   base == NULL, init == alloc == limit == NULL;
 *  - buffer:  base <= init <= alloc <= limit, limit != NULL;
 *  - trapped: a collection flushed the buffer while a reservation was
 *             outstanding (alloc != init): limit == NULL, base == NULL, so
 *             the next kiln_commit calls kiln_ap_trip and fails;
 *  - orphan:  its pool was destroyed (pool == NULL, pointers NULL): every
 *             reserve and commit is refused; the client may only destroy it.
 * Invariant 5 (no collection between reserve and a successful commit) holds
 * because every collection starts with ap_flush_all, which traps any AP
 * whose reservation is outstanding.
 *
 * Stress mode (arena "stress" = N): the AP exposes only one object of its
 * buffer at a time (limit = alloc), so every reserve takes the slow path and
 * arena_poll collects at every Nth one; the pool still sees its real buffer.
 *
 * Checked build: the AP exposes no buffer at all (limit stays NULL), so
 * every kiln_reserve and kiln_commit comes here and is checked: the size's
 * alignment, a second reservation before the commit, a commit without a
 * reservation or of another size or address. res_p and res_size record the
 * reservation. Collections still happen where the default build's would.
 *
 * Threads: each thread allocates through its own points. The slow paths
 * hold the arena lock and refuse a thread that is not registered with the
 * arena when some are (arena_thread_ok): its stack would not be scanned.
 * The fast paths cannot check; a buffer runs out soon. A collection
 * started by another thread stops this one anywhere, a fast path
 * included, and flushes its points as it flushes all: kiln_commit writes
 * init before it reads limit, so a commit the stop interrupted reads the
 * trap (limit NULL) and fails, and the client reserves again. The thread
 * goes on writing into its reservation until that commit, so in an arena
 * with several threads the flush does not give the rest of a buffer back
 * as free memory, where another thread could allocate it meanwhile: it
 * makes it a filler (the format's pad), commits it with the buffer, and
 * keeps it alive through that collection as an ambiguous root (ap->trap,
 * ap_scan_traps); the next collection frees it. The reservation and the
 * unused rest are two fillers, pending until the thread's next slow path:
 * until then it may build in either -- its reservation, or, when the stop
 * caught it inside kiln_reserve's fast path after its limit check, an
 * object over the start of the rest -- and may read back what it wrote.
 * So a pending filler is one only while the threads are stopped: each
 * pause pads it after stopping them, saving the bytes the pad overwrites
 * (ap_pad_pending, and keep_trapped at the flush), and puts them back
 * before resuming them (ap_restore_pending). The collector always parses
 * a filler, the thread always finds its own bytes, and the fillers stay
 * (kept alive, never reclaimed) however many collections come before the
 * thread's next slow path makes them fillers for good (settle_traps).
 */
#include "config.h"
#include "pool.h"
#include "record.h"
#include "trace.h"
#include "weak.h"

#include <stdlib.h>
#include <string.h>

/* The role an allocation point serves, for a recording (record.c). */
static kiln_res_t ap_role_arg(pool_t pool, const kiln_arg_t *a, char *role_o)
{
  if (a->type != KILN_ARGT_STR || a->str == NULL || strlen(a->str) >= AP_ROLE_MAX)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "kiln_ap_create: parameter 'role' must be a string of at most %d "
                        "characters", AP_ROLE_MAX - 1);
  strcpy(role_o, a->str);
  return KILN_OK;
}

/* An allocation point takes two parameters: "rank", "exact" (the default)
   or "weak" (its objects' references do not keep their targets alive),
   and "role", a name a recording gives its objects (a plan role). */
static kiln_res_t ap_parse_args(pool_t pool, const kiln_arg_t args[], int *weak_o, char *role_o)
{
  for (size_t i = 0; args != NULL && args[i].key != NULL; i++) {
    const kiln_arg_t *a = &args[i];
    if (strcmp(a->key, "role") == 0) {
      kiln_res_t res = ap_role_arg(pool, a, role_o);
      if (res != KILN_OK)
        return res;
      continue;
    }
    if (strcmp(a->key, "rank") != 0)
      return arena_errorf(pool->arena, KILN_PARAM,
                          "kiln_ap_create: unknown parameter '%s' of an allocation point (it "
                          "takes 'rank' and 'role')", a->key);
    if (a->type != KILN_ARGT_STR || a->str == NULL ||
        (strcmp(a->str, "weak") != 0 && strcmp(a->str, "exact") != 0))
      return arena_errorf(pool->arena, KILN_PARAM,
                          "kiln_ap_create: unknown rank '%s' for an allocation point of pool "
                          "class '%s'; give KILN_ARG_STR(\"rank\", \"exact\") or \"weak\"",
                          a->type == KILN_ARGT_STR && a->str != NULL ? a->str : "(not a string)",
                          pool->klass->name);
    *weak_o = strcmp(a->str, "weak") == 0;
  }
  return KILN_OK;
}

static kiln_res_t ap_create(kiln_ap_t *ap_o, kiln_pool_t pool, const kiln_arg_t args[]);

kiln_res_t kiln_ap_create(kiln_ap_t *ap_o, kiln_pool_t pool, const kiln_arg_t args[])
{
  kiln_arena_t locked = arena_lock_live(
      pool != NULL && (pool->sig == SIG_POOL || pool->sig == SIG_DEAD) ? pool->arena : NULL);
  kiln_res_t res = ap_create(ap_o, pool, args);
  arena_unlock_live(locked);
  return res;
}

static kiln_res_t ap_create(kiln_ap_t *ap_o, kiln_pool_t pool, const kiln_arg_t args[])
{
  if (pool != NULL && pool->sig == SIG_DEAD)
    return api_handle(pool, pool->sig, SIG_POOL, "kiln_ap_create", "pool", 0);
  if (pool == NULL || pool->sig != SIG_POOL)
    return kiln_set_error(KILN_PARAM, "kiln_ap_create: not a pool");
  if (ap_o == NULL)
    return arena_errorf(pool->arena, KILN_PARAM, "kiln_ap_create: ap_o is NULL");
  if (pool->klass->fill == NULL)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "kiln_ap_create: pool class '%s' is manual; use kiln_alloc/kiln_free",
                        pool->klass->name);
  int weak = 0;
  char role[AP_ROLE_MAX] = "";
  kiln_res_t res = ap_parse_args(pool, args, &weak, role);
  if (res != KILN_OK)
    return res;
  ap_t *ap = calloc(1, sizeof *ap);
  if (ap == NULL)
    return arena_errorf(pool->arena, KILN_MEMORY, "kiln_ap_create: no memory");
  ap->sig = SIG_AP;
  ap->pool = pool;
  ap->arena = pool->arena;
  ap->weak = weak;
  memcpy(ap->role, role, sizeof role);
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

size_t ap_open_bytes(kiln_arena_t arena, pool_t pool)
{
  size_t n = 0;
  ring_t *node, *nxt;
  RING_FOR(node, &arena->aps, nxt) {
    ap_t *ap = CONTAINER(node, ap_t, arena_ring);
    if (ap->base != NULL && (pool == NULL || ap->pool == pool))
      n += (size_t)(ap->pub.init - ap->base);
  }
  return n;
}

static const kiln_format_t *ap_format(const ap_t *ap)
{
  return ap->pool != NULL && ap->pool->fmt != NULL ? &ap->pool->fmt->f : NULL;
}

/* Pad pending trap i for a pause, saving what the pad overwrites. */
static void pad_pending(ap_t *ap, const kiln_format_t *f, int i)
{
  char *block = (char *)ap->trap[i] - f->header_size;
  ap->saved_n[i] = ap->trap_size[i] < AP_SAVED_MAX ? ap->trap_size[i] : AP_SAVED_MAX;
  memcpy(ap->saved[i], block, ap->saved_n[i]);
  f->pad(ap->trap[i], ap->trap_size[i]);
}

void ap_pad_pending(kiln_arena_t arena)
{
  ring_t *node, *nxt;
  RING_FOR(node, &arena->aps, nxt) {
    ap_t *ap = CONTAINER(node, ap_t, arena_ring);
    for (int i = 0; i < 2 && ap_format(ap) != NULL; i++)
      if (ap->pending & (1u << i))
        pad_pending(ap, ap_format(ap), i);
  }
}

void ap_restore_pending(kiln_arena_t arena)
{
  ring_t *node, *nxt;
  RING_FOR(node, &arena->aps, nxt) {
    ap_t *ap = CONTAINER(node, ap_t, arena_ring);
    for (int i = 0; i < 2 && ap_format(ap) != NULL; i++)
      if (ap->pending & (1u << i))
        memcpy((char *)ap->trap[i] - ap_format(ap)->header_size, ap->saved[i], ap->saved_n[i]);
  }
}

/* The thread reached a slow path, so it builds in no trap now: its commit
   failed (of the reservation, or of an object it built over the start of
   the rest), or it reserves again. Every pending trap becomes a filler
   for good -- the one it built in is made whole again -- so the heap stays
   parsable. */
static void settle_traps(ap_t *ap)
{
  const kiln_format_t *f = ap_format(ap);
  for (int i = 0; f != NULL && i < 2; i++)
    if (ap->pending & (1u << i))
      f->pad(ap->trap[i], ap->trap_size[i]);
  ap->pending = 0;
}

/* Make [lo, hi) of ap's buffer pending trap i, padded for this pause with
   what the thread wrote there saved; false when the format cannot (too
   small, or misaligned). */
static int keep_filler(ap_t *ap, const kiln_format_t *f, char *lo, char *hi, int i)
{
  if ((size_t)(hi - lo) < f->header_size + sizeof(void *) ||
      ((uintptr_t)(hi - lo) & (f->align - 1)) != 0)
    return 0;
  ap->trap[i] = lo + f->header_size;
  ap->trap_size[i] = (size_t)(hi - lo);
  ap->pending |= 1u << i;
  pad_pending(ap, f, i);
  return 1;
}

/* Make the rest of ap's buffer fillers committed with it, kept alive by
   this collection (see the head of the file): the outstanding
   reservation, which the thread overwrites with an object of the same
   size, and the unused rest, as two fillers, so that the heap stays
   parsable. */
static void keep_trapped(ap_t *ap)
{
  const kiln_format_t *f = ap_format(ap);
  char *lo = ap->pub.init, *mid = ap->pub.alloc, *hi = ap->real_limit;
  if (f == NULL || f->pad == NULL || ap->base == NULL || mid > hi)
    return; /* no filler to make: the rest is given back */
  if (lo < mid && !keep_filler(ap, f, lo, mid, 0))
    return;
  if (mid < hi && !keep_filler(ap, f, mid, hi, 1)) {
    ap->pub.init = ap->pub.alloc = mid;
    return;
  }
  /* The thread has written nothing in the rest yet: its filler stays
     after this pause; later ones save what it may have written since. */
  ap->saved_n[1] = 0;
  ap->pub.init = ap->pub.alloc = hi;
}

kiln_res_t ap_scan_traps(kiln_arena_t arena, kiln_ss_t ss)
{
  ring_t *node, *nxt;
  RING_FOR(node, &arena->aps, nxt) {
    ap_t *ap = CONTAINER(node, ap_t, arena_ring);
    for (int i = 0; i < 2; i++) {
      void *ref = ap->trap[i];
      if (ref != NULL && KILN_FIX1(ss, ref)) {
        kiln_res_t res = KILN_FIX2(ss, &ref);
        if (res != KILN_OK)
          return res;
      }
    }
  }
  return KILN_OK;
}

void ap_flush_all(kiln_arena_t arena)
{
  int many = arena_threads_many(arena);
  ring_t *node, *nxt;
  RING_FOR(node, &arena->aps, nxt) {
    ap_t *ap = CONTAINER(node, ap_t, arena_ring);
    int outstanding = ap->pub.alloc != ap->pub.init;
    /* An earlier collection's fillers are garbage now, but not the pending
       ones: the thread may still build there. */
    for (int i = 0; i < 2; i++)
      if (!(ap->pending & (1u << i)))
        ap->trap[i] = NULL;
    /* Invariant: a point with pending traps has no buffer (its next slow
       path settles them before it gets one). */
    KILN_ASSERT(ap->pending == 0 || ap->base == NULL);
    if (many && !ap->pending)
      keep_trapped(ap);
    ap_empty(ap);
    ap->pub.limit = NULL;
    if (!outstanding && !ap->pending)
      ap->pub.init = ap->pub.alloc = NULL;
  }
}

/* Give the buffer back, abandoning (not committing) an outstanding
   reservation, and expose nothing, so a later use reaches the checks. */
static void ap_let_go(ap_t *ap)
{
  settle_traps(ap); /* an abandoned reservation: a filler for good */
  ap->trap[0] = ap->trap[1] = NULL;
  ap->pub.alloc = ap->pub.init;
  ap_empty(ap);
  ap->pub.init = ap->pub.alloc = ap->pub.limit = NULL;
  ap->res_p = NULL;
}

void kiln_ap_destroy(kiln_ap_t pub)
{
  if (pub == NULL)
    return;
  ap_t *ap = ap_of(pub);
  if (api_handle(ap, ap->sig, SIG_AP, "kiln_ap_destroy", "allocation point", 1) != KILN_OK)
    return;
  kiln_arena_t arena = ap->arena;
  arena_lock(arena);
  if (arena->collecting) {
    api_misuse("kiln_ap_destroy: allocation point %p: its arena is collecting; destroy it "
               "after the collection, not from a scan or skip function", (void *)ap);
  } else {
    ap_let_go(ap);
    if (ap->pool != NULL)
      ap->pool->aps--;
    ring_remove(&ap->arena_ring);
    ap->sig = SIG_DEAD;
    arena_bury(arena, ap);
  }
  arena_unlock(arena);
}

void ap_orphan_for_pool(pool_t pool)
{
  ring_t *node, *nxt;
  RING_FOR(node, &pool->arena->aps, nxt) {
    ap_t *ap = CONTAINER(node, ap_t, arena_ring);
    if (ap->pool != pool)
      continue;
    ap_let_go(ap);
    ap->pool = NULL;
    pool->aps--;
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
   client KILN_LIMIT (never abort; the heap stays usable). */
static kiln_res_t ap_refill(ap_t *ap, size_t size)
{
  pool_t pool = ap->pool;
  kiln_arena_t arena = pool->arena;
  char *base = NULL, *limit = NULL; /* not stale words, should the fill collect */
  kiln_res_t res = pool->klass->fill(&base, &limit, pool, ap, size);
  if (res == KILN_LIMIT && arena->park_depth == 0 && !arena->collecting && arena->inc != NULL) {
    /* An incremental minor collection keeps its condemned segments' holes
       until it ends: ending it may be enough, where a full collection
       would abandon it, turning every incremental minor collection under
       a commit limit into a full one. */
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
  if (!(pool->klass->attr & CLASS_NURSERY) && !pool_sticky(pool))
    pool->arena->since_gc += (size_t)(limit - base);
  ap->base = ap->pub.init = ap->pub.alloc = base;
  ap->real_limit = limit;
  return KILN_OK;
}

#define AP_NO_RESERVATION "kiln_commit(%p, %zu): allocation point %p (pool class '%s') holds " \
  "no reservation; call kiln_reserve first, and kiln_commit once per reservation"
#define AP_ORPHAN "%s: allocation point %p belongs to a pool that was destroyed; destroy " \
  "the allocation point (kiln_ap_destroy) before its pool"

void ap_check(const ap_t *ap)
{
  CHECK_RULE(ap->sig == SIG_AP && arena_check(ap->arena), "allocation point", ap,
             "'sig is SIG_AP and its arena is live'");
  const struct kiln_ap_s *p = &ap->pub;
  if (ap->base == NULL) {
    CHECK_RULE(p->limit == NULL, "allocation point", ap,
               "'without a buffer (base NULL) it exposes no limit'");
    return;
  }
  CHECK_RULE(ap->pool != NULL, "allocation point", ap, "'an orphan holds no buffer'");
  CHECK_RULE(ap->base <= p->init && p->init <= p->alloc && p->alloc <= ap->real_limit,
             "allocation point", ap, "'base <= init <= alloc <= limit of its buffer'");
  CHECK_RULE(p->limit == NULL || p->limit == p->alloc || p->limit == ap->real_limit,
             "allocation point", ap, "'the exposed limit is NULL, alloc or the buffer's limit'");
}

/* May ap's slow paths run for this call from this thread? */
static kiln_res_t ap_usable(ap_t *ap, const char *call)
{
  kiln_res_t res = api_handle(ap, API_SIG(ap), SIG_AP, call, "allocation point", 0);
  if (res != KILN_OK)
    return res;
  if (KILN_CHECKING)
    ap_check(ap);
  if (ap->pool == NULL) {
    if (KILN_CHECKING)
      KILN_FAILF(AP_ORPHAN, call, (void *)ap);
    return arena_errorf(ap->arena, KILN_PARAM, AP_ORPHAN, call, (void *)ap);
  }
  if (!arena_thread_ok(ap->arena))
    return arena_errorf(ap->arena, KILN_PARAM,
                        "%s: allocation point %p used by a thread that is not registered "
                        "with its arena; a collection scans only registered threads' stacks: "
                        "register this thread (kiln_thread_reg and kiln_root_create_thread; "
                        "for a heap, kiln_heap_join) before it allocates",
                        call, (void *)ap);
  return KILN_OK;
}

/* A reservation on the fast path whose size was not a multiple of the
   format's alignment left alloc misaligned (the checked build refuses the
   reservation itself). Say so once, and give the buffer back with init
   rounded up to the alignment, so the pool keeps every byte of the
   misaligned object; the next reserve starts an aligned buffer. */
static kiln_res_t misaligned(ap_t *ap)
{
  pool_t pool = ap->pool;
  size_t align = pool->fmt != NULL ? pool->fmt->f.align : 1;
  uintptr_t alloc = (uintptr_t)ap->pub.alloc;
  if (ap->base == NULL || (alloc & (align - 1)) == 0)
    return KILN_OK;
  uintptr_t up = addr_align_up(alloc, align);
  ap->pub.init = ap->pub.alloc = up < (uintptr_t)ap->real_limit ? (char *)up : ap->real_limit;
  ap_empty(ap);
  ap->pub.init = ap->pub.alloc = ap->pub.limit = NULL;
  return arena_errorf(pool->arena, KILN_PARAM,
                      "kiln_reserve: allocation point %p (pool class '%s') was left at %p, %zu "
                      "byte(s) past a multiple of the format's alignment %zu, by an earlier "
                      "kiln_reserve whose size was not a multiple of %zu; reserve sizes rounded "
                      "up to the alignment", (void *)ap, pool->klass->name, (void *)alloc,
                      (size_t)(alloc & (align - 1)), align, align);
}

/* Does every reserve and commit of ap take the slow path? In checked
   builds (each is checked), for a weak-rank point (its commit puts the
   object in the weak set), and in a recorded arena (each commit is
   recorded). */
static int ap_slow(const ap_t *ap) { return KILN_CHECKING || ap->weak || ap->arena->rec != NULL; }

/* Hand out size bytes of the buffer, which has room. */
static void ap_hand_out(void **p_o, ap_t *ap, size_t size)
{
  *p_o = ap->pub.alloc;
  ap->pub.alloc += size;
  ap->pub.limit = ap_slow(ap) ? NULL : ap->arena->stress ? ap->pub.alloc : ap->real_limit;
  if (ap_slow(ap)) {
    ap->res_p = *p_o;
    ap->res_size = size;
  }
}

static kiln_res_t ap_fill(void **p_o, kiln_ap_t pub, size_t size);

/* The slow paths hold the arena lock of a live (or dead, still buried)
   point; a NULL or foreign one is only reported. */
static kiln_arena_t ap_arena_to_lock(kiln_ap_t pub)
{
  ap_t *ap = ap_of(pub);
  return ap != NULL && (ap->sig == SIG_AP || ap->sig == SIG_DEAD) ? ap->arena : NULL;
}

kiln_res_t kiln_ap_fill(void **p_o, kiln_ap_t pub, size_t size)
{
  kiln_arena_t locked = arena_lock_live(ap_arena_to_lock(pub));
  kiln_res_t res = ap_fill(p_o, pub, size);
  arena_unlock_live(locked);
  return res;
}

static kiln_res_t ap_fill(void **p_o, kiln_ap_t pub, size_t size)
{
  ap_t *ap = ap_of(pub);
  kiln_res_t res = ap_usable(ap, "kiln_reserve");
  if (res != KILN_OK)
    return res;
  if (p_o == NULL)
    return arena_errorf(ap->arena, KILN_PARAM, "kiln_reserve: p_o is NULL");
  if (KILN_CHECKING && ap->res_p != NULL)
    KILN_FAILF("kiln_reserve: allocation point %p (pool class '%s') still holds a reservation "
               "of %zu bytes at %p; commit it (kiln_commit) before reserving again",
               (void *)ap, ap->pool->klass->name, ap->res_size, (void *)ap->res_p);
  if ((res = bad_size(ap, size)) != KILN_OK || (res = misaligned(ap)) != KILN_OK)
    return res;
  kiln_arena_t arena = ap->arena;
  if (arena->in_event)
    return arena_errorf(arena, KILN_PARAM,
                        "kiln_reserve: allocation point %p (pool class '%s') used inside the "
                        "arena's collection callback (kiln_arena_on_collect), which runs in the "
                        "middle of the call that collected; allocate after that call returns",
                        (void *)ap, ap->pool->klass->name);
  if (ap_slow(ap) && ap->base != NULL && !arena->stress &&
      size <= (size_t)(ap->real_limit - ap->pub.alloc)) {
    ap_hand_out(p_o, ap, size); /* what the default build's fast path does */
    return KILN_OK;
  }
  if (ap->base == NULL || ap->pub.alloc + size > ap->real_limit) {
    ap_empty(ap);
    ap->pub.init = ap->pub.alloc = ap->pub.limit = NULL;
  }
  /* May collect, which flushes every AP (this one included). In stress mode
     the buffer may still have room: only the exposed limit was short. */
  arena_poll(arena);
  settle_traps(ap); /* this thread builds in no trap, earlier collections' nor that one's */
  if (ap->base == NULL && (res = ap_refill(ap, size)) != KILN_OK)
    return res;
  ap_hand_out(p_o, ap, size);
  return KILN_OK;
}

/* A commit that fails: the reservation is dropped, not committed. */
static int ap_commit_fails(ap_t *ap)
{
  if (ap_slow(ap) && ap->base != NULL && ap->res_p != NULL)
    ap->pub.init = ap->pub.alloc = ap->res_p; /* the buffer stays; the object goes */
  else
    ap->pub.init = ap->pub.alloc = ap->pub.limit = NULL;
  ap->res_p = NULL;
  return 0;
}

/* obj is committed; a weak-rank point's object joins the weak set, or the
   commit fails when the set cannot grow. */
static int ap_committed(ap_t *ap, char *block)
{
  char *obj = block + ap->pool->fmt->f.header_size;
  if (!ap->weak || weak_note(ap->arena, obj) == KILN_OK) {
    if (ap->arena->rec != NULL)
      record_commit(ap->arena, ap->role, ap->weak, obj, ap->res_size);
    return 1;
  }
  ap->pub.init = ap->pub.alloc = block; /* the buffer stays; the object goes */
  arena_errorf(ap->arena, KILN_MEMORY, "kiln_commit: allocation point %p (pool class '%s', "
               "rank weak) has no memory to record the block at %p as weak; the commit "
               "fails: free memory and allocate again", (void *)ap, ap->pool->klass->name,
               (void *)block);
  return 0;
}

static int ap_trip(kiln_ap_t pub, void *p, size_t size);

int kiln_ap_trip(kiln_ap_t pub, void *p, size_t size)
{
  kiln_arena_t locked = arena_lock_live(ap_arena_to_lock(pub));
  int ok = ap_trip(pub, p, size);
  arena_unlock_live(locked);
  return ok;
}

static int ap_trip(kiln_ap_t pub, void *p, size_t size)
{
  ap_t *ap = ap_of(pub);
  if (ap_usable(ap, "kiln_commit") != KILN_OK)
    return ap != NULL && ap->sig == SIG_AP ? ap_commit_fails(ap) : 0;
  if (KILN_CHECKING) {
    if (ap->res_p == NULL)
      KILN_FAILF(AP_NO_RESERVATION, p, size, (void *)ap, ap->pool->klass->name);
    if (p != ap->res_p || size != ap->res_size)
      KILN_FAILF("kiln_commit(%p, %zu): allocation point %p (pool class '%s') reserved %zu "
                 "bytes at %p; commit the address and size kiln_reserve gave",
                 p, size, (void *)ap, ap->pool->klass->name, ap->res_size, (void *)ap->res_p);
  }
  if (ap_slow(ap) && ap->res_p != NULL) {
    char *block = ap->res_p;
    ap->res_p = NULL;
    if (ap->base != NULL) /* no collection trapped it: committed */
      return ap_committed(ap, block);
  }
  if (ap->pub.alloc == NULL) /* nothing was reserved: not even a trapped reservation */
    arena_errorf(ap->arena, KILN_PARAM, AP_NO_RESERVATION, p, size, (void *)ap,
                 ap->pool->klass->name);
  /* Only a collection's flush leaves limit NULL after a reservation. */
  settle_traps(ap);
  ap->pub.init = ap->pub.alloc = ap->pub.limit = NULL;
  return 0;
}
