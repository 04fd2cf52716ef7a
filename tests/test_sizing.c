/* test_sizing.c -- the arena's heap policies (parameter heap_policy) under
 * mark-sweep, copying, a generational pool over each, and sticky
 * mark-sweep: a fixed heap never commits past heap_size and refuses, with
 * a sentence naming heap_size, what cannot fit, then keeps working; an
 * adaptive heap returns memory after a burst of live data dies; the
 * policies' parameter errors. */
#include "testlib.h"
#include "graph.h"

#include <stdlib.h>
#include <string.h>

/* The configurations through CONFIG_STICKY (testlib.h). */
enum { NSIZING_CONFIGS = CONFIG_STICKY + 1 };

#define MB ((size_t)1 << 20)

/* An arena of the given heap policy with one pool of configuration which,
   an allocation point on it and a root area of nslots slots. */
typedef struct env_s {
  kiln_arena_t arena;
  kiln_ap_t ap;
  kiln_root_t root;
  void **slots;
  size_t nslots;
} env_t;

static void env_open(env_t *e, int which, const kiln_arg_t *args, size_t nslots)
{
  e->ap = config_ap(&e->arena, args, graph_format(), which, 1 * MB, 0);
  e->slots = calloc(nslots, sizeof *e->slots);
  ck_assert_ptr_nonnull(e->slots);
  e->nslots = nslots;
  e->root = exact_area(e->arena, e->slots, nslots);
}

static void env_close(env_t *e)
{
  kiln_root_destroy(e->root);
  kiln_ap_destroy(e->ap);
  kiln_arena_destroy(e->arena);
  free(e->slots);
}

/* Slots 0 .. n - 1 hold objects 1 .. n of 4000 payload bytes. */
static void fill_slots(env_t *e, size_t n)
{
  for (size_t i = 0; i < n; i++)
    e->slots[i] = gobj_new(e->ap, i + 1, 0, 4000);
}

/* One garbage object of a random size, and, if turn, a new object for a
   random one of the first nlive slots (live data turns over too); returns
   the garbage's bytes. */
static size_t churn_one(env_t *e, uint64_t *seed, size_t nlive, int turn)
{
  size_t pay = test_range(seed, 16, 2048);
  gobj_new(e->ap, 1u << 30, 0, (uint32_t)pay);
  if (turn) {
    size_t i = test_range(seed, 0, nlive - 1);
    e->slots[i] = gobj_new(e->ap, i + 1, 0, 4000);
  }
  return gobj_size(0, (uint32_t)pay);
}

static void check_slots(const env_t *e, size_t n, const char *cfg)
{
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(e->slots[i] != NULL, "%s: live slot %zu is NULL", cfg, i);
    gobj_check(e->slots[i], i + 1);
  }
}

/* A fixed 16 MB heap holding about 2 MB live while 256 MB (at scale 1; 64
   MB at least) of garbage passes through: committed memory stays within heap_size at every
   sample, collections happen, the live objects stay intact. */
START_TEST(test_fixed_stays_under_heap_size)
{
  const char *cfg = config_names[_i];
  const size_t heap = 16 * MB, nlive = 512;
  kiln_arg_t args[] = {KILN_ARG_STR("heap_policy", "fixed"), KILN_ARG_SIZE("heap_size", heap),
                       KILN_ARG_SIZE("reserve", (size_t)1 << 30), KILN_ARGS_END};
  static env_t e;
  env_open(&e, _i, args, nlive);
  uint64_t seed = test_seed(11);
  fill_slots(&e, nlive);
  size_t garbage = (test_scale(256) < 64 ? 64 : test_scale(256)) * MB, made = 0, peak = 0;
  for (uint64_t n = 0; made < garbage; n++) {
    made += churn_one(&e, &seed, nlive, n % 64 == 0);
    if (n % 64 == 0) {
      size_t c = committed(e.arena);
      peak = c > peak ? c : peak;
    }
  }
  kiln_stats_t s = astats(e.arena);
  ck_assert_msg(peak <= heap && s.committed <= heap, "%s: a fixed heap of %zu bytes committed %zu",
                cfg, heap, peak > s.committed ? peak : s.committed);
  ck_assert_msg(s.collections - s.minor_collections >= 4 || s.minor_collections >= 8,
                "%s: %zu MB of garbage through a 16 MB heap collected only %llu times", cfg,
                garbage / MB, (unsigned long long)s.collections);
  ck_assert_msg(s.heap_limit <= heap, "%s: heap_limit %zu is past heap_size", cfg, s.heap_limit);
  check_slots(&e, nlive, cfg);
  env_close(&e);
}
END_TEST

