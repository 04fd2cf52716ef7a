/* test_final.c -- finalization (kiln_finalize, kiln_definalize,
 * kiln_finalized) under every automatic pool configuration: ms, copy,
 * gen->ms, gen->copy, sticky ms and incremental sticky ms, in full and
 * minor collections. A registered object that dies is queued once, intact
 * with what it reaches (moved if its pool moves), and weak references to
 * it are cleared; a reachable one is not queued; withdrawn registrations
 * are not; a finalized object dropped again is reclaimed; misuse gets a
 * sentence. */
#include "testlib.h"
#include "graph.h"

#include <stdlib.h>
#include <string.h>


/* The young generation's size and the incremental sticky step. */
#define YOUNG (256u << 10)
#define STEP (32u << 10)

#define NSLOTS 4

typedef struct weak_cl_s {
  void *slots[2];
} weak_cl_t;

static kiln_res_t scan_weak(kiln_ss_t ss, void *closure)
{
  weak_cl_t *cl = closure;
  kiln_res_t res = KILN_OK;
  KILN_SCAN_BEGIN(ss) {
    for (int i = 0; i < 2 && res == KILN_OK; i++)
      res = KILN_FIX12(ss, &cl->slots[i]);
  } KILN_SCAN_END(ss);
  return res;
}

/* An arena with one configuration, an exact root area of NSLOTS slots and
   a weak scan root of two slots. */
typedef struct env_s {
  kiln_arena_t arena;
  kiln_ap_t ap;
  kiln_root_t rstrong, rweak;
  void *slot[NSLOTS];
  weak_cl_t weak;
  int which;
} env_t;

static void env_open(env_t *e, int which, const kiln_arg_t *arena_args)
{
  memset(e, 0, sizeof *e);
  e->which = which;
  e->ap = config_ap(&e->arena, arena_args, graph_format(), which, YOUNG, STEP);
  e->rstrong = exact_area(e->arena, e->slot, NSLOTS);
  ck_assert_ok(kiln_root_create_scan(&e->rweak, e->arena, KILN_RANK_WEAK, scan_weak, &e->weak));
}

static void env_close(env_t *e)
{
  kiln_root_destroy(e->rweak);
  kiln_root_destroy(e->rstrong);
  kiln_ap_destroy(e->ap);
  kiln_arena_destroy(e->arena);
}

/* An object id with one reference to a child id + 1, both with payload.
   hold is an exact root slot: it keeps the child (and then the object)
   alive and up to date across the collections allocating may run. */
static gobj_t *pair_new(kiln_ap_t ap, uint64_t id, void **hold)
{
  *hold = gobj_new(ap, id + 1, 0, 24);
  *hold = gobj_new_refs(ap, id, 1, 40, (gobj_t *const *)hold);
  return *hold;
}

static void pair_check(const gobj_t *o, uint64_t id)
{
  gobj_check(o, id);
  ck_assert_ptr_nonnull(o->ref[0]);
  gobj_check(o->ref[0], id + 1);
}

/* A dead registered object is queued once, intact with its child, after
   moving where the pool moves; the weak reference to it is cleared; a
   reachable registered object is not queued; dropped again, the object
   is reclaimed. */
START_TEST(test_final_unreachable)
{
  static env_t e;
  const char *name = config_names[_i];
  env_open(&e, _i, NULL);
  pair_new(e.ap, 20, &e.slot[1]);
  gobj_t *dying = pair_new(e.ap, 10, &e.slot[3]);
  e.slot[3] = NULL;
  ck_assert_ok(kiln_finalize(e.arena, dying));
  ck_assert_ok(kiln_finalize(e.arena, e.slot[1]));
  e.weak.slots[0] = dying;
  uintptr_t old = (uintptr_t)dying;
  dying = NULL;
  void *got = NULL;
  ck_assert_int_eq(kiln_finalized(e.arena, &got), 0);

  kiln_arena_collect(e.arena);
  ck_assert_msg(e.weak.slots[0] == NULL, "%s: a weak reference to a finalized object was not "
                "cleared", name);
  kiln_arena_collect(e.arena); /* the queue keeps it, and its child, alive and moving */
  ck_assert_msg(kiln_finalized(e.arena, &got) == 1, "%s: the dead registered object was not "
                "queued", name);
  e.slot[0] = got;
  pair_check(e.slot[0], 10);
  if (config_moves_in_full(_i))
    ck_assert_msg((uintptr_t)got != old, "%s: the finalized object did not move", name);
  ck_assert_msg(kiln_finalized(e.arena, &got) == 0, "%s: a second object was queued", name);
  ck_assert_uint_eq(astats(e.arena).finalized, 1);
  pair_check(e.slot[1], 20);

  kiln_arena_collect(e.arena); /* finalized once: not queued again */
  ck_assert_int_eq(kiln_finalized(e.arena, &got), 0);
  pair_check(e.slot[0], 10);

  e.weak.slots[1] = e.slot[0];
  e.slot[0] = NULL;
  kiln_arena_collect(e.arena);
  ck_assert_msg(e.weak.slots[1] == NULL, "%s: a finalized object dropped again was not "
                "reclaimed", name);
  ck_assert_int_eq(kiln_finalized(e.arena, &got), 0);
  pair_check(e.slot[1], 20);
  ck_assert_uint_eq(astats(e.arena).finalized, 1);
  env_close(&e);
}
END_TEST

