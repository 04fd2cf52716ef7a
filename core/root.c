/* root.c -- roots (areas, formatted areas, scan functions, thread stacks)
 * and registered threads; the ambiguous roots' scan includes the objects
 * the client pinned (pin.c).
 *
 * Ambiguous roots are scanned word by word: a word is a reference only if
 * the owning segment's fix says it points into (or at) a live object; it is
 * never updated. Thread roots are ambiguous: the registers (spilled by
 * vm_with_registers) and the stack from the hot end to the cold end.
 *
 * Limitation (v0.1): one mutator thread per arena. A collection scans the
 * stack of the thread that runs it; registering a second thread is refused
 * (KILN_UNIMPL) rather than silently leaving its stack unscanned.
 */
#include "config.h"
#include "pin.h"
#include "root.h"
#include "trace.h"
#include "vm.h"

#include <stdlib.h>

static kiln_res_t root_new(kiln_root_t *root_o, kiln_arena_t arena, root_kind_t kind,
                           kiln_rank_t rank)
{
  if (arena == NULL || arena->sig != SIG_ARENA)
    return kiln_set_error(KILN_PARAM, "root: not an arena");
  if (root_o == NULL)
    return arena_errorf(arena, KILN_PARAM, "root: root_o is NULL");
  if (rank != KILN_RANK_AMBIG && rank != KILN_RANK_EXACT && rank != KILN_RANK_WEAK)
    return arena_errorf(arena, KILN_PARAM, "root: rank %d is not a kiln_rank_t", (int)rank);
  kiln_root_t r = calloc(1, sizeof *r);
  if (r == NULL)
    return arena_errorf(arena, KILN_MEMORY, "root: no memory");
  r->sig = SIG_ROOT;
  r->arena = arena;
  r->kind = kind;
  r->rank = rank;
  ring_append(&arena->roots, &r->arena_ring);
  *root_o = r;
  return KILN_OK;
}

/* The checked build refuses an area that overlaps one already registered
   (area and formatted roots): its references would be fixed twice. */
static void check_overlap(kiln_arena_t arena, void *base, void *limit, const char *call)
{
  ring_t *node, *nxt;
  RING_FOR(node, &arena->roots, nxt) {
    kiln_root_t r = CONTAINER(node, struct kiln_root_s, arena_ring);
    if ((r->kind == ROOT_AREA || r->kind == ROOT_FMT) &&
        (uintptr_t)base < (uintptr_t)r->limit && (uintptr_t)r->base < (uintptr_t)limit)
      KILN_FAILF("%s: the area %p..%p overlaps root %p (%p..%p), already registered with "
                 "arena %p; register each area once", call, base, limit, (void *)r,
                 (void *)r->base, (void *)r->limit, (void *)arena);
  }
}

static int bad_range(kiln_arena_t arena, void *base, void *limit, const char *what)
{
  if (base == NULL || limit == NULL || (uintptr_t)limit < (uintptr_t)base) {
    arena_errorf(arena, KILN_PARAM, "%s: bad range %p..%p", what, base, limit);
    return 1;
  }
  if (KILN_CHECKING && base != limit)
    check_overlap(arena, base, limit, what);
  return 0;
}

kiln_res_t kiln_root_create_area(kiln_root_t *root_o, kiln_arena_t arena, void **base,
                                 void **limit, kiln_rank_t rank)
{
  if (arena != NULL && arena->sig == SIG_ARENA &&
      bad_range(arena, base, limit, "kiln_root_create_area"))
    return KILN_PARAM;
  kiln_res_t res = root_new(root_o, arena, ROOT_AREA, rank);
  if (res == KILN_OK) {
    (*root_o)->base = base;
    (*root_o)->limit = limit;
  }
  return res;
}

kiln_res_t kiln_root_create_fmt(kiln_root_t *root_o, kiln_arena_t arena, kiln_scan_fn scan,
                                void *base, void *limit)
{
  if (arena != NULL && arena->sig == SIG_ARENA &&
      (scan == NULL || bad_range(arena, base, limit, "kiln_root_create_fmt")))
    return scan == NULL ? arena_errorf(arena, KILN_PARAM, "formatted root: scan is NULL") : KILN_PARAM;
  kiln_res_t res = root_new(root_o, arena, ROOT_FMT, KILN_RANK_EXACT);
  if (res == KILN_OK) {
    (*root_o)->fmt_scan = scan;
    (*root_o)->base = base;
    (*root_o)->limit = limit;
  }
  return res;
}

