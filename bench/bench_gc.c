/* bench_gc.c -- garbage-collection benchmarks: GCBench and binary-trees,
 * each written once against the backend interface of gc_backend.h and run
 * on malloc (explicit frees), Boehm's collector, or a Kiln heap built from a
 * plan.
 *
 * GCBench (John Ellis and Pete Kovac, C version by Hans Boehm) with depth
 * N = 16: a stretch tree of depth N+2 is built and dropped; a long-lived
 * tree of depth N and an array of 500,000 doubles stay live throughout;
 * then, for depths d = 4, 6, ..., N, NumIters(d) = 2 * TreeSize(N+2) /
 * TreeSize(d) trees are built top-down (allocate a node, then store new
 * children into it: the stores go through the write barrier) and as many
 * bottom-up (children first), each dropped at once.
 *
 * binary-trees (the Computer Language Benchmarks Game) with depth N = 18:
 * a stretch tree of depth N+1; a long-lived tree of depth N; for depths
 * d = 4, 6, ..., N, 2^(N - d + 4) trees built bottom-up, walked and dropped.
 *
 * Both verify what they built (node counts; the array's contents), so a
 * collector that loses or corrupts live data fails loudly instead of
 * posting a good time. Output: one line of key=value pairs per run.
 */
#include "benchlib.h"
#include "gc_backend.h"
#include "../plans/trees.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gc_backend_t *B; /* the backend of this run */

/* ---- shadow stack ------------------------------------------------------ */

/* Exact roots for data that outlives the locals that made it; see the
   rooting note in gc_backend.h. Unused slots are NULL. Each mutator thread
   has its slice of one static array (static data, which Boehm scans), and
   the backends' init registers the whole array. */
#define SHADOW_SLOTS 8
#define MAX_THREADS 16
static void *shadow_all[MAX_THREADS * SHADOW_SLOTS];
static _Thread_local void **shadow = shadow_all;
static _Thread_local size_t shadow_top;

static size_t root_push(void *ref)
{
  if (shadow_top == SHADOW_SLOTS)
    bench_die("shadow stack overflow");
  shadow[shadow_top] = ref;
  return shadow_top++;
}

static void root_pop(void)
{
  shadow[--shadow_top] = NULL;
}

/* ---- trees, shared by both workloads ----------------------------------- */

/* The shapes come from plans/trees.h; these operations put them on the
   backend of this run. */
static void *bench_node(void *ctx, void *left, void *right, int depth)
{
  (void)ctx;
  (void)depth;
  return B->node(left, right);
}

static void bench_set_child(void *ctx, void *node, int which, void *child)
{
  node_t *parent = node;
  (void)ctx;
  B->store(parent, which == 0 ? &parent->left : &parent->right, child);
}

static void *bench_child(void *ctx, const void *node, int which)
{
  const node_t *parent = node;
  (void)ctx;
  return which == 0 ? parent->left : parent->right;
}

static const tree_ops_t bench_tree_ops = {bench_node, bench_set_child, bench_child};

static node_t *make_tree(int depth)
{
  return tree_bottom_up(&bench_tree_ops, NULL, depth);
}

static void populate(int depth, node_t *node)
{
  tree_populate(&bench_tree_ops, NULL, depth, node);
}

/* Nodes in the tree (binary-trees' "check"). */
static uint64_t count_nodes(const node_t *tree)
{
  if (tree->left == NULL)
    return 1;
  return 1 + count_nodes(tree->left) + count_nodes(tree->right);
}

static void expect_nodes(const char *what, int depth, uint64_t got)
{
  if (got != tree_size(depth))
    bench_die("%s of depth %d has %llu nodes, not %llu: live data was lost", what, depth,
              (unsigned long long)got, (unsigned long long)tree_size(depth));
}

/* ---- GCBench ----------------------------------------------------------- */

#define GCBENCH_ARRAY 500000
#define MIN_DEPTH TREE_MIN_DEPTH

