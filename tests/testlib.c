/* testlib.c -- seeds, PRNG, child processes, arena and pool figures and
 * helpers, and main() for the Check suites. */
#include "testlib.h"

#include <stdarg.h>
#include "seg.h"
#include "vm.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

uint64_t test_seed(uint64_t fixed)
{
  const char *env = getenv("KILN_SEED");
  uint64_t seed = env != NULL && *env ? strtoull(env, NULL, 0) : fixed;
  return seed;
}

uint64_t test_rand(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

size_t test_scale(size_t n)
{
  const char *env = getenv("KILN_TEST_SCALE");
  double k = env != NULL && *env ? atof(env) : 1.0;
  size_t r = (size_t)((double)n * k);
  return r > 0 ? r : 1;
}

int test_run_child(void (*fn)(void), char *out, size_t outlen)
{
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  fflush(stderr);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    fn();
    _exit(0);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t r;
  while (n + 1 < outlen && (r = read(fds[0], out + n, outlen - 1 - n)) > 0)
    n += (size_t)r;
  out[n] = '\0';
  close(fds[0]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  return status;
}

void test_note_failure(char *failure, size_t size, const char *fmt, ...)
{
  if (failure[0] != '\0')
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(failure, size, fmt, ap);
  va_end(ap);
}

void test_expect_abort(void (*fn)(void), const char *want)
{
  char out[2048];
  int status = test_run_child(fn, out, sizeof out);
  ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "no abort; stderr: %s", out);
  ck_assert_msg(strstr(out, want) != NULL, "the report was '%s', wanted '%s'", out, want);
}

static const misuse_t *suite_misuses;

START_TEST(test_misuse_reported)
{
  test_expect_abort(suite_misuses[_i].fn, suite_misuses[_i].want);
}
END_TEST

void add_misuse_tests(TCase *tc, const misuse_t *misuses, size_t n)
{
  suite_misuses = misuses;
  tcase_add_loop_test(tc, test_misuse_reported, 0, (int)n);
}

void test_expect_missing_barrier(void (*fn)(void))
{
  char out[2048];
  int status = test_run_child(fn, out, sizeof out);
#ifndef KILN_CHECKED
  ck_assert_msg(WIFEXITED(status), "unchecked build: the run itself must not crash; output: %s",
                out);
#else
  ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %d, output: %s",
                status, out);
  ck_assert_msg(strstr(out, "missing barrier: object ") != NULL &&
                strstr(out, "did not go through kiln_write") != NULL, "output: %s", out);
#endif
}

uint64_t minors_of(kiln_arena_t arena, uint64_t *collections_o)
{
  kiln_stats_t st;
  kiln_arena_stats(arena, &st);
  *collections_o = st.collections;
  return st.minor_collections;
}

uint64_t fulls(kiln_arena_t arena)
{
  uint64_t collections, m = minors_of(arena, &collections);
  return collections - m;
}

int collected_since(kiln_arena_t arena, uint64_t *seen)
{
  uint64_t before = *seen;
  *seen = astats(arena).collections;
  return *seen != before;
}

uint64_t minors(kiln_arena_t arena)
{
  uint64_t collections;
  return minors_of(arena, &collections);
}

size_t pool_in_use(kiln_pool_t pool)
{
  kiln_pool_stats_t ps;
  kiln_pool_stats(pool, &ps);
  return ps.in_use;
}

uint64_t pool_live(kiln_pool_t pool)
{
  kiln_pool_stats_t ps;
  kiln_pool_stats(pool, &ps);
  return ps.live_objects;
}

int in_pool(kiln_arena_t arena, const void *obj, kiln_pool_t pool)
{
  seg_t seg = arena_seg_of(arena, obj);
  return seg != NULL && seg->pool == pool;
}

int in_condemned(kiln_arena_t arena, const void *obj)
{
  seg_t seg = arena_seg_of(arena, obj);
  return seg != NULL && seg->white;
}

size_t card_of(kiln_arena_t arena, const void *p)
{
  const struct kiln_arena_head_s *h = (const struct kiln_arena_head_s *)(void *)arena;
  return ((uintptr_t)p - h->base) >> h->card_shift;
}

int card_dirty(kiln_arena_t arena, const void *p)
{
  const struct kiln_arena_head_s *h = (const struct kiln_arena_head_s *)(void *)arena;
  return h->cards[card_of(arena, p)] != 0;
}

