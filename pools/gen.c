/* gen.c -- generational pool: a bump-allocated nursery whose survivors are
 * evacuated into another automatic pool (`promote_to`: ms, copy, ...),
 * optionally after aging in a survivor space of the pool's own.
 *
 * The nursery is a set of chunks (segments of `chunk_size` bytes). An AP
 * takes the free tail of one chunk as its buffer. When `nursery_size` bytes
 * have been handed out since the last minor collection, the next fill runs
 * a minor collection: it condemns only this pool's chunks; every other
 * automatic segment is a root if its summary or dirty cards say it may point
 * into the nursery (the write barrier is the remembered set, remset.c).
 * Survivors are copied and forwarded (format fwd), so the nursery is empty
 * afterwards and its chunks are reused at the same addresses (stable zones
 * keep KILN_FIX1's white set narrow).
 *
 * Survivor space (`survivor_age` N > 0). Every chunk has an age: the number
 * of collections its objects have survived. Chunks APs allocate in are age
 * 0; survivor chunks, ages 1..N, are only ever filled by the collector, one
 * cohort per age (gen->cohort), so all objects of a chunk have the same age
 * and no object header records it. A survivor of a chunk of age a < N is
 * copied into the cohort chunk of age a + 1; one of age N (or of age 0 when
 * N is 0) goes to promote_to through its class's `promote` hook. So an
 * object is promoted at the (N+1)th collection it survives, and one that
 * dies within N collections never reaches promote_to. Survivor chunks are
 * segments of this pool like nursery chunks: every collection of the pool
 * condemns them, they sit in the pool's zones (so the white set stays the
 * same narrow set), they pin like nursery chunks, and once emptied they
 * become age-0 chunks for APs or go back to the arena. A survivor chunk is
 * never handed to an AP, so its ages never mix; the unused tail of a cohort
 * chunk (at most one per age at any time) is left past `free`, outside the
 * walked range, and is reclaimed with the chunk at the next collection.
 * Bytes copied into the survivor space count as copied, not as growth of
 * the older generations (trace->aged), so they do not spend the budget of
 * full collections.
 *
 * Full collections (and kiln_pool_collect of this pool) condemn the chunks
 * exactly as minor ones do: survivors age by one, so a full collection
 * counts as a collection survived. This keeps short-lived objects out of
 * the mature space whenever a collection happens, and under stress mode
 * (a full collection at every fill) it still exercises the survivor space.
 *
 * Out of memory. If no survivor chunk can be had (commit limit), a survivor
 * is promoted early; if promote_to cannot take it either, it is pinned in
 * place rather than lost: the collection still completes. If no nursery
 * chunk can be had for an AP, its objects are allocated in promote_to as
 * pretenured ones are (a copying promote_to may still have holes after a
 * collection that could not copy); the nursery comes back when a
 * collection frees enough memory for a chunk.
 *
 * Pinning is per object: an ambiguous reference marks its object in place
 * (an object-start bitmap for the chunk is built on the first ambiguous hit,
 * by walking the chunk with the format's skip). A chunk holding a pinned
 * object is retained: its dead objects become padding, its age goes up by
 * one (at most N: its objects did survive), and it is condemned again at
 * the next collection, when the pinned objects may move on. It keeps the
 * pinned objects' marks as its start bits, which then mark exactly its
 * objects: walks visit those and no pad, and the next trace needs no map.
 * Client pins (kiln_pin) are ambiguous references, so they pin this way.
 *
 * Objects of `large_size` bytes or more are allocated directly in
 * promote_to (pretenured): copying them would cost more than it saves.
 *
 * Prefaulting (`prefault`, on by default). A minor collection that
 * promotes into memory the process never touched takes a page fault per
 * page inside its pause, which can be most of a minor pause.
 * So each fill keeps nursery_size bytes of free memory where promote_to's
 * next segments go (first fit, outside the nurseries' zones) committed and
 * faulted in, doing at most chunk_size bytes of that work per fill: the
 * mutator pays the faults a chunk at a time instead of a pause paying them
 * all. It costs up to nursery_size more resident memory, within the
 * arena's `spare`.
 *
 * Invariants: outside a trace, no chunk is white or nailed and every cohort
 * slot is NULL; objects of a chunk occupy [base, free) contiguously (pads
 * included), so the chunk can be scanned as one formatted range; only a
 * retained chunk holds pads, and its start bits mark exactly its objects;
 * all objects of a chunk have survived `age` collections, 0 <= age <= N;
 * a chunk of age > 0 is never on the fresh list nor an AP's buffer;
 * survivor_chunks counts the chunks of age > 0.
 */
