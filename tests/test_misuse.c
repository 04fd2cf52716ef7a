/* test_misuse.c -- misuse of the C API: every call with a bad handle, from
 * the wrong thread, or out of protocol has a defined outcome.
 *
 * Each case runs in a forked child (testlib.c). The checked build must
 * abort with a "kiln: checked build: " sentence naming the call; the
 * default build must not crash, and where it can tell it refuses the call
 * and leaves the sentence in kiln_arena_error (the child prints it). A
 * case of a misuse only the checked build catches (include/kiln.h, "What
 * only the checked build catches") runs on the checked build alone.
 */
#include "testlib.h"
#include "arena.h"
#include "pool.h"
#include "graph.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* ---- a small format: a size word, then bytes of a pattern ------------- */

static size_t word_at(const void *p)
{
  size_t w;
  memcpy(&w, p, sizeof w); /* objects may be misaligned here on purpose */
  return w;
}
static kiln_res_t m_scan(kiln_ss_t ss, void *base, void *limit)
{
  (void)ss, (void)base, (void)limit;
  return KILN_OK;
}
static void *m_skip(void *obj) { return (char *)obj + word_at(obj); }
static const kiln_format_t m_format = {8, 0, m_scan, m_skip, NULL, NULL, NULL};

/* Make the size bytes at p an object of the format, filled with byte. */
static void m_init(void *p, size_t size, unsigned char byte)
{
  memset(p, byte, size);
  memcpy(p, &size, sizeof size);
}

static int m_intact(const void *p, size_t size, unsigned char byte)
{
  const unsigned char *b = p;
  if (word_at(p) != size)
    return 0;
  for (size_t i = sizeof(size_t); i < size; i++)
    if (b[i] != byte)
      return 0;
  return 1;
}

typedef struct env_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pool;
  kiln_ap_t ap;
} env_t;

static env_t env_open(kiln_class_t klass, const kiln_format_t *format)
{
  env_t e;
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("reserve", 64 << 20), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&e.arena, aargs));
  ck_assert_ok(kiln_fmt_create(&e.fmt, e.arena, format));
  kiln_arg_t pargs[] = {KILN_ARG_PTR("format", e.fmt), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&e.pool, e.arena, klass, pargs));
  ck_assert_ok(kiln_ap_create(&e.ap, e.pool, NULL));
  return e;
}

static void env_close(env_t *e)
{
  kiln_ap_destroy(e->ap);
  kiln_pool_destroy(e->pool);
  kiln_fmt_destroy(e->fmt);
  kiln_arena_destroy(e->arena);
}

static void *m_new(env_t *e, size_t size, unsigned char byte)
{
  void *p;
  do {
    if (kiln_reserve(&p, e->ap, size) != KILN_OK)
      return NULL;
    m_init(p, size, byte);
  } while (!kiln_commit(e->ap, p, size));
  return p;
}

static kiln_pool_t mfs_pool(kiln_arena_t arena, size_t unit)
{
  kiln_pool_t pool;
  kiln_arg_t args[] = {KILN_ARG_SIZE("unit_size", unit), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&pool, arena, kiln_class_mfs(), args));
  return pool;
}

/* The child's verdict for the default build, read by the parent. */
static void say(const char *what) { fprintf(stderr, "[%s]\n", what); }
static void say_error(void) { fprintf(stderr, "error: %s\n", kiln_arena_error(NULL)); }

/* Run fn in a child. Checked build: abort, with "kiln: checked build: "
   and want in the report. Default build: exit 0, and the child's output
   holds want_default (NULL: only that it did not crash). */
static void expect_misuse(void (*fn)(void), const char *want, const char *want_default)
{
  char out[4096];
  int status = test_run_child(fn, out, sizeof out);
  if (KILN_CHECKING) {
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "no abort; output: %s", out);
    ck_assert_msg(strstr(out, "kiln: checked build: ") != NULL && strstr(out, want) != NULL,
                  "the report was '%s', wanted '%s'", out, want);
    ck_assert_msg(strstr(out, "assertion failed") == NULL, "a bare assertion: %s", out);
  } else {
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d; output: %s", status,
                  out);
    ck_assert_msg(want_default == NULL || strstr(out, want_default) != NULL,
                  "the output was '%s', wanted '%s'", out, want_default);
  }
}

