/* gc_kiln.c -- the kiln:<plan> backend of bench_gc: a heap opened from a
 * plan (kiln:marksweep, kiln:semispace, kiln:gencopy, kiln:genms, kiln:sticky, or a plan
 * file), nodes allocated through the plan's "objects" role and the leaf
 * array through its "leaf" role, the workloads' shadow stack as an exact
 * root. kiln_heap_open registers the main thread and scans its stack
 * ambiguously, as Boehm does.
 *
 * Object layout. Every object starts with a one-word header and the format
 * says header_size = one word, so references, roots and the format methods
 * all deal in client pointers, one word past the block start. The header's
 * low three bits are a tag (blocks are word-aligned, so an address has them
 * clear):
 *
 *   node      [TAG_NODE]               left right i j      (the node_t)
 *   array     [bytes << 3 | TAG_ARRAY] double * n          (no references)
 *   padding   [bytes << 3 | TAG_PAD]   ...
 *   forwarded [new | TAG_FWD]          bytes ...
 *
 * bytes is the whole block, header included. A forwarded object's header
 * holds its copy's client pointer; its first body word keeps the block size
 * (every object has at least one body word) so skip still steps over it.
 * Nothing here assumes the pool does not move objects.
 *
 * The spec is kiln:PLAN[,KEY=VALUE]...: each KEY is a dotted override for
 * kiln_heap_open ("arena.growth", "young.nursery_size"), so the plan's own
 * validation checks it, e.g. kiln:genms,young.nursery_size=8MB,arena.growth=3.
 */
#include "benchlib.h"
#include "gc_backend.h"

#include <kiln.h>
#include <kiln/heap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uintptr_t word_t;

enum { TAG_NODE = 1, TAG_ARRAY = 2, TAG_PAD = 3, TAG_FWD = 4, TAG_MASK = 7 };

#define HEADER_SIZE sizeof(word_t)
#define NODE_BLOCK (HEADER_SIZE + sizeof(node_t))

/* ---- the format -------------------------------------------------------- */

static word_t *header_of(void *obj)
{
  return (word_t *)obj - 1;
}

/* Size of the whole block whose client pointer is obj. */
static size_t block_size(void *obj)
{
  word_t h = *header_of(obj);
  switch (h & TAG_MASK) {
  case TAG_NODE:
    return NODE_BLOCK;
  case TAG_FWD:
    return *(word_t *)obj;
  default: /* TAG_ARRAY, TAG_PAD */
    return h >> 3;
  }
}

static void *fmt_skip(void *obj)
{
  return (char *)obj + block_size(obj);
}

/* Fix one reference field. The copy through a void * keeps the node's
   fields typed for the workloads, and the store happens only when the
   reference may have changed. */
static kiln_res_t fix_field(kiln_ss_t ss, node_t **field)
{
  void *ref = *field;
  kiln_res_t res;
  if (!KILN_FIX1(ss, ref))
    return KILN_OK;
  res = KILN_FIX2(ss, &ref);
  *field = ref;
  return res;
}

/* Arrays and padding hold no references; forwarded objects are old copies
   whose references were fixed in the new copy. */
static kiln_res_t fmt_scan(kiln_ss_t ss, void *base, void *limit)
{
  KILN_SCAN_BEGIN(ss) {
    for (char *obj = base; obj < (char *)limit; obj = fmt_skip(obj)) {
      node_t *n = (node_t *)(void *)obj;
      kiln_res_t res;
      if ((*header_of(obj) & TAG_MASK) != TAG_NODE)
        continue;
      res = fix_field(ss, &n->left);
      if (res != KILN_OK)
        return res;
      res = fix_field(ss, &n->right);
      if (res != KILN_OK)
        return res;
    }
  } KILN_SCAN_END(ss);
  return KILN_OK;
}

/* The size must be saved before the header is overwritten: it may be the
   only place that holds it (arrays). */
static void fmt_fwd(void *old, void *new_)
{
  size_t bytes = block_size(old);
  *(word_t *)old = bytes;
  *header_of(old) = (word_t)new_ | TAG_FWD;
}

static void *fmt_isfwd(void *obj)
{
  word_t h = *header_of(obj);
  return (h & TAG_MASK) == TAG_FWD ? (void *)(h & ~(word_t)TAG_MASK) : NULL;
}

/* addr is a client pointer (kiln.h: every format method gets client
   pointers) and size covers the whole block, at least the header word. */