#include "config.h"
#include "pool.h"
#include "poolutil.h"

#include <stdlib.h>
#include <string.h>

typedef struct chunk_s {
  struct seg_s seg;
  char *free;              /* objects occupy [base, free) */
  ring_t fresh;            /* in gen->fresh while it has room and no AP */
  uint64_t *starts, *mark; /* built on the first ambiguous hit of a trace; a retained
                              chunk keeps starts (see Pinning) */
  size_t grains;
  int retained;            /* kept by a pin: not allocated into again */
  unsigned age;            /* collections its objects survived: 0 nursery, 1..N survivor */
} chunk_t;

#define AGE_MAX 15 /* survivor_age's bound: beyond it an object is long-lived anyway */

typedef struct gen_s {
  struct kiln_pool_s pool;
  size_t nursery_size, chunk_size, large_size, header, grain;
  unsigned shift;
  pool_t promote;
  size_t handed;           /* bytes given to APs since the last minor GC */
  size_t chunks;
  size_t survivor_chunks;  /* chunks of age > 0 */
  unsigned survivor_age;   /* N: collections spent in the survivor space */
  chunk_t *cohort[AGE_MAX + 1]; /* during a trace: survivor chunk filled per age */
  int survivor_full;       /* this trace could not get a survivor chunk: stop asking */
  int prefault;            /* keep promotion memory faulted in (arena_prefault) */
  int refused;             /* a chunk was refused (commit limit) and none had since */
  uint64_t refused_at;     /* the arena's collection count when it was first refused */
  ring_t fresh;
} gen_t;

