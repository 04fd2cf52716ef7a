/* test_params.c -- parameter validation through kiln_pool_create for the
 * manual pools (unknown keys with a suggestion, wrong types, ranges, keys
 * given twice, relations checked by the classes; a huge unknown key, a
 * NaN), the class tables, and kiln_alloc's answers to bad pools and sizes.
 * Every error is asserted on its exact text: it is what a user reads. */
#include "config.h"
#include "testlib.h"
#include "param.h"
#include "pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static kiln_arena_t arena;

static void setup(void)
{
  kiln_arg_t args[] = {KILN_ARG_SIZE("reserve", (size_t)1 << 30), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&arena, args));
}

static void teardown(void)
{
  kiln_arena_destroy(arena);
  arena = NULL;
}

/* One case: a class, its arguments, and the sentence it must produce. */
typedef struct bad_s {
  const char *klass;
  kiln_arg_t args[3];
  const char *error;
} bad_t;

static const bad_t bad[] = {
  /* unknown keys, with and without a near one */
  {"mfs", {KILN_ARG_SIZE("unit_sise", 64), KILN_ARGS_END},
   "pool class 'mfs': unknown parameter 'unit_sise' (did you mean 'unit_size'?)"},
  {"mfs", {KILN_ARG_SIZE("extendby", 1 << 16), KILN_ARGS_END},
   "pool class 'mfs': unknown parameter 'extendby' (did you mean 'extend_by'?)"},
  {"mvff", {KILN_ARG_SIZE("alin", 16), KILN_ARGS_END},
   "pool class 'mvff': unknown parameter 'alin' (did you mean 'align'?)"},
  {"mvff", {KILN_ARG_SIZE("large_sise", 4096), KILN_ARGS_END},
   "pool class 'mvff': unknown parameter 'large_sise' (did you mean 'large_size'?)"},
  /* the rule plans use too (kiln_nearest_name): a truncated name is near */
  {"mfs", {KILN_ARG_SIZE("extend", 1 << 16), KILN_ARGS_END},
   "pool class 'mfs': unknown parameter 'extend' (did you mean 'extend_by'?)"},
  {"mvff", {KILN_ARG_STR("colour", "blue"), KILN_ARGS_END},
   "pool class 'mvff': unknown parameter 'colour' (valid: align, ...)"},
  /* wrong types */
  {"mfs", {KILN_ARG_STR("unit_size", "64"), KILN_ARGS_END},
   "pool class 'mfs': parameter 'unit_size' must be a size, not a string"},
  {"mvff", {KILN_ARG_NUM("cache", 3.0), KILN_ARGS_END},
   "pool class 'mvff': parameter 'cache' must be a size, not a number"},
  {"mvff", {KILN_ARG_BOOL("align", 1), KILN_ARGS_END},
   "pool class 'mvff': parameter 'align' must be a size, not a boolean"},
  /* out of range */
  {"mfs", {KILN_ARG_SIZE("unit_size", 0), KILN_ARGS_END},
   "pool class 'mfs': parameter 'unit_size' is 0, outside 1..1048576"},
  {"mfs", {KILN_ARG_SIZE("extend_by", 100), KILN_ARGS_END},
   "pool class 'mfs': parameter 'extend_by' is 100, outside 4096..1073741824"},
  {"mvff", {KILN_ARG_SIZE("align", 4), KILN_ARGS_END},
   "pool class 'mvff': parameter 'align' is 4, outside 8..4096"},
  {"mvff", {KILN_ARG_SIZE("align", 8192), KILN_ARGS_END},
   "pool class 'mvff': parameter 'align' is 8192, outside 8..4096"},
  {"mvff", {KILN_ARG_SIZE("cache", 2 << 20), KILN_ARGS_END},
   "pool class 'mvff': parameter 'cache' is 2097152, outside 0..1048576"},
  /* given twice */
  {"mfs", {KILN_ARG_SIZE("unit_size", 8), KILN_ARG_SIZE("unit_size", 16), KILN_ARGS_END},
   "pool class 'mfs': parameter 'unit_size' given twice"},
  {"mvff", {KILN_ARG_SIZE("align", 8), KILN_ARG_SIZE("align", 8), KILN_ARGS_END},
   "pool class 'mvff': parameter 'align' given twice"},
  /* relations the classes check */
  {"mvff", {KILN_ARG_SIZE("align", 24), KILN_ARGS_END},
   "pool class 'mvff': parameter 'align' is 24, not a power of two"},
  {"mvff", {KILN_ARG_SIZE("large_size", 128 << 10), KILN_ARGS_END},
   "pool class 'mvff': large_size (131072) is larger than extend_by (65536); every small block "
   "must fit in one segment"},
  {"mfs", {KILN_ARG_SIZE("unit_size", 8192), KILN_ARG_SIZE("extend_by", 4096), KILN_ARGS_END},
   "pool class 'mfs': extend_by (4096) is smaller than unit_size (8192)"},
};

