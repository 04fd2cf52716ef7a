/* test_copy.c -- the copying pool: graph property tests (objects really
 * move), a heap audit that finds no reference into freed or forwarded
 * memory, pinning by ambiguous references (stack and areas, interior
 * pointers, segment granularity), large objects staying put, weak roots,
 * collections of one pool beside another, from-space returned, running out
 * of to-space, allocation in the holes of kept segments, and parameter
 * errors. */
#include "graph.h"
#include "arena.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

#define TAG(o) (((const uint64_t *)(const void *)(o))[-1] & 0xff)
#define TAG_OBJ 1

static kiln_pool_t make_copy(kiln_arena_t arena, kiln_fmt_t fmt, size_t seg, size_t large)
{
  kiln_pool_t p;
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_SIZE("segment_size", seg),
                       KILN_ARG_SIZE("large_size", large), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&p, arena, kiln_class_copy(), args));
  return p;
}

static int one_copy(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&pools[0], arena, kiln_class_copy(), args));
  return 1;
}

/* Small segments and a low large threshold: many segments, many large objects. */
static int small_copy(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[0] = make_copy(arena, fmt, 16 << 10, 2 << 10);
  return 1;
}

static int copy_and_ms(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARGS_END};
  pools[0] = make_copy(arena, fmt, 64 << 10, 8 << 10);
  ck_assert_ok(kiln_pool_create(&pools[1], arena, kiln_class_ms(), args));
  return 2;
}

static int two_copy(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[0] = make_copy(arena, fmt, 64 << 10, 8 << 10);
  pools[1] = make_copy(arena, fmt, 256 << 10, 32 << 10);
  return 2;
}

static const uint64_t seeds[] = {21, 22, 23, 0xFACADE};

/* ---- the graph property test ------------------------------------------ */

START_TEST(test_graph_battery)
{
  graph_battery(_i, one_copy, 1, seeds);
}
END_TEST

/* Many segments and large objects, a copy pool and an ms pool (also under
   stress 3), and two copy pools without the barrier. */
static const graph_run_t copy_runs[] = {
  {.make_pools = small_copy, .steps = 20000, .collect_every = 53, .use_barrier = 1, .seeds = 2,
   .seed_add = 40, .verified_over = 50},
  {.make_pools = copy_and_ms, .steps = 20000, .collect_every = 89, .use_barrier = 1, .seeds = 2,
   .seed_add = 50, .verified_over = 50},
  {.make_pools = copy_and_ms, .steps = 3000, .stress = 3, .use_barrier = 1, .seeds = 1,
   .seed_add = 60},
  {.make_pools = two_copy, .steps = 20000, .seeds = 1, .seed_add = 70},
};
enum { COPY_RUNS = 6 }; /* the sum of copy_runs[].seeds */

START_TEST(test_graph_copy_runs)
{
  graph_table_run(copy_runs, _i, 1, seeds);
}
END_TEST

/* ---- heap audit ------------------------------------------------------- *
 * After a full collection every object left in a segment is live, so each
 * of its references must lead to an object some segment walk visits: never
 * into a freed segment, at a forwarding marker or at padding. Ambiguous
 * area slots hold interior pointers to objects that must stay where they
 * are. The audit also checks that walks and live counts agree. */

typedef struct audit_s {
  kiln_arena_t arena;
  kiln_pool_t pools[2];
  kiln_ap_t aps[2];
  void *roots[64];
  void *amb[8];                 /* ambiguous root: interior pointers */
  size_t amb_off[8];
  uint64_t amb_id[8];
  uint64_t rng, next_id;
  const void **objs;            /* every object the walks visit, sorted */
  size_t nobjs, cap;
} audit_t;

static void collect_obj(void *obj, void *closure)
{
  audit_t *a = closure;
  if (a->nobjs == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 4096;
    a->objs = realloc(a->objs, a->cap * sizeof *a->objs);
    T_CHECK(a->objs != NULL, "audit: no memory");
  }
  a->objs[a->nobjs++] = obj;
}

static int cmp_ptr(const void *x, const void *y)
{
  uintptr_t a = (uintptr_t) * (const void *const *)x, b = (uintptr_t) * (const void *const *)y;
  return a < b ? -1 : a > b;
}

static int is_object(audit_t *a, const void *p)
{
  return bsearch(&p, a->objs, a->nobjs, sizeof *a->objs, cmp_ptr) != NULL;
}

static void check_target(audit_t *a, const void *p, const char *what)
{
  if (p == NULL)
    return;
  seg_t seg = arena_seg_of(a->arena, p);
  T_CHECK(seg != NULL && seg->sig == SIG_SEG, "%s %p points into no live segment", what, p);
  T_CHECK(is_object(a, p), "%s %p is not an object any walk visits", what, p);
  T_CHECK(TAG(p) == TAG_OBJ && gobj_payload_ok(p), "%s %p: tag %d or payload wrong", what, p,
          (int)TAG(p));
}