enum { P_FORMAT, P_NURSERY, P_PROMOTE, P_SURVIVOR_AGE, P_CHUNK, P_LARGE, P_PREFAULT };
static const kiln_param_t gen_params[] = {
  {"format", KILN_ARGT_PTR, NULL, 0, 0, "the object format (kiln_fmt_create)"},
  {"nursery_size", KILN_ARGT_SIZE, "4MB", 4096, 0,
   "bytes allocated between minor collections (a few KB make tests collect often)"},
  {"promote_to", KILN_ARGT_PTR, NULL, 0, 0, "the automatic pool survivors are evacuated into"},
  {"survivor_age", KILN_ARGT_SIZE, "0", 0, AGE_MAX,
   "collections a survivor ages in the survivor space before promotion (0: promote at once)"},
  {"chunk_size", KILN_ARGT_SIZE, "256KB", 16384, 1u << 30, "bytes per nursery chunk"},
  {"large_size", KILN_ARGT_SIZE, "16KB", 64, 1u << 30, "objects this big go straight to promote_to"},
  {"prefault", KILN_ARGT_BOOL, "true", 0, 0,
   "keep nursery_size bytes of promotion memory faulted in, so minor pauses take no page faults"},
  {NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};

static gen_t *gen_of(pool_t pool) { return (gen_t *)pool; }
static chunk_t *chunk_of(seg_t seg) { return (chunk_t *)seg; }
static const kiln_format_t *fmt_of(gen_t *g) { return &g->pool.fmt->f; }

static const seg_class_t chunk_class;

/* ---- creation --------------------------------------------------------- */

static kiln_res_t check_promote(pool_t pool, pool_t to)
{
  kiln_arena_t arena = pool->arena;
  if (to == NULL || to->sig != SIG_POOL || to->arena != arena)
    return arena_errorf(arena, KILN_PARAM,
                        "pool class 'gen': parameter 'promote_to' must be a pool of this arena");
  if (to->klass->promote == NULL)
    return arena_errorf(arena, KILN_PARAM,
                        "pool class 'gen': promote_to is a '%s' pool, which cannot take promoted "
                        "objects (use an automatic pool such as ms or copy)", to->klass->name);
  if (to->fmt != pool->fmt)
    return arena_errorf(arena, KILN_PARAM,
                        "pool class 'gen': promote_to must use the same format as the nursery");
  return KILN_OK;
}

/* Claim zones for the nursery (about twice its size in 1 MiB stripes, from
   the top), so other pools place their segments elsewhere. */
static void claim_zones(gen_t *g)
{
  kiln_arena_t arena = g->pool.arena;
  size_t want = 2 * ((g->nursery_size + ((size_t)1 << ZONE_SHIFT) - 1) >> ZONE_SHIFT);
  if (want > 16)
    want = 16;
  for (int z = 63; z >= 0 && want > 0; z--) {
    uint64_t bit = (uint64_t)1 << z;
    if (!(arena->nursery_zones & bit)) {
      g->pool.zones |= bit;
      want--;
    }
  }
  arena->nursery_zones |= g->pool.zones;
}

static kiln_res_t gen_init(pool_t pool, const pval_t *v)
{
  gen_t *g = gen_of(pool);
  kiln_arena_t arena = pool->arena;
  if (!arena->barrier)
    return arena_errorf(arena, KILN_PARAM,
                        "pool class 'gen': the arena was created with barrier = \"none\", but a "
                        "generational pool relies on kiln_write's card marks to find old-to-young "
                        "references; create the arena with barrier = \"card\"");
  kiln_res_t res = check_promote(pool, v[P_PROMOTE].ptr);
  if (res != KILN_OK)
    return res;
  g->survivor_age = (unsigned)v[P_SURVIVOR_AGE].size; /* <= AGE_MAX: param.c checked */
  g->promote = v[P_PROMOTE].ptr;
  g->nursery_size = v[P_NURSERY].size;
  g->chunk_size = v[P_CHUNK].size < g->nursery_size ? v[P_CHUNK].size : g->nursery_size;
  g->large_size = v[P_LARGE].size;
  g->prefault = v[P_PREFAULT].b;
  if (g->large_size > g->chunk_size / 2)
    g->large_size = g->chunk_size / 2;
  g->header = pool->fmt->f.header_size;
  g->grain = pool->fmt->f.align > 8 ? pool->fmt->f.align : 8;
  while (((size_t)1 << g->shift) < g->grain)
    g->shift++;
  ring_init(&g->fresh);
  claim_zones(g);
  return KILN_OK;
}

/* Every change of a chunk's age goes through here, to keep survivor_chunks. */
static void set_age(gen_t *g, chunk_t *c, unsigned age)
{
  if (c->age == 0 && age > 0)
    g->survivor_chunks++;
  else if (c->age > 0 && age == 0)
    g->survivor_chunks--;
  c->age = age;
}

static void chunk_free(gen_t *g, chunk_t *c)
{
  set_age(g, c, 0);
  ring_remove(&c->fresh);
  free(c->starts);
  g->chunks--;
  seg_free(&c->seg);
}

static void gen_finish(pool_t pool)
{
  pool->arena->nursery_zones &= ~pool->zones;
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt)
    chunk_free(gen_of(pool), chunk_of(SEG_OF_RING(node)));
}

static kiln_res_t chunk_new(chunk_t **c_o, gen_t *g)
{
  seg_t seg;
  kiln_res_t res = seg_alloc(&seg, &g->pool, &chunk_class, g->chunk_size);
  if (res != KILN_OK)
    return res;
  chunk_t *c = chunk_of(seg);
  c->free = (char *)seg->base;
  c->grains = seg_size(seg) >> g->shift;
  ring_init(&c->fresh);
  g->chunks++;
  *c_o = c;
  return KILN_OK;
}

/* ---- allocation ------------------------------------------------------- */