/* expect_misuse for a use of a destroyed handle: both builds' output also
   names the handle's kind and the rule. */
static void expect_destroyed_use(void (*fn)(void), const char *want, const char *want_default,
                                 const char *kind)
{
  expect_misuse(fn, want, want_default);
  char out[4096], rule[128];
  (void)test_run_child(fn, out, sizeof out);
  snprintf(rule, sizeof rule, "was destroyed; a destroyed %s must not be used again", kind);
  ck_assert_msg(strstr(out, rule) != NULL, "output: %s", out);
}

/* ---- item 1: the thread rule ------------------------------------------ */

typedef struct thread_try_s {
  env_t *e;
  kiln_ap_t ap;          /* the AP to use; NULL: make one in the thread */
  kiln_res_t res;        /* the first reserve that failed */
  size_t reserved;       /* objects reserved before it */
  int committed_last;    /* kiln_commit's answer for the last reserved one */
  char error[512];
} thread_try_t;

/* Reserve and commit small objects until a reserve fails (bounded). */
static void *thread_allocates(void *arg)
{
  thread_try_t *t = arg;
  t->res = KILN_OK;
  if (t->ap == NULL && (t->res = kiln_ap_create(&t->ap, t->e->pool, NULL)) != KILN_OK)
    return NULL;
  for (size_t i = 0; i < 100000 && t->res == KILN_OK; i++) {
    void *p;
    t->res = kiln_reserve(&p, t->ap, 64);
    if (t->res != KILN_OK)
      break;
    m_init(p, 64, 0x77);
    t->committed_last = kiln_commit(t->ap, p, 64);
    t->reserved++;
  }
  snprintf(t->error, sizeof t->error, "%s", kiln_arena_error(t->e->arena));
  return NULL;
}

static void run_in_thread(thread_try_t *t)
{
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, thread_allocates, t), 0);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
}

START_TEST(test_second_thread_reserve_refused)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  kiln_thread_t thr;
  ck_assert_ok(kiln_thread_reg(&thr, e.arena));
  enum { N = 64 };
  static void *keep[N];
  kiln_root_t root = exact_area(e.arena, keep, N);
  for (int i = 0; i < N; i++)
    ck_assert_ptr_nonnull(keep[i] = m_new(&e, 48, (unsigned char)i));

  /* The registered thread's AP, used by another thread: the fast path
     cannot tell, but the first slow path refuses it. */
  thread_try_t t = {&e, e.ap, KILN_OK, 0, 0, ""};
  run_in_thread(&t);
  ck_assert_res(t.res, KILN_PARAM);
  ck_assert_msg(strstr(t.error, "not registered with its arena") != NULL &&
                    strstr(t.error, "register this thread (kiln_thread_reg") != NULL,
                "error: %s", t.error);
  ck_assert_msg(t.reserved < 100000, "the buffer never ran out");
  if (KILN_CHECKING) /* every reserve is checked */
    ck_assert_uint_eq(t.reserved, 0);

  /* An AP of its own: refused at once, as it has no buffer. */
  thread_try_t own = {&e, NULL, KILN_OK, 0, 0, ""};
  run_in_thread(&own);
  ck_assert_res(own.res, KILN_PARAM);
  ck_assert_uint_eq(own.reserved, 0);
  ck_assert_ptr_nonnull(strstr(own.error, "not registered with its arena"));

  /* The registered thread carries on; its objects are intact. */
  kiln_arena_collect(e.arena);
  for (int i = 0; i < N; i++)
    ck_assert_msg(m_intact(keep[i], 48, (unsigned char)i), "object %d changed", i);
  ck_assert_ptr_nonnull(m_new(&e, 48, 0x55));
  kiln_ap_destroy(own.ap);
  kiln_root_destroy(root);
  kiln_thread_dereg(thr);
  env_close(&e);
}
END_TEST

