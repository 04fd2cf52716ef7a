/* test_oom.c -- running out of memory: with a commit limit, an
 * allocation that cannot be satisfied even after a full collection returns
 * KILN_LIMIT from the allocation slow path, nothing is lost or corrupted,
 * and the heap works again once the client drops references. Every
 * automatic pool class, alone and as a generational pool's mature space. */
#include "graph.h"
#include "kiln/heap.h"

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
  (void)exact_area(arena, root, 1);
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
  kiln_stats_t st = astats(arena);
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

/* ---- a full copying pool recovers -------------------------------------
   A copying pool (alone, as gen's mature space, and the plans built on
   them) filled to its commit limit with NLISTS lists allocated
   round-robin, so that every segment holds objects of every list. */

enum { NLISTS = 16, FULL_LIMIT = 4 << 20, FULL_PAYLOAD = 200 };
enum { FULL_COPY, FULL_GEN_COPY, FULL_SEMISPACE, FULL_GENCOPY, FULL_CONFIGS };
static const char *const full_names[] = {"copy", "gen->copy", "plan semispace", "plan gencopy"};

typedef struct full_heap_s {
  kiln_heap_t heap;        /* the plan configurations */
  kiln_arena_t arena;
  kiln_pool_t pool, mature;
  kiln_ap_t ap;
  kiln_root_t root;
  void *lists[NLISTS + 1]; /* the last slot: objects allocated after recovery */
  uint64_t filled;         /* objects allocated before the limit */
} full_heap_t;

/* A heap from plan (its nursery cut to 1 MB so that it fits the limit
   many times), scanning no stack: the test's locals must not pin. */
static void full_open_plan(full_heap_t *h, const char *plan)
{
  kiln_arg_t ov[] = {KILN_ARG_SIZE("arena.commit_limit", FULL_LIMIT),
                     KILN_ARG_SIZE("arena.spare", 0), KILN_ARG_STR("young.nursery_size", "1MB"),
                     KILN_ARGS_END};
  if (strcmp(plan, "gencopy") != 0)
    ov[2].key = NULL;
  ck_assert_ok(kiln_heap_open(&h->heap, plan, graph_format(), ov));
  ck_assert_ok(kiln_heap_scan_stack(h->heap, 0));
  h->arena = kiln_heap_arena(h->heap);
  h->ap = kiln_heap_ap(h->heap, "objects");
  ck_assert_ptr_nonnull(h->ap);
}

/* Open the heap and fill it until KILN_LIMIT, keeping every object. */
static void full_open(full_heap_t *h, int config)
{
  h->heap = NULL;
  if (config == FULL_SEMISPACE || config == FULL_GENCOPY) {
    full_open_plan(h, config == FULL_SEMISPACE ? "semispace" : "gencopy");
  } else {
    kiln_arg_t aargs[] = {KILN_ARG_SIZE("commit_limit", FULL_LIMIT), KILN_ARG_SIZE("spare", 0),
                          KILN_ARGS_END};
    kiln_fmt_t fmt;
    ck_assert_ok(kiln_arena_create(&h->arena, aargs));
    ck_assert_ok(kiln_fmt_create(&fmt, h->arena, graph_format()));
    h->pool = make(h->arena, fmt, config == FULL_COPY ? COPY : GEN_COPY, &h->mature);
    ck_assert_ok(kiln_ap_create(&h->ap, h->pool, NULL));
  }
  memset(h->lists, 0, sizeof h->lists);
  h->root = exact_area(h->arena, h->lists, NLISTS + 1);
  kiln_res_t res = KILN_OK;
  uint64_t id = 0;
  while (res == KILN_OK && id < 10000000) {
    gobj_t *o = gobj_try_new(h->ap, id + 1, 1, FULL_PAYLOAD, &res);
    if (o == NULL)
      break;
    id++;
    o->ref[0] = h->lists[id % NLISTS];
    h->lists[id % NLISTS] = o;
  }
  ck_assert_msg(res == KILN_LIMIT, "%s: got %s after %llu objects", full_names[config],
                kiln_res_name(res), (unsigned long long)id);
  h->filled = id;
  ck_assert_uint_gt(h->filled, 10000); /* 4 MB of 240-byte objects */
}

static void full_close(full_heap_t *h)
{
  if (h->heap != NULL) {
    kiln_root_destroy(h->root);
    kiln_heap_close(h->heap);
  } else {
    kiln_arena_destroy(h->arena);
  }
}

/* Check list i: ids strictly decreasing by a multiple of NLISTS (the same
   list), payloads intact; returns its length. */
static size_t list_ok(full_heap_t *h, int i)
{
  size_t n = 0;
  for (gobj_t *o = h->lists[i]; o != NULL; o = o->ref[0], n++)
    T_CHECK(gobj_payload_ok(o) &&
                (o->ref[0] == NULL ||
                 (o->ref[0]->id < o->id && (o->id - o->ref[0]->id) % NLISTS == 0)),
            "list %d corrupted at object %llu", i, (unsigned long long)o->id);
  return n;
}