static void fmt_pad(void *addr, size_t size)
{
  *header_of(addr) = (word_t)size << 3 | TAG_PAD;
}

static const kiln_format_t node_format = {
  sizeof(word_t), HEADER_SIZE, fmt_scan, fmt_skip, fmt_fwd, fmt_isfwd, fmt_pad,
};

/* ---- the backend ------------------------------------------------------- */

static struct {
  kiln_heap_t heap;
  kiln_arena_t arena;
  kiln_root_t shadow_root;
} K;
/* Each mutator thread allocates through points of its own. */
static _Thread_local kiln_ap_t objects_ap, leaf_ap;

static void k_check(kiln_res_t res, const char *what)
{
  if (res != KILN_OK)
    bench_die("%s: %s: %s", what, kiln_res_name(res), kiln_arena_error(K.arena));
}

/* The built-in automatic plans; there is no C call that lists plans. */
static const char *const k_plans[] = {"marksweep", "semispace", "gencopy", "genms", "sticky",
                                            "sticky-inc"};

static void k_list(void)
{
  for (size_t i = 0; i < sizeof k_plans / sizeof k_plans[0]; i++)
    printf("kiln:%s\n", k_plans[i]);
}

/* ---- the spec: kiln:PLAN[,KEY=VALUE]... -------------------------------- */

/* Overrides reach the plan's Lua validation, which takes a size as a number
   or a string ("8MB") but a number or a boolean only as such: so the value's
   type is the one the parameter tables give for the key (the arena's table
   for arena.KEY, else any class's: no key has two types), and text when the
   key is unknown, so that the plan's own sentence reports it. */
#define MAX_KEYS 16
static struct {
  char text[256]; /* the spec, cut into tokens in place; args point into it */
  kiln_arg_t ov[MAX_KEYS + 1];
  size_t n;
} S;

static kiln_argtype_t param_type(const char *pool, const char *key)
{
  const kiln_param_t *p;
  if (strcmp(pool, "arena") == 0) {
    for (p = kiln_arena_params(); p->key != NULL; p++)
      if (strcmp(p->key, key) == 0)
        return p->type;
    return KILN_ARGT_STR;
  }
  for (const kiln_class_t *c = kiln_classes(); *c != NULL; c++)
    for (p = kiln_class_params(*c); p != NULL && p->key != NULL; p++)
      if (strcmp(p->key, key) == 0)
        return p->type;
  return KILN_ARGT_STR;
}

static kiln_arg_t parse_override(char *key, const char *value)
{
  kiln_arg_t a = KILN_ARG_STR(key, value);
  char *dot = strchr(key, '.'), *end;
  if (dot == NULL)
    bench_die("kiln: '%s' is not POOL.KEY or arena.KEY", key);
  *dot = '\0';
  a.type = param_type(key, dot + 1);
  *dot = '.';
  if (a.type == KILN_ARGT_NUM) {
    a.num = strtod(value, &end);
    if (end == value || *end != '\0')
      bench_die("kiln: %s=%s is not a number", key, value);
  } else if (a.type == KILN_ARGT_BOOL) {
    a.b = strcmp(value, "true") == 0;
    if (!a.b && strcmp(value, "false") != 0)
      bench_die("kiln: %s=%s is not true or false", key, value);
  } else {
    a.type = KILN_ARGT_STR; /* sizes as text: the plan parses "8MB" */
  }
  return a;
}

/* Fills S.ov from "PLAN[,KEY=VALUE]..." and returns the plan. */
static const char *spec_parse(const char *spec)
{
  char *plan, *tok, *save = NULL;
  if (spec == NULL || spec[0] == '\0' || strlen(spec) >= sizeof S.text)
    bench_die("kiln: give a plan, e.g. kiln:genms (bench_gc --list shows the choices)");
  strcpy(S.text, spec);
  plan = strtok_r(S.text, ",", &save);
  while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
    char *eq = strchr(tok, '=');
    if (eq == NULL)
      bench_die("kiln: '%s' is not KEY=VALUE", tok);
    if (S.n == MAX_KEYS)
      bench_die("kiln: more than %d overrides", MAX_KEYS);
    *eq = '\0';
    S.ov[S.n++] = parse_override(tok, eq + 1);
  }
  S.ov[S.n] = (kiln_arg_t)KILN_ARGS_END;
  return plan;
}