kiln_res_t kiln_root_create_scan(kiln_root_t *root_o, kiln_arena_t arena, kiln_rank_t rank,
                                 kiln_root_scan_fn scan, void *closure)
{
  if (arena != NULL && arena->sig == SIG_ARENA && scan == NULL)
    return arena_errorf(arena, KILN_PARAM, "scan root: scan function is NULL");
  kiln_res_t res = root_new(root_o, arena, ROOT_SCAN, rank);
  if (res == KILN_OK) {
    (*root_o)->scan = scan;
    (*root_o)->closure = closure;
  }
  return res;
}

kiln_res_t kiln_root_create_thread(kiln_root_t *root_o, kiln_arena_t arena,
                                   kiln_thread_t thread, void *stack_cold_end)
{
  if (arena != NULL && arena->sig == SIG_ARENA &&
      (thread == NULL || thread->sig != SIG_THREAD || thread->arena != arena))
    return arena_errorf(arena, KILN_PARAM, "thread root: not a thread registered with this arena");
  if (arena != NULL && arena->sig == SIG_ARENA && stack_cold_end == NULL)
    return arena_errorf(arena, KILN_PARAM, "thread root: stack_cold_end is NULL");
  kiln_res_t res = root_new(root_o, arena, ROOT_THREAD, KILN_RANK_AMBIG);
  if (res == KILN_OK) {
    (*root_o)->thread = thread;
    (*root_o)->cold_end = stack_cold_end;
  }
  return res;
}

void kiln_root_destroy(kiln_root_t root)
{
  if (root == NULL)
    return;
  if (api_handle(root, root->sig, SIG_ROOT, "kiln_root_destroy", "root", 1) != KILN_OK)
    return;
  if (root->arena->collecting) {
    api_misuse("kiln_root_destroy: root %p: its arena is collecting; destroy it after the "
               "collection, not from a scan function", (void *)root);
    return;
  }
  trace_inc_finish(root->arena); /* its words may be noted for an increment */
  ring_remove(&root->arena_ring);
  root->sig = SIG_DEAD;
  arena_bury(root->arena, root);
}

kiln_res_t kiln_thread_reg(kiln_thread_t *thr_o, kiln_arena_t arena)
{
  if (arena == NULL || arena->sig != SIG_ARENA)
    return kiln_set_error(KILN_PARAM, "kiln_thread_reg: not an arena");
  if (thr_o == NULL)
    return arena_errorf(arena, KILN_PARAM, "kiln_thread_reg: thr_o is NULL");
  ring_t *node, *nxt;
  RING_FOR(node, &arena->threads, nxt) {
    kiln_thread_t t = CONTAINER(node, struct kiln_thread_s, arena_ring);
    if (!pthread_equal(t->id, pthread_self()))
      return arena_errorf(arena, KILN_UNIMPL,
                          "kiln_thread_reg: this arena already has a mutator thread; several "
                          "threads per arena are not supported yet");
  }
  kiln_thread_t t = calloc(1, sizeof *t);
  if (t == NULL)
    return arena_errorf(arena, KILN_MEMORY, "kiln_thread_reg: no memory");
  t->sig = SIG_THREAD;
  t->arena = arena;
  t->id = pthread_self();
  ring_append(&arena->threads, &t->arena_ring);
  *thr_o = t;
  return KILN_OK;
}

void kiln_thread_dereg(kiln_thread_t thread)
{
  if (thread == NULL)
    return;
  if (api_handle(thread, thread->sig, SIG_THREAD, "kiln_thread_dereg", "thread", 1) != KILN_OK)
    return;
  ring_remove(&thread->arena_ring);
  thread->sig = SIG_DEAD;
  arena_bury(thread->arena, thread);
}

/* No registered thread: the client keeps every reference in its own
   roots, no stack is scanned, and any thread may allocate (one at a
   time: an arena is not thread-safe). */
int arena_thread_ok(kiln_arena_t arena)
{
  if (ring_empty(&arena->threads))
    return 1;
  kiln_thread_t t = CONTAINER(arena->threads.next, struct kiln_thread_s, arena_ring);
  return pthread_equal(t->id, pthread_self());
}

/* ---- scanning --------------------------------------------------------- */

static kiln_res_t scan_ambig_words(kiln_ss_t ss, void *const *base, void *const *limit)
{
  for (void *const *p = base; p < limit; p++) {
    void *ref = *p;
    if (KILN_FIX1(ss, ref)) {
      kiln_res_t res = KILN_FIX2(ss, &ref);
      if (res != KILN_OK)
        return res;
    }
  }
  return KILN_OK;
}

