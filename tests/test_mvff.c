/* test_mvff.c -- the manual variable-size pool: property tests against a
 * shadow model (no overlap, contents intact, alignment, blocks inside the
 * pool's segments, exact in_use, memory reused and returned) over several
 * configurations and seeds; large blocks in their own segments; coalescing;
 * the cache; the commit limit; and, in checked builds, misuse reports. */
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

static kiln_pool_t mvff_new(kiln_arena_t a, const kiln_arg_t *args)
{
  kiln_pool_t p;
  kiln_res_t res = kiln_pool_create(&p, a, kiln_class_mvff(), args);
  ck_assert_msg(res == KILN_OK, "kiln_pool_create: %s", kiln_arena_error(a));
  return p;
}

/* What in_use counts for a block: at least 32 bytes, in whole granules
   (the larger of align and 16), as mvff.c's header says. */
static size_t held_bytes(size_t size, size_t align)
{
  size_t g = align > 16 ? align : 16;
  size_t s = size < 32 ? 32 : size;
  return (s + g - 1) / g * g;
}

/* ---- property tests ----------------------------------------------------- */

typedef struct config_s {
  const char *name;
  size_t align, extend_by, large_size, cache;
} config_t;

/* large_size 0 means extend_by / 4, as the parameter says; cache is bytes. */
static const config_t configs[] = {
  {"default", 16, 64 << 10, 0, 32 << 10},      {"no cache", 16, 64 << 10, 0, 0},
  {"align 8", 8, 64 << 10, 0, 1024},           {"align 64", 64, 64 << 10, 0, 32 << 10},
  {"align 4096", 4096, 256 << 10, 0, 32 << 10}, {"tiny segments", 16, 4096, 0, 32 << 10},
  {"big segments", 32, 1 << 20, 100 << 10, 1 << 20},
};
#define NCONFIGS (sizeof configs / sizeof configs[0])
static const uint64_t seeds[] = {1, 2, 0xC0FFEE};
#define NSEEDS (sizeof seeds / sizeof seeds[0])

static kiln_pool_t config_pool(kiln_arena_t a, const config_t *c)
{
  kiln_arg_t args[] = {KILN_ARG_SIZE("align", c->align), KILN_ARG_SIZE("extend_by", c->extend_by),
                       KILN_ARG_SIZE("large_size", c->large_size),
                       KILN_ARG_SIZE("cache", c->cache), KILN_ARGS_END};
  return mvff_new(a, args);
}

/* Mostly small, some medium, a few large (own segment) blocks. */
static size_t pick_size(uint64_t *rng, size_t large_size)
{
  size_t r = test_range(rng, 0, 99);
  if (r < 70)
    return test_range(rng, 1, 300);
  if (r < 90)
    return test_range(rng, 1, large_size < 2048 ? large_size : 2048);
  if (r < 98)
    return test_range(rng, 1, large_size);
  return test_range(rng, large_size + 1, 3 * large_size);
}

/* The block is aligned, inside one segment of this pool. */
static void check_placement(kiln_arena_t a, kiln_pool_t pool, const blk_t *b, size_t align,
                            uint64_t seed)
{
  ck_assert_msg((uintptr_t)b->p % align == 0, "seed %llu: %p not aligned to %zu",
                (unsigned long long)seed, (void *)b->p, align);
  seg_t seg = arena_seg_of(a, b->p);
  ck_assert_msg(seg != NULL && seg->pool == pool, "seed %llu: %p is not in a segment of the pool",
                (unsigned long long)seed, (void *)b->p);
  ck_assert_msg((uintptr_t)b->p + b->size <= seg->limit, "seed %llu: %p+%zu runs off its segment",
                (unsigned long long)seed, (void *)b->p, b->size);
}

static void free_one(kiln_pool_t pool, model_t *m, size_t i, size_t *in_use, size_t align,
                     uint64_t seed)
{
  blk_t b = model_take(m, i);
  blk_verify(&b, seed);
  kiln_free(pool, b.p, b.size);
  *in_use -= held_bytes(b.size, align);
}