/* cold_end is not needed: kiln_heap_open finds the stack's bounds itself. */
static void k_init(const char *param, void *cold_end, void **roots, void **roots_limit)
{
  const char *plan = spec_parse(param);
  (void)cold_end;
  k_check(kiln_heap_open(&K.heap, plan, &node_format, S.ov), "kiln_heap_open");
  K.arena = kiln_heap_arena(K.heap);
  objects_ap = kiln_heap_ap(K.heap, "objects");
  if (objects_ap == NULL)
    bench_die("kiln: plan '%s' has no automatic pool for the role 'objects'", plan);
  leaf_ap = kiln_heap_ap(K.heap, "leaf");
  if (leaf_ap == NULL)
    leaf_ap = objects_ap;
  k_check(kiln_root_create_area(&K.shadow_root, K.arena, roots, roots_limit, KILN_RANK_EXACT),
          "kiln_root_create_area");
}

/* The reserve/commit loop: the header and fields are written before the
   commit, so the object is valid whenever a collection can see it; if one
   intervened, the commit fails and the object is built again. */
static node_t *k_node(node_t *left, node_t *right)
{
  void *p;
  node_t *n;
  do {
    k_check(kiln_reserve(&p, objects_ap, NODE_BLOCK), "kiln_reserve");
    *(word_t *)p = TAG_NODE;
    n = (node_t *)((word_t *)p + 1);
    n->left = left;
    n->right = right;
    n->i = n->j = 0;
  } while (!kiln_commit(objects_ap, p, NODE_BLOCK));
  return n;
}

/* The array's contents are not references, so only its header must be
   valid at commit. At least one body word, for the forwarding size. */
static double *k_array(size_t n)
{
  size_t words = n > 0 ? n : 1, size;
  void *p;
  if (words > (SIZE_MAX >> 3) / sizeof(double) - 1)
    bench_die("kiln: an array of %zu doubles is too large", n);
  size = HEADER_SIZE + words * sizeof(double);
  do {
    k_check(kiln_reserve(&p, leaf_ap, size), "kiln_reserve");
    *(word_t *)p = (word_t)size << 3 | TAG_ARRAY;
  } while (!kiln_commit(leaf_ap, p, size));
  return (double *)(void *)((word_t *)p + 1);
}

static void k_store(node_t *obj, node_t **slot, node_t *value)
{
  kiln_write(K.arena, obj, (void **)slot, value);
}

static void k_drop_tree(node_t *tree)
{
  (void)tree;
}

static void k_drop_array(double *array)
{
  (void)array;
}

static void k_stats(gc_stats_t *stats_o)
{
  kiln_stats_t s;
  kiln_arena_stats(K.arena, &s);
  stats_o->collections = s.collections;
  stats_o->minor = s.minor_collections;
  stats_o->gc_seconds = s.gc_seconds;
  stats_o->pause_max_ms = s.pause_max_ms;
  stats_o->pause_p50_ms = s.pause_p50_ms;
  stats_o->pause_p99_ms = s.pause_p99_ms;
  stats_o->copied_bytes = s.copied;
  stats_o->minor_p50_ms = s.minor_pause_p50_ms;
  stats_o->minor_p99_ms = s.minor_pause_p99_ms;
  stats_o->minor_max_ms = s.minor_pause_max_ms;
  stats_o->full_p50_ms = s.full_pause_p50_ms;
  stats_o->full_p99_ms = s.full_pause_p99_ms;
}

/* The heap destroys its APs, pools, thread root and arena. */
static void k_finish(void)
{
  kiln_root_destroy(K.shadow_root);
  kiln_heap_close(K.heap);
}

static void k_collect(void)
{
  kiln_arena_collect(K.arena);
}

/* Another thread joins the heap (its stack an ambiguous root) and takes
   its own points for the roles. */
static void k_thread_begin(void)
{
  k_check(kiln_heap_join(K.heap), "kiln_heap_join");
  objects_ap = kiln_heap_ap(K.heap, "objects");
  leaf_ap = kiln_heap_ap(K.heap, "leaf");
  if (objects_ap == NULL)
    bench_die("kiln: kiln_heap_ap: %s", kiln_arena_error(NULL));
  if (leaf_ap == NULL)
    leaf_ap = objects_ap;
}

static void k_thread_end(void)
{
  kiln_heap_leave(K.heap);
}

const gc_backend_t gc_kiln_backend = {
  "kiln", k_list, k_init, k_node, k_array, k_store, k_drop_tree, k_drop_array, k_stats, k_finish,
  k_collect, k_thread_begin, k_thread_end,
};
