/* test_ms.c -- the mark-sweep pool on the tracing core: graph property
 * tests, ambiguous stack references, cross-pool references, bounded memory
 * under churn, and the reserve/commit protocol. */
#include "graph.h"

#include <string.h>

static int one_ms(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&pools[0], arena, kiln_class_ms(), args));
  return 1;
}

static int two_ms(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_SIZE("segment_size", 64 << 10),
                       KILN_ARG_SIZE("large_size", 8 << 10), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&pools[0], arena, kiln_class_ms(), args));
  ck_assert_ok(kiln_pool_create(&pools[1], arena, kiln_class_ms(), args));
  return 2;
}

static const uint64_t seeds[] = {1, 2, 3, 0xC0FFEE};

START_TEST(test_graph_battery)
{
  graph_battery(_i, one_ms, 0, seeds);
}
END_TEST

START_TEST(test_two_pools_both_ways)
{
  graph_cfg_t cfg = {.make_pools = two_ms, .steps = test_scale(20000), .collect_every = 211,
      .use_barrier = 1, .seed = test_seed(seeds[_i] + 40)};
  graph_result_t r = graph_run(&cfg);
  ck_assert_uint_gt(r.verified, 20);
}
END_TEST

/* ---- ambiguous references from the stack ------------------------------ */

typedef struct env_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pool;
  kiln_ap_t ap;
  kiln_thread_t thr;
  kiln_root_t root;
} env_t;

static void env_open(env_t *e)
{
  ck_assert_ok(kiln_arena_create(&e->arena, NULL));
  ck_assert_ok(kiln_fmt_create(&e->fmt, e->arena, graph_format()));
  one_ms(e->arena, e->fmt, &e->pool);
  ck_assert_ok(kiln_ap_create(&e->ap, e->pool, NULL));
  e->root = stack_root(e->arena, &e->thr);
}

static void env_close(env_t *e)
{
  kiln_root_destroy(e->root);
  kiln_thread_dereg(e->thr);
  kiln_ap_destroy(e->ap);
  kiln_pool_destroy(e->pool);
  kiln_fmt_destroy(e->fmt);
  kiln_arena_destroy(e->arena);
}

START_TEST(test_stack_reference_survives)
{
  env_t e;
  env_open(&e);
  gobj_t *volatile held = gobj_new(e.ap, 7, 1, 40);
  held->ref[0] = gobj_new(e.ap, 8, 0, 24); /* reachable only through held */
  for (int i = 0; i < 1000; i++)
    (void)gobj_new(e.ap, 100 + (uint64_t)i, 0, 16); /* garbage */
  kiln_arena_collect(e.arena);
  ck_assert_uint_ge(pool_live(e.pool), 2);
  ck_assert_uint_lt(pool_live(e.pool), 100); /* the garbage went */
  ck_assert(held->id == 7 && gobj_payload_ok(held));
  ck_assert(held->ref[0]->id == 8 && gobj_payload_ok(held->ref[0]));
  env_close(&e);
}
END_TEST

START_TEST(test_interior_stack_reference_survives)
{
  env_t e;
  env_open(&e);
  /* Allocation afterwards must not reuse the kept object's grains. */
  (void)gobj_interior_pointer_kept(e.arena, e.ap, 5000);
  ck_assert_uint_ge(pool_live(e.pool), 1);
  ck_assert_uint_lt(pool_live(e.pool), 100); /* the garbage went */
  env_close(&e);
}
END_TEST

START_TEST(test_ambiguous_area_ignores_junk)
{
  env_t e;
  env_open(&e);
  gobj_t *o = gobj_new(e.ap, 1, 0, 8);
  void *area[4] = {(char *)o + 3, (void *)0x1234, (void *)(~(uintptr_t)0 - 7), NULL};
  kiln_root_t r;
  ck_assert_ok(kiln_root_create_area(&r, e.arena, area, area + 4, KILN_RANK_AMBIG));
  o = NULL;
  kiln_arena_collect(e.arena);
  ck_assert(((gobj_t *)(void *)((char *)area[0] - 3))->id == 1);
  ck_assert_ptr_eq(area[1], (void *)0x1234); /* ambiguous roots are never updated */
  kiln_root_destroy(r);
  env_close(&e);
}
END_TEST

