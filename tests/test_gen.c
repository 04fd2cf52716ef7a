/* test_gen.c -- the generational pool and the card-marking barrier: graph
 * property tests over gen->ms (and gen->copy when built), pinning in the
 * nursery, the barrier as remembered set, pretenuring, creation errors. */
#include "graph.h"
#include "vm.h"

#include <signal.h>

#ifdef KILN_CHECKED
#define KILN_CHECKED_BUILD 1
#else
#define KILN_CHECKED_BUILD 0
#endif

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static kiln_pool_t make_ms(kiln_arena_t arena, kiln_fmt_t fmt)
{
  kiln_pool_t p;
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&p, arena, kiln_class_ms(), args));
  return p;
}

static kiln_pool_t make_gen(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t to, size_t nursery)
{
  kiln_pool_t p;
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", to),
                       KILN_ARG_SIZE("nursery_size", nursery), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&p, arena, kiln_class_gen(), args));
  return p;
}

/* graph_run allocates in both: the nursery, and the mature pool directly. */
static int gen_ms(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[1] = make_ms(arena, fmt);
  pools[0] = make_gen(arena, fmt, pools[1], 256 << 10);
  return 2;
}

static int gen_copy(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&pools[1], arena, kiln_class_copy(), args));
  pools[0] = make_gen(arena, fmt, pools[1], 256 << 10);
  return 2;
}

static const uint64_t seeds[] = {11, 12, 13, 0xBEEF};

START_TEST(test_graph_gen_ms)
{
  graph_cfg_t cfg = {gen_ms, NULL, test_scale(30000), 0, 1, 1, test_seed(seeds[_i])};
  graph_result_t r = graph_run(&cfg);
  ck_assert_uint_gt(r.verified, 3);
}
END_TEST

START_TEST(test_graph_gen_ms_every_nth)
{
  graph_cfg_t cfg = {gen_ms, NULL, test_scale(20000), 101, 1, 1, test_seed(seeds[_i] + 1)};
  graph_run(&cfg);
}
END_TEST

START_TEST(test_graph_gen_ms_stress)
{
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("stress", 1), KILN_ARGS_END};
  graph_cfg_t cfg = {gen_ms, aargs, test_scale(3000), 0, 1, 1, test_seed(seeds[_i] + 2)};
  graph_result_t r = graph_run(&cfg);
  ck_assert_uint_gt(r.collections, test_scale(1000)); /* the steps are scaled too */
}
END_TEST

START_TEST(test_graph_gen_copy)
{
  if (kiln_class_copy() == NULL)
    return; /* copy pool not built in this tree */
  graph_cfg_t cfg = {gen_copy, NULL, test_scale(30000), 0, 1, 1, test_seed(seeds[_i] + 3)};
  graph_run(&cfg);
}
END_TEST

START_TEST(test_graph_gen_copy_stress)
{
  if (kiln_class_copy() == NULL)
    return;
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("stress", 1), KILN_ARGS_END};
  graph_cfg_t cfg = {gen_copy, aargs, test_scale(3000), 0, 1, 1, test_seed(seeds[_i] + 4)};
  graph_run(&cfg);
}
END_TEST

/* ---- barrier ---------------------------------------------------------- */

typedef struct env_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t old, young;
  kiln_ap_t ap_old, ap_young;
} env_t;

static void env_open(env_t *e)
{
  ck_assert_ok(kiln_arena_create(&e->arena, NULL));
  ck_assert_ok(kiln_fmt_create(&e->fmt, e->arena, graph_format()));
  e->old = make_ms(e->arena, e->fmt);
  e->young = make_gen(e->arena, e->fmt, e->old, 256 << 10);
  ck_assert_ok(kiln_ap_create(&e->ap_old, e->old, NULL));
  ck_assert_ok(kiln_ap_create(&e->ap_young, e->young, NULL));
}

static void env_close(env_t *e)
{
  kiln_arena_destroy(e->arena); /* destroys pools, APs and the format too */
}

static uint64_t minors(kiln_arena_t arena)
{
  kiln_stats_t st;
  kiln_arena_stats(arena, &st);
  return st.minor_collections;
}

