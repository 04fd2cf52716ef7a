/* workloads.c -- built-in workloads: gcbench, binarytrees, churn, quads, fields.
 *
 * Owns the workloads' object format and the three workloads. Each is
 * deterministic from its seed: the same parameters give the same sequence of
 * allocations and stores under every plan, so plans can be compared.
 *
 * Objects use the descriptor format (bindings/desc.c): a record of n
 * references followed by payload words. Its types are process-wide and
 * immutable, made at first use and freed only when this code is unloaded
 * (like static vtables): a fixed-size type for each (references, payload
 * words) up to 64 x 64, and an array type (payload words as elements) per
 * reference count beyond that. At most 65 x 66 of them, so the bound is
 * fixed, and a heap's objects never outlive their types.
 *
 * The workloads allocate through the heap's "objects" role (and "leaf" for
 * pointer-free data when the plan has it) with the reserve/commit retry
 * loop, store into committed objects with kiln_write, and keep long-lived
 * objects in an exact root area. When the role's pool is manual they use
 * kiln_alloc and free every object they drop, so manual plans run them too.
 * Bounds: gcbench and binarytrees allocate O(2^depth) objects per tree and
 * build scale times the standard number of short-lived trees; churn
 * allocates scale x alloc_bytes in total and keeps about scale x live_bytes
 * in slots.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "plans.h"
#include "trees.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct wobj_s wobj_t; /* a descriptor-format object */
#define WORD sizeof(uint64_t)
enum { MAX_REFS = 64, SMALL_PAY = 64 };

static _Atomic(kiln_type_t) fixed_types[MAX_REFS + 1][SMALL_PAY + 1];
static _Atomic(kiln_type_t) array_types[MAX_REFS + 1];
static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;

static kiln_type_t make_type(_Atomic(kiln_type_t) *slot, size_t nref, size_t npay, int array)
{
  pthread_mutex_lock(&types_lock);
  kiln_type_t t = atomic_load(slot);
  if (t == NULL) {
    kiln_type_spec_t spec = {"record", (nref + (array ? 0 : npay)) * WORD, nref, NULL,
                             array ? WORD : 0, 0, NULL, NULL};
    if (kiln_type_create(&t, &spec) == KILN_OK)
      atomic_store(slot, t);
  }
  pthread_mutex_unlock(&types_lock);
  return t;
}

/* The type of a record with nref references and npay payload words (NULL
   only when out of memory); *array_o says whether npay is its length. */
static kiln_type_t record_type(size_t nref, size_t npay, int *array_o)
{
  *array_o = npay > SMALL_PAY;
  _Atomic(kiln_type_t) *slot = *array_o ? &array_types[nref] : &fixed_types[nref][npay];
  kiln_type_t t = atomic_load_explicit(slot, memory_order_acquire);
  return t != NULL ? t : make_type(slot, nref, npay, *array_o);
}

/* When the code holding the table goes away (the Lua module or a library
   with its own copy unloaded, or the process exiting), so do the types:
   no heap of this copy can outlive its code. */
#if defined(__GNUC__)
__attribute__((destructor))
#endif
static void free_record_types(void)
{
  for (size_t i = 0; i <= MAX_REFS; i++) {
    for (size_t j = 0; j <= SMALL_PAY; j++)
      kiln_type_destroy(atomic_exchange(&fixed_types[i][j], NULL));
    kiln_type_destroy(atomic_exchange(&array_types[i], NULL));
  }
}

static wobj_t **refs(const wobj_t *o)
{
  return kiln_desc_fixed((void *)(uintptr_t)o);
}

static size_t nrefs(const wobj_t *o)
{
  return kiln_desc_nslots(o);
}

/* Payload words follow the references. The memory is the heap's, with no
   declared type: payload words are only ever read and written as uint64_t. */
static uint64_t *payload(const wobj_t *o)
{
  return (uint64_t *)(void *)(refs(o) + nrefs(o));
}

/* Object words (header, references, payload), as the workloads count them. */
static size_t obj_words(const wobj_t *o)
{
  kiln_type_t t = kiln_desc_type(o);
  return kiln_desc_size(t, kiln_desc_length(o)) / WORD - (kiln_desc_length(o) > 0);
}