/* Live data past a fixed heap's size: the reservation fails with KILN_LIMIT
   and a sentence naming heap_size; once the data is dropped, allocation
   works again. */
START_TEST(test_fixed_too_small)
{
  const char *cfg = config_names[_i];
  const size_t heap = 4 * MB, nslots = 4096;
  kiln_arg_t args[] = {KILN_ARG_STR("heap_policy", "fixed"), KILN_ARG_SIZE("heap_size", heap),
                       KILN_ARGS_END};
  static env_t e;
  env_open(&e, _i, args, nslots);
  kiln_res_t res = KILN_OK;
  size_t i = 0;
  for (; i < nslots; i++) {
    gobj_t *o = gobj_try_new(e.ap, i + 1, 0, 4000, &res);
    if (o == NULL)
      break;
    e.slots[i] = o;
  }
  ck_assert_msg(res == KILN_LIMIT, "%s: %zu objects of 4 KB fit a 4 MB fixed heap (%s)", cfg, i,
                kiln_res_name(res));
  ck_assert_msg(strstr(kiln_arena_error(e.arena), "heap_size") != NULL,
                "%s: the error does not name heap_size: %s", cfg, kiln_arena_error(e.arena));
  ck_assert_msg(committed(e.arena) <= heap, "%s: committed %zu past heap_size", cfg,
                committed(e.arena));
  check_slots(&e, i, cfg);
  memset(e.slots, 0, nslots * sizeof *e.slots);
  kiln_arena_collect(e.arena);
  e.slots[0] = gobj_new(e.ap, 1, 0, 4000);
  check_slots(&e, 1, cfg);
  env_close(&e);
}
END_TEST

/* An adaptive heap grows to 64 MB live, then drops all but
   the first sixteenth (the burst dies together, as a burst does). Within
   three full collections its committed memory is within 10% of what the
   policy allows the new live size (heap_limit), plus a segment per pool
   for what is partly used, and a quarter of its peak at most. */
START_TEST(test_adaptive_returns_memory)
{
  const char *cfg = config_names[_i];
  const size_t nlive = 16384; /* not scaled: the burst must dwarf budget_min */
  kiln_arg_t args[] = {KILN_ARG_STR("heap_policy", "adaptive"),
                       KILN_ARG_SIZE("reserve", (size_t)1 << 31), KILN_ARGS_END};
  static env_t e;
  env_open(&e, _i, args, nlive);
  fill_slots(&e, nlive);
  kiln_arena_collect(e.arena);
  size_t peak = committed(e.arena);
  size_t keep = nlive / 16;
  memset(e.slots + keep, 0, (nlive - keep) * sizeof *e.slots);
  for (int n = 0; n < 3; n++) {
    for (size_t g = 0; g < 256; g++) /* some mutator time and allocation between */
      gobj_new(e.ap, 1u << 30, 0, 1000);
    kiln_arena_collect(e.arena);
  }
  kiln_stats_t s = astats(e.arena);
  size_t slack = 4 * MB;
  ck_assert_msg(s.committed <= s.heap_limit + s.heap_limit / 10 + slack,
                "%s: %zu bytes committed after the burst, heap_limit %zu (live %zu)", cfg,
                s.committed, s.heap_limit, s.live);
  ck_assert_msg(s.committed <= peak / 4, "%s: %zu of a peak %zu committed after 15/16 died", cfg,
                s.committed, peak);
  check_slots(&e, keep, cfg);
  env_close(&e);
}
END_TEST

