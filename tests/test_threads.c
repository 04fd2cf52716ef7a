/* test_threads.c -- several mutator threads on one arena.
 *
 * Owns the multi-thread checks: four threads each build and replace a
 * private list of known objects, held only by their local variables, and
 * all mutate one shared subgraph (an exact root area under a mutex, whose
 * objects refer to each other and lose those references through
 * kiln_write), while collections run (explicit ones from some threads, allocation-driven
 * ones, and every few reserves at stress), under every automatic pool
 * configuration; a thread blocked in a system call does not block a
 * collection and keeps its stack-held objects; commits that a concurrent
 * collection interrupts fail and are retried; the heap's join/leave rule
 * and its errors. Worker threads record a failure in their own struct; the
 * test's thread asserts it, as Check's asserts belong to that thread.
 */
#include "testlib.h"
#include "graph.h"
#include "kiln/heap.h"
#include "vm.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 4
#define NPAY 24

/* ---- a worker thread ---------------------------------------------------- */

typedef struct worker_s {
  kiln_arena_t arena;
  kiln_pool_t pool;
  int index;
  unsigned rounds, length;
  unsigned collect_every;        /* explicit collections every so many rounds (0: none) */
  int yield_in_commit;           /* widen the reserve-commit window (sched_yield) */
  pthread_barrier_t *start;
  int shared;                    /* mutate the shared subgraph too (run_workers) */
  uint64_t rng, made;            /* the shared subgraph's choices and ids */
  /* outcome */
  size_t verified;               /* objects found intact */
  size_t shared_verified;        /* objects of the shared subgraph found intact */
  size_t failed_commits;
  char failure[256];             /* empty: none */
} worker_t;

#define note_failure(w, ...) test_note_failure((w)->failure, sizeof (w)->failure, __VA_ARGS__)

/* An object with one reference (next) and the id's payload, by the
   reserve/commit protocol: a failed commit is counted and retried. */
static gobj_t *new_obj(worker_t *w, kiln_ap_t ap, uint64_t id, gobj_t *next)
{
  size_t size = gobj_size(1, NPAY);
  for (;;) {
    void *p;
    kiln_res_t res = kiln_reserve(&p, ap, size);
    if (res != KILN_OK) {
      note_failure(w, "thread %d: reserve %zu bytes: %s (%s)", w->index, size, kiln_res_name(res),
           kiln_arena_error(w->arena));
      return NULL;
    }
    gobj_t *o = fz_obj_init(p, id, 1, NPAY);
    if (w->yield_in_commit) {
      sched_yield();
#ifdef KILN_TSAN
      /* ThreadSanitizer runs a pending stop signal's handler only as the
         thread leaves an intercepted call; nanosleep is one, so a stop
         can land in this window as it can anywhere in other builds. */
      nanosleep(&(struct timespec){0, 0}, NULL);
#endif
    }
    /* What the thread wrote is still there, whatever collection came
       between its reserve and now. */
    if (!fz_obj_ok(o, id, 1, NPAY)) {
      note_failure(w, "thread %d: its reservation at %p changed under it before the commit",
                   w->index, p);
      return NULL;
    }
    o->ref[0] = next;
    if (kiln_commit(ap, p, size))
      return o;
    w->failed_commits++;
  }
}

/* A list of w->length objects with ids first, first + 1, ... */
static gobj_t *build(worker_t *w, kiln_ap_t ap, uint64_t first)
{
  gobj_t *head = NULL;
  for (unsigned i = w->length; i-- > 0 && w->failure[0] == '\0';)
    head = new_obj(w, ap, first + i, head);
  return head;
}

static void verify(worker_t *w, const gobj_t *head, uint64_t first)
{
  unsigned n = 0;
  for (const gobj_t *o = head; o != NULL && w->failure[0] == '\0'; o = o->ref[0], n++) {
    if (!fz_obj_ok(o, first + n, 1, NPAY))
      note_failure(w, "thread %d: object %u of its list (id %llu) at %p: found id %llu or a "
                   "corrupted header or payload", w->index, n, (unsigned long long)(first + n),
                   (const void *)o, (unsigned long long)o->id);
  }
  if (w->failure[0] == '\0' && n != w->length)
    note_failure(w, "thread %d: its list has %u objects, wanted %u", w->index, n, w->length);
  w->verified += n;
}

/* ---- the shared subgraph ------------------------------------------------ */

