/* root.c -- roots (areas, formatted areas, scan functions, thread stacks)
 * and registered threads; the ambiguous roots' scan includes the objects
 * the client pinned (pin.c).
 *
 * Ambiguous roots are scanned word by word: a word is a reference only if
 * the owning segment's fix says it points into (or at) a live object; it is
 * never updated. Thread roots are ambiguous: the registers (spilled by
 * vm_with_registers) and the stack from the hot end to the cold end.
 *
 * Threads. Any number of threads may register with an arena; each one
 * that has a thread root has its stack and registers scanned. A collection
 * scans its own thread's stack from where it entered the collector
 * (trace.c) and every other registered thread's from the stack pointer
 * that thread recorded when the collection stopped it (threads_stop,
 * vm.c). Invariant: while the arena is collecting, arena->stopped lists
 * the OS threads it stopped, and none of them runs.
 */
#include "config.h"
#include "pin.h"
#include "root.h"
#include "trace.h"
#include "vm.h"

#include <string.h>

#include <stdlib.h>

/* Register a root of this kind and rank whose kind's own fields (base,
   limit, scan, closure, thread, cold_end) are init's. The root joins the
   arena's ring whole, under the arena lock, so a collection never sees it
   half made. */
static kiln_res_t root_new(kiln_root_t *root_o, kiln_arena_t arena, root_kind_t kind,
                           kiln_rank_t rank, struct kiln_root_s init)
{
  if (arena == NULL || arena->sig != SIG_ARENA)
    return kiln_set_error(KILN_PARAM, "root: not an arena");
  if (root_o == NULL)
    return arena_errorf(arena, KILN_PARAM, "root: root_o is NULL");
  if (rank != KILN_RANK_AMBIG && rank != KILN_RANK_EXACT && rank != KILN_RANK_WEAK)
    return arena_errorf(arena, KILN_PARAM, "root: rank %d is not a kiln_rank_t", (int)rank);
  kiln_root_t r = malloc(sizeof *r);
  if (r == NULL)
    return arena_errorf(arena, KILN_MEMORY, "root: no memory");
  *r = init;
  r->sig = SIG_ROOT;
  r->arena = arena;
  r->kind = kind;
  r->rank = rank;
  arena_lock(arena);
  ring_append(&arena->roots, &r->arena_ring);
  *root_o = r;
  arena_unlock(arena);
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
  if (KILN_CHECKING && base != limit) {
    arena_lock(arena); /* the ring of roots, which other threads change */
    check_overlap(arena, base, limit, what);
    arena_unlock(arena);
  }
  return 0;
}

kiln_res_t kiln_root_create_area(kiln_root_t *root_o, kiln_arena_t arena, void **base,
                                 void **limit, kiln_rank_t rank)
{
  if (arena != NULL && arena->sig == SIG_ARENA &&
      bad_range(arena, base, limit, "kiln_root_create_area"))
    return KILN_PARAM;
  return root_new(root_o, arena, ROOT_AREA, rank,
                  (struct kiln_root_s){.base = base, .limit = limit});
}

kiln_res_t kiln_root_create_fmt(kiln_root_t *root_o, kiln_arena_t arena, kiln_scan_fn scan,
                                void *base, void *limit)
{
  if (arena != NULL && arena->sig == SIG_ARENA &&
      (scan == NULL || bad_range(arena, base, limit, "kiln_root_create_fmt")))
    return scan == NULL ? arena_errorf(arena, KILN_PARAM, "formatted root: scan is NULL") : KILN_PARAM;
  return root_new(root_o, arena, ROOT_FMT, KILN_RANK_EXACT,
                  (struct kiln_root_s){.fmt_scan = scan, .base = base, .limit = limit});
}

