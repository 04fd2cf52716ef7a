/* test_mfs.c -- the manual fixed-size pool: property tests against a shadow
 * model (no overlap, contents intact, alignment, units inside the pool's
 * segments, exact in_use, memory reused and returned) over several unit
 * sizes and seeds; LIFO reuse; unit_size rounding; empty segments going
 * back; the commit limit; and, in checked builds, misuse reports. */
#include "config.h"
#include "testlib.h"
#include "shadow.h"
#include "arena.h"
#include "pool.h"
#include "seg.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static kiln_pool_t mfs_new(kiln_arena_t a, size_t unit, size_t extend_by)
{
  kiln_pool_t p;
  kiln_arg_t args[] = {KILN_ARG_SIZE("unit_size", unit), KILN_ARG_SIZE("extend_by", extend_by),
                       KILN_ARGS_END};
  kiln_res_t res = kiln_pool_create(&p, a, kiln_class_mfs(), args);
  ck_assert_msg(res == KILN_OK, "kiln_pool_create: %s", kiln_arena_error(a));
  return p;
}

static size_t unit_of(size_t unit_size) { return (unit_size + 7) & ~(size_t)7; }

/* A unit of a multiple of 16 bytes is 16-aligned, any other 8-aligned. */
static size_t align_of(size_t unit) { return unit % 16 == 0 ? 16 : 8; }

/* ---- property tests ----------------------------------------------------- */

typedef struct config_s {
  size_t unit_size, extend_by;
} config_t;

static const config_t configs[] = {
  {8, 64 << 10}, {24, 64 << 10}, {20, 4096}, {64, 64 << 10}, {1000, 64 << 10}, {4096, 16384},
};
#define NCONFIGS (sizeof configs / sizeof configs[0])
static const uint64_t seeds[] = {1, 2, 0xC0FFEE};
#define NSEEDS (sizeof seeds / sizeof seeds[0])

static void check_unit(kiln_arena_t a, kiln_pool_t pool, const void *p, size_t unit, uint64_t seed)
{
  ck_assert_msg((uintptr_t)p % align_of(unit) == 0, "seed %llu: %p misaligned",
                (unsigned long long)seed, p);
  seg_t seg = arena_seg_of(a, p);
  ck_assert_msg(seg != NULL && seg->pool == pool && (uintptr_t)p + unit <= seg->limit,
                "seed %llu: %p is not inside a segment of the pool", (unsigned long long)seed, p);
  ck_assert_msg(((uintptr_t)p - seg->base) % unit == 0, "seed %llu: %p is not a unit boundary",
                (unsigned long long)seed, p);
}

static void free_one(kiln_pool_t pool, model_t *m, size_t i, size_t unit_size, uint64_t seed)
{
  blk_t b = model_take(m, i);
  blk_verify(&b, seed);
  kiln_free(pool, b.p, unit_size);
}

START_TEST(test_property)
{
  const config_t *c = &configs[_i / NSEEDS];
  uint64_t seed = test_seed(seeds[_i % NSEEDS]), rng = seed;
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = mfs_new(a, c->unit_size, c->extend_by);
  model_t m = {NULL, 0, 0};
  size_t unit = unit_of(c->unit_size);
  uint32_t id = 0;
  unsigned grow_pct = 70;
  for (size_t op = 0, ops = test_scale(8000); op < ops; op++) {
    if (op % 700 == 0)
      grow_pct = test_range(&rng, 0, 2) == 0 ? 25 : 70;
    if (m.n > 0 && (m.n > 4000 || test_range(&rng, 0, 99) >= grow_pct)) {
      free_one(pool, &m, test_range(&rng, 0, m.n - 1), c->unit_size, seed);
      continue;
    }
    void *p = must_alloc(pool, test_range(&rng, 1, unit));
    check_unit(a, pool, p, unit, seed);
    model_add(&m, p, unit, id++, seed);
    ck_assert_uint_eq(pstats(pool).in_use, m.n * unit);
  }
  ck_assert_uint_eq(pstats(pool).allocated, id * unit);
  while (m.n > 0)
    free_one(pool, &m, test_range(&rng, 0, m.n - 1), c->unit_size, seed);
  kiln_pool_stats_t s = pstats(pool);
  ck_assert_uint_eq(s.in_use, 0);
  ck_assert_uint_le(s.segments, 1); /* one empty segment may stay cached */
  ck_assert_uint_le(s.committed, size_align_up(c->extend_by, a->page_size));
  kiln_pool_destroy(pool);
  ck_assert_uint_eq(committed(a), 0);
  free(m.b);
  kiln_arena_destroy(a);
}
END_TEST