/* Minor collections finalize dead young registered objects; a dead old
   one waits for a full collection (old objects are alive in a minor). */
START_TEST(test_final_minor)
{
  static env_t e;
  int which = CONFIG_GEN_MS + _i;
  const char *name = config_names[which];
  env_open(&e, which, NULL);
  pair_new(e.ap, 30, &e.slot[2]);
  ck_assert_ok(kiln_finalize(e.arena, e.slot[2]));
  kiln_arena_collect(e.arena); /* now old */
  e.slot[2] = NULL;
  ck_assert_ok(kiln_finalize(e.arena, pair_new(e.ap, 10, &e.slot[3])));
  e.slot[3] = NULL;
  uint64_t fulls_before = fulls(e.arena);
  gobj_garbage_until_minors(e.arena, e.ap, 2);
  ck_assert_msg(fulls(e.arena) == fulls_before, "%s: a full collection ran", name);
  void *got = NULL;
  ck_assert_msg(kiln_finalized(e.arena, &got) == 1, "%s: a minor collection did not queue a "
                "dead young registered object", name);
  e.slot[0] = got;
  pair_check(e.slot[0], 10);
  ck_assert_msg(kiln_finalized(e.arena, &got) == 0, "%s: a minor collection queued an old "
                "object", name);
  kiln_arena_collect(e.arena);
  ck_assert_msg(kiln_finalized(e.arena, &got) == 1, "%s: a full collection did not queue the "
                "dead old registered object", name);
  e.slot[1] = got;
  pair_check(e.slot[1], 30);
  pair_check(e.slot[0], 10);
  ck_assert_int_eq(kiln_finalized(e.arena, &got), 0);
  ck_assert_uint_eq(astats(e.arena).finalized, 2);
  env_close(&e);
}
END_TEST

/* kiln_definalize withdraws one registration: registrations count. */
START_TEST(test_final_definalize)
{
  static env_t e;
  const char *name = config_names[_i];
  env_open(&e, _i, NULL);
  pair_new(e.ap, 10, &e.slot[2]);
  gobj_t *b = pair_new(e.ap, 20, &e.slot[3]), *a = e.slot[2];
  e.slot[2] = e.slot[3] = NULL;
  ck_assert_ok(kiln_finalize(e.arena, a));
  ck_assert_ok(kiln_definalize(e.arena, a));
  ck_assert_res(kiln_definalize(e.arena, a), KILN_FAIL);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "is not registered for finalization"));
  ck_assert_ok(kiln_finalize(e.arena, b));
  ck_assert_ok(kiln_finalize(e.arena, b));
  a = b = NULL;
  kiln_arena_collect(e.arena);
  void *got = NULL;
  ck_assert_msg(kiln_finalized(e.arena, &got) == 1, "%s: nothing queued", name);
  e.slot[0] = got;
  ck_assert_msg(kiln_finalized(e.arena, &got) == 1, "%s: an object registered twice was not "
                "queued twice", name);
  ck_assert_ptr_eq(got, e.slot[0]);
  pair_check(e.slot[0], 20);
  ck_assert_msg(kiln_finalized(e.arena, &got) == 0, "%s: a withdrawn registration was "
                "finalized", name);
  ck_assert_res(kiln_definalize(e.arena, e.slot[0]), KILN_FAIL); /* finalized: not registered */
  env_close(&e);
}
END_TEST

/* Many objects, some kept, some withdrawn, in rounds of collections,
   against a shadow model: each dead registration comes back exactly once,
   intact. Optionally under stress (a collection at every allocation). */