/* ---- allocation ------------------------------------------------------------ */

typedef struct wl_s {
  kiln_heap_t heap;
  kiln_arena_t arena;
  kiln_pool_t pool;      /* the objects role's pool */
  kiln_ap_t ap, leaf_ap; /* NULL when the pool is manual */
  int manual;
  kiln_res_t res;        /* first failure; every later step gives up */
  uint64_t objects, rng;
  size_t node_words;     /* the size of the tree nodes being built */
} wl_t;

static uint64_t rnd(wl_t *w) /* xorshift64*: fast, deterministic, good enough */
{
  w->rng ^= w->rng >> 12;
  w->rng ^= w->rng << 25;
  w->rng ^= w->rng >> 27;
  return w->rng * 0x2545F4914F6CDD1DULL;
}

static double rnd01(wl_t *w)
{
  return (double)(rnd(w) >> 11) / 9007199254740992.0;
}

static void obj_init(void *p, kiln_type_t t, size_t len, size_t nref, size_t npay,
                     wobj_t *const *init, uint64_t stamp)
{
  kiln_desc_init(p, t, len);
  wobj_t **r = refs(p);
  for (size_t i = 0; i < nref; i++)
    r[i] = init != NULL ? init[i] : NULL;
  uint64_t *pay = (uint64_t *)(void *)(r + nref); /* payload(p), known shape */
  for (size_t i = 0; i < npay; i++)
    pay[i] = stamp + i;
}

/* A new object of nwords words (>= 2, header included) with nref references
   initialised from refs (NULL: all NULL) and payload stamp, stamp+1, ... */
static wobj_t *obj_new(wl_t *w, kiln_ap_t ap, size_t nref, size_t nwords, wobj_t *const *init,
                       uint64_t stamp)
{
  size_t npay = nwords - 1 - nref;
  int array;
  kiln_type_t t = record_type(nref, npay, &array);
  size_t len = array ? npay : 0, size = kiln_desc_size(t, len);
  void *p;
  if (w->res != KILN_OK)
    return NULL;
  if (t == NULL) {
    w->res = lk_fail(KILN_MEMORY, "workload: out of memory for an object type");
    return NULL;
  }
  if (w->manual) {
    w->res = kiln_alloc(&p, w->pool, size);
    if (w->res == KILN_OK)
      obj_init(p, t, len, nref, npay, init, stamp);
  } else {
    do {
      w->res = kiln_reserve(&p, ap, size);
      if (w->res != KILN_OK)
        break;
      obj_init(p, t, len, nref, npay, init, stamp);
    } while (!kiln_commit(ap, p, size));
  }
  if (w->res != KILN_OK) {
    lk_fail(w->res, "workload: allocating %zu bytes: %s", size, kiln_arena_error(w->arena));
    return NULL;
  }
  w->objects++;
  return p;
}

static void obj_free(wl_t *w, wobj_t *o)
{
  if (w->manual && o != NULL)
    kiln_free(w->pool, o, kiln_desc_size(kiln_desc_type(o), kiln_desc_length(o)));
}

/* Store a reference into a committed object: through the barrier unless manual. */
static void obj_set(wl_t *w, wobj_t *o, size_t i, wobj_t *v)
{
  if (w->manual)
    refs(o)[i] = v;
  else
    kiln_write(w->arena, o, (void **)&refs(o)[i], v);
}

/* An exact root over n words (malloc'd, zeroed); NULL root for manual heaps. */
static wobj_t **roots_new(wl_t *w, size_t n, kiln_root_t *root_o)
{
  wobj_t **slots = calloc(n ? n : 1, sizeof *slots);
  *root_o = NULL;
  if (slots == NULL) {
    w->res = lk_fail(KILN_MEMORY, "workload: out of memory for %zu root slots", n);
    return NULL;
  }
  if (!w->manual) {
    w->res = kiln_root_create_area(root_o, w->arena, (void **)slots, (void **)(slots + n),
                                   KILN_RANK_EXACT);
    if (w->res != KILN_OK) {
      lk_fail(w->res, "workload: root: %s", kiln_arena_error(w->arena));
      free(slots);
      return NULL;
    }
  }
  return slots;
}

