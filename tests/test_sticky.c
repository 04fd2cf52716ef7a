/* test_sticky.c -- the ms pool with sticky mark bits (young_size > 0): a
 * non-moving young generation. Graph property tests over one sticky pool,
 * two of them, and a gen nursery promoting into one; kiln_write as the
 * remembered set (and its absence reported by checked builds); minors
 * reclaiming young garbage without full collections, never old objects,
 * never moving anything, honouring ambiguous roots; large objects; only
 * old objects under dirty cards scanned; creation refused without a
 * barrier. */
#include "graph.h"

#include <string.h>

/* graph_run's explicit full collections (1 in 100 steps, some 30 KB of
   allocation apart) empty the young generation, so only a young_size well
   below that gives graph runs many minor collections. */
#define GRAPH_YOUNG (16u << 10)
#define ENV_YOUNG (128u << 10)

static int one_sticky(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[0] = make_sticky(arena, fmt, GRAPH_YOUNG, 0);
  return 1;
}

/* Two sticky pools referring to each other: each one's minors scan the
   other's segments as a mature space. */
static int two_sticky(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[0] = make_sticky(arena, fmt, GRAPH_YOUNG, 0);
  pools[1] = make_sticky(arena, fmt, GRAPH_YOUNG / 2, 0);
  return 2;
}

/* survivor_age of the gen pool below (make_pools takes no closure); every
   test using gen_sticky sets it. */
static size_t graph_age;

/* A nursery promoting into a sticky pool; graph_run allocates in both. */
static int gen_sticky(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[1] = make_sticky(arena, fmt, GRAPH_YOUNG, 0);
  pools[0] = make_gen_aged(arena, fmt, pools[1], 64 << 10, graph_age);
  return 2;
}

static const uint64_t seeds[] = {21, 22, 23, 0x5717C4};

/* Each graph run must have had minor collections (one per 120 to 300
   steps with these sizes, depending on the configuration; the bounds
   leave a factor of two) and full ones: the explicit ones (1 in 100 steps)
   at least. */
static void check_collections(const graph_cfg_t *cfg, const graph_result_t *r,
                              size_t steps_per_minor)
{
  size_t nfull = r->collections - r->minors;
  ck_assert_msg(r->minors >= cfg->steps / steps_per_minor, "%zu minor collections in %zu steps",
                r->minors, cfg->steps);
  ck_assert_msg(nfull >= cfg->steps / 200, "%zu full collections in %zu steps", nfull,
                cfg->steps);
  ck_assert_uint_ge(2 * r->verified, r->collections); /* the heap was checked after most */
}

START_TEST(test_graph_minors)
{
  graph_cfg_t cfg = {.make_pools = one_sticky, .steps = test_scale(30000), .use_barrier = 1,
      .seed = test_seed(seeds[_i])};
  graph_result_t r = graph_run(&cfg);
  check_collections(&cfg, &r, 300);
}
END_TEST

START_TEST(test_graph_minors_every_nth)
{
  graph_cfg_t cfg = {.make_pools = one_sticky, .steps = test_scale(20000), .collect_every = 97,
      .use_barrier = 1, .seed = test_seed(seeds[_i] + 1)};
  graph_result_t r = graph_run(&cfg);
  check_collections(&cfg, &r, 300);
  ck_assert_uint_ge(r.collections - r.minors, cfg.steps / 2 / 97); /* every 97th allocation */
}
END_TEST

/* Stress: a collection at every 16th allocation slow path (every
   allocation takes it), minor and full ones in turn, and minors in between
   whenever young_size is reached. */
START_TEST(test_graph_minors_stress)
{
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("stress", 16), KILN_ARGS_END};
  graph_cfg_t cfg = {.make_pools = one_sticky, .arena_args = aargs, .steps = test_scale(6000),
      .use_barrier = 1, .seed = test_seed(seeds[_i] + 2)};
  graph_result_t r = graph_run(&cfg);
  check_collections(&cfg, &r, 600);
  ck_assert_uint_ge(r.collections - r.minors, cfg.steps / 2 / 32); /* stress's full turns */
  ck_assert_uint_ge(r.minors, cfg.steps / 2 / 32);                 /* and its minor ones */
}
END_TEST

START_TEST(test_graph_two_sticky)
{
  graph_cfg_t cfg = {.make_pools = two_sticky, .steps = test_scale(30000), .use_barrier = 1,
      .seed = test_seed(seeds[_i] + 3)};
  graph_result_t r = graph_run(&cfg);
  check_collections(&cfg, &r, 300);
}
END_TEST

