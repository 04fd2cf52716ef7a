/* test_order.c -- the copy order of a stop-the-world trace: an object
 * that an exact root area refers to is copied next to what it alone
 * reaches (an instance next to its field table), not after every other
 * object the area refers to, so a moving collector keeps the mutator's
 * locality. Checked under a copy pool and a gen pool promoting into one,
 * with the time of the collections that copied in the statistics. */
#include "testlib.h"
#include "graph.h"

#include <stdlib.h>

enum { N = 2000, INST_PAY = 8, TABLE_PAY = 24 };

static kiln_pool_t make_pool(kiln_arena_t arena, kiln_fmt_t fmt, int gen)
{
  kiln_pool_t copy = plain_pool(arena, fmt, kiln_class_copy());
  return gen ? make_gen_aged(arena, fmt, copy, (size_t)1 << 20, 0) : copy;
}

/* N instances, each owning a table, with garbage between them; the root
   area refers to the instances only. After a full collection most tables
   start where their instance's block ends. */
START_TEST(test_instance_next_to_table)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt = arena_with_format(&arena, graph_format());
  kiln_pool_t pool = make_pool(arena, fmt, _i);
  kiln_ap_t ap;
  ck_assert_ok(kiln_ap_create(&ap, pool, NULL));
  static void *slots[N];
  kiln_root_t root;
  ck_assert_ok(kiln_root_create_area(&root, arena, slots, slots + N, KILN_RANK_EXACT));
  for (size_t i = 0; i < N; i++) {
    slots[i] = gobj_new(ap, i + 1, 1, INST_PAY);
    gobj_t *table = gobj_new(ap, N + i + 1, 0, TABLE_PAY);
    kiln_write(arena, slots[i], (void **)&((gobj_t *)slots[i])->ref[0], table);
    gobj_new(ap, 0, 0, 64); /* garbage between */
  }
  kiln_arena_collect(arena);
  size_t adjacent = 0, moved = 0;
  for (size_t i = 0; i < N; i++) {
    gobj_t *inst = slots[i];
    gobj_check(inst, i + 1);
    gobj_check(inst->ref[0], N + i + 1);
    adjacent += (char *)inst->ref[0] == (char *)inst + gobj_size(1, INST_PAY);
  }
  kiln_stats_t st = astats(arena);
  moved = st.copied;
  ck_assert_msg(moved > 0, "%s: the collection moved nothing", _i ? "gen->copy" : "copy");
  ck_assert_msg(st.copy_gc_seconds > 0 && st.copy_gc_seconds <= st.gc_seconds,
                "copy_gc_seconds %g is not the time of the collections that copied (of %g)",
                st.copy_gc_seconds, st.gc_seconds);
  ck_assert_msg(adjacent >= N * 9 / 10, "%s: only %zu of %d tables were copied next to their "
                "instance", _i ? "gen->copy" : "copy", adjacent, N);
  kiln_root_destroy(root);
  kiln_ap_destroy(ap);
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("order");
  TCase *t = suite_add_case(s, "copy order", 0);
  tcase_add_loop_test(t, test_instance_next_to_table, 0, 2);
  return s;
}