static void roots_free(wobj_t **slots, kiln_root_t root)
{
  if (root != NULL)
    kiln_root_destroy(root);
  free(slots);
}

/* ---- trees (gcbench, binarytrees) ---------------------------------------------- */

/* The number of short-lived trees of one depth at this scale: scale
   multiplies the trees' work as it multiplies churn's sizes, and at least
   one tree of each depth is built. */
static uint64_t scaled_iters(uint64_t iters, const lk_wparams_t *wp)
{
  double n = (double)iters * wp->scale;
  return n < 1 ? 1 : (uint64_t)n;
}

enum { NODE_WORDS = 5, BT_WORDS = 3 }; /* gcbench node: left, right, i, j; binarytrees: left, right */

/* The tree operations of plans/trees.h on a workload heap: nodes of
   w->node_words words, stamped with their depth, stored through obj_set. */
static void *wl_node(void *ctx, void *left, void *right, int depth)
{
  wl_t *w = ctx;
  wobj_t *kids[2] = {left, right};
  return obj_new(w, w->ap, 2, w->node_words, kids, (uint64_t)depth);
}

static void wl_set_child(void *ctx, void *node, int which, void *child)
{
  obj_set(ctx, node, (size_t)which, child);
}

static void *wl_child(void *ctx, const void *node, int which)
{
  (void)ctx;
  return refs(node)[which];
}

static const tree_ops_t wl_tree_ops = {wl_node, wl_set_child, wl_child};

static wobj_t *wl_bottom_up(wl_t *w, int depth, size_t nwords)
{
  w->node_words = nwords;
  return tree_bottom_up(&wl_tree_ops, w, depth);
}

static void wl_populate(wl_t *w, int depth, wobj_t *node)
{
  w->node_words = NODE_WORDS;
  tree_populate(&wl_tree_ops, w, depth, node);
}

/* Nodes in the tree; a node whose shape is wrong counts as a failure. */
static uint64_t tree_check(wl_t *w, const wobj_t *node, int depth)
{
  if (node == NULL)
    return 0;
  if (kiln_desc_type(node) == NULL || nrefs(node) != 2) {
    w->res = lk_fail(KILN_FAIL, "workload: heap corrupted: node at %p has header %#llx",
                     (const void *)node, (unsigned long long)*(const uint64_t *)node);
    return 0;
  }
  wobj_t **kid = refs(node);
  if (depth > 0 && (kid[0] == NULL || kid[1] == NULL)) {
    w->res = lk_fail(KILN_FAIL, "workload: heap corrupted: node at depth %d lost a child", depth);
    return 0;
  }
  return 1 + tree_check(w, kid[0], depth - 1) + tree_check(w, kid[1], depth - 1);
}

static void tree_free(wl_t *w, wobj_t *node)
{
  if (!w->manual || node == NULL)
    return;
  tree_free(w, refs(node)[0]);
  tree_free(w, refs(node)[1]);
  obj_free(w, node);
}

/* Ellis, Kovac and Boehm's GCBench: a stretch tree, a long-lived tree and
   array, then many short-lived trees built top-down and bottom-up. */