/* _i: survivor_age 0 (promote at once) or 1. Minors are the nursery's and
   the sticky pool's. */
START_TEST(test_graph_gen_sticky)
{
  graph_age = (size_t)_i % 2;
  graph_cfg_t cfg = {.make_pools = gen_sticky, .steps = test_scale(30000), .use_barrier = 1,
      .seed = test_seed(seeds[_i] + 4)};
  graph_result_t r = graph_run(&cfg);
  check_collections(&cfg, &r, 600);
}
END_TEST

START_TEST(test_graph_gen_sticky_every_nth)
{
  graph_age = (size_t)_i % 2;
  graph_cfg_t cfg = {.make_pools = gen_sticky, .steps = test_scale(20000), .collect_every = 101,
      .use_barrier = 1, .seed = test_seed(seeds[_i] + 5)};
  graph_result_t r = graph_run(&cfg);
  check_collections(&cfg, &r, 600);
}
END_TEST

/* Half the roots ambiguous: young objects only they reach are kept young
   by a minor collection (ms.c, keep_young), all of them or none, while
   others are tenured; the checked build's verifier finds any old object
   then referring to a young one off a dirty card. */
START_TEST(test_graph_ambig_roots)
{
  graph_cfg_t cfg = {.make_pools = one_sticky, .steps = test_scale(30000), .use_barrier = 1,
      .seed = test_seed(seeds[_i] + 6)};
  graph_ambig_roots = 1;
  graph_result_t r = graph_run(&cfg);
  check_collections(&cfg, &r, 300);
}
END_TEST

START_TEST(test_graph_ambig_roots_gen)
{
  graph_age = (size_t)_i % 2;
  graph_cfg_t cfg = {.make_pools = gen_sticky, .steps = test_scale(20000),
      .use_barrier = GRAPH_INIT_REFS, .seed = test_seed(seeds[_i] + 7)};
  graph_ambig_roots = 1;
  graph_result_t r = graph_run(&cfg);
  check_collections(&cfg, &r, 600);
}
END_TEST

/* ---- one sticky pool ---------------------------------------------------- */

typedef sticky_env_t env_t;

static void env_open(env_t *e) { sticky_open(e, ENV_YOUNG, 0, NULL); }

/* ... with a nursery (survivor_age 0) promoting into the sticky pool. */
static void env_open_gen(env_t *e)
{
  env_open(e);
  sticky_add_gen(e, 256 << 10);
}

/* ... with a second sticky pool. */
static void env_open_two(env_t *e)
{
  env_open(e);
  sticky_add_sticky(e);
}

/* ... with an exact root area over slots[0 .. n). */
static void env_open_rooted(env_t *e, void **slots, size_t n)
{
  env_open(e);
  (void)exact_area(e->arena, slots, n);
}

static void env_scan_stack(env_t *e) { sticky_scan_stack(e); }
static void env_close(env_t *e) { sticky_close(e); }

static void run_minors(env_t *e, uint64_t n) { gobj_garbage_until_minors(e->arena, e->ap, n); }

/* An old object (it survived a full collection) held by the exact root
   *slot. */
static gobj_t *rooted_old(env_t *e, void **slot) { return gobj_rooted_old(e->arena, e->ap, slot); }

/* A young object referred to only by an old one, through kiln_write,
   survives minor collections in place; the first minor makes it old, so
   the card is clean afterwards and stays so. A full collection leaves the
   pool's cards clean too. */
START_TEST(test_barrier_keeps_young_alive)
{
  env_t e;
  env_open(&e);
  static void *root[1];
  gobj_t *old = rooted_old(&e, root);
  ck_assert(!card_dirty(e.arena, &old->ref[0]));
  gobj_t *young = gobj_new_into(e.arena, e.ap, old, 0, 2, 32);
  ck_assert(card_dirty(e.arena, &old->ref[0]));
  uint64_t f0 = fulls(e.arena);
  run_minors(&e, 1);
  ck_assert(old->ref[0] == young);
  gobj_check(young, 2);
  ck_assert_msg(!card_dirty(e.arena, &old->ref[0]), "the survivor is old: no card needed");
  run_minors(&e, 4);
  ck_assert(old->ref[0] == young);
  gobj_check(young, 2);
  ck_assert_uint_eq(pool_live(e.pool), 2);
  kiln_write(e.arena, old, (void **)&old->ref[1], gobj_new(e.ap, 3, 0, 32));
  ck_assert_uint_eq(fulls(e.arena), f0); /* minors only so far */
  kiln_arena_collect(e.arena);
  ck_assert_msg(!card_dirty(e.arena, &old->ref[1]), "a full collection cleans the pool's cards");
  run_minors(&e, 2);
  gobj_check(old->ref[1], 3);
  gobj_check(old->ref[0], 2);
  env_close(&e);
}
END_TEST

