/* test_object.c -- what a VM asks of single objects, under every automatic
 * pool configuration (ms, copy, gen->ms, gen->copy, sticky ms, incremental
 * sticky ms): pinning (kiln_pin, kiln_unpin), the size of an object
 * (kiln_obj_size), walks over a pool's objects against a shadow model
 * (kiln_pool_walk), derived pointers fixed with their base
 * (kiln_ss_fix_derived), and a low-tag format whose scan and stores use
 * only the word-typed calls (KILN_FIX12_WORD, kiln_write_word).
 *
 * The arenas scan no stack: the objects a test holds in C locals are kept
 * only by its roots and pins, so what dies is known exactly.
 */
#include "testlib.h"
#include "graph.h"

#include <string.h>

#define YOUNG (64u << 10)
#define STEP (8u << 10)

static int config_minors(int which) { return which >= CONFIG_GEN_MS; }

/* An arena with the configuration's pools on fmt: pool takes the
   allocations, mature is gen's promote_to (else NULL). */
typedef struct env_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pool, mature;
  kiln_ap_t ap;
  int which;
} env_t;

static void env_open(env_t *e, int which, const kiln_format_t *format)
{
  memset(e, 0, sizeof *e);
  e->which = which;
  ck_assert_ok(kiln_arena_create(&e->arena, NULL));
  ck_assert_ok(kiln_fmt_create(&e->fmt, e->arena, format));
  e->pool = make_config_pool(e->arena, e->fmt, which, YOUNG, STEP, &e->mature);
  ck_assert_ok(kiln_ap_create(&e->ap, e->pool, NULL));
}

static void env_close(env_t *e)
{
  kiln_ap_destroy(e->ap);
  kiln_pool_destroy(e->pool);
  kiln_pool_destroy(e->mature);
  kiln_fmt_destroy(e->fmt);
  kiln_arena_destroy(e->arena);
}

/* Full collections, and for a generational configuration minor ones too
   (driven by allocating garbage). */
static void collect_some(env_t *e)
{
  kiln_arena_collect(e->arena);
  if (config_minors(e->which))
    gobj_garbage_until_minors(e->arena, e->ap, 2);
  kiln_arena_collect(e->arena);
}

static uint64_t hdr_tag(const void *obj) { return ((const uint64_t *)obj)[-1] & 0xff; }

/* ---- walking ------------------------------------------------------------ */

/* Ids of graph objects a walk visited, with the checks each one passes:
   a committed object (never a pad or forwarded), its payload intact, the
   size kiln_obj_size gives and the format's. */
#define MAXID 4096
typedef struct seen_s {
  kiln_arena_t arena;
  uint8_t count[MAXID];
  size_t objects, bad, garbage; /* garbage: ids of gobj_garbage_until_minors */
} seen_t;

static void see(void *obj, size_t size, void *closure)
{
  seen_t *s = closure;
  gobj_t *o = obj;
  size_t asked = 0;
  s->objects++;
  if (hdr_tag(o) != 1 || !gobj_payload_ok(o) || size != gobj_size(o->nrefs, o->npay) ||
      kiln_obj_size(&asked, s->arena, o) != KILN_OK || asked != size) {
    s->bad++;
    return;
  }
  if (o->id >= 1000000)
    s->garbage++;
  else if (o->id < MAXID)
    s->count[o->id]++;
  else
    s->bad++;
}

static void walk_env(env_t *e, seen_t *s)
{
  memset(s, 0, sizeof *s);
  s->arena = e->arena;
  ck_assert_ok(kiln_pool_walk(e->pool, see, s));
  if (e->mature != NULL)
    ck_assert_ok(kiln_pool_walk(e->mature, see, s));
  ck_assert_msg(s->bad == 0, "%s: the walk visited %zu objects that are no committed object "
                "of the model (a pad, a forwarded object, a wrong size)", config_names[e->which],
                s->bad);
}

/* Fail unless a full collection leaves none of e's objects: the test has
   dropped its last pin and holds no root. */
static void check_nothing_left(env_t *e)
{
  seen_t s;
  kiln_arena_collect(e->arena);
  walk_env(e, &s);
  ck_assert_msg(s.objects == 0, "%s: %zu objects left after the last unpin",
                config_names[e->which], s.objects);
}

/* ---- pinning ------------------------------------------------------------ */