/* Fill and empty repeatedly: committed memory must not creep. */
START_TEST(test_rounds_do_not_grow)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = mfs_new(a, 48, 64 << 10);
  model_t m = {NULL, 0, 0};
  uint64_t rng = test_seed(5);
  uint32_t id = 0;
  size_t first_peak = 0;
  for (int round = 0; round < 8; round++) {
    while (m.n < 10000)
      model_add(&m, must_alloc(pool, 48), 48, id++, rng);
    size_t peak = pstats(pool).committed;
    while (m.n > 0)
      free_one(pool, &m, test_range(&rng, 0, m.n - 1), 48, rng);
    if (round == 0)
      first_peak = peak;
    ck_assert_uint_le(peak, first_peak);
    ck_assert_uint_le(pstats(pool).committed, 64 << 10);
  }
  free(m.b);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* ---- behaviours --------------------------------------------------------- */

START_TEST(test_lifo_reuse)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = mfs_new(a, 32, 64 << 10);
  void *keep = must_alloc(pool, 32);
  void *x = must_alloc(pool, 32), *y = must_alloc(pool, 32);
  kiln_free(pool, x, 32);
  ck_assert_ptr_eq(must_alloc(pool, 32), x);
  kiln_free(pool, x, 32);
  kiln_free(pool, y, 32);
  ck_assert_ptr_eq(must_alloc(pool, 32), y); /* last freed, first reused */
  ck_assert_ptr_eq(must_alloc(pool, 1), x);  /* any size up to the unit */
  /* A batch freed in LIFO order comes back in the same order. */
  void *batch[1000];
  for (int i = 0; i < 1000; i++)
    batch[i] = must_alloc(pool, 32);
  for (int i = 999; i >= 0; i--)
    kiln_free(pool, batch[i], 32);
  for (int i = 0; i < 1000; i++)
    ck_assert_ptr_eq(must_alloc(pool, 32), batch[i]);
  for (int i = 0; i < 1000; i++)
    kiln_free(pool, batch[i], 32);
  kiln_free(pool, x, 32);
  kiln_free(pool, y, 32);
  kiln_free(pool, keep, 32);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

START_TEST(test_unit_rounding)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = mfs_new(a, 20, 64 << 10);
  char *p = must_alloc(pool, 20), *q = must_alloc(pool, 24); /* 20 rounds to 24 */
  ck_assert_int_eq(q - p, 24);                               /* fresh units are bumped */
  ck_assert_uint_eq(pstats(pool).in_use, 48);
  void *r;
  ck_assert_res(kiln_alloc(&r, pool, 25), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(a), "mfs: asked for 25 bytes; units are 24 bytes");
  ck_assert_res(kiln_alloc(&r, pool, 0), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(a), "kiln_alloc: size is 0 (pool class 'mfs')");
  kiln_free(pool, p, 20);
  kiln_free(pool, q, 24);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* Empty segments go back to the arena, one kept cached. */
