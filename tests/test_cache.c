/* test_cache.c -- per-thread caches in front of manual pools, and shared
 * pools (kiln_cache_*, kiln_pool_share).
 *
 * Owns: the property test of several threads allocating and freeing random
 * sizes through caches of one pool, handing blocks to each other to free
 * (a shadow of every live block checks that blocks never overlap, that
 * their contents survive, and that the pool's statistics come back to
 * nothing once every block is freed and the caches flushed); refill and
 * flush in batches of half a list; plain kiln_alloc and kiln_free on a
 * shared pool from several threads; the misuse the caches refuse, and in
 * the checked build what the pool reports through them. Worker threads
 * record a failure in their own struct; the test's thread asserts it, as
 * Check's asserts belong to that thread.
 */
#include "testlib.h"
#include "graph.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- pools under test --------------------------------------------------- */

enum { C_MVFF, C_MVFF_ALIGN64, C_MVFF_NOCACHE, C_MFS, NCACHE_CONFIGS };
static const char *const cache_config_names[] = {"mvff", "mvff align 64", "mvff cache 0", "mfs"};

static kiln_pool_t make_pool(kiln_arena_t arena, int which)
{
  kiln_pool_t pool;
  kiln_arg_t align64[] = {KILN_ARG_SIZE("align", 64), KILN_ARGS_END};
  kiln_arg_t nocache[] = {KILN_ARG_SIZE("cache", 0), KILN_ARG_SIZE("extend_by", 16384),
                          KILN_ARGS_END};
  kiln_arg_t unit[] = {KILN_ARG_SIZE("unit_size", 48), KILN_ARGS_END};
  switch (which) {
  case C_MFS:
    ck_assert_ok(kiln_pool_create(&pool, arena, kiln_class_mfs(), unit));
    break;
  case C_MVFF_ALIGN64:
    ck_assert_ok(kiln_pool_create(&pool, arena, kiln_class_mvff(), align64));
    break;
  case C_MVFF_NOCACHE:
    ck_assert_ok(kiln_pool_create(&pool, arena, kiln_class_mvff(), nocache));
    break;
  default:
    ck_assert_ok(kiln_pool_create(&pool, arena, kiln_class_mvff(), NULL));
  }
  return pool;
}

/* The largest size the property test asks a pool for: mfs serves its unit;
   mvff gets sizes past its caches' classes and, now and then, past its
   large_size (a segment of its own). */
static size_t max_size(int which) { return which == C_MFS ? 48 : 2048; }

/* ---- shadow of live blocks ---------------------------------------------- */

typedef struct blk_s {
  unsigned char *p;
  size_t size;
  uint64_t tag;
} blk_t;

/* Every byte of a block is a function of its tag and offset. */
static unsigned char pattern(uint64_t tag, size_t k)
{
  return (unsigned char)((tag * 0x9E3779B97F4A7C15ull + k * 0x2545F491ull) >> 40);
}

static void fill(const blk_t *b)
{
  for (size_t k = 0; k < b->size; k++)
    b->p[k] = pattern(b->tag, k);
}

/* 1 if the block's contents are intact. */
static int intact(const blk_t *b)
{
  for (size_t k = 0; k < b->size; k++)
    if (b->p[k] != pattern(b->tag, k))
      return 0;
  return 1;
}

static int by_address(const void *x, const void *y)
{
  const blk_t *a = x, *b = y;
  return a->p < b->p ? -1 : a->p > b->p;
}

/* ---- a worker ----------------------------------------------------------- */

#define MAXTHREADS 4
#define MAILBOX 256

typedef struct worker_s worker_t;
struct worker_s {
  kiln_pool_t pool;
  int which, index, nthreads;
  unsigned long ops;
  size_t live_max;
  uint64_t seed;
  worker_t *all;            /* every worker, for handing blocks on */
  pthread_barrier_t *barrier;
  blk_t *live;
  size_t nlive;
  /* blocks other threads handed this one to free, under lock */
  pthread_mutex_t lock;
  blk_t mail[MAILBOX];
  size_t nmail;
  unsigned long received, handed, plain; /* cross-thread frees, plain pool calls */
  char failure[256];
};