START_TEST(test_pin_keeps_in_place)
{
  env_t e;
  env_open(&e, _i, graph_format());
  gobj_t *child = gobj_new(e.ap, 8, 0, 16);
  gobj_t *const refs[] = {child, NULL};
  gobj_t *o = gobj_new_refs(e.ap, 7, 2, 40, refs);
  ck_assert_ok(kiln_pin(e.arena, o));
  ck_assert_ok(kiln_pin(e.arena, o)); /* pins nest */
  for (int round = 0; round < 3; round++) {
    collect_some(&e);
    gobj_check(o, 7); /* kept alive and in place by the pin alone */
    gobj_check(o->ref[0], 8); /* traced, and updated if it moved */
  }
  ck_assert_ok(kiln_unpin(e.arena, o));
  collect_some(&e);
  gobj_check(o, 7); /* still pinned once */
  ck_assert_ok(kiln_unpin(e.arena, o));
  void *slot = o;
  kiln_root_t root;
  root = exact_area(e.arena, &slot, 1);
  kiln_arena_collect(e.arena); /* one: a second could copy it back to the same address */
  if (config_moves_in_full(_i))
    ck_assert_msg(slot != (void *)o, "%s: the unpinned object did not move", config_names[_i]);
  else
    ck_assert_ptr_eq(slot, o);
  collect_some(&e);
  gobj_check(slot, 7);
  gobj_check(((gobj_t *)slot)->ref[0], 8);
  ck_assert_res(kiln_unpin(e.arena, o), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "is not pinned in arena"));
  kiln_root_destroy(root);
  env_close(&e);
}
END_TEST

/* Once unpinned and unreferenced, the object dies at the next full
   collection; while pinned, a walk finds it after every collection. */
START_TEST(test_unpinned_object_dies)
{
  env_t e;
  env_open(&e, _i, graph_format());
  gobj_t *o = gobj_new(e.ap, 9, 1, 24);
  ck_assert_ok(kiln_pin(e.arena, o));
  seen_t s;
  collect_some(&e);
  walk_env(&e, &s);
  ck_assert_int_eq(s.count[9], 1);
  ck_assert_ok(kiln_unpin(e.arena, o));
  check_nothing_left(&e);
  env_close(&e);
}
END_TEST

/* A pin taken while an incremental collection is under way holds at its
   final pause, which rescans the ambiguous roots, and at later ones. */
START_TEST(test_pin_during_incremental)
{
  env_t e;
  env_open(&e, CONFIG_STICKY_INC, graph_format());
  kiln_stats_t st;
  uint64_t i = 0;
  do {
    (void)gobj_new(e.ap, 1000000 + i, 1, 40);
    st = astats(e.arena);
    T_CHECK(++i < 1000000, "no incremental collection started");
  } while (!st.in_progress);
  gobj_t *o = gobj_new(e.ap, 11, 0, 32);
  ck_assert_ok(kiln_pin(e.arena, o));
  gobj_garbage_until_minors(e.arena, e.ap, 3);
  gobj_check(o, 11);
  kiln_arena_collect(e.arena);
  seen_t s;
  walk_env(&e, &s);
  ck_assert_uint_eq(s.count[11], 1);
  ck_assert_uint_eq(s.objects, 1);
  ck_assert_ok(kiln_unpin(e.arena, o));
  check_nothing_left(&e);
  env_close(&e);
}
END_TEST

START_TEST(test_pin_refuses)
{
  kiln_arena_t arena;
  kiln_pool_t mfs;
  ck_assert_ok(kiln_arena_create(&arena, NULL));
  kiln_arg_t args[] = {KILN_ARG_SIZE("unit_size", 32), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&mfs, arena, kiln_class_mfs(), args));
  int local;
  ck_assert_res(kiln_pin(arena, &local), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "is not in the arena's heap"));
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "kiln_pin: the address"));
  ck_assert_res(kiln_pin(arena, NULL), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "is NULL"));
  void *block;
  ck_assert_ok(kiln_alloc(&block, mfs, 32));
  ck_assert_res(kiln_pin(arena, block), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "manual pool"));
  ck_assert_res(kiln_unpin(arena, block), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "is not pinned"));
  ck_assert_res(kiln_pin(NULL, block), KILN_PARAM);
  kiln_free(mfs, block, 32);
  kiln_pool_destroy(mfs);
  kiln_arena_destroy(arena);
}
END_TEST

/* Many pins at once, unpinned in another order: the table keeps every
   count (growth and deletion in the middle of a run of slots). */