/* Random phases of growth and shrinkage, sometimes emptying the pool. */
static void run_property(const config_t *c, uint64_t seed, size_t ops)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = config_pool(a, c);
  size_t large = c->large_size ? c->large_size : c->extend_by / 4, in_use = 0;
  model_t m = {NULL, 0, 0};
  uint64_t rng = seed;
  uint32_t id = 0;
  unsigned grow_pct = 70;
  for (size_t op = 0; op < ops; op++) {
    if (op % 500 == 0)
      grow_pct = test_range(&rng, 0, 3) == 0 ? 20 : 70;
    if (m.n > 0 && (m.n > 3000 || test_range(&rng, 0, 99) >= grow_pct)) {
      free_one(pool, &m, test_range(&rng, 0, m.n - 1), &in_use, c->align, seed);
      continue;
    }
    size_t size = pick_size(&rng, large);
    void *p = must_alloc(pool, size);
    model_add(&m, p, size, id++, seed);
    check_placement(a, pool, &m.b[model_pos(&m, p)], c->align, seed);
    in_use += held_bytes(size, c->align);
    ck_assert_uint_eq(pstats(pool).in_use, in_use);
  }
  while (m.n > 0)
    free_one(pool, &m, test_range(&rng, 0, m.n - 1), &in_use, c->align, seed);
  kiln_pool_stats_t s = pstats(pool);
  ck_assert_uint_eq(s.in_use, 0);
  /* One empty segment may stay cached; nothing else. */
  ck_assert_msg(s.committed <= c->extend_by && s.segments <= 1,
                "%s, seed %llu: %zu bytes in %zu segments still committed after freeing all",
                c->name, (unsigned long long)seed, s.committed, s.segments);
  kiln_pool_destroy(pool);
  ck_assert_uint_eq(committed(a), 0);
  free(m.b);
  kiln_arena_destroy(a);
}

START_TEST(test_property)
{
  const config_t *c = &configs[_i / NSEEDS];
  run_property(c, test_seed(seeds[_i % NSEEDS]), test_scale(6000));
}
END_TEST

/* Fill and empty the pool repeatedly: committed memory must not creep. */
START_TEST(test_rounds_do_not_grow)
{
  const config_t *c = &configs[_i];
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = config_pool(a, c);
  size_t large = c->large_size ? c->large_size : c->extend_by / 4, first_peak = 0;
  model_t m = {NULL, 0, 0};
  uint64_t rng = test_seed(7);
  uint32_t id = 0;
  for (int round = 0; round < 6; round++) {
    uint64_t round_rng = rng; /* every round asks for the same sizes */
    size_t peak = 0;
    for (int k = 0; k < 1500; k++) {
      size_t size = pick_size(&round_rng, large);
      if (size > large)
        size = large; /* large blocks come and go on their own */
      model_add(&m, must_alloc(pool, size), size, id++, rng);
      if (pstats(pool).committed > peak)
        peak = pstats(pool).committed;
    }
    while (m.n > 0) {
      blk_t b = model_take(&m, test_range(&round_rng, 0, m.n - 1));
      blk_verify(&b, rng);
      kiln_free(pool, b.p, b.size);
    }
    if (round == 0)
      first_peak = peak;
    ck_assert_msg(peak <= first_peak, "%s: round %d peaked at %zu committed, round 0 at %zu",
                  c->name, round, peak, first_peak);
    ck_assert_uint_le(pstats(pool).committed, c->extend_by);
  }
  free(m.b);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* Freeing half of many same-size blocks, then allocating as many again,
   reuses the holes: the pool does not grow (the cache is flushed first). */
START_TEST(test_holes_reused)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = mvff_new(a, NULL);
  enum { N = 4000 };
  static void *p[N];
  for (int i = 0; i < N; i++)
    p[i] = must_alloc(pool, 100);
  size_t before = pstats(pool).committed;
  for (int i = 0; i < N; i += 2)
    kiln_free(pool, p[i], 100);
  for (int i = 0; i < N; i += 2)
    p[i] = must_alloc(pool, 100);
  ck_assert_uint_eq(pstats(pool).committed, before);
  for (int i = 0; i < N; i++)
    kiln_free(pool, p[i], 100);
  ck_assert_uint_le(pstats(pool).committed, 64 << 10);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* ---- large blocks ------------------------------------------------------- */

START_TEST(test_large_own_segment)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_arg_t args[] = {KILN_ARG_SIZE("extend_by", 64 << 10), KILN_ARG_SIZE("large_size", 8192),
                       KILN_ARGS_END};
  kiln_pool_t pool = mvff_new(a, args);
  void *small = must_alloc(pool, 100);
  kiln_pool_stats_t s0 = pstats(pool);
  size_t sizes[] = {8193, 100000, 1 << 20, (3 << 20) + 5};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    void *p = must_alloc(pool, sizes[k]);
    seg_t seg = arena_seg_of(a, p);
    ck_assert_ptr_eq((void *)seg->base, p); /* a segment of its own */
    ck_assert_uint_eq(seg_size(seg), size_align_up(sizes[k], a->page_size));
    memset(p, 0x5A, sizes[k]);
    kiln_pool_stats_t s1 = pstats(pool);
    ck_assert_uint_eq(s1.segments, s0.segments + 1);
    ck_assert_uint_eq(s1.committed, s0.committed + seg_size(seg));
    kiln_free(pool, p, sizes[k]);
    kiln_pool_stats_t s2 = pstats(pool); /* returned at once */
    ck_assert_uint_eq(s2.segments, s0.segments);
    ck_assert_uint_eq(s2.committed, s0.committed);
    ck_assert_uint_eq(s2.in_use, s0.in_use);
  }
  ck_assert_uint_eq(committed(a), s0.committed); /* spare 0: back to the OS too */
  kiln_free(pool, small, 100);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* ---- coalescing --------------------------------------------------------- */