static void audit_heap(audit_t *a)
{
  a->nobjs = 0;
  for (int i = 0; i < 2; i++) {
    ring_t *node, *nxt;
    POOL_SEGS(node, a->pools[i], nxt) {
      seg_t seg = SEG_OF_RING(node);
      seg->klass->walk(seg, collect_obj, a);
    }
  }
  qsort(a->objs, a->nobjs, sizeof *a->objs, cmp_ptr);
  uint64_t live = 0;
  for (int i = 0; i < 2; i++) {
    kiln_pool_stats_t ps;
    kiln_pool_stats(a->pools[i], &ps);
    live += ps.live_objects;
  }
  T_CHECK(live == a->nobjs, "walks visit %zu objects, the pools count %llu live", a->nobjs,
          (unsigned long long)live);
  for (size_t i = 0; i < a->nobjs; i++) {
    const gobj_t *o = a->objs[i];
    T_CHECK(TAG(o) == TAG_OBJ, "walk visited %p with tag %d", (const void *)o, (int)TAG(o));
    for (uint32_t k = 0; k < o->nrefs; k++)
      check_target(a, o->ref[k], "a field");
  }
  for (int i = 0; i < 64; i++)
    check_target(a, a->roots[i], "a root");
  for (int i = 0; i < 8; i++) {
    if (a->amb[i] == NULL)
      continue;
    const gobj_t *o = (const void *)((char *)a->amb[i] - a->amb_off[i] + 8);
    check_target(a, o, "a pinned object");
    T_CHECK(o->id == a->amb_id[i], "pinned object moved: %p holds id %llu, not %llu",
            (const void *)o, (unsigned long long)o->id, (unsigned long long)a->amb_id[i]);
  }
}

/* A live object: a random walk of up to 3 edges from a root or pin. */
static gobj_t *audit_pick(audit_t *a)
{
  gobj_t *o = NULL;
  for (int tries = 0; o == NULL && tries < 8; tries++) {
    size_t i = test_rand(&a->rng) % 72;
    o = i < 64 ? a->roots[i]
        : a->amb[i - 64] ? (gobj_t *)(void *)((char *)a->amb[i - 64] - a->amb_off[i - 64] + 8)
                         : NULL;
  }
  for (int d = (int)(test_rand(&a->rng) % 4); o != NULL && d > 0 && o->nrefs > 0; d--) {
    gobj_t *n = o->ref[test_rand(&a->rng) % o->nrefs];
    if (n == NULL)
      break;
    o = n;
  }
  return o;
}

static void audit_step(audit_t *a)
{
  uint64_t dice = test_rand(&a->rng) % 100;
  gobj_t *p;
  if (dice < 50) {
    uint32_t nrefs = (uint32_t)test_range(&a->rng, 0, 4);
    uint32_t npay = test_rand(&a->rng) % 40 == 0 ? 5000 : (uint32_t)test_range(&a->rng, 0, 64);
    gobj_t *o = gobj_new(a->aps[test_rand(&a->rng) % 2], a->next_id++, nrefs, npay);
    p = audit_pick(a); /* after the allocation, which may have moved everything */
    for (uint32_t k = 0; k < nrefs; k++)
      o->ref[k] = test_rand(&a->rng) % 2 ? audit_pick(a) : NULL;
    if (p != NULL && p->nrefs > 0 && test_rand(&a->rng) % 2)
      kiln_write(a->arena, p, (void **)&p->ref[test_rand(&a->rng) % p->nrefs], o);
    else
      a->roots[test_rand(&a->rng) % 64] = o;
    return;
  }
  p = audit_pick(a);
  if (dice < 80) {
    if (p != NULL && p->nrefs > 0)
      kiln_write(a->arena, p, (void **)&p->ref[test_rand(&a->rng) % p->nrefs], audit_pick(a));
  } else if (dice < 92) {
    a->roots[test_rand(&a->rng) % 64] = NULL;
  } else if (dice < 96) {
    size_t i = test_rand(&a->rng) % 8;
    if (p != NULL) {
      size_t size = (size_t)((char *)graph_format()->skip(p) - (char *)p);
      a->amb_off[i] = test_rand(&a->rng) % size; /* anywhere in the block, header too */
      a->amb_id[i] = p->id;
      a->amb[i] = (char *)p - 8 + a->amb_off[i];
    }
  } else {
    a->amb[test_rand(&a->rng) % 8] = NULL;
  }
}