static void store_without_barrier(void)
{
  env_t e;
  env_open(&e);
  static void *root[1];
  gobj_t *old = rooted_old(&e, root);
  old->ref[1] = gobj_new(e.ap, 2, 0, 32); /* no kiln_write: the bug */
  run_minors(&e, 2);
}

START_TEST(test_missing_barrier_reported)
{
  test_expect_missing_barrier(store_without_barrier);
}
END_TEST

/* Young garbage goes at minor collections: memory stays bounded by about
   young_size and no full collection is needed; the live set is intact. */
START_TEST(test_minors_reclaim_young_garbage)
{
  env_t e;
  static void *live[100];
  env_open_rooted(&e, live, 100);
  for (int i = 0; i < 100; i++)
    live[i] = gobj_new(e.ap, (uint64_t)i, 1, 64);
  kiln_arena_collect(e.arena);
  uint64_t f0 = fulls(e.arena), m0 = minors(e.arena);
  uint64_t rng = test_seed(7);
  size_t bytes = 0, max_committed = 0;
  gobj_t *prev = NULL; /* not a root: the stack is not scanned here */
  for (uint64_t i = 0; bytes < test_scale(16u << 20); i++) {
    uint32_t npay = (uint32_t)test_range(&rng, 0, 200);
    uint64_t m1 = minors(e.arena);
    gobj_t *o = gobj_new(e.ap, 1000 + i, 2, npay);
    bytes += gobj_size(2, npay);
    if (minors(e.arena) != m1)
      prev = NULL; /* it was garbage: freed */
    kiln_write(e.arena, o, (void **)&o->ref[0], prev); /* garbage refers to garbage */
    if (i % 3 == 0) /* and to live (old) objects */
      kiln_write(e.arena, o, (void **)&o->ref[1], live[i % 100]);
    prev = o;
    kiln_pool_stats_t ps;
    kiln_pool_stats(e.pool, &ps);
    if (ps.committed > max_committed)
      max_committed = ps.committed;
  }
  uint64_t m = minors(e.arena) - m0;
  ck_assert_msg(m >= bytes / ENV_YOUNG / 2, "%llu minors for %zu bytes", (unsigned long long)m,
                bytes);
  ck_assert_uint_eq(fulls(e.arena), f0);
  ck_assert_msg(max_committed <= 4 * ENV_YOUNG + (128u << 10), "committed reached %zu bytes",
                max_committed);
  for (int i = 0; i < 100; i++)
    gobj_check(live[i], (uint64_t)i);
  env_close(&e);
}
END_TEST

/* Nothing moves: across minors and a full collection, objects keep their
   addresses, the one held by an exact root and those reached only through
   other objects' fields alike, young and old. */
START_TEST(test_objects_do_not_move)
{
  enum { N = 64 };
  env_t e;
  env_open(&e);
  static void *head[1];
  uintptr_t addr[N];
  (void)exact_area(e.arena, head, 1);
  for (int i = 0; i < N; i++) { /* a chain: object i refers to i - 1 */
    gobj_t *o = gobj_new(e.ap, (uint64_t)i, 1, (uint32_t)(i * 3));
    kiln_write(e.arena, o, (void **)&o->ref[0], head[0]);
    head[0] = o;
    addr[i] = (uintptr_t)o;
  }
  for (int round = 0; round < 3; round++) {
    run_minors(&e, 2);
    if (round == 1)
      kiln_arena_collect(e.arena);
    gobj_t *o = head[0];
    for (int i = N - 1; i >= 0; o = o->ref[0], i--) {
      ck_assert_msg((uintptr_t)o == addr[i], "round %d: object %d moved", round, i);
      gobj_check(o, (uint64_t)i);
    }
    ck_assert(o == NULL);
  }
  env_close(&e);
}
END_TEST

