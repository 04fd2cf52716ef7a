/* test_desc.c -- the descriptor format (bindings/desc.c): type validation
 * and its messages, object sizes and accessors on memory the test owns, the
 * format's own skip/pad/fwd/isfwd, a random graph of described objects of
 * several types under every automatic pool class with a shadow model of
 * reachability, a type with its own scan function, and the copy pool's
 * padding and forwarding of described objects.
 *
 * graph.c cannot serve here: it is built on its own object format. The
 * model below is the same idea for described objects: every object has an
 * id, a type and a length; the model holds its edges slot by slot; after
 * every collection the heap is walked from the roots in step with the model.
 */
#include "testlib.h"
#include "arena.h"
#include "seg.h"
#include "kiln/desc.h"

#include <stdlib.h>
#include <string.h>

#define W 8u /* bytes per word of the format */

static void expect_error(const char *want)
{
  const char *err = kiln_arena_error(NULL);
  ck_assert_msg(err != NULL && strstr(err, want) != NULL, "the error was '%s', wanted '%s'",
                err != NULL ? err : "(null)", want);
}

/* ---- 1. kiln_type_create validation ------------------------------------ */

static const size_t refs_outside[] = {0, 4};   /* size 30: words 0..3 */
static const size_t refs_descending[] = {2, 1};
static const size_t refs_repeated[] = {1, 1};

typedef struct bad_spec_s {
  kiln_type_spec_t spec;
  const char *want[3];         /* substrings of kiln_arena_error(NULL) */
} bad_spec_t;

#define SPEC(name, size, nrefs, refs, esize, erefs) {(name), (size), (nrefs), (refs), (esize), (erefs), NULL, NULL}
static const bad_spec_t bad_specs[] = {
  {SPEC(NULL, 16, 0, NULL, 0, 0), {"a type needs a name", NULL, NULL}},
  {SPEC("", 16, 0, NULL, 0, 0), {"a type needs a name", NULL, NULL}},
  {SPEC("outside", 30, 2, refs_outside, 0, 0),
   {"type 'outside'", "outside the fixed part", "(4)"}},
  {SPEC("empty", 0, 1, refs_outside, 0, 0), {"type 'empty'", "outside the fixed part", "(0)"}},
  {SPEC("down", 32, 2, refs_descending, 0, 0), {"type 'down'", "ascending", "(1)"}},
  {SPEC("twice", 32, 2, refs_repeated, 0, 0), {"type 'twice'", "ascending", "(1)"}},
  {SPEC("crowded", 32, 5, NULL, 0, 0), {"type 'crowded'", "more references than words", "(5)"}},
  {SPEC("crowded_arr", 8, 2, NULL, 8, 1),
   {"type 'crowded_arr'", "more references than words", "(2)"}},
  {SPEC("ragged", 8, 0, NULL, 12, 1), {"type 'ragged'", "whole words", "(12)"}},
  {SPEC("tight", 8, 0, NULL, 16, 3),
   {"type 'tight'", "more element references than words", "(3)"}},
  {SPEC("noelem", 8, 0, NULL, 0, 1),
   {"type 'noelem'", "more element references than words", "(1)"}},
  /* elem_refs * 8 wraps to 8 here: the check must not overflow. */
  {SPEC("wrap", 8, 0, NULL, 8, ((size_t)1 << (sizeof(size_t) * 8 - 3)) + 1),
   {"type 'wrap'", "more element references than words", NULL}},
  {SPEC("huge", ((size_t)1 << 40) + 1, 0, NULL, 0, 0),
   {"type 'huge': size is larger than 1 TB (1099511627777)", NULL, NULL}},
  {SPEC("hugeelem", 8, 0, NULL, SIZE_MAX, 0),
   {"type 'hugeelem': elem_size is larger than 1 TB (18446744073709551615)", NULL, NULL}},
  {SPEC("manyrefs", 16, SIZE_MAX, NULL, 0, 0),
   {"type 'manyrefs'", "more references than words", NULL}},
};

START_TEST(test_bad_spec)
{
  const bad_spec_t *b = &bad_specs[_i];
  kiln_type_t t = NULL;
  kiln_set_error(KILN_OK, "stale");
  ck_assert_res(kiln_type_create(&t, &b->spec), KILN_PARAM);
  for (int k = 0; k < 3 && b->want[k] != NULL; k++)
    expect_error(b->want[k]);
  expect_error("kiln_type_create");
}
END_TEST

static const size_t refs_last[] = {3};  /* size 25 rounds up to 4 words */

START_TEST(test_good_specs)
{
  const kiln_type_spec_t good[] = {
    SPEC("nothing", 0, 0, NULL, 0, 0),
    SPEC("last", 25, 1, refs_last, 0, 0),
    SPEC("allrefs", 32, 4, NULL, 0, 0),
    SPEC("bytes", 0, 0, NULL, 1, 0),
    SPEC("fullelem", 8, 1, NULL, 16, 2),
    SPEC("oddelem", 8, 0, NULL, 13, 0),
    SPEC("onetb", (size_t)1 << 40, 0, NULL, (size_t)1 << 40, 0),
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    kiln_type_t t;
    ck_assert_msg(kiln_type_create(&t, &good[i]) == KILN_OK, "type '%s': %s", good[i].name,
                  kiln_arena_error(NULL));
    ck_assert_str_eq(kiln_type_name(t), good[i].name);
    ck_assert_uint_eq((uintptr_t)t & 7, 0); /* room for the format's markers */
    kiln_type_destroy(t);
  }
  kiln_type_destroy(NULL);
}
END_TEST

START_TEST(test_name_copied_data_kept)
{
  char name[] = "mutable";
  int datum;
  kiln_type_spec_t s = SPEC(name, 16, 1, NULL, 0, 0);
  s.data = &datum;
  kiln_type_t t;
  ck_assert_ok(kiln_type_create(&t, &s));
  name[0] = 'X';
  ck_assert_str_eq(kiln_type_name(t), "mutable");
  ck_assert_ptr_eq(kiln_type_data(t), &datum);
  kiln_type_destroy(t);
}
END_TEST

/* ---- 2. sizes and accessors --------------------------------------------- */

static kiln_type_t mk(const char *name, size_t size, size_t nrefs, const size_t *refs,
                      size_t esize, size_t erefs)
{
  kiln_type_spec_t s = SPEC(name, size, nrefs, refs, esize, erefs);
  kiln_type_t t;
  ck_assert_msg(kiln_type_create(&t, &s) == KILN_OK, "%s", kiln_arena_error(NULL));
  return t;
}

