/* graph.c -- the random object-graph property test and its standard battery
 * of runs (see graph.h).
 *
 * The model: every object has an id, a fixed number of reference fields and
 * a payload derived from its id. The model records each object's edges (by
 * id) and which root slots hold which ids. After every collection the
 * actual heap is walked from the roots in step with the model: each
 * reachable object must have the right id, intact payload and the edges the
 * model says, and (after an explicit full collection) the pools' live-object
 * count must equal the model's reachable count.
 */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

/* fuzz/fuzzobj.c's header tags */
#define TAG_OBJ 1
#define TAG_FWD 2
#define HDR(o) (((uint64_t *)(void *)(o))[-1])
#define NROOTS 64

size_t gobj_size(uint32_t nrefs, uint32_t npay)
{
  return fz_obj_size(nrefs, npay);
}

static uint8_t *payload(const gobj_t *o) { return (uint8_t *)(void *)&o->ref[o->nrefs]; }
static uint8_t pay_byte(uint64_t id, uint32_t i) { return (uint8_t)(id * 131 + i * 7 + 1); }

int gobj_payload_ok(const gobj_t *o)
{
  for (uint32_t i = 0; i < o->npay; i++)
    if (payload(o)[i] != pay_byte(o->id, i))
      return 0;
  return 1;
}

int gobj_is_forwarded(const gobj_t *o) { return (HDR(o) & 0xff) == TAG_FWD; }

const kiln_format_t *graph_format(void)
{
  return fz_format();
}

/* Make the size bytes reserved at p object id (refs NULL: no references). */
static gobj_t *obj_init(void *p, size_t size, uint64_t id, uint32_t nrefs, uint32_t npay,
                        gobj_t *const refs[])
{
  *(uint64_t *)p = ((uint64_t)size << 8) | TAG_OBJ;
  gobj_t *o = (gobj_t *)(void *)((char *)p + 8);
  o->nrefs = nrefs;
  o->npay = npay;
  o->id = id;
  for (uint32_t i = 0; i < nrefs; i++)
    o->ref[i] = refs != NULL ? refs[i] : NULL;
  for (uint32_t i = 0; i < npay; i++)
    payload(o)[i] = pay_byte(id, i);
  return o;
}

static gobj_t *try_new(kiln_ap_t ap, uint64_t id, uint32_t nrefs, uint32_t npay,
                       gobj_t *const refs[], kiln_res_t *res_o)
{
  size_t size = gobj_size(nrefs, npay);
  void *p;
  gobj_t *o;
  do {
    kiln_res_t res = kiln_reserve(&p, ap, size);
    if (res != KILN_OK) {
      *res_o = res;
      return NULL;
    }
    o = obj_init(p, size, id, nrefs, npay, refs);
  } while (!kiln_commit(ap, p, size));
  *res_o = KILN_OK;
  return o;
}

gobj_t *gobj_try_new(kiln_ap_t ap, uint64_t id, uint32_t nrefs, uint32_t npay, kiln_res_t *res_o)
{
  return try_new(ap, id, nrefs, npay, NULL, res_o);
}

gobj_t *gobj_new_refs(kiln_ap_t ap, uint64_t id, uint32_t nrefs, uint32_t npay,
                      gobj_t *const refs[])
{
  kiln_res_t res;
  gobj_t *o = try_new(ap, id, nrefs, npay, refs, &res);
  T_CHECK(o != NULL, "reserve %zu bytes: %s", gobj_size(nrefs, npay), kiln_res_name(res));
  return o;
}

gobj_t *gobj_new(kiln_ap_t ap, uint64_t id, uint32_t nrefs, uint32_t npay)
{
  return gobj_new_refs(ap, id, nrefs, npay, NULL);
}

gobj_t *gobj_new_into(kiln_arena_t arena, kiln_ap_t ap, gobj_t *holder, uint32_t i, uint64_t id,
                      uint32_t npay)
{
  gobj_t *o = gobj_new(ap, id, 0, npay);
  gobj_store(arena, holder, i, o);
  return o;
}

void gobj_store(kiln_arena_t arena, void *obj, uint32_t i, void *value)
{
  gobj_t *o = obj;
  kiln_write(arena, o, (void **)&o->ref[i], value);
}

