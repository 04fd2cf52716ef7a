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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The suite runs under the configurations with a young generation: loop
   index i is configuration YOUNG_CONFIG(i). */
#define YOUNG_CONFIG(i) (CONFIG_GEN_MS + (i))
#define YOUNG_NAME(i) config_names[YOUNG_CONFIG(i)]

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

static void env_open(env_t *e, int which, const kiln_arg_t arena_args[])
{
  memset(e, 0, sizeof *e);
  ck_assert_ok(kiln_arena_create(&e->arena, arena_args));
  ck_assert_ok(kiln_fmt_create(&e->fmt, e->arena, owner_format()));
  e->pool = make_config_pool(e->arena, e->fmt, which, YOUNG_SIZE, YOUNG_SIZE / 4, &e->mature);
  ck_assert_ok(kiln_ap_create(&e->ap, e->pool, NULL));
  e->root = exact_area(e->arena, e->roots, 4);
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
  env_open(&e, YOUNG_CONFIG(_i), NULL);
  e.roots[0] = owner_new(e.ap);
  kiln_arena_collect(e.arena); /* the owner is old from now on */
  gobj_t *owner = e.roots[0];
  ck_assert_msg(is_owner(owner), "%s: the owner was lost", YOUNG_NAME(_i));
  void **side = side_of(owner);
  uint64_t fulls_before = fulls(e.arena);
  gobj_t *young = gobj_new(e.ap, 42, 0, 100);
  kiln_write(e.arena, owner, &side[1], young);
  young = NULL;
  gobj_garbage_until_minors(e.arena, e.ap, 2);
  ck_assert_msg(fulls(e.arena) == fulls_before, "%s: a full collection ran", YOUNG_NAME(_i));
  ck_assert_msg(side[1] != NULL, "%s: the side slot was cleared", YOUNG_NAME(_i));
  gobj_check(side[1], 42);
  ck_assert_msg(!gobj_is_forwarded(side[1]), "%s: the side slot points at a forwarded object",
                YOUNG_NAME(_i));
  if (e.mature != NULL)
    ck_assert_msg(in_pool(e.arena, side[1], e.mature), "%s: the young object was not promoted",
                  YOUNG_NAME(_i));
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
  env_open(&e, YOUNG_CONFIG(_i), NULL);
  gobj_t *owner = owner_new(e.ap);
  e.roots[0] = owner;
  kiln_write(e.arena, owner, &side_of(owner)[0], gobj_new(e.ap, 43, 0, 24));
  gobj_garbage_until_minors(e.arena, e.ap, 1);
  owner = e.roots[0];
  ck_assert_msg(is_owner(owner), "%s: the owner was lost", YOUNG_NAME(_i));
  gobj_check(side_of(owner)[0], 43);
  owner_free(owner);
  env_close(&e);
}
END_TEST

/* ---- stress mode drives minor collections ------------------------------- */

static int stress_which;

/* Under stress = 1 (a collection at every allocation), an old object gets
   a new young referent at every step, through kiln_write or by a plain
   store. Returns the owner. */
static gobj_t *stress_program(env_t *e, int use_barrier)
{
  kiln_arg_t args[] = {KILN_ARG_SIZE("stress", 1), KILN_ARGS_END};
  env_open(e, stress_which, args);
  e->roots[0] = gobj_new(e->ap, 1, 1, 8);
  for (uint64_t i = 0; i < 8; i++) {
    gobj_t *young = gobj_new(e->ap, 100 + i, 0, 16);
    gobj_t *owner = e->roots[0]; /* where the last collection left it */
    if (use_barrier)
      kiln_write(e->arena, owner, (void **)&owner->ref[0], young);
    else
      owner->ref[0] = young;
  }
  (void)gobj_new(e->ap, 999, 0, 16); /* one more collection */
  return e->roots[0];
}

#ifdef KILN_CHECKED
static void stress_without_barrier(void)
{
  static env_t e;
  (void)stress_program(&e, 0);
  env_close(&e);
}
#endif

/* The checked build's barrier verifier runs before minor collections: under
   stress it catches a store that skipped kiln_write. The default build
   cannot tell, and the lost object would be read: the program runs in the
   checked build only. */
START_TEST(test_stress_catches_missing_barrier)
{
#ifdef KILN_CHECKED
  stress_which = YOUNG_CONFIG(_i);
  test_expect_missing_barrier(stress_without_barrier);
#endif
}
END_TEST

/* The same program with the barrier: every referent intact, and stress ran
   at least as many minor collections as full ones. */
START_TEST(test_stress_minors_with_barrier)
{
  static env_t e;
  stress_which = YOUNG_CONFIG(_i);
  gobj_t *owner = stress_program(&e, 1);
  gobj_check(owner->ref[0], 107);
  uint64_t collections, m = minors_of(e.arena, &collections);
  ck_assert_msg(m > 0 && m >= collections - m, "%s: stress ran %llu minor and %llu full "
                "collections", YOUNG_NAME(_i), (unsigned long long)m,
                (unsigned long long)(collections - m));
  env_close(&e);
}
END_TEST