START_TEST(test_many_pins)
{
  env_t e;
  env_open(&e, CONFIG_COPY, graph_format());
  enum { N = 300 };
  static gobj_t *objs[N];
  for (int i = 0; i < N; i++) {
    objs[i] = gobj_new(e.ap, (uint64_t)i + 1, 0, 8);
    for (int k = 0; k <= i % 3; k++)
      ck_assert_ok(kiln_pin(e.arena, objs[i]));
  }
  for (int i = 0; i < N; i += 2) /* the even ones lose all their pins */
    for (int k = 0; k <= i % 3; k++)
      ck_assert_ok(kiln_unpin(e.arena, objs[i]));
  kiln_arena_collect(e.arena);
  seen_t s;
  walk_env(&e, &s);
  for (int i = 1; i < N; i += 2)
    ck_assert_msg(s.count[i + 1] == 1, "pinned object %d is gone", i + 1);
  for (int i = 1; i < N; i += 2)
    for (int k = 0; k <= i % 3; k++)
      ck_assert_ok(kiln_unpin(e.arena, objs[i]));
  ck_assert_res(kiln_unpin(e.arena, objs[1]), KILN_PARAM);
  check_nothing_left(&e);
  env_close(&e);
}
END_TEST

/* ---- object size -------------------------------------------------------- */

START_TEST(test_obj_size)
{
  env_t e;
  env_open(&e, _i, graph_format());
  enum { N = 6 };
  static void *slots[N];
  static const uint32_t nrefs[N] = {0, 1, 2, 0, 3, 1}, npay[N] = {0, 1, 8, 13, 100, 2000};
  kiln_root_t root = exact_area(e.arena, slots, N);
  for (int i = 0; i < N; i++)
    slots[i] = gobj_new(e.ap, (uint64_t)i + 1, nrefs[i], npay[i]);
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++) {
      size_t size = 0;
      ck_assert_ok(kiln_obj_size(&size, e.arena, slots[i]));
      ck_assert_uint_eq(size, gobj_size(nrefs[i], npay[i])); /* header included */
    }
    collect_some(&e); /* and again where the objects are now */
  }
  size_t size = 0;
  int local;
  ck_assert_res(kiln_obj_size(&size, e.arena, &local), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "is not in the arena's heap"));
  ck_assert_res(kiln_obj_size(&size, e.arena, (char *)slots[1] + 4), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(e.arena), "off the format's 8-byte alignment"));
  ck_assert_res(kiln_obj_size(NULL, e.arena, slots[1]), KILN_PARAM);
  kiln_root_destroy(root);
  env_close(&e);
}
END_TEST

START_TEST(test_obj_size_refuses_manual)
{
  kiln_arena_t arena;
  kiln_pool_t mvff;
  ck_assert_ok(kiln_arena_create(&arena, NULL));
  ck_assert_ok(kiln_pool_create(&mvff, arena, kiln_class_mvff(), NULL));
  void *block;
  size_t size = 0;
  ck_assert_ok(kiln_alloc(&block, mvff, 48));
  ck_assert_res(kiln_obj_size(&size, arena, block), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "is a block of a manual pool"));
  ck_assert_res(kiln_pool_walk(mvff, (kiln_walk_fn)NULL, NULL), KILN_PARAM);
  kiln_free(mvff, block, 48);
  kiln_pool_destroy(mvff);
  kiln_arena_destroy(arena);
}
END_TEST

/* ---- walks against a shadow model -------------------------------------- */

static void ignore(void *obj, size_t size, void *closure) { (void)obj, (void)size, (void)closure; }

START_TEST(test_walk_refuses_manual)
{
  kiln_arena_t arena;
  kiln_pool_t mfs, mvff;
  ck_assert_ok(kiln_arena_create(&arena, NULL));
  kiln_arg_t args[] = {KILN_ARG_SIZE("unit_size", 32), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&mfs, arena, kiln_class_mfs(), args));
  ck_assert_ok(kiln_pool_create(&mvff, arena, kiln_class_mvff(), NULL));
  ck_assert_res(kiln_pool_walk(mfs, ignore, NULL), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "is of class mfs, a manual pool"));
  ck_assert_res(kiln_pool_walk(mvff, ignore, NULL), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "is of class mvff, a manual pool"));
  ck_assert_res(kiln_pool_walk(NULL, ignore, NULL), KILN_PARAM);
  kiln_pool_destroy(mvff);
  kiln_pool_destroy(mfs);
  kiln_arena_destroy(arena);
}
END_TEST

/* The model: object id (1..) has up to two edges (ids, 0 none), fixed when
   it is made; the roots hold ids. */