static kiln_res_t fill_pretenured(char **base_o, char **limit_o, gen_t *g, ap_t *ap, size_t size)
{
  ap->priv[0] = 1; /* this buffer belongs to promote_to */
  return g->promote->klass->fill(base_o, limit_o, g->promote, ap, size);
}

/* No chunk can be had (commit limit, res). The first time, fail if a
   collection may run: the allocation point's slow path then runs a full
   collection, which empties the nursery. If a collection has run since
   (or none may) and still no chunk can be had, allocate in promote_to as
   for a pretenured object: its free space may be holes no chunk fits in
   (a copying pool's kept segments). The objects skip the nursery until a
   chunk is free again. */
static kiln_res_t fill_instead(char **base_o, char **limit_o, gen_t *g, ap_t *ap, size_t size,
                               kiln_res_t res)
{
  kiln_arena_t arena = g->pool.arena;
  uint64_t collections = arena->stats.collections;
  if (!g->refused) {
    g->refused = 1;
    g->refused_at = collections;
  }
  if (collections == g->refused_at && arena->park_depth == 0 && !arena->collecting)
    return res;
  if (fill_pretenured(base_o, limit_o, g, ap, size) == KILN_OK)
    return KILN_OK;
  ap->priv[0] = 0;
  return res;
}

static kiln_res_t gen_fill(char **base_o, char **limit_o, pool_t pool, ap_t *ap, size_t size)
{
  gen_t *g = gen_of(pool);
  kiln_arena_t arena = pool->arena;
  if (size >= g->large_size)
    return fill_pretenured(base_o, limit_o, g, ap, size);
  ap->priv[0] = 0;
  if (g->handed >= g->nursery_size && arena->park_depth == 0 && !arena->collecting)
    trace_collect(arena, pool, 1);
  if (g->prefault && !arena->collecting)
    arena_prefault(arena, g->nursery_size, g->chunk_size, pool_seg_zones(g->promote));
  chunk_t *c = NULL;
  ring_t *node, *nxt;
  RING_FOR(node, &g->fresh, nxt) {
    chunk_t *f = CONTAINER(node, chunk_t, fresh);
    if ((size_t)((char *)f->seg.limit - f->free) >= size) {
      c = f;
      break;
    }
  }
  if (c == NULL) {
    kiln_res_t res = chunk_new(&c, g);
    if (res != KILN_OK)
      return fill_instead(base_o, limit_o, g, ap, size, res);
  }
  g->refused = 0;
  ring_remove(&c->fresh);
  c->seg.summary = ZONES_ALL;
  *base_o = c->free;
  *limit_o = (char *)c->seg.limit;
  g->handed += (size_t)(*limit_o - *base_o);
  return KILN_OK;
}

static void gen_empty(pool_t pool, ap_t *ap, char *base, char *init, char *limit)
{
  gen_t *g = gen_of(pool);
  if (ap->priv[0]) {
    ap->priv[0] = 0;
    g->promote->klass->empty(g->promote, ap, base, init, limit);
    return;
  }
  chunk_t *c = chunk_of(arena_seg_of(pool->arena, base));
  c->free = init;
  pool->st.in_use += (size_t)(init - base);
  g->handed -= (size_t)(limit - init);
  if ((size_t)(limit - init) >= 64 && !c->retained)
    ring_append(&g->fresh, &c->fresh);
}

/* ---- tracing ---------------------------------------------------------- */

/* The white set of a collection of the nursery is all its claimed zones,
   used or not, so it is the same at every collection: a summary is exact
   only in the white zones of the collection that computed it, and with a
   white set that moved with the chunks in use, the next minor collection
   would find a white zone in it and scan the segment whole. */
static void gen_condemn(pool_t pool, trace_t *trace)
{
  gen_t *g = gen_of(pool);
  trace->white |= pool->zones;
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt)
    ring_remove(&chunk_of(SEG_OF_RING(node))->fresh);
  g->handed = 0;
  for (unsigned a = 0; a <= AGE_MAX; a++)
    KILN_ASSERT(g->cohort[a] == NULL); /* gen_reclaimed emptied them */
  g->survivor_full = 0;
}