/* Start bits are parsed lazily: a returned AP buffer is an unparsed range,
   and past 8 of them in one segment the next is parsed at once (ms.c,
   Allocation). Holes of exactly one object's size make every object its
   own buffer, so one segment gets dozens of ranges; each new object is then
   held only by an interior ambiguous pointer, which finds its object
   through the start bits. Every one must survive, intact. */
START_TEST(test_many_buffers_per_segment_parsed)
{
  enum { N = 400 };
  static void *keep[N], *inner[N / 2];
  env_t e;
  env_open(&e);
  kiln_root_t exact, ambig;
  exact = exact_area(e.arena, keep, N);
  ck_assert_ok(kiln_root_create_area(&ambig, e.arena, inner, inner + N / 2, KILN_RANK_AMBIG));
  for (size_t i = 0; i < N; i++)
    keep[i] = gobj_new(e.ap, i, 1, 24);
  for (size_t i = 0; i < N; i += 2)
    keep[i] = NULL; /* every other object dies: holes of one object each */
  kiln_arena_collect(e.arena);
  for (size_t i = 0; i < N / 2; i++) {
    gobj_t *o = gobj_new(e.ap, 10000 + i, 1, 24);
    ck_assert_ptr_null(o->ref[0]);
    inner[i] = (char *)o + 20;
  }
  kiln_arena_collect(e.arena);
  kiln_arena_collect(e.arena);
  for (size_t i = 0; i < N / 2; i++) {
    gobj_t *o = (gobj_t *)(void *)((char *)inner[i] - 20);
    ck_assert_msg(o->id == 10000 + i && gobj_payload_ok(o), "object %zu lost", i);
    gobj_t *old = keep[2 * i + 1];
    ck_assert(old->id == 2 * i + 1 && gobj_payload_ok(old));
  }
  ck_assert_uint_eq(pool_live(e.pool), N); /* the kept half and every new one */
  kiln_root_destroy(ambig);
  kiln_root_destroy(exact);
  env_close(&e);
}
END_TEST

/* ---- reclamation ------------------------------------------------------ */

START_TEST(test_churn_bounded)
{
  static void *live[2000];
  rooted_heap_t h;
  rooted_open(&h, one_ms, NULL, live, 2000);
  uint64_t rng = test_seed(5);
  kiln_stats_t st;
  size_t max_committed = 0;
  do {
    gobj_t *o = gobj_new(h.ap, rng, 1, (uint32_t)test_range(&rng, 0, 200));
    live[test_rand(&rng) % 2000] = o;
    st = astats(h.arena);
    if (st.committed > max_committed)
      max_committed = st.committed;
  } while (st.collections < 100);
  /* live set: 2000 objects of at most ~240 bytes, under 0.5 MiB; a budget of
     4 MiB between collections: committed must stay near that, not grow. */
  ck_assert_msg(max_committed < (16u << 20), "committed reached %zu bytes", max_committed);
  ck_assert_uint_gt(st.allocated, 100u * (4u << 20));
  rooted_close(&h);
}
END_TEST

/* The growable budget is growth x live whatever the heap held before:
   pages a burst of live data left free go back to the OS at the full
   collection after it, though `spare` would keep them, and the next
   collections come every budget_min bytes, not once the freed pages are
   refilled. */
static void burst_phase(size_t spare)
{
  static void *live[40000];
  kiln_stats_t st;
  const size_t budget = 256 << 10;
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("spare", spare), KILN_ARG_SIZE("budget_min", budget),
                        KILN_ARGS_END};
  memset(live, 0, sizeof live);
  rooted_heap_t h;
  rooted_open(&h, one_ms, aargs, live, 40000);
  for (uint32_t i = 0; i < 40000; i++) /* about 8 MiB live, then dropped */
    live[i] = gobj_new(h.ap, i, 1, 200);
  kiln_arena_collect(h.arena);
  memset(live, 0, sizeof live);
  live[0] = gobj_new(h.ap, 1, 1, 24);
  kiln_arena_collect(h.arena); /* live: one object */
  st = astats(h.arena);
  uint64_t gcs = st.collections;
  size_t slack = 2u << 20; /* the AP's segment and the one holding live[0] */
  ck_assert_msg(st.committed <= budget + slack, "spare %zu: %zu bytes committed after the burst",
                spare, st.committed);
  for (uint32_t i = 0; i < 20000; i++) /* about 4 MiB of garbage */
    live[1 + i % 16] = gobj_new(h.ap, i, 1, 200);
  st = astats(h.arena);
  ck_assert_msg(st.collections - gcs >= 10, "spare %zu: 4 MiB with a 256 KiB budget collected %llu "
                "times", spare, (unsigned long long)(st.collections - gcs));
  ck_assert_msg(st.committed <= budget + slack, "spare %zu: %zu bytes committed", spare,
                st.committed);
  ck_assert(gobj_payload_ok(live[0]));
  rooted_close(&h);
}