#define NROOTS 32
typedef struct model_s {
  uint64_t edge[MAXID][2];
  uint64_t root[NROOTS];
  uint8_t reach[MAXID];
  uint64_t next_id;
} model_t;

static size_t model_reach(model_t *m)
{
  uint64_t stack[MAXID];
  size_t n = 0, count = 0;
  memset(m->reach, 0, sizeof m->reach);
  for (int r = 0; r < NROOTS; r++)
    if (m->root[r] != 0 && !m->reach[m->root[r]]) {
      m->reach[m->root[r]] = 1;
      stack[n++] = m->root[r];
    }
  while (n > 0) {
    uint64_t id = stack[--n];
    count++;
    for (int k = 0; k < 2; k++) {
      uint64_t t = m->edge[id][k];
      if (t != 0 && !m->reach[t]) {
        m->reach[t] = 1;
        stack[n++] = t;
      }
    }
  }
  return count;
}

/* Every reachable object's edges, followed from the roots, are the model's. */
static void check_edges(model_t *m, void *const *roots)
{
  for (int r = 0; r < NROOTS; r++) {
    const gobj_t *o = roots[r];
    if (m->root[r] == 0)
      continue;
    gobj_check(o, m->root[r]);
    for (int k = 0; k < 2; k++) {
      const gobj_t *t = o->ref[k];
      T_CHECK((t == NULL) == (m->edge[o->id][k] == 0), "object %llu edge %d",
              (unsigned long long)o->id, k);
      if (t != NULL)
        gobj_check(t, m->edge[o->id][k]);
    }
  }
}

/* A new object whose edges go to objects the roots hold now. */
static void model_alloc(env_t *e, model_t *m, void **roots, uint64_t *rng)
{
  uint64_t id = m->next_id++;
  gobj_t *refs[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    int r = (int)test_range(rng, 0, NROOTS - 1);
    if (m->root[r] != 0 && test_range(rng, 0, 2) != 0) {
      refs[k] = roots[r];
      m->edge[id][k] = m->root[r];
    }
  }
  gobj_t *o = gobj_new_refs(e->ap, id, 2, (uint32_t)test_range(rng, 0, 40), refs);
  if (test_range(rng, 0, 1) == 0) {
    int r = (int)test_range(rng, 0, NROOTS - 1);
    roots[r] = o;
    m->root[r] = id;
  }
}

START_TEST(test_walk_matches_model)
{
  env_t e;
  env_open(&e, _i, graph_format());
  static model_t m;
  static void *roots[NROOTS];
  static seen_t s;
  memset(&m, 0, sizeof m);
  memset(roots, 0, sizeof roots);
  m.next_id = 1;
  kiln_root_t root = exact_area(e.arena, roots, NROOTS);
  uint64_t rng = test_seed(17);
  size_t rounds = test_scale(6);
  for (size_t round = 0; round < rounds && m.next_id + 400 < MAXID; round++) {
    /* Allocate with the arena parked: no collection, so the walk sees the
       last collection's survivors and every object made since, those in
       the allocation point's open buffer included. */
    kiln_arena_park(e.arena);
    uint64_t first_new = m.next_id;
    static uint8_t before[MAXID];
    memcpy(before, m.reach, sizeof before);
    for (int i = 0; i < 300; i++)
      model_alloc(&e, &m, roots, &rng);
    walk_env(&e, &s);
    for (uint64_t id = 1; id < m.next_id; id++)
      T_CHECK(s.count[id] == (id >= first_new || before[id]),
              "%s round %zu: object %llu visited %u times before the collection",
              config_names[_i], round, (unsigned long long)id, s.count[id]);
    kiln_arena_release(e.arena);
    /* Drop some roots, collect, and the walk is exactly what is reachable. */
    for (int r = 0; r < NROOTS; r++)
      if (test_range(&rng, 0, 2) == 0)
        roots[r] = NULL, m.root[r] = 0;
    if (config_minors(_i))
      gobj_garbage_until_minors(e.arena, e.ap, 2);
    kiln_arena_collect(e.arena);
    size_t reachable = model_reach(&m);
    check_edges(&m, roots);
    walk_env(&e, &s);
    for (uint64_t id = 1; id < m.next_id; id++)
      T_CHECK(s.count[id] == m.reach[id], "%s round %zu: object %llu visited %u times, "
              "reachable %u", config_names[_i], round, (unsigned long long)id, s.count[id],
              m.reach[id]);
    ck_assert_uint_eq(s.garbage, 0);
    ck_assert_uint_eq(s.objects, reachable);
  }
  kiln_root_destroy(root);
  env_close(&e);
}
END_TEST