/* A commit whose slow path runs on the wrong thread fails. */
static void *thread_commits(void *arg)
{
  thread_try_t *t = arg;
  void *p = NULL;
  t->committed_last = kiln_commit(t->ap, p, 64); /* the AP is trapped: slow path */
  snprintf(t->error, sizeof t->error, "%s", kiln_arena_error(t->e->arena));
  return NULL;
}

START_TEST(test_second_thread_commit_refused)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  kiln_thread_t thr;
  ck_assert_ok(kiln_thread_reg(&thr, e.arena));
  void *p;
  ck_assert_ok(kiln_reserve(&p, e.ap, 64));
  m_init(p, 64, 1);
  kiln_arena_collect(e.arena); /* traps the outstanding reservation */
  thread_try_t t = {&e, e.ap, KILN_OK, 0, 1, ""};
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, thread_commits, &t), 0);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
  ck_assert_int_eq(t.committed_last, 0);
  ck_assert_ptr_nonnull(strstr(t.error, "kiln_commit: allocation point"));
  ck_assert_ptr_nonnull(strstr(t.error, "not registered with its arena"));
  ck_assert_ptr_nonnull(m_new(&e, 64, 2)); /* the AP still works for its thread */
  kiln_thread_dereg(thr);
  env_close(&e);
}
END_TEST

/* No registered thread: nothing is scanned, any one thread may allocate. */
START_TEST(test_unregistered_arena_any_thread)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  thread_try_t t = {&e, NULL, KILN_OK, 0, 0, ""};
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, thread_allocates, &t), 0);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
  ck_assert_uint_eq(t.reserved, 100000);
  kiln_ap_destroy(t.ap);
  env_close(&e);
}
END_TEST

/* ---- item 5: NULL and wrong handles ----------------------------------- */

static void free_on_automatic_pool(void)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  void *p = m_new(&e, 64, 9);
  kiln_free(e.pool, p, 64);
  say_error();
  kiln_arena_collect(e.arena); /* the pool is sound */
  env_close(&e);
}

START_TEST(test_free_on_automatic_pool)
{
  const char *want = "kiln_free(0x";
  expect_misuse(free_on_automatic_pool, want,
                ") is automatic; its objects die when nothing refers to them");
}
END_TEST

static void free_null_pool(void)
{
  char block[16];
  kiln_free(NULL, block, sizeof block);
  say_error();
}

static void collect_null_arena(void)
{
  kiln_arena_collect(NULL);
  say_error();
}

static void pool_collect_null(void)
{
  kiln_pool_collect(NULL);
  say_error();
}

static void park_null(void)
{
  kiln_arena_park(NULL);
  say_error();
}

static void release_null(void)
{
  kiln_arena_release(NULL);
  say_error();
}

static void release_without_park(void)
{
  kiln_arena_t a;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  kiln_arena_release(a);
  say_error();
  kiln_arena_collect(a); /* not left parked below zero: collections still run */
  kiln_stats_t st = astats(a);
  say(st.collections == 1 ? "collected" : "not collected");
  kiln_arena_destroy(a);
}

static void arena_stats_null(void)
{
  kiln_stats_t st;
  memset(&st, 0xff, sizeof st);
  kiln_arena_stats(NULL, &st);
  say_error();
  say(st.collections == 0 && st.committed == 0 ? "zeroed" : "not zeroed");
}

static void arena_stats_null_out(void)
{
  kiln_arena_t a;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  kiln_arena_stats(a, NULL);
  say_error();
  kiln_arena_destroy(a);
}

static void pool_stats_null(void)
{
  kiln_pool_stats_t ps;
  kiln_pool_stats(NULL, &ps);
  say_error();
}

/* A pointer of another type where a pool is wanted. */
static void pool_collect_wrong_type(void)
{
  kiln_arena_t a;
  kiln_fmt_t f;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  ck_assert_ok(kiln_fmt_create(&f, a, &m_format));
  kiln_pool_collect((kiln_pool_t)(void *)f);
  say_error();
  kiln_arena_destroy(a);
}

static void collect_wrong_type(void)
{
  kiln_arena_t a;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  kiln_pool_t pool = mfs_pool(a, 32);
  kiln_arena_collect((kiln_arena_t)(void *)pool);
  say_error();
  kiln_arena_destroy(a);
}