#define note_failure(w, ...) test_note_failure((w)->failure, sizeof (w)->failure, __VA_ARGS__)

static size_t pick_size(worker_t *w, uint64_t *rng)
{
  size_t r = test_range(rng, 0, 99), top = max_size(w->which);
  if (w->which != C_MFS && r == 0)
    return test_range(rng, 17000, 40000); /* past large_size: a segment of its own */
  if (r < 80)
    return test_range(rng, 1, top < 512 ? top : 512);
  return test_range(rng, 1, top);
}

/* A block through the cache, or now and then through the pool itself
   (which is shared, so takes the lock). */
static int get_block(worker_t *w, kiln_cache_t cache, uint64_t *rng, blk_t *b, uint64_t tag)
{
  b->size = pick_size(w, rng);
  b->tag = tag;
  void *p;
  kiln_res_t res;
  if (test_range(rng, 0, 15) == 0) {
    res = kiln_alloc(&p, w->pool, b->size);
    w->plain++;
  } else {
    res = kiln_cache_alloc(&p, cache, b->size);
  }
  if (res != KILN_OK) {
    note_failure(w, "thread %d: allocating %zu bytes: %s", w->index, b->size,
                 kiln_arena_error(kiln_pool_arena(w->pool)));
    return 0;
  }
  b->p = p;
  fill(b);
  return 1;
}

static void put_block(worker_t *w, kiln_cache_t cache, uint64_t *rng, const blk_t *b)
{
  if (!intact(b))
    note_failure(w, "thread %d: block %p of %zu bytes lost its contents", w->index,
                 (void *)b->p, b->size);
  if (test_range(rng, 0, 15) == 0)
    kiln_free(w->pool, b->p, b->size);
  else
    kiln_cache_free(cache, b->p, b->size);
}

/* Hand b to the next thread, which frees it; 0 if its mailbox is full. */
static int hand_on(worker_t *w, const blk_t *b)
{
  worker_t *to = &w->all[(w->index + 1) % w->nthreads];
  pthread_mutex_lock(&to->lock);
  int ok = to->nmail < MAILBOX;
  if (ok)
    to->mail[to->nmail++] = *b;
  pthread_mutex_unlock(&to->lock);
  w->handed += ok;
  return ok;
}

/* Free what other threads handed this one. */
static void empty_mailbox(worker_t *w, kiln_cache_t cache, uint64_t *rng)
{
  blk_t got[MAILBOX];
  pthread_mutex_lock(&w->lock);
  size_t n = w->nmail;
  memcpy(got, w->mail, n * sizeof *got);
  w->nmail = 0;
  pthread_mutex_unlock(&w->lock);
  for (size_t i = 0; i < n; i++)
    put_block(w, cache, rng, &got[i]);
  w->received += n;
}

static void *worker(void *arg)
{
  worker_t *w = arg;
  uint64_t rng = w->seed;
  kiln_cache_t cache;
  if (kiln_cache_create(&cache, w->pool, NULL) != KILN_OK) {
    note_failure(w, "thread %d: kiln_cache_create: %s", w->index,
                 kiln_arena_error(kiln_pool_arena(w->pool)));
    pthread_barrier_wait(w->barrier);
    pthread_barrier_wait(w->barrier);
    pthread_barrier_wait(w->barrier);
    return NULL;
  }
  uint64_t tag = (uint64_t)w->index << 48;
  for (unsigned long op = 0; op < w->ops && w->failure[0] == '\0'; op++) {
    size_t r = test_range(&rng, 0, 99);
    if (w->nlive < w->live_max && (r < 55 || w->nlive == 0)) {
      if (get_block(w, cache, &rng, &w->live[w->nlive], ++tag))
        w->nlive++;
    } else {
      size_t victim = test_range(&rng, 0, w->nlive - 1);
      blk_t b = w->live[victim];
      w->live[victim] = w->live[--w->nlive];
      if (r % 4 != 0 || !hand_on(w, &b))
        put_block(w, cache, &rng, &b);
    }
    if (op % 64 == 0)
      empty_mailbox(w, cache, &rng);
    if (op % 5000 == 4999)
      kiln_cache_flush(cache);
  }
  /* The test's thread checks every live block against every other. */
  pthread_barrier_wait(w->barrier);
  pthread_barrier_wait(w->barrier);
  /* Free every live block, handing some to the next thread, until every
     mailbox is empty at the last barrier. */
  while (w->nlive > 0) {
    blk_t b = w->live[--w->nlive];
    if (w->nlive % 3 != 0 || !hand_on(w, &b))
      put_block(w, cache, &rng, &b);
  }
  pthread_barrier_wait(w->barrier);
  empty_mailbox(w, cache, &rng);
  kiln_cache_flush(cache);
  pthread_barrier_wait(w->barrier); /* every cache flushed: the pool holds nothing */
  pthread_barrier_wait(w->barrier); /* the test's thread has read the statistics */
  kiln_cache_destroy(cache);
  return NULL;
}