START_TEST(test_sizes)
{
  kiln_type_t f0 = mk("f0", 0, 0, NULL, 0, 0), f8 = mk("f8", 8, 1, NULL, 0, 0);
  kiln_type_t f9 = mk("f9", 9, 0, NULL, 0, 0), f24 = mk("f24", 24, 0, NULL, 0, 0);
  kiln_type_t b = mk("b", 0, 0, NULL, 1, 0), v = mk("v", 12, 1, NULL, 24, 2);
  kiln_type_t w = mk("w", 0, 0, NULL, 8, 1), big = mk("big", 0, 0, NULL, (size_t)1 << 40, 0);
  /* fixed: header word + fixed part rounded to words, at least 16 bytes */
  ck_assert_uint_eq(kiln_desc_size(f0, 0), 16);
  ck_assert_uint_eq(kiln_desc_size(f8, 0), 16);
  ck_assert_uint_eq(kiln_desc_size(f9, 0), 24);
  ck_assert_uint_eq(kiln_desc_size(f24, 0), 32);
  /* a length for a type that is not an array, or no type */
  ck_assert_uint_eq(kiln_desc_size(f8, 1), 0);
  ck_assert_uint_eq(kiln_desc_size(f8, SIZE_MAX), 0);
  ck_assert_uint_eq(kiln_desc_size(NULL, 0), 0);
  /* arrays: header and length words, fixed part, elements, rounded to 8 */
  ck_assert_uint_eq(kiln_desc_size(b, 0), 16);
  ck_assert_uint_eq(kiln_desc_size(b, 1), 24);
  ck_assert_uint_eq(kiln_desc_size(b, 8), 24);
  ck_assert_uint_eq(kiln_desc_size(b, 9), 32);
  ck_assert_uint_eq(kiln_desc_size(v, 0), 32);
  ck_assert_uint_eq(kiln_desc_size(v, 3), 16 + 16 + 72);
  ck_assert_uint_eq(kiln_desc_size(w, 100000), 16 + 800000);
  /* overflow: 0, not a wrapped small size */
  ck_assert_uint_eq(kiln_desc_size(w, SIZE_MAX), 0);
  ck_assert_uint_eq(kiln_desc_size(w, SIZE_MAX / 8 + 1), 0); /* 8 x length wraps to 0 */
  ck_assert_uint_eq(kiln_desc_size(w, ((size_t)1 << 40) / 8 + 1), 0);
  ck_assert_uint_eq(kiln_desc_size(big, 1), 16 + ((size_t)1 << 40));
  ck_assert_uint_eq(kiln_desc_size(big, 2), 0);
  ck_assert_uint_eq(kiln_desc_size(big, SIZE_MAX), 0);
  kiln_type_t all[] = {f0, f8, f9, f24, b, v, w, big};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    kiln_type_destroy(all[i]);
}
END_TEST

/* Initialise an object in malloc'd memory filled with junk first, so that
   kiln_desc_init's zeroing is checked too. */
static void *new_obj(kiln_type_t t, size_t len)
{
  size_t size = kiln_desc_size(t, len);
  ck_assert_uint_gt(size, 0);
  uint8_t *p = malloc(size);
  ck_assert_ptr_nonnull(p);
  memset(p, 0xAB, size);
  kiln_desc_init(p, t, len);
  size_t head = len > 0 || kiln_desc_length(p) > 0 ? 16 : 8;
  ck_assert_uint_eq(*(uint64_t *)(void *)p, (uint64_t)(uintptr_t)t);
  for (size_t i = head; i < size; i++)
    T_CHECK(p[i] == 0, "%s: byte %zu of %zu not zeroed", kiln_type_name(t), i, size);
  return p;
}

static const size_t refs_scattered[] = {1, 4, 6};
static const size_t refs_0_2[] = {0, 2};

START_TEST(test_accessors_fixed)
{
  kiln_type_t s = mk("scattered", 60, 3, refs_scattered, 0, 0);
  kiln_type_t pre = mk("prefix", 40, 2, NULL, 0, 0);
  kiln_type_t none = mk("none", 0, 0, NULL, 0, 0);
  uint64_t *o = new_obj(s, 0);
  ck_assert_ptr_eq(kiln_desc_type(o), s);
  ck_assert_uint_eq(kiln_desc_length(o), 0);
  void **fixed = kiln_desc_fixed(o);
  ck_assert_ptr_eq(fixed, o + 1);
  ck_assert_uint_eq(kiln_desc_nslots(o), 3);
  for (size_t i = 0; i < 3; i++)
    ck_assert_ptr_eq(kiln_desc_slot(o, i), &fixed[refs_scattered[i]]);
  ck_assert_ptr_null(kiln_desc_slot(o, 3));
  ck_assert_ptr_null(kiln_desc_slot(o, SIZE_MAX));
  ck_assert_ptr_null(kiln_desc_elem(o, 0));
  ck_assert_ptr_eq(kiln_desc_format()->skip(o), (char *)o + 72);
  ck_assert_ptr_null(kiln_desc_format()->isfwd(o));
  uint64_t *q = new_obj(pre, 0);
  ck_assert_uint_eq(kiln_desc_nslots(q), 2);
  ck_assert_ptr_eq(kiln_desc_slot(q, 0), (void **)kiln_desc_fixed(q));
  ck_assert_ptr_eq(kiln_desc_slot(q, 1), (void **)kiln_desc_fixed(q) + 1);
  ck_assert_ptr_null(kiln_desc_slot(q, 2));
  uint64_t *n = new_obj(none, 0);
  ck_assert_uint_eq(kiln_desc_nslots(n), 0);
  ck_assert_ptr_null(kiln_desc_slot(n, 0));
  ck_assert_ptr_eq(kiln_desc_format()->skip(n), (char *)n + 16);
  free(o);
  free(q);
  free(n);
  kiln_type_destroy(s);
  kiln_type_destroy(pre);
  kiln_type_destroy(none);
}
END_TEST