START_TEST(test_heap_audit)
{
  audit_t a;
  memset(&a, 0, sizeof a);
  a.rng = test_seed(seeds[_i] + 80);
  kiln_fmt_t fmt;
  kiln_root_t exact, amb;
  /* Runs 0 and 1: a small budget, so automatic collections happen between
     audits; run 2: stress, a collection at every allocation. */
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("budget_min", 16 << 10), KILN_ARG_NUM("growth", 1.1),
                        KILN_ARGS_END};
  kiln_arg_t sargs[] = {KILN_ARG_SIZE("stress", 1), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&a.arena, _i == 2 ? sargs : aargs));
  ck_assert_ok(kiln_fmt_create(&fmt, a.arena, graph_format()));
  if (_i != 1) {
    a.pools[0] = make_copy(a.arena, fmt, 32 << 10, 4 << 10);
    a.pools[1] = make_copy(a.arena, fmt, 256 << 10, 32 << 10);
  } else {
    copy_and_ms(a.arena, fmt, a.pools);
  }
  for (int i = 0; i < 2; i++)
    ck_assert_ok(kiln_ap_create(&a.aps[i], a.pools[i], NULL));
  exact = exact_area(a.arena, a.roots, 64);
  ck_assert_ok(kiln_root_create_area(&amb, a.arena, a.amb, a.amb + 8, KILN_RANK_AMBIG));
  size_t steps = test_scale(_i == 2 ? 4000 : 20000), audits = 0;
  kiln_stats_t st;
  for (size_t step = 1; step <= steps; step++) {
    audit_step(&a);
    if (step % 500 == 0) {
      kiln_arena_collect(a.arena);
      audit_heap(&a);
      audits++;
    }
  }
  st = astats(a.arena);
  ck_assert_uint_gt(st.collections, audits); /* automatic ones happened too */
  ck_assert_uint_gt(st.copied, 0);
  ck_assert_uint_gt(st.marked, 0);   /* pins and large objects marked in place */
  kiln_root_destroy(amb);
  kiln_root_destroy(exact);
  for (int i = 0; i < 2; i++) {
    kiln_ap_destroy(a.aps[i]);
    kiln_pool_destroy(a.pools[i]);
  }
  kiln_fmt_destroy(fmt);
  kiln_arena_destroy(a.arena);
  free(a.objs);
}
END_TEST

/* ---- pinning ---------------------------------------------------------- */

typedef struct env_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pool;
  kiln_ap_t ap, ap2;             /* two APs: two segments */
  kiln_thread_t thr;
  kiln_root_t root;
} env_t;

static void env_open(env_t *e, int thread_root)
{
  memset(e, 0, sizeof *e);
  ck_assert_ok(kiln_arena_create(&e->arena, NULL));
  ck_assert_ok(kiln_fmt_create(&e->fmt, e->arena, graph_format()));
  one_copy(e->arena, e->fmt, &e->pool);
  ck_assert_ok(kiln_ap_create(&e->ap, e->pool, NULL));
  ck_assert_ok(kiln_ap_create(&e->ap2, e->pool, NULL));
  if (thread_root)
    e->root = stack_root(e->arena, &e->thr);
}

static void env_close(env_t *e)
{
  if (e->root != NULL) {
    kiln_root_destroy(e->root);
    kiln_thread_dereg(e->thr);
  }
  kiln_ap_destroy(e->ap);
  kiln_ap_destroy(e->ap2);
  kiln_pool_destroy(e->pool);
  kiln_fmt_destroy(e->fmt);
  kiln_arena_destroy(e->arena);
}

/* Overwrite the dead stack below the caller, so addresses that helpers
   left there do not pin what a test expects to move. */
static NOINLINE void scrub_stack(void)
{
  volatile char junk[32768];
  memset((char *)junk, 0, sizeof junk);
}

/* Helpers keep raw addresses out of the test's own frame and registers;
   addresses the test remembers are stored inverted, which pins nothing. */
static NOINLINE void make_children(env_t *e, gobj_t *held)
{
  gobj_t *c = gobj_new(e->ap2, 8, 1, 24);
  held->ref[0] = c;
  c->ref[0] = gobj_new(e->ap2, 9, 0, 200);
  for (int i = 0; i < 500; i++)
    (void)gobj_new(e->ap2, 1000 + (uint64_t)i, 0, 16); /* garbage */
}

static NOINLINE uintptr_t hidden_child(const gobj_t *held) { return ~(uintptr_t)held->ref[0]; }

static NOINLINE int children_ok(const gobj_t *held)
{
  const gobj_t *c = held->ref[0];
  return c != NULL && TAG(c) == TAG_OBJ && c->id == 8 && gobj_payload_ok(c) && c->ref[0] != NULL &&
         c->ref[0]->id == 9 && gobj_payload_ok(c->ref[0]);
}

/* The body runs in a frame below a scrubbed region: with CK_FORK=no, the
   test function's own frame may hold words an earlier test left there,
   and one of those pinned the children's segment under Valgrind (copy
   pins whole segments). */
static NOINLINE void stack_pin_children_move(void)
{
  env_t e;
  env_open(&e, 1);
  gobj_t *volatile held = gobj_new(e.ap, 7, 1, 40);
  uintptr_t held_at = ~(uintptr_t)held;
  int moves = 0;
  /* A stale word that the scrub cannot reach may nail the children's
     segment: under Valgrind (which maps the arena at the same address in
     every test of a CK_FORK=no run) a word an earlier test left in a
     frame above this one pointed at a child. Give fresh children, a few
     segments further on each time, three tries. */
  for (int attempt = 0; attempt < 3 && moves == 0; attempt++) {
    for (int i = 0; i < attempt * 4000; i++)
      (void)gobj_new(e.ap2, 2000 + (uint64_t)i, 0, 16); /* garbage: moves on */
    make_children(&e, held);
    for (int round = 0; round < 4; round++) {
      uintptr_t before = hidden_child(held);
      scrub_stack();
      kiln_arena_collect(e.arena);
      ck_assert_uint_eq((uintptr_t)held, ~held_at); /* never moves */
      ck_assert(held->id == 7 && gobj_payload_ok(held));
      ck_assert(children_ok(held)); /* its field follows the moved child */
      moves += hidden_child(held) != before;
    }
  }
  ck_assert_int_gt(moves, 0);
  kiln_pool_stats_t ps;
  kiln_pool_stats(e.pool, &ps);
  ck_assert_uint_lt(ps.live_objects, 100); /* the garbage went */
  env_close(&e);
}