static void gcbench_depth(int depth, int stretch_depth, int verbose)
{
  uint64_t iters = tree_gcbench_iters(depth, stretch_depth);
  if (verbose)
    fprintf(stderr, "Creating %llu trees of depth %d\n", (unsigned long long)iters, depth);
  for (uint64_t i = 0; i < iters; i++) {
    node_t *tree = B->node(NULL, NULL);
    populate(depth, tree);
    B->drop_tree(tree);
  }
  for (uint64_t i = 0; i < iters; i++)
    B->drop_tree(make_tree(depth));
}

/* The long-lived data, checked and released at the end. */
static uint64_t gcbench_check(size_t tree_slot, size_t array_slot, int depth)
{
  const double *array = shadow[array_slot];
  uint64_t nodes = count_nodes(shadow[tree_slot]);
  if (array[1000] != 1.0 / 1000)
    bench_die("GCBench: the long-lived array was overwritten");
  expect_nodes("GCBench: the long-lived tree", depth, nodes);
  B->drop_array(shadow[array_slot]);
  B->drop_tree(shadow[tree_slot]);
  root_pop();
  root_pop();
  return nodes;
}

static uint64_t run_gcbench(int depth, int verbose)
{
  int stretch_depth = depth + 2;
  size_t tree_slot, array_slot;
  double *array;

  B->drop_tree(make_tree(stretch_depth)); /* grow the heap to its working size */
  tree_slot = root_push(B->node(NULL, NULL));
  populate(depth, shadow[tree_slot]);
  array_slot = root_push(B->array(GCBENCH_ARRAY));
  array = shadow[array_slot];
  /* as in the original, half the array is filled (slot 0 gets 0, not 1/0) */
  array[0] = 0.0;
  for (int i = 1; i < GCBENCH_ARRAY / 2; i++)
    array[i] = 1.0 / i;
  for (int d = MIN_DEPTH; d <= depth; d += 2)
    gcbench_depth(d, stretch_depth, verbose);
  return gcbench_check(tree_slot, array_slot, depth);
}

/* ---- binary-trees ------------------------------------------------------ */

/* Build, count and drop one tree; returns its node count. */
static uint64_t bt_one(int depth)
{
  node_t *tree = make_tree(depth);
  uint64_t nodes = count_nodes(tree);
  B->drop_tree(tree);
  return nodes;
}

static uint64_t run_binary_trees(int n, int verbose)
{
  int max_depth = n < MIN_DEPTH + 2 ? MIN_DEPTH + 2 : n;
  uint64_t check = bt_one(max_depth + 1), total = check;
  size_t slot;

  expect_nodes("binary-trees: the stretch tree", max_depth + 1, check);
  if (verbose)
    fprintf(stderr, "stretch tree of depth %d\t check: %llu\n", max_depth + 1,
            (unsigned long long)check);
  slot = root_push(make_tree(max_depth));
  for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
    uint64_t iters = tree_binary_trees_iters(d, max_depth);
    check = 0;
    for (uint64_t i = 0; i < iters; i++)
      check += bt_one(d);
    if (check != iters * tree_size(d))
      bench_die("binary-trees: trees of depth %d lost nodes", d);
    if (verbose)
      fprintf(stderr, "%llu\t trees of depth %d\t check: %llu\n", (unsigned long long)iters, d,
              (unsigned long long)check);
    total += check;
  }
  check = count_nodes(shadow[slot]);
  expect_nodes("binary-trees: the long-lived tree", max_depth, check);
  if (verbose)
    fprintf(stderr, "long lived tree of depth %d\t check: %llu\n", max_depth,
            (unsigned long long)check);
  B->drop_tree(shadow[slot]);
  root_pop();
  return total + check;
}

/* ---- full-gc ------------------------------------------------------------ */

/* A long-lived tree of depth N = 20 (2 M nodes), then FULL_GC_RUNS full
   collections of it with nothing else live: the marking speed of a
   collector, and what its parallel markers add. */
#define FULL_GC_RUNS 10
static bench_pauses_t forced;

