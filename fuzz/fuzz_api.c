/* fuzz_api.c -- libFuzzer harness driving the public API from a byte
 * string.
 *
 * The first bytes choose an arena (small reserve, maybe a commit limit and a
 * stress interval) and up to four pools: ms, copy, gen promoting into a new
 * ms or copy pool, mfs and mvff. The rest is a program of one-byte opcodes
 * with operands: allocate an object with references (reserve/commit loop),
 * store a reference through kiln_write, set or clear a slot of an exact root
 * area, collect the arena or one pool, allocate or free a manual block.
 *
 * A shadow model records every object's shape and edges (by id) and what the
 * root slots hold. After every collection (explicit, or one an allocation
 * triggered) the heap is walked from the roots in step with the model: every
 * reachable object must carry its id, shape, payload and edges, and after a
 * full collection the pools must count exactly the model's reachable
 * objects. Manual blocks carry a fill byte that must survive. No thread
 * root is used, so a run is deterministic; when the first byte is 192 or
 * more, the upper half of the root slots is an ambiguous area (a sticky
 * pool's minor collection keeps young what only those reach).
 *
 * Misuse. An opcode byte from MISUSE_FIRST to MISUSE_LAST (instead of its
 * low four bits; the saved inputs of fuzz/regress/api use none of these as
 * opcodes, so they still replay the same program) misuses the API in a way
 * whose outcome is defined: a bad handle, an
 * automatic pool where a manual one is wanted, a reservation size that is
 * zero or not a multiple of the alignment, a commit without a
 * reservation. Each must be refused (KILN_PARAM, or ignored with a
 * sentence) and leave the heap as the model says. Misuse that a checked
 * build reports by aborting (void functions' bad handles, kiln_free on an
 * automatic pool) is done only by a harness built without KILN_CHECKED,
 * such as the replay test's on the default build.
 *
 * A failed check prints what broke and aborts (libFuzzer records the input).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzzharness.h"
#include "fuzzobj.h"

#define NROOTS 16
#define MAX_OBJS 2048
#define MAX_OPS 3000
#define MAX_POOLS 8      /* auto pools, promotion targets included */
#define MAX_MANUAL 2
#define MAX_BLOCKS 32
#define MISUSE_FIRST 0xF4
#define MISUSE_LAST 0xFE

typedef struct input_s {
  const uint8_t *p;
  size_t n, i;
} input_t;

static unsigned next(input_t *in) { return in->i < in->n ? in->p[in->i++] : 0; }

typedef struct block_s {
  kiln_pool_t pool;     /* NULL: slot free */
  uint8_t *p;
  size_t size;
  uint8_t fill;
} block_t;

typedef struct fz_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_root_t root, amb;
  int ambig;                     /* roots[NROOTS / 2 ..] are an ambiguous area */
  kiln_pool_t pools[MAX_POOLS];  /* in creation order (targets before gens) */
  kiln_ap_t aps[MAX_POOLS];      /* NULL when the pool is only a target */
  int npools;
  kiln_pool_t manual[MAX_MANUAL];
  size_t unit[MAX_MANUAL];       /* mfs unit size, 0 for mvff */
  int nmanual;
  block_t blocks[MAX_BLOCKS];
  /* the model */
  size_t nobj;
  uint32_t nrefs[MAX_OBJS], npay[MAX_OBJS];
  int32_t edge[MAX_OBJS][FZ_MAX_REFS];   /* -1: NULL */
  fz_obj_t *addr[MAX_OBJS];              /* valid for ids in usable[] */
  int32_t mroot[NROOTS];
  void *roots[NROOTS];                   /* the root areas */
  uint32_t usable[MAX_OBJS];             /* reachable at the last check, or newer */
  size_t nusable;
  uint8_t seen[MAX_OBJS];
  uint64_t gc_seen;
  size_t ops;
} fz_t;

/* KILN_FUZZ_TRACE=1 in the environment prints every operation (stderr). */
static int trace;
#define TRACE(...) do { if (trace) { fprintf(stderr, "  " __VA_ARGS__); fputc('\n', stderr); } } \
                   while (0)

#define FAIL(...) do { fprintf(stderr, "fuzz_api: " __VA_ARGS__); fputc('\n', stderr); \
                       abort(); } while (0)