static size_t lists_ok(full_heap_t *h)
{
  size_t n = 0;
  for (int i = 0; i < NLISTS; i++)
    n += list_ok(h, i);
  return n;
}

/* Unlink every other object of every list (through the barrier: the
   objects may be old); returns how many were dropped. */
static size_t drop_every_other(full_heap_t *h)
{
  size_t dropped = 0;
  for (int i = 0; i < NLISTS; i++)
    for (gobj_t *o = h->lists[i]; o != NULL && o->ref[0] != NULL; o = o->ref[0]) {
      kiln_write(h->arena, o, (void **)&o->ref[0], o->ref[0]->ref[0]);
      dropped++;
    }
  return dropped;
}

/* Allocate up to max objects into the last root slot; returns how many. */
static size_t alloc_more(full_heap_t *h, size_t max, kiln_res_t *res_o)
{
  size_t n = 0;
  *res_o = KILN_OK;
  while (n < max) {
    gobj_t *o = gobj_try_new(h->ap, h->filled + n + 1, 1, FULL_PAYLOAD, res_o);
    if (o == NULL)
      break;
    o->ref[0] = h->lists[NLISTS];
    h->lists[NLISTS] = o;
    n++;
  }
  return n;
}

START_TEST(test_copy_full_recovers)
{
  int config = _i;
  full_heap_t h;
  full_open(&h, config);
  ck_assert_uint_eq(lists_ok(&h), h.filled);
  size_t dropped = drop_every_other(&h);
  ck_assert_uint_ge(dropped, h.filled / 2 - NLISTS);
  /* Half the heap died: allocation must resume, and most of that half is
     room for new objects (every segment holds survivors, so this needs the
     dead objects between them). */
  kiln_res_t res;
  size_t more = alloc_more(&h, 10000000, &res);
  ck_assert_msg(more >= dropped / 3, "%s: only %zu new objects after dropping %zu (%s: %s)",
                full_names[config], more, dropped, kiln_res_name(res), kiln_arena_error(h.arena));
  ck_assert_uint_eq(lists_ok(&h), h.filled - dropped);
  for (gobj_t *o = h.lists[NLISTS]; o != NULL; o = o->ref[0])
    T_CHECK(gobj_payload_ok(o), "new object %llu corrupted", (unsigned long long)o->id);
  /* Room returns: keep only the 20 newest objects of list 0. Then
     collections move objects again. */
  for (int i = 1; i <= NLISTS; i++)
    h.lists[i] = NULL;
  gobj_t *o = h.lists[0];
  for (int k = 1; k < 20; k++)
    o = o->ref[0];
  kiln_write(h.arena, o, (void **)&o->ref[0], NULL);
  kiln_arena_collect(h.arena);
  kiln_arena_collect(h.arena);
  kiln_stats_t before, after;
  before = astats(h.arena);
  void *head = h.lists[0];
  kiln_arena_collect(h.arena);
  after = astats(h.arena);
  ck_assert_msg(after.copied > before.copied && h.lists[0] != head,
                "%s: a collection with room again copied %zu bytes, head %p -> %p", full_names[config],
                after.copied - before.copied, head, h.lists[0]);
  ck_assert_uint_eq(list_ok(&h, 0), 20);
  /* And the heap fills again to about its limit. */
  more = alloc_more(&h, 10000000, &res);
  ck_assert_msg(res == KILN_LIMIT && more >= h.filled / 2, "%s: %zu objects after emptying (%s)",
                full_names[config], more, kiln_res_name(res));
  ck_assert_uint_eq(list_ok(&h, 0), 20);
  full_close(&h);
}
END_TEST

/* The same with the arena parked once the dead are found: no collection
   may run, yet the holes take new objects (a gen pool too, though it
   cannot first try a collection to empty its nursery). */
START_TEST(test_copy_full_recovers_parked)
{
  int config = _i;
  full_heap_t h;
  full_open(&h, config);
  size_t dropped = drop_every_other(&h);
  kiln_arena_collect(h.arena);
  kiln_stats_t before, after;
  before = astats(h.arena);
  kiln_arena_park(h.arena);
  kiln_res_t res;
  size_t more = alloc_more(&h, 10000000, &res);
  after = astats(h.arena);
  ck_assert_msg(more >= dropped / 3, "%s: only %zu new objects after dropping %zu (%s)",
                full_names[config], more, dropped, kiln_res_name(res));
  ck_assert_uint_eq(after.collections, before.collections);
  kiln_arena_release(h.arena);
  ck_assert_uint_eq(lists_ok(&h), h.filled - dropped);
  full_close(&h);
}
END_TEST

/* Nothing died: KILN_LIMIT again, cleanly, every time, the heap intact and
   still collectable; then dropping everything recovers. */