static const struct void_case_s {
  const char *name;
  void (*fn)(void);
  const char *want;          /* in both builds' sentence */
  const char *also_default;  /* more the default build's output must hold */
} void_cases[] = {
  {"free_null_pool", free_null_pool,
   "kiln_free: the pool is NULL; pass a pool made by kiln_pool_create", NULL},
  {"collect_null_arena", collect_null_arena,
   "kiln_arena_collect: the arena is NULL; pass an arena made by kiln_arena_create", NULL},
  {"pool_collect_null", pool_collect_null, "kiln_pool_collect: the pool is NULL", NULL},
  {"park_null", park_null, "kiln_arena_park: the arena is NULL", NULL},
  {"release_null", release_null, "kiln_arena_release: the arena is NULL", NULL},
  {"release_without_park", release_without_park,
   "is not parked; call it once per kiln_arena_park", "[collected]"},
  {"arena_stats_null", arena_stats_null, "kiln_arena_stats: the arena is NULL", "[zeroed]"},
  {"arena_stats_null_out", arena_stats_null_out, "kiln_arena_stats: stats_o is NULL", NULL},
  {"pool_stats_null", pool_stats_null, "kiln_pool_stats: the pool is NULL", NULL},
  {"pool_collect_wrong_type", pool_collect_wrong_type,
   "is not a pool; pass one made by kiln_pool_create", NULL},
  {"collect_wrong_type", collect_wrong_type,
   "is not an arena; pass one made by kiln_arena_create", NULL},
};

START_TEST(test_void_entry_points_null_and_wrong_type)
{
  const struct void_case_s *c = &void_cases[_i];
  char out[4096];
  int status = test_run_child(c->fn, out, sizeof out);
  if (KILN_CHECKING) {
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s: no abort; output: %s",
                  c->name, out);
    ck_assert_msg(strstr(out, "kiln: checked build: ") != NULL && strstr(out, c->want) != NULL,
                  "%s: the report was '%s', wanted '%s'", c->name, out, c->want);
  } else {
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %d; output: %s",
                  c->name, status, out);
    ck_assert_msg(strstr(out, c->want) != NULL, "%s: the output was '%s', wanted '%s'", c->name,
                  out, c->want);
    ck_assert_msg(c->also_default == NULL || strstr(out, c->also_default) != NULL,
                  "%s: the output was '%s', wanted '%s'", c->name, out, c->also_default);
  }
}
END_TEST

/* Functions with a result refuse bad handles with KILN_PARAM in every
   build. */
START_TEST(test_result_entry_points_refuse_null)
{
  void *p;
  kiln_ap_t ap;
  kiln_pool_t pool;
  kiln_fmt_t fmt;
  kiln_root_t root;
  kiln_thread_t thr;
  void *area[2];
  ck_assert_res(kiln_alloc(&p, NULL, 8), KILN_PARAM);
  ck_assert_res(kiln_ap_create(&ap, NULL, NULL), KILN_PARAM);
  ck_assert_res(kiln_ap_fill(&p, NULL, 8), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL), "kiln_reserve: the allocation point is NULL; pass an "
                                           "allocation point made by kiln_ap_create");
  ck_assert_res(kiln_pool_create(&pool, NULL, kiln_class_mfs(), NULL), KILN_PARAM);
  ck_assert_res(kiln_fmt_create(&fmt, NULL, &m_format), KILN_PARAM);
  ck_assert_res(kiln_root_create_area(&root, NULL, area, area + 2, KILN_RANK_EXACT), KILN_PARAM);
  ck_assert_res(kiln_thread_reg(&thr, NULL), KILN_PARAM);
  ck_assert_int_eq(kiln_ap_trip(NULL, NULL, 8), 0);
  ck_assert_ptr_null(kiln_pool_class(NULL));
  ck_assert_ptr_null(kiln_pool_arena(NULL));
  /* NULL handles to destroy are ignored, as free(NULL) is. */
  kiln_arena_destroy(NULL);
  kiln_pool_destroy(NULL);
  kiln_ap_destroy(NULL);
  kiln_root_destroy(NULL);
  kiln_fmt_destroy(NULL);
  kiln_thread_dereg(NULL);
}
END_TEST