void gobj_check(const gobj_t *o, uint64_t id)
{
  T_CHECK(o->id == id && gobj_payload_ok(o), "object %llu at %p: found id %llu%s",
          (unsigned long long)id, (const void *)o, (unsigned long long)o->id,
          gobj_payload_ok(o) ? "" : ", payload corrupted");
}

gobj_t *gobj_rooted_old(kiln_arena_t arena, kiln_ap_t ap, void **slot)
{
  (void)exact_area(arena, slot, 1);
  gobj_t *old = gobj_new(ap, 1, 2, 8);
  *slot = old;
  kiln_arena_collect(arena);
  return old;
}

static void check_kept(const gobj_t *o, uint64_t id)
{
  ck_assert_msg((HDR(o) & 0xff) == TAG_OBJ && o->id == id && gobj_payload_ok(o),
                "object %llu at %p: tag %d, id %llu", (unsigned long long)id, (const void *)o,
                (int)(HDR(o) & 0xff), (unsigned long long)o->id);
}

gobj_t *gobj_interior_pointer_kept(kiln_arena_t arena, kiln_ap_t ap, int garbage)
{
  gobj_t *o = gobj_new(ap, 9, 0, 64);
  char *volatile inner = (char *)o + 40; /* only an interior pointer is kept */
  o = NULL;
  for (int i = 0; i < 1000; i++)
    (void)gobj_new(ap, 200 + (uint64_t)i, 2, 16);
  kiln_arena_collect(arena);
  kiln_arena_collect(arena);
  gobj_t *back = (gobj_t *)(void *)(inner - 40);
  check_kept(back, 9);
  for (int i = 0; i < garbage; i++)
    (void)gobj_new(ap, 9000 + (uint64_t)i, 0, 56); /* must not overwrite it */
  kiln_arena_collect(arena);
  check_kept(back, 9);
  return back;
}

void gobj_commit_after_collection_fails(kiln_arena_t arena, kiln_ap_t ap)
{
  size_t size = gobj_size(0, 8);
  void *p;
  ck_assert_ok(kiln_reserve(&p, ap, size));
  memset(p, 0, size);
  kiln_arena_collect(arena); /* intervenes between reserve and commit */
  ck_assert_int_eq(kiln_commit(ap, p, size), 0);
}

void gobj_garbage_until_minors(kiln_arena_t arena, kiln_ap_t ap, uint64_t n)
{
  uint64_t m0 = minors(arena);
  for (uint64_t i = 0; minors(arena) < m0 + n; i++) {
    T_CHECK(i < 2000000, "no minor collection after %llu allocations", (unsigned long long)i);
    (void)gobj_new(ap, 1000000 + i, 1, 40);
  }
}

/* ---- a heap around a sticky pool --------------------------------------- */

void sticky_open(sticky_env_t *e, size_t young_size, size_t young_step,
                 const kiln_arg_t arena_args[])
{
  memset(e, 0, sizeof *e);
  e->young_size = young_size;
  e->young_step = young_step;
  ck_assert_ok(kiln_arena_create(&e->arena, arena_args));
  ck_assert_ok(kiln_fmt_create(&e->fmt, e->arena, graph_format()));
  e->pool = make_sticky(e->arena, e->fmt, young_size, young_step);
  ck_assert_ok(kiln_ap_create(&e->ap, e->pool, NULL));
}

void sticky_add_gen(sticky_env_t *e, size_t nursery)
{
  e->other = make_gen_aged(e->arena, e->fmt, e->pool, nursery, 0);
  ck_assert_ok(kiln_ap_create(&e->other_ap, e->other, NULL));
}

void sticky_add_sticky(sticky_env_t *e)
{
  e->other = make_sticky(e->arena, e->fmt, e->young_size, e->young_step);
  ck_assert_ok(kiln_ap_create(&e->other_ap, e->other, NULL));
}

void sticky_scan_stack(sticky_env_t *e)
{
  e->stack = stack_root(e->arena, &e->thr);
}