/* The adaptive extra grows as the square root of live: a heap with 16 times
   the live data is given less than 16 times the extra (the rates being of
   the same order). */
START_TEST(test_adaptive_extra_sublinear)
{
  kiln_arg_t args[] = {KILN_ARG_STR("heap_policy", "adaptive"), KILN_ARG_SIZE("budget_min", 0),
                       KILN_ARG_SIZE("reserve", (size_t)1 << 31), KILN_ARGS_END};
  size_t extra[2];
  for (int k = 0; k < 2; k++) {
    size_t nlive = k == 0 ? 256 : 4096;
    static env_t e;
    env_open(&e, CONFIG_MS, args, nlive);
    for (size_t i = 0; i < nlive; i++)
      e.slots[i] = gobj_new(e.ap, i + 1, 0, 4000);
    for (int n = 0; n < 4; n++) {
      for (size_t g = 0; g < nlive; g++)
        gobj_new(e.ap, 1u << 30, 0, 4000);
      kiln_arena_collect(e.arena);
    }
    kiln_stats_t s = astats(e.arena);
    ck_assert_uint_gt(s.heap_limit, s.live);
    extra[k] = s.heap_limit - s.live;
    env_close(&e);
  }
  ck_assert_msg(extra[1] < 12 * extra[0], "16x the live data got %zu bytes of extra, %zu for 1x",
                extra[1], extra[0]);
}
END_TEST

/* One growable heap's run: a transient burst of 60 MB live (kept, then
   dropped, each followed by a full collection), then nlive objects of
   4000 bytes (16 MB) live while garbage passes through. Committed memory
   is sampled over the second half of the steady phase, after the burst's
   pages had every chance to go. */
typedef struct growable_run_s {
  size_t peak, live, limit;
  unsigned long long fulls;
} growable_run_t;

static growable_run_t growable_run(int which, double growth)
{
  const size_t nburst = 15360, nlive = 4096;
  kiln_arg_t args[] = {KILN_ARG_NUM("growth", growth),
                       KILN_ARG_SIZE("reserve", (size_t)1 << 31), KILN_ARGS_END};
  static env_t e;
  env_open(&e, which, args, nburst);
  fill_slots(&e, nburst);
  kiln_arena_collect(e.arena);
  memset(e.slots + nlive, 0, (nburst - nlive) * sizeof *e.slots);
  kiln_arena_collect(e.arena);
  uint64_t seed = test_seed(21);
  size_t garbage = (test_scale(384) < 96 ? 96 : test_scale(384)) * MB, made = 0;
  growable_run_t run = {0, 0, 0, 0};
  unsigned long long fulls0 = 0;
  for (uint64_t n = 0; made < garbage; n++) {
    made += churn_one(&e, &seed, nlive, n % 4 == 0);
    if (n % 4 == 0) {
      if (made < garbage / 2) {
        fulls0 = astats(e.arena).collections - astats(e.arena).minor_collections;
        continue;
      }
      size_t c = committed(e.arena);
      run.peak = c > run.peak ? c : run.peak;
    }
  }
  kiln_stats_t s = astats(e.arena);
  run.fulls = s.collections - s.minor_collections - fulls0;
  kiln_arena_collect(e.arena); /* live as a full collection measures it */
  s = astats(e.arena);
  run.live = s.live;
  run.limit = s.heap_limit;
  check_slots(&e, nlive, config_names[which]);
  env_close(&e);
  return run;
}

/* A growable heap's size follows growth, not its history: after a burst
   of live data has come and gone, with 16 MB live, the heap allowed
   (heap_limit) is growth x live or live + budget_min, and the memory
   committed stays within it plus the documented overhead (budget_min, the
   young generation, a partly used segment's slack; for a copying pool
   what the next collection copies). The larger growth holds more memory
   and collects less often. */