static void run_gcbench(wl_t *w, const lk_wparams_t *wp, lk_wresult_t *r)
{
  int max = wp->depth > 0 ? wp->depth : 16, min = max < TREE_MIN_DEPTH ? max : TREE_MIN_DEPTH;
  size_t array_words = (size_t)(500000.0 * ldexp(1.0, max - 16)) + 2;
  kiln_root_t root;
  wobj_t **keep = roots_new(w, 2, &root); /* long-lived tree, array */
  if (keep == NULL)
    return;
  wobj_t *t = wl_bottom_up(w, max + 2, NODE_WORDS);
  r->check += tree_check(w, t, max + 2);
  tree_free(w, t);
  keep[0] = obj_new(w, w->ap, 2, NODE_WORDS, NULL, 0);
  wl_populate(w, max, keep[0]);
  keep[1] = obj_new(w, w->leaf_ap, 0, array_words, NULL, 1);
  for (int d = min; d <= max && w->res == KILN_OK; d += 2) {
    uint64_t iters = scaled_iters(tree_gcbench_iters(d, max + 2), wp);
    for (uint64_t i = 0; i < iters && w->res == KILN_OK; i++) {
      t = obj_new(w, w->ap, 2, NODE_WORDS, NULL, 0);
      wl_populate(w, d, t);
      tree_free(w, t);
      t = wl_bottom_up(w, d, NODE_WORDS);
      tree_free(w, t);
    }
  }
  if (w->res == KILN_OK)
    r->check += tree_check(w, keep[0], max);
  if (w->res == KILN_OK && (keep[1] == NULL || obj_words(keep[1]) != array_words
                            || payload(keep[1])[array_words - 2] != array_words - 1))
    w->res = lk_fail(KILN_FAIL, "workload gcbench: the long-lived array was corrupted");
  tree_free(w, keep[0]);
  obj_free(w, keep[1]);
  roots_free(keep, root);
}

/* The benchmarks game's binary-trees: allocate and walk complete trees. */
static void run_binarytrees(wl_t *w, const lk_wparams_t *wp, lk_wresult_t *r)
{
  int max = wp->depth > 0 ? wp->depth : 18, min = TREE_MIN_DEPTH;
  if (max < min + 2)
    max = min + 2;
  kiln_root_t root;
  wobj_t **keep = roots_new(w, 1, &root);
  if (keep == NULL)
    return;
  wobj_t *t = wl_bottom_up(w, max + 1, BT_WORDS);
  r->check += tree_check(w, t, max + 1);
  tree_free(w, t);
  keep[0] = wl_bottom_up(w, max, BT_WORDS);
  for (int d = min; d <= max && w->res == KILN_OK; d += 2) {
    uint64_t iters = scaled_iters(tree_binary_trees_iters(d, max), wp);
    for (uint64_t i = 0; i < iters && w->res == KILN_OK; i++) {
      t = wl_bottom_up(w, d, BT_WORDS);
      r->check += tree_check(w, t, d);
      tree_free(w, t);
    }
  }
  if (w->res == KILN_OK)
    r->check += tree_check(w, keep[0], max);
  tree_free(w, keep[0]);
  roots_free(keep, root);
}

/* ---- quads ------------------------------------------------------------------- */

enum { QUAD_KIDS = 4, QUAD_WORDS = 6 }; /* header, four children, the depth */

/* A complete quad tree of the given depth, built top-down: each node
   holds its depth as its payload word. */
static wobj_t *quad_tree(wl_t *w, int depth)
{
  wobj_t *node = obj_new(w, w->ap, QUAD_KIDS, QUAD_WORDS, NULL, (uint64_t)depth);
  for (size_t i = 0; i < QUAD_KIDS && depth > 0 && node != NULL; i++)
    obj_set(w, node, i, quad_tree(w, depth - 1));
  return node;
}

/* Nodes in a quad tree of this depth, each checked for its shape, its
   depth and its children; a wrong one is a failure. */
static uint64_t quad_check(wl_t *w, const wobj_t *node, int depth)
{
  if (w->res != KILN_OK)
    return 0;
  if (node == NULL || kiln_desc_type(node) == NULL || nrefs(node) != QUAD_KIDS ||
      payload(node)[0] != (uint64_t)depth) {
    w->res = lk_fail(KILN_FAIL, "workload quads: heap corrupted: a node at depth %d is %s",
                     depth, node == NULL ? "missing" : "not the node built there");
    return 0;
  }
  uint64_t n = 1;
  for (size_t i = 0; i < QUAD_KIDS && depth > 0; i++)
    n += quad_check(w, refs(node)[i], depth - 1);
  return n;
}

static void quad_free(wl_t *w, wobj_t *node)
{
  if (!w->manual || node == NULL)
    return;
  for (size_t i = 0; i < QUAD_KIDS; i++)
    quad_free(w, refs(node)[i]);
  obj_free(w, node);
}