START_TEST(test_barrier_keeps_young_alive)
{
  env_t e;
  env_open(&e);
  static void *root[1];
  kiln_root_t r;
  ck_assert_ok(kiln_root_create_area(&r, e.arena, root, root + 1, KILN_RANK_EXACT));
  gobj_t *old = gobj_new(e.ap_old, 1, 2, 8);
  root[0] = old;
  kiln_arena_collect(e.arena); /* old is mature, its segment summarised */
  gobj_t *young = gobj_new(e.ap_young, 2, 0, 32);
  kiln_write(e.arena, old, (void **)&old->ref[0], young);
  uint64_t m0 = minors(e.arena);
  for (uint64_t i = 0; minors(e.arena) < m0 + 5; i++)
    (void)gobj_new(e.ap_young, 1000 + i, 1, 40); /* garbage filling the nursery */
  ck_assert(old->ref[0] != young);               /* promoted: the slot was updated */
  ck_assert(old->ref[0]->id == 2 && gobj_payload_ok(old->ref[0]));
  kiln_pool_stats_t ps;
  kiln_pool_stats(e.young, &ps);
  ck_assert_uint_eq(ps.live_objects, 0);          /* nothing pinned */
  env_close(&e);
}
END_TEST

START_TEST(test_minor_scans_little)
{
  /* A big mature heap with clean cards is not rescanned by minor GCs. */
  env_t e;
  env_open(&e);
  static void *root[4000];
  kiln_root_t r;
  ck_assert_ok(kiln_root_create_area(&r, e.arena, root, root + 4000, KILN_RANK_EXACT));
  for (int i = 0; i < 4000; i++)
    root[i] = gobj_new(e.ap_old, (uint64_t)i, 2, 200);
  kiln_arena_collect(e.arena);
  kiln_arena_collect(e.arena);
  uint64_t m0 = minors(e.arena);
  kiln_stats_t s0, s1;
  kiln_arena_stats(e.arena, &s0);
  for (uint64_t i = 0; minors(e.arena) < m0 + 10; i++)
    (void)gobj_new(e.ap_young, i, 1, 40);
  kiln_arena_stats(e.arena, &s1);
  /* 4000 x 250 bytes = 1 MB of mature objects; ten minors must not scan it
     ten times over (allow one full rescan for summaries to settle). */
  ck_assert_msg(s1.scanned - s0.scanned < 2u * (1u << 20), "minors scanned %zu bytes",
                s1.scanned - s0.scanned);
  env_close(&e);
}
END_TEST

static void store_without_barrier(void)
{
  env_t e;
  env_open(&e);
  static void *root[1];
  kiln_root_t r;
  kiln_root_create_area(&r, e.arena, root, root + 1, KILN_RANK_EXACT);
  gobj_t *old = gobj_new(e.ap_old, 1, 2, 8);
  root[0] = old;
  kiln_arena_collect(e.arena);
  uint64_t m0 = minors(e.arena);
  for (uint64_t i = 0; minors(e.arena) < m0 + 1; i++) /* summarises old's segment */
    (void)gobj_new(e.ap_young, 1000 + i, 1, 40);
  old->ref[1] = gobj_new(e.ap_young, 2, 0, 32);       /* no kiln_write: the bug */
  for (uint64_t i = 0; minors(e.arena) < m0 + 2; i++)
    (void)gobj_new(e.ap_young, 5000 + i, 1, 40);
}

START_TEST(test_missing_barrier_reported)
{
  char out[2048];
  int status = test_run_child(store_without_barrier, out, sizeof out);
  if (!KILN_CHECKED_BUILD) {
    ck_assert_msg(WIFEXITED(status), "unchecked build: the run itself must not crash");
    return;
  }
  ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %d, output: %s",
                status, out);
  ck_assert_msg(strstr(out, "missing barrier: object ") != NULL &&
                strstr(out, "did not go through kiln_write") != NULL, "output: %s", out);
}
END_TEST