/* SHARED root slots every thread reads and replaces under sh.lock. A new
   object refers to the object in another slot, and that object (often
   old) is made to refer back to it through kiln_write: once the new one
   leaves its slot, only that reference keeps it, across threads and
   generations. id and next_id are the model. */
#define SHARED 64
static struct {
  pthread_mutex_t lock;
  void *slot[SHARED];
  uint64_t id[SHARED], next_id[SHARED];
} sh;

static void shared_check(worker_t *w, size_t i)
{
  const gobj_t *o = sh.slot[i];
  if (o == NULL || w->failure[0] != '\0')
    return;
  const gobj_t *next = o->ref[0];
  if (!fz_obj_ok(o, sh.id[i], 1, NPAY))
    note_failure(w, "thread %d: shared slot %zu at %p: found id %llu, wanted %llu, or a "
                 "corrupted object", w->index, i, (const void *)o, (unsigned long long)o->id,
                 (unsigned long long)sh.id[i]);
  else if ((next == NULL) != (sh.next_id[i] == 0) ||
           (next != NULL && !fz_obj_ok(next, sh.next_id[i], 1, NPAY)))
    note_failure(w, "thread %d: shared slot %zu's object refers to %p, wanted id %llu",
                 w->index, i, (const void *)next, (unsigned long long)sh.next_id[i]);
  else
    w->shared_verified += 1 + (next != NULL);
}

/* sh.lock by polling: ThreadSanitizer runs a stop signal's handler only
   as a thread leaves an intercepted call, so a thread blocked in
   pthread_mutex_lock while the holder collects would hold the collection
   up; each failed trylock returns from one (the arena's lock is polled
   so too, core/vm.h). */
static void shared_lock(void)
{
  while (pthread_mutex_trylock(&sh.lock) != 0)
    sched_yield();
}

/* Check two slots, then put a new object in slot i referring to slot j's,
   which refers to it in turn. */
static void shared_step(worker_t *w, kiln_ap_t ap)
{
  size_t i = test_rand(&w->rng) % SHARED, j = test_rand(&w->rng) % SHARED;
  uint64_t id = (uint64_t)(w->index + 1) << 40 | (uint64_t)1 << 39 | ++w->made;
  shared_lock();
  shared_check(w, i);
  shared_check(w, j);
  gobj_t *next = sh.slot[j];
  uint64_t next_id = sh.id[j];
  gobj_t *o = new_obj(w, ap, id, next);
  if (o != NULL) {
    if (next != NULL) {
      gobj_store(w->arena, next, 0, o);
      sh.next_id[j] = id;
    }
    sh.slot[i] = o;
    sh.id[i] = id;
    sh.next_id[i] = next != NULL ? next_id : 0;
  }
  pthread_mutex_unlock(&sh.lock);
}

/* The list lives only in this function's locals: the thread's stack and
   registers. */
static void run_rounds(worker_t *w, kiln_ap_t ap)
{
  uint64_t base = (uint64_t)(w->index + 1) << 40;
  gobj_t *keep = build(w, ap, base);
  for (unsigned r = 1; r <= w->rounds && w->failure[0] == '\0'; r++) {
    uint64_t first = base + (uint64_t)r * w->length;
    gobj_t *next = build(w, ap, first);
    verify(w, keep, first - w->length);
    keep = next;
    for (int k = 0; k < 8 && w->shared; k++)
      shared_step(w, ap);
    if (w->collect_every != 0 && r % w->collect_every == 0)
      kiln_arena_collect(w->arena);
  }
  verify(w, keep, base + (uint64_t)w->rounds * w->length);
}

static void *worker(void *arg)
{
  worker_t *w = arg;
  kiln_thread_t thr;
  kiln_root_t root;
  kiln_ap_t ap;
  if (kiln_thread_reg(&thr, w->arena) != KILN_OK) {
    note_failure(w, "thread %d: kiln_thread_reg: %s", w->index, kiln_arena_error(w->arena));
    pthread_barrier_wait(w->start);
    return NULL;
  }
  if (kiln_root_create_thread(&root, w->arena, thr, vm_stack_cold_end()) != KILN_OK ||
      kiln_ap_create(&ap, w->pool, NULL) != KILN_OK) {
    note_failure(w, "thread %d: root or allocation point: %s", w->index, kiln_arena_error(w->arena));
    pthread_barrier_wait(w->start);
    return NULL;
  }
  pthread_barrier_wait(w->start);
  run_rounds(w, ap);
  kiln_ap_destroy(ap);
  kiln_root_destroy(root);
  kiln_thread_dereg(thr);
  return NULL;
}