START_TEST(test_stack_pin_children_move)
{
  scrub_stack();
  stack_pin_children_move();
}
END_TEST

START_TEST(test_interior_stack_pointer_pins)
{
  env_t e;
  env_open(&e, 1);
  (void)gobj_interior_pointer_kept(e.arena, e.ap, 20000);
  env_close(&e);
}
END_TEST

/* Ambiguous areas are deterministic where a stack is not: exact control of
   which segments are pinned. */
typedef struct area_env_s {
  env_t e;
  void *amb[4];
  void *roots[8];
  kiln_root_t ramb, rexact;
} area_env_t;

static void area_open(area_env_t *a)
{
  memset(a, 0, sizeof *a);
  env_open(&a->e, 0);
  ck_assert_ok(kiln_root_create_area(&a->ramb, a->e.arena, a->amb, a->amb + 4, KILN_RANK_AMBIG));
  a->rexact = exact_area(a->e.arena, a->roots, 8);
}

static void area_close(area_env_t *a)
{
  kiln_root_destroy(a->ramb);
  kiln_root_destroy(a->rexact);
  env_close(&a->e);
}

START_TEST(test_segment_granularity)
{
  area_env_t a;
  area_open(&a);
  gobj_t *pinned = gobj_new(a.e.ap, 1, 1, 8);
  gobj_t *neighbour = gobj_new(a.e.ap, 2, 0, 8); /* same segment: same AP */
  gobj_t *other = gobj_new(a.e.ap2, 3, 0, 8);    /* another segment */
  pinned->ref[0] = other;
  a.amb[0] = (char *)pinned + 12; /* interior */
  a.roots[0] = neighbour;
  a.roots[1] = other;
  kiln_arena_collect(a.e.arena);
  ck_assert_ptr_eq(a.roots[0], neighbour);  /* shares the pinned segment: stays */
  ck_assert_ptr_ne(a.roots[1], other);      /* moved */
  ck_assert_ptr_eq(pinned->ref[0], a.roots[1]); /* the pinned object's field was updated */
  ck_assert(pinned->id == 1 && ((gobj_t *)a.roots[1])->id == 3);
  ck_assert_ptr_eq(arena_seg_of(a.e.arena, other), NULL); /* its from-space went back */
  /* Unpinned, the segment is evacuated and returned at the next collection. */
  a.amb[0] = NULL;
  a.roots[2] = pinned;
  kiln_arena_collect(a.e.arena);
  ck_assert_ptr_ne(a.roots[0], neighbour);
  ck_assert_ptr_ne(a.roots[2], pinned);
  ck_assert_ptr_eq(arena_seg_of(a.e.arena, pinned), NULL);
  gobj_t *p2 = a.roots[2];
  ck_assert(p2->id == 1 && p2->ref[0] == a.roots[1] && ((gobj_t *)a.roots[0])->id == 2);
  area_close(&a);
}
END_TEST

static void count_visit(void *obj, void *closure)
{
  T_CHECK(TAG(obj) == TAG_OBJ, "walk visited %p with tag %d", obj, (int)TAG(obj));
  ++*(size_t *)closure;
}

static size_t walk_count(kiln_pool_t pool)
{
  size_t n = 0;
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt) {
    seg_t seg = SEG_OF_RING(node);
    seg->klass->walk(seg, count_visit, &n);
  }
  return n;
}

START_TEST(test_pinned_segment_dead_space_padded)
{
  area_env_t a;
  area_open(&a);
  /* One segment: garbage, the pinned object, garbage, a live object. */
  for (int i = 0; i < 100; i++)
    (void)gobj_new(a.e.ap, 100 + (uint64_t)i, 1, 32);
  gobj_t *pinned = gobj_new(a.e.ap, 1, 0, 8);
  for (int i = 0; i < 100; i++)
    (void)gobj_new(a.e.ap, 300 + (uint64_t)i, 1, 32);
  gobj_t *live = gobj_new(a.e.ap, 2, 0, 8);
  a.amb[1] = pinned;
  a.roots[0] = live;
  for (int round = 0; round < 3; round++) {
    kiln_arena_collect(a.e.arena);
    kiln_pool_stats_t ps;
    kiln_pool_stats(a.e.pool, &ps);
    ck_assert_uint_eq(ps.live_objects, 2);
    ck_assert_ptr_eq(a.roots[0], live);
    ck_assert(pinned->id == 1 && live->id == 2);
    /* Walks see exactly the two survivors, not the padding between them. */
    ck_assert_uint_eq(walk_count(a.e.pool), 2);
    ck_assert_uint_eq(ps.segments, 1); /* one segment: nothing was copied */
    /* Stepping through the segment with the format's skip, as a scan does,
       meets only pads and the survivors: the dead objects were padded. */
    seg_t seg = arena_seg_of(a.e.arena, pinned);
    size_t objs = 0, pads = 0;
    for (char *o = (char *)seg->base + 8; o != (char *)live; o = graph_format()->skip(o)) {
      T_CHECK((uintptr_t)o < seg->limit, "stepped past the segment");
      objs += TAG(o) == TAG_OBJ;
      pads += TAG(o) == 3;
    }
    ck_assert_uint_eq(objs, 1);
    ck_assert_uint_gt(pads, 0);
  }
  a.amb[1] = NULL;
  kiln_arena_collect(a.e.arena);
  ck_assert_ptr_ne(a.roots[0], live);
  ck_assert_ptr_eq(arena_seg_of(a.e.arena, pinned), NULL);
  area_close(&a);
}
END_TEST