/* An object held only by the stack (an ambiguous reference) survives
   minors, young and then old, and so does what it refers to. */
START_TEST(test_stack_reference_survives_minors)
{
  env_t e;
  env_open(&e);
  env_scan_stack(&e);
  gobj_t *volatile held = gobj_new(e.ap, 7, 1, 40);
  /* reachable only through held */
  kiln_write(e.arena, held, (void **)&held->ref[0], gobj_new(e.ap, 8, 0, 24));
  uint64_t f0 = fulls(e.arena);
  run_minors(&e, 3);
  gobj_check(held, 7);
  gobj_check(held->ref[0], 8);
  ck_assert_uint_ge(pool_live(e.pool), 2);
  ck_assert_uint_lt(pool_live(e.pool), 100); /* the garbage went */
  ck_assert_uint_eq(fulls(e.arena), f0);
  env_close(&e);
}
END_TEST

/* env_open, with slots[0..n) an ambiguous root area, after a first minor
   collection (what the tests allocate next is young). */
static void env_open_ambig(env_t *e, void **slots, size_t n)
{
  env_open(e);
  kiln_root_t r;
  ck_assert_ok(kiln_root_create_area(&r, e->arena, slots, slots + n, KILN_RANK_AMBIG));
  run_minors(e, 1);
}

/* A chain of n young objects (ids base..base+n-1, the last one first),
   each referring to the one made before it. */
static gobj_t *young_chain(env_t *e, uint64_t base, int n)
{
  gobj_t *head = NULL;
  for (int i = 0; i < n; i++) {
    gobj_t *o = gobj_new(e->ap, base + (uint64_t)i, 1, 40);
    kiln_write(e->arena, o, (void **)&o->ref[0], head);
    head = o;
  }
  return head;
}

static void check_chain(const gobj_t *head, uint64_t base, int n)
{
  for (int i = n - 1; i >= 0; i--, head = head->ref[0])
    gobj_check(head, base + (uint64_t)i);
  ck_assert_ptr_null(head);
}

/* Young objects that only an ambiguous root reaches survive a minor
   collection intact, but young: once the root lets go of them, the next
   minor frees them, with no full collection: a stale stack word must not
   tenure a whole dead tree until the next full collection. */
START_TEST(test_ambiguous_only_stays_young)
{
  enum { N = 50 };
  env_t e;
  static void *amb[1];
  env_open_ambig(&e, amb, 1);
  amb[0] = young_chain(&e, 100, N);
  uint64_t f0 = fulls(e.arena);
  run_minors(&e, 1);
  check_chain(amb[0], 100, N);
  uint64_t held = pool_live(e.pool);
  ck_assert_uint_ge(held, N);
  amb[0] = NULL;
  run_minors(&e, 1);
  ck_assert_msg(pool_live(e.pool) + N <= held, "the chain was tenured: %llu live, then %llu",
                (unsigned long long)held, (unsigned long long)pool_live(e.pool));
  ck_assert_uint_eq(fulls(e.arena), f0);
  env_close(&e);
}
END_TEST

/* Only once: objects an ambiguous root still holds at the next minor
   collection are tenured (the reference is likely real), and then only a
   full collection frees them. So is a structure over half of young_size,
   at once. */
START_TEST(test_ambiguous_held_twice_tenured)
{
  enum { N = 50, BIG = (ENV_YOUNG / 2) / 64 + 100 };
  env_t e;
  static void *amb[2];
  env_open_ambig(&e, amb, 2);
  gobj_t *small = amb[0] = young_chain(&e, 100, N);
  run_minors(&e, 2);
  amb[0] = NULL;
  run_minors(&e, 1);
  check_chain(small, 100, N); /* tenured: not freed, not reused */
  ck_assert_uint_ge(pool_live(e.pool), N);
  kiln_arena_collect(e.arena);
  ck_assert_uint_lt(pool_live(e.pool), N);

  gobj_t *big = amb[1] = young_chain(&e, 1000, BIG);
  run_minors(&e, 1);
  amb[1] = NULL;
  run_minors(&e, 1);
  check_chain(big, 1000, BIG);
  ck_assert_uint_ge(pool_live(e.pool), BIG);
  env_close(&e);
}
END_TEST

/* All or none: an object kept young once and held again at the next minor
   collection is tenured, and so is the young object it was given since,
   which only it reaches; were that one kept young, an old object would
   refer to it off a dirty card (its card was cleaned by that collection,
   when it was young), and the next minor would free it under the old
   object (a checked build reports a missing barrier first). */
