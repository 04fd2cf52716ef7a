/* test_gen.c -- the generational pool and the card-marking barrier: graph
 * property tests over gen->ms (and gen->copy when built), with and without
 * a survivor space, pinning in the nursery, the barrier as remembered set,
 * aging in the survivor space, pretenuring, creation errors. */
#include "graph.h"

#include <string.h>

/* survivor_age of the graph tests' gen pools (make_pools takes no closure);
   every graph test sets it, so no test depends on another's value. */
static size_t graph_age;

/* graph_run allocates in both: the nursery, and the mature pool directly. */
static int gen_ms(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[1] = plain_pool(arena, fmt, kiln_class_ms());
  pools[0] = make_gen_aged(arena, fmt, pools[1], 256 << 10, graph_age);
  return 2;
}

static int gen_copy(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[1] = plain_pool(arena, fmt, kiln_class_copy());
  pools[0] = make_gen_aged(arena, fmt, pools[1], 256 << 10, graph_age);
  return 2;
}

static const uint64_t seeds[] = {11, 12, 13, 0xBEEF};

START_TEST(test_graph_gen_ms)
{
  graph_age = 0;
  graph_cfg_t cfg = {.make_pools = gen_ms, .steps = test_scale(30000), .use_barrier = 1,
      .expect_moves = 1, .seed = test_seed(seeds[_i])};
  graph_result_t r = graph_run(&cfg);
  ck_assert_uint_gt(r.verified, 3);
}
END_TEST

START_TEST(test_graph_gen_ms_every_nth)
{
  graph_age = 0;
  graph_cfg_t cfg = {.make_pools = gen_ms, .steps = test_scale(20000), .collect_every = 101,
      .use_barrier = 1, .expect_moves = 1, .seed = test_seed(seeds[_i] + 1)};
  graph_run(&cfg);
}
END_TEST

START_TEST(test_graph_gen_ms_stress)
{
  graph_age = 0;
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("stress", 1), KILN_ARGS_END};
  graph_cfg_t cfg = {.make_pools = gen_ms, .arena_args = aargs, .steps = test_scale(3000),
      .use_barrier = 1, .expect_moves = 1, .seed = test_seed(seeds[_i] + 2)};
  graph_result_t r = graph_run(&cfg);
  ck_assert_uint_gt(r.collections, test_scale(1000)); /* the steps are scaled too */
}
END_TEST

START_TEST(test_graph_gen_copy)
{
  graph_age = 0;
  if (kiln_class_copy() == NULL)
    return; /* copy pool not built in this tree */
  graph_cfg_t cfg = {.make_pools = gen_copy, .steps = test_scale(30000), .use_barrier = 1,
      .expect_moves = 1, .seed = test_seed(seeds[_i] + 3)};
  graph_run(&cfg);
}
END_TEST

START_TEST(test_graph_gen_copy_stress)
{
  graph_age = 0;
  if (kiln_class_copy() == NULL)
    return;
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("stress", 1), KILN_ARGS_END};
  graph_cfg_t cfg = {.make_pools = gen_copy, .arena_args = aargs, .steps = test_scale(3000),
      .use_barrier = 1, .expect_moves = 1, .seed = test_seed(seeds[_i] + 4)};
  graph_run(&cfg);
}
END_TEST

/* ---- survivor space: the graph property test ---------------------------- */

/* survivor_age 1 and 2, promoting into ms and into copy, with and without
   stress (a full collection at every fill, which ages survivors too). */
static const graph_run_t aged_runs[] = {
  {.make_pools = gen_ms, .steps = 30000, .use_barrier = 1, .seeds = 4, .seed_add = 10,
   .verified_over = 3},
  {.make_pools = gen_ms, .steps = 20000, .collect_every = 101, .use_barrier = 1, .seeds = 2,
   .seed_add = 11},
  {.make_pools = gen_ms, .steps = 3000, .stress = 1, .use_barrier = 1, .seeds = 2, .seed_add = 12,
   .collections_over = 1000},
  {.make_pools = gen_copy, .steps = 30000, .use_barrier = 1, .seeds = 2, .seed_add = 13},
  {.make_pools = gen_copy, .steps = 3000, .stress = 1, .use_barrier = 1, .seeds = 2,
   .seed_add = 14},
};
enum { AGED_RUNS = 12 }; /* the sum of aged_runs[].seeds */