/* ---- statistics --------------------------------------------------------- */

/* Objects committed before any collection count as allocated, in the
   arena's and the pool's figures, though their buffer is still open. */
START_TEST(test_stats_allocated_before_collection)
{
  static env_t e;
  env_open(&e, YOUNG_CONFIG(_i), NULL);
  size_t n = 20, size = gobj_size(1, 40);
  for (size_t i = 0; i < n; i++)
    (void)gobj_new(e.ap, i, 1, 40);
  kiln_stats_t st = astats(e.arena);
  ck_assert_uint_eq(st.collections, 0);
  ck_assert_msg(st.allocated == n * size, "%s: allocated %zu, wanted %zu", YOUNG_NAME(_i),
                st.allocated, n * size);
  kiln_pool_stats_t ps;
  kiln_pool_stats(e.pool, &ps);
  ck_assert_uint_eq(ps.allocated, n * size);
  env_close(&e);
}
END_TEST

/* After minor collections only, live is what they left: at least the
   rooted objects, which are all that survives. */
START_TEST(test_stats_live_after_minors)
{
  static env_t e;
  env_open(&e, YOUNG_CONFIG(_i), NULL);
  gobj_t *head = NULL;
  for (uint64_t i = 0; i < 50; i++) {
    gobj_t *refs[1] = {head};
    head = gobj_new_refs(e.ap, i, 1, 40, refs);
    e.roots[0] = head;
  }
  gobj_garbage_until_minors(e.arena, e.ap, 3);
  kiln_stats_t st = astats(e.arena);
  ck_assert_msg(st.collections == st.minor_collections, "%s: a full collection ran",
                YOUNG_NAME(_i));
  ck_assert_msg(st.live >= 50 * gobj_size(1, 40), "%s: live is %zu after %llu minor "
                "collections, less than the %zu bytes rooted", YOUNG_NAME(_i), st.live,
                (unsigned long long)st.minor_collections, 50 * gobj_size(1, 40));
  ck_assert_msg(st.live < st.allocated, "%s: live %zu, allocated %zu", YOUNG_NAME(_i), st.live,
                st.allocated);
  env_close(&e);
}
END_TEST

/* ---- collection events --------------------------------------------------- */

typedef struct events_s {
  uint64_t full, minor, incremental, calls;
  uint64_t last_number;
  int bad_number, bad_live, bad_pause, bad_count;
  kiln_res_t reserve_res;      /* what a reserve inside the callback got */
  char reserve_error[512];
  kiln_ap_t ap;                /* allocate from it inside the callback, if not NULL */
  int collect_inside;          /* call kiln_arena_collect inside the callback */
  char collect_error[512];
} events_t;

static void on_collect(kiln_arena_t arena, const kiln_collection_t *c, void *closure)
{
  events_t *ev = closure;
  kiln_stats_t st = astats(arena);
  ev->calls++;
  ev->full += c->kind == KILN_COLLECTION_FULL;
  ev->minor += c->kind == KILN_COLLECTION_MINOR;
  ev->incremental += c->incremental != 0;
  ev->bad_number |= c->number != ev->last_number + 1;
  ev->last_number = c->number;
  /* Delivered in order, each once it ended: the last one is the newest. */
  ev->bad_count |= c->number > st.collections;
  ev->bad_live |= c->number == st.collections && c->live != st.live;
  ev->bad_pause |= !(c->pause_seconds >= 0 && c->pause_seconds < 10);
  if (ev->ap != NULL) {
    void *p = NULL;
    ev->reserve_res = kiln_reserve(&p, ev->ap, gobj_size(0, 8));
    snprintf(ev->reserve_error, sizeof ev->reserve_error, "%s", kiln_arena_error(arena));
    ev->ap = NULL;
  }
  if (ev->collect_inside) {
    ev->collect_inside = 0;
    kiln_arena_collect(arena);
    snprintf(ev->collect_error, sizeof ev->collect_error, "%s", kiln_arena_error(NULL));
  }
}

/* One event per collection, in order, with the kind, the pause and the
   live bytes kiln_arena_stats reports; full and minor counts match. */
