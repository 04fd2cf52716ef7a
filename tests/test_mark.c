/* test_mark.c -- parallel marking (core/mark.c).
 *
 * Owns: the graph property test under mark-sweep and sticky pools with 1,
 * 2 and 4 markers woken at a collection's first grey object, whose
 * outcomes (collections, bytes marked, the reachable objects verified
 * after each) are the same for every number of markers; a large tree that
 * the other markers help mark, under every automatic pool configuration,
 * surviving intact while its garbage goes back; and the markers
 * parameters. The checked build runs every other suite with markers too
 * (core/arena.c, MARKERS_LEAST), and the TSan build runs this one.
 */
#include "graph.h"

#include <string.h>

static const uint64_t seeds[] = {5, 6, 7};

static int one_ms(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&pools[0], arena, kiln_class_ms(), args));
  return 1;
}

static int sticky(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[0] = make_sticky(arena, fmt, 64u << 10, 0);
  return 1;
}

static int two_ms(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_SIZE("large_size", 1024),
                       KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&pools[0], arena, kiln_class_ms(), args));
  ck_assert_ok(kiln_pool_create(&pools[1], arena, kiln_class_ms(), args));
  return 2;
}

/* ---- outcomes independent of the number of markers ----------------------- */

typedef struct row_s {
  const char *name;
  int (*make_pools)(kiln_arena_t, kiln_fmt_t, kiln_pool_t *);
  size_t steps, collect_every, stress;
  int use_barrier;
} row_t;

static const row_t rows[] = {
  {"ms", one_ms, 20000, 97, 0, 0},
  {"two ms pools, large objects", two_ms, 20000, 211, 0, 1},
  {"sticky", sticky, 20000, 0, 0, 1},
  {"ms at stress 1", one_ms, 3000, 0, 1, 0},
  {"sticky at stress 1", sticky, 3000, 0, 1, 1},
};
#define NROWS (sizeof rows / sizeof rows[0])

static graph_result_t run_with(const row_t *row, uint64_t seed, size_t markers)
{
  kiln_arg_t args[] = {KILN_ARG_SIZE("markers", markers), KILN_ARG_SIZE("markers_after", 0),
                       KILN_ARG_SIZE("stress", row->stress), KILN_ARGS_END};
  graph_cfg_t cfg = {.make_pools = row->make_pools, .arena_args = args,
                     .steps = test_scale(row->steps), .collect_every = row->collect_every,
                     .use_barrier = row->use_barrier, .seed = seed};
  return graph_run(&cfg);
}

START_TEST(test_graph_same_for_any_markers)
{
  const row_t *row = &rows[_i % NROWS];
  uint64_t seed = test_seed(seeds[_i / NROWS]);
  graph_result_t one = run_with(row, seed, 1);
  ck_assert_uint_gt(one.verified, 10);
  ck_assert_uint_eq(one.helped, 0);
  for (size_t markers = 2; markers <= 4; markers += 2) {
    graph_result_t r = run_with(row, seed, markers);
    T_CHECK(r.collections == one.collections && r.minors == one.minors &&
                r.verified == one.verified && r.max_reachable == one.max_reachable &&
                r.marked == one.marked,
            "%s, seed %llu, %zu markers: %zu collections (%zu minor), %zu verified, %zu most "
            "reachable, %zu bytes marked; one marker: %zu (%zu), %zu, %zu, %zu",
            row->name, (unsigned long long)seed, markers, r.collections, r.minors, r.verified,
            r.max_reachable, r.marked, one.collections, one.minors, one.verified,
            one.max_reachable, one.marked);
  }
}
END_TEST

/* ---- a large tree ------------------------------------------------------- */

/* A complete binary tree of depth d, ids numbered in preorder from *id. */
static gobj_t *tree(kiln_ap_t ap, int d, uint64_t *id)
{
  uint64_t mine = (*id)++;
  gobj_t *kids[2] = {NULL, NULL};
  if (d > 0) {
    kids[0] = tree(ap, d - 1, id);
    kids[1] = tree(ap, d - 1, id);
  }
  return gobj_new_refs(ap, mine, 2, 8, kids);
}