START_TEST(test_ambiguous_area_ignores_junk)
{
  area_env_t a;
  area_open(&a);
  gobj_t *o = gobj_new(a.e.ap, 1, 0, 8);
  (void)gobj_new(a.e.ap, 2, 0, 8);
  void *past = (char *)o + gobj_size(0, 8) * 2 + 64; /* beyond the last object */
  a.amb[0] = (char *)o + 3;
  a.amb[1] = (void *)0x1234;
  a.amb[2] = (void *)(~(uintptr_t)0 - 7);
  a.amb[3] = past;
  kiln_arena_collect(a.e.arena);
  ck_assert(((gobj_t *)(void *)((char *)a.amb[0] - 3))->id == 1);
  ck_assert_ptr_eq(a.amb[1], (void *)0x1234); /* ambiguous roots are never updated */
  ck_assert_ptr_eq(a.amb[3], past);
  kiln_pool_stats_t ps;
  kiln_pool_stats(a.e.pool, &ps);
  ck_assert_uint_eq(ps.live_objects, 1); /* junk and free space pin nothing */
  area_close(&a);
}
END_TEST

/* ---- large objects ---------------------------------------------------- */

START_TEST(test_large_objects_do_not_move)
{
  area_env_t a;
  area_open(&a);
  gobj_t *big = gobj_new(a.e.ap, 1, 2, 40000); /* >= 32KB: its own segment */
  gobj_t *small = gobj_new(a.e.ap, 2, 1, 8);
  big->ref[0] = small;
  small->ref[0] = big;
  a.roots[0] = big;
  for (int round = 0; round < 3; round++) {
    gobj_t *small_before = big->ref[0];
    kiln_arena_collect(a.e.arena);
    ck_assert_ptr_eq(a.roots[0], big);
    ck_assert(big->id == 1 && gobj_payload_ok(big));
    ck_assert_ptr_ne(big->ref[0], small_before); /* the small one moves every time */
    ck_assert_ptr_eq(big->ref[0]->ref[0], big);
  }
  kiln_pool_stats_t ps;
  kiln_pool_stats(a.e.pool, &ps);
  size_t with_big = ps.committed;
  a.roots[0] = NULL;
  kiln_arena_collect(a.e.arena);
  kiln_pool_stats(a.e.pool, &ps);
  ck_assert_uint_le(ps.committed + 40000, with_big); /* freed in place */
  ck_assert_uint_eq(ps.live_objects, 0);
  area_close(&a);
}
END_TEST

/* ---- weak roots ------------------------------------------------------- */

START_TEST(test_weak_roots)
{
  area_env_t a;
  area_open(&a);
  void *weak[4];
  kiln_root_t rweak;
  ck_assert_ok(kiln_root_create_area(&rweak, a.e.arena, weak, weak + 4, KILN_RANK_WEAK));
  gobj_t *kept = gobj_new(a.e.ap, 1, 0, 8);
  gobj_t *dead = gobj_new(a.e.ap, 2, 0, 8);
  gobj_t *pinned = gobj_new(a.e.ap2, 3, 0, 8);
  gobj_t *big = gobj_new(a.e.ap, 4, 0, 40000);
  a.roots[0] = kept;
  a.amb[0] = pinned;
  a.roots[1] = big;
  weak[0] = kept;
  weak[1] = dead;
  weak[2] = pinned;
  weak[3] = big;
  kiln_arena_collect(a.e.arena);
  ck_assert_ptr_eq(weak[0], a.roots[0]);
  ck_assert_ptr_ne(weak[0], kept);
  ck_assert_ptr_null(weak[1]);
  ck_assert_ptr_eq(weak[2], pinned);
  ck_assert_ptr_eq(weak[3], big);
  a.roots[1] = NULL;
  kiln_arena_collect(a.e.arena);
  ck_assert_ptr_null(weak[3]);
  kiln_root_destroy(rweak);
  area_close(&a);
}
END_TEST

/* ---- one pool collected beside another -------------------------------- */

