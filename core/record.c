/* record.c -- the recorder: a compact trace of what the heap sees, which
 * `kiln replay` performs again under other plans (docs/design.md, §Record
 * and replay).
 *
 * Owns the recording of one arena (arena parameter "record", or KILN_RECORD
 * in the environment): its file, the recorded objects and their references.
 *
 * Every live recorded object has a slot, a small number that names it in
 * the file; a slot is reused after its object dies. The file holds:
 *  - each commit: its slot, kind (role and rank), size, and the slots its
 *    references name, read with the format's scan at the commit;
 *  - at each collection's start (a sync): every reference that changed
 *    since the last sync (rescanning every live object and comparing), the
 *    slots the roots reach, the slots that are no longer reachable from
 *    them (they die here and their slots are free), and the number of
 *    reachable objects and references.
 * Reachability is the recorder's own, from the roots over the recorded
 * references, those held by weak-rank objects excepted: the same at a
 * minor collection as at a full one. It never keeps less than the
 * collector does (the collector also keeps what only stale ambiguous
 * references or a minor collection's old generation hold); an object the
 * collector frees while the recorder reaches it (a reference the format's
 * scan reports but the collector treats as weak, such as an ephemeron's
 * value) counts as lost and dies at the next sync. An object keeps the number of
 * references it had at its commit; references a later scan reads beyond
 * it are not recorded (counted in refs_dropped). A root or reference that
 * holds no recorded object's address (an interior pointer, memory outside
 * the automatic pools, an object the recorder saw die) records as none.
 *
 * Invariants: map holds exactly the addresses of the live slots; a free
 * slot has refs NULL and is on the free stack; after record_moves, every
 * live slot's address is where its object is now.
 */
#include "config.h"
#include "record.h"
#include "root.h"

#include <stdio.h>
#include <stdlib.h>

enum { MAX_KINDS = 64, ROLE_MAX = 32 };
enum { FIX_OBJECT, FIX_ROOT };

typedef struct rslot_s {
  void *addr;          /* NULL: free, or lost (the collector freed it; dies at the next sync) */
  uint32_t *refs;      /* the slots it refers to (0: none); NULL when free */
  uint32_t nrefs;
  uint16_t kind;
  uint8_t used, mark;
} rslot_t;

typedef struct kind_s {
  char role[ROLE_MAX];
  int weak;
} kind_t;

typedef struct vec_s {
  uint32_t *v;
  size_t n, cap;
} vec_t;

struct recorder_s {
  FILE *f;
  rslot_t *slots;        /* slots[0] is never used: 0 means none */
  size_t nslots, cap;
  vec_t free;            /* free slot numbers */
  uintptr_t *keys;       /* map: object address -> slot (open addressing) */
  uint32_t *vals;
  size_t map_cap, map_count;
  kind_t kinds[MAX_KINDS];
  size_t nkinds;
  vec_t tmp, roots, stack, dead;
  int mode;
  int failed;            /* out of memory or a write failed: the file stops growing */
  uint64_t objects, syncs, refs_dropped;
  uint64_t lost;         /* objects the collector freed while the recorder reached them */
};

/* ---- small vectors and the file ------------------------------------- */

static int vec_push(recorder_t *r, vec_t *v, uint32_t x)
{
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 256;
    uint32_t *p = realloc(v->v, cap * sizeof *p);
    if (p == NULL) {
      r->failed = 1;
      return 0;
    }
    v->v = p;
    v->cap = cap;
  }
  v->v[v->n++] = x;
  return 1;
}

static void put_uint(recorder_t *r, uint64_t x)
{
  while (x >= 0x80) {
    putc((int)(x & 0x7f) | 0x80, r->f);
    x >>= 7;
  }
  putc((int)x, r->f);
}

static void put_vec(recorder_t *r, const vec_t *v)
{
  put_uint(r, v->n);
  for (size_t i = 0; i < v->n; i++)
    put_uint(r, v->v[i]);
}

/* A change of reference i of slot s. */
static void put_change(recorder_t *r, uint32_t s, uint32_t i, uint32_t now)
{
  putc('W', r->f);
  put_uint(r, s);
  put_uint(r, i);
  put_uint(r, now);
}

/* ---- the address map ------------------------------------------------ */