/* Pinned objects whose neighbours died leave pads (copy's kept segment,
   gen's retained chunk): the walk visits the objects and never a pad. */
START_TEST(test_walk_skips_pads)
{
  env_t e;
  env_open(&e, _i, graph_format());
  enum { N = 200 };
  static gobj_t *objs[N];
  for (int i = 0; i < N; i++)
    objs[i] = gobj_new(e.ap, (uint64_t)i + 1, 1, 24);
  for (int i = 0; i < N; i += 10)
    ck_assert_ok(kiln_pin(e.arena, objs[i]));
  seen_t s;
  for (int round = 0; round < 2; round++) {
    collect_some(&e);
    walk_env(&e, &s);
    for (int i = 0; i < N; i++)
      T_CHECK(s.count[i + 1] == (i % 10 == 0), "%s: object %d visited %u times",
              config_names[_i], i + 1, s.count[i + 1]);
    ck_assert_uint_eq(s.objects, N / 10);
  }
  for (int i = 0; i < N; i += 10)
    ck_assert_ok(kiln_unpin(e.arena, objs[i]));
  env_close(&e);
}
END_TEST

/* A reservation outstanding when the walk starts is given back with the
   buffer: its commit fails, and the object is made again. */
START_TEST(test_walk_traps_reservation)
{
  env_t e;
  env_open(&e, _i, graph_format());
  void *keep = gobj_new(e.ap, 1, 0, 8);
  kiln_root_t root;
  root = exact_area(e.arena, &keep, 1);
  size_t size = gobj_size(0, 8);
  void *p;
  ck_assert_ok(kiln_reserve(&p, e.ap, size));
  memset(p, 0, size);
  seen_t s;
  walk_env(&e, &s);
  ck_assert_uint_eq(s.count[1], 1);
  ck_assert_int_eq(kiln_commit(e.ap, p, size), 0);
  gobj_check(gobj_new(e.ap, 2, 0, 8), 2);
  walk_env(&e, &s);
  ck_assert_uint_eq(s.count[2], 1);
  kiln_root_destroy(root);
  env_close(&e);
}
END_TEST

/* ---- derived pointers --------------------------------------------------- */

/* A frame: its bytecode object and an instruction pointer into it, an
   exact root through kiln_ss_fix_derived. */
typedef struct frame_s {
  void *code, *ip;
} frame_t;

static kiln_res_t scan_frame(kiln_ss_t ss, void *closure)
{
  frame_t *f = closure;
  return kiln_ss_fix_derived(ss, &f->code, &f->ip);
}

static uint8_t *payload_of(gobj_t *o) { return (uint8_t *)(void *)&o->ref[o->nrefs]; }

START_TEST(test_derived_follows_base)
{
  env_t e;
  env_open(&e, _i, graph_format());
  static frame_t frame, weak_frame;
  gobj_t *code = gobj_new(e.ap, 5, 1, 64);
  gobj_t *dead = gobj_new(e.ap, 6, 0, 64);
  frame.code = code;
  frame.ip = payload_of(code) + 13;
  weak_frame.code = dead;
  weak_frame.ip = payload_of(dead) + 64; /* just past the end */
  uint8_t want = payload_of(code)[13];
  kiln_root_t rframe, rweak;
  ck_assert_ok(kiln_root_create_scan(&rframe, e.arena, KILN_RANK_EXACT, scan_frame, &frame));
  ck_assert_ok(kiln_root_create_scan(&rweak, e.arena, KILN_RANK_WEAK, scan_frame, &weak_frame));
  int moved = 0;
  void *before = code;
  for (int round = 0; round < 6; round++) {
    if (round % 2 == 1 && config_minors(_i))
      gobj_garbage_until_minors(e.arena, e.ap, 1);
    else
      kiln_arena_collect(e.arena);
    gobj_check(frame.code, 5);
    ck_assert_ptr_eq(frame.ip, payload_of(frame.code) + 13);
    ck_assert_uint_eq(*(uint8_t *)frame.ip, want);
    moved |= frame.code != before;
    before = frame.code;
  }
  ck_assert_int_eq(moved, config_moves_in_full(_i));
  ck_assert_ptr_null(weak_frame.code); /* its object died: both cleared */
  ck_assert_ptr_null(weak_frame.ip);
  kiln_root_destroy(rweak);
  kiln_root_destroy(rframe);
  env_close(&e);
}
END_TEST

