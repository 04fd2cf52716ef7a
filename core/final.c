/* final.c -- finalization: kiln_finalize, kiln_definalize, kiln_finalized,
 * and the step of each collection that decides what is finalized.
 *
 * The arena owns a registry of registered objects and a queue of
 * finalized ones. The queue is a strong (exact) root: its objects and all
 * they reach stay alive, and move, until kiln_finalized hands them back.
 * The registry is neither strong nor weak. After the exact trace and the
 * clearing of weak references (trace_close), each registered object of a
 * condemned segment that survived has its address updated; each that did
 * not is taken out of the registry, fixed strongly (resurrected: marked or
 * moved), and queued, and the trace drains again so that everything it
 * reaches survives too. Which objects are finalized is decided before any
 * is resurrected, so an object reachable only from another finalizable
 * object is finalized in the same collection. Registered objects outside
 * the condemned segments (old objects in a minor collection) are alive.
 *
 * Registrations count: an object registered twice is queued twice, and
 * kiln_definalize withdraws one registration. Each registration is
 * finalized at most once; the client may register the object again.
 *
 * Invariant: count(registry) + count(queue from index 0) <= cap(queue),
 * so queuing never allocates inside a collection (kiln_finalize reserves).
 */
#include "config.h"
#include "final.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

static int final_reserve(final_list_t *l, size_t want)
{
  if (want <= l->cap)
    return 1;
  size_t cap = l->cap < 16 ? 16 : l->cap;
  while (cap < want)
    cap *= 2;
  void **objs = realloc(l->objs, cap * sizeof *objs);
  if (objs == NULL)
    return 0;
  l->objs = objs;
  l->cap = cap;
  return 1;
}

/* Move the queue's untaken entries to its start. */
static void queue_compact(final_list_t *q)
{
  if (q->head == 0)
    return;
  memmove(q->objs, q->objs + q->head, (q->count - q->head) * sizeof *q->objs);
  q->count -= q->head;
  q->head = 0;
}

static kiln_res_t finalize_locked(kiln_arena_t arena, void *obj)
{
  kiln_res_t res = api_mutator_object(arena, obj, "kiln_finalize", "register");
  if (res != KILN_OK)
    return res;
  final_list_t *reg = &arena->final_reg, *q = &arena->final_queue;
  queue_compact(q);
  if (!final_reserve(reg, reg->count + 1) || !final_reserve(q, q->count + reg->count + 1))
    return arena_errorf(arena, KILN_MEMORY,
                        "kiln_finalize: no memory to register a finalizable object in arena %p, "
                        "which has %zu registered", (void *)arena, reg->count);
  reg->objs[reg->count++] = obj;
  return KILN_OK;
}

static kiln_res_t definalize_locked(kiln_arena_t arena, void *obj)
{
  kiln_res_t res = api_mutator_arena(arena, "kiln_definalize");
  if (res != KILN_OK)
    return res;
  final_list_t *reg = &arena->final_reg;
  for (size_t i = reg->count; i-- > 0;) {
    if (reg->objs[i] == obj) {
      reg->objs[i] = reg->objs[--reg->count];
      return KILN_OK;
    }
  }
  return arena_errorf(arena, KILN_FAIL,
                      "kiln_definalize: the address %p is not registered for finalization in "
                      "arena %p (never registered, withdrawn, or already finalized); call it "
                      "once per kiln_finalize, with the object's current address",
                      obj, (void *)arena);
}

static int finalized_locked(kiln_arena_t arena, void **obj_o)
{
  if (api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_finalized", "arena", 0) != KILN_OK)
    return 0;
  if (obj_o == NULL) {
    (void)arena_errorf(arena, KILN_PARAM,
                       "kiln_finalized: obj_o is NULL; pass the address of a reference the "
                       "next finalized object is stored into");
    return 0;
  }
  final_list_t *q = &arena->final_queue;
  if (arena->collecting || q->head == q->count)
    return 0;
  *obj_o = q->objs[q->head++];
  if (q->head == q->count)
    q->head = q->count = 0;
  return 1;
}

kiln_res_t final_scan_queue(kiln_arena_t arena, kiln_ss_t ss)
{
  final_list_t *q = &arena->final_queue;
  ss_of(ss)->rank = KILN_RANK_EXACT;
  for (size_t i = q->head; i < q->count; i++) {
    if (KILN_FIX1(ss, q->objs[i])) {
      kiln_res_t res = KILN_FIX2(ss, &q->objs[i]);
      if (res != KILN_OK)
        return res;
    }
  }
  return KILN_OK;
}

/* NULL if obj died in this trace, else its address after it. */
static void *final_survivor(kiln_arena_t arena, void *obj)
{
  seg_t seg = arena_seg_of(arena, obj);
  if (seg == NULL || !seg->white || seg->klass->survivor == NULL)
    return obj;
  return seg->klass->survivor(seg, obj);
}

int final_resurrect(kiln_arena_t arena, trace_t *trace)
{
  final_list_t *reg = &arena->final_reg, *q = &arena->final_queue;
  if (reg->count == 0)
    return 0;
  queue_compact(q);
  size_t first = q->count, kept = 0;
  for (size_t i = 0; i < reg->count; i++) {
    void *to = final_survivor(arena, reg->objs[i]);
    if (to != NULL)
      reg->objs[kept++] = to;
    else
      q->objs[q->count++] = reg->objs[i]; /* reserved by kiln_finalize */
  }
  reg->count = kept;
  if (q->count == first)
    return 0;
  ss_t ss = {.pub = {.white = trace->white, .zone_shift = ZONE_SHIFT}, .arena = arena,
             .trace = trace, .rank = KILN_RANK_EXACT};
  for (size_t i = first; i < q->count; i++) {
    kiln_res_t res = kiln_ss_fix(&ss.pub, &q->objs[i]);
    if (res != KILN_OK)
      trace_fail_scan(res);
  }
  arena->stats.finalized += q->count - first;
  trace_drain(arena, trace, SIZE_MAX);
  return 1;
}

static void forget_in(kiln_arena_t arena, final_list_t *l, struct kiln_pool_s *pool)
{
  size_t kept = l->head;
  for (size_t i = l->head; i < l->count; i++) {
    seg_t seg = arena_seg_of(arena, l->objs[i]);
    if (seg == NULL || seg->pool != pool)
      l->objs[kept++] = l->objs[i];
  }
  l->count = kept;
}

void final_forget_pool(kiln_arena_t arena, struct kiln_pool_s *pool)
{
  forget_in(arena, &arena->final_reg, pool);
  forget_in(arena, &arena->final_queue, pool);
}

void final_finish(kiln_arena_t arena)
{
  free(arena->final_reg.objs);
  free(arena->final_queue.objs);
  arena->final_reg = (final_list_t){NULL, 0, 0, 0};
  arena->final_queue = (final_list_t){NULL, 0, 0, 0};
}

/* The public entry point holds the arena lock (arena.h). */
kiln_res_t kiln_finalize(kiln_arena_t arena, void *obj)
{
  return arena_call_locked(finalize_locked, arena, obj);
}

/* The public entry point holds the arena lock (arena.h). */
kiln_res_t kiln_definalize(kiln_arena_t arena, void *obj)
{
  return arena_call_locked(definalize_locked, arena, obj);
}

/* The public entry point holds the arena lock (arena.h). */
int kiln_finalized(kiln_arena_t arena, void **obj_o)
{
  kiln_arena_t locked = arena_lock_live(arena_if_live(arena));
  int got = finalized_locked(arena, obj_o);
  arena_unlock_live(locked);
  return got;
}