/* Run NTHREADS workers on a fresh arena (stress: the arena's stress
   parameter, 0 for none) and assert every one's lists were intact, that
   collections ran meanwhile, and that the memory is reclaimed after. */
static void run_workers(int which, size_t stress, unsigned rounds, unsigned length,
                        int yield_in_commit, size_t *failed_commits_o)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_arg_t args[] = {KILN_ARG_SIZE("stress", stress), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&arena, stress != 0 ? args : NULL));
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  kiln_pool_t pool = make_config_pool(arena, fmt, which, 1u << 20, 16u << 10, NULL);
  memset(&sh, 0, sizeof sh);
  pthread_mutex_init(&sh.lock, NULL);
  (void)exact_area(arena, sh.slot, SHARED);
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, NTHREADS);
  worker_t w[NTHREADS];
  pthread_t tid[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    w[i] = (worker_t){.arena = arena, .pool = pool, .index = i, .rounds = rounds,
                      .length = length, .collect_every = i % 2 == 0 ? 0 : 4u + (unsigned)i,
                      .yield_in_commit = yield_in_commit, .start = &start,
                      .shared = 1, .rng = test_seed(0x5eed0 + (uint64_t)i)};
    ck_assert_int_eq(pthread_create(&tid[i], NULL, worker, &w[i]), 0);
  }
  size_t failed = 0;
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(tid[i], NULL);
    ck_assert_msg(w[i].failure[0] == '\0', "%s: %s", config_names[which], w[i].failure);
    ck_assert_uint_eq(w[i].verified, (size_t)(rounds + 1) * length);
    failed += w[i].failed_commits;
  }
  worker_t last = {.arena = arena, .index = NTHREADS};
  size_t shared_before = 0;
  for (int i = 0; i < NTHREADS; i++)
    shared_before += w[i].shared_verified;
  for (size_t i = 0; i < SHARED; i++)
    shared_check(&last, i);
  ck_assert_msg(last.failure[0] == '\0', "%s: %s", config_names[which], last.failure);
  ck_assert_uint_gt(shared_before + last.shared_verified, (size_t)rounds);
  memset(sh.slot, 0, sizeof sh.slot);
  pthread_mutex_destroy(&sh.lock);
  pthread_barrier_destroy(&start);
  kiln_stats_t st = astats(arena);
  uint64_t during = st.collections;
  size_t objs = (size_t)NTHREADS * (rounds + 1) * length;
  ck_assert_msg(during >= (uint64_t)rounds / 5, "%s: only %llu collections ran",
                config_names[which], (unsigned long long)during);
  ck_assert_uint_ge(st.allocated, objs * gobj_size(1, NPAY));
  /* Every list is dropped with its thread: a full collection frees it. */
  kiln_arena_collect(arena);
  st = astats(arena);
  ck_assert_msg(st.live < 2 * (size_t)NTHREADS * length * gobj_size(1, NPAY),
                "%s: %zu bytes live after every thread left (allocated %zu)",
                config_names[which], st.live, st.allocated);
  if (failed_commits_o != NULL)
    *failed_commits_o = failed;
  kiln_arena_destroy(arena);
}

START_TEST(test_four_threads)
{
  run_workers(_i, 0, (unsigned)test_scale(60), 400, 0, NULL);
}
END_TEST

START_TEST(test_four_threads_stress)
{
  run_workers(_i, 64, (unsigned)test_scale(12), 100, 0, NULL);
}
END_TEST

/* (c) Commits a collection interrupts fail and are retried: every list is
   still exact, and at least one commit failed (a collection stopped a
   thread between its reserve and its commit). */
START_TEST(test_commit_retry)
{
  size_t failed = 0;
  for (int attempt = 0; attempt < 20 && failed == 0; attempt++)
    run_workers(_i == 0 ? CONFIG_MS : CONFIG_COPY, 0, 30, 200, 1, &failed);
  ck_assert_uint_gt(failed, 0);
}
END_TEST

/* ---- a thread blocked in a system call ------------------------------------ */

typedef struct blocked_s {
  kiln_arena_t arena;
  kiln_pool_t pool;
  int fd;                        /* read end of the pipe it blocks on */
  atomic_int ready;
  worker_t w;                    /* for new_obj, verify and the failure */
} blocked_t;