START_TEST(test_accessors_array)
{
  kiln_type_t v = mk("vec", 24, 2, refs_0_2, 24, 2);
  kiln_type_t raw = mk("raw", 8, 1, NULL, 16, 0);
  uint64_t *o = new_obj(v, 5);
  ck_assert_ptr_eq(kiln_desc_type(o), v);
  ck_assert_uint_eq(kiln_desc_length(o), 5);
  ck_assert_uint_eq(o[1], 5);
  void **fixed = kiln_desc_fixed(o);
  ck_assert_ptr_eq(fixed, o + 2);
  for (size_t i = 0; i < 5; i++)
    ck_assert_ptr_eq(kiln_desc_elem(o, i), (char *)(o + 2) + 24 + i * 24);
  ck_assert_ptr_null(kiln_desc_elem(o, 5));
  ck_assert_ptr_null(kiln_desc_elem(o, SIZE_MAX));
  /* slots: the fixed part's in the order of refs, then each element's
     leading elem_refs words */
  ck_assert_uint_eq(kiln_desc_nslots(o), 2 + 5 * 2);
  ck_assert_ptr_eq(kiln_desc_slot(o, 0), &fixed[0]);
  ck_assert_ptr_eq(kiln_desc_slot(o, 1), &fixed[2]);
  for (size_t i = 0; i < 5; i++) {
    void **e = kiln_desc_elem(o, i);
    ck_assert_ptr_eq(kiln_desc_slot(o, 2 + 2 * i), &e[0]);
    ck_assert_ptr_eq(kiln_desc_slot(o, 3 + 2 * i), &e[1]);
  }
  ck_assert_ptr_null(kiln_desc_slot(o, 12));
  ck_assert_ptr_null(kiln_desc_slot(o, SIZE_MAX));
  ck_assert_ptr_eq(kiln_desc_format()->skip(o), (char *)o + 16 + 24 + 5 * 24);
  uint64_t *e = new_obj(v, 0);
  ck_assert_uint_eq(kiln_desc_length(e), 0);
  ck_assert_uint_eq(kiln_desc_nslots(e), 2);
  ck_assert_ptr_null(kiln_desc_elem(e, 0));
  ck_assert_ptr_null(kiln_desc_slot(e, 2));
  uint64_t *r = new_obj(raw, 3);
  ck_assert_uint_eq(kiln_desc_nslots(r), 1);
  ck_assert_ptr_eq(kiln_desc_slot(r, 0), (void **)kiln_desc_fixed(r));
  ck_assert_ptr_null(kiln_desc_slot(r, 1));
  ck_assert_ptr_eq(kiln_desc_elem(r, 2), (char *)(r + 3) + 32);
  free(o);
  free(e);
  free(r);
  kiln_type_destroy(v);
  kiln_type_destroy(raw);
}
END_TEST

/* The format's markers, on memory the test owns: a pad of any multiple of
   8 bytes (8 included) is skipped whole and is no object; a forwarded
   object keeps its extent for skip and gives its new address to isfwd. */
START_TEST(test_markers)
{
  const kiln_format_t *f = kiln_desc_format();
  ck_assert_uint_eq(f->align, 8);
  ck_assert_uint_eq(f->header_size, 0);
  ck_assert(f->scan && f->skip && f->fwd && f->isfwd && f->pad);
  static uint64_t buf[64];
  const size_t pads[] = {8, 16, 24, 200, 512};
  for (size_t i = 0; i < sizeof pads / sizeof pads[0]; i++) {
    memset(buf, 0xCD, sizeof buf);
    f->pad(buf, pads[i]);
    ck_assert_ptr_eq(f->skip(buf), (char *)buf + pads[i]);
    ck_assert_ptr_null(f->isfwd(buf));
    ck_assert_ptr_null(kiln_desc_type(buf));
  }
  kiln_type_t v = mk("vec", 8, 0, NULL, 8, 1), l = mk("leaf", 0, 0, NULL, 0, 0);
  uint64_t *o = new_obj(v, 7), *n = new_obj(v, 7), *s = new_obj(l, 0);
  f->fwd(o, n);
  ck_assert_ptr_eq(f->isfwd(o), n);
  ck_assert_ptr_null(kiln_desc_type(o));
  ck_assert_ptr_eq(f->skip(o), (char *)o + kiln_desc_size(v, 7));
  ck_assert_ptr_null(f->isfwd(n));
  f->fwd(s, n);                    /* the smallest object has room for the marker */
  ck_assert_ptr_eq(f->isfwd(s), n);
  ck_assert_ptr_eq(f->skip(s), (char *)s + 16);
  free(o);
  free(n);
  free(s);
  kiln_type_destroy(v);
  kiln_type_destroy(l);
}
END_TEST

START_TEST(test_alloc_errors)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pool;
  kiln_ap_t ap;
  fmt = arena_with_format(&arena, kiln_desc_format());
  pool = plain_pool(arena, fmt, kiln_class_ms());
  ck_assert_ok(kiln_ap_create(&ap, pool, NULL));
  kiln_type_t f = mk("f", 8, 0, NULL, 0, 0), w = mk("w", 0, 0, NULL, 8, 1);
  void *p;
  ck_assert_res(kiln_desc_alloc(&p, ap, f, 1), KILN_PARAM);
  expect_error("not an array");
  ck_assert_res(kiln_desc_alloc(&p, ap, w, SIZE_MAX), KILN_PARAM);
  expect_error("larger than 1 TB");
  ck_assert_res(kiln_desc_alloc(&p, ap, NULL, 0), KILN_PARAM);
  expect_error("no type");
  ck_assert_ok(kiln_desc_alloc(&p, ap, w, 3));
  ck_assert_ptr_eq(kiln_desc_type(p), w);
  ck_assert_uint_eq(kiln_desc_length(p), 3);
  for (size_t i = 0; i < 3; i++)
    ck_assert_ptr_null(*kiln_desc_slot(p, i));
  kiln_ap_destroy(ap);
  kiln_pool_destroy(pool);
  kiln_fmt_destroy(fmt);
  kiln_arena_destroy(arena);
  kiln_type_destroy(f);
  kiln_type_destroy(w);
}
END_TEST

/* ---- 3. the random graph -------------------------------------------------- */

/* The test's own description of each type (not read back from the library):
   word indexes of references and of raw words that hold stale addresses,
   element layout, length range. */
enum { TY_PAIR, TY_SCAT, TY_LEAF, TY_VEC1, TY_VEC2, TY_BYTES, TY_CUSTOM, NTYPES };
static const size_t vec2_refs[] = {1};
static const size_t scat_junk[] = {2, 3, 5};
#define NJUNK 3

typedef struct tdef_s {
  const char *name;
  size_t size, nrefs;
  const size_t *refs;
  size_t esize, erefs;
  size_t maxlen, biglen;   /* usual lengths 0..maxlen; sometimes biglen */
  int weight;              /* in the allocation mix */
} tdef_t;

static const tdef_t tdefs[NTYPES] = {
  {"pair", 32, 2, NULL, 0, 0, 0, 0, 25},
  {"scattered", 60, 3, refs_scattered, 0, 0, 0, 0, 20},
  {"leaf", 8, 0, NULL, 0, 0, 0, 0, 15},
  {"vec1", 8, 0, NULL, 16, 1, 40, 100000, 12},   /* 1.6 MB when big */
  {"vec2", 24, 1, vec2_refs, 24, 2, 20, 30000, 10},
  {"bytes", 8, 0, NULL, 1, 0, 300, 50000, 10},
  {"custom", 32, 2, refs_0_2, 0, 0, 0, 0, 8},
};

static int is_junk_word(int ty, size_t w)
{
  if (ty != TY_SCAT)
    return 0;
  for (size_t j = 0; j < NJUNK; j++)
    if (scat_junk[j] == w)
      return 1;
  return 0;
}

static int is_ref_word(int ty, size_t w)
{
  const tdef_t *d = &tdefs[ty];
  for (size_t k = 0; k < d->nrefs; k++)
    if ((d->refs != NULL ? d->refs[k] : k) == w)
      return 1;
  return 0;
}