START_TEST(test_pool_collect_beside_ms)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pools[2];
  kiln_ap_t cap, map;
  void *roots[2] = {NULL, NULL};
  kiln_root_t r;
  fmt = arena_with_format(&arena, graph_format());
  copy_and_ms(arena, fmt, pools);
  ck_assert_ok(kiln_ap_create(&cap, pools[0], NULL));
  ck_assert_ok(kiln_ap_create(&map, pools[1], NULL));
  r = exact_area(arena, roots, 2);
  gobj_t *m = gobj_new(map, 1, 1, 8), *c = gobj_new(cap, 2, 1, 8);
  m->ref[0] = c;                        /* ms -> copy, held only by m */
  c->ref[0] = gobj_new(map, 3, 0, 8);   /* copy -> ms, held only by c */
  roots[0] = m;
  kiln_pool_collect(pools[0]);          /* copy alone: ms segments are roots */
  ck_assert_ptr_ne(m->ref[0], c);
  ck_assert(m->ref[0]->id == 2 && m->ref[0]->ref[0]->id == 3);
  kiln_pool_collect(pools[1]);          /* ms alone: copy segments are roots */
  for (int i = 0; i < 2000; i++)
    (void)gobj_new(map, 100 + (uint64_t)i, 0, 40);
  ck_assert(m->ref[0]->ref[0]->id == 3 && gobj_payload_ok(m->ref[0]->ref[0]));
  kiln_pool_stats_t ps;
  kiln_pool_stats(pools[1], &ps);
  ck_assert_uint_eq(ps.live_objects, 2);
  kiln_root_destroy(r);
  kiln_ap_destroy(cap);
  kiln_ap_destroy(map);
  kiln_pool_destroy(pools[0]);
  kiln_pool_destroy(pools[1]);
  kiln_fmt_destroy(fmt);
  kiln_arena_destroy(arena);
}
END_TEST

/* ---- from-space returned ---------------------------------------------- */

START_TEST(test_churn_bounded)
{
  static void *live[2000];
  memset(live, 0, sizeof live);
  rooted_heap_t h;
  rooted_open(&h, one_copy, NULL, live, 2000);
  uint64_t rng = test_seed(5);
  kiln_stats_t st;
  size_t max_pool = 0, max_arena = 0;
  do {
    for (int i = 0; i < 16; i++) { /* stats cost a histogram walk: sample them */
      gobj_t *o = gobj_new(h.ap, rng, 1, (uint32_t)test_range(&rng, 0, 200));
      live[test_rand(&rng) % 2000] = o;
    }
    kiln_pool_stats_t ps;
    kiln_pool_stats(h.pool, &ps);
    st = astats(h.arena);
    max_pool = ps.committed > max_pool ? ps.committed : max_pool;
    max_arena = st.committed > max_arena ? st.committed : max_arena;
  } while (st.collections < 100);
  /* A live set of 2000 objects of at most ~240 bytes (under 0.5 MiB) and a
     4 MiB budget: the pool holds the budget plus to-space for the live set,
     and from-space goes back after each collection, so
     it never grows past that; the arena adds at most its 4 MiB of spare. */
  ck_assert_msg(max_pool < (6u << 20), "pool committed reached %zu bytes", max_pool);
  ck_assert_msg(max_arena < (10u << 20), "arena committed reached %zu bytes", max_arena);
  ck_assert_uint_gt(st.allocated, 50u * (4u << 20)); /* far more than the bound */
  rooted_close(&h);
}
END_TEST

START_TEST(test_everything_freed_when_unrooted)
{
  static void *keep[1000];
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("spare", 0), KILN_ARGS_END};
  rooted_heap_t h;
  rooted_open(&h, one_copy, aargs, keep, 1000);
  kiln_arena_park(h.arena);
  for (int i = 0; i < 20000; i++) {
    gobj_t *o = gobj_new(h.ap, (uint64_t)i, 1, (uint32_t)(i % 300 == 0 ? 40000 : 40));
    if (i % 20 == 1)
      keep[i / 20] = o; /* small ones only */
  }
  kiln_pool_stats_t ps;
  kiln_pool_stats(h.pool, &ps);
  ck_assert_uint_gt(ps.committed, 1u << 20);
  size_t before = ps.committed;
  kiln_arena_release(h.arena);
  kiln_arena_collect(h.arena);
  kiln_pool_stats(h.pool, &ps);
  ck_assert_uint_eq(ps.live_objects, 1000);
  ck_assert_uint_lt(ps.committed, before / 4);
  for (int i = 0; i < 1000; i++)
    T_CHECK(((gobj_t *)keep[i])->id == (uint64_t)i * 20 + 1, "keep[%d] lost", i);
  memset(keep, 0, sizeof keep);
  kiln_arena_collect(h.arena);
  kiln_pool_stats(h.pool, &ps);
  ck_assert_uint_eq(ps.live_objects, 0);
  ck_assert_uint_eq(ps.committed, 0);
  kiln_stats_t st = astats(h.arena);
  ck_assert_uint_eq(st.committed, 0); /* spare 0: every page went back to the OS */
  rooted_close(&h);
}
END_TEST

/* Under a commit limit that leaves no room for to-space, a collection keeps
   objects in place instead of failing, and loses nothing. */