/* from: the root slot (parent < 0) or the parent object's field that led here. */
static void check_obj(fz_t *f, const fz_obj_t *o, uint32_t id, int64_t parent, uint32_t field,
                      const char *where)
{
  if (fz_obj_ok(o, id, f->nrefs[id], f->npay[id]))
    return;
  char from[64];
  if (parent < 0)
    snprintf(from, sizeof from, "root slot %u", field);
  else
    snprintf(from, sizeof from, "field %u of object %lld", field, (long long)parent);
  FAIL("op %zu, %s: object %u at %p (reached through %s) is not intact (found id %llu)", f->ops,
       where, id, (const void *)o, from, o != NULL ? (unsigned long long)o->id : 0ULL);
}

/* Walk heap and model together from the roots: refresh addresses and the
   usable list. Returns how many objects are reachable. */
static size_t verify(fz_t *f, const char *where)
{
  size_t head = 0, tail = 0;
  memset(f->seen, 0, f->nobj);
  for (int s = 0; s < NROOTS; s++) {
    if (f->mroot[s] < 0) {
      if (f->roots[s] != NULL)
        FAIL("op %zu, %s: root %d should be NULL, holds %p", f->ops, where, s, f->roots[s]);
      continue;
    }
    uint32_t id = (uint32_t)f->mroot[s];
    check_obj(f, f->roots[s], id, -1, (uint32_t)s, where);
    f->addr[id] = f->roots[s];
    if (!f->seen[id]) {
      f->seen[id] = 1;
      f->usable[tail++] = id;
    }
  }
  while (head < tail) {
    uint32_t id = f->usable[head++];
    fz_obj_t *o = f->addr[id];
    for (uint32_t k = 0; k < f->nrefs[id]; k++) {
      int32_t e = f->edge[id][k];
      if (e < 0) {
        if (o->ref[k] != NULL)
          FAIL("op %zu, %s: object %u field %u should be NULL", f->ops, where, id, k);
        continue;
      }
      check_obj(f, o->ref[k], (uint32_t)e, id, k, where);
      f->addr[e] = o->ref[k];
      if (!f->seen[e]) {
        f->seen[e] = 1;
        f->usable[tail++] = (uint32_t)e;
      }
    }
  }
  f->nusable = tail;
  for (int b = 0; b < MAX_BLOCKS; b++)
    for (size_t i = 0; f->blocks[b].pool != NULL && i < f->blocks[b].size; i++)
      if (f->blocks[b].p[i] != f->blocks[b].fill)
        FAIL("op %zu, %s: manual block %d (%p, %zu bytes) changed at byte %zu", f->ops, where, b,
             (void *)f->blocks[b].p, f->blocks[b].size, i);
  return tail;
}

/* If a collection ran since the last look, check the heap now. */
static void after_gc(fz_t *f, const char *where)
{
  kiln_stats_t st;
  kiln_arena_stats(f->arena, &st);
  if (st.collections != f->gc_seen) {
    f->gc_seen = st.collections;
    TRACE("(a collection ran: %llu so far)", (unsigned long long)st.collections);
    verify(f, where);
  }
}

/* ---- set-up ----------------------------------------------------------- */

/* young: an ms pool's young_size (sticky mark bits), 0 for none; step:
   its young_step (incremental minor collections), 0 for none. */
static kiln_res_t add_auto(fz_t *f, kiln_class_t klass, size_t seg, size_t large, size_t young,
                           size_t step, kiln_pool_t to)
{
  kiln_arg_t args[6] = {KILN_ARG_PTR("format", f->fmt), KILN_ARGS_END, KILN_ARGS_END,
                        KILN_ARGS_END, KILN_ARGS_END, KILN_ARGS_END};
  int n = 1;
  if (klass == kiln_class_gen()) {
    kiln_arg_t a[] = {KILN_ARG_PTR("promote_to", to), KILN_ARG_SIZE("nursery_size", seg * 4),
                      KILN_ARG_SIZE("chunk_size", seg)};
    memcpy(&args[n], a, sizeof a);
    n += 3;
  } else {
    kiln_arg_t a[] = {KILN_ARG_SIZE("segment_size", seg), KILN_ARG_SIZE("large_size", large),
                      KILN_ARG_SIZE("young_size", young), KILN_ARG_SIZE("young_step", step)};
    n += klass == kiln_class_ms() ? 4 : 2; /* copy takes no young_size, young_step */
    memcpy(&args[1], a, (size_t)(n - 1) * sizeof a[0]);
  }
  kiln_pool_t pool;
  kiln_res_t res = kiln_pool_create(&pool, f->arena, klass, args);
  if (res != KILN_OK) {
    TRACE("pool %s refused: %s", kiln_class_name(klass), kiln_arena_error(f->arena));
    return res;
  }
  TRACE("pool %d: %s segment/chunk %zu large %zu young %zu step %zu%s", f->npools,
        kiln_class_name(klass), seg, large, young, step,
        to != NULL ? " (promoting into the previous pool)" : "");
  f->pools[f->npools] = pool;
  f->aps[f->npools] = NULL;
  f->npools++;
  return KILN_OK;
}