START_TEST(test_growable_follows_growth)
{
  static const int which_of[] = {CONFIG_MS, CONFIG_COPY, CONFIG_GEN_MS, CONFIG_STICKY};
  const int which = which_of[_i];
  const char *cfg = config_names[which];
  const double growths[] = {1.5, 3.0};
  growable_run_t run[2];
  for (int k = 0; k < 2; k++) {
    double g = growths[k];
    run[k] = growable_run(which, g);
    double budget = (g - 1.0) * (double)run[k].live;
    double want = (double)run[k].live + (budget > 4.0 * MB ? budget : 4.0 * MB);
    ck_assert_msg(run[k].limit <= want + MB && (double)run[k].limit + MB >= want,
                  "%s growth %.1f: heap_limit %zu, want about %.0f (live %zu)", cfg, g,
                  run[k].limit, want, run[k].live);
    double extra = which == CONFIG_COPY || which == CONFIG_STICKY ? (double)run[k].live : 0;
    double bound = g * (double)run[k].live + extra + 8.0 * MB;
    ck_assert_msg((double)run[k].peak <= bound,
                  "%s growth %.1f: %zu bytes committed at the peak, bound %.0f (live %zu)", cfg,
                  g, run[k].peak, bound, run[k].live);
  }
  ck_assert_msg(run[1].peak > run[0].peak + run[0].live / 2,
                "%s: growth 3 committed %zu at the peak, growth 1.5 %zu", cfg, run[1].peak,
                run[0].peak);
  ck_assert_msg(run[1].fulls < run[0].fulls,
                "%s: growth 3 made %llu full collections, growth 1.5 %llu", cfg, run[1].fulls,
                run[0].fulls);
}
END_TEST

static void expect_create_error(const kiln_arg_t *args, const char *want1, const char *want2)
{
  kiln_arena_t arena;
  ck_assert_res(kiln_arena_create(&arena, args), KILN_PARAM);
  const char *err = kiln_arena_error(NULL);
  ck_assert_msg(strstr(err, want1) != NULL && strstr(err, want2) != NULL,
                "error '%s' lacks '%s' or '%s'", err, want1, want2);
}

START_TEST(test_policy_errors)
{
  kiln_arg_t misspelt[] = {KILN_ARG_STR("heap_policy", "adaptiv"), KILN_ARGS_END};
  expect_create_error(misspelt, "'heap_policy' is 'adaptiv'", "did you mean 'adaptive'");
  kiln_arg_t no_size[] = {KILN_ARG_STR("heap_policy", "fixed"), KILN_ARGS_END};
  expect_create_error(no_size, "'fixed' needs parameter 'heap_size'", "got 0");
  kiln_arg_t stray[] = {KILN_ARG_SIZE("heap_size", 8 * MB), KILN_ARGS_END};
  expect_create_error(stray, "'heap_size' applies to heap_policy 'fixed' only", "'growable'");
  kiln_arg_t tiny[] = {KILN_ARG_STR("heap_policy", "adaptive"),
                       KILN_ARG_SIZE("heap_balance", 100), KILN_ARGS_END};
  expect_create_error(tiny, "heap_balance", "100");
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("sizing");
  TCase *t = suite_add_case(s, "heap policies", 120);
  tcase_add_loop_test(t, test_fixed_stays_under_heap_size, 0, NSIZING_CONFIGS);
  tcase_add_loop_test(t, test_fixed_too_small, 0, NSIZING_CONFIGS);
  tcase_add_loop_test(t, test_adaptive_returns_memory, 0, NSIZING_CONFIGS);
  tcase_add_loop_test(t, test_growable_follows_growth, 0, 4);
  tcase_add_test(t, test_adaptive_extra_sublinear);
  tcase_add_test(t, test_policy_errors);
  return s;
}