kiln_arena_t arena_new(size_t commit_limit, size_t spare)
{
  kiln_arena_t a;
  kiln_arg_t args[] = {KILN_ARG_SIZE("reserve", (size_t)1 << 30),
                       KILN_ARG_SIZE("commit_limit", commit_limit), KILN_ARG_SIZE("spare", spare),
                       KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&a, args));
  return a;
}

kiln_pool_stats_t pstats(kiln_pool_t pool)
{
  kiln_pool_stats_t s;
  kiln_pool_stats(pool, &s);
  return s;
}

kiln_stats_t astats(kiln_arena_t arena)
{
  kiln_stats_t s;
  kiln_arena_stats(arena, &s);
  return s;
}

size_t committed(kiln_arena_t arena)
{
  kiln_stats_t s;
  kiln_arena_stats(arena, &s);
  return s.committed;
}

void *must_alloc(kiln_pool_t pool, size_t size)
{
  void *p = NULL;
  kiln_res_t res = kiln_alloc(&p, pool, size);
  ck_assert_msg(res == KILN_OK, "kiln_alloc(%zu): %s: %s", size, kiln_res_name(res),
                kiln_arena_error(kiln_pool_arena(pool)));
  return p;
}

size_t alloc_to_limit(kiln_pool_t pool, size_t size, void **p, size_t max)
{
  kiln_arena_t a = kiln_pool_arena(pool);
  size_t n = 0;
  kiln_res_t res = KILN_OK;
  while (n < max && (res = kiln_alloc(&p[n], pool, size)) == KILN_OK)
    n++;
  ck_assert_res(res, KILN_LIMIT);
  ck_assert_msg(strstr(kiln_arena_error(a), "commit limit") != NULL, "%s", kiln_arena_error(a));
  return n;
}

void realloc_every(kiln_pool_t pool, void **p, size_t n, size_t size, size_t step)
{
  for (size_t i = 0; i < n; i += step)
    kiln_free(pool, p[i], size);
  for (size_t i = 0; i < n; i += step)
    p[i] = must_alloc(pool, size);
}

void free_all(kiln_pool_t pool, void **p, size_t n, size_t size)
{
  for (size_t i = 0; i < n; i++)
    kiln_free(pool, p[i], size);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
}

void free_misplaced(kiln_pool_t pool, size_t size, ptrdiff_t offset, size_t free_size)
{
  char *p = must_alloc(pool, size);
  kiln_free(pool, p + offset, free_size);
}

void free_twice(kiln_pool_t pool, size_t size)
{
  void *keep = must_alloc(pool, size), *p = must_alloc(pool, size);
  (void)keep;
  kiln_free(pool, p, size);
  kiln_free(pool, p, size);
}

void check_foreign_frees_ignored(kiln_pool_t (*make)(kiln_arena_t), size_t size)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = make(a), other = make(a);
  void *mine = must_alloc(pool, size), *theirs = must_alloc(other, size);
  memset(mine, 0x11, size);
  char *heap = malloc(size);
  int local = 0;
  kiln_free(pool, heap, size);
  kiln_free(pool, &local, sizeof local);
  kiln_free(pool, theirs, size);
  ck_assert_uint_eq(pstats(pool).in_use, size);
  ck_assert_uint_eq(pstats(other).in_use, size);
  void *next = must_alloc(pool, size);
  ck_assert_ptr_ne(next, mine);
  ck_assert_ptr_ne(next, theirs);
  free(heap);
  kiln_pool_destroy(pool);
  kiln_pool_destroy(other);
  kiln_arena_destroy(a);
}

void check_freed_poisoned(kiln_pool_t pool, size_t size, size_t from, size_t to)
{
  kiln_arena_t a = kiln_pool_arena(pool);
  void *keep = must_alloc(pool, size);
  unsigned char *p = must_alloc(pool, size);
  memset(p, 0, size);
  kiln_free(pool, p, size);
  for (size_t k = from; k < to; k++)
    ck_assert_uint_eq(p[k], KILN_POISON_BYTE);
  kiln_free(pool, keep, size);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}

kiln_fmt_t arena_with_format(kiln_arena_t *arena_o, const kiln_format_t *format)
{
  kiln_fmt_t fmt;
  ck_assert_ok(kiln_arena_create(arena_o, NULL));
  ck_assert_ok(kiln_fmt_create(&fmt, *arena_o, format));
  return fmt;
}