START_TEST(test_burst_returned)
{
  burst_phase(64u << 20);
  burst_phase(0);
}
END_TEST

START_TEST(test_everything_freed_when_unrooted)
{
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("spare", 0), KILN_ARGS_END};
  rooted_heap_t h;
  rooted_open(&h, one_ms, aargs, NULL, 0);
  kiln_arena_park(h.arena);
  for (int i = 0; i < 20000; i++)
    (void)gobj_new(h.ap, (uint64_t)i, 1, (uint32_t)(i % 300 == 0 ? 30000 : 40));
  kiln_pool_stats_t ps;
  kiln_pool_stats(h.pool, &ps);
  ck_assert_uint_gt(ps.committed, 1u << 20);
  kiln_arena_release(h.arena);
  kiln_arena_collect(h.arena);
  kiln_pool_stats(h.pool, &ps);
  ck_assert_uint_eq(ps.live_objects, 0);
  ck_assert_uint_le(ps.committed, 256u << 10); /* at most the AP's current segment */
  rooted_close(&h);
}
END_TEST

/* ---- reserve/commit --------------------------------------------------- */

START_TEST(test_commit_after_collection_fails_then_retry_works)
{
  env_t e;
  env_open(&e);
  gobj_commit_after_collection_fails(e.arena, e.ap);
  size_t size = gobj_size(0, 8);
  void *p;
  int tries = 0;
  gobj_t *o;
  do {
    tries++;
    ck_assert_ok(kiln_reserve(&p, e.ap, size));
    *(uint64_t *)p = ((uint64_t)size << 8) | 1;
    o = (gobj_t *)(void *)((char *)p + 8);
    o->nrefs = 0;
    o->npay = 0;
    o->id = 77;
  } while (!kiln_commit(e.ap, p, size));
  ck_assert_int_eq(tries, 1);
  kiln_arena_collect(e.arena);
  ck_assert(o->id == 77);
  env_close(&e);
}
END_TEST

START_TEST(test_reserve_bad_size)
{
  env_t e;
  env_open(&e);
  void *p;
  ck_assert_res(kiln_reserve(&p, e.ap, 13), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(e.arena),
                   "kiln_reserve: size 13 is not a multiple of the format's alignment 8");
  ck_assert_res(kiln_reserve(&p, e.ap, 0), KILN_PARAM);
  env_close(&e);
}
END_TEST

START_TEST(test_pool_needs_format)
{
  kiln_arena_t arena;
  kiln_pool_t pool;
  ck_assert_ok(kiln_arena_create(&arena, NULL));
  ck_assert_res(kiln_pool_create(&pool, arena, kiln_class_ms(), NULL), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena), "pool class 'ms': parameter 'format' must be a format "
                                            "of this arena (kiln_fmt_create), got none");
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("ms");
  TCase *g = suite_add_case(s, "graph", 300);
  tcase_add_loop_test(g, test_graph_battery, 0, GRAPH_BATTERY_RUNS);
  tcase_add_loop_test(g, test_two_pools_both_ways, 0, 2);
  TCase *a = suite_add_case(s, "ambiguous", 0);
  tcase_add_test(a, test_stack_reference_survives);
  tcase_add_test(a, test_interior_stack_reference_survives);
  tcase_add_test(a, test_ambiguous_area_ignores_junk);
  tcase_add_test(a, test_many_buffers_per_segment_parsed);
  TCase *r = suite_add_case(s, "reclaim", 120);
  tcase_add_test(r, test_churn_bounded);
  tcase_add_test(r, test_burst_returned);
  tcase_add_test(r, test_everything_freed_when_unrooted);
  TCase *p = suite_add_case(s, "protocol", 0);
  tcase_add_test(p, test_commit_after_collection_fails_then_retry_works);
  tcase_add_test(p, test_reserve_bad_size);
  tcase_add_test(p, test_pool_needs_format);
  return s;
}