START_TEST(test_ambiguous_kept_all_or_none)
{
  env_t e;
  static void *amb[1];
  env_open_ambig(&e, amb, 1);
  gobj_t *x = amb[0] = gobj_new(e.ap, 1, 2, 16);
  kiln_write(e.arena, x, (void **)&x->ref[0], gobj_new(e.ap, 2, 0, 16));
  run_minors(&e, 1); /* x and its child kept young */
  kiln_write(e.arena, x, (void **)&x->ref[1], gobj_new(e.ap, 3, 0, 16));
  run_minors(&e, 1); /* x held again: tenured, with both children */
  amb[0] = NULL;
  run_minors(&e, 3); /* x stays (old); its children must too */
  gobj_check(x, 1);
  gobj_check(x->ref[0], 2);
  gobj_check(x->ref[1], 3);
  env_close(&e);
}
END_TEST

/* Old objects that die stay until a full collection: minors neither free
   them (their memory is not reused: they stay intact) nor count them gone,
   though young objects are allocated in the holes between them. */
START_TEST(test_old_garbage_needs_full)
{
  enum { N = 2000 };
  env_t e;
  env_open(&e);
  static void *root[N];
  static uintptr_t addr[N]; /* not a root */
  (void)exact_area(e.arena, root, N);
  for (int i = 0; i < N; i++) {
    root[i] = gobj_new(e.ap, (uint64_t)i, 2, 200);
    addr[i] = (uintptr_t)root[i];
    (void)gobj_new(e.ap, 100000 + (uint64_t)i, 2, 200); /* a hole, after the full collection */
  }
  kiln_arena_collect(e.arena);
  size_t old_bytes = pool_in_use(e.pool);
  ck_assert_uint_ge(old_bytes, N * gobj_size(2, 200));
  kiln_pool_stats_t ps;
  kiln_pool_stats(e.pool, &ps);
  size_t committed = ps.committed;
  memset(root, 0, sizeof root); /* every old object dies */
  uint64_t f0 = fulls(e.arena);
  run_minors(&e, 5);
  ck_assert_uint_eq(fulls(e.arena), f0);
  for (int i = 0; i < N; i++)
    gobj_check((gobj_t *)addr[i], (uint64_t)i);
  kiln_pool_stats(e.pool, &ps);
  ck_assert_msg(ps.in_use >= old_bytes && ps.committed >= committed,
                "minors reclaimed old objects: in use %zu (was %zu), committed %zu (was %zu)",
                ps.in_use, old_bytes, ps.committed, committed);
  ck_assert_uint_ge(ps.live_objects, N);
  kiln_arena_collect(e.arena);
  kiln_pool_stats(e.pool, &ps);
  ck_assert_msg(ps.in_use < old_bytes / 10 && ps.committed < committed / 2,
                "a full collection left %zu bytes in use, %zu committed", ps.in_use,
                ps.committed);
  ck_assert_uint_eq(ps.live_objects, 0);
  env_close(&e);
}
END_TEST

/* Old objects are black: minors do not rescan a big old heap whose cards
   are clean. */
START_TEST(test_minor_scans_little)
{
  enum { N = 4000 };
  env_t e;
  static void *root[N];
  env_open_rooted(&e, root, N);
  for (int i = 0; i < N; i++)
    root[i] = gobj_new(e.ap, (uint64_t)i, 2, 200); /* about 1 MB */
  kiln_arena_collect(e.arena);
  kiln_stats_t s0, s1;
  s0 = astats(e.arena);
  run_minors(&e, 10);
  s1 = astats(e.arena);
  ck_assert_msg(s1.scanned - s0.scanned < (64u << 10), "ten minors scanned %zu bytes",
                s1.scanned - s0.scanned);
  for (int i = 0; i < N; i++)
    gobj_check(root[i], (uint64_t)i);
  env_close(&e);
}
END_TEST

/* A dirty card is scanned for its old objects only: a young unreachable
   object sharing the card is not kept alive, nor is what it refers to. */