/* Check that no two live blocks of all workers overlap; fail with a
   sentence if two do. */
static void check_no_overlap(worker_t *ws, int n)
{
  size_t total = 0;
  for (int t = 0; t < n; t++)
    total += ws[t].nlive + ws[t].nmail;
  blk_t *all = calloc(total + 1, sizeof *all);
  ck_assert_ptr_nonnull(all);
  size_t k = 0;
  for (int t = 0; t < n; t++) {
    memcpy(all + k, ws[t].live, ws[t].nlive * sizeof *all);
    k += ws[t].nlive;
    memcpy(all + k, ws[t].mail, ws[t].nmail * sizeof *all);
    k += ws[t].nmail;
  }
  qsort(all, total, sizeof *all, by_address);
  for (size_t i = 0; i + 1 < total; i++)
    T_CHECK(all[i].p + all[i].size <= all[i + 1].p, "blocks %p (%zu bytes) and %p overlap",
            (void *)all[i].p, all[i].size, (void *)all[i + 1].p);
  for (size_t i = 0; i < total; i++)
    T_CHECK(intact(&all[i]), "block %p of %zu bytes lost its contents", (void *)all[i].p,
            all[i].size);
  free(all);
}

static void run_property(int which, int nthreads, uint64_t seed)
{
  kiln_arena_t arena = arena_new(0, 0);
  kiln_pool_t pool = make_pool(arena, which);
  kiln_pool_stats_t base = pstats(pool);
  worker_t ws[MAXTHREADS];
  pthread_t ids[MAXTHREADS];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
  memset(ws, 0, sizeof ws);
  for (int t = 0; t < nthreads; t++) {
    worker_t *w = &ws[t];
    w->pool = pool;
    w->which = which;
    w->index = t;
    w->nthreads = nthreads;
    w->ops = test_scale(40000);
    w->live_max = 600;
    w->seed = seed * 131 + (uint64_t)t;
    w->all = ws;
    w->barrier = &barrier;
    w->live = calloc(w->live_max, sizeof *w->live);
    ck_assert_ptr_nonnull(w->live);
    pthread_mutex_init(&w->lock, NULL);
  }
  for (int t = 0; t < nthreads; t++)
    ck_assert_int_eq(pthread_create(&ids[t], NULL, worker, &ws[t]), 0);
  pthread_barrier_wait(&barrier); /* the workers are between phases */
  for (int t = 0; t < nthreads; t++)
    pthread_mutex_lock(&ws[t].lock);
  check_no_overlap(ws, nthreads);
  for (int t = 0; t < nthreads; t++)
    pthread_mutex_unlock(&ws[t].lock);
  pthread_barrier_wait(&barrier);
  pthread_barrier_wait(&barrier); /* every block freed or in a mailbox */
  pthread_barrier_wait(&barrier); /* mailboxes emptied, caches flushed */
  kiln_pool_stats_t after = pstats(pool);
  pthread_barrier_wait(&barrier);
  for (int t = 0; t < nthreads; t++)
    ck_assert_int_eq(pthread_join(ids[t], NULL), 0);
  pthread_barrier_destroy(&barrier);
  unsigned long received = 0, handed = 0, plain = 0;
  for (int t = 0; t < nthreads; t++) {
    T_CHECK(ws[t].failure[0] == '\0', "%s, %d threads: %s", cache_config_names[which], nthreads,
            ws[t].failure);
    received += ws[t].received;
    handed += ws[t].handed;
    plain += ws[t].plain;
    free(ws[t].live);
    pthread_mutex_destroy(&ws[t].lock);
  }
  /* Blocks really crossed threads and some calls went to the pool itself. */
  ck_assert_uint_eq(received, handed);
  ck_assert_uint_gt(received, 100);
  ck_assert_uint_gt(plain, 100);
  /* Every block back: nothing in use, at most the one empty segment each
     class keeps (mvff's idle segment, mfs's cached one). */
  ck_assert_uint_eq(after.in_use, base.in_use);
  ck_assert_uint_eq(after.in_use, 0);
  ck_assert_uint_le(after.segments, 1);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(arena);
}