START_TEST(test_events_match_stats)
{
  static env_t e;
  static events_t ev;
  memset(&ev, 0, sizeof ev);
  env_open(&e, YOUNG_CONFIG(_i), NULL);
  ck_assert_ok(kiln_arena_on_collect(e.arena, on_collect, &ev));
  e.roots[0] = gobj_new(e.ap, 1, 1, 40);
  gobj_garbage_until_minors(e.arena, e.ap, 3);
  kiln_arena_collect(e.arena);
  gobj_garbage_until_minors(e.arena, e.ap, 2);
  kiln_arena_collect(e.arena);
  kiln_stats_t st = astats(e.arena);
  ck_assert_uint_eq(ev.calls, st.collections);
  ck_assert_uint_eq(ev.minor, st.minor_collections);
  ck_assert_uint_eq(ev.full, st.collections - st.minor_collections);
  ck_assert_uint_ge(ev.minor, 5);
  ck_assert_uint_ge(ev.full, 2);
  ck_assert_msg(!ev.bad_number && !ev.bad_count, "%s: events out of order", YOUNG_NAME(_i));
  ck_assert_msg(!ev.bad_live, "%s: an event's live bytes differ from the statistics'",
                YOUNG_NAME(_i));
  ck_assert_msg(!ev.bad_pause, "%s: an event's pause is not a duration", YOUNG_NAME(_i));
  if (YOUNG_CONFIG(_i) == CONFIG_STICKY_INC)
    ck_assert_uint_ge(ev.incremental, 1);
  else
    ck_assert_uint_eq(ev.incremental, 0);
  /* Unregistered: no more calls. */
  ck_assert_ok(kiln_arena_on_collect(e.arena, NULL, NULL));
  kiln_arena_collect(e.arena);
  ck_assert_uint_eq(ev.calls, st.collections);
  env_close(&e);
}
END_TEST

/* The callback runs in the middle of the call that collected: a reserve
   there is refused with a sentence, and the heap goes on. */
START_TEST(test_events_refuse_allocation)
{
  static env_t e;
  static events_t ev;
  memset(&ev, 0, sizeof ev);
  env_open(&e, YOUNG_CONFIG(_i), NULL);
  ev.ap = e.ap;
  ev.reserve_res = KILN_OK;
  ck_assert_ok(kiln_arena_on_collect(e.arena, on_collect, &ev));
  kiln_arena_collect(e.arena);
  ck_assert_uint_eq(ev.calls, 1);
  ck_assert_res(ev.reserve_res, KILN_PARAM);
  ck_assert_msg(strstr(ev.reserve_error, "used inside the arena's collection callback "
                       "(kiln_arena_on_collect), which runs in the middle of the call that "
                       "collected; allocate after that call returns") != NULL,
                "the sentence was: %s", ev.reserve_error);
  e.roots[0] = gobj_new(e.ap, 7, 0, 16); /* afterwards, allocation works */
  gobj_check(e.roots[0], 7);
  env_close(&e);
}
END_TEST

static void collect_inside_callback(void)
{
  static env_t e;
  static events_t ev;
  memset(&ev, 0, sizeof ev);
  env_open(&e, CONFIG_GEN_MS, NULL);
  ev.collect_inside = 1;
  ck_assert_ok(kiln_arena_on_collect(e.arena, on_collect, &ev));
  kiln_arena_collect(e.arena);
  /* Reached only where the misuse is ignored (the default build). */
  ck_assert_uint_eq(ev.calls, 1);
  ck_assert_uint_eq(fulls(e.arena), 1);
  ck_assert_msg(strstr(ev.collect_error, "kiln_arena_collect: arena ") != NULL &&
                strstr(ev.collect_error, "is running its collection callback") != NULL,
                "the sentence was: %s", ev.collect_error);
  env_close(&e);
}

/* A collection asked for inside the callback is refused: ignored with a
   sentence, or, in the checked build, a report. */
START_TEST(test_events_refuse_collect)
{
#ifdef KILN_CHECKED
  test_expect_abort(collect_inside_callback,
                    "kiln: checked build: kiln_arena_collect: arena ");
#else
  collect_inside_callback();
#endif
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("embed");
  TCase *t = suite_add_case(s, "off-heap barrier", 0);
  tcase_add_loop_test(t, test_offheap_slot_keeps_young, 0, NYOUNG_CONFIGS);
  tcase_add_loop_test(t, test_offheap_slot_young_owner, 0, NYOUNG_CONFIGS);
  t = suite_add_case(s, "stress", 0);
  tcase_add_loop_test(t, test_stress_catches_missing_barrier, 0, NYOUNG_CONFIGS);
  tcase_add_loop_test(t, test_stress_minors_with_barrier, 0, NYOUNG_CONFIGS);
  t = suite_add_case(s, "statistics", 0);
  tcase_add_loop_test(t, test_stats_allocated_before_collection, 0, NYOUNG_CONFIGS);
  tcase_add_loop_test(t, test_stats_live_after_minors, 0, NYOUNG_CONFIGS);
  t = suite_add_case(s, "collection events", 0);
  tcase_add_loop_test(t, test_events_match_stats, 0, NYOUNG_CONFIGS);
  tcase_add_loop_test(t, test_events_refuse_allocation, 0, NYOUNG_CONFIGS);
  tcase_add_test(t, test_events_refuse_collect);
  return s;
}