START_TEST(test_segments_returned)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = mfs_new(a, 64, 4096);
  enum { N = 64 * 20 }; /* 20 segments of 64 units */
  static void *p[N];
  for (int i = 0; i < N; i++)
    p[i] = must_alloc(pool, 64);
  ck_assert_uint_eq(pstats(pool).segments, 20);
  ck_assert_uint_eq(pstats(pool).committed, 20 * 4096);
  size_t prev = pstats(pool).committed;
  for (int seg = 0; seg < 20; seg++) { /* empty them one at a time */
    for (int i = 0; i < 64; i++)
      kiln_free(pool, p[seg * 64 + i], 64);
    size_t now = pstats(pool).committed;
    ck_assert_uint_le(now, prev);
    prev = now;
  }
  ck_assert_uint_le(pstats(pool).segments, 1);
  ck_assert_uint_le(committed(a), 4096);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

START_TEST(test_commit_limit)
{
  kiln_arena_t a = arena_new(256 << 10, 0);
  kiln_pool_t pool = mfs_new(a, 128, 64 << 10);
  static void *p[4096];
  size_t n = alloc_to_limit(pool, 128, p, 4096);
  ck_assert_uint_eq(n, (256 << 10) / 128);
  realloc_every(pool, p, n, 128, 2); /* the freed units, no new memory */
  ck_assert_uint_le(committed(a), 256 << 10);
  free_all(pool, p, n, 128);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* ---- misuse ------------------------------------------------------------- */

#ifndef KILN_CHECKED
static kiln_pool_t mfs_32(kiln_arena_t a)
{
  return mfs_new(a, 32, 64 << 10);
}

START_TEST(test_foreign_ignored)
{
  check_foreign_frees_ignored(mfs_32, 32);
}
END_TEST
#else
static kiln_pool_t misuse_pool(void)
{
  return mfs_new(arena_new(0, 0), 64, 64 << 10);
}

static void double_free(void)
{
  free_twice(misuse_pool(), 64);
}

static void foreign_pointer(void)
{
  kiln_pool_t pool = misuse_pool();
  kiln_pool_t other = mfs_new(kiln_pool_arena(pool), 64, 64 << 10);
  kiln_free(pool, must_alloc(other, 64), 64);
}

static void interior_pointer(void)
{
  free_misplaced(misuse_pool(), 64, 8, 64);
}

static void never_allocated(void)
{
  free_misplaced(misuse_pool(), 64, 64 * 10, 64); /* a unit not bumped yet */
}

static void wrong_size(void)
{
  free_misplaced(misuse_pool(), 64, 0, 72); /* any size up to the unit is valid */
}

static const misuse_t misuses[] = {
  {double_free, "double free (block already free)"},
  {foreign_pointer, "not a block of this pool"},
  {interior_pointer, "not the start of a block this pool gave out"},
  {never_allocated, "not the start of a block this pool gave out"},
  {wrong_size, ", 72): no block of this pool has that size (1 to 64 bytes)"},
};

START_TEST(test_poisoned)
{
  /* The free-list link aside, the unit reads as poison. */
  check_freed_poisoned(mfs_new(arena_new(0, 0), 64, 64 << 10), 64, sizeof(void *), 64);
}
END_TEST
#endif

Suite *test_suite(void)
{
  Suite *s = suite_create("mfs");
  TCase *prop = suite_add_case(s, "property", 300);
  tcase_add_loop_test(prop, test_property, 0, (int)(NCONFIGS * NSEEDS));
  tcase_add_test(prop, test_rounds_do_not_grow);

  TCase *units = suite_add_case(s, "units", 60);
  tcase_add_test(units, test_lifo_reuse);
  tcase_add_test(units, test_unit_rounding);
  tcase_add_test(units, test_segments_returned);
  tcase_add_test(units, test_commit_limit);

  TCase *misuse = suite_add_case(s, "misuse", 0);
#ifndef KILN_CHECKED
  tcase_add_test(misuse, test_foreign_ignored);
#else
  add_misuse_tests(misuse, misuses, sizeof misuses / sizeof misuses[0]);
  tcase_add_test(misuse, test_poisoned);
#endif
  return s;
}