static uint64_t stamp(uint64_t id, size_t w)
{
  /* Odd, and with its top bits set: never a plausible heap address. */
  return (id * 0x9E3779B97F4A7C15ull + w * 0xBF58476D1CE4E5B9ull) | 0xF000000000000001ull;
}

/* A type with its own scan: fixes fixed words 0 and 2, counts its calls in
   the counter kiln_type_data gives, and checks the extent it is given. */
typedef struct custom_s {
  uint64_t calls, bad_extent;
} custom_t;

static kiln_res_t custom_scan(kiln_ss_t ss, void *base, void *limit)
{
  kiln_type_t t = kiln_desc_type(base);
  custom_t *c = kiln_type_data(t);
  c->calls++;
  if ((size_t)((char *)limit - (char *)base) != kiln_desc_size(t, 0))
    c->bad_extent++;
  void **fixed = kiln_desc_fixed(base);
  kiln_res_t res;
  KILN_SCAN_BEGIN(ss) {
    res = KILN_FIX12(ss, &fixed[0]);
    if (res == KILN_OK)
      res = KILN_FIX12(ss, &fixed[2]);
  } KILN_SCAN_END(ss);
  return res;
}

#define NROOTS 64
#define MAXPOOLS 2

typedef struct mobj_s {
  uint8_t ty;
  size_t len, nslots;
  int32_t *edge;           /* nslots targets, -1 for NULL */
  uint64_t junk[NJUNK];    /* what the raw words of a scattered object hold */
  int32_t junk_id[NJUNK];  /* whose address that was (-1: not an object's) */
  void *addr;              /* last known address */
} mobj_t;

typedef struct dcfg_s {
  const char *name;
  int (*make_pools)(kiln_arena_t, kiln_fmt_t, kiln_pool_t *);
  int moving;              /* some object must move */
  int old_moves;           /* objects that survived a collection may move again */
} dcfg_t;

typedef struct drun_s {
  const dcfg_t *cfg;
  size_t steps, collect_every;
  int stress, custom_scan, bigs;
  uint64_t seed;
  /* results */
  size_t verified, collections, moved, stale_junk, max_reach, bigs_made;
  uint64_t *trace;         /* reachable count after each explicit collection */
  size_t ntrace;
  custom_t custom;
} drun_t;

typedef struct world_s {
  drun_t *r;
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pools[MAXPOOLS];
  kiln_ap_t aps[MAXPOOLS];
  int npools;
  kiln_type_t types[NTYPES];
  kiln_root_t root;
  void *roots[NROOTS];
  int32_t mroot[NROOTS];
  mobj_t *obj;
  size_t n, cap;
  uint32_t *reach, *queue;
  size_t nreach;
  uint8_t *seen;
  uint64_t rng, gc_seen;
  int total_weight;
} world_t;

static kiln_pool_t mkpool(kiln_arena_t arena, kiln_class_t k, kiln_fmt_t fmt, kiln_pool_t to)
{
  kiln_pool_t p;
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_PTR("promote_to", to),
                       KILN_ARG_SIZE("nursery_size", 256 << 10), KILN_ARGS_END};
  if (to == NULL)
    args[1] = (kiln_arg_t)KILN_ARGS_END;
  ck_assert_msg(kiln_pool_create(&p, arena, k, args) == KILN_OK, "%s", kiln_arena_error(arena));
  return p;
}

static int pools_ms(kiln_arena_t a, kiln_fmt_t f, kiln_pool_t *p)
{
  p[0] = mkpool(a, kiln_class_ms(), f, NULL);
  return 1;
}

static int pools_copy(kiln_arena_t a, kiln_fmt_t f, kiln_pool_t *p)
{
  p[0] = mkpool(a, kiln_class_copy(), f, NULL);
  return 1;
}

/* gen: the nursery first, and the mature pool also allocated in directly */
static int pools_gen_ms(kiln_arena_t a, kiln_fmt_t f, kiln_pool_t *p)
{
  p[1] = mkpool(a, kiln_class_ms(), f, NULL);
  p[0] = mkpool(a, kiln_class_gen(), f, p[1]);
  return 2;
}

static int pools_gen_copy(kiln_arena_t a, kiln_fmt_t f, kiln_pool_t *p)
{
  p[1] = mkpool(a, kiln_class_copy(), f, NULL);
  p[0] = mkpool(a, kiln_class_gen(), f, p[1]);
  return 2;
}

/* Survivors age two collections in the nursery's survivor space, whose
   grey objects the gen class scans itself; and a copy pool of small
   segments, so that the inline copy path often finds to-space full. */
static int pools_gen_aged_copy(kiln_arena_t a, kiln_fmt_t f, kiln_pool_t *p)
{
  kiln_arg_t args[] = {KILN_ARG_PTR("format", f), KILN_ARG_SIZE("segment_size", 16 << 10),
                       KILN_ARG_SIZE("large_size", 4 << 10), KILN_ARGS_END};
  ck_assert_msg(kiln_pool_create(&p[1], a, kiln_class_copy(), args) == KILN_OK, "%s",
                kiln_arena_error(a));
  p[0] = make_gen_aged(a, f, p[1], 64 << 10, 2);
  return 2;
}

static const dcfg_t configs[] = {
  {"ms", pools_ms, 0, 0},
  {"copy", pools_copy, 1, 1},
  {"gen->ms", pools_gen_ms, 1, 0},
  {"gen->copy", pools_gen_copy, 1, 1},
  {"gen(aged)->copy(small segments)", pools_gen_aged_copy, 1, 1},
};
#define NCONFIGS (int)(sizeof configs / sizeof configs[0])

static uint64_t make_junk(world_t *w, mobj_t *m, size_t j);

/* Object id's fixed part apart from its references, word by word: with
   where NULL, each raw word is made and each other word stamped; else each
   is checked against what was written, where naming the check. */
static void pass_fixed(world_t *w, uint32_t id, const char *where)
{
  mobj_t *m = &w->obj[id];
  const tdef_t *d = &tdefs[m->ty];
  uint64_t *fixed = kiln_desc_fixed(m->addr);
  size_t fw = (d->size + W - 1) / W;
  for (size_t k = 0, j = 0; k < fw; k++) {
    if (is_ref_word(m->ty, k))
      continue;
    if (is_junk_word(m->ty, k)) {
      if (where == NULL)
        fixed[k] = make_junk(w, m, j);
      else
        T_CHECK(fixed[k] == m->junk[j], "%s: %s %u: raw word %zu was changed from %#llx to "
                "%#llx (treated as a reference?)", where, d->name, id, k,
                (unsigned long long)m->junk[j], (unsigned long long)fixed[k]);
      j++;
      continue;
    }
    if (where == NULL)
      fixed[k] = stamp(id, k);
    else
      T_CHECK(fixed[k] == stamp(id, k), "%s: %s %u: payload word %zu corrupted", where,
              d->name, id, k);
  }
}