START_TEST(test_graph_aged)
{
  int seed = _i;
  graph_table_row(aged_runs, &seed);
  graph_age = 1 + (size_t)seed % 2; /* survivor_age 1 and 2 */
  graph_table_run(aged_runs, _i, 1, seeds);
}
END_TEST

/* ---- barrier ---------------------------------------------------------- */

typedef struct env_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t old, young;
  kiln_ap_t ap_old, ap_young;
} env_t;

static void env_open_aged(env_t *e, size_t age)
{
  ck_assert_ok(kiln_arena_create(&e->arena, NULL));
  ck_assert_ok(kiln_fmt_create(&e->fmt, e->arena, graph_format()));
  e->old = plain_pool(e->arena, e->fmt, kiln_class_ms());
  e->young = make_gen_aged(e->arena, e->fmt, e->old, 256 << 10, age);
  ck_assert_ok(kiln_ap_create(&e->ap_old, e->old, NULL));
  ck_assert_ok(kiln_ap_create(&e->ap_young, e->young, NULL));
}

static void env_open(env_t *e) { env_open_aged(e, 0); }

static void env_close(env_t *e)
{
  kiln_arena_destroy(e->arena); /* destroys pools, APs and the format too */
}

/* A mature object held by the exact root *slot, its segment summarised by a
   full collection. */
static gobj_t *rooted_old(env_t *e, void **slot) { return gobj_rooted_old(e->arena, e->ap_old, slot); }

/* Fill the nursery with garbage until n more minor collections have run. */
static void run_minors(env_t *e, uint64_t n) { gobj_garbage_until_minors(e->arena, e->ap_young, n); }

START_TEST(test_barrier_keeps_young_alive)
{
  env_t e;
  env_open(&e);
  static void *root[1];
  gobj_t *old = rooted_old(&e, root);
  gobj_t *young = gobj_new(e.ap_young, 2, 0, 32);
  kiln_write(e.arena, old, (void **)&old->ref[0], young);
  run_minors(&e, 5);
  ck_assert(old->ref[0] != young);               /* promoted: the slot was updated */
  ck_assert(old->ref[0]->id == 2 && gobj_payload_ok(old->ref[0]));
  kiln_pool_stats_t ps;
  kiln_pool_stats(e.young, &ps);
  ck_assert_uint_eq(ps.live_objects, 0);          /* nothing pinned */
  env_close(&e);
}
END_TEST

/* n rooted objects of 250 bytes from ap, in the exact root area root. */
static void rooted_many(env_t *e, kiln_ap_t ap, void **root, int n)
{
  (void)exact_area(e->arena, root, n);
  for (int i = 0; i < n; i++)
    root[i] = gobj_new(ap, (uint64_t)i, 2, 200);
}

START_TEST(test_minor_scans_little)
{
  /* A big mature heap with clean cards is not rescanned by minor GCs. */
  env_t e;
  env_open(&e);
  static void *root[4000];
  rooted_many(&e, e.ap_old, root, 4000);
  kiln_arena_collect(e.arena);
  kiln_arena_collect(e.arena);
  uint64_t m0 = minors(e.arena);
  kiln_stats_t s0, s1;
  s0 = astats(e.arena);
  for (uint64_t i = 0; minors(e.arena) < m0 + 10; i++)
    (void)gobj_new(e.ap_young, i, 1, 40);
  s1 = astats(e.arena);
  /* 4000 x 250 bytes = 1 MB of mature objects; ten minors must not scan it
     ten times over (allow one full rescan for summaries to settle). */
  ck_assert_msg(s1.scanned - s0.scanned < 2u * (1u << 20), "minors scanned %zu bytes",
                s1.scanned - s0.scanned);
  env_close(&e);
}
END_TEST