static uint64_t run_full_gc(int n, int verbose)
{
  if (B->collect == NULL)
    bench_die("full-gc: backend %s does not collect", B->name);
  size_t slot = root_push(make_tree(n));
  for (int i = 0; i < FULL_GC_RUNS; i++) {
    double t0 = bench_now();
    B->collect();
    bench_pauses_add(&forced, (bench_now() - t0) * 1e3);
  }
  uint64_t check = count_nodes(shadow[slot]);
  expect_nodes("full-gc: the tree", n, check);
  if (verbose)
    fprintf(stderr, "tree of depth %d collected %d times\t check: %llu\n", n, FULL_GC_RUNS,
            (unsigned long long)check);
  B->drop_tree(shadow[slot]);
  root_pop();
  return check;
}

/* ---- driver ------------------------------------------------------------ */

typedef struct workload_s {
  const char *name;
  uint64_t (*run)(int depth, int verbose); /* returns a checksum */
  int default_depth;
} workload_t;

static const workload_t workloads[] = {
  {"gcbench", run_gcbench, 16},
  {"binary-trees", run_binary_trees, 18},
  {"full-gc", run_full_gc, 20},
};
#define N_WORKLOADS (sizeof workloads / sizeof workloads[0])

static const gc_backend_t *const backends[] = {
  &gc_malloc_backend,
#ifdef BENCH_HAVE_BDWGC
  &gc_boehm_backend,
#endif
  &gc_kiln_backend,
};
#define N_BACKENDS (sizeof backends / sizeof backends[0])

typedef struct options_s {
  int depth; /* 0: the workload's default */
  int verbose;
  int threads; /* mutator threads (0: the main thread runs the workload) */
  const char *label;
  const char *workload, *backend;
} options_t;

/* ---- threads ------------------------------------------------------------ */

/* With -t N, N threads each run the whole workload with their own shadow
   stack, joined to the backend (thread_begin) for the run, as Whippet's
   mt-gcbench does: N times the work of one thread. */
typedef struct mutator_s {
  pthread_t thread;
  const workload_t *w;
  int depth, verbose, index;
  uint64_t check;
} mutator_t;

static void *mutator_main(void *arg)
{
  mutator_t *m = arg;
  shadow = shadow_all + (size_t)m->index * SHADOW_SLOTS;
  if (B->thread_begin != NULL)
    B->thread_begin();
  m->check = m->w->run(m->depth, m->verbose);
  if (B->thread_end != NULL)
    B->thread_end();
  return NULL;
}

static uint64_t run_threads(const workload_t *w, int depth, int verbose, int n)
{
  mutator_t m[MAX_THREADS];
  uint64_t check = 0;
  for (int i = 0; i < n; i++) {
    m[i] = (mutator_t){.w = w, .depth = depth, .verbose = verbose, .index = i};
    if (pthread_create(&m[i].thread, NULL, mutator_main, &m[i]) != 0)
      bench_die("-t: could not start thread %d", i + 1);
  }
  for (int i = 0; i < n; i++) {
    pthread_join(m[i].thread, NULL);
    if (m[i].check != m[0].check)
      bench_die("-t: thread %d's checksum %llu differs from thread 1's %llu", i + 1,
                (unsigned long long)m[i].check, (unsigned long long)m[0].check);
    check += m[i].check;
  }
  return check;
}

static void usage(FILE *f)
{
  fprintf(f, "usage: bench_gc [options] WORKLOAD BACKEND\n"
             "       bench_gc --list\n"
             "workloads: gcbench (depth 16), binary-trees (depth 18), full-gc (depth 20: the\n"
             "           median time of forced full collections, forced_p50_ms)\n"
             "backends:  malloc, boehm (if built), kiln:PLAN[,POOL.KEY=VALUE]... with plan\n"
             "           overrides (e.g. kiln:genms, kiln:genms,young.nursery_size=8MB,arena.growth=3)\n"
             "  -d N        tree depth, 4..25\n"
             "  -t N        N mutator threads (1..16), each running the whole workload\n"
             "              (N times the work; the checksum is their sum)\n"
             "  -v          print the workload's progress on stderr\n"
             "  --label L   name printed as backend= (e.g. mimalloc for a preloaded malloc)\n");
}

static const workload_t *find_workload(const char *name)
{
  for (size_t i = 0; i < N_WORKLOADS; i++)
    if (strcmp(workloads[i].name, name) == 0)
      return &workloads[i];
  bench_die("unknown workload '%s' (gcbench, binary-trees, full-gc)", name);
}