static void *blocked_thread(void *arg)
{
  blocked_t *b = arg;
  kiln_thread_t thr;
  kiln_root_t root;
  kiln_ap_t ap;
  if (kiln_thread_reg(&thr, b->arena) != KILN_OK ||
      kiln_root_create_thread(&root, b->arena, thr, vm_stack_cold_end()) != KILN_OK ||
      kiln_ap_create(&ap, b->pool, NULL) != KILN_OK) {
    note_failure(&b->w, "blocked thread: setup: %s", kiln_arena_error(b->arena));
    atomic_store(&b->ready, 1);
    return NULL;
  }
  gobj_t *list = build(&b->w, ap, 7000); /* only on this stack */
  atomic_store(&b->ready, 1);
  char c;
  ssize_t n;
#ifdef KILN_TSAN
  /* ThreadSanitizer runs a signal handler in a thread blocked in read(2)
     only once read returns, so a stop would wait for the pipe forever;
     poll(2) is a call it lets a handler interrupt. The thread blocks in
     that system call instead. */
  struct pollfd pfd = {.fd = b->fd, .events = POLLIN};
  while (poll(&pfd, 1, -1) < 0)
    ; /* interrupted by a stop: poll again */
#endif
  while ((n = read(b->fd, &c, 1)) < 0)
    ; /* interrupted: read again */
  verify(&b->w, list, 7000);
  kiln_ap_destroy(ap);
  kiln_root_destroy(root);
  kiln_thread_dereg(thr);
  return NULL;
}

/* (b) The collecting thread stops a thread blocked in read(2) without its
   cooperation, scans its stack, and returns; the blocked thread's list,
   held only by its stack, is intact when it wakes. */
START_TEST(test_blocked_in_syscall)
{
  int which = _i == 0 ? CONFIG_MS : _i == 1 ? CONFIG_COPY : CONFIG_GEN_COPY;
  kiln_arena_t arena;
  kiln_fmt_t fmt = arena_with_format(&arena, graph_format());
  kiln_pool_t pool = make_config_pool(arena, fmt, which, 1u << 20, 16u << 10, NULL);
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  blocked_t b = {.arena = arena, .pool = pool, .fd = fds[0]};
  b.w = (worker_t){.arena = arena, .pool = pool, .index = 9, .length = 300};
  pthread_t tid;
  ck_assert_int_eq(pthread_create(&tid, NULL, blocked_thread, &b), 0);
  while (!atomic_load(&b.ready))
    sched_yield();
  usleep(20000); /* let it reach read() */
  /* This thread registers too, and allocates garbage over the freed space. */
  kiln_thread_t thr;
  kiln_root_t root = stack_root(arena, &thr);
  kiln_ap_t ap;
  ck_assert_ok(kiln_ap_create(&ap, pool, NULL));
  worker_t me = {.arena = arena, .pool = pool, .index = 10, .length = 500};
  uint64_t c0 = fulls(arena);
  double t0 = (double)clock() / CLOCKS_PER_SEC;
  for (int i = 0; i < 10; i++) {
    (void)build(&me, ap, 100000 + (uint64_t)i * 1000);
    kiln_arena_collect(arena);
  }
  ck_assert_msg(me.failure[0] == '\0', "%s", me.failure);
  ck_assert_uint_ge(fulls(arena) - c0, 10);
  ck_assert_msg((double)clock() / CLOCKS_PER_SEC - t0 < 10.0, "collections took too long");
  ck_assert_int_eq(write(fds[1], "x", 1), 1);
  pthread_join(tid, NULL);
  ck_assert_msg(b.w.failure[0] == '\0', "%s: %s", config_names[which], b.w.failure);
  ck_assert_uint_eq(b.w.verified, 300);
  kiln_ap_destroy(ap);
  kiln_root_destroy(root);
  kiln_thread_dereg(thr);
  close(fds[0]);
  close(fds[1]);
  kiln_arena_destroy(arena);
}
END_TEST

/* ---- heaps: join and leave -------------------------------------------------- */

static kiln_heap_t the_heap;

typedef struct heap_worker_s {
  worker_t w;
  int join;                      /* 0: try kiln_heap_ap without joining */
  char refused[512];             /* the sentence kiln_heap_ap gave, when it refused */
  char double_join[512], leave_twice[512];
} heap_worker_t;