static size_t map_home(const recorder_t *r, uintptr_t key)
{
  return (size_t)((key >> 3) * 0x9E3779B97F4A7C15ULL) & (r->map_cap - 1);
}

static uint32_t map_get(const recorder_t *r, const void *addr)
{
  if (r->map_cap == 0 || addr == NULL)
    return 0;
  for (size_t i = map_home(r, (uintptr_t)addr);; i = (i + 1) & (r->map_cap - 1)) {
    if (r->keys[i] == (uintptr_t)addr)
      return r->vals[i];
    if (r->keys[i] == 0)
      return 0;
  }
}

static void map_put_raw(recorder_t *r, uintptr_t key, uint32_t val)
{
  size_t i = map_home(r, key);
  while (r->keys[i] != 0)
    i = (i + 1) & (r->map_cap - 1);
  r->keys[i] = key;
  r->vals[i] = val;
  r->map_count++;
}

/* Make the map hold exactly the live slots' addresses, with room for
   `more` further ones at a load of at most one half. */
static int map_rebuild(recorder_t *r, size_t more)
{
  size_t live = 0;
  for (size_t s = 1; s < r->nslots; s++)
    live += r->slots[s].addr != NULL;
  size_t cap = 1024;
  while (cap < 2 * (live + more))
    cap *= 2;
  uintptr_t *keys = calloc(cap, sizeof *keys);
  uint32_t *vals = malloc(cap * sizeof *vals);
  if (keys == NULL || vals == NULL) {
    free(keys);
    free(vals);
    r->failed = 1;
    return 0;
  }
  free(r->keys);
  free(r->vals);
  r->keys = keys;
  r->vals = vals;
  r->map_cap = cap;
  r->map_count = 0;
  for (size_t s = 1; s < r->nslots; s++)
    if (r->slots[s].addr != NULL)
      map_put_raw(r, (uintptr_t)r->slots[s].addr, (uint32_t)s);
  return 1;
}

static int map_put(recorder_t *r, void *addr, uint32_t slot)
{
  if (2 * (r->map_count + 1) > r->map_cap && !map_rebuild(r, r->map_cap / 2 + 1))
    return 0;
  map_put_raw(r, (uintptr_t)addr, slot);
  return 1;
}

/* ---- scanning ------------------------------------------------------- */

kiln_res_t record_fix(ss_t *ss, void **ref_io)
{
  recorder_t *r = ss->arena->rec;
  uint32_t slot = map_get(r, *ref_io);
  if (r->mode == FIX_OBJECT)
    vec_push(r, &r->tmp, slot);
  else if (slot != 0)
    vec_push(r, &r->roots, slot);
  return KILN_OK;
}

static ss_t record_ss(kiln_arena_t arena)
{
  ss_t ss = {.pub = {.white = ZONES_ALL, .zone_shift = ZONE_SHIFT}, .arena = arena,
             .trace = arena->trace, .rank = KILN_RANK_EXACT, .verify = SS_RECORD};
  return ss;
}

/* The slots obj's references name now, into r->tmp. */
static void scan_refs(kiln_arena_t arena, void *obj)
{
  recorder_t *r = arena->rec;
  seg_t seg = arena_seg_of(arena, obj);
  const kiln_format_t *f = &seg->pool->fmt->f;
  ss_t ss = record_ss(arena);
  r->tmp.n = 0;
  r->mode = FIX_OBJECT;
  (void)f->scan(&ss.pub, obj, f->skip(obj));
}

/* ---- commits -------------------------------------------------------- */

static int kind_of(recorder_t *r, const char *role, int weak)
{
  if (role == NULL)
    role = "";
  for (size_t k = 0; k < r->nkinds; k++)
    if (r->kinds[k].weak == weak && strncmp(r->kinds[k].role, role, ROLE_MAX - 1) == 0)
      return (int)k;
  if (r->nkinds == MAX_KINDS)
    return 0;
  kind_t *k = &r->kinds[r->nkinds];
  snprintf(k->role, sizeof k->role, "%s", role);
  k->weak = weak;
  putc('K', r->f);
  put_uint(r, strlen(k->role));
  fputs(k->role, r->f);
  put_uint(r, (uint64_t)weak);
  return (int)r->nkinds++;
}