static void add_pool(fz_t *f, input_t *in)
{
  unsigned r = next(in), c = r % 6, b = next(in);
  size_t seg = (size_t)16384 << (b % 4);   /* 16KB..128KB: the classes' minimum up */
  size_t large = (size_t)64 << (b / 4 % 9); /* 64B..16KB */
  /* ms: sticky mark bits for a choice byte of 192 or more (a quarter of
     them). The saved inputs (fuzz/regress/api) have smaller ones there, so
     they keep their plain ms pools and still replay the bugs they were
     saved for. */
  size_t young = r >= 192 ? seg * 2 : 0;
  size_t step = r >= 224 ? seg / 16 : 0; /* half of them incremental */
  kiln_res_t res = KILN_OK;
  if (c < 4 && f->npools + 2 <= MAX_POOLS) {
    kiln_class_t klass = c == 0 || c == 2 ? kiln_class_ms() : kiln_class_copy();
    res = add_auto(f, klass, seg, large, young, step, NULL);
    if (res == KILN_OK && c >= 2) {
      res = add_auto(f, kiln_class_gen(), seg, large, 0, 0, f->pools[f->npools - 1]);
    }
  } else if (c >= 4 && f->nmanual < MAX_MANUAL) {
    kiln_pool_t pool;
    size_t unit = 8 + (size_t)(b % 32) * 8;
    kiln_arg_t margs[] = {KILN_ARG_SIZE("unit_size", unit), KILN_ARG_SIZE("extend_by", 4096),
                          KILN_ARGS_END};
    kiln_arg_t vargs[] = {KILN_ARG_SIZE("extend_by", 4096 << (b % 3)), KILN_ARGS_END};
    res = kiln_pool_create(&pool, f->arena, c == 4 ? kiln_class_mfs() : kiln_class_mvff(),
                           c == 4 ? margs : vargs);
    TRACE("manual pool %d: %s unit %zu: %s", f->nmanual, c == 4 ? "mfs" : "mvff", unit,
          kiln_res_name(res));
    if (res == KILN_OK) {
      f->manual[f->nmanual] = pool;
      f->unit[f->nmanual++] = c == 4 ? unit : 0;
    }
  }
  /* A refused pool is fine (a commit limit, say); the program carries on. */
  (void)res;
}

static int setup(fz_t *f, input_t *in)
{
  unsigned a = next(in), b = next(in);
  size_t reserve = (size_t)8 << 20 << (a % 4);              /* 8MB..64MB */
  static const size_t limits[] = {0, 1u << 20, 2u << 20, 4u << 20, 8u << 20, 16u << 20};
  static const size_t stress[] = {0, 0, 0, 1, 2, 7, 31, 0};
  kiln_arg_t args[] = {KILN_ARG_SIZE("reserve", reserve),
                       KILN_ARG_SIZE("commit_limit", limits[(a / 4) % 6]),
                       KILN_ARG_SIZE("spare", (size_t)(b % 2) << 20),
                       KILN_ARG_SIZE("stress", stress[(b / 2) % 8]),
                       KILN_ARG_SIZE("budget_min", (size_t)64 << 10 << (b / 16 % 6)),
                       KILN_ARGS_END};
  if (kiln_arena_create(&f->arena, args) != KILN_OK)
    return 0;
  TRACE("arena: reserve %zu commit_limit %zu spare %zu stress %zu budget_min %zu", args[0].size,
        args[1].size, args[2].size, args[3].size, args[4].size);
  if (kiln_fmt_create(&f->fmt, f->arena, fz_format()) != KILN_OK)
    FAIL("kiln_fmt_create refused the fuzz format: %s", kiln_arena_error(f->arena));
  unsigned npools = 1 + next(in) % 4;
  for (unsigned i = 0; i < npools; i++)
    add_pool(f, in);
  for (int i = 0; i < f->npools; i++)
    if (kiln_ap_create(&f->aps[i], f->pools[i], NULL) != KILN_OK)
      f->aps[i] = NULL;
  for (int s = 0; s < NROOTS; s++)
    f->mroot[s] = -1;
  f->ambig = a >= 192; /* the saved inputs (fuzz/regress/api) start lower */
  void **split = f->roots + (f->ambig ? NROOTS / 2 : NROOTS);
  if (kiln_root_create_area(&f->root, f->arena, f->roots, split, KILN_RANK_EXACT) != KILN_OK ||
      (f->ambig && kiln_root_create_area(&f->amb, f->arena, split, f->roots + NROOTS,
                                         KILN_RANK_AMBIG) != KILN_OK))
    FAIL("kiln_root_create_area: %s", kiln_arena_error(f->arena));
  TRACE("roots: %d exact, %d ambiguous", (int)(split - f->roots), (int)(f->roots + NROOTS - split));
  return 1;
}