START_TEST(test_dirty_card_scans_old_only)
{
  env_t e;
  static void *root[1];
  env_open_rooted(&e, root, 1);
  gobj_t *old = gobj_new(e.ap, 1, 2, 8);
  root[0] = old;
  (void)gobj_new(e.ap, 99, 0, 8); /* dies at the full collection: a hole after old */
  kiln_arena_collect(e.arena);
  gobj_t *g = gobj_new(e.ap, 2, 1, 8); /* young garbage, in that hole */
  ck_assert_msg(card_of(e.arena, g) == card_of(e.arena, old), "setup: %p is not on %p's card",
                (void *)g, (void *)old);
  kiln_write(e.arena, g, (void **)&g->ref[0], gobj_new(e.ap, 3, 0, 8));
  gobj_t *young = gobj_new_into(e.arena, e.ap, old, 0, 4, 8);
  ck_assert(card_dirty(e.arena, g));
  run_minors(&e, 1);
  ck_assert_uint_eq(pool_live(e.pool), 2); /* old and young; not g's referent */
  ck_assert(old->ref[0] == young);
  gobj_check(young, 4);
  env_close(&e);
}
END_TEST

/* Large objects (own segment): an old one holding a young small one, an old
   small one holding a young large one; young large garbage goes at
   minors. */
START_TEST(test_large_old_to_young)
{
  env_t e;
  static void *root[2];
  env_open_rooted(&e, root, 2);
  gobj_t *big = gobj_new(e.ap, 1, 2, 20000);
  gobj_t *small = gobj_new(e.ap, 2, 1, 8);
  root[0] = big;
  root[1] = small;
  kiln_arena_collect(e.arena);
  gobj_t *y_small = gobj_new_into(e.arena, e.ap, big, 1, 3, 16);
  gobj_t *y_big = gobj_new_into(e.arena, e.ap, small, 0, 4, 30000);
  uint64_t f0 = fulls(e.arena);
  size_t committed0 = 0;
  for (int k = 0; k < 4; k++) {
    for (uint64_t m0 = minors(e.arena), i = 0; minors(e.arena) < m0 + 1; i++) {
      T_CHECK(i < 100000, "no minor collection");
      (void)gobj_new(e.ap, 5000 + i, 1, i % 2 ? 20000 : 16); /* large and small garbage */
    }
    ck_assert(big->ref[1] == y_small && small->ref[0] == y_big);
    gobj_check(big, 1);
    gobj_check(y_small, 3);
    gobj_check(y_big, 4);
    kiln_pool_stats_t ps;
    kiln_pool_stats(e.pool, &ps);
    if (k == 0)
      committed0 = ps.committed;
    else
      ck_assert_msg(ps.committed <= committed0 + ENV_YOUNG, "minor %d: committed %zu, was %zu", k,
                    ps.committed, committed0);
  }
  ck_assert_uint_eq(fulls(e.arena), f0);
  ck_assert_uint_eq(pool_live(e.pool), 4);
  env_close(&e);
}
END_TEST

/* Two sticky pools, A (e.pool) and B (e.other), their segments in the
   same zone: old objects of both refer (through kiln_write) to young
   objects of A. B's minors scan those cards too, and must leave A what it
   needs: A's own card dirty, and B's segment summary naming the zone of
   what B's old object refers to. B's old object is large, so that no
   allocation widens its segment's summary. */
START_TEST(test_two_pools_remembered)
{
  env_t e;
  env_open_two(&e);
  static void *root[2];
  (void)exact_area(e.arena, root, 2);
  gobj_t *old_a = gobj_new(e.ap, 1, 1, 8), *old_b = gobj_new(e.other_ap, 2, 1, 9000);
  root[0] = old_a;
  root[1] = old_b;
  kiln_arena_collect(e.arena);
  gobj_t *y1 = gobj_new_into(e.arena, e.ap, old_a, 0, 3, 8);
  gobj_t *y2 = gobj_new_into(e.arena, e.ap, old_b, 0, 4, 8);
  ck_assert_msg(((uintptr_t)old_b >> 20) % 64 == ((uintptr_t)y2 >> 20) % 64,
                "setup: %p and %p are in different zones", (void *)old_b, (void *)y2);
  uint64_t f0 = fulls(e.arena);
  gobj_garbage_until_minors(e.arena, e.other_ap, 2); /* B's minors */
  ck_assert_uint_eq(pool_live(e.pool), 1); /* A has not collected since */
  run_minors(&e, 2);                        /* A's */
  ck_assert_uint_eq(fulls(e.arena), f0);
  ck_assert(old_a->ref[0] == y1 && old_b->ref[0] == y2);
  gobj_check(y1, 3);
  gobj_check(y2, 4);
  ck_assert_uint_eq(pool_live(e.pool), 3);
  env_close(&e);
}
END_TEST