static void many_objects(int which, const kiln_arg_t *arena_args)
{
  const char *name = config_names[which];
  size_t n = test_scale(2000);
  void **slots = calloc(n, sizeof *slots);
  unsigned char *state = calloc(n, 1); /* 0 unregistered, 1 registered, 2 finalized */
  ck_assert(slots != NULL && state != NULL);
  uint64_t rng = test_seed(17);
  kiln_arena_t arena;
  kiln_ap_t ap = config_ap(&arena, arena_args, graph_format(), which, YOUNG, STEP);
  kiln_root_t root = exact_area(arena, slots, n);
  for (size_t i = 0; i < n; i++) {
    pair_new(ap, 2 * i, &slots[i]);
    if (test_range(&rng, 0, 3) != 0) {
      ck_assert_ok(kiln_finalize(arena, slots[i]));
      state[i] = 1;
    }
  }
  size_t expected = 0;
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < n; i++) {
      if (slots[i] == NULL || test_range(&rng, 0, 2) != 0)
        continue;
      if (state[i] == 1 && test_range(&rng, 0, 4) == 0) {
        ck_assert_ok(kiln_definalize(arena, slots[i]));
        state[i] = 0;
      }
      if (state[i] == 1)
        expected++;
      slots[i] = NULL;
    }
    if (round == 1 && which != CONFIG_MS && which != CONFIG_COPY)
      gobj_garbage_until_minors(arena, ap, 1); /* minors finalize the young first */
    kiln_arena_collect(arena);
    void *got;
    size_t seen = 0;
    while (kiln_finalized(arena, &got)) {
      const gobj_t *o = got;
      ck_assert_msg(o->id % 2 == 0 && o->id / 2 < n, "%s: a stranger was finalized", name);
      size_t i = o->id / 2;
      ck_assert_msg(state[i] == 1 && slots[i] == NULL, "%s: object %zu finalized in state %d",
                    name, i, state[i]);
      pair_check(o, o->id);
      state[i] = 2;
      seen++;
    }
    ck_assert_msg(seen == expected, "%s: round %d finalized %zu objects, the model %zu", name,
                  round, seen, expected);
    expected = 0;
    for (size_t i = 0; i < n; i++)
      if (slots[i] != NULL)
        pair_check(slots[i], 2 * i);
  }
  kiln_stats_t st = astats(arena);
  size_t done = 0;
  for (size_t i = 0; i < n; i++)
    done += state[i] == 2;
  ck_assert_uint_eq(st.finalized, done);
  kiln_root_destroy(root);
  kiln_ap_destroy(ap);
  kiln_arena_destroy(arena);
  free(slots);
  free(state);
}

START_TEST(test_final_many)
{
  many_objects(_i, NULL);
}
END_TEST

START_TEST(test_final_many_stress)
{
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("stress", 64), KILN_ARGS_END};
  many_objects(CONFIG_GEN_MS + _i, aargs);
}
END_TEST

/* Misuse gets KILN_PARAM and a sentence naming the rule. */
START_TEST(test_final_misuse)
{
  static env_t e;
  env_open(&e, CONFIG_MS, NULL);
  int local;
  ck_assert_res(kiln_finalize(e.arena, NULL), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "kiln_finalize: the address"));
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "is NULL"));
  ck_assert_res(kiln_finalize(e.arena, &local), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "is not in the arena's heap"));
  kiln_pool_t mvff;
  void *block;
  ck_assert_ok(kiln_pool_create(&mvff, e.arena, kiln_class_mvff(), NULL));
  ck_assert_ok(kiln_alloc(&block, mvff, 48));
  ck_assert_res(kiln_finalize(e.arena, block), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "is in a manual pool"));
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "register only objects of the "
                               "arena's automatic pools"));
  kiln_free(mvff, block, 48);
  kiln_pool_destroy(mvff);
  ck_assert_res(kiln_definalize(e.arena, &local), KILN_FAIL);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "kiln_definalize: the address"));
  ck_assert_int_eq(kiln_finalized(e.arena, NULL), 0);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "obj_o is NULL"));
  env_close(&e);
}
END_TEST

/* Destroying a pool drops its objects' registrations and queue entries. */
START_TEST(test_final_pool_destroy)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt = arena_with_format(&arena, graph_format());
  kiln_pool_t pool = make_config_pool(arena, fmt, _i, YOUNG, STEP, NULL);
  kiln_ap_t ap;
  ck_assert_ok(kiln_ap_create(&ap, pool, NULL));
  void *hold = NULL;
  kiln_root_t root;
  root = exact_area(arena, &hold, 1);
  ck_assert_ok(kiln_finalize(arena, pair_new(ap, 10, &hold)));
  hold = NULL;
  kiln_arena_collect(arena);
  ck_assert_ok(kiln_finalize(arena, pair_new(ap, 20, &hold)));
  hold = NULL;
  kiln_root_destroy(root);
  kiln_ap_destroy(ap);
  kiln_pool_destroy(pool);
  void *got;
  ck_assert_int_eq(kiln_finalized(arena, &got), 0);
  kiln_arena_collect(arena);
  ck_assert_int_eq(kiln_finalized(arena, &got), 0);
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("final");
  TCase *t = suite_add_case(s, "finalization", 0);
  tcase_add_loop_test(t, test_final_unreachable, 0, NCONFIGS);
  tcase_add_loop_test(t, test_final_minor, 0, NYOUNG_CONFIGS);
  tcase_add_loop_test(t, test_final_definalize, 0, NCONFIGS);
  tcase_add_loop_test(t, test_final_many, 0, NCONFIGS);
  tcase_add_loop_test(t, test_final_many_stress, 0, NYOUNG_CONFIGS);
  tcase_add_test(t, test_final_misuse);
  tcase_add_loop_test(t, test_final_pool_destroy, 0, 2);
  return s;
}