/* An exact area in a stop-the-world trace: what each word greys is
   drained before the next word is fixed, so a moving pool copies an
   object next to what it alone reaches (an instance next to its field
   table) instead of copying every object the area refers to first and
   their parts after all of them: the copy order keeps the mutator's
   locality. An incremental trace scans the words only. */
static kiln_res_t scan_exact_area(kiln_ss_t ss, kiln_root_t r)
{
  ss_t *s = ss_of(ss);
  trace_t *trace = s->trace;
  if (trace == NULL || trace->incremental || s->verify)
    return root_scan_words(ss, r->base, r->limit);
  for (void **p = r->base; p < (void **)r->limit; p++) {
    kiln_res_t res = KILN_FIX12(ss, p);
    if (res != KILN_OK)
      return res;
    if (trace->ngrey != 0)
      trace_drain(s->arena, trace, SIZE_MAX);
  }
  return KILN_OK;
}

static kiln_res_t scan_area(kiln_ss_t ss, kiln_root_t r)
{
  if (r->rank == KILN_RANK_AMBIG)
    return scan_ambig_words(ss, r->base, r->limit);
  return scan_exact_area(ss, r);
}

typedef struct stack_scan_s {
  kiln_ss_t ss;
  void *cold;
  kiln_res_t res;
} stack_scan_t;

/* Runs with registers spilled; copies the live stack and scans the copy, so
   the scan itself reads only ordinary memory (see vm_copy_stack). */
static void scan_stack_from(void *sp, void *closure)
{
  stack_scan_t *st = closure;
  uintptr_t lo = (uintptr_t)sp & ~(uintptr_t)(sizeof(void *) - 1);
  size_t n = ((uintptr_t)st->cold - lo) / sizeof(void *);
  void **copy = malloc(n * sizeof(void *) + 1);
  if (copy == NULL) {
    st->res = KILN_MEMORY;
    return;
  }
  vm_copy_stack(copy, (void *const *)lo, (void *const *)lo + n);
  st->res = scan_ambig_words(st->ss, copy, copy + n);
  free(copy);
}

static kiln_res_t scan_thread(kiln_ss_t ss, kiln_root_t r)
{
  if (!pthread_equal(r->thread->id, pthread_self()))
    return KILN_OK; /* cannot happen: a second mutator thread is refused at registration */
  stack_scan_t st = {ss, r->cold_end, KILN_OK};
  if (r->arena->stack_hot != NULL) /* registers spilled above it (trace.c, trace_from_mutator) */
    scan_stack_from(r->arena->stack_hot, &st);
  else
    vm_with_registers(scan_stack_from, &st);
  return st.res;
}

kiln_res_t root_scan_words(kiln_ss_t ss, void **base, void **limit)
{
  for (void **p = base; p < limit; p++) {
    kiln_res_t res = KILN_FIX12(ss, p);
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

void root_each_exact_area(kiln_arena_t arena, void (*visit)(void *cl, void **base, void **limit),
                          void *cl)
{
  ring_t *node, *nxt;
  RING_FOR(node, &arena->roots, nxt) {
    kiln_root_t r = CONTAINER(node, struct kiln_root_s, arena_ring);
    if (r->rank == KILN_RANK_EXACT && r->kind == ROOT_AREA)
      visit(cl, r->base, r->limit);
  }
}

kiln_res_t root_scan_rank(kiln_arena_t arena, kiln_ss_t ss, kiln_rank_t rank, int skip_areas)
{
  ring_t *node, *nxt;
  RING_FOR(node, &arena->roots, nxt) {
    kiln_root_t r = CONTAINER(node, struct kiln_root_s, arena_ring);
    if (r->rank != rank || (skip_areas && r->kind == ROOT_AREA))
      continue;
    ss_of(ss)->rank = rank;
    kiln_res_t res = KILN_OK;
    switch (r->kind) {
    case ROOT_AREA: res = scan_area(ss, r); break;
    case ROOT_FMT: res = r->fmt_scan(ss, r->base, r->limit); break;
    case ROOT_SCAN: res = r->scan(ss, r->closure); break;
    case ROOT_THREAD: res = scan_thread(ss, r); break;
    }
    if (res != KILN_OK)
      return res;
  }
  if (rank != KILN_RANK_AMBIG)
    return KILN_OK;
  ss_of(ss)->rank = KILN_RANK_AMBIG; /* pinned objects are ambiguous references */
  return pin_scan(arena, ss);
}