#define NSEEDS 2
START_TEST(test_property)
{
  int which = _i % NCACHE_CONFIGS, nthreads = 2 + (_i / NCACHE_CONFIGS) % 3;
  uint64_t seed = test_seed(1000 + (uint64_t)_i);
  run_property(which, nthreads, seed);
}
END_TEST

/* ---- one thread: batches, reuse, statistics ---------------------------- */

START_TEST(test_refill_and_flush_in_halves)
{
  kiln_arena_t arena = arena_new(0, 0);
  kiln_pool_t pool = make_pool(arena, C_MVFF);
  kiln_cache_t cache;
  kiln_arg_t args[] = {KILN_ARG_SIZE("capacity", 4096), KILN_ARGS_END};
  ck_assert_ok(kiln_cache_create(&cache, pool, args));
  void *p[200];
  ck_assert_ok(kiln_cache_alloc(&p[0], cache, 32));
  if (kiln_cache_limit(cache) == 0) {
    /* Checked build: no caching, the pool grants exactly what was asked. */
    ck_assert_uint_eq(pstats(pool).in_use, 32);
  } else {
    ck_assert_uint_eq(kiln_cache_limit(cache), 1024);
    /* 4096 / 32 = 128 blocks at most; a refill takes half of them. */
    ck_assert_uint_eq(pstats(pool).in_use, 64 * 32);
  }
  for (int i = 1; i < 200; i++)
    ck_assert_ok(kiln_cache_alloc(&p[i], cache, 17 + i % 16)); /* all 32-byte blocks */
  ck_assert_uint_eq(pstats(pool).in_use, kiln_cache_limit(cache) ? 256 * 32 : 200 * 32);
  for (int i = 0; i < 200; i++)
    kiln_cache_free(cache, p[i], i == 0 ? 32 : 17 + (size_t)(i % 16));
  if (kiln_cache_limit(cache) != 0) {
    /* The list filled at 128 blocks, kept 64 and took the rest: 200 - 64
       - 64 = 72 of the freed are cached with the 56 of the last refill. */
    ck_assert_uint_eq(pstats(pool).in_use, 128 * 32);
    /* LIFO: the last freed comes back first. */
    void *q;
    ck_assert_ok(kiln_cache_alloc(&q, cache, 32));
    ck_assert_ptr_eq(q, p[199]);
    kiln_cache_free(cache, q, 32);
  }
  kiln_cache_flush(cache);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
  kiln_cache_destroy(cache);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(arena);
}
END_TEST

/* A block freed into another cache (another thread's) is that cache's to
   hand out next; sizes above the classes go to the pool. */
START_TEST(test_cross_cache_free)
{
  kiln_arena_t arena = arena_new(0, 0);
  kiln_pool_t pool = make_pool(arena, C_MVFF);
  kiln_cache_t a, b;
  ck_assert_ok(kiln_cache_create(&a, pool, NULL));
  ck_assert_ok(kiln_cache_create(&b, pool, NULL));
  void *p, *q, *big;
  ck_assert_ok(kiln_cache_alloc(&p, a, 100));
  memset(p, 0x5A, 100);
  kiln_cache_free(b, p, 100);
  ck_assert_ok(kiln_cache_alloc(&q, b, 100));
  if (kiln_cache_limit(b) != 0)
    ck_assert_ptr_eq(q, p);
  ck_assert_ok(kiln_cache_alloc(&big, a, 5000));
  ck_assert_uint_ge(pstats(pool).in_use, 5000 + 100);
  kiln_cache_free(b, big, 5000);
  kiln_cache_free(a, q, 100);
  kiln_cache_destroy(a);
  kiln_cache_destroy(b);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(arena);
}
END_TEST