/* Issue 4: a card whose old-to-young reference outlives a minor collection
   (its young object aged in the survivor space) stays dirty, so the next
   minor rescans that card rather than the whole segment; once the young
   object is promoted, the card is cleaned. The object survives throughout. */
START_TEST(test_card_kept_while_young)
{
  env_t e;
  env_open_aged(&e, 2);
  static void *root[1];
  gobj_t *old = rooted_old(&e, root);
  kiln_write(e.arena, old, (void **)&old->ref[0], gobj_new(e.ap_young, 2, 0, 32));
  for (uint64_t k = 1; k <= 3; k++) {
    run_minors(&e, 1);
    ck_assert(old->ref[0]->id == 2 && gobj_payload_ok(old->ref[0]));
    int young = in_pool(e.arena, old->ref[0], e.young);
    ck_assert_msg(young == (k < 3), "minor %zu: young %d", (size_t)k, young);
    ck_assert_msg(card_dirty(e.arena, &old->ref[0]) == young, "minor %zu: card %d, young %d",
                  (size_t)k, card_dirty(e.arena, &old->ref[0]), young);
  }
  env_close(&e);
}
END_TEST

/* ... and a card whose young referent was promoted is cleaned at once. */
START_TEST(test_card_cleaned_when_promoted)
{
  env_t e;
  env_open(&e);
  static void *root[1];
  gobj_t *old = rooted_old(&e, root);
  kiln_write(e.arena, old, (void **)&old->ref[1], gobj_new(e.ap_young, 3, 0, 32));
  ck_assert(card_dirty(e.arena, &old->ref[1]));
  run_minors(&e, 1);
  ck_assert(in_pool(e.arena, old->ref[1], e.old));
  ck_assert(old->ref[1]->id == 3 && gobj_payload_ok(old->ref[1]));
  ck_assert(!card_dirty(e.arena, &old->ref[1]));
  env_close(&e);
}
END_TEST

/* Issue 4: minor collections after a full collection, or after promoting a
   large cohort, scan neither the survivors of the full collection nor the
   segments promoted into (their summaries stay exact in the nursery's
   zones), only dirty cards. */
START_TEST(test_minor_after_promotion_scans_little)
{
  env_t e;
  env_open(&e);
  static void *root[4000];
  rooted_many(&e, e.ap_young, root, 4000); /* 1 MB, promoted by the minors this triggers */
  uint64_t m0 = minors(e.arena);
  for (uint64_t i = 0; minors(e.arena) < m0 + 1; i++)
    (void)gobj_new(e.ap_young, 10000 + i, 1, 40);
  kiln_stats_t s0, s1;
  for (int round = 0; round < 2; round++) { /* after promotion, then after a full GC */
    s0 = astats(e.arena);
    m0 = minors(e.arena);
    for (uint64_t i = 0; minors(e.arena) < m0 + 5; i++)
      (void)gobj_new(e.ap_young, 20000 + i, 1, 40);
    s1 = astats(e.arena);
    ck_assert_msg(s1.scanned - s0.scanned < (256u << 10), "round %d: minors scanned %zu bytes",
                  round, s1.scanned - s0.scanned);
    kiln_arena_collect(e.arena);
  }
  for (int i = 0; i < 4000; i++)
    ck_assert(((gobj_t *)root[i])->id == (uint64_t)i && gobj_payload_ok(root[i]));
  env_close(&e);
}
END_TEST

/* Issue 4: with prefault on (the default), nursery fills keep nursery_size
   bytes of free memory committed (and faulted in) for the next promotions;
   with prefault=false nothing is committed ahead. Either way survivors of
   the minors that promote into that memory are intact. */