void sticky_close(sticky_env_t *e)
{
  if (e->thr != NULL) {
    kiln_root_destroy(e->stack);
    kiln_thread_dereg(e->thr);
  }
  kiln_arena_destroy(e->arena); /* pools, APs, format, roots */
}

int graph_ambig_roots;

/* ---- the model -------------------------------------------------------- */

typedef struct model_s {
  size_t cap, n;                 /* objects ever made */
  uint32_t *nrefs, *npay;
  int64_t *edge;                 /* cap x GRAPH_MAX_REFS, -1 for NULL */
  gobj_t **addr;                 /* last known address (valid for reach[]) */
  int64_t mroot[NROOTS];
  void *roots[NROOTS];
  uint64_t *reach;               /* ids usable as targets */
  size_t nreach;
  uint8_t *seen;
  uint64_t *queue;
} model_t;

static void model_init(model_t *m, size_t cap)
{
  memset(m, 0, sizeof *m);
  m->cap = cap;
  m->nrefs = calloc(cap, sizeof *m->nrefs);
  m->npay = calloc(cap, sizeof *m->npay);
  m->edge = malloc(cap * GRAPH_MAX_REFS * sizeof *m->edge);
  m->addr = calloc(cap, sizeof *m->addr);
  m->reach = calloc(cap, sizeof *m->reach);
  m->seen = calloc(cap, 1);
  m->queue = calloc(cap, sizeof *m->queue);
  for (int i = 0; i < NROOTS; i++)
    m->mroot[i] = -1;
}

static void model_free(model_t *m)
{
  free(m->nrefs); free(m->npay); free(m->edge); free(m->addr);
  free(m->reach); free(m->seen); free(m->queue);
}

static void check_obj(model_t *m, const gobj_t *o, uint64_t id, const char *where)
{
  T_CHECK(o != NULL, "%s: object %llu is missing", where, (unsigned long long)id);
  T_CHECK((HDR(o) & 0xff) == TAG_OBJ, "%s: object %llu at %p has tag %d (forwarded/padding left behind)",
                where, (unsigned long long)id, (const void *)o, (int)(HDR(o) & 0xff));
  T_CHECK(o->id == id, "%s: expected object %llu at %p, found id %llu", where,
                (unsigned long long)id, (const void *)o, (unsigned long long)o->id);
  T_CHECK(o->nrefs == m->nrefs[id] && o->npay == m->npay[id] && gobj_payload_ok(o),
                "%s: object %llu corrupted", where, (unsigned long long)id);
}

/* Walk heap and model together from the roots; refresh addresses and the
   reachable list. Returns the reachable count; counts moved objects. */
static size_t verify(model_t *m, size_t *moved, const char *where)
{
  size_t qh = 0, qt = 0;
  memset(m->seen, 0, m->n);
  for (int i = 0; i < NROOTS; i++) {
    if (m->mroot[i] < 0) {
      T_CHECK(m->roots[i] == NULL, "%s: root %d should be NULL", where, i);
      continue;
    }
    uint64_t id = (uint64_t)m->mroot[i];
    check_obj(m, m->roots[i], id, where);
    if (m->addr[id] != m->roots[i])
      *moved += m->addr[id] != NULL;
    m->addr[id] = m->roots[i];
    if (!m->seen[id]) {
      m->seen[id] = 1;
      m->queue[qt++] = id;
    }
  }
  while (qh < qt) {
    uint64_t id = m->queue[qh++];
    gobj_t *o = m->addr[id];
    for (uint32_t k = 0; k < m->nrefs[id]; k++) {
      int64_t e = m->edge[id * GRAPH_MAX_REFS + k];
      if (e < 0) {
        T_CHECK(o->ref[k] == NULL, "%s: object %llu field %u should be NULL", where,
                      (unsigned long long)id, k);
        continue;
      }
      check_obj(m, o->ref[k], (uint64_t)e, where);
      if (m->addr[e] != o->ref[k])
        *moved += 1;
      m->addr[e] = o->ref[k];
      if (!m->seen[e]) {
        m->seen[e] = 1;
        m->queue[qt++] = (uint64_t)e;
      }
    }
  }
  memcpy(m->reach, m->queue, qt * sizeof *m->reach);
  m->nreach = qt;
  return qt;
}

