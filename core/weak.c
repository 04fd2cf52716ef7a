/* weak.c -- objects of weak rank and the weak-clearing phase of a trace.
 *
 * Owns: the arena's set of objects allocated through weak-rank allocation
 * points (kiln_ap_create with rank "weak"), deferring such an object when
 * the exact trace would scan it; ephemerons (kiln_ss_fix_ephemeron) and
 * their fixpoint; and trace_clear_weak: the phase after the exact trace
 * and the fixpoint that fixes the weak roots and the deferred objects'
 * references with the weak fix (a reference to a dead object becomes NULL,
 * one to a moved object is updated), clears the ephemerons whose key died,
 * then forgets the weak objects that died.
 *
 * The order of a trace's end: exact trace -> ephemeron fixpoint -> weak
 * clearing (trace_clear_weak) -> finalization -> reclaim. Finalization,
 * which decides which dead objects to resurrect, comes after the weak
 * clearing, so weak references to an object being finalized are already
 * NULL. What the resurrected objects reach may hold objects of weak rank
 * and ephemerons of its own: a second fixpoint and trace_clear_weak_again
 * settle those before weak_trace_end forgets the weak objects that died.
 *
 * An object of weak rank is an ordinary object of its pool: it is kept
 * alive while reachable and moved by moving pools (the pool reports each
 * move through weak_moved). Only the references it holds are weak. Any
 * scan of it during the exact trace -- a grey object, a remembered card of
 * an old segment, a segment of a pool that is not condemned -- goes through
 * pool_scan_one or pool_scan_range (pools/poolutil.h), which defer it here.
 *
 * The set is an address set (addrset.h); the counts stay 0.
 * Invariant: every object in the set is a committed object of an automatic
 * pool at its current address; at most half the slots are occupied.
 * Invariant: trace_clear_weak runs once per trace, after the exact trace
 * and before any segment is reclaimed; weak_trace_end runs after it and
 * after finalization, also before any segment is reclaimed.
 */
#include "config.h"
#include "pool.h"
#include "root.h"
#include "trace.h"
#include "weak.h"

#include <stdlib.h>

/* The arena and pool weak_forget_pool forgets the objects of. */
typedef struct weak_pool_cl_s {
  kiln_arena_t arena;
  pool_t pool;
} weak_pool_cl_t;

kiln_res_t weak_note(kiln_arena_t arena, void *obj)
{
  return addrset_add(&arena->weak, obj) != NULL ? KILN_OK : KILN_MEMORY;
}

void weak_moved(kiln_arena_t arena, void *from, void *to)
{
  addr_entry_t *e = addrset_find(&arena->weak, from);
  if (e == NULL)
    return;
  addrset_remove(&arena->weak, e);
  (void)addrset_add(&arena->weak, to); /* a slot was just freed: it does not grow */
}

static int in_pool(void *obj, void *closure)
{
  const weak_pool_cl_t *cl = closure;
  seg_t seg = arena_seg_of(cl->arena, obj);
  return seg != NULL && seg->pool == cl->pool;
}

void weak_forget_pool(kiln_arena_t arena, pool_t pool)
{
  weak_pool_cl_t cl = {arena, pool};
  addrset_remove_if(&arena->weak, in_pool, &cl);
}

void weak_finish(kiln_arena_t arena)
{
  addrset_finish(&arena->weak);
}

static int defer_grow(trace_t *trace)
{
  size_t cap = trace->deferred_cap ? trace->deferred_cap * 2 : 64;
  void **d = realloc(trace->deferred, cap * sizeof *d);
  if (d == NULL)
    return 0;
  trace->deferred = d;
  trace->deferred_cap = cap;
  return 1;
}

/* Only the exact trace defers; the verifier and the weak phase scan. If
   the list cannot grow the object is scanned exactly: its targets then
   survive this collection, which is safe. */
int weak_defer(kiln_ss_t pss, void *obj)
{
  ss_t *ss = ss_of(pss);
  if (ss->verify || ss->rank != KILN_RANK_EXACT || ss->trace == NULL ||
      addrset_find(&ss->arena->weak, obj) == NULL)
    return 0;
  trace_t *trace = ss->trace;
  if (trace->ndeferred == trace->deferred_cap && !defer_grow(trace))
    return 0;
  trace->deferred[trace->ndeferred++] = obj;
  return 1;
}