/* Three adjacent blocks freed in every order coalesce: a block of their
   combined size comes back at the first one's address. */
START_TEST(test_coalesce_orders)
{
  static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  size_t sizes[] = {32, 48, 160, 1008, 4000}; /* whole granules */
  kiln_arena_t a = arena_new(0, 0);
  kiln_arg_t args[] = {KILN_ARG_SIZE("cache", 0), KILN_ARGS_END};
  kiln_pool_t pool = mvff_new(a, args);
  void *fence = must_alloc(pool, 64); /* keeps the segment from emptying */
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int o = 0; o < 6; o++) {
      size_t n = sizes[s];
      char *b[4];
      for (int k = 0; k < 4; k++)
        b[k] = must_alloc(pool, n);
      /* Blocks come from the high end of a free block, so each is just
         below the one before; the lowest, b[3], is the first address. */
      char *low = b[3];
      ck_assert_ptr_eq(b[2], low + n);
      ck_assert_ptr_eq(b[1], low + 2 * n);
      for (int k = 0; k < 3; k++)
        kiln_free(pool, b[3 - orders[o][k]], n);
      char *all = must_alloc(pool, 3 * n);
      ck_assert_msg(all == low, "size %zu, order %d: got %p, wanted %p", n, o, (void *)all,
                    (void *)low);
      kiln_free(pool, all, 3 * n);
      kiln_free(pool, b[0], n);
    }
  kiln_free(pool, fence, 64);
  ck_assert_uint_le(pstats(pool).committed, 64 << 10);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* A block handed out one granule longer than asked (a 32-byte request in a
   48-byte hole: 16 bytes could not be a free block) has a pad, marked in
   its own memory, not in the bitmap. Its neighbours must not take the pad
   for a free block, and freeing it must take the pad along: in every order
   of freeing it and its neighbours, the three holes coalesce again. */