/* ---- shared pools without caches ---------------------------------------- */

typedef struct plain_s {
  kiln_pool_t pool;
  int index;
  char failure[256];
} plain_t;

static void *plain_worker(void *arg)
{
  plain_t *w = arg;
  enum { N = 500 };
  unsigned char *p[N];
  for (unsigned round = 0; round < test_scale(200) && w->failure[0] == '\0'; round++) {
    for (int i = 0; i < N; i++) {
      void *q;
      if (kiln_alloc(&q, w->pool, 48) != KILN_OK) {
        snprintf(w->failure, sizeof w->failure, "kiln_alloc failed");
        return NULL;
      }
      p[i] = q;
      memset(p[i], w->index * 16 + i % 16, 48);
    }
    for (int i = N; i-- > 0;) {
      if (p[i][0] != w->index * 16 + i % 16 || p[i][47] != w->index * 16 + i % 16)
        snprintf(w->failure, sizeof w->failure, "block %p lost its contents", (void *)p[i]);
      kiln_free(w->pool, p[i], 48);
    }
  }
  return NULL;
}

/* mfs has inline kiln_alloc/kiln_free; sharing turns them into locked calls. */
START_TEST(test_shared_plain_calls)
{
  kiln_arena_t arena = arena_new(0, 0);
  kiln_pool_t pool = make_pool(arena, _i == 0 ? C_MFS : C_MVFF);
  void *early;
  ck_assert_ok(kiln_alloc(&early, pool, 40)); /* before sharing, on the inline path */
  ck_assert_ok(kiln_pool_share(pool));
  ck_assert_ok(kiln_pool_share(pool)); /* again: no change */
  ck_assert_uint_eq(pstats(pool).in_use, 48); /* one mfs unit, or three mvff granules */
  plain_t ws[3];
  pthread_t ids[3];
  memset(ws, 0, sizeof ws);
  for (int t = 0; t < 3; t++) {
    ws[t].pool = pool;
    ws[t].index = t + 1;
    ck_assert_int_eq(pthread_create(&ids[t], NULL, plain_worker, &ws[t]), 0);
  }
  for (int t = 0; t < 3; t++) {
    ck_assert_int_eq(pthread_join(ids[t], NULL), 0);
    T_CHECK(ws[t].failure[0] == '\0', "thread %d: %s", t, ws[t].failure);
  }
  kiln_free(pool, early, 40);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(arena);
}
END_TEST

/* ---- misuse ------------------------------------------------------------- */

START_TEST(test_refused)
{
  kiln_arena_t arena = arena_new(0, 0);
  kiln_pool_t pool = make_pool(arena, C_MVFF);
  kiln_cache_t cache;
  kiln_arg_t typo[] = {KILN_ARG_SIZE("capacty", 4096), KILN_ARGS_END};
  ck_assert_res(kiln_cache_create(&cache, pool, typo), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "did you mean 'capacity'"));
  ck_assert_res(kiln_cache_create(NULL, pool, NULL), KILN_PARAM);
  ck_assert_res(kiln_cache_create(&cache, NULL, NULL), KILN_PARAM);
  void *p;
  ck_assert_res(kiln_cache_alloc(&p, NULL, 16), KILN_PARAM);
  ck_assert_ok(kiln_cache_create(&cache, pool, NULL));
  ck_assert_res(kiln_cache_alloc(&p, cache, 0), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "size is 0"));
  ck_assert_res(kiln_cache_alloc(NULL, cache, 16), KILN_PARAM);
  kiln_cache_free(cache, NULL, 16); /* does nothing */
  kiln_cache_destroy(NULL);         /* does nothing */
  kiln_cache_destroy(cache);
#ifndef KILN_CHECKED
  /* A destroyed cache is refused, not used. */
  ck_assert_res(kiln_cache_alloc(&p, cache, 16), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(NULL), "was destroyed"));