/* A quad-tree benchmark in the shape of Whippet's: one long-lived tree of
   depth d (default 10: 1.4 million nodes, 64 MB), then garbage trees of
   depth d - 2 until ten times its size has been allocated, then the
   long-lived tree is checked whole. */
static void run_quads(wl_t *w, const lk_wparams_t *wp, lk_wresult_t *r)
{
  int depth = wp->depth > 0 ? wp->depth : 10, small = depth >= 2 ? depth - 2 : 0;
  kiln_root_t root;
  wobj_t **keep = roots_new(w, 1, &root);
  if (keep == NULL)
    return;
  keep[0] = quad_tree(w, depth);
  uint64_t iters = scaled_iters(160, wp);
  for (uint64_t i = 0; i < iters && w->res == KILN_OK; i++) {
    wobj_t *t = quad_tree(w, small);
    r->check += quad_check(w, t, small);
    quad_free(w, t);
  }
  r->check += quad_check(w, keep[0], depth);
  quad_free(w, keep[0]);
  roots_free(keep, root);
}

/* ---- fields ------------------------------------------------------------------- */

/* An interpreter's instances, each owning a separately allocated field
   table of boxed values: instance (the table, an id), table (FIELDS
   references), value (a stamp). */
enum { FIELDS = 8, INST_WORDS = 3, TABLE_WORDS = 1 + FIELDS, VALUE_WORDS = 2 };

/* Instance i in keep[i], then its table, then its values, in allocation
   order; every allocation goes through keep[i], so no reference to a new
   object waits in a local across the next allocation. */
static void fields_build(wl_t *w, wobj_t **keep, size_t i)
{
  keep[i] = obj_new(w, w->ap, 1, INST_WORDS, NULL, i);
  wobj_t *table = obj_new(w, w->ap, FIELDS, TABLE_WORDS, NULL, 0);
  if (keep[i] == NULL || table == NULL)
    return;
  obj_set(w, keep[i], 0, table);
  for (size_t f = 0; f < FIELDS && w->res == KILN_OK; f++) {
    wobj_t *v = obj_new(w, w->leaf_ap, 0, VALUE_WORDS, NULL, i * FIELDS + f);
    if (v != NULL)
      obj_set(w, refs(keep[i])[0], f, v);
  }
}

/* Read every instance's every field: the walk whose speed depends on where
   a collector put the parts. Returns the fields that held their stamp. */
static uint64_t fields_walk(wl_t *w, wobj_t *const *keep, size_t n)
{
  uint64_t ok = 0;
  for (size_t i = 0; i < n; i++) {
    const wobj_t *table = refs(keep[i])[0];
    for (size_t f = 0; f < FIELDS; f++)
      ok += payload(refs(table)[f])[0] == i * FIELDS + f;
  }
  if (ok != (uint64_t)n * FIELDS)
    w->res = lk_fail(KILN_FAIL, "workload fields: heap corrupted: %llu of %zu fields lost their "
                     "value", (unsigned long long)((uint64_t)n * FIELDS - ok), n * FIELDS);
  return ok;
}

/* The locality workload: 100,000 instances (x scale) with their tables,
   then rounds of garbage (twice the live size: collections, and moves
   under a moving plan) each followed by four walks over every field. */
static void run_fields(wl_t *w, const lk_wparams_t *wp, lk_wresult_t *r)
{
  size_t n = (size_t)scaled_iters(100000, wp);
  kiln_root_t root;
  wobj_t **keep = roots_new(w, n, &root);
  if (keep == NULL)
    return;
  for (size_t i = 0; i < n && w->res == KILN_OK; i++)
    fields_build(w, keep, i);
  size_t garbage = n * 2 * (INST_WORDS + TABLE_WORDS + FIELDS * VALUE_WORDS);
  for (int round = 0; round < 5 && w->res == KILN_OK; round++) {
    for (size_t g = 0; g < garbage && w->res == KILN_OK; g += TABLE_WORDS) {
      wobj_t *t = obj_new(w, w->ap, FIELDS, TABLE_WORDS, NULL, 0);
      obj_free(w, t);
    }
    for (int walk = 0; walk < 4 && w->res == KILN_OK; walk++)
      r->check += fields_walk(w, keep, n);
  }
  for (size_t i = 0; w->manual && i < n; i++) {
    for (size_t f = 0; keep[i] != NULL && f < FIELDS; f++)
      obj_free(w, refs(refs(keep[i])[0])[f]);
    obj_free(w, refs(keep[i])[0]);
    obj_free(w, keep[i]);
  }
  roots_free(keep, root);
}

