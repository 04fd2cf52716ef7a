/* bench_manual.c -- manual-allocation benchmark: Kiln's manual pools against
 * the C library's malloc (and, through LD_PRELOAD, mimalloc and jemalloc).
 *
 * Workloads (one "op" is one allocation, every block is freed before the end):
 *   fixed   32-byte blocks allocated and freed in LIFO batches of 1000, the
 *           pattern of a parser's or a compiler's temporary nodes;
 *   random  sizes uniform in 16..512 bytes; a live set of 100k blocks is
 *           built, then each op frees a randomly chosen live block and puts
 *           a new one of a new random size in its place (fragmentation).
 * Every block is filled with a byte pattern after allocation and its first
 * and last bytes are checked before it is freed, so the memory is really
 * touched and an allocator that hands out overlapping blocks is caught.
 * The generator is seeded, so every backend sees the same operations.
 *
 * Threads (-t N): N threads run the workload at once, each on its own
 * blocks (thread i seeds its generator with seed + i), none freeing
 * another's; throughput is every thread's ops over the wall time from the
 * first thread's start to the last one's end. kiln-mvff-cache gives each
 * thread a cache of its own in front of one shared pool; kiln-mfs and
 * kiln-mvff share their one pool (kiln_pool_share: every call locked) when
 * N > 1.
 *
 * Output: one line of key=value pairs per run, for bench/run.sh.
 */
#include "benchlib.h"

#include <kiln.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- backends ---------------------------------------------------------- */

/* A manual allocator. unit_size is the only size a fixed-size backend will
   be asked for; alloc returns NULL only on exhaustion. */
typedef struct manual_backend_s {
  const char *name;
  int fixed_only; /* serves one block size, so only the fixed workload */
  void (*init)(size_t unit_size);
  void *(*alloc)(size_t size);
  void (*free)(void *p, size_t size);
  void (*finish)(void);
  void (*thread_start)(void); /* optional: set up a thread before it runs */
  void (*thread_end)(void);   /* optional: and after */
} manual_backend_t;

static void libc_init(size_t unit_size)
{
  (void)unit_size;
}

static void *libc_alloc(size_t size)
{
  return malloc(size);
}

static void libc_free(void *p, size_t size)
{
  (void)size;
  free(p);
}

static void libc_finish(void)
{
}

/* The Kiln backends share one arena and one pool; the class is the only
   difference, so they share their alloc/free/finish too. */
static kiln_arena_t kiln_arena_;
static kiln_pool_t kiln_pool_;
static unsigned threads_ = 1; /* -t */
static long capacity_ = -1;   /* -c: kiln-mvff-cache's capacity (-1: its default) */
/* kiln-mvff-cache: each thread's cache in front of kiln_pool_. */
static _Thread_local kiln_cache_t kiln_cache_;

static void kiln_check(kiln_res_t res, const char *what)
{
  if (res != KILN_OK)
    bench_die("%s: %s: %s", what, kiln_res_name(res), kiln_arena_error(kiln_arena_));
}

static void kiln_open(kiln_class_t klass, const kiln_arg_t args[])
{
  kiln_check(kiln_arena_create(&kiln_arena_, NULL), "kiln_arena_create");
  kiln_check(kiln_pool_create(&kiln_pool_, kiln_arena_, klass, args), "kiln_pool_create");
  if (threads_ > 1)
    kiln_check(kiln_pool_share(kiln_pool_), "kiln_pool_share");
}

static void kiln_mfs_init(size_t unit_size)
{
  kiln_arg_t args[] = {KILN_ARG_SIZE("unit_size", unit_size), KILN_ARGS_END};
  kiln_open(kiln_class_mfs(), args);
}

static void kiln_mvff_init(size_t unit_size)
{
  (void)unit_size;
  kiln_open(kiln_class_mvff(), NULL);
}

static void *kiln_manual_alloc(size_t size)
{
  void *p;
  if (kiln_alloc(&p, kiln_pool_, size) != KILN_OK)
    return NULL;
  return p;
}

static void kiln_manual_free(void *p, size_t size)
{
  kiln_free(kiln_pool_, p, size);
}