static uint32_t slot_new(recorder_t *r)
{
  if (r->free.n > 0)
    return r->free.v[--r->free.n];
  if (r->nslots == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 1024;
    rslot_t *s = realloc(r->slots, cap * sizeof *s);
    if (s == NULL || cap > UINT32_MAX) {
      if (s != NULL)
        r->slots = s;
      r->failed = 1;
      return 0;
    }
    r->slots = s;
    r->cap = cap;
  }
  memset(&r->slots[r->nslots], 0, sizeof *r->slots);
  return (uint32_t)r->nslots++;
}

void record_commit(kiln_arena_t arena, const char *role, int weak, void *obj, size_t size)
{
  recorder_t *r = arena->rec;
  if (r->failed)
    return;
  int kind = kind_of(r, role, weak);
  uint32_t slot = slot_new(r);
  scan_refs(arena, obj);
  uint32_t *refs = r->tmp.n ? malloc(r->tmp.n * sizeof *refs) : NULL;
  if (slot == 0 || (r->tmp.n && refs == NULL) || !map_put(r, obj, slot)) {
    free(refs);
    r->failed = 1;
    return;
  }
  rslot_t *s = &r->slots[slot];
  *s = (rslot_t){.addr = obj, .refs = refs, .nrefs = (uint32_t)r->tmp.n, .kind = (uint16_t)kind,
                 .used = 1};
  if (refs != NULL)
    memcpy(refs, r->tmp.v, r->tmp.n * sizeof *refs);
  putc('A', r->f);
  put_uint(r, slot);
  put_uint(r, (uint64_t)kind);
  put_uint(r, size);
  put_vec(r, &r->tmp);
  r->objects++;
}

/* ---- syncs ---------------------------------------------------------- */

/* Write a 'W' for each reference of slot s that differs from its scan now. */
static void note_changes(kiln_arena_t arena, recorder_t *r, uint32_t s)
{
  rslot_t *o = &r->slots[s];
  scan_refs(arena, o->addr);
  if (r->tmp.n > o->nrefs)
    r->refs_dropped += r->tmp.n - o->nrefs;
  for (uint32_t i = 0; i < o->nrefs; i++) {
    uint32_t now = i < r->tmp.n ? r->tmp.v[i] : 0;
    if (now == o->refs[i])
      continue;
    o->refs[i] = now;
    put_change(r, s, i, now);
  }
}

static void scan_roots(kiln_arena_t arena, recorder_t *r)
{
  ss_t ss = record_ss(arena);
  r->roots.n = 0;
  r->mode = FIX_ROOT;
  (void)root_scan_rank(arena, &ss.pub, KILN_RANK_AMBIG, 0);
  (void)root_scan_rank(arena, &ss.pub, KILN_RANK_EXACT, 0);
}

static void mark_push(recorder_t *r, uint32_t s)
{
  rslot_t *o = &r->slots[s];
  if (s != 0 && o->addr != NULL && !o->mark) {
    o->mark = 1;
    vec_push(r, &r->stack, s);
  }
}

/* Mark what the roots reach; the roots are left unique, in first-seen order. */
static void mark_reachable(recorder_t *r)
{
  size_t n = 0;
  r->stack.n = 0;
  for (size_t i = 0; i < r->roots.n; i++) {
    uint32_t s = r->roots.v[i];
    if (r->slots[s].addr != NULL && !r->slots[s].mark) {
      mark_push(r, s);
      r->roots.v[n++] = s;
    }
  }
  r->roots.n = n;
  while (r->stack.n > 0) {
    rslot_t *o = &r->slots[r->stack.v[--r->stack.n]];
    if (!r->kinds[o->kind].weak)
      for (uint32_t i = 0; i < o->nrefs; i++)
        mark_push(r, o->refs[i]);
  }
}

/* The unmarked used slots die and their slots are free. A live object's
   reference to one that died becomes none (a weak object's, as the
   collector clears it; another's only when the collector freed an object
   the recorder still reached): written as a change, so replay agrees.
   Returns the live objects and the references the non-weak ones hold. */