/* "kiln:genms" -> the kiln backend with *param_o = "genms"; "malloc" -> NULL param. */
static const gc_backend_t *find_backend(const char *spec, const char **param_o)
{
  const char *colon = strchr(spec, ':');
  size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
  *param_o = colon ? colon + 1 : NULL;
  for (size_t i = 0; i < N_BACKENDS; i++)
    if (strlen(backends[i]->name) == len && strncmp(backends[i]->name, spec, len) == 0)
      return backends[i];
  if (len == 5 && strncmp(spec, "boehm", 5) == 0)
    bench_die("backend boehm was not built: configure did not find bdw-gc (libgc-dev)");
  bench_die("unknown backend '%s' (bench_gc --list shows the choices)", spec);
}

static void parse(int argc, char **argv, options_t *o)
{
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--list") == 0) {
      for (size_t b = 0; b < N_BACKENDS; b++)
        backends[b]->list();
      exit(0);
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "-d") == 0) {
      o->depth = (int)bench_parse_ulong(a, i + 1 < argc ? argv[++i] : NULL);
      if (o->depth < MIN_DEPTH || o->depth > 25)
        bench_die("-d: depth %d is outside 4..25", o->depth);
    } else if (strcmp(a, "-t") == 0) {
      o->threads = (int)bench_parse_ulong(a, i + 1 < argc ? argv[++i] : NULL);
      if (o->threads < 1 || o->threads > MAX_THREADS)
        bench_die("-t: %d threads is outside 1..%d", o->threads, MAX_THREADS);
    } else if (strcmp(a, "-v") == 0) {
      o->verbose = 1;
    } else if (strcmp(a, "--label") == 0 && i + 1 < argc) {
      o->label = argv[++i];
    } else if (a[0] != '-' && npos == 0) {
      o->workload = a;
      npos++;
    } else if (a[0] != '-' && npos == 1) {
      o->backend = a;
      npos++;
    } else {
      bench_usage_error(usage);
    }
  }
  if (npos != 2)
    bench_usage_error(usage);
}

static void report(const workload_t *w, const options_t *o, int depth, double secs,
                   uint64_t check)
{
  gc_stats_t st = {0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0.0};
  B->stats(&st);
  printf("workload=%s backend=%s threads=%d depth=%d seconds=%.6f peak_rss_kb=%ld collections=%llu "
         "minor=%llu gc_seconds=%.6f pause_max_ms=%.3f pause_p50_ms=%.3f pause_p99_ms=%.3f "
         "copied_bytes=%llu minor_p50_ms=%.3f minor_p99_ms=%.3f full_p50_ms=%.3f "
         "full_p99_ms=%.3f minor_max_ms=%.3f forced_p50_ms=%.3f check=%llu\n",
         w->name, o->label ? o->label : o->backend, o->threads > 0 ? o->threads : 1, depth, secs, bench_peak_rss_kb(),
         (unsigned long long)st.collections, (unsigned long long)st.minor, st.gc_seconds,
         st.pause_max_ms, st.pause_p50_ms, st.pause_p99_ms, (unsigned long long)st.copied_bytes,
         st.minor_p50_ms, st.minor_p99_ms, st.full_p50_ms, st.full_p99_ms, st.minor_max_ms,
         bench_pauses_pct(&forced, 50), (unsigned long long)check);
}

int main(int argc, char **argv)
{
  /* The stack's cold end for backends that scan it: every frame that holds
     a heap reference is called from here, so lies between this and the top. */
  void *cold_end = &cold_end;
  options_t o = {0, 0, 0, NULL, NULL, NULL};
  const char *param;
  parse(argc, argv, &o);
  const workload_t *w = find_workload(o.workload);
  int depth = o.depth ? o.depth : w->default_depth;
  B = find_backend(o.backend, &param);

  B->init(param, cold_end, shadow_all, shadow_all + MAX_THREADS * SHADOW_SLOTS);
  double t0 = bench_now();
  uint64_t check = o.threads > 0 ? run_threads(w, depth, o.verbose, o.threads)
                                 : w->run(depth, o.verbose);
  double secs = bench_now() - t0;
  report(w, &o, depth, secs, check);
  B->finish();
  return 0;
}