static void teardown(fz_t *f)
{
  if (f->arena == NULL)
    return;
  for (int b = 0; b < MAX_BLOCKS; b++)
    if (f->blocks[b].pool != NULL)
      kiln_free(f->blocks[b].pool, f->blocks[b].p, f->blocks[b].size);
  kiln_root_destroy(f->root);
  for (int i = f->npools - 1; i >= 0; i--) {
    if (f->aps[i] != NULL)
      kiln_ap_destroy(f->aps[i]);
  }
  for (int i = f->npools - 1; i >= 0; i--)
    kiln_pool_destroy(f->pools[i]);
  for (int i = f->nmanual - 1; i >= 0; i--)
    kiln_pool_destroy(f->manual[i]);
  kiln_fmt_destroy(f->fmt);
  kiln_arena_destroy(f->arena);
}

/* ---- operations -------------------------------------------------------- */

static uint32_t pick_usable(fz_t *f, input_t *in)
{
  return f->usable[(next(in) | next(in) << 8) % f->nusable];
}

/* Map the edge selectors read from the input onto usable objects (NULL when
   the selector says so or nothing is usable). */
static void pick_edges(fz_t *f, const unsigned sel[], uint32_t nrefs, int32_t edges[])
{
  for (uint32_t k = 0; k < nrefs; k++)
    edges[k] = f->nusable > 0 && sel[k] % 4 != 0 ? (int32_t)f->usable[(sel[k] >> 2) % f->nusable]
                                                 : -1;
}

/* Allocate with the fields filled in before kiln_commit (stores that need
   no barrier, kiln.h), redoing them if a collection intervenes. */
static kiln_res_t alloc_init_first(fz_t *f, kiln_ap_t ap, fz_obj_t **o_o, uint32_t id,
                                   uint32_t nrefs, uint32_t npay, const unsigned sel[],
                                   int32_t edges[])
{
  size_t size = fz_obj_size(nrefs, npay);
  void *p;
  fz_obj_t *o;
  do {
    kiln_res_t res = kiln_reserve(&p, ap, size);
    after_gc(f, "after reserve");
    if (res != KILN_OK)
      return res;
    o = fz_obj_init(p, id, nrefs, npay);
    pick_edges(f, sel, nrefs, edges);
    for (uint32_t k = 0; k < nrefs; k++)
      o->ref[k] = edges[k] < 0 ? NULL : f->addr[edges[k]];
  } while (!kiln_commit(ap, p, size));
  *o_o = o;
  return KILN_OK;
}

