/* replay.c -- performing a recorded trace (core/record.c) under a plan.
 *
 * Owns the replay format and the replay of one trace file against a heap
 * opened from a plan: the same commits, in the same order and sizes, and
 * the same reference changes, so any recorded client becomes a workload
 * every plan can run (docs/experiments.md, §Record and replay).
 *
 * A replayed object is a header word -- bit 0 forwarded (the rest is the
 * new address), bit 1 padding, bit 2 the verifier's mark, bit 3 weak,
 * bits 4-31 its reference slots, bits 32-63 its size in words -- then its
 * reference slots. Its size is the recorded one, rounded up to words, or
 * one word per slot more than the header if that is larger.
 *
 * Liveness comes from the table of slots: a slot holds its object from
 * its commit to the sync that found it unreachable, which then empties it.
 * Under an automatic plan the table is itself heap objects (chunks of
 * CHUNK slots, stored into with kiln_write, reached from a root array), so
 * a minor collection scans only the chunks written since the last one, as
 * the recorded program's old objects that hold young ones. Under a manual
 * plan the table is malloc'd and a dying object is freed at that sync,
 * the moment the recording found it unreachable: the oracle baseline. The
 * pseudo-plan "malloc" is that oracle on the C library's malloc and free
 * (or whichever allocator is preloaded), with no heap at all.
 *
 * Each sync verifies (unless turned off) that the objects and references
 * reachable from the recorded roots are as many as the recording counted;
 * its time is not the replay's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plans.h"

enum { CHUNK = 512, MAX_KINDS = 64 };
enum { H_FWD = 1, H_PAD = 2, H_MARK = 4, H_WEAK = 8 };

typedef uintptr_t word_t;

/* ---- the format ------------------------------------------------------ */

static size_t hdr_slots(word_t h) { return (h >> 4) & 0xfffffff; }
static size_t hdr_words(word_t h) { return (size_t)(h >> 32); }
static word_t make_hdr(size_t words, size_t slots, int weak)
{
  return ((word_t)words << 32) | ((word_t)slots << 4) | (weak ? H_WEAK : 0);
}

static void *rp_skip(void *obj)
{
  word_t h = *(word_t *)obj;
  if (h & H_FWD)
    h = *(word_t *)(h & ~(word_t)H_FWD);
  return (word_t *)obj + hdr_words(h);
}

static kiln_res_t rp_scan(kiln_ss_t ss, void *base, void *limit)
{
  for (word_t *o = base; o < (word_t *)limit; o = rp_skip(o)) {
    if (*o & H_PAD)
      continue;
    for (size_t i = 1, n = hdr_slots(*o); i <= n; i++) {
      kiln_res_t res = KILN_FIX12(ss, (void **)&o[i]);
      if (res != KILN_OK)
        return res;
    }
  }
  return KILN_OK;
}

static void rp_fwd(void *old, void *new_) { *(word_t *)old = (word_t)new_ | H_FWD; }
static void *rp_isfwd(void *obj)
{
  word_t h = *(word_t *)obj;
  return h & H_FWD ? (void *)(h & ~(word_t)H_FWD) : NULL;
}
static void rp_pad(void *addr, size_t size) { *(word_t *)addr = make_hdr(size / 8, 0, 0) | H_PAD; }

static const kiln_format_t replay_format = {
    .scan = rp_scan, .skip = rp_skip, .fwd = rp_fwd, .isfwd = rp_isfwd, .pad = rp_pad,
    .align = 8, .header_size = 0};

/* ---- the replay's state ---------------------------------------------- */

typedef struct kind_s {
  kiln_ap_t ap;          /* automatic role; else pool is manual */
  kiln_pool_t pool;
  int weak;
} kind_t;