/* Object id's elements apart from their references: with where NULL,
   stamped; else checked for their stamps, where naming the check. */
static void pass_elements(world_t *w, uint32_t id, const char *where)
{
  mobj_t *m = &w->obj[id];
  const tdef_t *d = &tdefs[m->ty];
  for (size_t i = 0; d->esize != 0 && i < m->len; i++) {
    if (d->esize == 1) {
      uint8_t *b = &((uint8_t *)kiln_desc_elem(m->addr, 0))[i];
      if (where == NULL)
        *b = (uint8_t)(id * 31 + i * 7);
      else
        T_CHECK(*b == (uint8_t)(id * 31 + i * 7), "%s: %s %u: byte %zu corrupted", where,
                d->name, id, i);
      continue;
    }
    uint64_t *e = kiln_desc_elem(m->addr, i);
    for (size_t k = d->erefs; k < d->esize / W; k++) {
      if (where == NULL)
        e[k] = stamp(id, 100 + i * 8 + k);
      else
        T_CHECK(e[k] == stamp(id, 100 + i * 8 + k), "%s: %s %u: element %zu word %zu "
                "corrupted", where, d->name, id, i, k);
    }
  }
}

static void check_payload(world_t *w, uint32_t id, const char *where)
{
  pass_fixed(w, id, where);
  pass_elements(w, id, where);
}

static void check_obj(world_t *w, void *p, uint32_t id, const char *where)
{
  mobj_t *m = &w->obj[id];
  T_CHECK(p != NULL, "%s: object %u missing", where, id);
  T_CHECK(w->r->cfg->moving || p == m->addr, "%s: object %u moved in a pool that does not move",
          where, id);
  T_CHECK(kiln_desc_format()->isfwd(p) == NULL, "%s: object %u at %p is a forwarding marker",
          where, id, p);
  T_CHECK(kiln_desc_type(p) == w->types[m->ty], "%s: object %u at %p: type %p, wanted %s", where,
          id, p, (void *)kiln_desc_type(p), tdefs[m->ty].name);
  T_CHECK(kiln_desc_length(p) == m->len && kiln_desc_nslots(p) == m->nslots,
          "%s: %s %u: length %zu slots %zu, wanted %zu and %zu", where, tdefs[m->ty].name, id,
          kiln_desc_length(p), kiln_desc_nslots(p), m->len, m->nslots);
  if (p != m->addr)
    w->r->moved++;
  m->addr = p;
  check_payload(w, id, where);
}

/* Walk heap and model together from the roots; refresh addresses and the
   reachable list. O(reachable objects + their slots). */
static size_t verify(world_t *w, const char *where)
{
  size_t qh = 0, qt = 0;
  memset(w->seen, 0, w->n);
  for (int i = 0; i < NROOTS; i++) {
    int32_t id = w->mroot[i];
    if (id < 0) {
      T_CHECK(w->roots[i] == NULL, "%s: root %d should be NULL", where, i);
      continue;
    }
    if (w->seen[id]) {
      T_CHECK(w->roots[i] == w->obj[id].addr, "%s: object %d has two addresses", where, id);
      continue;
    }
    check_obj(w, w->roots[i], (uint32_t)id, where);
    w->seen[id] = 1;
    w->queue[qt++] = (uint32_t)id;
  }
  while (qh < qt) {
    uint32_t id = w->queue[qh++];
    mobj_t *m = &w->obj[id];
    for (size_t k = 0; k < m->nslots; k++) {
      void *v = *kiln_desc_slot(m->addr, k);
      int32_t e = m->edge[k];
      if (e < 0) {
        T_CHECK(v == NULL, "%s: %s %u slot %zu should be NULL", where, tdefs[m->ty].name, id, k);
      } else if (w->seen[e]) {
        T_CHECK(v == w->obj[e].addr, "%s: %s %u slot %zu: object %d has two addresses (%p, %p)",
                where, tdefs[m->ty].name, id, k, e, v, w->obj[e].addr);
      } else {
        check_obj(w, v, (uint32_t)e, where);
        w->seen[e] = 1;
        w->queue[qt++] = (uint32_t)e;
      }
    }
  }
  /* A raw word that held a reachable object's address, which has since
     moved: it must still hold the old address (checked in check_payload). */
  for (size_t q = 0; q < qt; q++) {
    mobj_t *m = &w->obj[w->queue[q]];
    for (size_t j = 0; m->ty == TY_SCAT && j < NJUNK; j++)
      if (m->junk_id[j] >= 0 && w->seen[m->junk_id[j]] &&
          w->obj[m->junk_id[j]].addr != (void *)(uintptr_t)m->junk[j])
        w->r->stale_junk++;
  }
  memcpy(w->reach, w->queue, qt * sizeof *w->reach);
  w->nreach = qt;
  return qt;
}

static void after_gc(world_t *w, const char *where)
{
  if (!collected_since(w->arena, &w->gc_seen))
    return;
  size_t n = verify(w, where);
  w->r->verified++;
  if (n > w->r->max_reach)
    w->r->max_reach = n;
}

static uint32_t pick(world_t *w)
{
  return w->reach[test_rand(&w->rng) % w->nreach];
}

static void set_slot(world_t *w, uint32_t id, size_t k, int32_t e)
{
  mobj_t *m = &w->obj[id];
  m->edge[k] = e;
  kiln_write(w->arena, m->addr, kiln_desc_slot(m->addr, k), e < 0 ? NULL : w->obj[e].addr);
}

/* A raw word for junk slot j of m: the address of a live object, one past
   it, or an address that looks like the heap's: none may be taken for a
   reference. */
static uint64_t make_junk(world_t *w, mobj_t *m, size_t j)
{
  int32_t t = w->nreach > 0 ? (int32_t)pick(w) : -1;
  uint64_t dice = test_rand(&w->rng) % 4;
  m->junk_id[j] = dice < 2 ? t : -1;
  m->junk[j] = t < 0 ? 0x1230
               : dice < 2 ? (uint64_t)(uintptr_t)w->obj[t].addr
               : dice == 2 ? (uint64_t)(uintptr_t)w->obj[t].addr + 8
                           : (uint64_t)(uintptr_t)w->obj[t].addr ^ 0x40;
  return m->junk[j];
}

static void fill_payload(world_t *w, uint32_t id)
{
  pass_fixed(w, id, NULL);
  pass_elements(w, id, NULL);
}