static void op_alloc(fz_t *f, input_t *in)
{
  unsigned which = next(in), shape = next(in), pay = next(in), sel[FZ_MAX_REFS];
  uint32_t nrefs = shape % (FZ_MAX_REFS + 1);
  for (uint32_t k = 0; k < nrefs; k++)
    sel[k] = next(in) | next(in) << 8;
  if (f->nobj == MAX_OBJS || f->npools == 0)
    return;
  int i = (int)(which % (unsigned)f->npools), first = (which & 0x80) != 0;
  if (f->aps[i] == NULL)
    return;
  uint32_t id = (uint32_t)f->nobj;
  uint32_t npay = shape >= 0xf0 ? pay * 160 : pay % 128;   /* sometimes up to 40KB */
  int32_t edges[FZ_MAX_REFS];
  fz_obj_t *o;
  kiln_res_t res;
  if (first) {
    res = alloc_init_first(f, f->aps[i], &o, id, nrefs, npay, sel, edges);
  } else {
    res = fz_obj_new(&o, f->aps[i], id, nrefs, npay);
    after_gc(f, "after reserve");
  }
  TRACE("op %zu: alloc id %u in pool %d: %u refs, %u bytes, fields set %s commit: %s %p", f->ops,
        id, i, nrefs, npay, first ? "before" : "after", kiln_res_name(res),
        res == KILN_OK ? (void *)o : NULL);
  if (res != KILN_OK)
    return;   /* out of room (commit limit): the heap must carry on */
  f->nobj++;
  f->nrefs[id] = nrefs;
  f->npay[id] = npay;
  f->addr[id] = o;
  if (!first) {
    /* Committed with NULL fields: from here on every store is a mutator
       store and goes through the barrier (kiln.h). */
    pick_edges(f, sel, nrefs, edges);
    for (uint32_t k = 0; k < nrefs; k++)
      if (edges[k] >= 0)
        kiln_write(f->arena, o, (void **)&o->ref[k], f->addr[edges[k]]);
  }
  for (uint32_t k = 0; k < nrefs; k++) {
    f->edge[id][k] = edges[k];
    TRACE("  init %u.%u = %d", id, k, edges[k]);
  }
  /* Link it into a root slot or a field of a usable object. */
  unsigned how = next(in);
  uint32_t parent = f->nusable > 0 ? pick_usable(f, in) : 0;
  if (f->nusable == 0 || f->nrefs[parent] == 0 || how % 2 == 0) {
    unsigned s = how / 2 % NROOTS;
    f->mroot[s] = (int32_t)id;
    f->roots[s] = o;
    TRACE("  root %u = %u", s, id);
  } else {
    uint32_t k = how / 2 % f->nrefs[parent];
    f->edge[parent][k] = (int32_t)id;
    TRACE("  store %u.%u = %u", parent, k, id);
    kiln_write(f->arena, f->addr[parent], (void **)&f->addr[parent]->ref[k], o);
  }
  f->usable[f->nusable++] = id;
}

static void op_store(fz_t *f, input_t *in)
{
  unsigned k = next(in), null = next(in);
  if (f->nusable == 0)
    return;
  uint32_t id = pick_usable(f, in);
  if (f->nrefs[id] == 0)
    return;
  k %= f->nrefs[id];
  int32_t e = null % 5 == 0 ? -1 : (int32_t)pick_usable(f, in);
  TRACE("op %zu: store %u.%u = %d", f->ops, id, k, e);
  f->edge[id][k] = e;
  kiln_write(f->arena, f->addr[id], (void **)&f->addr[id]->ref[k], e < 0 ? NULL : f->addr[e]);
}

static void op_root(fz_t *f, input_t *in, int set)
{
  unsigned s = next(in) % NROOTS;
  if (set && f->nusable > 0) {
    uint32_t id = pick_usable(f, in);
    TRACE("op %zu: root %u = %u", f->ops, s, id);
    f->mroot[s] = (int32_t)id;
    f->roots[s] = f->addr[id];
  } else if (!set) {
    TRACE("op %zu: root %u = NULL", f->ops, s);
    f->mroot[s] = -1;
    f->roots[s] = NULL;
  }
}

static uint64_t pools_live_objects(fz_t *f)
{
  uint64_t n = 0;
  for (int i = 0; i < f->npools; i++) {
    kiln_pool_stats_t ps;
    kiln_pool_stats(f->pools[i], &ps);
    n += ps.live_objects;
  }
  return n;
}

static void op_collect(fz_t *f, input_t *in, int whole)
{
  unsigned which = next(in);
  if (whole || f->npools == 0) {
    kiln_stats_t st;
    TRACE("op %zu: kiln_arena_collect", f->ops);
    kiln_arena_collect(f->arena);
    kiln_arena_stats(f->arena, &st);
    f->gc_seen = st.collections;
    verify(f, "after kiln_arena_collect");
    if (pools_live_objects(f) != f->nusable)
      FAIL("op %zu: after a full collection the pools count %llu live objects, the model %zu",
           f->ops, (unsigned long long)pools_live_objects(f), f->nusable);
  } else {
    TRACE("op %zu: kiln_pool_collect(pool %u)", f->ops, which % (unsigned)f->npools);
    kiln_pool_collect(f->pools[which % (unsigned)f->npools]);
    after_gc(f, "after kiln_pool_collect");
  }
}