START_TEST(test_pad_orders)
{
  static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  kiln_arena_t a = arena_new(0, 0);
  kiln_arg_t args[] = {KILN_ARG_SIZE("cache", 0), KILN_ARGS_END};
  kiln_pool_t pool = mvff_new(a, args);
  void *fence = must_alloc(pool, 64); /* keeps the segment from emptying */
  for (int o = 0; o < 6; o++) {
    char *b[4];
    for (int k = 0; k < 4; k++)
      b[k] = must_alloc(pool, 48); /* b[3] lowest, b[0] highest */
    kiln_free(pool, b[2], 48);      /* a hole of three granules between live blocks */
    char *padded = must_alloc(pool, 32);
    ck_assert_ptr_eq(padded, b[2]); /* the only fit: the hole, with a pad at its end */
    ck_assert_uint_eq(pstats(pool).in_use, 64 + 3 * 48 + 32);
    memset(padded, 0xA5, 32);
    memset(b[1], 0x5A, 48);
    memset(b[3], 0x3C, 48);
    char *three[3] = {b[3], padded, b[1]};
    size_t size[3] = {48, 32, 48};
    for (int k = 0; k < 3; k++) {
      int j = orders[o][k];
      for (int l = k + 1; l < 3; l++) /* the blocks still live are intact */
        ck_assert_int_eq(three[orders[o][l]][size[orders[o][l]] - 1],
                         orders[o][l] == 0 ? 0x3C : orders[o][l] == 1 ? (char)0xA5 : 0x5A);
      kiln_free(pool, three[j], size[j]);
    }
    char *all = must_alloc(pool, 3 * 48);
    ck_assert_msg(all == b[3], "order %d: got %p, wanted %p", o, (void *)all, (void *)b[3]);
    kiln_free(pool, all, 3 * 48);
    kiln_free(pool, b[0], 48);
  }
  kiln_free(pool, fence, 64);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
  ck_assert_uint_le(pstats(pool).committed, 64 << 10);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* Freeing every block coalesces each segment back to one free block, so
   the pool gives all but one empty segment back. */
START_TEST(test_empty_segments_returned)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = mvff_new(a, NULL);
  enum { N = 20000 };
  static void *p[N];
  static size_t sz[N];
  uint64_t rng = test_seed(11);
  for (int i = 0; i < N; i++)
    p[i] = must_alloc(pool, sz[i] = test_range(&rng, 1, 700));
  kiln_pool_stats_t full = pstats(pool);
  ck_assert_uint_gt(full.segments, 20);
  for (int left = N; left > 0; left--) { /* free in a random order */
    size_t j = test_range(&rng, 0, (size_t)left - 1);
    kiln_free(pool, p[j], sz[j]);
    p[j] = p[left - 1];
    sz[j] = sz[left - 1];
  }
  kiln_pool_stats_t s = pstats(pool);
  ck_assert_uint_le(s.segments, 1);
  ck_assert_uint_le(s.committed, 64 << 10);
  ck_assert_uint_eq(s.in_use, 0);
  ck_assert_uint_le(committed(a), 64 << 10);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* ---- the cache ---------------------------------------------------------- */

START_TEST(test_cache_lifo)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_pool_t pool = mvff_new(a, NULL);
  void *keep = must_alloc(pool, 500);
  void *x = must_alloc(pool, 40), *y = must_alloc(pool, 40);
  kiln_free(pool, x, 40);
  kiln_free(pool, y, 40);
  ck_assert_ptr_eq(must_alloc(pool, 40), y); /* last freed, first reused */
  ck_assert_ptr_eq(must_alloc(pool, 33), x); /* 33 and 40 are both 48 bytes */
  kiln_free(pool, x, 33);
  kiln_free(pool, y, 40);
  kiln_free(pool, keep, 500);
  kiln_pool_stats_t s = pstats(pool);
  ck_assert_uint_eq(s.in_use, 0);
  ck_assert_uint_le(s.segments, 1);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* Blocks waiting in the cache serve other sizes before the pool grows. */
START_TEST(test_cache_flushed_before_growth)
{
  kiln_arena_t a = arena_new(0, 0);
  kiln_arg_t args[] = {KILN_ARG_SIZE("extend_by", 4096), KILN_ARGS_END};
  kiln_pool_t pool = mvff_new(a, args);
  void *p[32];
  for (int i = 0; i < 32; i++) /* exactly one full segment */
    p[i] = must_alloc(pool, 128);
  ck_assert_uint_eq(pstats(pool).segments, 1);
  for (int i = 0; i < 16; i += 2) /* eight cached holes */
    kiln_free(pool, p[i], 128);
  for (int i = 0; i < 16; i += 2) /* another size: the holes, via the store */
    p[i] = must_alloc(pool, 112);
  ck_assert_uint_eq(pstats(pool).segments, 1);
  for (int i = 0; i < 32; i++)
    kiln_free(pool, p[i], i < 16 && i % 2 == 0 ? 112 : 128);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* Alignment holds for every size under every alignment. */
START_TEST(test_alignment)
{
  size_t align = (size_t)8 << _i; /* 8 .. 4096 */
  kiln_arena_t a = arena_new(0, 0);
  kiln_arg_t args[] = {KILN_ARG_SIZE("align", align), KILN_ARG_SIZE("extend_by", 1 << 20),
                       KILN_ARGS_END};
  kiln_pool_t pool = mvff_new(a, args);
  size_t k = 0;
  for (size_t size = 1; size < 300000; size += size < 300 ? 1 : size / 5) {
    void *p = must_alloc(pool, size);
    ck_assert_msg((uintptr_t)p % align == 0, "align %zu, size %zu: %p", align, size, p);
    memset(p, 1, size);
    if (k++ % 3 == 0) /* keep two of three, so the later ones see holes */
      kiln_free(pool, p, size);
  }
  kiln_pool_destroy(pool); /* frees what is left */
  kiln_arena_destroy(a);
}
END_TEST

/* ---- commit limit ------------------------------------------------------- */

START_TEST(test_commit_limit)
{
  kiln_arena_t a = arena_new(1 << 20, 0);
  kiln_pool_t pool = mvff_new(a, NULL);
  static void *p[20000];
  size_t n = alloc_to_limit(pool, 200, p, 20000);
  ck_assert_uint_gt(n, 3000);
  ck_assert_uint_le(committed(a), 1 << 20);
  void *big;
  ck_assert_res(kiln_alloc(&big, pool, 512 << 10), KILN_LIMIT);
  /* Free a third: the holes serve new blocks without new memory. */
  realloc_every(pool, p, n, 200, 3);
  /* Free everything: now a large block fits. */
  free_all(pool, p, n, 200);
  big = must_alloc(pool, 512 << 10);
  memset(big, 3, 512 << 10);
  kiln_free(pool, big, 512 << 10);
  ck_assert_uint_eq(pstats(pool).in_use, 0);
  kiln_pool_destroy(pool);
  kiln_arena_destroy(a);
}
END_TEST

/* ---- misuse ------------------------------------------------------------- */

#ifndef KILN_CHECKED
static kiln_pool_t mvff_default(kiln_arena_t a)
{
  return mvff_new(a, NULL);
}

START_TEST(test_foreign_ignored)
{
  check_foreign_frees_ignored(mvff_default, 64);
}
END_TEST
#else
static kiln_pool_t misuse_pool(void)
{
  return mvff_new(arena_new(0, 0), NULL);
}

static void double_free_small(void)
{
  free_twice(misuse_pool(), 100);
}

static void double_free_large(void)
{
  kiln_pool_t pool = misuse_pool();
  void *p = must_alloc(pool, 1 << 20);
  kiln_free(pool, p, 1 << 20);
  kiln_free(pool, p, 1 << 20);
}

static void foreign_pointer(void)
{
  kiln_pool_t pool = misuse_pool(), other = mvff_new(kiln_pool_arena(pool), NULL);
  kiln_free(pool, must_alloc(other, 100), 100);
}

static void outside_arena(void)
{
  static char not_kiln[64];
  kiln_free(misuse_pool(), not_kiln, 64);
}

static void never_allocated(void)
{
  free_misplaced(misuse_pool(), 100, -4096, 100); /* free memory of the same segment */
}

static void interior_pointer(void)
{
  free_misplaced(misuse_pool(), 100, 16, 84);
}

static void wrong_size_small(void)
{
  free_misplaced(misuse_pool(), 100, 0, 200);
}

static void wrong_size_smaller(void)
{
  free_misplaced(misuse_pool(), 1000, 0, 900);
}

static void wrong_size_large(void)
{
  free_misplaced(misuse_pool(), 1 << 20, 0, 2 << 20);
}

static const misuse_t misuses[] = {
  {double_free_small, "double free (block already free)"},
  {double_free_large, "not a live block of any pool (never allocated, or already freed)"},
  {foreign_pointer, "a block of another pool (mvff "},
  {outside_arena, "not a live block of any pool"},
  {never_allocated, "not a block this pool gave out (free memory)"},
  {interior_pointer, "points inside a live block, not at its start"},
  {wrong_size_small, ", 200): size does not match the size it was allocated with (97..112 bytes)"},
  {wrong_size_smaller, ", 900): size does not match the size it was allocated with "
                       "(993..1008 bytes)"},
  {wrong_size_large, ", 2097152): size does not match the size it was allocated with "
                     "(1044481..1048576 bytes)"},
};

/* Checked builds poison freed memory (but a cached block's link word). */
START_TEST(test_poisoned)
{
  kiln_arg_t args[] = {KILN_ARG_SIZE("cache", 0), KILN_ARGS_END};
  /* The store's header and footer aside, the block reads as poison. */
  check_freed_poisoned(mvff_new(arena_new(0, 0), args), 256, 3 * sizeof(void *),
                       256 - sizeof(size_t));
}
END_TEST
#endif

Suite *test_suite(void)
{
  Suite *s = suite_create("mvff");
  TCase *prop = suite_add_case(s, "property", 300);
  tcase_add_loop_test(prop, test_property, 0, (int)(NCONFIGS * NSEEDS));
  tcase_add_loop_test(prop, test_rounds_do_not_grow, 0, (int)NCONFIGS);
  tcase_add_test(prop, test_holes_reused);

  TCase *blocks = suite_add_case(s, "blocks", 120);
  tcase_add_test(blocks, test_large_own_segment);
  tcase_add_test(blocks, test_coalesce_orders);
  tcase_add_test(blocks, test_pad_orders);
  tcase_add_test(blocks, test_empty_segments_returned);
  tcase_add_test(blocks, test_cache_lifo);
  tcase_add_test(blocks, test_cache_flushed_before_growth);
  tcase_add_loop_test(blocks, test_alignment, 0, 10);
  tcase_add_test(blocks, test_commit_limit);

  TCase *misuse = suite_add_case(s, "misuse", 0);
#ifndef KILN_CHECKED
  tcase_add_test(misuse, test_foreign_ignored);
#else
  add_misuse_tests(misuse, misuses, sizeof misuses / sizeof misuses[0]);
  tcase_add_test(misuse, test_poisoned);
#endif
  return s;
}