kiln_res_t weak_scan_range(pool_t pool, kiln_ss_t ss, void *lo, void *hi)
{
  const kiln_format_t *f = &pool->fmt->f;
  char *run = lo;
  for (char *p = lo; p < (char *)hi;) {
    char *next = f->skip(p);
    if (weak_defer(ss, p)) {
      kiln_res_t res = run < p ? f->scan(ss, run, p) : KILN_OK;
      if (res != KILN_OK)
        return res;
      run = next;
    }
    p = next;
  }
  return run < (char *)hi ? f->scan(ss, run, hi) : KILN_OK;
}

/* Scan one deferred object with the weak fix; the white zones it still
   refers to go into its segment's summary, and a young object it still
   refers to from an old segment dirties its card, and one allocated during
   an incremental collection keeps it, as scan_grey does. */
static void scan_deferred(ss_t *ss, void *obj)
{
  seg_t seg = arena_seg_of(ss->arena, obj);
  KILN_ASSERT(seg != NULL && seg->pool->fmt != NULL);
  const kiln_format_t *f = &seg->pool->fmt->f;
  ss->summary = 0;
  ss->hit_new = 0;
  kiln_res_t res = f->scan(&ss->pub, obj, f->skip(obj));
  if (res != KILN_OK)
    trace_fail_scan(res);
  uintptr_t block = (uintptr_t)obj - f->header_size;
  seg->summary |= remset_remember_young(ss->arena, seg, block, block + 1, ss->summary, 0);
  if (ss->hit_new && seg->white)
    remset_keep_cards(ss->arena, block, block + 1);
}

/* Is obj, in the set of weak rank, dead in this trace? */
static int died(void *obj, void *arena)
{
  seg_t seg = arena_seg_of(arena, obj);
  return seg != NULL && seg->white && seg->klass->survivor != NULL &&
         seg->klass->survivor(seg, obj) == NULL;
}

/* Forget the objects of weak rank that died in this trace. */
static void prune_dead(kiln_arena_t arena)
{
  addrset_remove_if(&arena->weak, died, arena);
}

/* ---- ephemerons ---------------------------------------------------- */

/* Is key (not NULL) known alive in this trace: outside the condemned set,
   or already marked or copied? */
static int key_alive(kiln_arena_t arena, void *key)
{
  seg_t seg = arena_seg_of(arena, key);
  return seg == NULL || !seg->white || seg->klass->survivor == NULL ||
         seg->klass->survivor(seg, key) != NULL;
}

static int ephemeron_defer(trace_t *trace, void **key_io, void **value_io)
{
  if (trace->nephemerons + 2 > trace->ephemerons_cap) {
    size_t cap = trace->ephemerons_cap ? trace->ephemerons_cap * 2 : 64;
    void ***e = realloc(trace->ephemerons, cap * sizeof *e);
    if (e == NULL)
      return 0;
    trace->ephemerons = e;
    trace->ephemerons_cap = cap;
  }
  trace->ephemerons[trace->nephemerons++] = key_io;
  trace->ephemerons[trace->nephemerons++] = value_io;
  return 1;
}

static kiln_res_t fix_pair(kiln_ss_t ss, void **key_io, void **value_io)
{
  kiln_res_t res = KILN_FIX12(ss, key_io);
  return res != KILN_OK ? res : KILN_FIX12(ss, value_io);
}

/* A pair the exact trace cannot settle yet is deferred; if the list
   cannot grow, both are fixed strongly (the value survives: safe). */
kiln_res_t kiln_ss_fix_ephemeron(kiln_ss_t pss, void **key_io, void **value_io)
{
  ss_t *ss = ss_of(pss);
  if (KILN_CHECKING && (pss == NULL || key_io == NULL || value_io == NULL))
    api_misuse("kiln_ss_fix_ephemeron: %s is NULL; call it from a scan with the scan state "
               "it was given and the addresses of the key and the value",
               pss == NULL ? "the scan state" : key_io == NULL ? "key_io" : "value_io");
  /* A marker defers every pair: other markers may be marking the key, and
     the fixpoint after the drain settles it. */
  if (ss->verify || ss->rank != KILN_RANK_EXACT || ss->trace == NULL || *key_io == NULL ||
      (!ss->parallel && key_alive(ss->arena, *key_io)))
    return fix_pair(pss, key_io, value_io);
  if (!ephemeron_defer(ss->trace, key_io, value_io))
    return fix_pair(pss, key_io, value_io);
  return KILN_OK;
}

/* Fix a deferred pair whose key is alive; its slots' segment gets the
   zones and cards scan_grey would give it. */