static void op_alloc(world_t *w)
{
  if (w->n == w->cap)
    return;
  uint32_t id = (uint32_t)w->n++;
  mobj_t *m = &w->obj[id];
  int roll = (int)(test_rand(&w->rng) % (uint64_t)w->total_weight), ty = 0;
  while (roll >= tdefs[ty].weight)
    roll -= tdefs[ty++].weight;
  m->ty = (uint8_t)ty;
  const tdef_t *d = &tdefs[ty];
  m->len = d->esize ? test_range(&w->rng, 0, d->maxlen) : 0;
  /* The first array of a type that has a big length is big, so even a
     scaled-down run makes one. */
  if (d->biglen && w->r->bigs > 0 && (w->r->bigs_made == 0 || test_rand(&w->rng) % 100 == 0) &&
      w->r->bigs_made < (size_t)w->r->bigs) {
    m->len = d->biglen;
    w->r->bigs_made++;
  }
  m->nslots = d->nrefs + m->len * d->erefs;
  m->edge = malloc((m->nslots ? m->nslots : 1) * sizeof *m->edge);
  T_CHECK(m->edge != NULL, "no memory for the model");
  for (size_t j = 0; j < NJUNK; j++)
    m->junk_id[j] = -1;
  void *p;
  kiln_ap_t ap = w->aps[test_rand(&w->rng) % (uint64_t)w->npools];
  kiln_res_t res = kiln_desc_alloc(&p, ap, w->types[ty], m->len);
  T_CHECK(res == KILN_OK, "kiln_desc_alloc %s[%zu]: %s", d->name, m->len, kiln_res_name(res));
  after_gc(w, "after an allocation");
  T_CHECK(kiln_desc_type(p) == w->types[ty] && kiln_desc_length(p) == m->len,
          "kiln_desc_alloc: a fresh %s has the wrong header", d->name);
  for (size_t k = 0; k < m->nslots; k++)
    T_CHECK(*kiln_desc_slot(p, k) == NULL, "kiln_desc_alloc: %s slot %zu not NULL", d->name, k);
  m->addr = p;
  fill_payload(w, id);
  /* References: 2 in 3 slots, but 1 in 8 of a big array's, to keep it
     cheap to verify. */
  uint64_t in = m->len > 1000 ? 1 : 2, of = m->len > 1000 ? 8 : 3;
  for (size_t k = 0; k < m->nslots; k++) {
    int use = w->nreach > 0 && test_rand(&w->rng) % of < in;
    set_slot(w, id, k, use ? (int32_t)pick(w) : -1);
  }
  /* Link it: a root, or a slot of a reachable object. */
  uint32_t parent = w->nreach > 0 ? pick(w) : 0;
  if (w->nreach == 0 || w->obj[parent].nslots == 0 || test_rand(&w->rng) % 2 == 0) {
    int slot = (int)(test_rand(&w->rng) % NROOTS);
    w->mroot[slot] = (int32_t)id;
    w->roots[slot] = p;
  } else {
    set_slot(w, parent, test_rand(&w->rng) % w->obj[parent].nslots, (int32_t)id);
  }
  w->reach[w->nreach++] = id;
}

static void op_mutate(world_t *w)
{
  if (w->nreach == 0)
    return;
  uint32_t id = pick(w);
  if (w->obj[id].nslots == 0)
    return;
  size_t k = test_rand(&w->rng) % w->obj[id].nslots;
  set_slot(w, id, k, test_rand(&w->rng) % 4 == 0 ? -1 : (int32_t)pick(w));
}

static uint64_t pools_live(world_t *w, size_t *bytes_o)
{
  uint64_t n = 0;
  size_t bytes = 0;
  for (int i = 0; i < w->npools; i++) {
    kiln_pool_stats_t ps;
    kiln_pool_stats(w->pools[i], &ps);
    n += ps.live_objects;
    bytes += ps.live;
  }
  if (bytes_o != NULL)
    *bytes_o = bytes;
  return n;
}

static size_t model_bytes(world_t *w)
{
  size_t b = 0;
  for (size_t i = 0; i < w->nreach; i++)
    b += kiln_desc_size(w->types[w->obj[w->reach[i]].ty], w->obj[w->reach[i]].len);
  return b;
}

static void full_collect(world_t *w)
{
  kiln_arena_collect(w->arena);
  after_gc(w, "after an explicit collection");
  size_t live_bytes, want = model_bytes(w);
  uint64_t live = pools_live(w, &live_bytes);
  T_CHECK(live == w->nreach, "%s: the pools say %llu objects live, the model %zu",
          w->r->cfg->name, (unsigned long long)live, w->nreach);
  /* Live bytes: the model's, plus at most a grain of rounding per object. */
  T_CHECK(live_bytes >= want && live_bytes <= want + 16 * w->nreach,
          "%s: the pools say %zu bytes live, the model %zu", w->r->cfg->name, live_bytes, want);
  w->r->trace[w->r->ntrace++] = w->nreach;
}

static void make_types(world_t *w)
{
  for (int i = 0; i < NTYPES; i++) {
    const tdef_t *d = &tdefs[i];
    kiln_type_spec_t s = SPEC(d->name, d->size, d->nrefs, d->refs, d->esize, d->erefs);
    if (i == TY_CUSTOM) {
      s.data = &w->r->custom;
      s.scan = w->r->custom_scan ? custom_scan : NULL;
    }
    ck_assert_ok(kiln_type_create(&w->types[i], &s));
    w->total_weight += d->weight;
  }
}

static void world_open(world_t *w, drun_t *r)
{
  memset(w, 0, sizeof *w);
  w->r = r;
  w->rng = r->seed;
  kiln_arg_t stress[] = {KILN_ARG_SIZE("stress", 1), KILN_ARGS_END};
  kiln_arg_t budget[] = {KILN_ARG_SIZE("budget_min", 256 << 10), KILN_ARG_NUM("growth", 1.5),
                         KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&w->arena, r->stress ? stress : budget));
  ck_assert_ok(kiln_fmt_create(&w->fmt, w->arena, kiln_desc_format()));
  w->npools = r->cfg->make_pools(w->arena, w->fmt, w->pools);
  for (int i = 0; i < w->npools; i++)
    ck_assert_ok(kiln_ap_create(&w->aps[i], w->pools[i], NULL));
  make_types(w);
  w->cap = r->steps + 1;
  w->obj = calloc(w->cap, sizeof *w->obj);
  w->reach = calloc(w->cap, sizeof *w->reach);
  w->queue = calloc(w->cap, sizeof *w->queue);
  w->seen = calloc(w->cap, 1);
  r->trace = calloc(r->steps + 2, sizeof *r->trace);
  ck_assert(w->obj && w->reach && w->queue && w->seen && r->trace);
  for (int i = 0; i < NROOTS; i++)
    w->mroot[i] = -1;
  w->root = exact_area(w->arena, w->roots, NROOTS);
}