/* ---- churn ------------------------------------------------------------------- */

typedef struct churn_s {
  wobj_t **slots;
  size_t n;
  uint64_t serial;
} churn_t;

/* Object words for a payload of log-uniform size in [min_obj, max_obj]. */
static size_t churn_words(wl_t *w, const lk_wparams_t *wp)
{
  double lo = (double)wp->min_obj, hi = (double)wp->max_obj;
  double bytes = lo * exp(rnd01(w) * log(hi / lo));
  size_t words = 1 + (size_t)(bytes + WORD - 1) / WORD;
  return words < 3 ? 3 : words; /* header, one reference or stamp, serial */
}

/* Payload word 0 is the serial; word k the serial + k: verify checks them. */
static void churn_step(wl_t *w, churn_t *c, const lk_wparams_t *wp)
{
  size_t words = churn_words(w, wp), nref = 0, i = (size_t)(rnd(w) % c->n);
  if (!w->manual)
    nref = (size_t)((double)(words - 2) * wp->ptr_density + rnd01(w));
  if (nref > words - 2)
    nref = words - 2;
  wobj_t *init[MAX_REFS];
  if (nref > MAX_REFS)
    nref = MAX_REFS;
  for (size_t k = 0; k < nref; k++)
    init[k] = c->slots[rnd(w) % c->n];
  wobj_t *o = obj_new(w, w->ap, nref, words, init, ++c->serial);
  if (o == NULL)
    return;
  obj_free(w, c->slots[i]);
  c->slots[i] = o; /* an exact root area: no barrier needed */
  double m = wp->mutation_rate;
  for (; m > 0 && (m >= 1 || rnd01(w) < m); m -= 1) {
    wobj_t *a = c->slots[rnd(w) % c->n];
    if (a != NULL && nrefs(a) > 0)
      obj_set(w, a, rnd(w) % nrefs(a), c->slots[rnd(w) % c->n]);
  }
}

static int churn_obj_ok(const wobj_t *o)
{
  if (kiln_desc_type(o) == NULL || obj_words(o) < 3)
    return 0;
  size_t nref = nrefs(o), npay = obj_words(o) - 1 - nref;
  const uint64_t *pay = payload(o);
  for (size_t k = 1; k < npay; k++)
    if (pay[k] != pay[0] + k)
      return 0;
  return 1;
}

/* Every slot's object and every object it references must be intact. */
static uint64_t churn_verify(wl_t *w, churn_t *c)
{
  uint64_t sum = 0;
  for (size_t i = 0; i < c->n && w->res == KILN_OK; i++) {
    const wobj_t *o = c->slots[i];
    if (o == NULL)
      continue;
    int ok = churn_obj_ok(o);
    for (size_t k = 0; ok && k < nrefs(o); k++)
      ok = refs(o)[k] == NULL || churn_obj_ok(refs(o)[k]);
    if (!ok)
      w->res = lk_fail(KILN_FAIL, "workload churn: heap corrupted: slot %zu (object at %p)", i,
                       (const void *)o);
    sum += payload(o)[0];
  }
  return sum;
}