START_TEST(test_prefault)
{
  int on = _i;
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  fmt = arena_with_format(&arena, graph_format());
  kiln_pool_t old = plain_pool(arena, fmt, kiln_class_ms()), young;
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", old),
                       KILN_ARG_SIZE("nursery_size", 256 << 10),
                       KILN_ARG_BOOL("prefault", on), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&young, arena, kiln_class_gen(), args));
  kiln_ap_t ap;
  ck_assert_ok(kiln_ap_create(&ap, young, NULL));
  static void *root[2000];
  (void)exact_area(arena, root, 2000);
  root[0] = gobj_new(ap, 0, 1, 40); /* the first fill */
  kiln_stats_t st = astats(arena);
  if (on)
    ck_assert_uint_ge(st.spare_committed, 256u << 10);
  else
    ck_assert_uint_eq(st.spare_committed, 0);
  for (int i = 1; i < 2000; i++) /* 2000 x 240 bytes: promoted by two or so minors */
    root[i] = gobj_new(ap, (uint64_t)i, 1, 200);
  uint64_t m0 = minors(arena);
  for (uint64_t i = 0; minors(arena) < m0 + 2; i++)
    (void)gobj_new(ap, 10000 + i, 1, 40);
  for (int i = 0; i < 2000; i++) {
    ck_assert(in_pool(arena, root[i], old));
    ck_assert(((gobj_t *)root[i])->id == (uint64_t)i && gobj_payload_ok(root[i]));
  }
  kiln_arena_destroy(arena);
}
END_TEST

static void store_without_barrier(void)
{
  env_t e;
  env_open(&e);
  static void *root[1];
  kiln_root_t r;
  kiln_root_create_area(&r, e.arena, root, root + 1, KILN_RANK_EXACT);
  gobj_t *old = gobj_new(e.ap_old, 1, 2, 8);
  root[0] = old;
  kiln_arena_collect(e.arena);
  uint64_t m0 = minors(e.arena);
  for (uint64_t i = 0; minors(e.arena) < m0 + 1; i++) /* summarises old's segment */
    (void)gobj_new(e.ap_young, 1000 + i, 1, 40);
  old->ref[1] = gobj_new(e.ap_young, 2, 0, 32);       /* no kiln_write: the bug */
  for (uint64_t i = 0; minors(e.arena) < m0 + 2; i++)
    (void)gobj_new(e.ap_young, 5000 + i, 1, 40);
}

START_TEST(test_missing_barrier_reported)
{
  test_expect_missing_barrier(store_without_barrier);
}
END_TEST

START_TEST(test_pinned_in_nursery)
{
  env_t e;
  env_open(&e);
  kiln_thread_t thr;
  kiln_root_t tr = stack_root(e.arena, &thr);
  gobj_t *volatile pinned = gobj_new(e.ap_young, 5, 1, 16);
  pinned->ref[0] = gobj_new(e.ap_young, 6, 0, 16); /* reachable only through pinned */
  gobj_t *child0 = pinned->ref[0];
  uintptr_t child0_addr = (uintptr_t)child0;
  child0 = NULL;
  uint64_t m0 = minors(e.arena);
  for (uint64_t i = 0; minors(e.arena) < m0 + 4; i++)
    (void)gobj_new(e.ap_young, 100 + i, 1, 40);
  ck_assert(pinned->id == 5 && gobj_payload_ok(pinned)); /* same address, intact */
  ck_assert(pinned->ref[0]->id == 6 && gobj_payload_ok(pinned->ref[0]));
  /* The child may have been pinned too (a stale copy of its address on the
     stack is possible) but is normally promoted; either way it is intact. */
  (void)child0_addr;
  kiln_root_destroy(tr);
  kiln_thread_dereg(thr);
  env_close(&e);
}
END_TEST

/* An ambiguous reference to an object in the survivor space pins it there
   (its chunk is retained) while its unpinned child ages on and is promoted. */