static void op_manual_alloc(fz_t *f, input_t *in)
{
  unsigned which = next(in), sz = next(in), slot = next(in) % MAX_BLOCKS;
  if (f->nmanual == 0 || f->blocks[slot].pool != NULL)
    return;
  int m = (int)(which % (unsigned)f->nmanual);
  size_t size = f->unit[m] != 0 ? f->unit[m] : 1 + (sz >= 0xf0 ? sz * 64 : sz);
  void *p;
  kiln_res_t res = kiln_alloc(&p, f->manual[m], size);
  TRACE("op %zu: kiln_alloc %zu bytes from manual pool %d into block %u: %s", f->ops, size, m,
        slot, kiln_res_name(res));
  if (res != KILN_OK)
    return;
  block_t *b = &f->blocks[slot];
  b->pool = f->manual[m];
  b->p = p;
  b->size = size;
  b->fill = (uint8_t)(slot * 7 + 1);
  memset(p, b->fill, size);
}

static void op_manual_free(fz_t *f, input_t *in)
{
  block_t *b = &f->blocks[next(in) % MAX_BLOCKS];
  if (b->pool == NULL)
    return;
  for (size_t i = 0; i < b->size; i++)
    if (b->p[i] != b->fill)
      FAIL("op %zu: manual block %p changed at byte %zu before its free", f->ops,
           (void *)b->p, i);
  TRACE("op %zu: kiln_free block %p (%zu bytes)", f->ops, (void *)b->p, b->size);
  kiln_free(b->pool, b->p, b->size);
  b->pool = NULL;
}

/* ---- misuse ------------------------------------------------------------ */

static void expect_refused(fz_t *f, kiln_res_t res, const char *what)
{
  const char *why = kiln_arena_error(NULL);
  TRACE("op %zu: misuse: %s: %s (%s)", f->ops, what, kiln_res_name(res), why);
  if (res != KILN_PARAM || why[0] == '\0')
    FAIL("op %zu: misuse '%s' returned %s with the sentence '%s', not KILN_PARAM with one",
         f->ops, what, kiln_res_name(res), why);
}

/* A reserve that must reach the slow path and be refused: a size that is
   not a multiple of the alignment and more than the buffer has left. */
static void misuse_misaligned_reserve(fz_t *f, kiln_ap_t ap, unsigned b)
{
  size_t left = ap->limit != NULL ? (size_t)(ap->limit - ap->alloc) : 0;
  size_t size = (left / 8 + 1 + b % 64) * 8 + 1 + b % 7;
  void *p;
  expect_refused(f, kiln_reserve(&p, ap, size), "kiln_reserve of a misaligned size");
}

/* Misuse whose outcome is the same in every build. */
static void misuse_refused(fz_t *f, unsigned kind, unsigned b)
{
  kiln_pool_t pool = f->npools > 0 ? f->pools[b % (unsigned)f->npools] : NULL;
  kiln_ap_t ap = f->npools > 0 ? f->aps[b % (unsigned)f->npools] : NULL;
  void *p, *area[2];
  kiln_ap_t made;
  kiln_root_t root;
  kiln_set_error(KILN_OK, "%s", ""); /* each refusal must say why */
  switch (kind) {
  case 0:
    if (pool != NULL)
      expect_refused(f, kiln_alloc(&p, pool, 8 + b % 64), "kiln_alloc from an automatic pool");
    break;
  case 1:
    expect_refused(f, kiln_alloc(&p, NULL, 8), "kiln_alloc from a NULL pool");
    break;
  case 2:
    if (f->nmanual > 0)
      expect_refused(f, kiln_ap_create(&made, f->manual[b % (unsigned)f->nmanual], NULL),
                     "kiln_ap_create on a manual pool");
    break;
  case 3:
    if (ap != NULL)
      misuse_misaligned_reserve(f, ap, b);
    break;
  case 4:
    if (ap != NULL)
      expect_refused(f, kiln_ap_fill(&p, ap, 0), "kiln_reserve of 0 bytes");
    break;
  case 5:
    expect_refused(f, kiln_ap_fill(&p, NULL, 8), "kiln_reserve on a NULL allocation point");
    break;
  case 6:
    expect_refused(f, kiln_root_create_area(&root, f->arena, area + 1, area, KILN_RANK_EXACT),
                   "kiln_root_create_area with limit below base");
    break;
  default:
    if (kiln_pool_class(NULL) != NULL || kiln_pool_arena(NULL) != NULL)
      FAIL("op %zu: kiln_pool_class or kiln_pool_arena of NULL is not NULL", f->ops);
    break;
  }
}