typedef struct rp_s {
  kiln_heap_t heap;
  kiln_arena_t arena;
  FILE *f;               /* the trace, read a buffer at a time: its size costs no memory */
  uint8_t buf[1 << 16];
  size_t pos, len;       /* the next byte of buf, and how many it holds */
  uint64_t consumed;     /* bytes of the file before buf */
  const char *path;
  int manual, sys, verify, bad;   /* sys: the pseudo-plan malloc (no heap) */
  kind_t kinds[MAX_KINDS];
  size_t nkinds;
  word_t **table;        /* manual: slot -> object */
  word_t **chunks;       /* automatic: chunk pointers, an exact root */
  size_t cap;            /* slots the table or the chunks hold */
  kiln_root_t chunk_root;
  kiln_ap_t chunk_ap;
  word_t **stack;        /* the verifier's */
  size_t nstack, stack_cap;
  word_t parity;
  uint64_t objects, syncs;
  double verify_seconds;
} rp_t;

static kiln_res_t corrupt(rp_t *r, const char *what)
{
  r->bad = 1;
  return lk_fail(KILN_PARAM, "replay: trace file '%s' is corrupt at byte %llu: %s", r->path,
                 (unsigned long long)(r->consumed + r->pos), what);
}

/* The next byte of the file, or EOF (and r->bad). */
static int get_byte(rp_t *r)
{
  if (r->pos == r->len) {
    r->consumed += r->len;
    r->pos = 0;
    r->len = fread(r->buf, 1, sizeof r->buf, r->f);
    if (r->len == 0) {
      r->bad = 1;
      return EOF;
    }
  }
  return r->buf[r->pos++];
}

static uint64_t get_uint(rp_t *r)
{
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    int b = get_byte(r);
    if (b == EOF)
      return 0;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return x;
  }
  r->bad = 1;
  return 0;
}

/* ---- the table of slots --------------------------------------------- */

static word_t *slot_get(const rp_t *r, uint64_t s)
{
  if (s == 0 || s >= r->cap)
    return NULL;
  if (r->manual)
    return r->table[s];
  word_t *c = r->chunks[s / CHUNK];
  return c != NULL ? (word_t *)c[1 + s % CHUNK] : NULL;
}

static word_t *new_object(rp_t *r, kind_t *k, size_t words, size_t nslots, const uint64_t *refs);

/* Room for slot s: a bigger table, or a bigger root array (re-registered:
   no collection can happen between the realloc and the new root). */
static kiln_res_t grow_table(rp_t *r, uint64_t s)
{
  size_t cap = r->cap ? r->cap : CHUNK;
  while (cap <= s)
    cap *= 2;
  if (r->manual) {
    word_t **t = realloc(r->table, cap * sizeof *t);
    if (t == NULL)
      return lk_fail(KILN_MEMORY, "replay: no memory for the table of %zu slots", cap);
    memset(t + r->cap, 0, (cap - r->cap) * sizeof *t);
    r->table = t;
  } else {
    size_t old = r->cap / CHUNK, n = cap / CHUNK;
    word_t **c = realloc(r->chunks, n * sizeof *c);
    if (c == NULL)
      return lk_fail(KILN_MEMORY, "replay: no memory for the table of %zu slots", cap);
    memset(c + old, 0, (n - old) * sizeof *c);
    r->chunks = c;
    if (r->chunk_root != NULL)
      kiln_root_destroy(r->chunk_root);
    r->chunk_root = NULL;
    kiln_res_t res = kiln_root_create_area(&r->chunk_root, r->arena, (void **)c, (void **)(c + n),
                                           KILN_RANK_EXACT);
    if (res != KILN_OK)
      return lk_fail(res, "replay: %s", kiln_arena_error(r->arena));
  }
  r->cap = cap;
  return KILN_OK;
}

/* Make slot s's place in the table. Before the object it will hold is
   made: making a chunk may collect, and nothing else holds that object. */