START_TEST(test_pinned_in_survivor_space)
{
  env_t e;
  env_open_aged(&e, 2);
  kiln_thread_t thr;
  kiln_root_t tr = stack_root(e.arena, &thr), rr;
  static void *root[1];
  rr = exact_area(e.arena, root, 1);
  gobj_t *o = gobj_new(e.ap_young, 7, 1, 16);
  kiln_write(e.arena, o, (void **)&o->ref[0], gobj_new(e.ap_young, 8, 0, 16));
  root[0] = o;
  o = NULL;
  uint64_t m0 = minors(e.arena);
  for (uint64_t i = 0; minors(e.arena) < m0 + 1; i++)
    (void)gobj_new(e.ap_young, 100 + i, 1, 40);
  gobj_t *volatile held = root[0]; /* now in a survivor chunk of age 1 */
  ck_assert(in_pool(e.arena, held, e.young));
  for (uint64_t i = 0; minors(e.arena) < m0 + 4; i++)
    (void)gobj_new(e.ap_young, 100000 + i, 1, 40);
  ck_assert(root[0] == held);               /* pinned: never moved */
  ck_assert(in_pool(e.arena, held, e.young)); /* and never promoted while pinned */
  ck_assert(held->id == 7 && gobj_payload_ok(held));
  ck_assert(held->ref[0]->id == 8 && gobj_payload_ok(held->ref[0]));
  kiln_root_destroy(rr);
  kiln_root_destroy(tr);
  kiln_thread_dereg(thr);
  env_close(&e);
}
END_TEST

START_TEST(test_pretenured_large)
{
  env_t e;
  env_open(&e);
  gobj_t *big = gobj_new(e.ap_young, 1, 0, 100000);
  kiln_pool_stats_t ps;
  kiln_pool_stats(e.old, &ps);
  ck_assert_uint_ge(ps.committed, 100000); /* it went straight to the mature pool */
  ck_assert(gobj_payload_ok(big));
  env_close(&e);
}
END_TEST

/* ---- survivor space: aging ---------------------------------------------- */

/* A rooted object stays in the gen pool, copied once per minor collection
   from cohort to cohort, for survivor_age minors, and reaches promote_to at
   the next one; promote_to's bytes grow only then. _i: age 1..3, into ms
   (_i < 3) or copy. */
START_TEST(test_survivor_ages)
{
  size_t age = 1 + (size_t)_i % 3;
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_ap_t ap;
  fmt = arena_with_format(&arena, graph_format());
  kiln_pool_t old = _i < 3 ? plain_pool(arena, fmt, kiln_class_ms()) : plain_pool(arena, fmt, kiln_class_copy());
  kiln_pool_t young = make_gen_aged(arena, fmt, old, 256 << 10, age);
  ck_assert_ok(kiln_ap_create(&ap, young, NULL));
  static void *root[1];
  (void)exact_area(arena, root, 1);
  root[0] = gobj_new(ap, 1, 0, 24);
  uint64_t colls, m0 = minors_of(arena, &colls);
  for (size_t k = 1; k <= age + 1; k++) {
    void *before = root[0];
    for (uint64_t i = 0; minors_of(arena, &colls) < m0 + k; i++)
      (void)gobj_new(ap, 1000 + i, 1, 40); /* garbage filling the nursery */
    gobj_t *o = root[0];
    ck_assert(o->id == 1 && gobj_payload_ok(o));
    ck_assert_msg(o != before, "minor %zu did not move the survivor", k);
    kiln_pool_stats_t ys;
    kiln_pool_stats(young, &ys);
    if (k <= age) {
      ck_assert_msg(in_pool(arena, o, young), "age %zu: promoted after %zu minors", age, k);
      ck_assert_uint_eq(ys.live_objects, 1);
      ck_assert_uint_eq(pool_in_use(old), 0); /* nothing promoted yet */
    } else {
      ck_assert_msg(in_pool(arena, o, old), "age %zu: not promoted after %zu minors", age, k);
      ck_assert_uint_eq(ys.live_objects, 0);
      ck_assert_uint_eq(pool_in_use(old), gobj_size(0, 24));
    }
  }
  ck_assert_uint_eq(colls, minors_of(arena, &colls)); /* no full collection aged it */
  kiln_arena_destroy(arena);
}
END_TEST

/* Bytes promote_to receives on a workload whose objects all die within
   about half a nursery of allocation (a window of rooted slots). */