static void kiln_cache_start(void)
{
  kiln_arg_t args[] = {KILN_ARG_SIZE("capacity", capacity_), KILN_ARGS_END};
  kiln_check(kiln_cache_create(&kiln_cache_, kiln_pool_, capacity_ >= 0 ? args : NULL),
             "kiln_cache_create");
}

static void kiln_cache_end(void)
{
  kiln_cache_destroy(kiln_cache_);
}

static void *kiln_cached_alloc(size_t size)
{
  void *p;
  if (kiln_cache_alloc(&p, kiln_cache_, size) != KILN_OK)
    return NULL;
  return p;
}

static void kiln_cached_free(void *p, size_t size)
{
  kiln_cache_free(kiln_cache_, p, size);
}

static void kiln_manual_finish(void)
{
  kiln_pool_destroy(kiln_pool_);
  kiln_arena_destroy(kiln_arena_);
}

static const manual_backend_t backends[] = {
  {"kiln-mfs", 1, kiln_mfs_init, kiln_manual_alloc, kiln_manual_free, kiln_manual_finish, NULL,
   NULL},
  {"kiln-mvff", 0, kiln_mvff_init, kiln_manual_alloc, kiln_manual_free, kiln_manual_finish, NULL,
   NULL},
  {"kiln-mvff-cache", 0, kiln_mvff_init, kiln_cached_alloc, kiln_cached_free,
   kiln_manual_finish, kiln_cache_start, kiln_cache_end},
  /* whatever malloc the process has: glibc, or a preloaded mimalloc/jemalloc */
  {"malloc", 0, libc_init, libc_alloc, libc_free, libc_finish, NULL, NULL},
};
#define N_BACKENDS (sizeof backends / sizeof backends[0])

/* ---- workloads --------------------------------------------------------- */

typedef struct options_s {
  unsigned long count; /* fixed: batches; random: ops after the live set is built */
  unsigned long live;  /* random: live blocks */
  uint64_t seed;
} options_t;

#define FIXED_SIZE 32
#define FIXED_BATCH 1000
#define RANDOM_MIN 16
#define RANDOM_MAX 512

static void *must_alloc(const manual_backend_t *b, size_t size)
{
  void *p = b->alloc(size);
  if (p == NULL)
    bench_die("%s: allocation of %zu bytes failed", b->name, size);
  return p;
}

/* The first and last bytes still hold the block's pattern; if not, another
   block overlapped this one (or the allocator wrote into a live block). */
static void check_block(const unsigned char *p, size_t size, unsigned char tag)
{
  if (p[0] != tag || p[size - 1] != tag)
    bench_die("block %p of %zu bytes lost its pattern: overlapping blocks?", (const void *)p,
              size);
}

static void *xcalloc(size_t n, size_t size)
{
  void *p = calloc(n, size);
  if (p == NULL)
    bench_die("out of memory for the benchmark's own tables");
  return p;
}

/* Returns the seconds spent allocating and freeing; *ops_o gets the count. */
static double run_fixed(const manual_backend_t *b, const options_t *o, uint64_t *ops_o)
{
  unsigned char **blk = xcalloc(FIXED_BATCH, sizeof *blk);
  double t0 = bench_now();
  for (unsigned long batch = 0; batch < o->count; batch++) {
    for (size_t i = 0; i < FIXED_BATCH; i++) {
      /* neighbours get different tags, so an overlap shows */
      blk[i] = must_alloc(b, FIXED_SIZE);
      memset(blk[i], (unsigned char)(i ^ batch), FIXED_SIZE);
    }
    for (size_t i = FIXED_BATCH; i-- > 0;) {
      check_block(blk[i], FIXED_SIZE, (unsigned char)(i ^ batch));
      b->free(blk[i], FIXED_SIZE);
    }
  }
  double t = bench_now() - t0;
  free(blk);
  *ops_o = (uint64_t)o->count * FIXED_BATCH;
  return t;
}

/* The random workload's live set: block, size and pattern per slot. */
typedef struct live_set_s {
  unsigned char **p;
  uint16_t *size;
  unsigned char *tag;
  size_t n;
} live_set_t;

