/* test_weakobj.c -- objects of weak rank (kiln_ap_create with rank "weak")
 * under every automatic pool configuration: such an object lives and moves
 * as any other, but its references keep nothing alive; after a full or
 * minor collection a reference to a dead object is NULL and one to a moved
 * object is updated; also when only a finalized object reaches it. Also
 * the rank argument's errors. */
#include "testlib.h"
#include "graph.h"

#include <string.h>

/* The young generation's size and the incremental sticky step. */
#define YOUNG (1u << 20)
#define STEP (16u << 10)


/* An arena with one pool, a strong and a weak allocation point on it, and
   an exact root area of four slots. */
typedef struct env_s {
  kiln_arena_t arena;
  kiln_pool_t pool;
  kiln_ap_t ap, wap;
  kiln_root_t root;
  void *slots[4];
} env_t;

static void env_open(env_t *e, int which)
{
  kiln_fmt_t fmt;
  *e = (env_t){.arena = NULL};
  ck_assert_ok(kiln_arena_create(&e->arena, NULL));
  ck_assert_ok(kiln_fmt_create(&fmt, e->arena, graph_format()));
  e->pool = make_config_pool(e->arena, fmt, which, YOUNG, STEP, NULL);
  ck_assert_ok(kiln_ap_create(&e->ap, e->pool, NULL));
  kiln_arg_t weak[] = {KILN_ARG_STR("rank", "weak"), KILN_ARGS_END};
  ck_assert_ok(kiln_ap_create(&e->wap, e->pool, weak));
  e->root = exact_area(e->arena, e->slots, 4);
}

static void env_close(env_t *e)
{
  kiln_root_destroy(e->root);
  kiln_ap_destroy(e->wap);
  kiln_ap_destroy(e->ap);
  kiln_arena_destroy(e->arena);
}

/* Fail unless, after the collection named by what, the weak object in
   slot 0 (id 10) is intact, its reference 1 (to a dead object) is cleared
   and its reference 0 is slot 1's object (id 1), kept and updated. */
static void check_weak_refs(const env_t *e, const char *cfg, const char *what)
{
  const gobj_t *w = e->slots[0];
  gobj_check(w, 10);
  ck_assert_msg(w->ref[1] == NULL, "%s: %s did not clear a weak object's reference to a dead "
                "object", cfg, what);
  ck_assert_msg(w->ref[0] == e->slots[1], "%s: %s did not keep (or update) a weak object's "
                "reference to a live object", cfg, what);
  gobj_check(w->ref[0], 1);
}

/* Full collections: the weak object survives (and moves) as a rooted
   object does; its reference to an object reachable only through it is
   cleared, its reference to a rooted object is kept (updated if moved),
   and a strong object's reference still keeps its target alive. After the
   weak object itself has moved, what it refers to is still held weakly. */
START_TEST(test_weakobj_full)
{
  static env_t e;
  env_open(&e, _i);
  const char *cfg = config_names[_i];
  e.slots[0] = gobj_new(e.wap, 10, 2, 8);
  e.slots[1] = gobj_new(e.ap, 1, 0, 16);
  e.slots[3] = gobj_new(e.ap, 3, 0, 16);
  e.slots[2] = gobj_new(e.ap, 4, 1, 0);
  gobj_store(e.arena, e.slots[2], 0, e.slots[3]); /* a strong object's reference */
  e.slots[3] = NULL;
  gobj_store(e.arena, e.slots[0], 0, e.slots[1]);
  gobj_t *only_weak = gobj_new(e.ap, 2, 0, 16);
  gobj_store(e.arena, e.slots[0], 1, only_weak);
  kiln_arena_collect(e.arena);
  check_weak_refs(&e, cfg, "a full collection");
  gobj_check(((gobj_t *)e.slots[2])->ref[0], 3); /* strong references still keep */

  /* w may have moved: a new target stored in it is still held weakly. */
  gobj_t *fresh = gobj_new(e.ap, 5, 0, 16);
  gobj_t *w = e.slots[0];
  gobj_store(e.arena, w, 1, fresh);
  e.slots[1] = NULL;
  kiln_arena_collect(e.arena);
  w = e.slots[0];
  gobj_check(w, 10);
  ck_assert_msg(w->ref[0] == NULL && w->ref[1] == NULL, "%s: after the weak object was "
                "collected once, its references kept their targets alive", cfg);
  env_close(&e);
}
END_TEST

/* Minor collections: an old weak object's references to young objects are
   found through the remembered set and processed weakly -- cleared when
   the young object died, updated when it moved -- and the weak object stays. */
START_TEST(test_weakobj_minor)
{
  int which = CONFIG_GEN_MS + _i;
  const char *cfg = config_names[which];
  static env_t e;
  env_open(&e, which);
  e.slots[0] = gobj_new(e.wap, 10, 2, 8);
  kiln_arena_collect(e.arena); /* the weak object is old now */
  e.slots[1] = gobj_new(e.ap, 1, 0, 16);
  gobj_store(e.arena, e.slots[0], 0, e.slots[1]);
  gobj_t *young_dead = gobj_new(e.ap, 2, 0, 16);
  gobj_store(e.arena, e.slots[0], 1, young_dead);
  uint64_t fulls_before = fulls(e.arena);
  gobj_garbage_until_minors(e.arena, e.ap, 2);
  ck_assert_msg(fulls(e.arena) == fulls_before, "%s: a full collection ran", cfg);
  check_weak_refs(&e, cfg, "a minor collection");

  /* The surviving reference is still weak in the next minor collections. */
  e.slots[1] = NULL;
  gobj_garbage_until_minors(e.arena, e.ap, 2);
  kiln_arena_collect(e.arena);
  gobj_t *w = e.slots[0];
  gobj_check(w, 10);
  ck_assert_msg(w->ref[0] == NULL, "%s: a weak object's reference kept its target alive", cfg);
  env_close(&e);
}
END_TEST