static size_t promoted_short_lived(size_t age, int into_copy, size_t *young_live_o)
{
  enum { WINDOW = 1024 }; /* x 128 bytes: half of the 256 KiB nursery */
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_ap_t ap;
  fmt = arena_with_format(&arena, graph_format());
  kiln_pool_t old = into_copy ? plain_pool(arena, fmt, kiln_class_copy()) : plain_pool(arena, fmt, kiln_class_ms());
  kiln_pool_t young = make_gen_aged(arena, fmt, old, 256 << 10, age);
  ck_assert_ok(kiln_ap_create(&ap, young, NULL));
  static void *window[WINDOW];
  memset(window, 0, sizeof window);
  (void)exact_area(arena, window, WINDOW);
  ck_assert_uint_eq(gobj_size(0, 104), 128);
  uint64_t colls, m0 = minors_of(arena, &colls);
  for (uint64_t i = 0; minors_of(arena, &colls) < m0 + 10; i++)
    window[i % WINDOW] = gobj_new(ap, i, 0, 104);
  ck_assert_uint_eq(colls, minors_of(arena, &colls)); /* minors only: in_use is promotion */
  kiln_pool_stats_t ys;
  kiln_pool_stats(young, &ys);
  *young_live_o = ys.live;
  size_t promoted = pool_in_use(old);
  kiln_arena_destroy(arena);
  return promoted;
}

START_TEST(test_short_lived_not_promoted)
{
  int into_copy = _i;
  size_t live0, live1, live2;
  size_t p0 = promoted_short_lived(0, into_copy, &live0);
  size_t p1 = promoted_short_lived(1, into_copy, &live1);
  size_t p2 = promoted_short_lived(2, into_copy, &live2);
  /* Age 0 promotes every minor's survivors: about a window each time. */
  ck_assert_uint_gt(p0, 5 * 1024 * 128);
  ck_assert_uint_eq(live0, 0);
  /* With a survivor space they die there: nothing reaches promote_to. */
  ck_assert_msg(p1 * 10 < p0 && p2 * 10 < p0, "promoted %zu (age 0), %zu (age 1), %zu (age 2)",
                p0, p1, p2);
  ck_assert_uint_gt(live1, 0); /* the last minor's survivors wait in the survivor space */
  ck_assert_uint_gt(live2, 0);
}
END_TEST

/* At the commit limit the survivor space gives way to promotion, and
   promotion to pinning, and every object stays intact. survivor_age is 15,
   beyond the lifetime of any object here, so whatever reaches promote_to
   was promoted early for want of a survivor chunk. */
START_TEST(test_survivor_space_at_limit)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_ap_t ap, ap_old;
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("commit_limit", 5u << 19), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&arena, aargs));
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  kiln_pool_t old = plain_pool(arena, fmt, kiln_class_ms());
  kiln_pool_t young = make_gen_aged(arena, fmt, old, 1u << 20, 15);
  ck_assert_ok(kiln_ap_create(&ap, young, NULL));
  ck_assert_ok(kiln_ap_create(&ap_old, old, NULL));
  (void)gobj_new(ap_old, 0, 0, 104); /* promote_to gets a segment while there is room */
  kiln_ap_destroy(ap_old);
  size_t old0 = pool_in_use(old);
  enum { N = 6000 };
  static void *keep[N];
  (void)exact_area(arena, keep, N);
  /* Every fifth object lives for N x 5 allocations (3.75 nurseries): about
     750 KiB ages in a space the limit cannot hold beside a 1 MiB nursery,
     the survivors' copies and promote_to's segment. */
  for (uint64_t i = 0; i < 40000; i++) {
    kiln_res_t res;
    gobj_t *o = gobj_try_new(ap, i, 0, 104, &res);
    ck_assert_msg(o != NULL, "allocation %llu: %s", (unsigned long long)i, kiln_res_name(res));
    if (i % 5 == 0)
      keep[(i / 5) % N] = o;
  }
  for (size_t k = 0; k < N; k++) {
    gobj_t *o = keep[k];
    ck_assert_msg(gobj_payload_ok(o) && o->id % 5 == 0 && (o->id / 5) % N == k,
                  "slot %zu corrupted", k);
  }
  kiln_stats_t st = astats(arena);
  ck_assert_uint_le(st.committed, 5u << 19);
  ck_assert_uint_ge(st.minor_collections, 3);
  ck_assert_msg(pool_in_use(old) > old0, "nothing was promoted early at the limit");
  kiln_arena_destroy(arena);
}
END_TEST

