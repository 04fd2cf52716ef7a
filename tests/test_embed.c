/* test_embed.c -- what a language VM embedding Kiln relies on, under every
 * generational configuration (gen into ms, gen into copy, sticky ms,
 * incremental sticky ms): the barrier for slots outside the heap, stress
 * mode driving minor collections, statistics before the first and after
 * minor-only collections, and collection events.
 *
 * Objects are the graph format's (graph.h). An "owner" is one whose
 * payload holds a pointer to a malloc'd array of SIDE_SLOTS references
 * that its scan fixes, as a VM's object owning an off-heap reference
 * array does.
 */
#include "testlib.h"
#include "graph.h"

#include <stdlib.h>
#include <string.h>

enum { G_GENMS, G_GENCOPY, G_STICKY, G_STICKY_INC, NGEN };
static const char *const gen_names[] = {"gen->ms", "gen->copy", "sticky", "sticky-inc"};

/* Nurseries and young generations of a few KB: tests collect often. */
#define YOUNG_SIZE (4 << 10)
#define SIDE_SLOTS 4
#define OWNER_ID 0x6f776e6572ull

/* ---- the owner format: the graph format plus each owner's side array --- */

/* The graph format's tag of a committed object (graph.c): the low byte of
   the header word before the client pointer. */
static int is_object(const gobj_t *o) { return (((const uint64_t *)(const void *)o)[-1] & 0xff) == 1; }

static void **side_of(const gobj_t *o)
{
  void **side;
  memcpy(&side, &o->ref[o->nrefs], sizeof side);
  return side;
}

static int is_owner(const gobj_t *o) { return is_object(o) && o->id == OWNER_ID && o->npay >= 8; }

static kiln_res_t owner_scan(kiln_ss_t ss, void *base, void *limit)
{
  const kiln_format_t *g = graph_format();
  kiln_res_t res = g->scan(ss, base, limit);
  for (char *p = base; res == KILN_OK && p < (char *)limit; p = g->skip(p)) {
    gobj_t *o = (gobj_t *)(void *)p;
    if (!is_owner(o))
      continue;
    void **side = side_of(o);
    for (int i = 0; i < SIDE_SLOTS && res == KILN_OK; i++)
      res = KILN_FIX12(ss, &side[i]);
  }
  return res;
}

static const kiln_format_t *owner_format(void)
{
  static kiln_format_t f;
  f = *graph_format();
  f.scan = owner_scan;
  return &f;
}

/* An owner with a zeroed side array (freed by owner_free). */
static gobj_t *owner_new(kiln_ap_t ap)
{
  void **side = calloc(SIDE_SLOTS, sizeof *side);
  ck_assert_ptr_nonnull(side);
  gobj_t *o = gobj_new(ap, OWNER_ID, 1, 8);
  memcpy(&o->ref[o->nrefs], &side, sizeof side);
  return o;
}

static void owner_free(gobj_t *o) { free(side_of(o)); }

/* ---- environments ------------------------------------------------------ */

typedef struct env_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pool, mature;  /* mature: gen's promote_to, else NULL */
  kiln_ap_t ap;
  kiln_root_t root;
  void *roots[4];            /* an exact root area */
} env_t;

static kiln_pool_t make_generational(env_t *e, int which, size_t young)
{
  kiln_arg_t args[] = {KILN_ARG_PTR("format", e->fmt), KILN_ARGS_END};
  switch (which) {
  case G_STICKY:
    return make_sticky(e->arena, e->fmt, young, 0);
  case G_STICKY_INC:
    return make_sticky(e->arena, e->fmt, young, young / 4);
  default:
    ck_assert_ok(kiln_pool_create(&e->mature, e->arena,
                                  which == G_GENMS ? kiln_class_ms() : kiln_class_copy(), args));
    return make_gen_aged(e->arena, e->fmt, e->mature, young, 0);
  }
}

static void env_open(env_t *e, int which, const kiln_arg_t arena_args[])
{
  memset(e, 0, sizeof *e);
  ck_assert_ok(kiln_arena_create(&e->arena, arena_args));
  ck_assert_ok(kiln_fmt_create(&e->fmt, e->arena, owner_format()));
  e->pool = make_generational(e, which, YOUNG_SIZE);
  ck_assert_ok(kiln_ap_create(&e->ap, e->pool, NULL));
  ck_assert_ok(kiln_root_create_area(&e->root, e->arena, e->roots, e->roots + 4,
                                     KILN_RANK_EXACT));
}