/* kiln_alloc of an automatic pool and kiln_ap_create of a manual one. */
START_TEST(test_wrong_class_refused)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  kiln_pool_t manual = mfs_pool(e.arena, 32);
  void *p;
  kiln_ap_t ap;
  ck_assert_res(kiln_alloc(&p, e.pool, 16), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "is automatic; allocate through"));
  ck_assert_res(kiln_ap_create(&ap, manual, NULL), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "is manual; use kiln_alloc"));
  kiln_pool_destroy(manual);
  env_close(&e);
}
END_TEST

/* ---- item 7: a misaligned reservation --------------------------------- */

START_TEST(test_misaligned_reserve)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  void *first, *p;
  ck_assert_ptr_nonnull(first = m_new(&e, 8 + 8, 0x21));
  kiln_res_t res = kiln_reserve(&p, e.ap, 17);
  if (KILN_CHECKING) {
    /* Every reserve is checked: the misaligned size itself is refused. */
    ck_assert_res(res, KILN_PARAM);
    ck_assert_str_eq(kiln_arena_error(e.arena),
                     "kiln_reserve: size 17 is not a multiple of the format's alignment 8");
  } else {
    /* The fast path cannot tell; the next slow path does. */
    ck_assert_ok(res);
    m_init(p, 17, 0x22);
    ck_assert_int_eq(kiln_commit(e.ap, p, 17), 1);
    ck_assert_res(kiln_reserve(&p, e.ap, 1 << 20), KILN_PARAM); /* past the buffer */
    const char *msg = kiln_arena_error(e.arena);
    ck_assert_msg(strstr(msg, "1 byte(s) past a multiple of the format's alignment 8") != NULL &&
                      strstr(msg, "an earlier kiln_reserve whose size was not a multiple of 8") !=
                          NULL,
                  "error: %s", msg);
  }
  /* The allocation point recovers: aligned objects again, the old intact. */
  void *next = m_new(&e, 32, 0x23);
  ck_assert_ptr_nonnull(next);
  ck_assert_uint_eq((uintptr_t)next % 8, 0);
  ck_assert(m_intact(first, 16, 0x21));
  ck_assert(m_intact(next, 32, 0x23));
  env_close(&e);
}
END_TEST

/* ---- the checked build's misuse sentences ----------------------------- */

static void free_wrong_size_mfs(void)
{
  kiln_arena_t a;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  kiln_pool_t pool = mfs_pool(a, 64);
  void *p;
  ck_assert_ok(kiln_alloc(&p, pool, 40));
  kiln_free(pool, p, 8);
  say("freed");
  kiln_arena_destroy(a);
}

START_TEST(test_free_wrong_size_mfs)
{
  expect_misuse(free_wrong_size_mfs,
                "(mfs): kiln_free(0x", "[freed]");
  char out[4096];
  (void)test_run_child(free_wrong_size_mfs, out, sizeof out);
  if (KILN_CHECKING)
    ck_assert_msg(strstr(out, ", 8): the block was allocated with 40 bytes; free it with that "
                              "size (or the unit size, 64)") != NULL, "report: %s", out);
}
END_TEST

/* A format whose skip runs past the segment for one object (id 666). */
static void *bad_skip(void *obj)
{
  const gobj_t *o = obj;
  void *next = graph_format()->skip(obj);
  return o->id == 666 ? (char *)next + (4 << 20) : next;
}

static void *stuck_skip(void *obj)
{
  const gobj_t *o = obj;
  return o->id == 666 ? obj : graph_format()->skip(obj);
}

static kiln_format_t skip_format(kiln_skip_fn skip)
{
  kiln_format_t f = *graph_format();
  f.skip = skip;
  return f;
}

static void collect_with_skip(kiln_class_t klass, kiln_skip_fn skip)
{
  kiln_format_t f = skip_format(skip);
  env_t e = env_open(klass, &f);
  static void *slot[1];
  (void)exact_area(e.arena, slot, 1);
  slot[0] = gobj_new(e.ap, 666, 0, 16);
  kiln_arena_collect(e.arena);
  say("collected");
}