START_TEST(test_bad_args)
{
  const bad_t *b = &bad[_i];
  kiln_pool_t pool = NULL;
  ck_assert_res(kiln_pool_create(&pool, arena, kiln_class_lookup(b->klass), b->args), KILN_PARAM);
  ck_assert_ptr_null(pool);
  ck_assert_str_eq(kiln_arena_error(arena), b->error);
  kiln_stats_t s = astats(arena);
  ck_assert_uint_eq(s.pools, 0); /* a failed create leaves nothing behind */
  ck_assert_uint_eq(s.committed, 0);
}
END_TEST

/* An unknown key of any length: the suggestion search skips it, and the
   sentence repeats only its first 62 bytes. */
START_TEST(test_long_unknown_key)
{
  size_t len = 300000;
  char *key = malloc(len + 1);
  ck_assert_ptr_nonnull(key);
  memset(key, 'x', len);
  key[len] = '\0';
  kiln_arg_t args[] = {KILN_ARG_SIZE(key, 64), KILN_ARGS_END};
  kiln_pool_t pool = NULL;
  ck_assert_res(kiln_pool_create(&pool, arena, kiln_class_mfs(), args), KILN_PARAM);
  char want[160];
  snprintf(want, sizeof want, "pool class 'mfs': unknown parameter '%.62s...' (valid: unit_size, ...)",
           key);
  ck_assert_str_eq(kiln_arena_error(arena), want);
  free(key);
}
END_TEST

/* A NaN reads "nan" whatever its sign bit (printf says "-nan" for 0.0/0.0
   on x86-64). */
START_TEST(test_nan_number)
{
  volatile double zero = 0.0;
  kiln_arg_t args[] = {KILN_ARG_NUM("growth", zero / zero), KILN_ARGS_END};
  kiln_arena_t a = NULL;
  ck_assert_res(kiln_arena_create(&a, args), KILN_PARAM);
  ck_assert_ptr_null(a);
  ck_assert_str_eq(kiln_arena_error(NULL), "arena: parameter 'growth' is not a number (nan)");
}
END_TEST

START_TEST(test_good_args)
{
  kiln_pool_t a, b, c;
  ck_assert_ok(kiln_pool_create(&a, arena, kiln_class_mfs(), NULL));
  kiln_arg_t mfs_args[] = {KILN_ARG_SIZE("unit_size", 1), KILN_ARG_SIZE("extend_by", 4096),
                           KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&b, arena, kiln_class_mfs(), mfs_args));
  kiln_arg_t mvff_args[] = {KILN_ARG_SIZE("align", 4096), KILN_ARG_SIZE("extend_by", 1 << 20),
                            KILN_ARG_SIZE("large_size", 1 << 20), KILN_ARG_SIZE("cache", 0),
                            KILN_ARGS_END};
  ck_assert_ok(kiln_pool_create(&c, arena, kiln_class_mvff(), mvff_args));
  ck_assert_ptr_eq(kiln_pool_class(c), kiln_class_mvff());
  ck_assert_ptr_eq(kiln_pool_arena(c), arena);
  kiln_pool_destroy(a);
  kiln_pool_destroy(b);
  kiln_pool_destroy(c);
}
END_TEST

START_TEST(test_create_misuse)
{
  kiln_pool_t pool;
  ck_assert_res(kiln_pool_create(&pool, arena, NULL, NULL), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena),
                   "kiln_pool_create: the class (not built, or lookup failed) is NULL");
  ck_assert_res(kiln_pool_create(NULL, arena, kiln_class_mfs(), NULL), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena), "kiln_pool_create: pool_o is NULL");
  ck_assert_res(kiln_pool_create(&pool, NULL, kiln_class_mfs(), NULL), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL), "kiln_pool_create: not an arena");
}
END_TEST