static void run_churn(wl_t *w, const lk_wparams_t *wp, lk_wresult_t *r)
{
  double avg = (double)(wp->min_obj + wp->max_obj) / 2 + WORD;
  size_t live = (size_t)((double)wp->live_bytes * wp->scale);
  size_t total = (size_t)((double)wp->alloc_bytes * wp->scale);
  churn_t c = {NULL, (size_t)((double)live / avg) + 1, 0};
  kiln_root_t root;
  c.slots = roots_new(w, c.n, &root);
  if (c.slots == NULL)
    return;
  size_t steps = (size_t)((double)total / avg);
  for (size_t s = 0; s < steps && w->res == KILN_OK; s++)
    churn_step(w, &c, wp);
  if (w->res == KILN_OK && !w->manual) {
    kiln_arena_collect(w->arena); /* then everything reachable must still be intact */
  }
  r->check = churn_verify(w, &c);
  for (size_t i = 0; i < c.n; i++)
    obj_free(w, c.slots[i]);
  roots_free(c.slots, root);
}

/* ---- entry ------------------------------------------------------------------- */

const char *const lk_workload_names[] = {"gcbench", "binarytrees", "churn", "quads", "fields", NULL};

void lk_wparams_default(lk_wparams_t *wp)
{
  memset(wp, 0, sizeof *wp);
  wp->seed = 42;
  wp->threads = 1;
  wp->scale = 1.0;
  wp->live_bytes = (size_t)16 << 20;
  wp->alloc_bytes = (size_t)256 << 20;
  wp->min_obj = 16;
  wp->max_obj = 256;
  wp->ptr_density = 0.25;
  wp->mutation_rate = 0.5;
}

double lk_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static kiln_res_t wl_setup(wl_t *w, kiln_heap_t heap, const lk_wparams_t *wp)
{
  memset(w, 0, sizeof *w);
  w->heap = heap;
  w->arena = kiln_heap_arena(heap);
  w->pool = kiln_heap_pool(heap, "objects");
  w->rng = wp->seed * 2654435761u + 0x9E3779B97F4A7C15ULL;
  if (w->pool == NULL)
    return lk_fail(KILN_PARAM, "plan '%s' has no role 'objects' for the workload",
                   kiln_heap_plan_name(heap));
  w->manual = !kiln_class_is_automatic(kiln_pool_class(w->pool));
  if (w->manual)
    return KILN_OK;
  w->ap = kiln_heap_ap(heap, "objects");
  if (w->ap == NULL)
    return lk_fail(KILN_FAIL, "workload: no allocation point for role 'objects': %s", lk_error());
  kiln_pool_t leaf = kiln_heap_pool(heap, "leaf");
  w->leaf_ap = leaf != NULL && kiln_class_is_automatic(kiln_pool_class(leaf))
                   ? kiln_heap_ap(heap, "leaf") : NULL;
  if (w->leaf_ap == NULL)
    w->leaf_ap = w->ap;
  return KILN_OK;
}

static kiln_res_t check_params(const lk_wparams_t *wp)
{
  if (wp->min_obj < 1 || wp->max_obj < wp->min_obj || wp->max_obj > ((size_t)1 << 24))
    return lk_fail(KILN_PARAM, "workload churn: need 1 <= min_obj <= max_obj <= 16MB");
  if (!(wp->ptr_density >= 0 && wp->ptr_density <= 1))
    return lk_fail(KILN_PARAM, "workload churn: ptr_density must be between 0 and 1");
  if (!(wp->mutation_rate >= 0 && wp->mutation_rate <= 1000))
    return lk_fail(KILN_PARAM, "workload churn: mutation_rate must be between 0 and 1000");
  if (wp->threads < 1 || wp->threads > LK_MAX_THREADS)
    return lk_fail(KILN_PARAM, "workload: threads must be from 1 to %d", LK_MAX_THREADS);
  if (!(wp->scale > 0 && wp->scale <= 1000) || wp->depth < 0 || wp->depth > 30)
    return lk_fail(KILN_PARAM, "workload: scale must be in (0, 1000] and depth in [0, 30]");
  return KILN_OK;
}

typedef void (*run_fn)(wl_t *, const lk_wparams_t *, lk_wresult_t *);

/* One mutator thread of a workload: its own state, allocation points,
   roots and seed; a thread other than the heap's opener joins the heap
   (its stack becomes a root) for the run. */
typedef struct mutator_s {
  kiln_heap_t heap;
  const lk_wparams_t *wp;
  run_fn run;
  int joins;
  uint64_t seed;
  lk_wresult_t r;
  uint64_t objects;
  kiln_res_t res;
  char error[256];
} mutator_t;