static uint64_t sweep(recorder_t *r, uint64_t *edges_o)
{
  uint64_t live = 0, edges = 0;
  r->dead.n = 0;
  for (size_t s = 1; s < r->nslots; s++) {
    rslot_t *o = &r->slots[s];
    if (o->used && !o->mark) {
      free(o->refs);
      *o = (rslot_t){0};
      vec_push(r, &r->dead, (uint32_t)s);
      vec_push(r, &r->free, (uint32_t)s);
    }
  }
  for (size_t s = 1; s < r->nslots; s++) {
    rslot_t *o = &r->slots[s];
    if (!o->used)
      continue;
    live++;
    o->mark = 0;
    for (uint32_t i = 0; i < o->nrefs; i++) {
      if (o->refs[i] != 0 && !r->slots[o->refs[i]].used) {
        o->refs[i] = 0;
        put_change(r, (uint32_t)s, i, 0);
      }
      edges += o->refs[i] != 0 && !r->kinds[o->kind].weak;
    }
  }
  *edges_o = edges;
  return live;
}

void record_sync(kiln_arena_t arena, trace_t *trace)
{
  recorder_t *r = arena->rec;
  if (r->failed)
    return;
  for (size_t s = 1; s < r->nslots; s++)
    if (r->slots[s].addr != NULL)
      note_changes(arena, r, (uint32_t)s);
  scan_roots(arena, r);
  mark_reachable(r);
  uint64_t edges, live = sweep(r, &edges);
  putc('S', r->f);
  put_uint(r, (uint64_t)trace->minor);
  put_vec(r, &r->roots);
  put_vec(r, &r->dead);
  put_uint(r, live);
  put_uint(r, edges);
  r->syncs++;
  if (r->dead.n > 0) /* the map still holds their addresses */
    map_rebuild(r, 0);
  if (ferror(r->f))
    r->failed = 1;
}

void record_moves(kiln_arena_t arena, trace_t *trace)
{
  recorder_t *r = arena->rec;
  (void)trace;
  if (r->failed)
    return;
  int changed = 0;
  for (size_t s = 1; s < r->nslots; s++) {
    rslot_t *o = &r->slots[s];
    seg_t seg = o->addr != NULL ? arena_seg_of(arena, o->addr) : NULL;
    if (seg == NULL || !seg->white || seg->klass->survivor == NULL)
      continue;
    void *now = seg->klass->survivor(seg, o->addr);
    changed |= now != o->addr;
    r->lost += now == NULL;
    o->addr = now; /* NULL: freed though reachable here; it dies at the next sync */
  }
  if (changed)
    map_rebuild(r, 0);
}

/* ---- the file ------------------------------------------------------- */

kiln_res_t record_open(kiln_arena_t arena, const char *path)
{
  recorder_t *r = calloc(1, sizeof *r);
  if (r == NULL)
    return arena_errorf(arena, KILN_MEMORY, "arena: no memory for the recorder");
  r->f = fopen(path, "wb");
  if (r->f == NULL) {
    free(r);
    return kiln_set_error(KILN_IO, "arena: parameter 'record' (or KILN_RECORD): cannot write "
                          "the trace file '%s'", path);
  }
  fputs(KILN_TRACE_MAGIC, r->f); /* docs/design.md gives the records after it */
  r->nslots = 1; /* slot 0 means none */
  r->slots = calloc(1, sizeof *r->slots);
  r->cap = 1;
  arena->rec = r;
  if (r->slots == NULL || !map_rebuild(r, 0)) {
    record_close(arena);
    return kiln_set_error(KILN_MEMORY, "arena: no memory for the recorder");
  }
  return KILN_OK;
}

void record_close(kiln_arena_t arena)
{
  recorder_t *r = arena->rec;
  if (r == NULL)
    return;
  putc('E', r->f);
  put_uint(r, r->objects);
  put_uint(r, r->refs_dropped);
  put_uint(r, r->lost);
  put_uint(r, (uint64_t)r->failed);
  fclose(r->f);
  for (size_t s = 1; s < r->nslots; s++)
    free(r->slots[s].refs);
  free(r->slots);
  free(r->free.v);
  free(r->tmp.v);
  free(r->roots.v);
  free(r->stack.v);
  free(r->dead.v);
  free(r->keys);
  free(r->vals);
  free(r);
  arena->rec = NULL;
}