/* A weak object reachable only through another weak object dies. */
START_TEST(test_weakobj_unreachable_dies)
{
  static env_t e;
  env_open(&e, _i);
  e.slots[0] = gobj_new(e.wap, 1, 1, 8);
  gobj_t *inner = gobj_new(e.wap, 2, 1, 8);
  gobj_store(e.arena, e.slots[0], 0, inner);
  kiln_arena_collect(e.arena);
  gobj_t *outer = e.slots[0];
  gobj_check(outer, 1);
  ck_assert_msg(outer->ref[0] == NULL, "%s: a weak object kept another weak object alive",
                config_names[_i]);
  env_close(&e);
}
END_TEST

/* Finalization resurrects what a dying registered object reaches,
   including an object of weak rank never reached before it: that object's
   reference to an object nothing else reaches is cleared, its reference to
   a rooted object kept (updated if moved), and the weak reference a
   dying object had to the finalized one was cleared before it was queued. */
START_TEST(test_weakobj_reached_by_finalized)
{
  static env_t e;
  env_open(&e, _i);
  const char *cfg = config_names[_i];
  gobj_t *fin = gobj_new(e.ap, 1, 1, 8);
  gobj_t *w = gobj_new(e.wap, 2, 2, 8);
  gobj_store(e.arena, fin, 0, w);
  e.slots[1] = gobj_new(e.ap, 3, 0, 16);
  gobj_store(e.arena, w, 0, e.slots[1]);
  gobj_store(e.arena, w, 1, gobj_new(e.ap, 4, 0, 16)); /* only w reaches it */
  e.slots[0] = gobj_new(e.wap, 5, 1, 8);
  gobj_store(e.arena, e.slots[0], 0, fin); /* a weak reference to the finalized object */
  ck_assert_ok(kiln_finalize(e.arena, fin));
  fin = w = NULL;
  kiln_arena_collect(e.arena);
  void *got = NULL;
  ck_assert_msg(kiln_finalized(e.arena, &got) == 1, "%s: the object was not finalized", cfg);
  fin = got;
  gobj_check(fin, 1);
  ck_assert_msg(((gobj_t *)e.slots[0])->ref[0] == NULL, "%s: a weak reference to a finalized "
                "object was not cleared", cfg);
  w = fin->ref[0];
  gobj_check(w, 2);
  ck_assert_msg(w->ref[1] == NULL, "%s: a weak object reached only through a finalized object "
                "kept its dead target", cfg);
  ck_assert_msg(w->ref[0] == e.slots[1], "%s: a weak object reached only through a finalized "
                "object lost (or did not update) its live target", cfg);
  gobj_check(w->ref[0], 3);
  env_close(&e);
}
END_TEST

START_TEST(test_ap_rank_errors)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_ap_t ap;
  ck_assert_ok(kiln_arena_create(&arena, NULL));
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  kiln_pool_t pool = make_config_pool(arena, fmt, CONFIG_MS, YOUNG, STEP, NULL);
  kiln_arg_t soft[] = {KILN_ARG_STR("rank", "soft"), KILN_ARGS_END};
  ck_assert_res(kiln_ap_create(&ap, pool, soft), KILN_PARAM);
  ck_assert_msg(strstr(kiln_arena_error(arena), "unknown rank 'soft'") != NULL &&
                strstr(kiln_arena_error(arena), "\"weak\"") != NULL, "%s",
                kiln_arena_error(arena));
  kiln_arg_t other[] = {KILN_ARG_STR("rnak", "weak"), KILN_ARGS_END};
  ck_assert_res(kiln_ap_create(&ap, pool, other), KILN_PARAM);
  ck_assert_msg(strstr(kiln_arena_error(arena), "unknown parameter 'rnak'") != NULL &&
                strstr(kiln_arena_error(arena), "'rank'") != NULL, "%s", kiln_arena_error(arena));
  kiln_arg_t exact[] = {KILN_ARG_STR("rank", "exact"), KILN_ARGS_END};
  ck_assert_ok(kiln_ap_create(&ap, pool, exact));
  kiln_ap_destroy(ap);
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("weakobj");
  TCase *t = suite_add_case(s, "objects of weak rank", 0);
  tcase_add_loop_test(t, test_weakobj_full, 0, NCONFIGS);
  tcase_add_loop_test(t, test_weakobj_minor, 0, NYOUNG_CONFIGS);
  tcase_add_loop_test(t, test_weakobj_unreachable_dies, 0, NCONFIGS);
  tcase_add_loop_test(t, test_weakobj_reached_by_finalized, 0, NCONFIGS);
  tcase_add_test(t, test_ap_rank_errors);
  return s;
}