static uint64_t chunk_whiten(seg_t seg, trace_t *trace)
{
  (void)trace;
  return zones_of_range(seg->base, (uintptr_t)chunk_of(seg)->free);
}

static void *client_of(gen_t *g, chunk_t *c, size_t i)
{
  return grain_client(&c->seg, i, g->shift, g->header);
}
static size_t grain_of(gen_t *g, chunk_t *c, void *obj)
{
  return grain_index(&c->seg, obj, g->shift, g->header);
}

/* Build the object-start map of a chunk by walking it (first ambiguous hit). */
static int chunk_map(gen_t *g, chunk_t *c)
{
  if (c->starts != NULL)
    return 1;
  size_t words = bits_words(c->grains);
  c->starts = calloc(2 * words, sizeof(uint64_t));
  if (c->starts == NULL)
    return 0;
  c->mark = c->starts + words;
  for (char *o = (char *)c->seg.base + g->header; o - g->header < c->free; o = fmt_of(g)->skip(o)) {
    size_t i = grain_of(g, c, o);
    bit_set(c->starts, i);
  }
  return 1;
}

/* The client pointer of the object containing ref, or NULL. */
static void *ambig_object(gen_t *g, chunk_t *c, uintptr_t ref)
{
  if (ref >= (uintptr_t)c->free || !chunk_map(g, c))
    return NULL; /* no memory for the map: conservatively ignored below */
  size_t i = starts_object(&g->pool, &c->seg, c->starts, g->shift, ref);
  return i == (size_t)-1 ? NULL : client_of(g, c, i);
}

static void pin(gen_t *g, chunk_t *c, void *obj, trace_t *trace)
{
  size_t i = grain_of(g, c, obj);
  bit_set(c->mark, i);
  c->seg.nailed = 1;
  g->pool.st.live += pool_obj_size(&g->pool, obj);
  g->pool.st.live_objects++;
  trace->marked += pool_obj_size(&g->pool, obj);
  trace_grey(trace, obj);
}

static int pinned(gen_t *g, chunk_t *c, void *obj)
{
  return c->mark != NULL && bit_get(c->mark, grain_of(g, c, obj));
}

/* Room for size bytes in the survivor chunk of the given age, or NULL when
   no new chunk can be had (commit limit). Runs inside a trace only; a new
   chunk is not white, so what is copied into it survives this trace. */
static char *survivor_alloc(gen_t *g, unsigned age, size_t size)
{
  chunk_t *c = g->cohort[age];
  if (c == NULL || (size_t)((char *)c->seg.limit - c->free) < size) {
    /* Every nursery object fits a chunk (an AP buffer is part of one).
       Once refused, the arena is at its limit for this trace: promote. */
    if (g->survivor_full || chunk_new(&c, g) != KILN_OK) {
      g->survivor_full = 1;
      return NULL;
    }
    KILN_ASSERT(seg_size(&c->seg) >= size);
    set_age(g, c, age);
    g->cohort[age] = c;
  }
  char *block = c->free;
  c->free += size;
  return block;
}

/* Copy a survivor of chunk c one age on: into the survivor space while it
   is younger than survivor_age, else into promote_to; pin it if neither
   has room. */
static kiln_res_t evacuate(gen_t *g, chunk_t *c, void **ref_io, trace_t *trace)
{
  void *obj = *ref_io;
  const struct kiln_type_s *t = g->pool.fmt->desc ? desc_type_of(obj) : NULL;
  size_t size = t != NULL ? desc_size_typed(obj, t) : pool_obj_size(&g->pool, obj);
  void *block = c->age < g->survivor_age ? survivor_alloc(g, c->age + 1, size) : NULL;
  pool_t into = block != NULL ? &g->pool : g->promote;
  if (block != NULL) {
    g->pool.st.live += size;
    g->pool.st.live_objects++;
    trace->aged += size;
  } else if (g->promote->klass->promote(&block, g->promote, size, trace) != KILN_OK) {
    /* promote_to is full: keep the object here rather than lose it. */
    if (chunk_map(g, c))
      pin(g, c, obj, trace);
    return KILN_OK;
  }
  void *copy = pool_move(&g->pool, obj, (char *)block, size, t);
  *ref_io = copy;
  trace->copied += size;
  desc_grey(trace, into, copy);
  return KILN_OK;
}