/* ---- the mutator ------------------------------------------------------ */

typedef struct run_s {
  const graph_cfg_t *cfg;
  kiln_arena_t arena;
  kiln_pool_t pools[4];
  kiln_ap_t aps[4];
  int npools;
  model_t m;
  uint64_t rng, gc_seen;
  graph_result_t r;
} run_t;

static uint64_t live_objects(run_t *run)
{
  uint64_t n = 0;
  for (int i = 0; i < run->npools; i++)
    n += pool_live(run->pools[i]);
  return n;
}

/* If a collection happened since we last looked, verify the heap now. */
static void after_gc(run_t *run, const char *where)
{
  if (!collected_since(run->arena, &run->gc_seen))
    return;
  size_t n = verify(&run->m, &run->r.moved, where);
  run->r.verified++;
  if (n > run->r.max_reachable)
    run->r.max_reachable = n;
}

static void store(run_t *run, gobj_t *o, uint32_t k, gobj_t *v)
{
  if (run->cfg->use_barrier)
    kiln_write(run->arena, o, (void **)&o->ref[k], v);
  else
    o->ref[k] = v;
}

static uint64_t random_reach(run_t *run) { return run->m.reach[test_rand(&run->rng) % run->m.nreach]; }

/* A random target for a new object's field k: a reachable object, or
   NULL. */
static gobj_t *new_edge(run_t *run, uint64_t id, uint32_t k)
{
  model_t *m = &run->m;
  int64_t e = m->nreach > 0 && test_rand(&run->rng) % 3 != 0 ? (int64_t)random_reach(run) : -1;
  m->edge[id * GRAPH_MAX_REFS + k] = e;
  return e < 0 ? NULL : m->addr[e];
}

/* Object id with its references stored while initialising it, before the
   commit (no barrier). They are picked after the reservation, which may
   have collected (and moved or freed objects), and again should the
   commit fail. */
static gobj_t *new_initialised(run_t *run, kiln_ap_t ap, uint64_t id)
{
  model_t *m = &run->m;
  size_t size = gobj_size(m->nrefs[id], m->npay[id]);
  gobj_t *refs[GRAPH_MAX_REFS], *o;
  void *p;
  do {
    kiln_res_t res = kiln_reserve(&p, ap, size);
    T_CHECK(res == KILN_OK, "reserve %zu bytes: %s", size, kiln_res_name(res));
    after_gc(run, "after reserve");
    for (uint32_t k = 0; k < m->nrefs[id]; k++)
      refs[k] = new_edge(run, id, k);
    o = obj_init(p, size, id, m->nrefs[id], m->npay[id], refs);
  } while (!kiln_commit(ap, p, size));
  return o;
}

static void op_alloc(run_t *run)
{
  model_t *m = &run->m;
  if (m->n == m->cap)
    return;
  uint64_t id = m->n++;
  m->nrefs[id] = (uint32_t)test_range(&run->rng, 0, GRAPH_MAX_REFS);
  m->npay[id] = (uint32_t)test_range(&run->rng, 0, 100);
  if (test_rand(&run->rng) % 50 == 0)
    m->npay[id] = (uint32_t)test_range(&run->rng, 1000, 40000); /* sometimes large */
  kiln_ap_t ap = run->aps[test_rand(&run->rng) % (uint64_t)run->npools];
  gobj_t *o;
  if (run->cfg->use_barrier == GRAPH_INIT_REFS && test_rand(&run->rng) % 2 == 0) {
    o = new_initialised(run, ap, id);
    m->addr[id] = o;
  } else {
    o = gobj_new(ap, id, m->nrefs[id], m->npay[id]);
    after_gc(run, "after reserve");
    m->addr[id] = o;
    for (uint32_t k = 0; k < m->nrefs[id]; k++)
      store(run, o, k, new_edge(run, id, k)); /* o is committed: barrier */
  }
  /* Link it: a root slot, or a field of a reachable object. */
  uint64_t parent = m->nreach > 0 ? random_reach(run) : 0;
  if (m->nreach == 0 || m->nrefs[parent] == 0 || test_rand(&run->rng) % 2 == 0) {
    int slot = (int)(test_rand(&run->rng) % NROOTS);
    m->mroot[slot] = (int64_t)id;
    m->roots[slot] = o;
  } else {
    uint32_t k = (uint32_t)(test_rand(&run->rng) % m->nrefs[parent]);
    m->edge[parent * GRAPH_MAX_REFS + k] = (int64_t)id;
    store(run, m->addr[parent], k, o);
  }
  m->reach[m->nreach++] = id;
}

