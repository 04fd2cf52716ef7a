/* test_arena.c -- the arena: reservation, commit limit, page lookup, spare,
 * destroy returning memory, and parameter validation. */
#include "testlib.h"
#include "arena.h"
#include "pool.h"
#include "seg.h"
#include "vm.h"

#include <string.h>

static kiln_arena_t arena_small(size_t reserve, size_t limit, size_t spare)
{
  kiln_arena_t a;
  kiln_arg_t args[] = {KILN_ARG_SIZE("reserve", reserve), KILN_ARG_SIZE("commit_limit", limit),
                       KILN_ARG_SIZE("spare", spare), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&a, args));
  return a;
}

START_TEST(test_create_default)
{
  kiln_arena_t a;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  kiln_stats_t s = astats(a);
  ck_assert_uint_eq(s.reserved, (size_t)16 << 30);
  ck_assert_uint_eq(s.committed, 0);
  kiln_arena_destroy(a);
}
END_TEST

START_TEST(test_unknown_key_suggests)
{
  kiln_arena_t a;
  kiln_arg_t args[] = {KILN_ARG_SIZE("comit_limit", 1 << 20), KILN_ARGS_END};
  ck_assert_res(kiln_arena_create(&a, args), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL),
                   "arena: unknown parameter 'comit_limit' (did you mean 'commit_limit'?)");
}
END_TEST

START_TEST(test_wrong_type_and_range)
{
  kiln_arena_t a;
  kiln_arg_t t[] = {KILN_ARG_STR("reserve", "lots"), KILN_ARGS_END};
  ck_assert_res(kiln_arena_create(&a, t), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL), "arena: parameter 'reserve' must be a size, not a string");
  kiln_arg_t g[] = {KILN_ARG_NUM("growth", 0.5), KILN_ARGS_END};
  ck_assert_res(kiln_arena_create(&a, g), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL), "arena: parameter 'growth' is 0.5, outside 1.05..1000");
  kiln_arg_t b[] = {KILN_ARG_STR("barrier", "cards"), KILN_ARGS_END};
  ck_assert_res(kiln_arena_create(&a, b), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL), "arena: parameter 'barrier' is 'cards' (valid: 'card', 'none')");
  kiln_arg_t c[] = {KILN_ARG_SIZE("card_size", 500), KILN_ARGS_END};
  ck_assert_res(kiln_arena_create(&a, c), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL), "arena: parameter 'card_size' is 500, not a power of two");
  kiln_arg_t d[] = {KILN_ARG_SIZE("spare", 1), KILN_ARG_SIZE("spare", 2), KILN_ARGS_END};
  ck_assert_res(kiln_arena_create(&a, d), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL), "arena: parameter 'spare' given twice");
}
END_TEST