static void world_close(world_t *w)
{
  kiln_stats_t st = astats(w->arena);
  w->r->collections = st.collections;
  kiln_root_destroy(w->root);
  for (int i = 0; i < w->npools; i++)
    kiln_ap_destroy(w->aps[i]);
  for (int i = 0; i < w->npools; i++)
    kiln_pool_destroy(w->pools[i]); /* the nursery (pools[0]) before what it promotes to */
  kiln_fmt_destroy(w->fmt);
  kiln_arena_destroy(w->arena);
  for (int i = 0; i < NTYPES; i++)
    kiln_type_destroy(w->types[i]); /* after the heap */
  for (size_t i = 0; i < w->n; i++)
    free(w->obj[i].edge);
  free(w->obj);
  free(w->reach);
  free(w->queue);
  free(w->seen);
}

/* Everything unrooted: nothing stays live and the pools give memory back. */
static void check_all_reclaimed(world_t *w)
{
  size_t peak = 0, after = 0;
  for (int i = 0; i < w->npools; i++) {
    kiln_pool_stats_t ps;
    kiln_pool_stats(w->pools[i], &ps);
    peak += ps.committed;
  }
  for (int i = 0; i < NROOTS; i++) {
    w->roots[i] = NULL;
    w->mroot[i] = -1;
  }
  kiln_arena_collect(w->arena);
  after_gc(w, "after unrooting everything");
  ck_assert_uint_eq(w->nreach, 0);
  size_t bytes;
  ck_assert_uint_eq(pools_live(w, &bytes), 0);
  ck_assert_uint_eq(bytes, 0);
  for (int i = 0; i < w->npools; i++) {
    kiln_pool_stats_t ps;
    kiln_pool_stats(w->pools[i], &ps);
    after += ps.committed;
  }
  /* What is left: at most an AP's current segment per pool (and a nursery). */
  ck_assert_msg(after <= (size_t)w->npools * (512u << 10),
                "%s: %zu bytes still committed (%zu before)", w->r->cfg->name, after, peak);
}

static void drun(drun_t *r)
{
  world_t w;
  world_open(&w, r);
  size_t allocs = 0;
  for (size_t step = 0; step < r->steps; step++) {
    uint64_t dice = test_rand(&w.rng) % 100;
    if (dice < 55) {
      op_alloc(&w);
      if (r->collect_every && ++allocs % r->collect_every == 0)
        full_collect(&w);
    } else if (dice < 85) {
      op_mutate(&w);
    } else if (dice < 97) {
      int slot = (int)(test_rand(&w.rng) % NROOTS);
      w.mroot[slot] = -1;
      w.roots[slot] = NULL;
    } else if (dice < 98) {
      full_collect(&w);
    }
  }
  full_collect(&w);
  check_all_reclaimed(&w);
  world_close(&w);
}

static const uint64_t seeds[] = {0xD35C, 0xD35D};

START_TEST(test_graph)
{
  const dcfg_t *cfg = &configs[_i % NCONFIGS];
  drun_t r = {.cfg = cfg, .steps = test_scale(6000), .collect_every = 61, .custom_scan = 1,
              .bigs = 3, .seed = test_seed(seeds[_i / NCONFIGS])};
  drun(&r);
  ck_assert_uint_gt(r.verified, test_scale(20)); /* the steps are scaled too */
  ck_assert_uint_gt(r.max_reach, test_scale(200));
  ck_assert_uint_gt(r.bigs_made, 0);
  ck_assert_uint_gt(r.custom.calls, 0);
  ck_assert_uint_eq(r.custom.bad_extent, 0);
  if (cfg->moving) {
    ck_assert_uint_gt(r.moved, test_scale(100));
    ck_assert_uint_gt(r.stale_junk, 0); /* raw words outlived the objects' moves */
  }
  free(r.trace);
}
END_TEST

START_TEST(test_graph_stress)
{
  const dcfg_t *cfg = &configs[_i];
  drun_t r = {.cfg = cfg, .steps = test_scale(2500), .stress = 1, .custom_scan = 1,
              .seed = test_seed(seeds[0] + 7)};
  drun(&r);
  ck_assert_uint_gt(r.collections, test_scale(500));
  ck_assert_uint_gt(r.verified, test_scale(500));
  /* Raw words are written after the collection the allocation caused, so
     under stress they name objects that already survived one: only a
     pool that moves those again makes them stale. */
  if (cfg->old_moves)
    ck_assert_uint_gt(r.stale_junk, 0);
  free(r.trace);
}
END_TEST

/* ---- 4. a type with its own scan ------------------------------------------ */

/* The same seeded run twice, the custom type described once by its refs
   and once by its scan function: the same objects must survive every
   collection, and the function must have been called. */
START_TEST(test_custom_scan_same_survivors)
{
  const dcfg_t *cfg = &configs[_i];
  drun_t a = {.cfg = cfg, .steps = test_scale(4000), .collect_every = 53,
              .seed = test_seed(seeds[1] + 3)};
  drun_t b = a;
  b.custom_scan = 1;
  drun(&a);
  drun(&b);
  ck_assert_uint_eq(a.custom.calls, 0);
  ck_assert_uint_gt(b.custom.calls, 0);
  ck_assert_uint_eq(b.custom.bad_extent, 0);
  ck_assert_uint_eq(a.ntrace, b.ntrace);
  ck_assert_uint_gt(a.ntrace, test_scale(10));
  for (size_t i = 0; i < a.ntrace; i++)
    T_CHECK(a.trace[i] == b.trace[i], "collection %zu: %llu survivors by descriptor, %llu by "
            "the scan function", i, (unsigned long long)a.trace[i],
            (unsigned long long)b.trace[i]);
  free(a.trace);
  free(b.trace);
}
END_TEST

/* ---- 5. padding and forwarding in the copy pool ---------------------------- */

/* A copy pool with one segment pinned by an ambiguous reference: its dead
   runs become pads, the rest is evacuated through forwarding markers. Then
   a collection of a second copy pool scans the pinned segment as a root,
   stepping over the pads, and must update the references it holds. */