/* ---- default text -------------------------------------------------------- */

/* Sizes: integers, decimals and units read without strtod (param.c), other
   forms through it, blanks around the number and the unit; what is not a
   whole number of bytes, or is signed, infinite or not a number, is
   refused. */
static const struct {
  const char *text;
  long long bytes; /* -1: refused */
} sizes[] = {
  {"4096", 4096}, {"0", 0}, {"64KB", 65536}, {"64kb", 65536}, {"64 KB", 65536},
  {"1.5MB", 1572864}, {".5KB", 512}, {"16GB", 16LL << 30}, {"2TB", 2LL << 40}, {"7B", 7},
  {"1e3", 1000}, {"0x10", 16}, {"2.", 2}, {"1.5", -1}, {"-1", -1}, {"", -1}, {"KB", -1},
  {"12XB", -1}, {"12KBB", -1}, {"12K", -1}, {"99999999999999999999999", -1},
  {" 64 KB ", 65536}, {"\t2mb", 2 << 20}, {"inf", -1}, {"nan", -1}, {"+4", -1}, {"4 4", -1},
};

START_TEST(test_parse_size)
{
  size_t got = 0;
  int res = param_parse_size(sizes[_i].text, &got);
  if (sizes[_i].bytes < 0)
    ck_assert_msg(res != 0, "'%s' parsed as %zu", sizes[_i].text, got);
  else
    ck_assert_msg(res == 0 && got == (size_t)sizes[_i].bytes, "'%s': %d, %zu", sizes[_i].text,
                  res, got);
}
END_TEST

/* kiln_size_value, the one size reader of the library, the plans and the
   Lua module: the value as written, the checks left to the caller. */
START_TEST(test_size_value)
{
  double v = -1;
  ck_assert_res(kiln_size_value("1.5 kb", &v), KILN_OK);
  ck_assert(v == 1536.0);
  ck_assert_res(kiln_size_value(" 0.25B ", &v), KILN_OK);
  ck_assert(v == 0.25);
  ck_assert_res(kiln_size_value("1e30TB", &v), KILN_OK);
  ck_assert(v > 1e42);
  v = -1;
  ck_assert_res(kiln_size_value("-4MB", &v), KILN_PARAM);
  ck_assert_res(kiln_size_value("4 MiB", &v), KILN_PARAM);
  ck_assert_res(kiln_size_value("MB", &v), KILN_PARAM);
  ck_assert_res(kiln_size_value(NULL, &v), KILN_PARAM);
  ck_assert(v == -1); /* untouched by a refusal */
}
END_TEST

/* kiln_nearest_name, the one did-you-mean of the library and the plans. */
START_TEST(test_nearest_name)
{
  static const char *const names[] = {"nursery_size", NULL, "promote_to", "ms", "mvff"};
  ck_assert_str_eq(kiln_nearest_name("nursry_size", names, 5), "nursery_size");
  ck_assert_str_eq(kiln_nearest_name("PROMOTE_TO", names, 5), "promote_to"); /* case */
  ck_assert_str_eq(kiln_nearest_name("mvf", names, 5), "mvff"); /* prefix beats "ms" */
  ck_assert_str_eq(kiln_nearest_name("m", names, 5), "ms");
  ck_assert_ptr_null(kiln_nearest_name("colour", names, 5));
  ck_assert_ptr_null(kiln_nearest_name("", names, 5));
  ck_assert_ptr_null(kiln_nearest_name(NULL, names, 5));
  ck_assert_ptr_null(kiln_nearest_name("ms", NULL, 5));
  /* bounded: a word longer than 32 bytes is not compared */
  ck_assert_ptr_null(kiln_nearest_name("nursery_size_nursery_size_nursery_size", names, 5));
}
END_TEST