/* A pool with no behaviour, to own segments in these tests. */
static kiln_res_t dummy_init(pool_t pool, const pval_t *v) { (void)pool; (void)v; return KILN_OK; }
static void dummy_finish(pool_t pool) { (void)pool; }
static const kiln_param_t no_params[] = {{NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};
static const struct kiln_class_s dummy_class = {
  .name = "dummy", .doc = "test", .size = sizeof(struct kiln_pool_s), .attr = CLASS_MANUAL,
  .params = no_params, .init = dummy_init, .finish = dummy_finish};
static const seg_class_t dummy_seg = {.name = "dummy", .size = sizeof(struct seg_s)};

/* A dummy pool in a, to allocate segments from. */
static kiln_pool_t dummy_pool(kiln_arena_t a)
{
  kiln_pool_t p;
  ck_assert_ok(kiln_pool_create(&p, a, &dummy_class, NULL));
  return p;
}

START_TEST(test_lookup_every_page)
{
  kiln_arena_t a = arena_small(64 << 20, 0, 0);
  kiln_pool_t p = dummy_pool(a);
  seg_t segs[50];
  uint64_t rng = test_seed(1);
  for (int i = 0; i < 50; i++)
    ck_assert_ok(seg_alloc(&segs[i], p, &dummy_seg, test_range(&rng, 1, 200000)));
  for (int i = 0; i < 50; i += 2)
    seg_free(segs[i]);
  for (int i = 1; i < 50; i += 2) {
    for (uintptr_t q = segs[i]->base; q < segs[i]->limit; q += a->page_size) {
      ck_assert_ptr_eq(arena_seg_of(a, (void *)q), segs[i]);
      ck_assert_ptr_eq(arena_seg_of(a, (void *)(q + a->page_size - 1)), segs[i]);
    }
    memset((void *)segs[i]->base, 0xAB, seg_size(segs[i])); /* committed: writable */
  }
  ck_assert_ptr_null(arena_seg_of(a, (void *)(a->base - 1)));
  ck_assert_ptr_null(arena_seg_of(a, (void *)a->limit));
  kiln_pool_destroy(p);
  kiln_stats_t s = astats(a);
  ck_assert_uint_eq(s.committed, 0); /* spare 0: everything decommitted */
  kiln_arena_destroy(a);
}
END_TEST

START_TEST(test_commit_limit)
{
  kiln_arena_t a = arena_small(64 << 20, 1 << 20, 0);
  kiln_pool_t p = dummy_pool(a);
  seg_t s1, s2;
  ck_assert_ok(seg_alloc(&s1, p, &dummy_seg, 768 << 10));
  ck_assert_res(seg_alloc(&s2, p, &dummy_seg, 512 << 10), KILN_LIMIT);
  ck_assert_msg(strstr(kiln_arena_error(a), "commit limit of 1048576 bytes reached") != NULL,
                "%s", kiln_arena_error(a));
  ck_assert_ok(seg_alloc(&s2, p, &dummy_seg, 256 << 10));
  seg_free(s1);
  ck_assert_ok(seg_alloc(&s1, p, &dummy_seg, 512 << 10));
  kiln_arena_destroy(a);
}
END_TEST

START_TEST(test_reservation_full)
{
  kiln_arena_t a = arena_small(1 << 20, 0, 1 << 20);
  kiln_pool_t p = dummy_pool(a);
  seg_t s;
  size_t got = 0;
  kiln_res_t res;
  while ((res = seg_alloc(&s, p, &dummy_seg, 64 << 10)) == KILN_OK)
    got += seg_size(s);
  ck_assert_res(res, KILN_LIMIT);
  ck_assert_uint_eq(got, 1 << 20);
  ck_assert_msg(strstr(kiln_arena_error(a), "is full") != NULL, "%s", kiln_arena_error(a));
  kiln_arena_destroy(a);
}
END_TEST

START_TEST(test_spare_kept_then_returned)
{
  kiln_arena_t a = arena_small(64 << 20, 0, 256 << 10);
  kiln_pool_t p = dummy_pool(a);
  seg_t s1, s2;
  ck_assert_ok(seg_alloc(&s1, p, &dummy_seg, 128 << 10));
  ck_assert_ok(seg_alloc(&s2, p, &dummy_seg, 1 << 20));
  seg_free(s1);
  kiln_stats_t st = astats(a);
  ck_assert_uint_eq(st.spare_committed, 128 << 10); /* within spare: kept */
  seg_free(s2);
  st = astats(a);
  ck_assert_uint_le(st.spare_committed, 256 << 10);
  ck_assert_uint_le(st.committed, 256 << 10);
  kiln_arena_destroy(a);
}
END_TEST

/* A free run that is still committed is reused before one that was given
   back, even when the given-back one comes first by address. */
START_TEST(test_committed_pages_reused_first)
{
  kiln_arena_t a = arena_small(64 << 20, 0, 256 << 10);
  kiln_pool_t p = dummy_pool(a);
  seg_t s1, s2, s3;
  ck_assert_ok(seg_alloc(&s1, p, &dummy_seg, 256 << 10));
  ck_assert_ok(seg_alloc(&s2, p, &dummy_seg, 256 << 10));
  ck_assert_ok(seg_alloc(&s3, p, &dummy_seg, 256 << 10));
  uintptr_t high = s3->base;
  seg_free(s3); /* kept: within spare */
  seg_free(s1); /* past spare: decommitted, and lower than s3 */
  kiln_stats_t st = astats(a);
  size_t committed = st.committed;
  ck_assert_uint_eq(st.spare_committed, 256 << 10);
  ck_assert_ok(seg_alloc(&s1, p, &dummy_seg, 256 << 10));
  st = astats(a);
  ck_assert_uint_eq(s1->base, high);
  ck_assert_uint_eq(st.committed, committed); /* no page newly committed */
  ck_assert_uint_eq(st.spare_committed, 0);
  kiln_arena_destroy(a);
}
END_TEST

START_TEST(test_destroy_returns_everything)
{
  kiln_arena_t a = arena_small(256 << 20, 0, 64 << 20);
  kiln_pool_t p = dummy_pool(a);
  seg_t s;
  ck_assert_ok(seg_alloc(&s, p, &dummy_seg, 32 << 20));
  memset((void *)s->base, 1, 32 << 20);
  void *base = (void *)a->base;
  size_t rss_before = vm_rss();
  kiln_arena_destroy(a);
  ck_assert_msg(!vm_is_mapped(base, 256 << 20), "reservation still mapped after destroy");
  ck_assert_uint_le(vm_rss() + (30 << 20), rss_before);
}
END_TEST

/* An automatic pool's segment starts with clean cards, even on pages where
   a manual segment's card was dirtied (cards are cleared when the trace
   will read them, not when a segment is freed). */
static const struct kiln_class_s dummy_auto_class = {
  .name = "dummy-auto", .doc = "test", .size = sizeof(struct kiln_pool_s), .attr = CLASS_AUTO,
  .params = no_params, .init = dummy_init, .finish = dummy_finish};

START_TEST(test_auto_segment_starts_with_clean_cards)
{
  kiln_arena_t a = arena_small(64 << 20, 0, 64 << 20);
  kiln_pool_t manual, automatic;
  ck_assert_ok(kiln_pool_create(&manual, a, &dummy_class, NULL));
  ck_assert_ok(kiln_pool_create(&automatic, a, &dummy_auto_class, NULL));
  seg_t s;
  ck_assert_ok(seg_alloc(&s, manual, &dummy_seg, 256 << 10));
  void **slot = (void **)(s->limit - 2 * sizeof(void *));
  kiln_write(a, (void *)s->base, slot, NULL);
  size_t first = (s->base - a->base) >> a->head.card_shift;
  size_t n = ((size_t)256 << 10) >> a->head.card_shift;
  ck_assert_uint_eq(a->head.cards[((uintptr_t)slot - a->base) >> a->head.card_shift], 1);
  uintptr_t base = s->base;
  seg_free(s);
  ck_assert_ok(seg_alloc(&s, automatic, &dummy_seg, 256 << 10));
  ck_assert_uint_eq(s->base, base); /* first fit: the same pages */
  for (size_t i = 0; i < n; i++)
    ck_assert_uint_eq(a->head.cards[first + i], 0);
  kiln_arena_destroy(a);
}
END_TEST

/* Freeing a manual pool's segments touches no card, so the card table's
   pages stay out of the resident set (1/512 of the heap, bench/README.md):
   1 GiB of segments has 2 MiB of cards. Checked builds poison what they
   free, which touches every page anyway. */
START_TEST(test_manual_segments_touch_no_card)
{
  if (KILN_CHECKING)
    return;
  kiln_arena_t a = arena_small((size_t)2 << 30, 0, (size_t)2 << 30);
  kiln_pool_t p = dummy_pool(a);
  enum { N = 256 };
  static seg_t segs[N];
  for (int i = 0; i < N; i++)
    ck_assert_ok(seg_alloc(&segs[i], p, &dummy_seg, 4 << 20));
  size_t before = vm_rss(); /* the page table's entries for them are resident now */
  for (int i = 0; i < N; i++)
    seg_free(segs[i]);
  ck_assert_uint_lt(vm_rss(), before + (512 << 10));
  kiln_arena_destroy(a);
}
END_TEST

START_TEST(test_res_names)
{
  ck_assert_str_eq(kiln_res_name(KILN_OK), "KILN_OK");
  ck_assert_str_eq(kiln_res_name(KILN_LIMIT), "KILN_LIMIT");
  ck_assert_str_eq(kiln_res_name(99), "KILN_UNKNOWN");
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("arena");
  TCase *tc = suite_add_case(s, "arena", 0);
  tcase_add_test(tc, test_create_default);
  tcase_add_test(tc, test_unknown_key_suggests);
  tcase_add_test(tc, test_wrong_type_and_range);
  tcase_add_test(tc, test_lookup_every_page);
  tcase_add_test(tc, test_commit_limit);
  tcase_add_test(tc, test_reservation_full);
  tcase_add_test(tc, test_spare_kept_then_returned);
  tcase_add_test(tc, test_committed_pages_reused_first);
  tcase_add_test(tc, test_destroy_returns_everything);
  tcase_add_test(tc, test_auto_segment_starts_with_clean_cards);
  tcase_add_test(tc, test_manual_segments_touch_no_card);
  tcase_add_test(tc, test_res_names);
  return s;
}