static void live_put(live_set_t *ls, size_t i, const manual_backend_t *b, bench_rng_t *rng,
                     unsigned char tag)
{
  size_t size = RANDOM_MIN + bench_rng_below(rng, RANDOM_MAX - RANDOM_MIN + 1);
  ls->p[i] = must_alloc(b, size);
  ls->size[i] = (uint16_t)size;
  ls->tag[i] = tag;
  memset(ls->p[i], tag, size);
}

static void live_drop(live_set_t *ls, size_t i, const manual_backend_t *b)
{
  check_block(ls->p[i], ls->size[i], ls->tag[i]);
  b->free(ls->p[i], ls->size[i]);
}

static double run_random(const manual_backend_t *b, const options_t *o, uint64_t *ops_o)
{
  live_set_t ls = {xcalloc(o->live, sizeof *ls.p), xcalloc(o->live, sizeof *ls.size),
                   xcalloc(o->live, 1), o->live};
  bench_rng_t rng = {o->seed};
  if (ls.n == 0 || ls.n > UINT32_MAX)
    bench_die("random: the live set must hold 1..%lu blocks", (unsigned long)UINT32_MAX);
  double t0 = bench_now();
  for (size_t i = 0; i < ls.n; i++)
    live_put(&ls, i, b, &rng, (unsigned char)i);
  for (unsigned long op = 0; op < o->count; op++) {
    size_t victim = bench_rng_below(&rng, (uint32_t)ls.n);
    live_drop(&ls, victim, b);
    live_put(&ls, victim, b, &rng, (unsigned char)op);
  }
  for (size_t i = 0; i < ls.n; i++)
    live_drop(&ls, i, b);
  double t = bench_now() - t0;
  free(ls.p);
  free(ls.size);
  free(ls.tag);
  *ops_o = (uint64_t)ls.n + o->count;
  return t;
}

typedef struct workload_s {
  const char *name;
  double (*run)(const manual_backend_t *b, const options_t *o, uint64_t *ops_o);
  unsigned long default_count;
} workload_t;

static const workload_t workloads[] = {
  {"fixed", run_fixed, 20000},
  {"random", run_random, 10000000},
};
#define N_WORKLOADS (sizeof workloads / sizeof workloads[0])

/* ---- driver ------------------------------------------------------------ */

static void usage(FILE *f)
{
  fprintf(f,
          "usage: bench_manual [options] WORKLOAD BACKEND\n"
          "       bench_manual --list\n"
          "workloads: fixed, random; backends: kiln-mfs (fixed only), kiln-mvff,\n"
          "  kiln-mvff-cache (a per-thread cache in front of mvff), malloc\n"
          "  -n N        fixed: batches of 1000 (20000); random: ops (10000000), per thread\n"
          "  -t N        threads running the workload at once (1)\n"
          "  -c BYTES    kiln-mvff-cache: capacity of each size class (the cache's default)\n"
          "  -l N        random: live blocks (100000)\n"
          "  -s SEED     generator seed (42)\n"
          "  --label L   name printed as backend= (e.g. mimalloc for a preloaded malloc)\n");
}

static void list(void)
{
  for (size_t i = 0; i < N_BACKENDS; i++)
    printf("%s%s\n", backends[i].name, backends[i].fixed_only ? " fixed" : "");
}

static const workload_t *find_workload(const char *name)
{
  for (size_t i = 0; i < N_WORKLOADS; i++)
    if (strcmp(workloads[i].name, name) == 0)
      return &workloads[i];
  bench_die("unknown workload '%s' (fixed, random)", name);
}

static const manual_backend_t *find_backend(const char *name)
{
  for (size_t i = 0; i < N_BACKENDS; i++)
    if (strcmp(backends[i].name, name) == 0)
      return &backends[i];
  bench_die("unknown backend '%s' (kiln-mfs, kiln-mvff, kiln-mvff-cache, malloc)", name);
}

/* Command line into *o, *label and the two positional names. Exits on --list,
   --help and errors. */