static void op_mutate(run_t *run)
{
  model_t *m = &run->m;
  if (m->nreach == 0)
    return;
  uint64_t id = random_reach(run);
  if (m->nrefs[id] == 0)
    return;
  uint32_t k = (uint32_t)(test_rand(&run->rng) % m->nrefs[id]);
  int64_t e = test_rand(&run->rng) % 4 == 0 ? -1 : (int64_t)random_reach(run);
  m->edge[id * GRAPH_MAX_REFS + k] = e;
  store(run, m->addr[id], k, e < 0 ? NULL : m->addr[e]);
}

static void op_drop_root(run_t *run)
{
  int slot = (int)(test_rand(&run->rng) % NROOTS);
  run->m.mroot[slot] = -1;
  run->m.roots[slot] = NULL;
}

static void full_collect(run_t *run)
{
  kiln_arena_collect(run->arena);
  after_gc(run, "after explicit collection");
  T_CHECK(live_objects(run) == run->m.nreach,
                "pools say %llu objects live, the model %zu",
                (unsigned long long)live_objects(run), run->m.nreach);
}

graph_result_t graph_run(const graph_cfg_t *cfg)
{
  run_t run;
  memset(&run, 0, sizeof run);
  run.cfg = cfg;
  run.rng = cfg->seed;
  ck_assert_ok(kiln_arena_create(&run.arena, cfg->arena_args));
  kiln_fmt_t fmt;
  ck_assert_ok(kiln_fmt_create(&fmt, run.arena, graph_format()));
  run.npools = cfg->make_pools(run.arena, fmt, run.pools);
  ck_assert_int_gt(run.npools, 0);
  for (int i = 0; i < run.npools; i++)
    ck_assert_ok(kiln_ap_create(&run.aps[i], run.pools[i], NULL));
  model_init(&run.m, cfg->steps + 1);
  kiln_root_t root, amb;
  int ambig = graph_ambig_roots;
  graph_ambig_roots = 0;
  void **split = run.m.roots + (ambig ? NROOTS / 2 : NROOTS);
  ck_assert_ok(kiln_root_create_area(&root, run.arena, run.m.roots, split, KILN_RANK_EXACT));
  if (ambig)
    ck_assert_ok(kiln_root_create_area(&amb, run.arena, split, run.m.roots + NROOTS,
                                       KILN_RANK_AMBIG));
  size_t allocs = 0;
  for (size_t step = 0; step < cfg->steps; step++) {
    uint64_t dice = test_rand(&run.rng) % 100;
    if (dice < 55) {
      op_alloc(&run);
      if (cfg->collect_every && ++allocs % cfg->collect_every == 0)
        full_collect(&run);
    } else if (dice < 85) {
      op_mutate(&run);
    } else if (dice < 97) {
      op_drop_root(&run);
    } else if (dice < 98) {
      full_collect(&run);
    }
  }
  full_collect(&run);
  kiln_stats_t st = astats(run.arena);
  run.r.collections = st.collections;
  run.r.minors = st.minor_collections;
  run.r.pauses = st.pauses;
  run.r.marked = st.marked;
  run.r.helped = st.helped;
  if (cfg->expect_moves)
    T_CHECK(run.r.moved > 0, "a moving configuration moved nothing");
  kiln_root_destroy(root);
  if (ambig)
    kiln_root_destroy(amb);
  for (int i = 0; i < run.npools; i++) {
    kiln_ap_destroy(run.aps[i]);
    kiln_pool_destroy(run.pools[i]);
  }
  kiln_fmt_destroy(fmt);
  kiln_arena_destroy(run.arena);
  model_free(&run.m);
  return run.r;
}

