/* test_oom.c -- running out of memory (issue 7): with a commit limit, an
 * allocation that cannot be satisfied even after a full collection returns
 * KILN_LIMIT from the allocation slow path, nothing is lost or corrupted,
 * and the heap works again once the client drops references. Every
 * automatic pool class, alone and as a generational pool's mature space. */
#include "graph.h"

#include <string.h>

enum { MS, COPY, GEN_MS, GEN_COPY, CONFIGS };
static const char *const names[] = {"ms", "copy", "gen->ms", "gen->copy"};

static kiln_pool_t make(kiln_arena_t arena, kiln_fmt_t fmt, int config, kiln_pool_t *mature_o)
{
  kiln_pool_t mature, pool;
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  kiln_class_t klass = config == MS || config == GEN_MS ? kiln_class_ms() : kiln_class_copy();
  ck_assert_ok(kiln_pool_create(&mature, arena, klass, args));
  *mature_o = mature;
  if (config == MS || config == COPY)
    return mature;
  kiln_arg_t gargs[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", mature),
                        KILN_ARG_SIZE("nursery_size", 256 << 10), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&pool, arena, kiln_class_gen(), gargs));
  return pool;
}

/* Check the chain from head: ids count down, payloads intact. */
static size_t chain_ok(gobj_t *head)
{
  size_t n = 0;
  for (gobj_t *o = head; o != NULL; o = o->ref[0], n++)
    T_CHECK(gobj_payload_ok(o) && (o->ref[0] == NULL || o->ref[0]->id + 1 == o->id),
            "chain corrupted at object %llu", (unsigned long long)o->id);
  return n;
}

START_TEST(test_limit_then_recover)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pool, mature;
  kiln_ap_t ap;
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("commit_limit", 8 << 20), KILN_ARG_SIZE("spare", 0),
                        KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&arena, aargs));
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  pool = make(arena, fmt, _i, &mature);
  ck_assert_ok(kiln_ap_create(&ap, pool, NULL));
  static void *root[1];
  /* Each loop iteration starts from an empty chain: under CK_FORK=no (as the
     Valgrind run uses) the static still holds the previous arena's chain. */
  root[0] = NULL;
  kiln_root_t r;
  ck_assert_ok(kiln_root_create_area(&r, arena, root, root + 1, KILN_RANK_EXACT));
  /* Keep everything alive in one chain until memory runs out. */
  kiln_res_t res = KILN_OK;
  uint64_t id = 0;
  while (res == KILN_OK && id < 10000000) {
    gobj_t *o = gobj_try_new(ap, ++id, 1, 200, &res);
    if (o != NULL) {
      o->ref[0] = root[0];
      root[0] = o;
    }
  }
  ck_assert_msg(res == KILN_LIMIT, "%s: got %s after %llu objects", names[_i], kiln_res_name(res),
                (unsigned long long)id);
  ck_assert_msg(strstr(kiln_arena_error(arena), "commit limit") != NULL, "%s",
                kiln_arena_error(arena));
  kiln_stats_t st;
  kiln_arena_stats(arena, &st);
  ck_assert_uint_le(st.committed, 8u << 20);
  size_t kept = chain_ok(root[0]);
  ck_assert_uint_gt(kept, 1000); /* the heap was really used */
  /* Drop everything: the heap must work again. */
  root[0] = NULL;
  for (uint64_t i = 0; i < 50000; i++) {
    gobj_t *o = gobj_try_new(ap, i + 1, 1, 200, &res);
    ck_assert_msg(o != NULL, "%s: after dropping references: %s (%s)", names[_i],
                  kiln_res_name(res), kiln_arena_error(arena));
    o->ref[0] = i % 1000 == 0 ? NULL : root[0];
    root[0] = o;
  }
  chain_ok(root[0]);
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("oom");
  TCase *tc = tcase_create("limit");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_limit_then_recover, 0, CONFIGS);
  suite_add_tcase(s, tc);
  return s;
}