static void ms_skip_too_far(void) { collect_with_skip(kiln_class_ms(), bad_skip); }
static void copy_skip_too_far(void) { collect_with_skip(kiln_class_copy(), bad_skip); }
static void ms_skip_stuck(void) { collect_with_skip(kiln_class_ms(), stuck_skip); }
static void copy_skip_stuck(void) { collect_with_skip(kiln_class_copy(), stuck_skip); }

/* The default build cannot afford to check every skip: checked only. */
START_TEST(test_skip_past_segment_ms)
{
  test_expect_abort(ms_skip_too_far, "(ms) says the next object starts at 0x");
  test_expect_abort(ms_skip_too_far, "past the end of its segment");
}
END_TEST

START_TEST(test_skip_past_segment_copy)
{
  test_expect_abort(copy_skip_too_far, "(copy) says the next object starts at 0x");
  test_expect_abort(copy_skip_too_far, "past the end of its segment");
}
END_TEST

START_TEST(test_skip_not_advancing)
{
  test_expect_abort(ms_skip_stuck, "which does not advance; skip must return");
  test_expect_abort(copy_skip_stuck, "which does not advance; skip must return");
}
END_TEST

static void commit_without_reserve(void)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  char block[64];
  fprintf(stderr, "[commit %d]\n", kiln_commit(e.ap, block, 64));
  say_error();
  env_close(&e);
}

START_TEST(test_commit_without_reserve)
{
  /* The default build sees it when the AP has no buffer (its slow path). */
  expect_misuse(commit_without_reserve,
                "holds no reservation; call kiln_reserve first, and kiln_commit once per "
                "reservation", "[commit 0]");
  char out[4096];
  (void)test_run_child(commit_without_reserve, out, sizeof out);
  ck_assert_msg(strstr(out, "kiln_commit(0x") != NULL, "output: %s", out);
}
END_TEST

/* Checked build only: with a buffer, the fast path commits anything. */
static void commit_other_size(void)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  void *p;
  ck_assert_ok(kiln_reserve(&p, e.ap, 64));
  m_init(p, 64, 1);
  (void)kiln_commit(e.ap, p, 32);
}

static void reserve_twice(void)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  void *p, *q;
  ck_assert_ok(kiln_reserve(&p, e.ap, 64));
  (void)kiln_reserve(&q, e.ap, 64);
}

/* Structures corrupted behind Kiln's back: the checked build's *_check
   functions, called where those structures are taken, name the broken
   invariant. */
static void ap_alloc_past_limit(void)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  void *p;
  ck_assert_ok(kiln_reserve(&p, e.ap, 64));
  m_init(p, 64, 1);
  ck_assert(kiln_commit(e.ap, p, 64));
  ap_t *ap = (ap_t *)(void *)e.ap;
  ap->pub.alloc = ap->real_limit + 64;
  (void)kiln_reserve(&p, e.ap, 64);
}

static void seg_sig_overwritten(void)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  void *p;
  ck_assert_ok(kiln_reserve(&p, e.ap, 64));
  m_init(p, 64, 1);
  ck_assert(kiln_commit(e.ap, p, 64));
  arena_seg_of(e.arena, p)->sig = 0;
  kiln_arena_collect(e.arena);
}

START_TEST(test_corrupt_structures_checked)
{
  test_expect_abort(ap_alloc_past_limit, "kiln: checked build: allocation point 0x");
  test_expect_abort(ap_alloc_past_limit, "breaks its invariant 'base <= init <= alloc <= limit "
                    "of its buffer'");
  test_expect_abort(seg_sig_overwritten, "kiln: checked build: segment 0x");
  test_expect_abort(seg_sig_overwritten, "breaks its invariant 'sig is SIG_SEG'");
}
END_TEST

START_TEST(test_commit_other_than_reserved)
{
  test_expect_abort(commit_other_size, "reserved 64 bytes at 0x");
  test_expect_abort(reserve_twice, "still holds a reservation of 64 bytes at 0x");
}
END_TEST