#endif
  /* An automatic pool has no caches and is not shared. */
  kiln_arena_t auto_arena;
  kiln_fmt_t fmt = arena_with_format(&auto_arena, graph_format());
  kiln_pool_t ms = plain_pool(auto_arena, fmt, kiln_class_ms());
  ck_assert_res(kiln_cache_create(&cache, ms, NULL), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(auto_arena), "is automatic"));
  ck_assert_res(kiln_pool_share(ms), KILN_PARAM);
  kiln_pool_destroy(ms);
  kiln_fmt_destroy(fmt);
  kiln_arena_destroy(auto_arena);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(arena);
}
END_TEST

#ifndef KILN_CHECKED
/* Destroying the pool first orphans its caches: refused, then freed. */
START_TEST(test_orphan)
{
  kiln_arena_t arena = arena_new(0, 0);
  kiln_pool_t pool = make_pool(arena, C_MVFF);
  kiln_cache_t cache;
  ck_assert_ok(kiln_cache_create(&cache, pool, NULL));
  void *p;
  ck_assert_ok(kiln_cache_alloc(&p, cache, 64));
  kiln_cache_free(cache, p, 64);
  kiln_pool_destroy(pool);
  ck_assert_res(kiln_cache_alloc(&p, cache, 64), KILN_PARAM);
  ck_assert_ptr_nonnull(strstr(kiln_arena_error(arena), "pool was destroyed"));
  kiln_cache_flush(cache);
  kiln_cache_destroy(cache);
  kiln_arena_destroy(arena);
}
END_TEST
#else
static kiln_pool_t misuse_pool(kiln_cache_t *cache_o)
{
  kiln_pool_t pool = make_pool(arena_new(0, 0), C_MVFF);
  ck_assert_ok(kiln_cache_create(cache_o, pool, NULL));
  return pool;
}

static void double_free(void)
{
  kiln_cache_t c;
  (void)misuse_pool(&c);
  void *keep, *p;
  ck_assert_ok(kiln_cache_alloc(&keep, c, 100));
  ck_assert_ok(kiln_cache_alloc(&p, c, 100));
  kiln_cache_free(c, p, 100);
  kiln_cache_free(c, p, 100);
}

static void wrong_size(void)
{
  kiln_cache_t c;
  (void)misuse_pool(&c);
  void *p;
  ck_assert_ok(kiln_cache_alloc(&p, c, 100));
  kiln_cache_free(c, p, 200);
}

static void wrong_pool(void)
{
  kiln_cache_t c, d;
  kiln_pool_t pool = misuse_pool(&c), other = make_pool(kiln_pool_arena(pool), C_MVFF);
  ck_assert_ok(kiln_cache_create(&d, other, NULL));
  void *p;
  ck_assert_ok(kiln_cache_alloc(&p, d, 64));
  kiln_cache_free(c, p, 64);
}

static void pool_destroyed_first(void)
{
  kiln_cache_t c;
  kiln_pool_destroy(misuse_pool(&c));
}

static const misuse_t misuses[] = {
  {double_free, "double free (block already free)"},
  {wrong_size, ", 200): size does not match the size it was allocated with (97..112 bytes)"},
  {wrong_pool, "a block of another pool (mvff "},
  {pool_destroyed_first, "still has a cache"},
};

#endif

Suite *test_suite(void)
{
  Suite *s = suite_create("cache");
  TCase *prop = tcase_create("property");
  tcase_set_timeout(prop, 300);
  tcase_add_loop_test(prop, test_property, 0, NCACHE_CONFIGS * 3 * NSEEDS);
  suite_add_tcase(s, prop);

  TCase *one = tcase_create("one thread");
  tcase_set_timeout(one, 60);
  tcase_add_test(one, test_refill_and_flush_in_halves);
  tcase_add_test(one, test_cross_cache_free);
  tcase_add_loop_test(one, test_shared_plain_calls, 0, 2);
  suite_add_tcase(s, one);

  TCase *misuse = tcase_create("misuse");
  tcase_add_test(misuse, test_refused);
#ifndef KILN_CHECKED
  tcase_add_test(misuse, test_orphan);
#else
  add_misuse_tests(misuse, misuses, sizeof misuses / sizeof misuses[0]);
#endif
  suite_add_tcase(s, misuse);
  return s;
}