START_TEST(test_copy_pads_and_forwards)
{
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t a, b;
  kiln_ap_t apa, apb;
  static void *roots[256], *amb[1];
  kiln_root_t rexact, ramb;
  memset(roots, 0, sizeof roots);
  fmt = arena_with_format(&arena, kiln_desc_format());
  kiln_arg_t args[] = {KILN_ARG_PTR("format", fmt), KILN_ARG_SIZE("segment_size", 16 << 10),
                       KILN_ARG_SIZE("large_size", 4 << 10), KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&a, arena, kiln_class_copy(), args));
  ck_assert_ok(kiln_pool_create(&b, arena, kiln_class_copy(), args));
  ck_assert_ok(kiln_ap_create(&apa, a, NULL));
  ck_assert_ok(kiln_ap_create(&apb, b, NULL));
  rexact = exact_area(arena, roots, 256);
  ck_assert_ok(kiln_root_create_area(&ramb, arena, amb, amb + 1, KILN_RANK_AMBIG));
  kiln_type_t node = mk("node", 16, 1, NULL, 0, 0);      /* ref, id */
  kiln_type_t blob = mk("blob", 8, 0, NULL, 1, 0);       /* id, bytes */
  kiln_type_t target = mk("target", 8, 0, NULL, 0, 0);   /* id */
  kiln_arena_park(arena);
  /* Pool a: mixed sizes; every 7th a node holding a b object, kept by an
     exact root; the 20th object is pinned (interior pointer). */
  uint64_t rng = test_seed(0xFAD);
  void *pinned = NULL, *first = NULL;
  size_t nkept = 0;
  for (uint64_t i = 0; i < 1400; i++) {
    void *o;
    if (i % 7 == 0 || i == 20) {
      ck_assert_ok(kiln_desc_alloc(&o, apa, node, 0));
      void *t;
      ck_assert_ok(kiln_desc_alloc(&t, apb, target, 0));
      ((uint64_t *)kiln_desc_fixed(t))[0] = i;
      ((uint64_t *)kiln_desc_fixed(o))[1] = i;
      kiln_write(arena, o, kiln_desc_slot(o, 0), t);
      if (i % 7 == 0 && nkept < 200)
        roots[nkept++] = o;
    } else {
      size_t len = test_range(&rng, 0, 700);
      ck_assert_ok(kiln_desc_alloc(&o, apa, blob, len));
      ((uint64_t *)kiln_desc_fixed(o))[0] = i;
    }
    if (i == 0)
      first = o;
    if (i == 20)
      pinned = o;
  }
  amb[0] = (char *)pinned + 12;
  roots[255] = roots[1];  /* one object, two roots: one copy, both updated */
  void *before[200];
  memcpy(before, roots, sizeof before);
  kiln_arena_release(arena);
  kiln_arena_collect(arena);
  /* The pinned segment: from its base, skip goes over pads and objects and
     lands exactly on the pinned object and on the survivors after it. */
  seg_t seg = arena_seg_of(arena, pinned);
  ck_assert_ptr_nonnull(seg);
  ck_assert_ptr_eq(arena_seg_of(arena, first), seg); /* the first object shares it */
  const kiln_format_t *f = kiln_desc_format();
  size_t pads = 0, objs = 0;
  char *p = (char *)seg->base;
  for (; p < (char *)pinned; p = f->skip(p)) {
    T_CHECK(f->isfwd(p) == NULL, "a forwarding marker left in a kept segment at %p", (void *)p);
    if (kiln_desc_type(p) == NULL)
      pads++;
    else
      objs++;
  }
  ck_assert_ptr_eq(p, pinned);
  ck_assert_uint_gt(pads, 0);
  ck_assert_ptr_eq(kiln_desc_type(pinned), node);
  ck_assert_uint_eq(((uint64_t *)kiln_desc_fixed(pinned))[1], 20);
  /* Objects kept in the pinned segment stay; the others moved, once. */
  size_t moved = 0;
  for (size_t k = 0; k < nkept; k++) {
    void *o = roots[k];
    T_CHECK(kiln_desc_type(o) == node && ((uint64_t *)kiln_desc_fixed(o))[1] == k * 7,
            "root %zu lost", k);
    moved += o != before[k];
    T_CHECK(arena_seg_of(arena, o) != seg || o == before[k], "root %zu moved within a pinned "
            "segment", k);
  }
  ck_assert_uint_gt(moved, 100);
  ck_assert_ptr_eq(roots[255], roots[1]);
  /* Collect b alone: a's segments, pads included, are its roots. */
  void *targets[200];
  for (size_t k = 0; k < nkept; k++)
    targets[k] = *kiln_desc_slot(roots[k], 0);
  void *pinned_target = *kiln_desc_slot(pinned, 0);
  kiln_pool_collect(b);
  size_t tmoved = 0;
  for (size_t k = 0; k < nkept; k++) {
    void *t = *kiln_desc_slot(roots[k], 0);
    T_CHECK(kiln_desc_type(t) == target && ((uint64_t *)kiln_desc_fixed(t))[0] == k * 7,
            "target of root %zu lost", k);
    tmoved += t != targets[k];
  }
  ck_assert_uint_gt(tmoved, 100);
  void *pt = *kiln_desc_slot(pinned, 0);
  ck_assert_ptr_ne(pt, pinned_target);
  ck_assert(kiln_desc_type(pt) == target && ((uint64_t *)kiln_desc_fixed(pt))[0] == 20);
  kiln_pool_stats_t ps;
  kiln_pool_stats(b, &ps);
  /* b holds the kept nodes' targets and the pinned node's, nothing else. */
  ck_assert_uint_eq(ps.live_objects, nkept + 1);
  /* Unpinned, the segment is evacuated too; everything is still intact. */
  amb[0] = NULL;
  kiln_arena_collect(arena);
  for (size_t k = 0; k < nkept; k++) {
    void *o = roots[k], *t = *kiln_desc_slot(o, 0);
    T_CHECK(kiln_desc_type(o) == node && ((uint64_t *)kiln_desc_fixed(o))[1] == k * 7 &&
                kiln_desc_type(t) == target && ((uint64_t *)kiln_desc_fixed(t))[0] == k * 7,
            "root %zu or its target lost after unpinning", k);
  }
  kiln_pool_stats(a, &ps);
  ck_assert_uint_eq(ps.live_objects, nkept);
  kiln_root_destroy(ramb);
  kiln_root_destroy(rexact);
  kiln_ap_destroy(apa);
  kiln_ap_destroy(apb);
  kiln_pool_destroy(a);
  kiln_pool_destroy(b);
  kiln_fmt_destroy(fmt);
  kiln_arena_destroy(arena);
  kiln_type_destroy(node);
  kiln_type_destroy(blob);
  kiln_type_destroy(target);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("desc");
  TCase *v = suite_add_case(s, "validate", 0);
  tcase_add_loop_test(v, test_bad_spec, 0, (int)(sizeof bad_specs / sizeof bad_specs[0]));
  tcase_add_test(v, test_good_specs);
  tcase_add_test(v, test_name_copied_data_kept);
  TCase *a = suite_add_case(s, "accessors", 0);
  tcase_add_test(a, test_sizes);
  tcase_add_test(a, test_accessors_fixed);
  tcase_add_test(a, test_accessors_array);
  tcase_add_test(a, test_markers);
  tcase_add_test(a, test_alloc_errors);
  TCase *g = suite_add_case(s, "graph", 300);
  tcase_add_loop_test(g, test_graph, 0, 2 * NCONFIGS);
  tcase_add_loop_test(g, test_graph_stress, 0, NCONFIGS);
  TCase *c = suite_add_case(s, "custom-scan", 300);
  tcase_add_loop_test(c, test_custom_scan_same_survivors, 0, NCONFIGS);
  TCase *p = suite_add_case(s, "pad-forward", 0);
  tcase_add_test(p, test_copy_pads_and_forwards);
  return s;
}