static void settle_pair(ss_t *ss, void **key_io, void **value_io)
{
  ss->summary = 0;
  ss->hit_new = 0;
  kiln_res_t res = fix_pair(&ss->pub, key_io, value_io);
  if (res != KILN_OK)
    trace_fail_scan(res);
  seg_t seg = arena_seg_of(ss->arena, key_io);
  if (seg == NULL)
    return;
  uintptr_t lo = (uintptr_t)(key_io < value_io ? key_io : value_io);
  uintptr_t hi = (uintptr_t)(key_io < value_io ? value_io : key_io) + 1;
  seg->summary |= remset_remember_young(ss->arena, seg, lo, hi, ss->summary, 0);
  if (ss->hit_new && seg->white)
    remset_keep_cards(ss->arena, lo, hi);
}

/* Settle every deferred pair whose key is now alive; 1 if any was. */
static int settle_live_keys(kiln_arena_t arena, trace_t *trace)
{
  ss_t ss = {.pub = {.white = trace->white | trace->new_zones, .zone_shift = ZONE_SHIFT},
             .arena = arena, .trace = trace, .rank = KILN_RANK_EXACT};
  int any = 0;
  for (size_t i = 0; i < trace->nephemerons;) {
    void **key_io = trace->ephemerons[i], **value_io = trace->ephemerons[i + 1];
    if (*key_io != NULL && !key_alive(arena, *key_io)) {
      i += 2;
      continue;
    }
    trace->ephemerons[i] = trace->ephemerons[trace->nephemerons - 2];
    trace->ephemerons[i + 1] = trace->ephemerons[trace->nephemerons - 1];
    trace->nephemerons -= 2;
    settle_pair(&ss, key_io, value_io);
    any = 1;
  }
  return any;
}

void trace_ephemeron_fixpoint(kiln_arena_t arena, trace_t *trace)
{
  while (trace->nephemerons != 0 && settle_live_keys(arena, trace)) {
    if (trace->keep_young)
      trace->tenure_all = 1;
    trace_drain(arena, trace, SIZE_MAX);
  }
}

/* The pairs left have dead keys: both slots become NULL. */
static void clear_dead_ephemerons(trace_t *trace)
{
  for (size_t i = 0; i < trace->nephemerons; i += 2) {
    *trace->ephemerons[i] = NULL;
    *trace->ephemerons[i + 1] = NULL;
  }
  trace->nephemerons = 0;
}

int weak_is_deferred_slot(const trace_t *trace, const void *slot)
{
  for (size_t i = 0; i < trace->nephemerons; i++)
    if ((const void *)trace->ephemerons[i] == slot)
      return 1;
  return 0;
}

/* ---- the weak phase ------------------------------------------------- */

/* Scan the objects deferred so far with the weak fix, clear the pairs
   whose key died, and start both lists again. */
static void clear_deferred(kiln_arena_t arena, trace_t *trace)
{
  /* The new zones too, so that references to objects allocated during an
     incremental collection keep their cards (scan_deferred). */
  ss_t ss = {.pub = {.white = trace->white | trace->new_zones, .zone_shift = ZONE_SHIFT},
             .arena = arena,
             .trace = trace, .rank = KILN_RANK_WEAK};
  for (size_t i = 0; i < trace->ndeferred; i++)
    scan_deferred(&ss, trace->deferred[i]);
  trace->ndeferred = 0;
  clear_dead_ephemerons(trace);
}

void trace_clear_weak(kiln_arena_t arena, trace_t *trace)
{
  trace_fix_weak_roots(arena, trace);
  clear_deferred(arena, trace);
}

void trace_clear_weak_again(kiln_arena_t arena, trace_t *trace)
{
  clear_deferred(arena, trace);
}

void weak_trace_end(kiln_arena_t arena, trace_t *trace)
{
  weak_trace_done(trace);
  prune_dead(arena);
}

int weak_is_deferred(const trace_t *trace, const void *obj)
{
  for (size_t i = 0; i < trace->ndeferred; i++)
    if (trace->deferred[i] == obj)
      return 1;
  return 0;
}

void weak_trace_done(trace_t *trace)
{
  free(trace->deferred);
  trace->deferred = NULL;
  trace->ndeferred = trace->deferred_cap = 0;
  free(trace->ephemerons);
  trace->ephemerons = NULL;
  trace->nephemerons = trace->ephemerons_cap = 0;
}