static kiln_res_t slot_make(rp_t *r, uint64_t s)
{
  kiln_res_t res;
  if (s == 0)
    return corrupt(r, "slot 0");
  if (s >= r->cap && (res = grow_table(r, s)) != KILN_OK)
    return res;
  if (!r->manual && r->chunks[s / CHUNK] == NULL) {
    kind_t k = {.ap = r->chunk_ap};
    word_t *c = new_object(r, &k, 1 + CHUNK, CHUNK, NULL);
    if (c == NULL)
      return lk_fail(KILN_MEMORY, "replay: no memory for the table: %s", lk_error());
    r->chunks[s / CHUNK] = c;
  }
  return KILN_OK;
}

/* Store obj in slot s, whose place is made. */
static void slot_set(rp_t *r, uint64_t s, word_t *obj)
{
  if (r->manual) {
    r->table[s] = obj;
    return;
  }
  word_t *c = r->chunks[s / CHUNK];
  kiln_write(r->arena, c, (void **)&c[1 + s % CHUNK], obj);
}

/* ---- objects --------------------------------------------------------- */

static void init_object(const rp_t *r, word_t *o, size_t words, size_t nslots, int weak,
                        const uint64_t *refs)
{
  o[0] = make_hdr(words, nslots, weak) | r->parity;
  for (size_t i = 0; i < nslots; i++)
    o[1 + i] = (word_t)(refs != NULL ? slot_get(r, refs[i]) : NULL);
  memset(o + 1 + nslots, 0, (words - 1 - nslots) * sizeof *o);
}

/* An object of words words (header included) with nslots references to
   the objects of slots refs (NULL: none), through kind k. The references
   are read from the table after the reservation, so a collection it made
   cannot leave them stale. */
static word_t *new_object(rp_t *r, kind_t *k, size_t words, size_t nslots, const uint64_t *refs)
{
  void *p;
  if (r->sys) {
    if ((p = malloc(words * sizeof(word_t))) == NULL)
      return NULL;
    init_object(r, p, words, nslots, k->weak, refs);
    return p;
  }
  if (k->ap == NULL) {
    if (kiln_alloc(&p, k->pool, words * sizeof(word_t)) != KILN_OK)
      return NULL;
    init_object(r, p, words, nslots, k->weak, refs);
    return p;
  }
  do {
    if (kiln_reserve(&p, k->ap, words * sizeof(word_t)) != KILN_OK) {
      lk_fail(KILN_MEMORY, "%s", kiln_arena_error(r->arena));
      return NULL;
    }
    init_object(r, p, words, nslots, k->weak, refs);
  } while (!kiln_commit(k->ap, p, words * sizeof(word_t)));
  return p;
}

/* ---- records --------------------------------------------------------- */

/* The role of a recorded kind in this plan: the same role if it has it,
   else "weak" for a weak kind that has one, else "objects". */
static kiln_res_t add_kind(rp_t *r, const char *role, int weak)
{
  const char *use = "objects";
  if (r->sys) {
    r->kinds[r->nkinds++].weak = weak;
    return KILN_OK;
  }
  if (r->manual) /* one pool, which frees every object */
    ;
  else if (role[0] != '\0' && kiln_heap_pool(r->heap, role) != NULL)
    use = role;
  else if (weak && kiln_heap_pool(r->heap, "weak") != NULL)
    use = "weak";
  kind_t *k = &r->kinds[r->nkinds];
  k->pool = kiln_heap_pool(r->heap, use);
  k->weak = weak;
  k->ap = r->manual ? NULL : kiln_heap_ap(r->heap, use);
  if (k->pool == NULL || (!r->manual && k->ap == NULL))
    return lk_fail(KILN_PARAM, "replay: plan '%s' has no role '%s' for the recorded role '%s'",
                   kiln_heap_plan_name(r->heap), use, role);
  r->nkinds++;
  return KILN_OK;
}