static void root_area_twice(void)
{
  kiln_arena_t a;
  static void *slots[8];
  kiln_root_t r1, r2;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  ck_assert_ok(kiln_root_create_area(&r1, a, slots, slots + 8, KILN_RANK_EXACT));
  fprintf(stderr, "[second %s]\n",
          kiln_res_name(kiln_root_create_area(&r2, a, slots + 4, slots + 6, KILN_RANK_AMBIG)));
  kiln_arena_destroy(a);
}

START_TEST(test_root_area_registered_twice)
{
  /* The default build scans such an area twice, which does no harm. */
  expect_misuse(root_area_twice, "kiln_root_create_area: the area 0x", "[second KILN_OK]");
  char out[4096];
  (void)test_run_child(root_area_twice, out, sizeof out);
  if (KILN_CHECKING)
    ck_assert_msg(strstr(out, "register each area once") != NULL, "report: %s", out);
}
END_TEST

static void root_destroyed_twice(void)
{
  kiln_arena_t a;
  static void *slots[8];
  kiln_root_t r;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  r = exact_area(a, slots, 8);
  kiln_root_destroy(r);
  kiln_root_destroy(r);
  say_error();
  kiln_arena_collect(a);
  say("collected");
  kiln_arena_destroy(a);
}

START_TEST(test_root_destroyed_twice)
{
  expect_destroyed_use(root_destroyed_twice, "kiln_root_destroy: root 0x", "[collected]", "root");
}
END_TEST

static void ap_destroyed_twice(void)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  kiln_ap_destroy(e.ap);
  kiln_ap_destroy(e.ap);
  say_error();
  kiln_pool_destroy(e.pool);
  kiln_arena_destroy(e.arena);
}

START_TEST(test_ap_destroyed_twice)
{
  expect_misuse(ap_destroyed_twice, "kiln_ap_destroy: allocation point 0x",
                "was destroyed; a destroyed allocation point must not be used again");
}
END_TEST

static void fmt_destroyed_twice(void)
{
  kiln_arena_t a;
  kiln_fmt_t f;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  ck_assert_ok(kiln_fmt_create(&f, a, &m_format));
  kiln_fmt_destroy(f);
  kiln_fmt_destroy(f);
  say_error();
  kiln_arena_destroy(a);
}

static void thread_dereg_twice(void)
{
  kiln_arena_t a;
  kiln_thread_t t;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  ck_assert_ok(kiln_thread_reg(&t, a));
  kiln_thread_dereg(t);
  kiln_thread_dereg(t);
  say_error();
  kiln_arena_destroy(a);
}

START_TEST(test_fmt_and_thread_destroyed_twice)
{
  expect_misuse(fmt_destroyed_twice, "kiln_fmt_destroy: format 0x",
                "was destroyed; a destroyed format must not be used again");
  expect_misuse(thread_dereg_twice, "kiln_thread_dereg: thread 0x",
                "was destroyed; a destroyed thread must not be used again");
}
END_TEST

/* The default build keeps the last 64 destroyed handles of an arena, the
   checked build all of them, until the arena goes. */
START_TEST(test_graves_bounded)
{
  kiln_arena_t a;
  static void *slots[4];
  ck_assert_ok(kiln_arena_create(&a, NULL));
  for (int i = 0; i < 1000; i++) {
    kiln_root_t r = exact_area(a, slots, 4);
    kiln_root_destroy(r);
  }
  ck_assert_uint_eq(a->ngraves, KILN_CHECKING ? 1000 : 64);
  size_t kept = 0;
  for (ring_t *n = a->graves.next; n != &a->graves; n = n->next)
    kept++;
  ck_assert_uint_eq(kept, KILN_CHECKING ? 1000 : 64);
  kiln_arena_destroy(a);
}
END_TEST

/* The default build orphans the point: refused, and it may be destroyed. */
static void pool_destroyed_with_live_ap(void)
{
  env_t e = env_open(kiln_class_ms(), &m_format);
  ck_assert_ptr_nonnull(m_new(&e, 64, 3));
  kiln_pool_destroy(e.pool);
  void *p;
  fprintf(stderr, "[reserve %s]\n", kiln_res_name(kiln_reserve(&p, e.ap, 64)));
  fprintf(stderr, "error: %s\n", kiln_arena_error(e.arena));
  fprintf(stderr, "[commit %d]\n", kiln_commit(e.ap, p, 64));
  kiln_ap_destroy(e.ap);
  kiln_fmt_destroy(e.fmt);
  kiln_arena_destroy(e.arena);
  say("done");
}