/* ---- a nursery promoting into a sticky pool ----------------------------- */

/* An object promoted by the nursery's minors is old in the sticky pool at
   once; what it refers to there (young, reachable only through it) is
   remembered by its cards, through more nursery minors, until the sticky
   pool's own minors mark it. */
START_TEST(test_promoted_is_old_and_remembered)
{
  env_t e;
  env_open_gen(&e);
  static void *root[1];
  (void)exact_area(e.arena, root, 1);
  gobj_t *a = gobj_new(e.other_ap, 1, 1, 8);
  gobj_t *b = gobj_new_into(e.arena, e.ap, a, 0, 2, 8); /* young in the sticky pool */
  root[0] = a;
  a = NULL;
  ck_assert_uint_eq(pool_live(e.pool), 0);
  gobj_garbage_until_minors(e.arena, e.other_ap, 1); /* the nursery's minor promotes a */
  a = root[0];
  ck_assert(in_pool(e.arena, a, e.pool));
  ck_assert(a->ref[0] == b);
  ck_assert_uint_eq(pool_live(e.pool), 1);
  ck_assert_msg(card_dirty(e.arena, &a->ref[0]), "the promoted object's card is clean");
  gobj_garbage_until_minors(e.arena, e.other_ap, 2); /* more nursery minors */
  ck_assert(root[0] == a && a->ref[0] == b);
  run_minors(&e, 2); /* the sticky pool's own */
  ck_assert(root[0] == a && a->ref[0] == b);
  gobj_check(a, 1);
  gobj_check(b, 2);
  ck_assert_uint_eq(pool_live(e.pool), 2); /* a counted once, as old */
  env_close(&e);
}
END_TEST

/* ---- creation ----------------------------------------------------------- */

START_TEST(test_refused_without_barrier)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t p;
  kiln_arg_t aargs[] = {KILN_ARG_STR("barrier", "none"), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&arena, aargs));
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_SIZE("young_size", 1 << 20),
                       KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&p, arena, kiln_class_ms(), args), KILN_PARAM);
  const char *msg = kiln_arena_error(arena);
  ck_assert_msg(strstr(msg, "young_size") != NULL && strstr(msg, "barrier = \"none\"") != NULL,
                "%s", msg);
  kiln_arg_t plain[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_SIZE("young_size", 0),
                        KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&p, arena, kiln_class_ms(), plain)); /* no generation: fine */
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("sticky");
  TCase *g = suite_add_case(s, "graph", 300);
  tcase_add_loop_test(g, test_graph_minors, 0, 4);
  tcase_add_loop_test(g, test_graph_minors_every_nth, 0, 2);
  tcase_add_loop_test(g, test_graph_minors_stress, 0, 2);
  tcase_add_loop_test(g, test_graph_two_sticky, 0, 2);
  tcase_add_loop_test(g, test_graph_gen_sticky, 0, 4);
  tcase_add_loop_test(g, test_graph_gen_sticky_every_nth, 0, 2);
  tcase_add_loop_test(g, test_graph_ambig_roots, 0, 4);
  tcase_add_loop_test(g, test_graph_ambig_roots_gen, 0, 2);
  TCase *b = suite_add_case(s, "minor", 60);
  tcase_add_test(b, test_barrier_keeps_young_alive);
  tcase_add_test(b, test_missing_barrier_reported);
  tcase_add_test(b, test_minors_reclaim_young_garbage);
  tcase_add_test(b, test_objects_do_not_move);
  tcase_add_test(b, test_stack_reference_survives_minors);
  tcase_add_test(b, test_ambiguous_only_stays_young);
  tcase_add_test(b, test_ambiguous_held_twice_tenured);
  tcase_add_test(b, test_ambiguous_kept_all_or_none);
  tcase_add_test(b, test_old_garbage_needs_full);
  tcase_add_test(b, test_minor_scans_little);
  tcase_add_test(b, test_dirty_card_scans_old_only);
  tcase_add_test(b, test_large_old_to_young);
  tcase_add_test(b, test_two_pools_remembered);
  tcase_add_test(b, test_promoted_is_old_and_remembered);
  TCase *c = suite_add_case(s, "create", 0);
  tcase_add_test(c, test_refused_without_barrier);
  return s;
}