#ifndef KILN_CHECKED
/* Misuse a checked build reports by aborting; the default build ignores
   it and says why. */
static void expect_ignored(fz_t *f, const char *what)
{
  const char *why = kiln_arena_error(NULL);
  TRACE("op %zu: misuse: %s: ignored (%s)", f->ops, what, why);
  if (why[0] == '\0')
    FAIL("op %zu: misuse '%s' was ignored without a sentence", f->ops, what);
}

static void misuse_ignored(fz_t *f, input_t *in, unsigned kind)
{
  kiln_set_error(KILN_OK, "%s", "");
  switch (kind) {
  case 0:
    if (f->npools > 0 && f->nusable > 0) {
      uint32_t id = pick_usable(f, in);
      kiln_pool_t pool = f->pools[id % (unsigned)f->npools];
      kiln_free(pool, f->addr[id], fz_obj_size(f->nrefs[id], f->npay[id]));
      expect_ignored(f, "kiln_free on an automatic pool");
    }
    break;
  case 1:
    kiln_free(NULL, f->roots, sizeof f->roots);
    expect_ignored(f, "kiln_free on a NULL pool");
    break;
  case 2:
    kiln_arena_collect(NULL);
    expect_ignored(f, "kiln_arena_collect(NULL)");
    break;
  case 3:
    kiln_pool_collect(NULL);
    expect_ignored(f, "kiln_pool_collect(NULL)");
    break;
  case 4:
    kiln_arena_release(f->arena); /* never parked */
    expect_ignored(f, "kiln_arena_release without kiln_arena_park");
    break;
  case 5: {
    kiln_ap_t ap = f->npools > 0 ? f->aps[in->i % (unsigned)f->npools] : NULL;
    if (ap != NULL && ap->limit == NULL) { /* no buffer: the commit reaches its slow path */
      if (kiln_commit(ap, f->roots, 16) != 0)
        FAIL("op %zu: kiln_commit without a reservation succeeded", f->ops);
      expect_ignored(f, "kiln_commit without kiln_reserve");
    }
    break;
  }
  default: {
    kiln_stats_t st;
    kiln_arena_stats(NULL, &st);
    expect_ignored(f, "kiln_arena_stats(NULL)");
    break;
  }
  }
}
#endif

static void op_misuse(fz_t *f, input_t *in)
{
  unsigned kind = next(in), b = next(in);
#ifndef KILN_CHECKED
  if (kind >= 128) {
    misuse_ignored(f, in, kind % 8);
    after_gc(f, "after a misuse");
    return;
  }
#endif
  misuse_refused(f, kind % 8, b);
  after_gc(f, "after a misuse");
}

int fuzz_api_one(const uint8_t *data, size_t size)
{
  static fz_t f;   /* big: kept off the stack, cleared per input */
  input_t in = {data, size, 0};
  memset(&f, 0, sizeof f);
  trace = getenv("KILN_FUZZ_TRACE") != NULL;
  if (!setup(&f, &in)) {
    teardown(&f);
    return 0;
  }
  for (f.ops = 0; in.i < in.n && f.ops < MAX_OPS; f.ops++) {
    unsigned raw = next(&in), op = raw % 16;
    if (raw >= MISUSE_FIRST && raw <= MISUSE_LAST)
      op_misuse(&f, &in);
    else if (op < 5)
      op_alloc(&f, &in);
    else if (op < 8)
      op_store(&f, &in);
    else if (op < 10)
      op_root(&f, &in, 1);
    else if (op < 11)
      op_root(&f, &in, 0);
    else if (op < 12)
      op_collect(&f, &in, 1);
    else if (op < 13)
      op_collect(&f, &in, 0);
    else if (op < 15)
      op_manual_alloc(&f, &in);
    else
      op_manual_free(&f, &in);
  }
  op_collect(&f, &in, 1);
  teardown(&f);
  return 0;
}

#ifndef KILN_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  return fuzz_api_one(data, size);
}
#endif