/* Every node of the tree is there, in preorder, intact; returns the count. */
static uint64_t check_tree(const gobj_t *o, int d, uint64_t *id)
{
  gobj_check(o, (*id)++);
  if (d == 0) {
    ck_assert_ptr_null(o->ref[0]);
    return 1;
  }
  return 1 + check_tree(o->ref[0], d - 1, id) + check_tree(o->ref[1], d - 1, id);
}

static int tree_depth(void)
{
  int d = 4;
  while (d < 17 && ((size_t)2 << (d + 1)) <= test_scale((size_t)1 << 18))
    d++;
  return d;
}

typedef struct big_s {
  size_t marked, in_use, helped;
} big_t;

/* Build the tree parked (its subtrees live in locals until linked), drop
   as much garbage, collect three times, and check the tree. */
static big_t big_tree(int which, size_t markers, size_t after)
{
  static void *slot[1];
  kiln_arena_t arena;
  kiln_arg_t args[] = {KILN_ARG_SIZE("markers", markers), KILN_ARG_SIZE("markers_after", after),
                       KILN_ARGS_END};
  kiln_ap_t ap = config_ap(&arena, args, graph_format(), which, 1u << 20, 64u << 10);
  (void)exact_area(arena, slot, 1);
  int d = tree_depth();
  uint64_t id = 1;
  kiln_arena_park(arena);
  slot[0] = tree(ap, d, &id);
  uint64_t garbage_id = id;
  (void)tree(ap, d, &garbage_id);
  kiln_arena_release(arena);
  for (int i = 0; i < 3; i++)
    kiln_arena_collect(arena);
  uint64_t check_id = 1;
  ck_assert_uint_eq(check_tree(slot[0], d, &check_id), id - 1);
  kiln_stats_t st = astats(arena);
  big_t b = {st.marked, st.in_use, st.helped};
  ck_assert_uint_eq(st.markers, markers);
  /* A helper that the scheduler wakes late joins no collection; on a
     loaded machine that may take a few. */
  for (int i = 0; i < 50 && markers > 1 && b.helped == 0; i++) {
    kiln_arena_collect(arena);
    b.helped = astats(arena).helped;
  }
  slot[0] = NULL;
  kiln_arena_destroy(arena);
  return b;
}

START_TEST(test_big_tree_every_config)
{
  int which = _i;
  big_t one = big_tree(which, 1, 0), four = big_tree(which, 4, 0);
  T_CHECK(four.marked == one.marked, "%s: 4 markers marked %zu bytes, one %zu",
          config_names[which], four.marked, one.marked);
  T_CHECK(four.in_use <= one.in_use + (one.in_use >> 4), "%s: 4 markers left %zu bytes in "
          "use, one %zu", config_names[which], four.in_use, one.in_use);
  ck_assert_uint_eq(one.helped, 0);
  if (which == CONFIG_MS || which == CONFIG_STICKY || which == CONFIG_STICKY_INC)
    T_CHECK(four.helped > 0, "%s: the other markers scanned nothing", config_names[which]);
}
END_TEST

/* The default stretch of serial scanning, then the markers. */
START_TEST(test_big_tree_markers_after)
{
  big_t b = big_tree(CONFIG_MS, 2, 256u << 10);
  ck_assert_uint_gt(b.helped, 0);
  ck_assert_uint_lt(b.helped, b.marked);
}
END_TEST

/* ---- parameters ------------------------------------------------------- */

START_TEST(test_markers_params)
{
  kiln_arena_t arena;
  kiln_arg_t many[] = {KILN_ARG_SIZE("markers", 65), KILN_ARGS_END};
  ck_assert_int_eq(kiln_arena_create(&arena, many), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(NULL), "markers"));
  kiln_arg_t dflt[] = {KILN_ARG_SIZE("markers", 0), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&arena, dflt));
  unsigned m = astats(arena).markers;
  ck_assert_uint_ge(m, 1);
  ck_assert_uint_le(m, 8);
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("mark");
  TCase *tc = suite_add_case(s, "markers", 600);
  tcase_add_loop_test(tc, test_graph_same_for_any_markers, 0, (int)(NROWS * 3));
  tcase_add_loop_test(tc, test_big_tree_every_config, 0, NCONFIGS);
  tcase_add_test(tc, test_big_tree_markers_after);
  tcase_add_test(tc, test_markers_params);
  return s;
}