/* One run of the battery: which of its kinds, and its outcome. */
static graph_result_t battery_run(int kind, graph_cfg_t *cfg)
{
  static const kiln_arg_t small_budget[] = {KILN_ARG_SIZE("budget_min", 64 << 10),
                                            KILN_ARG_NUM("growth", 1.2), KILN_ARGS_END};
  static const kiln_arg_t stress[] = {KILN_ARG_SIZE("stress", 1), KILN_ARGS_END};
  cfg->steps = test_scale(20000);
  cfg->use_barrier = kind != 0;
  if (kind == 1)
    cfg->collect_every = 97;
  if (kind == 2) {
    cfg->arena_args = small_budget;
    cfg->steps = test_scale(30000);
  }
  if (kind == 3) {
    cfg->arena_args = stress;
    cfg->steps = test_scale(3000);
  }
  return graph_run(cfg);
}

void graph_battery(int i, int (*make_pools)(kiln_arena_t, kiln_fmt_t, kiln_pool_t *),
                   int expect_moves, const uint64_t seeds[4])
{
  /* runs 0-3: random, 4-7: every 97th, 8-9: small budget, 10-11: stress */
  int kind = i < 8 ? i / 4 : 2 + (i - 8) / 2, seed = i < 8 ? i % 4 : (i - 8) % 2;
  graph_cfg_t cfg = {.make_pools = make_pools, .expect_moves = expect_moves,
                     .seed = test_seed(seeds[seed] + 10 * (uint64_t)kind)};
  graph_result_t r = battery_run(kind, &cfg);
  if (kind == 0)
    ck_assert_uint_gt(r.verified, 5);
  if (kind == 0 && expect_moves)
    ck_assert_uint_gt(r.moved, 100);
  if (kind == 1)
    ck_assert_uint_gt(r.verified, test_scale(50)); /* the steps are scaled too */
  if (kind == 2)
    ck_assert_uint_gt(r.collections, 10);
  if (kind == 3)
    ck_assert_uint_gt(r.collections, test_scale(1000)); /* the steps are scaled too */
}

const graph_run_t *graph_table_row(const graph_run_t *runs, int *i_io)
{
  while (*i_io >= runs->seeds)
    *i_io -= (runs++)->seeds;
  return runs;
}

void graph_table_run(const graph_run_t *runs, int i, int expect_moves, const uint64_t *seeds)
{
  const graph_run_t *run = graph_table_row(runs, &i);
  kiln_arg_t stress[] = {KILN_ARG_SIZE("stress", run->stress), KILN_ARGS_END};
  graph_cfg_t cfg = {.make_pools = run->make_pools, .arena_args = run->stress ? stress : NULL,
      .steps = test_scale(run->steps), .collect_every = run->collect_every,
      .use_barrier = run->use_barrier, .expect_moves = expect_moves,
      .seed = test_seed(seeds[i] + run->seed_add)};
  graph_result_t r = graph_run(&cfg);
  if (run->verified_over > 0)
    ck_assert_uint_gt(r.verified, test_scale(run->verified_over));
  if (run->collections_over > 0)
    ck_assert_uint_gt(r.collections, test_scale(run->collections_over));
}

void rooted_open(rooted_heap_t *h, int (*make_pools)(kiln_arena_t, kiln_fmt_t, kiln_pool_t *),
                 const kiln_arg_t *arena_args, void **slots, size_t nslots)
{
  *h = (rooted_heap_t){.arena = NULL};
  ck_assert_ok(kiln_arena_create(&h->arena, arena_args));
  ck_assert_ok(kiln_fmt_create(&h->fmt, h->arena, graph_format()));
  ck_assert_int_eq(make_pools(h->arena, h->fmt, &h->pool), 1);
  ck_assert_ok(kiln_ap_create(&h->ap, h->pool, NULL));
  if (slots != NULL)
    h->root = exact_area(h->arena, slots, nslots);
}

void rooted_close(rooted_heap_t *h)
{
  if (h->root != NULL)
    kiln_root_destroy(h->root);
  kiln_ap_destroy(h->ap);
  kiln_pool_destroy(h->pool);
  kiln_fmt_destroy(h->fmt);
  kiln_arena_destroy(h->arena);
}