START_TEST(test_copy_full_nothing_died)
{
  int config = _i;
  full_heap_t h;
  full_open(&h, config);
  for (int k = 0; k < 3; k++) {
    kiln_res_t res;
    size_t more = alloc_more(&h, 1000, &res);
    ck_assert_msg(res == KILN_LIMIT, "%s: %s", full_names[config], kiln_res_name(res));
    ck_assert_uint_le(more, 100);
    kiln_arena_collect(h.arena);
    ck_assert_uint_eq(lists_ok(&h), h.filled);
  }
  kiln_stats_t st = astats(h.arena);
  ck_assert_uint_le(st.committed, FULL_LIMIT);
  memset(h.lists, 0, sizeof h.lists);
  kiln_res_t res;
  size_t more = alloc_more(&h, h.filled / 2, &res);
  ck_assert_msg(more == h.filled / 2, "%s: %zu objects after dropping everything (%s)", full_names[config],
                more, kiln_res_name(res));
  full_close(&h);
}
END_TEST

/* Round after round at the limit: fill every free root slot with a pair
   (a parent holding a child of random size) until KILN_LIMIT, check every
   pair, drop a random half. Every round must allocate again, some from
   holes and some from segments freed whole, and no object is damaged. */
enum { CHURN_SLOTS = 12000 };

static void *churn_slots[CHURN_SLOTS + 1]; /* the last: the child being paired */

static size_t churn_fill(full_heap_t *h, uint64_t *rng, uint64_t *id, kiln_res_t *res_o)
{
  size_t pairs = 0;
  *res_o = KILN_OK;
  for (size_t i = 0; i < CHURN_SLOTS && *res_o == KILN_OK; i++) {
    if (churn_slots[i] != NULL)
      continue;
    gobj_t *child = gobj_try_new(h->ap, ++*id, 0, (uint32_t)test_range(rng, 8, 600), res_o);
    if (child == NULL)
      break;
    churn_slots[CHURN_SLOTS] = child;
    gobj_t *parent = gobj_try_new(h->ap, ++*id, 1, (uint32_t)test_range(rng, 8, 200), res_o);
    if (parent == NULL)
      break;
    kiln_write(h->arena, parent, (void **)&parent->ref[0], churn_slots[CHURN_SLOTS]);
    churn_slots[i] = parent;
    pairs++;
  }
  churn_slots[CHURN_SLOTS] = NULL;
  return pairs;
}

static size_t churn_check(void)
{
  size_t n = 0;
  for (size_t i = 0; i < CHURN_SLOTS; i++) {
    gobj_t *p = churn_slots[i];
    if (p == NULL)
      continue;
    gobj_t *c = p->ref[0];
    T_CHECK(gobj_payload_ok(p) && c != NULL && gobj_payload_ok(c) && c->id + 1 == p->id,
            "pair in slot %zu corrupted (parent %llu)", i, (unsigned long long)p->id);
    n++;
  }
  return n;
}

START_TEST(test_copy_full_churn)
{
  int config = _i;
  uint64_t rng = test_seed(0xC0FFEE + (uint64_t)config), id = 0;
  full_heap_t h;
  full_open(&h, config); /* its lists fill the heap: drop them */
  memset(h.lists, 0, sizeof h.lists);
  memset(churn_slots, 0, sizeof churn_slots);
  kiln_root_t r;
  r = exact_area(h.arena, churn_slots, CHURN_SLOTS + 1);
  kiln_res_t res;
  size_t live = churn_fill(&h, &rng, &id, &res);
  ck_assert_msg(res == KILN_LIMIT, "%s: %s", full_names[config], kiln_res_name(res));
  size_t rounds = test_scale(8);
  for (size_t round = 0; round < rounds; round++) {
    ck_assert_uint_eq(churn_check(), live);
    size_t dropped = 0;
    for (size_t i = 0; i < CHURN_SLOTS; i++)
      if (churn_slots[i] != NULL && test_rand(&rng) % 2) {
        churn_slots[i] = NULL;
        dropped++;
      }
    live -= dropped;
    size_t more = churn_fill(&h, &rng, &id, &res);
    ck_assert_msg(res == KILN_LIMIT && more >= dropped / 3,
                  "%s round %zu: %zu pairs after dropping %zu (%s: %s)", full_names[config],
                  round, more, dropped, kiln_res_name(res), kiln_arena_error(h.arena));
    live += more;
  }
  ck_assert_uint_eq(churn_check(), live);
  kiln_root_destroy(r);
  full_close(&h);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("oom");
  TCase *tc = suite_add_case(s, "limit", 120);
  tcase_add_loop_test(tc, test_limit_then_recover, 0, CONFIGS);
  TCase *full = suite_add_case(s, "copying_full", 120);
  tcase_add_loop_test(full, test_copy_full_recovers, 0, FULL_CONFIGS);
  tcase_add_loop_test(full, test_copy_full_recovers_parked, 0, FULL_CONFIGS);
  tcase_add_loop_test(full, test_copy_full_nothing_died, 0, FULL_CONFIGS);
  tcase_add_loop_test(full, test_copy_full_churn, 0, FULL_CONFIGS);
  return s;
}