START_TEST(test_pool_destroyed_with_live_ap)
{
  expect_misuse(pool_destroyed_with_live_ap,
                "kiln_pool_destroy: pool 0x", "[reserve KILN_PARAM]");
  char out[4096];
  (void)test_run_child(pool_destroyed_with_live_ap, out, sizeof out);
  if (KILN_CHECKING) {
    ck_assert_msg(strstr(out, "(ms) still has 1 allocation point(s); destroy them first") != NULL,
                  "report: %s", out);
  } else {
    ck_assert_msg(strstr(out, "kiln_reserve: allocation point 0x") != NULL &&
                      strstr(out, "belongs to a pool that was destroyed") != NULL &&
                      strstr(out, "[commit 0]") != NULL && strstr(out, "[done]") != NULL,
                  "output: %s", out);
  }
}
END_TEST

static void alloc_after_pool_destroy(void)
{
  kiln_arena_t a;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  kiln_pool_t pool = mfs_pool(a, 32);
  void *p;
  ck_assert_ok(kiln_alloc(&p, pool, 32));
  kiln_free(pool, p, 32); /* the fast path's list holds a block */
  kiln_pool_destroy(pool);
  fprintf(stderr, "[alloc %s]\n", kiln_res_name(kiln_alloc(&p, pool, 32)));
  say_error();
  kiln_arena_destroy(a);
}

START_TEST(test_alloc_after_pool_destroy)
{
  expect_destroyed_use(alloc_after_pool_destroy, "kiln_alloc: pool 0x", "[alloc KILN_PARAM]",
                       "pool");
}
END_TEST

static void fix_null(void)
{
  void *ref = NULL;
  (void)kiln_ss_fix(NULL, &ref);
}

/* kiln_ss_fix is hot: only the checked build looks at its arguments. */
START_TEST(test_fix_null_scan_state)
{
  test_expect_abort(fix_null, "kiln_ss_fix: the scan state is NULL");
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("misuse");
  TCase *threads = suite_add_case(s, "threads", 60);
  tcase_add_test(threads, test_second_thread_reserve_refused);
  tcase_add_test(threads, test_second_thread_commit_refused);
  tcase_add_test(threads, test_unregistered_arena_any_thread);

  TCase *handles = suite_add_case(s, "handles", 60);
  tcase_add_test(handles, test_free_on_automatic_pool);
  tcase_add_loop_test(handles, test_void_entry_points_null_and_wrong_type, 0,
                      (int)(sizeof void_cases / sizeof void_cases[0]));
  tcase_add_test(handles, test_result_entry_points_refuse_null);
  tcase_add_test(handles, test_wrong_class_refused);
  tcase_add_test(handles, test_root_destroyed_twice);
  tcase_add_test(handles, test_ap_destroyed_twice);
  tcase_add_test(handles, test_fmt_and_thread_destroyed_twice);
  tcase_add_test(handles, test_graves_bounded);
  tcase_add_test(handles, test_pool_destroyed_with_live_ap);
  tcase_add_test(handles, test_alloc_after_pool_destroy);

  TCase *protocol = suite_add_case(s, "protocol", 60);
  tcase_add_test(protocol, test_misaligned_reserve);
  tcase_add_test(protocol, test_commit_without_reserve);
  tcase_add_test(protocol, test_free_wrong_size_mfs);
  tcase_add_test(protocol, test_root_area_registered_twice);
  if (KILN_CHECKING) {
    tcase_add_test(protocol, test_commit_other_than_reserved);
    tcase_add_test(protocol, test_skip_past_segment_ms);
    tcase_add_test(protocol, test_skip_past_segment_copy);
    tcase_add_test(protocol, test_skip_not_advancing);
    tcase_add_test(protocol, test_fix_null_scan_state);
    tcase_add_test(protocol, test_corrupt_structures_checked);
  }
  return s;
}