static void env_close(env_t *e)
{
  kiln_root_destroy(e->root);
  kiln_ap_destroy(e->ap);
  kiln_arena_destroy(e->arena);
}

/* ---- the barrier for slots outside the heap ---------------------------- */

/* An old owner's side array gets the only reference to a young object,
   through kiln_write; minor collections must keep it, and move it (gen)
   with the side slot updated. The checked build's barrier verifier runs
   before each minor and must not blame the store. */
START_TEST(test_offheap_slot_keeps_young)
{
  static env_t e;
  env_open(&e, _i, NULL);
  e.roots[0] = owner_new(e.ap);
  kiln_arena_collect(e.arena); /* the owner is old from now on */
  gobj_t *owner = e.roots[0];
  ck_assert_msg(is_owner(owner), "%s: the owner was lost", gen_names[_i]);
  void **side = side_of(owner);
  uint64_t fulls_before = fulls(e.arena);
  gobj_t *young = gobj_new(e.ap, 42, 0, 100);
  kiln_write(e.arena, owner, &side[1], young);
  young = NULL;
  gobj_garbage_until_minors(e.arena, e.ap, 2);
  ck_assert_msg(fulls(e.arena) == fulls_before, "%s: a full collection ran", gen_names[_i]);
  ck_assert_msg(side[1] != NULL, "%s: the side slot was cleared", gen_names[_i]);
  gobj_check(side[1], 42);
  ck_assert_msg(!gobj_is_forwarded(side[1]), "%s: the side slot points at a forwarded object",
                gen_names[_i]);
  if (e.mature != NULL)
    ck_assert_msg(in_pool(e.arena, side[1], e.mature), "%s: the young object was not promoted",
                  gen_names[_i]);
  owner_free(owner);
  env_close(&e);
}
END_TEST

/* An owner that is itself young when its side array is written: the card
   of a nursery object is dirtied harmlessly, and the object and its
   referent survive together. */
START_TEST(test_offheap_slot_young_owner)
{
  static env_t e;
  env_open(&e, _i, NULL);
  gobj_t *owner = owner_new(e.ap);
  e.roots[0] = owner;
  kiln_write(e.arena, owner, &side_of(owner)[0], gobj_new(e.ap, 43, 0, 24));
  gobj_garbage_until_minors(e.arena, e.ap, 1);
  owner = e.roots[0];
  ck_assert_msg(is_owner(owner), "%s: the owner was lost", gen_names[_i]);
  gobj_check(side_of(owner)[0], 43);
  owner_free(owner);
  env_close(&e);
}
END_TEST

/* ---- statistics --------------------------------------------------------- */

/* Objects committed before any collection count as allocated, in the
   arena's and the pool's figures, though their buffer is still open. */
START_TEST(test_stats_allocated_before_collection)
{
  static env_t e;
  env_open(&e, _i, NULL);
  size_t n = 20, size = gobj_size(1, 40);
  for (size_t i = 0; i < n; i++)
    (void)gobj_new(e.ap, i, 1, 40);
  kiln_stats_t st;
  kiln_arena_stats(e.arena, &st);
  ck_assert_uint_eq(st.collections, 0);
  ck_assert_msg(st.allocated == n * size, "%s: allocated %zu, wanted %zu", gen_names[_i],
                st.allocated, n * size);
  kiln_pool_stats_t ps;
  kiln_pool_stats(e.pool, &ps);
  ck_assert_uint_eq(ps.allocated, n * size);
  env_close(&e);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("embed");
  TCase *t = tcase_create("off-heap barrier");
  tcase_add_loop_test(t, test_offheap_slot_keeps_young, 0, NGEN);
  tcase_add_loop_test(t, test_offheap_slot_young_owner, 0, NGEN);
  suite_add_tcase(s, t);
  t = tcase_create("statistics");
  tcase_add_loop_test(t, test_stats_allocated_before_collection, 0, NGEN);
  suite_add_tcase(s, t);
  return s;
}