static kiln_res_t chunk_fix(seg_t seg, kiln_ss_t ss, void **ref_io)
{
  gen_t *g = gen_of(seg->pool);
  chunk_t *c = chunk_of(seg);
  trace_t *trace = ss_trace(ss);
  if (ss_rank(ss) == KILN_RANK_AMBIG) {
    void *obj = ambig_object(g, c, (uintptr_t)*ref_io);
    if (obj != NULL && !pinned(g, c, obj))
      pin(g, c, obj, trace);
    return KILN_OK;
  }
  if ((uintptr_t)*ref_io >= (uintptr_t)c->free)
    return KILN_OK; /* not an object: a stale value in an exact slot is the client's bug */
  void *to = g->pool.fmt->desc ? desc_forwarded(*ref_io) : fmt_of(g)->isfwd(*ref_io);
  if (to != NULL) {
    *ref_io = to;
    return KILN_OK;
  }
  if (pinned(g, c, *ref_io))
    return KILN_OK;
  return evacuate(g, c, ref_io, trace);
}

/* fix_desc (core/seg.h): chunk_fix for an exact reference, with the
   descriptor format's forwarding marker read inline. */
static kiln_res_t chunk_fix_desc(seg_t seg, kiln_ss_t ss, void **ref_io)
{
  gen_t *g = gen_of(seg->pool);
  chunk_t *c = chunk_of(seg);
  void *to;
  kiln_res_t res = KILN_OK;
  if (!g->pool.fmt->desc)
    res = chunk_fix(seg, ss, ref_io);
  else if ((uintptr_t)*ref_io >= (uintptr_t)c->free)
    ; /* not an object, as in chunk_fix */
  else if ((to = desc_forwarded(*ref_io)) != NULL)
    *ref_io = to;
  else if (!pinned(g, c, *ref_io))
    res = evacuate(g, c, ref_io, ss_trace(ss));
  ss_of(ss)->summary |= zone_of(*ref_io);
  return res;
}

static kiln_res_t chunk_scan_obj(seg_t seg, kiln_ss_t ss, void *obj)
{
  if (desc_fast(seg->pool, ss))
    return desc_scan_fused(seg->pool, ss, obj, &chunk_class, chunk_fix_desc);
  return pool_scan_obj(seg->pool, ss, obj);
}

static kiln_res_t chunk_scan(seg_t seg, kiln_ss_t ss)
{
  gen_t *g = gen_of(seg->pool);
  chunk_t *c = chunk_of(seg);
  char *base = (char *)seg->base + g->header;
  if (c->free == (char *)seg->base)
    return KILN_OK;
  ss_trace(ss)->scanned += (size_t)(c->free - (char *)seg->base);
  return pool_scan_range(seg->pool, ss, base, c->free + g->header);
}

/* Every object of the chunk: a retained chunk's are its start bits (the
   rest of it is pads); any other chunk's fill [base, free) with no pad. */
static void chunk_walk(seg_t seg, void (*visit)(void *obj, void *closure), void *closure)
{
  gen_t *g = gen_of(seg->pool);
  chunk_t *c = chunk_of(seg);
  if (c->retained) {
    for (size_t i = bits_find(c->starts, 0, c->grains, 1); i < c->grains;
         i = bits_find(c->starts, i + 1, c->grains, 1))
      visit(client_of(g, c, i), closure);
    return;
  }
  for (char *o = (char *)seg->base + g->header; o - g->header < c->free; o = fmt_of(g)->skip(o))
    visit(o, closure);
}

/* A chunk with pinned objects: pad everything else, keep the chunk, and
   keep the pinned objects' marks as its start bits (its only objects). */