static void parse(int argc, char **argv, options_t *o, int *have_count, const char **label,
                  const char **pos)
{
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--list") == 0) {
      list();
      exit(0);
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "-n") == 0) {
      o->count = bench_parse_ulong(a, i + 1 < argc ? argv[++i] : NULL);
      *have_count = 1;
    } else if (strcmp(a, "-l") == 0) {
      o->live = bench_parse_ulong(a, i + 1 < argc ? argv[++i] : NULL);
    } else if (strcmp(a, "-t") == 0) {
      threads_ = (unsigned)bench_parse_ulong(a, i + 1 < argc ? argv[++i] : NULL);
      if (threads_ == 0 || threads_ > 64)
        bench_die("-t: 1 to 64 threads");
    } else if (strcmp(a, "-c") == 0) {
      capacity_ = (long)bench_parse_ulong(a, i + 1 < argc ? argv[++i] : NULL);
    } else if (strcmp(a, "-s") == 0) {
      o->seed = bench_parse_ulong(a, i + 1 < argc ? argv[++i] : NULL);
    } else if (strcmp(a, "--label") == 0 && i + 1 < argc) {
      *label = argv[++i];
    } else if (a[0] != '-' && npos < 2) {
      pos[npos++] = a;
    } else {
      bench_usage_error(usage);
    }
  }
  if (npos != 2)
    bench_usage_error(usage);
}

/* One thread's run of the workload. */
typedef struct run_s {
  const workload_t *w;
  const manual_backend_t *b;
  options_t o;
  uint64_t ops;
  pthread_t id;
} run_t;

static void *run_thread(void *arg)
{
  run_t *r = arg;
  if (r->b->thread_start != NULL)
    r->b->thread_start();
  (void)r->w->run(r->b, &r->o, &r->ops);
  if (r->b->thread_end != NULL)
    r->b->thread_end();
  return NULL;
}

/* Run the workload in threads_ threads (the main thread alone for one);
   returns the wall seconds, *ops_o every thread's ops. */
static double run_all(const workload_t *w, const manual_backend_t *b, const options_t *o,
                      uint64_t *ops_o)
{
  run_t *runs = xcalloc(threads_, sizeof *runs);
  for (unsigned i = 0; i < threads_; i++) {
    runs[i].w = w;
    runs[i].b = b;
    runs[i].o = *o;
    runs[i].o.seed = o->seed + i;
  }
  double t0 = bench_now(), secs;
  if (threads_ == 1) {
    if (b->thread_start != NULL)
      b->thread_start();
    secs = w->run(b, &runs[0].o, &runs[0].ops);
    if (b->thread_end != NULL)
      b->thread_end();
  } else {
    for (unsigned i = 0; i < threads_; i++)
      if (pthread_create(&runs[i].id, NULL, run_thread, &runs[i]) != 0)
        bench_die("pthread_create failed");
    for (unsigned i = 0; i < threads_; i++)
      pthread_join(runs[i].id, NULL);
    secs = bench_now() - t0;
  }
  *ops_o = 0;
  for (unsigned i = 0; i < threads_; i++)
    *ops_o += runs[i].ops;
  free(runs);
  return secs;
}

int main(int argc, char **argv)
{
  options_t o = {0, 100000, 42};
  int have_count = 0;
  const char *label = NULL, *pos[2];
  parse(argc, argv, &o, &have_count, &label, pos);
  const workload_t *w = find_workload(pos[0]);
  const manual_backend_t *b = find_backend(pos[1]);
  if (b->fixed_only && w->run != run_fixed)
    bench_die("backend %s serves one block size: only the fixed workload", b->name);
  if (!have_count)
    o.count = w->default_count;

  uint64_t ops;
  b->init(FIXED_SIZE);
  double secs = run_all(w, b, &o, &ops);
  b->finish();
  printf("workload=%s backend=%s threads=%u ops=%llu seconds=%.6f ops_per_s=%.0f "
         "peak_rss_kb=%ld\n", w->name, label ? label : b->name, threads_,
         (unsigned long long)ops, secs,
         secs > 0 ? (double)ops / secs : 0.0, bench_peak_rss_kb());
  return 0;
}