kiln_res_t kiln_root_create_scan(kiln_root_t *root_o, kiln_arena_t arena, kiln_rank_t rank,
                                 kiln_root_scan_fn scan, void *closure)
{
  if (arena != NULL && arena->sig == SIG_ARENA && scan == NULL)
    return arena_errorf(arena, KILN_PARAM, "scan root: scan function is NULL");
  return root_new(root_o, arena, ROOT_SCAN, rank,
                  (struct kiln_root_s){.scan = scan, .closure = closure});
}

kiln_res_t kiln_root_create_thread(kiln_root_t *root_o, kiln_arena_t arena,
                                   kiln_thread_t thread, void *stack_cold_end)
{
  if (arena != NULL && arena->sig == SIG_ARENA &&
      (thread == NULL || thread->sig != SIG_THREAD || thread->arena != arena))
    return arena_errorf(arena, KILN_PARAM, "thread root: not a thread registered with this arena");
  if (arena != NULL && arena->sig == SIG_ARENA && stack_cold_end == NULL)
    return arena_errorf(arena, KILN_PARAM, "thread root: stack_cold_end is NULL");
  return root_new(root_o, arena, ROOT_THREAD, KILN_RANK_AMBIG,
                  (struct kiln_root_s){.thread = thread, .cold_end = stack_cold_end});
}

static void root_destroy_locked(kiln_root_t root)
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

/* Another OS thread than the caller is registered with the arena. */
static int others_registered(kiln_arena_t arena)
{
  ring_t *node, *nxt;
  RING_FOR(node, &arena->threads, nxt) {
    kiln_thread_t t = CONTAINER(node, struct kiln_thread_s, arena_ring);
    if (!pthread_equal(t->id, pthread_self()))
      return 1;
  }
  return 0;
}

int arena_threads_many(kiln_arena_t arena)
{
  if (ring_empty(&arena->threads))
    return 0;
  kiln_thread_t first = CONTAINER(arena->threads.next, struct kiln_thread_s, arena_ring);
  ring_t *node, *nxt;
  RING_FOR(node, &arena->threads, nxt) {
    kiln_thread_t t = CONTAINER(node, struct kiln_thread_s, arena_ring);
    if (!pthread_equal(t->id, first->id))
      return 1;
  }
  return 0;
}

static kiln_res_t thread_reg(kiln_thread_t *thr_o, kiln_arena_t arena)
{
  if (thr_o == NULL)
    return arena_errorf(arena, KILN_PARAM, "kiln_thread_reg: thr_o is NULL");
  struct vm_thread_s *os = vm_thread_self();
  if (os == NULL)
    return arena_errorf(arena, KILN_FAIL, "kiln_thread_reg: could not install the signal "
                        "handlers that stop threads for a collection (SIGXCPU, SIGXFSZ)");
  kiln_thread_t t = calloc(1, sizeof *t);
  if (t == NULL)
    return arena_errorf(arena, KILN_MEMORY, "kiln_thread_reg: no memory");
  /* Increments run while the mutators do; with several threads the arena
     does its incremental collections in one pause (inc.c), so one under
     way ends before a second thread joins. */
  if (others_registered(arena))
    trace_inc_finish(arena);
  t->sig = SIG_THREAD;
  t->arena = arena;
  t->id = pthread_self();
  t->os = os;
  ring_append(&arena->threads, &t->arena_ring);
  *thr_o = t;
  return KILN_OK;
}

kiln_res_t kiln_thread_reg(kiln_thread_t *thr_o, kiln_arena_t arena)
{
  if (arena == NULL || arena->sig != SIG_ARENA)
    return kiln_set_error(KILN_PARAM, "kiln_thread_reg: not an arena");
  arena_lock(arena);
  kiln_res_t res = thread_reg(thr_o, arena);
  arena_unlock(arena);
  return res;
}

void kiln_thread_dereg(kiln_thread_t thread)
{
  if (thread == NULL)
    return;
  if (api_handle(thread, thread->sig, SIG_THREAD, "kiln_thread_dereg", "thread", 1) != KILN_OK)
    return;
  kiln_arena_t arena = thread->arena;
  arena_lock(arena);
  ring_remove(&thread->arena_ring);
  thread->sig = SIG_DEAD;
  arena_bury(arena, thread);
  arena_unlock(arena);
}