START_TEST(test_pinned_in_nursery)
{
  env_t e;
  env_open(&e);
  kiln_thread_t thr;
  kiln_root_t tr;
  ck_assert_ok(kiln_thread_reg(&thr, e.arena));
  ck_assert_ok(kiln_root_create_thread(&tr, e.arena, thr, vm_stack_cold_end()));
  gobj_t *volatile pinned = gobj_new(e.ap_young, 5, 1, 16);
  pinned->ref[0] = gobj_new(e.ap_young, 6, 0, 16); /* reachable only through pinned */
  gobj_t *child0 = pinned->ref[0];
  uintptr_t child0_addr = (uintptr_t)child0;
  child0 = NULL;
  uint64_t m0 = minors(e.arena);
  for (uint64_t i = 0; minors(e.arena) < m0 + 4; i++)
    (void)gobj_new(e.ap_young, 100 + i, 1, 40);
  ck_assert(pinned->id == 5 && gobj_payload_ok(pinned)); /* same address, intact */
  ck_assert(pinned->ref[0]->id == 6 && gobj_payload_ok(pinned->ref[0]));
  /* The child may have been pinned too (a stale copy of its address on the
     stack is possible) but is normally promoted; either way it is intact. */
  (void)child0_addr;
  kiln_root_destroy(tr);
  kiln_thread_dereg(thr);
  env_close(&e);
}
END_TEST

START_TEST(test_pretenured_large)
{
  env_t e;
  env_open(&e);
  gobj_t *big = gobj_new(e.ap_young, 1, 0, 100000);
  kiln_pool_stats_t ps;
  kiln_pool_stats(e.old, &ps);
  ck_assert_uint_ge(ps.committed, 100000); /* it went straight to the mature pool */
  ck_assert(gobj_payload_ok(big));
  env_close(&e);
}
END_TEST

START_TEST(test_refused_without_barrier)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t gen;
  kiln_arg_t aargs[] = {KILN_ARG_STR("barrier", "none"), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&arena, aargs));
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  kiln_pool_t ms = make_ms(arena, fmt);
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", ms), KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&gen, arena, kiln_class_gen(), args), KILN_PARAM);
  ck_assert_msg(strstr(kiln_arena_error(arena), "barrier = \"none\"") != NULL, "%s",
                kiln_arena_error(arena));
  kiln_arena_destroy(arena);
}
END_TEST

START_TEST(test_bad_promote_to)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t gen, mfs;
  ck_assert_ok(kiln_arena_create(&arena, NULL));
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  kiln_arg_t margs[] = {KILN_ARG_SIZE("unit_size", 32), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&mfs, arena, kiln_class_mfs(), margs));
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", mfs), KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&gen, arena, kiln_class_gen(), args), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena),
                   "pool class 'gen': promote_to is a 'mfs' pool, which cannot take promoted "
                   "objects (use an automatic pool such as ms or copy)");
  kiln_arg_t none[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&gen, arena, kiln_class_gen(), none), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena),
                   "pool class 'gen': parameter 'promote_to' must be a pool of this arena");
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("gen");
  TCase *g = tcase_create("graph");
  tcase_set_timeout(g, 300);
  tcase_add_loop_test(g, test_graph_gen_ms, 0, 4);
  tcase_add_loop_test(g, test_graph_gen_ms_every_nth, 0, 2);
  tcase_add_loop_test(g, test_graph_gen_ms_stress, 0, 2);
  tcase_add_loop_test(g, test_graph_gen_copy, 0, 2);
  tcase_add_loop_test(g, test_graph_gen_copy_stress, 0, 1);
  suite_add_tcase(s, g);
  TCase *b = tcase_create("barrier");
  tcase_set_timeout(b, 60);
  tcase_add_test(b, test_barrier_keeps_young_alive);
  tcase_add_test(b, test_minor_scans_little);
  tcase_add_test(b, test_pinned_in_nursery);
  tcase_add_test(b, test_missing_barrier_reported);
  tcase_add_test(b, test_pretenured_large);
  suite_add_tcase(s, b);
  TCase *c = tcase_create("create");
  tcase_add_test(c, test_refused_without_barrier);
  tcase_add_test(c, test_bad_promote_to);
  suite_add_tcase(s, c);
  return s;
}