static void *heap_thread(void *arg)
{
  heap_worker_t *h = arg;
  if (!h->join) {
    kiln_ap_t ap = kiln_heap_ap(the_heap, "objects");
    if (ap != NULL)
      note_failure(&h->w, "kiln_heap_ap served a thread that did not join");
    snprintf(h->refused, sizeof h->refused, "%s", kiln_arena_error(NULL));
    kiln_heap_leave(the_heap); /* leave without join */
    snprintf(h->leave_twice, sizeof h->leave_twice, "%s", kiln_arena_error(NULL));
    return NULL;
  }
  if (kiln_heap_join(the_heap) != KILN_OK) {
    note_failure(&h->w, "kiln_heap_join: %s", kiln_arena_error(NULL));
    return NULL;
  }
  if (kiln_heap_join(the_heap) != KILN_PARAM)
    note_failure(&h->w, "a second kiln_heap_join did not return KILN_PARAM");
  snprintf(h->double_join, sizeof h->double_join, "%s", kiln_arena_error(NULL));
  kiln_ap_t ap = kiln_heap_ap(the_heap, "objects");
  if (ap == NULL) {
    note_failure(&h->w, "kiln_heap_ap after join: %s", kiln_arena_error(NULL));
    return NULL;
  }
  if (kiln_heap_ap(the_heap, "objects") != ap)
    note_failure(&h->w, "kiln_heap_ap gave a second allocation point for the same role");
  run_rounds(&h->w, ap);
  kiln_heap_leave(the_heap);
  if (kiln_heap_ap(the_heap, "objects") != NULL)
    note_failure(&h->w, "kiln_heap_ap served a thread that left");
  return NULL;
}

/* (d) and heaps: joined threads allocate through their own points while
   others collect; a thread that did not join is refused, a double join
   and a leave without a join say why. */
START_TEST(test_heap_join_leave)
{
  static const char *const plans[] = {"marksweep", "semispace", "genms", "gencopy", "sticky",
                                      "sticky-inc"};
  ck_assert_ok(kiln_heap_open(&the_heap, plans[_i], graph_format(), NULL));
  kiln_ap_t mine = kiln_heap_ap(the_heap, "objects");
  ck_assert_ptr_nonnull(mine);
  ck_assert_res(kiln_heap_join(the_heap), KILN_PARAM); /* the opener has joined */
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(NULL), "already joined"));
  heap_worker_t h[NTHREADS + 1];
  pthread_t tid[NTHREADS + 1];
  for (int i = 0; i <= NTHREADS; i++) {
    memset(&h[i], 0, sizeof h[i]);
    h[i].join = i < NTHREADS;
    h[i].w = (worker_t){.arena = kiln_heap_arena(the_heap), .index = i, .rounds = 20,
                        .length = 300, .collect_every = i == 1 ? 3 : 0};
    ck_assert_int_eq(pthread_create(&tid[i], NULL, heap_thread, &h[i]), 0);
  }
  for (int i = 0; i <= NTHREADS; i++) {
    pthread_join(tid[i], NULL);
    ck_assert_msg(h[i].w.failure[0] == '\0', "%s: %s", plans[_i], h[i].w.failure);
  }
  for (int i = 0; i < NTHREADS; i++) {
    ck_assert_uint_eq(h[i].w.verified, 21 * 300);
    ck_assert_ptr_nonnull(strstr(h[i].double_join, "already joined the heap"));
  }
  ck_assert_ptr_nonnull(strstr(h[NTHREADS].refused, "call kiln_heap_join(heap)"));
  ck_assert_ptr_nonnull(strstr(h[NTHREADS].leave_twice, "has not joined the heap"));
  kiln_heap_leave(the_heap); /* the opener closes instead */
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(NULL), "kiln_heap_close"));
  ck_assert_ptr_eq(kiln_heap_ap(the_heap, "objects"), mine);
  kiln_heap_close(the_heap);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("threads");
  TCase *tc = suite_add_case(s, "mutators", 60);
  tcase_add_loop_test(tc, test_four_threads, 0, NCONFIGS);
  tcase_add_loop_test(tc, test_four_threads_stress, 0, NCONFIGS);
  tcase_add_loop_test(tc, test_commit_retry, 0, 2);
  tcase_add_loop_test(tc, test_blocked_in_syscall, 0, 3);
  tcase_add_loop_test(tc, test_heap_join_leave, 0, 6);
  return s;
}