static kiln_res_t read_kind(rp_t *r)
{
  uint64_t len = get_uint(r);
  char role[64];
  if (r->bad || len >= sizeof role || r->nkinds == MAX_KINDS)
    return corrupt(r, "a bad kind record");
  for (uint64_t i = 0; i < len; i++)
    role[i] = (char)get_byte(r);
  role[len] = '\0';
  if (r->bad)
    return corrupt(r, "a bad kind record");
  return add_kind(r, role, get_uint(r) != 0);
}

static kiln_res_t read_alloc(rp_t *r, uint64_t **refs_io, size_t *cap_io)
{
  uint64_t s = get_uint(r), kind = get_uint(r), size = get_uint(r), n = get_uint(r);
  if (r->bad || kind >= r->nkinds || n > 0xfffffff ||
      size > ((uint64_t)1 << 34))
    return corrupt(r, "a bad commit record");
  if (n > *cap_io) {
    uint64_t *p = realloc(*refs_io, n * sizeof *p);
    if (p == NULL)
      return lk_fail(KILN_MEMORY, "replay: no memory for a commit of %llu references",
                     (unsigned long long)n);
    *refs_io = p;
    *cap_io = n;
  }
  uint64_t *refs = *refs_io;
  for (uint64_t i = 0; i < n; i++)
    refs[i] = get_uint(r);
  kiln_res_t res = slot_make(r, s);
  if (res != KILN_OK)
    return res;
  size_t words = (size_t)((size + 7) / 8);
  if (words < 1 + n)
    words = 1 + (size_t)n;
  word_t *o = new_object(r, &r->kinds[kind], words, (size_t)n, refs);
  if (o == NULL)
    return lk_fail(KILN_MEMORY, "replay: commit %llu (%llu bytes) failed: %s",
                   (unsigned long long)r->objects + 1, (unsigned long long)size, lk_error());
  r->objects++;
  slot_set(r, s, o);
  return KILN_OK;
}

static kiln_res_t read_change(rp_t *r)
{
  uint64_t s = get_uint(r), i = get_uint(r), to = get_uint(r);
  word_t *o = slot_get(r, s);
  if (r->bad || o == NULL || i >= hdr_slots(o[0]))
    return corrupt(r, "a change of a reference the object does not have");
  word_t *v = slot_get(r, to);
  if (r->manual)
    o[1 + i] = (word_t)v;
  else
    kiln_write(r->arena, o, (void **)&o[1 + i], v);
  return KILN_OK;
}

/* ---- syncs and their verification ------------------------------------ */

static int visit(rp_t *r, word_t *o)
{
  if (o == NULL || (o[0] & H_MARK) == r->parity)
    return 0;
  o[0] = (o[0] & ~(word_t)H_MARK) | r->parity;
  if (r->nstack == r->stack_cap) {
    size_t cap = r->stack_cap ? r->stack_cap * 2 : 1024;
    word_t **s = realloc(r->stack, cap * sizeof *s);
    if (s == NULL)
      return -1;
    r->stack = s;
    r->stack_cap = cap;
  }
  r->stack[r->nstack++] = o;
  return 1;
}

/* Count what the roots reach in the replayed heap, as the recorder did:
   every object once, and the references of the objects that are not weak. */
static int count_reachable(rp_t *r, const uint64_t *roots, size_t n, uint64_t *objs, uint64_t *edges)
{
  r->parity ^= H_MARK;
  r->nstack = 0;
  *objs = *edges = 0;
  for (size_t i = 0; i < n; i++)
    if (visit(r, slot_get(r, roots[i])) < 0)
      return 0;
  while (r->nstack > 0) {
    word_t *o = r->stack[--r->nstack];
    ++*objs;
    if (o[0] & H_WEAK)
      continue;
    for (size_t i = 1, k = hdr_slots(o[0]); i <= k; i++) {
      *edges += o[i] != 0;
      if (visit(r, (word_t *)o[i]) < 0)
        return 0;
    }
  }
  return 1;
}