static void retain(gen_t *g, chunk_t *c)
{
  char *o = (char *)c->seg.base + g->header, *end = c->free + g->header;
  while (o < end) {
    char *dead = o;
    while (o < end && !pinned(g, c, o))
      o = fmt_of(g)->skip(o);
    if (o > dead)
      fmt_of(g)->pad(dead, (size_t)(o - dead));
    if (o < end)
      o = fmt_of(g)->skip(o);
  }
  c->retained = 1;
  set_age(g, c, c->age < g->survivor_age ? c->age + 1 : g->survivor_age);
  size_t words = (c->grains + 63) / 64;
  memcpy(c->starts, c->mark, words * sizeof(uint64_t));
  memset(c->mark, 0, words * sizeof(uint64_t));
}

/* An emptied chunk becomes a nursery chunk again, kept for APs while the
   nursery chunks (survivor chunks do not count) are within nursery_size.
   A chunk with pinned objects is retained, its start bits kept. */
static void chunk_reclaim(seg_t seg, trace_t *trace)
{
  gen_t *g = gen_of(seg->pool);
  chunk_t *c = chunk_of(seg);
  (void)trace;
  if (seg->nailed) {
    retain(g, c);
    seg->nailed = 0;
    return;
  }
  set_age(g, c, 0);
  if ((g->chunks - g->survivor_chunks) * g->chunk_size > g->nursery_size) {
    chunk_free(g, c);
    return;
  }
  if (KILN_CHECKING)
    memset((void *)seg->base, KILN_POISON_BYTE, seg_size(seg));
  c->free = (char *)seg->base;
  c->retained = 0;
  ring_append(&g->fresh, &c->fresh);
  free(c->starts);
  c->starts = c->mark = NULL;
}

static void gen_reclaimed(pool_t pool, trace_t *trace)
{
  (void)trace;
  pool->st.in_use = pool->st.live;
  memset(gen_of(pool)->cohort, 0, sizeof gen_of(pool)->cohort);
}

static void *chunk_survivor(seg_t seg, void *obj)
{
  gen_t *g = gen_of(seg->pool);
  chunk_t *c = chunk_of(seg);
  void *to = fmt_of(g)->isfwd(obj);
  if (to != NULL)
    return to;
  return pinned(g, c, obj) ? obj : NULL;
}

/* After a grey-stack overflow. A white chunk's unpushed objects are among
   its pinned ones; any other chunk (a survivor chunk made by this trace)
   holds only copies, scanned whole. chunk_scan_obj counts nothing but
   work, so scanning an object twice is harmless. */
static kiln_res_t chunk_rescan(seg_t seg, kiln_ss_t ss)
{
  gen_t *g = gen_of(seg->pool);
  chunk_t *c = chunk_of(seg);
  if (!seg->white)
    return chunk_scan(seg, ss);
  if (c->mark == NULL)
    return KILN_OK;
  for (size_t i = bits_find(c->mark, 0, c->grains, 1); i < c->grains;
       i = bits_find(c->mark, i + 1, c->grains, 1)) {
    kiln_res_t res = chunk_scan_obj(seg, ss, client_of(g, c, i));
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

static const seg_class_t chunk_class = {
  .name = "gen-chunk", .size = sizeof(chunk_t), .whiten = chunk_whiten, .fix = chunk_fix,
  .scan_obj = chunk_scan_obj, .scan = chunk_scan, .reclaim = chunk_reclaim, .walk = chunk_walk,
  .survivor = chunk_survivor, .rescan = chunk_rescan, .fix_desc = chunk_fix_desc};

static int gen_minor(pool_t pool)
{
  trace_collect(pool->arena, pool, 1);
  return 1;
}

const struct kiln_class_s pool_class_gen = {
  .name = "gen", .doc = "automatic generational: copying nursery promoting into another pool",
  .size = sizeof(gen_t), .attr = CLASS_AUTO | CLASS_MOVING | CLASS_NURSERY, .params = gen_params,
  .init = gen_init, .finish = gen_finish, .fill = gen_fill, .empty = gen_empty,
  .condemn = gen_condemn, .reclaimed = gen_reclaimed, .minor = gen_minor};

kiln_class_t kiln_class_gen(void) { return &pool_class_gen; }