START_TEST(test_out_of_to_space)
{
  static void *keep[6000];
  kiln_arg_t aargs[] = {KILN_ARG_SIZE("commit_limit", 2u << 20), KILN_ARG_SIZE("spare", 0),
                        KILN_ARGS_END};
  rooted_heap_t h;
  rooted_open(&h, one_copy, aargs, keep, 6000);
  kiln_arena_park(h.arena);
  for (int i = 0; i < 6000; i++) { /* 6000 x 256 bytes: 1.5 MiB, all live */
    gobj_t *o = gobj_new(h.ap, (uint64_t)i, 1, 208);
    o->ref[0] = i > 0 ? keep[i - 1] : NULL;
    keep[i] = o;
  }
  kiln_arena_release(h.arena);
  kiln_stats_t s0, s1;
  s0 = astats(h.arena);
  kiln_arena_collect(h.arena);
  s1 = astats(h.arena);
  ck_assert_uint_gt(s1.copied, s0.copied);  /* some were copied ... */
  ck_assert_uint_gt(s1.marked, s0.marked);  /* ... and the rest kept in place */
  ck_assert_uint_le(s1.committed, 2u << 20);
  kiln_pool_stats_t ps;
  kiln_pool_stats(h.pool, &ps);
  ck_assert_uint_eq(ps.live_objects, 6000);
  for (int i = 0; i < 6000; i++) {
    gobj_t *o = keep[i];
    T_CHECK(TAG(o) == TAG_OBJ && o->id == (uint64_t)i && gobj_payload_ok(o) &&
                o->ref[0] == (i > 0 ? keep[i - 1] : NULL), "object %d lost", i);
  }
  /* With half the objects gone (each holds the one before), later
     collections compact again. */
  for (int i = 3000; i < 6000; i++)
    keep[i] = NULL;
  kiln_arena_collect(h.arena);
  kiln_arena_collect(h.arena);
  kiln_pool_stats(h.pool, &ps);
  ck_assert_uint_eq(ps.live_objects, 3000);
  rooted_close(&h);
}
END_TEST

/* ---- holes of kept segments ------------------------------------------ */

/* A gen pool (large_size 1 KB) over a copy pool, with an ambiguous and an
   exact root area. */
typedef struct holes_env_s {
  kiln_arena_t arena;
  kiln_pool_t copy, gen;
  kiln_ap_t copy_ap, gen_ap, gen_ap2;
  kiln_root_t ramb, rexact;
  void *amb[2], *roots[4];
} holes_env_t;

static void holes_open(holes_env_t *h)
{
  kiln_fmt_t fmt;
  memset(h, 0, sizeof *h);
  ck_assert_ok(kiln_arena_create(&h->arena, NULL));
  ck_assert_ok(kiln_fmt_create(&fmt, h->arena, graph_format()));
  h->copy = make_copy(h->arena, fmt, 64 << 10, 32 << 10);
  kiln_arg_t gargs[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", h->copy),
                        KILN_ARG_SIZE("nursery_size", 256 << 10),
                        KILN_ARG_SIZE("large_size", 1 << 10), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&h->gen, h->arena, kiln_class_gen(), gargs));
  ck_assert_ok(kiln_ap_create(&h->copy_ap, h->copy, NULL));
  ck_assert_ok(kiln_ap_create(&h->gen_ap, h->gen, NULL));
  ck_assert_ok(kiln_ap_create(&h->gen_ap2, h->gen, NULL));
  ck_assert_ok(kiln_root_create_area(&h->ramb, h->arena, h->amb, h->amb + 2, KILN_RANK_AMBIG));
  h->rexact = exact_area(h->arena, h->roots, 4);
}

/* A segment kept by a pin has its dead objects as holes, and another
   pool's AP (gen pretenuring) allocates in them. A reservation there that
   a collection traps is written over the pad that replaced it, as a
   client finishing its initialisation does, with a reference into the
   middle of a young object: no later scan reads it, even when the segment
   is scanned again whole. */