/* No registered thread: the client keeps every reference in its own
   roots, no stack is scanned, and any thread may allocate (one at a
   time: the client serialises them). Else only registered threads may:
   another's stack would never be scanned. */
int arena_thread_ok(kiln_arena_t arena)
{
  if (ring_empty(&arena->threads))
    return 1;
  ring_t *node, *nxt;
  RING_FOR(node, &arena->threads, nxt) {
    kiln_thread_t t = CONTAINER(node, struct kiln_thread_s, arena_ring);
    if (pthread_equal(t->id, pthread_self()))
      return 1;
  }
  return 0;
}

void threads_stop(kiln_arena_t arena)
{
  size_t n = 0, cap = 0;
  ring_t *node, *nxt;
  RING_FOR(node, &arena->threads, nxt)
    cap++;
  arena->nstopped = 0;
  if (cap == 0)
    return;
  if (cap > arena->stopped_cap) {
    struct vm_thread_s **a = realloc(arena->stopped, cap * sizeof *a);
    if (a == NULL) /* cannot stop them: the collection must not run */
      check_fail(__FILE__, __LINE__, "kiln: no memory to stop %zu threads for a collection",
                 cap);
    arena->stopped = a;
    arena->stopped_cap = cap;
  }
  RING_FOR(node, &arena->threads, nxt) {
    kiln_thread_t t = CONTAINER(node, struct kiln_thread_s, arena_ring);
    int seen = vm_thread_is_self(t->os);
    for (size_t i = 0; i < n && !seen; i++)
      seen = arena->stopped[i] == t->os; /* registered twice: stopped once */
    if (!seen)
      arena->stopped[n++] = t->os;
  }
  arena->nstopped = n;
  if (n > 0)
    vm_threads_stop(arena->stopped, n);
}

void threads_resume(kiln_arena_t arena)
{
  if (arena->nstopped > 0)
    vm_threads_resume(arena->stopped, arena->nstopped);
  arena->nstopped = 0;
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

/* Copies the live stack a chunk at a time and scans each copy, so the
   scan itself reads only ordinary memory (see vm_copy_stack); the chunk
   lives in this frame, as a thread stopped inside malloc may hold its
   lock. */
#define STACK_CHUNK 256
static void scan_stack_from(void *sp, void *closure)
{
  stack_scan_t *st = closure;
  void *chunk[STACK_CHUNK];
  void *const *p = (void *const *)((uintptr_t)sp & ~(uintptr_t)(sizeof(void *) - 1));
  void *const *end = (void *const *)st->cold;
  while (p < end && st->res == KILN_OK) {
    size_t n = (size_t)(end - p) < STACK_CHUNK ? (size_t)(end - p) : STACK_CHUNK;
    vm_copy_stack(chunk, p, p + n);
    st->res = scan_ambig_words(st->ss, chunk, chunk + n);
    p += n;
  }
}

static kiln_res_t scan_thread(kiln_ss_t ss, kiln_root_t r)
{
  stack_scan_t st = {ss, r->cold_end, KILN_OK};
  if (!pthread_equal(r->thread->id, pthread_self())) {
    void *hot = vm_thread_hot(r->thread->os); /* stopped by threads_stop */
    if (hot != NULL)
      scan_stack_from(hot, &st);
    return st.res;
  }
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
  kiln_res_t res = pin_scan(arena, ss);
  return res == KILN_OK ? ap_scan_traps(arena, ss) : res;
}

/* The public entry point holds the arena lock (arena.h). */
void kiln_root_destroy(kiln_root_t root)
{
  kiln_arena_t locked = arena_lock_live(root != NULL && root->sig == SIG_ROOT ? root->arena : NULL);
  root_destroy_locked(root);
  arena_unlock_live(locked);
}