START_TEST(test_bad_survivor_age)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t gen;
  fmt = arena_with_format(&arena, graph_format());
  kiln_pool_t ms = plain_pool(arena, fmt, kiln_class_ms());
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", ms),
                       KILN_ARG_SIZE("survivor_age", (size_t)1 << 40), KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&gen, arena, kiln_class_gen(), args), KILN_PARAM);
  ck_assert_msg(strstr(kiln_arena_error(arena), "'survivor_age'") != NULL &&
                strstr(kiln_arena_error(arena), "0..15") != NULL, "%s", kiln_arena_error(arena));
  kiln_arg_t ok[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", ms),
                     KILN_ARG_SIZE("survivor_age", 15), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&gen, arena, kiln_class_gen(), ok));
  kiln_arena_destroy(arena);
}
END_TEST

START_TEST(test_refused_without_barrier)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t gen;
  kiln_arg_t aargs[] = {KILN_ARG_STR("barrier", "none"), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&arena, aargs));
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  kiln_pool_t ms = plain_pool(arena, fmt, kiln_class_ms());
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", ms), KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&gen, arena, kiln_class_gen(), args), KILN_PARAM);
  ck_assert_msg(strstr(kiln_arena_error(arena), "barrier = \"none\"") != NULL, "%s",
                kiln_arena_error(arena));
  kiln_arena_destroy(arena);
}
END_TEST

START_TEST(test_bad_promote_to)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t gen, mfs;
  fmt = arena_with_format(&arena, graph_format());
  kiln_arg_t margs[] = {KILN_ARG_SIZE("unit_size", 32), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&mfs, arena, kiln_class_mfs(), margs));
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", mfs), KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&gen, arena, kiln_class_gen(), args), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena),
                   "pool class 'gen': promote_to is a 'mfs' pool, which cannot take promoted "
                   "objects (use an automatic pool such as ms or copy)");
  kiln_arg_t none[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&gen, arena, kiln_class_gen(), none), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena),
                   "pool class 'gen': parameter 'promote_to' must be a pool of this arena");
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("gen");
  TCase *g = suite_add_case(s, "graph", 300);
  tcase_add_loop_test(g, test_graph_gen_ms, 0, 4);
  tcase_add_loop_test(g, test_graph_gen_ms_every_nth, 0, 2);
  tcase_add_loop_test(g, test_graph_gen_ms_stress, 0, 2);
  tcase_add_loop_test(g, test_graph_gen_copy, 0, 2);
  tcase_add_loop_test(g, test_graph_gen_copy_stress, 0, 1);
  tcase_add_loop_test(g, test_graph_aged, 0, AGED_RUNS);
  TCase *a = suite_add_case(s, "survivor", 60);
  tcase_add_loop_test(a, test_survivor_ages, 0, 6);
  tcase_add_loop_test(a, test_short_lived_not_promoted, 0, 2);
  tcase_add_test(a, test_survivor_space_at_limit);
  TCase *b = suite_add_case(s, "barrier", 60);
  tcase_add_test(b, test_barrier_keeps_young_alive);
  tcase_add_test(b, test_minor_scans_little);
  tcase_add_test(b, test_card_kept_while_young);
  tcase_add_test(b, test_card_cleaned_when_promoted);
  tcase_add_test(b, test_minor_after_promotion_scans_little);
  tcase_add_loop_test(b, test_prefault, 0, 2);
  tcase_add_test(b, test_pinned_in_nursery);
  tcase_add_test(b, test_pinned_in_survivor_space);
  tcase_add_test(b, test_missing_barrier_reported);
  tcase_add_test(b, test_pretenured_large);
  TCase *c = suite_add_case(s, "create", 0);
  tcase_add_test(c, test_refused_without_barrier);
  tcase_add_test(c, test_bad_promote_to);
  tcase_add_test(c, test_bad_survivor_age);
  return s;
}