#ifdef KILN_CHECKED
static void stray_derived(void)
{
  env_t e;
  env_open(&e, CONFIG_MS, graph_format());
  static frame_t frame;
  gobj_t *code = gobj_new(e.ap, 5, 1, 16);
  frame.code = code;
  frame.ip = (char *)code + 4096;
  kiln_root_t r;
  ck_assert_ok(kiln_root_create_scan(&r, e.arena, KILN_RANK_EXACT, scan_frame, &frame));
  kiln_arena_collect(e.arena);
}

START_TEST(test_derived_outside_base_checked)
{
  test_expect_abort(stray_derived, "kiln_ss_fix_derived: the derived pointer");
}
END_TEST
#endif

/* ---- word-typed fix and barrier: a low-tag format ----------------------- */

/* Every field is a uintptr_t word. Word 0 is the header: the object's
   words << 3 | kind (object, forwarded, pad); a forwarded object's word 1
   is its new address. Word 1 of an object is its id as a fixnum; the rest
   are values: a fixnum (n << 1 | 1), 0, a plain reference (low bits 000)
   or a boxed reference (the address | 2). The scan and every store go
   through the word calls only, with no cast of a slot to void **. */
enum { W_OBJ = 1, W_FWD = 2, W_PAD = 3 };
#define W_SLOTS 4 /* value words of every test object */
#define W_WORDS (2 + W_SLOTS)
#define FIXNUM(n) (((uintptr_t)(n) << 1) | 1)
#define BOXED 2

static size_t w_words(const uintptr_t *o) { return o[0] >> 3; }

static kiln_res_t w_scan(kiln_ss_t ss, void *base, void *limit)
{
  KILN_SCAN_BEGIN(ss) {
    for (uintptr_t *o = base; o < (uintptr_t *)limit; o += w_words(o)) {
      if ((o[0] & 7) != W_OBJ)
        continue;
      for (size_t i = 2; i < w_words(o); i++) {
        uintptr_t v = o[i];
        kiln_res_t res = KILN_OK;
        if (v != 0 && (v & 7) == 0) {
          res = KILN_FIX12_WORD(ss, &o[i]);
        } else if ((v & 7) == BOXED) {
          uintptr_t ref = v - BOXED;
          res = KILN_FIX12_WORD(ss, &ref);
          o[i] = ref + BOXED;
        }
        if (res != KILN_OK)
          return res;
      }
    }
  } KILN_SCAN_END(ss);
  return KILN_OK;
}

static void *w_skip(void *obj) { return (uintptr_t *)obj + w_words(obj); }
static void w_fwd(void *old, void *new_)
{
  uintptr_t *o = old;
  o[0] = (o[0] & ~(uintptr_t)7) | W_FWD;
  o[1] = (uintptr_t)new_;
}
static void *w_isfwd(void *obj)
{
  uintptr_t *o = obj;
  return (o[0] & 7) == W_FWD ? (void *)o[1] : NULL;
}
static void w_pad(void *addr, size_t size)
{
  *(uintptr_t *)addr = (uintptr_t)(size / sizeof(uintptr_t)) << 3 | W_PAD;
}

static const kiln_format_t word_format = {8, 0, w_scan, w_skip, w_fwd, w_isfwd, w_pad};

static uintptr_t *w_new(kiln_ap_t ap, uint64_t id)
{
  size_t size = W_WORDS * sizeof(uintptr_t);
  void *p;
  uintptr_t *o;
  do {
    ck_assert_ok(kiln_reserve(&p, ap, size));
    o = p;
    o[0] = (uintptr_t)W_WORDS << 3 | W_OBJ;
    o[1] = FIXNUM(id);
    for (int i = 2; i < W_WORDS; i++)
      o[i] = FIXNUM(i);
  } while (!kiln_commit(ap, p, size));
  return o;
}

static uint64_t w_id(const uintptr_t *o) { return (uint64_t)(o[1] >> 1); }

/* The roots: a scan root over words, fixed with the word call too. */
#define W_ROOTS 16
static uintptr_t w_roots[W_ROOTS];