static kiln_res_t check_counts(rp_t *r, const uint64_t *roots, size_t n, uint64_t live,
                               uint64_t edges)
{
  double t0 = lk_now();
  uint64_t objs, refs;
  if (!count_reachable(r, roots, n, &objs, &refs))
    return lk_fail(KILN_MEMORY, "replay: no memory to verify the graph");
  r->verify_seconds += lk_now() - t0;
  if (objs == live && refs == edges)
    return KILN_OK;
  return lk_fail(KILN_FAIL, "replay of '%s' under plan '%s': at collection %llu the recording "
                 "reached %llu objects and %llu references from its roots, the replay %llu and %llu",
                 r->path, r->sys ? "malloc" : kiln_heap_plan_name(r->heap), (unsigned long long)r->syncs,
                 (unsigned long long)live, (unsigned long long)edges, (unsigned long long)objs,
                 (unsigned long long)refs);
}

/* A list of slots into a growable array. */
static kiln_res_t read_slots(rp_t *r, uint64_t **v, size_t *cap, size_t *n_o)
{
  uint64_t n = get_uint(r);
  if (r->bad || n > ((uint64_t)1 << 32))
    return corrupt(r, "a bad list of slots");
  if (n > *cap) {
    uint64_t *p = realloc(*v, n * sizeof *p);
    if (p == NULL)
      return lk_fail(KILN_MEMORY, "replay: no memory for a list of %llu slots", (unsigned long long)n);
    *v = p;
    *cap = n;
  }
  for (uint64_t i = 0; i < n; i++)
    (*v)[i] = get_uint(r);
  *n_o = n;
  return r->bad ? corrupt(r, "a bad list of slots") : KILN_OK;
}

/* The objects of the dead slots go: out of the table, and freed under a
   manual plan. */
static kiln_res_t bury(rp_t *r, const uint64_t *dead, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    word_t *o = slot_get(r, dead[i]);
    if (o == NULL)
      return corrupt(r, "a death of an empty slot");
    if (r->sys)
      free(o);
    else if (r->manual)
      kiln_free(r->kinds[0].pool, o, hdr_words(o[0]) * sizeof(word_t));
    slot_set(r, dead[i], NULL);
  }
  return KILN_OK;
}

typedef struct lists_s {
  uint64_t *roots, *dead;
  size_t roots_cap, dead_cap;
} lists_t;

static kiln_res_t read_sync(rp_t *r, lists_t *l)
{
  size_t nroots, ndead;
  (void)get_uint(r); /* minor or full: the recording's, not this plan's */
  kiln_res_t res = read_slots(r, &l->roots, &l->roots_cap, &nroots);
  if (res == KILN_OK)
    res = read_slots(r, &l->dead, &l->dead_cap, &ndead);
  if (res == KILN_OK)
    res = bury(r, l->dead, ndead);
  uint64_t live = get_uint(r), edges = get_uint(r);
  if (res == KILN_OK && r->bad)
    res = corrupt(r, "a bad sync record");
  r->syncs++;
  if (res == KILN_OK && r->verify)
    res = check_counts(r, l->roots, nroots, live, edges);
  return res;
}

/* ---- the run ---------------------------------------------------------- */

static kiln_res_t read_end(rp_t *r)
{
  uint64_t objects = get_uint(r);
  (void)get_uint(r); /* references the recording could not keep */
  (void)get_uint(r); /* objects the recorded collector freed early */
  uint64_t failed = get_uint(r);
  if (failed)
    return lk_fail(KILN_FAIL, "replay: the recording '%s' is incomplete (its recorder ran out "
                   "of memory or disk)", r->path);
  if (objects != r->objects)
    return corrupt(r, "the end record counts other commits than the file holds");
  return KILN_OK;
}