START_TEST(test_copy_hole_trapped_reservation_not_scanned)
{
  holes_env_t h;
  holes_open(&h);
  gobj_t *pinned = NULL;
  for (uint64_t i = 0; i < 50; i++) { /* 50 x 1 KB in one 64 KB segment */
    gobj_t *o = gobj_new(h.copy_ap, 100 + i, 1, 1000);
    if (i == 25)
      pinned = o;
  }
  h.amb[0] = pinned;
  kiln_arena_collect(h.arena); /* the segment is kept: 25 dead objects before the pin */
  seg_t kept = arena_seg_of(h.arena, pinned);
  ck_assert_ptr_nonnull(kept);
  /* The pool's own APs take new segments while they can be had. */
  ck_assert_ptr_ne(arena_seg_of(h.arena, gobj_new(h.copy_ap, 9, 0, 8)), kept);
  /* A pretenured object goes in the first hole, at the segment's base. */
  size_t size = gobj_size(1, 2000);
  void *p;
  ck_assert_ok(kiln_reserve(&p, h.gen_ap, size));
  ck_assert_ptr_eq(arena_seg_of(h.arena, p), kept);
  ck_assert_ptr_eq(p, (void *)kept->base);
  kiln_pool_collect(h.gen); /* traps the reservation: its block becomes a pad */
  gobj_t *young = gobj_new(h.gen_ap2, 7, 1, 64);
  h.roots[0] = young;
  *(uint64_t *)p = ((uint64_t)size << 8) | TAG_OBJ;
  gobj_t *o = (gobj_t *)(void *)((char *)p + 8);
  o->nrefs = 1;
  o->npay = 2000;
  o->id = 1;
  o->ref[0] = (gobj_t *)(void *)((char *)young + 8);
  ck_assert_int_eq(kiln_commit(h.gen_ap, p, size), 0);
  /* Another pretenured object in the same segment: it is scanned whole at
     the next minor collection. */
  gobj_t *next = gobj_new(h.gen_ap, 8, 1, 2000);
  ck_assert_ptr_eq(arena_seg_of(h.arena, next), kept);
  h.roots[1] = next;
  kiln_pool_collect(h.gen);
  kiln_arena_collect(h.arena);
  gobj_check(h.roots[0], 7);
  gobj_check(h.roots[1], 8);
  gobj_check(pinned, 125);
  kiln_pool_stats_t ps;
  kiln_pool_stats(h.copy, &ps);
  ck_assert_uint_eq(ps.live_objects, 3); /* the pinned, the young, the pretenured */
  /* Unpinned, everything moves out and the kept segment goes back. */
  h.amb[0] = NULL;
  kiln_arena_collect(h.arena);
  ck_assert_ptr_eq(arena_seg_of(h.arena, pinned), NULL);
  gobj_check(h.roots[0], 7);
  gobj_check(h.roots[1], 8);
  kiln_arena_destroy(h.arena);
}
END_TEST

/* ---- protocol and parameters ------------------------------------------ */

START_TEST(test_commit_after_collection_fails_then_retry_works)
{
  env_t e;
  env_open(&e, 0);
  gobj_commit_after_collection_fails(e.arena, e.ap);
  gobj_t *o = gobj_new(e.ap, 77, 0, 8);
  ck_assert(o->id == 77 && gobj_payload_ok(o));
  env_close(&e);
}
END_TEST

static kiln_res_t no_scan(kiln_ss_t ss, void *base, void *limit)
{
  (void)ss; (void)base; (void)limit;
  return KILN_OK;
}
static void *no_skip(void *obj) { return obj; }

START_TEST(test_params)
{
  kiln_arena_t arena;
  kiln_pool_t pool;
  kiln_fmt_t fmt, bare;
  fmt = arena_with_format(&arena, graph_format());
  ck_assert_ptr_eq(kiln_class_lookup("copy"), kiln_class_copy());
  ck_assert(kiln_class_is_automatic(kiln_class_copy()));
  kiln_arg_t big[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_SIZE("segment_size", 64 << 10),
                      KILN_ARG_SIZE("large_size", 40 << 10), KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&pool, arena, kiln_class_copy(), big), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena), "pool class 'copy': large_size (40960) must be at "
                                            "most half of segment_size (65536)");
  kiln_format_t f = {8, 0, no_scan, no_skip, NULL, NULL, NULL};
  ck_assert_ok(kiln_fmt_create(&bare, arena, &f));
  kiln_arg_t nofwd[] = {KILN_ARG_PTR("format", bare), KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&pool, arena, kiln_class_copy(), nofwd), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena),
                   "pool class 'copy': moves objects, so its format needs fwd, isfwd and pad");
  kiln_arg_t typo[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_SIZE("large_sise", 1024),
                       KILN_ARGS_END};
  ck_assert_res(kiln_pool_create(&pool, arena, kiln_class_copy(), typo), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "large_size"));
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("copy");
  TCase *g = suite_add_case(s, "graph", 300);
  tcase_add_loop_test(g, test_graph_battery, 0, GRAPH_BATTERY_RUNS);
  tcase_add_loop_test(g, test_graph_copy_runs, 0, COPY_RUNS);
  TCase *au = suite_add_case(s, "audit", 300);
  tcase_add_loop_test(au, test_heap_audit, 0, 3);
  TCase *p = suite_add_case(s, "pinning", 0);
  tcase_add_test(p, test_stack_pin_children_move);
  tcase_add_test(p, test_interior_stack_pointer_pins);
  tcase_add_test(p, test_segment_granularity);
  tcase_add_test(p, test_pinned_segment_dead_space_padded);
  tcase_add_test(p, test_ambiguous_area_ignores_junk);
  TCase *l = suite_add_case(s, "large", 0);
  tcase_add_test(l, test_large_objects_do_not_move);
  TCase *w = suite_add_case(s, "weak", 0);
  tcase_add_test(w, test_weak_roots);
  TCase *x = suite_add_case(s, "cross-pool", 0);
  tcase_add_test(x, test_pool_collect_beside_ms);
  TCase *r = suite_add_case(s, "reclaim", 120);
  tcase_add_test(r, test_churn_bounded);
  tcase_add_test(r, test_everything_freed_when_unrooted);
  tcase_add_test(r, test_out_of_to_space);
  tcase_add_test(r, test_copy_hole_trapped_reservation_not_scanned);
  TCase *pr = suite_add_case(s, "protocol", 0);
  tcase_add_test(pr, test_commit_after_collection_fails_then_retry_works);
  tcase_add_test(pr, test_params);
  return s;
}