/* Number defaults are exactly what strtod reads, however they are parsed. */
START_TEST(test_number_defaults_exact)
{
  static const char *const texts[] = {"2.0", "1.05", "0.1", "1000", "123456789.123456",
                                      "1234567890.1234567", "3e-2", "0.000001"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    kiln_param_t table[] = {{"x", KILN_ARGT_NUM, texts[i], 0, 0, "test"},
                            {NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};
    pval_t v[1];
    char err[100];
    ck_assert_ok(param_resolve(v, table, NULL, "test", NULL, err, sizeof err));
    ck_assert_msg(v[0].num == strtod(texts[i], NULL), "'%s' read as %.17g", texts[i], v[0].num);
  }
}
END_TEST

/* ---- class tables ------------------------------------------------------- */

/* The default text parses as the parameter's type and lies in its range. */
static void check_default(const char *owner, const kiln_param_t *p)
{
  double v = 0;
  char *end;
  size_t size;
  switch (p->type) {
  case KILN_ARGT_SIZE:
    ck_assert_msg(param_parse_size(p->def, &size) == 0, "%s.%s: default '%s' is not a size",
                  owner, p->key, p->def ? p->def : "(null)");
    v = (double)size;
    break;
  case KILN_ARGT_NUM:
    ck_assert_ptr_nonnull(p->def);
    v = strtod(p->def, &end);
    ck_assert_msg(end != p->def && *end == '\0', "%s.%s: default '%s' is not a number", owner,
                  p->key, p->def);
    break;
  case KILN_ARGT_BOOL:
    ck_assert_msg(p->def != NULL && (!strcmp(p->def, "true") || !strcmp(p->def, "false")),
                  "%s.%s: default is not true or false", owner, p->key);
    return;
  case KILN_ARGT_STR:
    ck_assert_msg(p->def != NULL, "%s.%s: a string parameter needs a default", owner, p->key);
    return;
  case KILN_ARGT_PTR:
    return; /* formats and pools: no default but none */
  default:
    ck_abort_msg("%s.%s: type %d is not a parameter type", owner, p->key, (int)p->type);
  }
  ck_assert_msg(v >= p->min && (p->max == 0 || v <= p->max),
                "%s.%s: default %s is outside %g..%g", owner, p->key, p->def, p->min, p->max);
}

static void check_table(const char *owner, const kiln_param_t *params)
{
  ck_assert_ptr_nonnull(params);
  size_t n = param_count(params);
  for (size_t i = 0; i < n; i++) {
    const kiln_param_t *p = &params[i];
    ck_assert_msg(p->key[0] != '\0', "%s: parameter %zu has an empty key", owner, i);
    ck_assert_msg(p->doc != NULL && strlen(p->doc) > 10, "%s.%s: no doc line", owner, p->key);
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(strcmp(params[j].key, p->key) != 0, "%s.%s: key twice", owner, p->key);
    check_default(owner, p);
  }
}

START_TEST(test_class_tables)
{
  const kiln_class_t *all = kiln_classes();
  ck_assert_ptr_nonnull(all);
  size_t n = 0;
  for (; all[n] != NULL; n++) {
    const char *name = kiln_class_name(all[n]);
    ck_assert_msg(name != NULL && name[0] != '\0', "class %zu has no name", n);
    ck_assert_ptr_eq(kiln_class_lookup(name), all[n]);
    ck_assert_msg(kiln_class_doc(all[n]) != NULL && kiln_class_doc(all[n])[0] != '\0',
                  "class %s has no doc", name);
    check_table(name, kiln_class_params(all[n]));
  }
  ck_assert_uint_ge(n, 2);
  check_table("arena", kiln_arena_params());
}
END_TEST

START_TEST(test_class_lookup)
{
  ck_assert_ptr_eq(kiln_class_lookup("mfs"), kiln_class_mfs());
  ck_assert_ptr_eq(kiln_class_lookup("mvff"), kiln_class_mvff());
  ck_assert_str_eq(kiln_class_name(kiln_class_mfs()), "mfs");
  ck_assert_str_eq(kiln_class_name(kiln_class_mvff()), "mvff");
  ck_assert(!kiln_class_is_automatic(kiln_class_mfs()));
  ck_assert(!kiln_class_is_automatic(kiln_class_mvff()));
  ck_assert_ptr_null(kiln_class_lookup("mvf"));
  ck_assert_ptr_null(kiln_class_lookup("MFS"));
  ck_assert_ptr_null(kiln_class_lookup(""));
  ck_assert_ptr_null(kiln_class_lookup(NULL));
  ck_assert_ptr_null(kiln_class_name(NULL));
  ck_assert_ptr_null(kiln_class_params(NULL));
  /* The manual pools' parameters, in table order. */
  const kiln_param_t *p = kiln_class_params(kiln_class_mfs());
  ck_assert_str_eq(p[0].key, "unit_size");
  ck_assert_str_eq(p[1].key, "extend_by");
  ck_assert_ptr_null(p[2].key);
  p = kiln_class_params(kiln_class_mvff());
  ck_assert_str_eq(p[0].key, "align");
  ck_assert_str_eq(p[0].def, "16");
  ck_assert_str_eq(p[1].key, "extend_by");
  ck_assert_str_eq(p[2].key, "large_size");
  ck_assert_str_eq(p[3].key, "cache");
  ck_assert_ptr_null(p[4].key);
}
END_TEST

/* Every manual class works with its defaults alone. */
START_TEST(test_defaults_work)
{
  const kiln_class_t *all = kiln_classes();
  for (size_t i = 0; all[i] != NULL; i++) {
    if (kiln_class_is_automatic(all[i]))
      continue;
    kiln_pool_t pool;
    ck_assert_ok(kiln_pool_create(&pool, arena, all[i], NULL));
    void *p; /* 64: mfs's default unit, whose kiln_free wants the unit size */
    ck_assert_ok(kiln_alloc(&p, pool, 64));
    memset(p, 1, 64);
    kiln_free(pool, p, 64);
    kiln_pool_destroy(pool);
  }
}
END_TEST

/* ---- kiln_alloc on bad input --------------------------------------------- */

START_TEST(test_alloc_misuse)
{
  void *p = &p;
  ck_assert_res(kiln_alloc(&p, NULL, 16), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL), "kiln_alloc: not a pool");
  struct kiln_pool_s fake;
  memset(&fake, 0, sizeof fake);
  ck_assert_res(kiln_alloc(&p, &fake, 16), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(NULL), "kiln_alloc: not a pool");

  kiln_pool_t mvff, mfs;
  ck_assert_ok(kiln_pool_create(&mvff, arena, kiln_class_mvff(), NULL));
  ck_assert_ok(kiln_pool_create(&mfs, arena, kiln_class_mfs(), NULL));
  ck_assert_res(kiln_alloc(NULL, mvff, 16), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena), "kiln_alloc: p_o is NULL");
  ck_assert_res(kiln_alloc(&p, mvff, 0), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena), "kiln_alloc: size is 0 (pool class 'mvff')");
  ck_assert_res(kiln_alloc(&p, mfs, 65), KILN_PARAM);
  ck_assert_str_eq(kiln_arena_error(arena), "mfs: asked for 65 bytes; units are 64 bytes");
  ck_assert_res(kiln_alloc(&p, mfs, SIZE_MAX), KILN_PARAM);
  /* Sizes no segment can hold are a limit, never a crash or a wrap. */
  ck_assert_res(kiln_alloc(&p, mvff, SIZE_MAX), KILN_LIMIT);
  ck_assert_res(kiln_alloc(&p, mvff, SIZE_MAX - 4096), KILN_LIMIT);
  ck_assert_res(kiln_alloc(&p, mvff, (size_t)1 << 40), KILN_LIMIT);
  ck_assert_ptr_eq(p, &p); /* untouched by every failure */
  kiln_pool_stats_t s;
  kiln_pool_stats(mvff, &s);
  ck_assert_uint_eq(s.in_use, 0);
  ck_assert_uint_eq(s.committed, 0);
  kiln_free(mvff, NULL, 16); /* freeing NULL does nothing */
  kiln_pool_destroy(mvff);
  kiln_pool_destroy(mfs);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("params");
  TCase *tc = suite_add_case(s, "pool parameters", 0);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_bad_args, 0, (int)(sizeof bad / sizeof bad[0]));
  tcase_add_test(tc, test_long_unknown_key);
  tcase_add_test(tc, test_nan_number);
  tcase_add_test(tc, test_good_args);
  tcase_add_test(tc, test_create_misuse);
  tcase_add_test(tc, test_class_tables);
  tcase_add_loop_test(tc, test_parse_size, 0, (int)(sizeof sizes / sizeof sizes[0]));
  tcase_add_test(tc, test_size_value);
  tcase_add_test(tc, test_nearest_name);
  tcase_add_test(tc, test_number_defaults_exact);
  tcase_add_test(tc, test_class_lookup);
  tcase_add_test(tc, test_defaults_work);
  tcase_add_test(tc, test_alloc_misuse);
  return s;
}