static kiln_res_t run(rp_t *r)
{
  lists_t l = {0};
  uint64_t *refs = NULL;
  size_t refs_cap = 0;
  kiln_res_t res = KILN_OK;
  while (res == KILN_OK) {
    int op = get_byte(r);
    if (op == EOF) {
      res = corrupt(r, "the file ends without its end record");
      break;
    }
    if (op == 'E') {
      res = read_end(r);
      break;
    }
    switch (op) {
    case 'K': res = read_kind(r); break;
    case 'A': res = read_alloc(r, &refs, &refs_cap); break;
    case 'W': res = read_change(r); break;
    case 'S': res = read_sync(r, &l); break;
    default: res = corrupt(r, "an unknown record"); break;
    }
  }
  free(refs);
  free(l.roots);
  free(l.dead);
  return res;
}

static kiln_res_t open_file(rp_t *r, const char *path)
{
  r->path = path;
  r->f = fopen(path, "rb");
  if (r->f == NULL)
    return lk_fail(KILN_IO, "replay: cannot read the trace file '%s'", path);
  char magic[sizeof KILN_TRACE_MAGIC - 1];
  for (size_t i = 0; i < sizeof magic; i++)
    magic[i] = (char)get_byte(r);
  if (r->bad || memcmp(magic, KILN_TRACE_MAGIC, sizeof magic) != 0)
    return lk_fail(KILN_PARAM, "replay: '%s' is not a Kiln trace file (record one with the arena "
                   "parameter record=FILE or KILN_RECORD=FILE)", path);
  return KILN_OK;
}

static kiln_res_t open_heap(rp_t *r, const char *plan, const kiln_arg_t overrides[])
{
  if (strcmp(plan, "malloc") == 0) {
    r->sys = r->manual = 1;
    return overrides == NULL || overrides[0].key == NULL
               ? KILN_OK
               : lk_fail(KILN_PARAM, "replay: the pseudo-plan malloc takes no overrides (got '%s')",
                         overrides[0].key);
  }
  kiln_res_t res = kiln_heap_open(&r->heap, plan, &replay_format, overrides);
  if (res != KILN_OK)
    return res;
  r->arena = kiln_heap_arena(r->heap);
  kiln_pool_t objects = kiln_heap_pool(r->heap, "objects");
  if (objects == NULL)
    return lk_fail(KILN_PARAM, "replay: plan '%s' has no role 'objects'", kiln_heap_plan_name(r->heap));
  r->manual = !kiln_class_is_automatic(kiln_pool_class(objects));
  if (!r->manual && (r->chunk_ap = kiln_heap_ap(r->heap, "objects")) == NULL)
    return KILN_FAIL;
  /* Every reference the replay holds is in its table. */
  return kiln_heap_scan_stack(r->heap, 0);
}

static void close_heap(rp_t *r)
{
  for (size_t s = 0; r->sys && s < r->cap; s++)
    free(r->table[s]);
  if (r->chunk_root != NULL)
    kiln_root_destroy(r->chunk_root);
  if (r->heap != NULL)
    kiln_heap_close(r->heap);
  free(r->table);
  free(r->chunks);
  free(r->stack);
}

kiln_res_t lk_replay_run(const char *path, const char *plan, const kiln_arg_t overrides[],
                         int verify, lk_wresult_t *res_o, kiln_stats_t *stats_o)
{
  memset(res_o, 0, sizeof *res_o);
  memset(stats_o, 0, sizeof *stats_o);
  rp_t *r = calloc(1, sizeof *r);
  if (r == NULL)
    return lk_fail(KILN_MEMORY, "replay: no memory");
  r->verify = verify;
  kiln_res_t res = open_file(r, path);
  if (res == KILN_OK)
    res = open_heap(r, plan, overrides);
  if (res == KILN_OK) {
    double t0 = lk_now();
    res = run(r);
    res_o->seconds = lk_now() - t0 - r->verify_seconds;
    res_o->objects = r->objects;
    res_o->check = r->syncs;
    res_o->verified = res == KILN_OK && verify;
    if (r->arena != NULL)
      kiln_arena_stats(r->arena, stats_o);
  }
  close_heap(r);
  if (r->f != NULL)
    fclose(r->f);
  free(r);
  return res;
}
