/* test_overflow.c -- mark-stack overflow under every automatic pool class:
 * with the grey stack capped at one entry (the arena's testing field
 * grey_max), a deep list and a wide tree survive every collection intact,
 * garbage between them is reclaimed, and the live bytes a collection finds
 * are those it finds with an unbounded stack. */
#include "testlib.h"
#include "graph.h"
#include "arena.h"


#define FANOUT 4
#define DEPTH 6                   /* the tree: FANOUT^DEPTH leaves */
#define LEAVES 4096               /* FANOUT^DEPTH */
#define NWEAK 64                  /* garbage objects watched through a weak root */
#define YOUNG (256u << 10)        /* the young generation's size */
#define STEP (32u << 10)          /* the incremental sticky step */

/* The roots: the list's head, the tree's pending level (its root ends in
   pending[0]), and weak references to garbage and to one live object. */
typedef struct overflow_env_s {
  kiln_arena_t arena;
  kiln_ap_t ap;
  kiln_root_t rexact, rweak;
  void *exact[1 + LEAVES];
  void *weak[NWEAK + 1];
} overflow_env_t;

#define LIST_ID(i) (1000000 + (uint64_t)(i))
#define TREE_ID(level, j) (2000000 + (uint64_t)(level) * LEAVES + (uint64_t)(j))
#define GARBAGE_ID(i) (3000000 + (uint64_t)(i))

/* Prepend n nodes to the list, a garbage object after each; every
   n / NWEAK-th garbage object is watched by the weak root. */
static void build_list(overflow_env_t *e, size_t n)
{
  void **head = &e->exact[0];
  for (size_t i = 0; i < n; i++) {
    *head = gobj_new_refs(e->ap, LIST_ID(i), 1, 8, (gobj_t *const *)head);
    gobj_t *junk = gobj_new(e->ap, GARBAGE_ID(i), 1, 8);
    if (i % (n / NWEAK) == 0 && i / (n / NWEAK) < NWEAK)
      e->weak[i / (n / NWEAK)] = junk;
  }
}

/* The tree bottom up in pending = exact[1..]: parent j of a level takes
   pending[FANOUT j ..] as its references and replaces pending[j]. */
static void build_tree(overflow_env_t *e)
{
  void **pending = &e->exact[1];
  for (size_t j = 0; j < LEAVES; j++)
    pending[j] = gobj_new(e->ap, TREE_ID(0, j), 0, 16);
  for (size_t level = 1, width = LEAVES / FANOUT; level <= DEPTH; level++, width /= FANOUT)
    for (size_t j = 0; j < width; j++)
      pending[j] = gobj_new_refs(e->ap, TREE_ID(level, j), FANOUT, 8,
                                 (gobj_t *const *)&pending[FANOUT * j]);
}

static void check_list(const overflow_env_t *e, size_t n)
{
  const gobj_t *o = e->exact[0];
  for (size_t i = n; i-- > 0; o = o->ref[0]) {
    T_CHECK(o != NULL, "the list ends after %zu of %zu nodes", n - 1 - i, n);
    gobj_check(o, LIST_ID(i));
  }
  T_CHECK(o == NULL, "the list is longer than %zu nodes", n);
}

static void check_tree(const gobj_t *o, size_t level, size_t j)
{
  gobj_check(o, TREE_ID(level, j));
  if (level == 0)
    return;
  for (size_t k = 0; k < FANOUT; k++)
    check_tree(o->ref[k], level - 1, FANOUT * j + k);
}

/* Build both structures with the grey stack capped at grey_max (0: no
   cap), collect, check them, and return the live bytes found. */
static size_t run(int which, size_t grey_max, size_t n)
{
  static overflow_env_t e;
  e = (overflow_env_t){.arena = NULL};
  e.ap = config_ap(&e.arena, NULL, graph_format(), which, YOUNG, STEP);
  e.arena->grey_max = grey_max;
  e.rexact = exact_area(e.arena, e.exact, 1 + LEAVES);
  ck_assert_ok(kiln_root_create_area(&e.rweak, e.arena, e.weak, e.weak + NWEAK + 1,
                                     KILN_RANK_WEAK));
  build_list(&e, n);
  build_tree(&e);
  e.weak[NWEAK] = e.exact[0];
  kiln_arena_collect(e.arena);
  kiln_arena_collect(e.arena);

  check_list(&e, n);
  check_tree(e.exact[1], DEPTH, 0);
  for (size_t i = 0; i < NWEAK; i++)
    T_CHECK(e.weak[i] == NULL, "%s: garbage object %zu survived a full collection",
            config_names[which], i);
  T_CHECK(e.weak[NWEAK] == e.exact[0], "%s: the weak reference to the list's head is %p, "
          "not %p", config_names[which], e.weak[NWEAK], e.exact[0]);
  kiln_stats_t st = astats(e.arena);
  kiln_root_destroy(e.rweak);
  kiln_root_destroy(e.rexact);
  kiln_ap_destroy(e.ap);
  kiln_arena_destroy(e.arena);
  return st.live;
}

START_TEST(test_overflow_list_and_tree)
{
  size_t n = test_scale(20000);
  size_t live = run(_i, 0, n);
  size_t live_capped = run(_i, 1, n);
  ck_assert_msg(live_capped == live, "%s: with a one-entry grey stack the collection found "
                "%zu live bytes, with an unbounded one %zu", config_names[_i], live_capped, live);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("overflow");
  TCase *t = suite_add_case(s, "mark-stack overflow", 60);
  tcase_add_loop_test(t, test_overflow_list_and_tree, 0, NCONFIGS);
  return s;
}
