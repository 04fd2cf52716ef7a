/* test_weak.c -- weak roots given as scan functions, under every automatic
 * pool class: the function runs at every collection, a reference to an
 * object that died becomes NULL, one to a survivor is updated if it moved,
 * and a weak reference alone keeps nothing alive. */
#include "testlib.h"
#include "graph.h"

typedef struct weak_cl_s {
  void *slots[3];
  int calls;
} weak_cl_t;

static kiln_res_t scan_weak(kiln_ss_t ss, void *closure)
{
  weak_cl_t *cl = closure;
  cl->calls++;
  kiln_res_t res = KILN_OK;
  KILN_SCAN_BEGIN(ss) {
    for (int i = 0; i < 3 && res == KILN_OK; i++)
      res = KILN_FIX12(ss, &cl->slots[i]);
  } KILN_SCAN_END(ss);
  return res;
}

/* The configurations this suite runs under: all but incremental sticky. */
#define WEAK_CONFIGS CONFIG_STICKY_INC

/* An arena with one pool of class which, an exact root area of two slots
   and the weak scan root over cl. */
typedef struct weak_env_s {
  kiln_arena_t arena;
  kiln_ap_t ap;
  kiln_root_t rstrong, rweak;
  void *strong[2];
  weak_cl_t cl;
} weak_env_t;

static void weak_open(weak_env_t *w, int which)
{
  *w = (weak_env_t){.arena = NULL};
  w->ap = config_ap(&w->arena, NULL, graph_format(), which, 1u << 20, 0);
  w->rstrong = exact_area(w->arena, w->strong, 2);
  ck_assert_ok(kiln_root_create_scan(&w->rweak, w->arena, KILN_RANK_WEAK, scan_weak, &w->cl));
}

static void weak_close(weak_env_t *w)
{
  kiln_root_destroy(w->rweak);
  kiln_root_destroy(w->rstrong);
  kiln_ap_destroy(w->ap);
  kiln_arena_destroy(w->arena);
}

START_TEST(test_weak_scan_root)
{
  static weak_env_t w;
  weak_cl_t *cl = &w.cl;
  weak_open(&w, _i);
  w.strong[0] = gobj_new(w.ap, 1, 0, 8);
  w.strong[1] = gobj_new(w.ap, 3, 0, 64);
  cl->slots[0] = w.strong[0];
  cl->slots[1] = gobj_new(w.ap, 2, 0, 8); /* only the weak root refers to it */
  cl->slots[2] = w.strong[1];

  kiln_arena_collect(w.arena);
  ck_assert_msg(cl->calls >= 1, "%s: the weak scan root never ran", config_names[_i]);
  ck_assert_msg(cl->slots[1] == NULL, "%s: a dead object's weak reference was not cleared",
                config_names[_i]);
  ck_assert_ptr_eq(cl->slots[0], w.strong[0]);
  ck_assert_ptr_eq(cl->slots[2], w.strong[1]);
  gobj_check(cl->slots[0], 1);
  gobj_check(cl->slots[2], 3);

  w.strong[0] = NULL;
  int before = cl->calls;
  kiln_arena_collect(w.arena);
  ck_assert_int_gt(cl->calls, before);
  ck_assert_msg(cl->slots[0] == NULL, "%s: a weak reference kept its object alive",
                config_names[_i]);
  ck_assert_ptr_eq(cl->slots[2], w.strong[1]);
  gobj_check(cl->slots[2], 3);
  weak_close(&w);
}
END_TEST

/* Minor collections of the generational classes clear and update weak
   references to young objects too. */
START_TEST(test_weak_scan_root_minor)
{
  int which = CONFIG_GEN_MS + _i;
  static weak_env_t w;
  weak_cl_t *cl = &w.cl;
  weak_open(&w, which);
  w.strong[0] = gobj_new(w.ap, 1, 0, 8);
  cl->slots[0] = w.strong[0];
  cl->slots[1] = gobj_new(w.ap, 2, 0, 8);
  uint64_t fulls_before = fulls(w.arena);
  gobj_garbage_until_minors(w.arena, w.ap, 2);
  ck_assert_msg(fulls(w.arena) == fulls_before, "%s: a full collection ran", config_names[which]);
  ck_assert_msg(cl->calls >= 1, "%s: the weak scan root never ran in a minor", config_names[which]);
  ck_assert_msg(cl->slots[1] == NULL, "%s: a minor did not clear a dead young object's weak "
                "reference", config_names[which]);
  ck_assert_ptr_eq(cl->slots[0], w.strong[0]);
  gobj_check(cl->slots[0], 1);
  weak_close(&w);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("weak");
  TCase *t = suite_add_case(s, "weak scan roots", 0);
  tcase_add_loop_test(t, test_weak_scan_root, 0, WEAK_CONFIGS);
  tcase_add_loop_test(t, test_weak_scan_root_minor, 0, WEAK_CONFIGS - CONFIG_GEN_MS);
  return s;
}