kiln_pool_t plain_pool(kiln_arena_t arena, kiln_fmt_t fmt, kiln_class_t klass)
{
  kiln_pool_t p;
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&p, arena, klass, args));
  return p;
}

kiln_pool_t make_sticky(kiln_arena_t arena, kiln_fmt_t fmt, size_t young_size, size_t young_step)
{
  kiln_pool_t p;
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_SIZE("young_size", young_size),
                       KILN_ARG_SIZE("segment_size", 64 << 10),
                       KILN_ARG_SIZE("large_size", 8 << 10),
                       KILN_ARG_SIZE("young_step", young_step), KILN_ARGS_END};
  if (young_step == 0)
    args[4] = args[5]; /* the default, as the sticky suite has always made them */
  ck_assert_ok(kiln_pool_create(&p, arena, kiln_class_ms(), args));
  return p;
}

kiln_pool_t make_gen_aged(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t to, size_t nursery,
                          size_t age)
{
  kiln_pool_t p;
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", to),
                       KILN_ARG_SIZE("nursery_size", nursery),
                       KILN_ARG_SIZE("survivor_age", age), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&p, arena, kiln_class_gen(), args));
  return p;
}

const char *const config_names[NCONFIGS] = {"ms", "copy", "gen->ms", "gen->copy", "sticky",
                                             "incremental sticky"};

int config_moves_in_full(int which)
{
  return which == CONFIG_COPY || which == CONFIG_GEN_MS || which == CONFIG_GEN_COPY;
}

kiln_pool_t make_config_pool(kiln_arena_t arena, kiln_fmt_t fmt, int which, size_t young,
                             size_t step, kiln_pool_t *mature_o)
{
  kiln_pool_t mature = NULL, pool;
  switch (which) {
  case CONFIG_MS:
  case CONFIG_COPY:
    pool = plain_pool(arena, fmt, which == CONFIG_MS ? kiln_class_ms() : kiln_class_copy());
    break;
  case CONFIG_GEN_MS:
  case CONFIG_GEN_COPY:
    mature = plain_pool(arena, fmt, which == CONFIG_GEN_MS ? kiln_class_ms() : kiln_class_copy());
    pool = make_gen_aged(arena, fmt, mature, young, 0);
    break;
  case CONFIG_STICKY:
    pool = make_sticky(arena, fmt, young, 0);
    break;
  default:
    ck_assert_int_eq(which, CONFIG_STICKY_INC);
    pool = make_sticky(arena, fmt, young, step);
    break;
  }
  if (mature_o != NULL)
    *mature_o = mature;
  return pool;
}

kiln_ap_t config_ap(kiln_arena_t *arena_o, const kiln_arg_t *arena_args,
                    const kiln_format_t *format, int which, size_t young, size_t step)
{
  kiln_fmt_t fmt;
  kiln_ap_t ap;
  ck_assert_ok(kiln_arena_create(arena_o, arena_args));
  ck_assert_ok(kiln_fmt_create(&fmt, *arena_o, format));
  kiln_pool_t pool = make_config_pool(*arena_o, fmt, which, young, step, NULL);
  ck_assert_ok(kiln_ap_create(&ap, pool, NULL));
  return ap;
}

kiln_root_t stack_root(kiln_arena_t arena, kiln_thread_t *thr_o)
{
  kiln_root_t root;
  ck_assert_ok(kiln_thread_reg(thr_o, arena));
  ck_assert_ok(kiln_root_create_thread(&root, arena, *thr_o, vm_stack_cold_end()));
  return root;
}

kiln_root_t exact_area(kiln_arena_t arena, void **slots, size_t n)
{
  kiln_root_t root;
  ck_assert_ok(kiln_root_create_area(&root, arena, slots, slots + n, KILN_RANK_EXACT));
  return root;
}

TCase *suite_add_case(Suite *s, const char *name, double timeout)
{
  TCase *tc = tcase_create(name);
  if (timeout > 0)
    tcase_set_timeout(tc, timeout);
  suite_add_tcase(s, tc);
  return tc;
}

int main(void)
{
  SRunner *sr = srunner_create(test_suite());
  srunner_run_all(sr, CK_NORMAL);
  int ran = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (ran == 0) {
    fprintf(stderr, "no test ran: a suite with no tests is a broken suite\n");
    return EXIT_FAILURE;
  }
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