static void *mutator_main(void *arg)
{
  mutator_t *m = arg;
  if (m->joins && (m->res = kiln_heap_join(m->heap)) != KILN_OK) {
    snprintf(m->error, sizeof m->error, "%s", lk_error());
    return NULL;
  }
  lk_wparams_t wp = *m->wp;
  wp.seed = m->seed;
  wl_t w;
  m->res = wl_setup(&w, m->heap, &wp);
  if (m->res == KILN_OK) {
    m->run(&w, &wp, &m->r);
    m->objects = w.objects;
    m->res = w.res;
  }
  if (m->res != KILN_OK)
    snprintf(m->error, sizeof m->error, "%s", lk_error());
  if (m->joins)
    kiln_heap_leave(m->heap);
  return NULL;
}

/* Run n mutators, this thread the first; the others start together and
   are waited for. The results add up; the first failure is the run's. */
static kiln_res_t run_mutators(mutator_t *m, int n)
{
  pthread_t tid[LK_MAX_THREADS];
  int started = 1;
  for (int i = 1; i < n; i++, started++)
    if (pthread_create(&tid[i], NULL, mutator_main, &m[i]) != 0)
      break;
  mutator_main(&m[0]);
  for (int i = 1; i < started; i++)
    pthread_join(tid[i], NULL);
  if (started < n)
    return lk_fail(KILN_MEMORY, "workload: cannot start mutator thread %d of %d", started + 1, n);
  for (int i = 0; i < n; i++)
    if (m[i].res != KILN_OK)
      return lk_fail(m[i].res, "%s", m[i].error);
  return KILN_OK;
}

static kiln_res_t check_manual_threads(kiln_heap_t heap, const lk_wparams_t *wp)
{
  kiln_pool_t pool = kiln_heap_pool(heap, "objects");
  if (wp->threads > 1 && pool != NULL && !kiln_class_is_automatic(kiln_pool_class(pool)))
    return lk_fail(KILN_PARAM, "workload: threads = %d, but plan '%s' allocates from a manual "
                   "pool, which serves one thread", wp->threads, kiln_heap_plan_name(heap));
  return KILN_OK;
}

kiln_res_t lk_workload_run(const char *name, kiln_heap_t heap, const lk_wparams_t *wp,
                           lk_wresult_t *r)
{
  static const run_fn run[] = {run_gcbench, run_binarytrees, run_churn, run_quads, run_fields};
  size_t i = 0;
  while (lk_workload_names[i] != NULL && strcmp(lk_workload_names[i], name) != 0)
    i++;
  if (lk_workload_names[i] == NULL)
    return lk_fail(KILN_PARAM, "no workload '%s' (workloads: gcbench, binarytrees, churn, quads, fields)", name);
  kiln_res_t res = check_params(wp);
  if (res == KILN_OK)
    res = check_manual_threads(heap, wp);
  if (res != KILN_OK)
    return res;
  mutator_t *m = calloc((size_t)wp->threads, sizeof *m);
  if (m == NULL)
    return lk_fail(KILN_MEMORY, "workload: out of memory");
  for (int t = 0; t < wp->threads; t++)
    m[t] = (mutator_t){.heap = heap, .wp = wp, .run = run[i], .joins = t > 0,
                       .seed = wp->seed + (uint64_t)t};
  /* The workloads keep object addresses in C locals: their stack must be a
     root while they run, whatever the heap's owner chose. */
  int scanned = kiln_heap_scans_stack(heap);
  if (!scanned && (res = kiln_heap_scan_stack(heap, 1)) != KILN_OK) {
    free(m);
    return res;
  }
  memset(r, 0, sizeof *r);
  double t0 = lk_now();
  res = run_mutators(m, wp->threads);
  r->seconds = lk_now() - t0;
  if (!scanned)
    kiln_heap_scan_stack(heap, 0);
  for (int t = 0; t < wp->threads; t++) {
    r->objects += m[t].objects;
    r->check += m[t].r.check;
  }
  r->verified = res == KILN_OK;
  free(m);
  return res;
}