static kiln_res_t scan_word_roots(kiln_ss_t ss, void *closure)
{
  (void)closure;
  for (int i = 0; i < W_ROOTS; i++) {
    kiln_res_t res = w_roots[i] != 0 ? KILN_FIX12_WORD(ss, &w_roots[i]) : KILN_OK;
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

/* The model: each object's value slots, as ids (0: a fixnum) and tags. */
#define W_MAX 8192
typedef struct wmodel_s {
  uint64_t target[W_MAX][W_SLOTS]; /* id referred to, 0: none */
  uint8_t boxed[W_MAX][W_SLOTS];
  uint64_t root[W_ROOTS];
  uint64_t next_id;
} wmodel_t;

static uintptr_t *w_ref(uintptr_t v, int boxed)
{
  return (uintptr_t *)(boxed ? v - BOXED : v);
}

/* Follow the roots and every value slot, checking ids and tags. */
static size_t w_check(const wmodel_t *m, int which)
{
  static uint8_t done[W_MAX];
  static uintptr_t *stack[W_MAX];
  size_t n = 0, count = 0;
  memset(done, 0, sizeof done);
  for (int r = 0; r < W_ROOTS; r++)
    if (m->root[r] != 0) {
      uintptr_t *o = (uintptr_t *)w_roots[r];
      T_CHECK(w_id(o) == m->root[r], "%s: root %d holds %llu, wanted %llu", config_names[which],
              r, (unsigned long long)w_id(o), (unsigned long long)m->root[r]);
      stack[n++] = o;
    }
  while (n > 0) {
    uintptr_t *o = stack[--n];
    uint64_t id = w_id(o);
    T_CHECK((o[0] & 7) == W_OBJ && w_words(o) == W_WORDS && id < W_MAX, "%s: a bad object",
            config_names[which]);
    if (done[id])
      continue;
    done[id] = 1;
    count++;
    for (int k = 0; k < W_SLOTS; k++) {
      uintptr_t v = o[2 + k];
      if (m->target[id][k] == 0) {
        T_CHECK(v == FIXNUM(2 + k), "%s: object %llu slot %d is %#llx, wanted a fixnum",
                config_names[which], (unsigned long long)id, k, (unsigned long long)v);
        continue;
      }
      T_CHECK((v & 7) == (m->boxed[id][k] ? BOXED : 0u), "%s: object %llu slot %d lost its tag",
              config_names[which], (unsigned long long)id, k);
      uintptr_t *t = w_ref(v, m->boxed[id][k]);
      T_CHECK(w_id(t) == m->target[id][k], "%s: object %llu slot %d refers to %llu, wanted %llu",
              config_names[which], (unsigned long long)id, k, (unsigned long long)w_id(t),
              (unsigned long long)m->target[id][k]);
      stack[n++] = t;
    }
  }
  return count;
}

/* A reachable object, found from a random root (NULL if none). */
static uintptr_t *w_pick(const wmodel_t *m, uint64_t *rng, int *root_o)
{
  int r = (int)test_range(rng, 0, W_ROOTS - 1);
  *root_o = r;
  return m->root[r] != 0 ? (uintptr_t *)w_roots[r] : NULL;
}

static void count_word_objects(void *obj, size_t size, void *closure)
{
  const uintptr_t *o = obj;
  T_CHECK((o[0] & 7) == W_OBJ && size == W_WORDS * sizeof(uintptr_t), "the walk visited a "
          "word object of %zu bytes, kind %u", size, (unsigned)(o[0] & 7));
  ++*(size_t *)closure;
}

START_TEST(test_word_format)
{
  env_t e;
  env_open(&e, _i, &word_format);
  static wmodel_t m;
  memset(&m, 0, sizeof m);
  memset(w_roots, 0, sizeof w_roots);
  m.next_id = 1;
  kiln_root_t root;
  ck_assert_ok(kiln_root_create_scan(&root, e.arena, KILN_RANK_EXACT, scan_word_roots, NULL));
  uint64_t rng = test_seed(23);
  /* At least enough allocation for minor collections under every scale. */
  size_t steps = test_scale(6000) < 2000 ? 2000 : test_scale(6000), verified = 0;
  for (size_t step = 0; step < steps && m.next_id < W_MAX; step++) {
    int r;
    uint64_t id = m.next_id++;
    (void)w_new(e.ap, 0); /* garbage, which drives the minor collections */
    uintptr_t *o = w_new(e.ap, id);
    size_t size = 0;
    T_CHECK(kiln_obj_size(&size, e.arena, o) == KILN_OK && size == W_WORDS * sizeof(uintptr_t),
            "kiln_obj_size of a word object: %zu", size);
    uintptr_t *holder = w_pick(&m, &rng, &r);
    if (holder != NULL && test_range(&rng, 0, 1) == 0) {
      /* Store the new (young) object into an existing, maybe old, one: the
         barrier is what keeps it alive through a minor collection. */
      int k = (int)test_range(&rng, 0, W_SLOTS - 1), boxed = (int)test_range(&rng, 0, 1);
      kiln_write_word(e.arena, holder, &holder[2 + k], (uintptr_t)o + (boxed ? BOXED : 0));
      m.target[w_id(holder)][k] = id;
      m.boxed[w_id(holder)][k] = (uint8_t)boxed;
    } else {
      w_roots[r] = (uintptr_t)o;
      m.root[r] = id;
    }
    if (test_range(&rng, 0, 3) == 0) { /* drop a root */
      int d = (int)test_range(&rng, 0, W_ROOTS - 1);
      w_roots[d] = 0;
      m.root[d] = 0;
    }
    if (step % 1500 == 1499) {
      (void)w_check(&m, _i); /* after the minor collections so far */
      kiln_arena_collect(e.arena);
      (void)w_check(&m, _i);
      verified++;
    }
  }
  kiln_arena_collect(e.arena);
  size_t reachable = w_check(&m, _i), walked = 0;
  ck_assert_ok(kiln_pool_walk(e.pool, count_word_objects, &walked));
  if (e.mature != NULL)
    ck_assert_ok(kiln_pool_walk(e.mature, count_word_objects, &walked));
  ck_assert_uint_eq(walked, reachable);
  kiln_stats_t st = astats(e.arena);
  ck_assert_uint_gt(verified, 0);
  if (config_minors(_i))
    ck_assert_msg(st.minor_collections > 0, "%s: no minor collection ran", config_names[_i]);
  if (config_moves_in_full(_i))
    ck_assert_msg(st.copied > 0, "%s: nothing moved", config_names[_i]);
  kiln_root_destroy(root);
  env_close(&e);
}
END_TEST

/* The barrier verifier reads word-typed objects through their scan too: a
   word store into an old object without kiln_write_word is reported. */
static int unbarriered_config;

static void word_store_without_barrier(void)
{
  env_t e;
  env_open(&e, unbarriered_config, &word_format);
  memset(w_roots, 0, sizeof w_roots);
  kiln_root_t root;
  ck_assert_ok(kiln_root_create_scan(&root, e.arena, KILN_RANK_EXACT, scan_word_roots, NULL));
  w_roots[0] = (uintptr_t)w_new(e.ap, 1);
  kiln_arena_collect(e.arena); /* the holder is old now */
  uint64_t m0 = minors(e.arena);
  while (minors(e.arena) < m0 + 1)
    (void)w_new(e.ap, 0);
  uintptr_t *holder = (uintptr_t *)w_roots[0];
  holder[2] = (uintptr_t)w_new(e.ap, 2); /* no kiln_write_word: the bug */
  while (minors(e.arena) < m0 + 2)
    (void)w_new(e.ap, 0);
}

START_TEST(test_word_missing_barrier_reported)
{
  unbarriered_config = _i == 0 ? CONFIG_GEN_MS : CONFIG_STICKY;
  test_expect_missing_barrier(word_store_without_barrier);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("object");
  TCase *tc = suite_add_case(s, "pin", 120);
  tcase_add_loop_test(tc, test_pin_keeps_in_place, 0, NCONFIGS);
  tcase_add_loop_test(tc, test_unpinned_object_dies, 0, NCONFIGS);
  tcase_add_test(tc, test_pin_during_incremental);
  tcase_add_test(tc, test_pin_refuses);
  tcase_add_test(tc, test_many_pins);
  tc = suite_add_case(s, "size", 0);
  tcase_add_loop_test(tc, test_obj_size, 0, NCONFIGS);
  tcase_add_test(tc, test_obj_size_refuses_manual);
  tc = suite_add_case(s, "walk", 120);
  tcase_add_test(tc, test_walk_refuses_manual);
  tcase_add_loop_test(tc, test_walk_matches_model, 0, NCONFIGS);
  tcase_add_loop_test(tc, test_walk_skips_pads, 0, NCONFIGS);
  tcase_add_loop_test(tc, test_walk_traps_reservation, 0, NCONFIGS);
  tc = suite_add_case(s, "derived", 0);
  tcase_add_loop_test(tc, test_derived_follows_base, 0, NCONFIGS);
#ifdef KILN_CHECKED
  tcase_add_test(tc, test_derived_outside_base_checked);
#endif
  tc = suite_add_case(s, "word", 120);
  tcase_add_loop_test(tc, test_word_format, 0, NCONFIGS);
  tcase_add_loop_test(tc, test_word_missing_barrier_reported, 0, 2);
  return s;
}
