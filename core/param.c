/* param.c -- validation of keyword arguments against parameter tables.
 *
 * Every argument to kiln_arena_create and kiln_pool_create passes through
 * param_resolve: unknown keys get the nearest valid key (edit distance),
 * wrong types name the expected type, out-of-range values name the range.
 * Defaults are the tables' own text, parsed here, so `kiln describe` and the
 * behaviour can never disagree.
 */
#include "config.h"
#include "param.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Who is being configured, for error sentences: "arena", or a kind and a
   name ("pool class 'mvff'"). Kept apart and formatted only on failure, so
   a successful kiln_pool_create calls no printf-family function: on its
   own that brought about 128 KiB of the C library's formatting code into
   the resident set of a program that had not printed yet (bench/README.md). */
typedef struct who_s {
  const char *kind, *name;
} who_t;

static kiln_res_t fail(char *err, size_t errlen, who_t who, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static kiln_res_t fail(char *err, size_t errlen, who_t who, const char *fmt, ...)
{
  int n = who.name != NULL ? snprintf(err, errlen, "%s '%s': ", who.kind, who.name)
                           : snprintf(err, errlen, "%s: ", who.kind);
  if (n >= 0 && (size_t)n < errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return KILN_PARAM;
}

static const char *type_name(kiln_argtype_t t)
{
  switch (t) {
  case KILN_ARGT_SIZE: return "a size";
  case KILN_ARGT_NUM: return "a number";
  case KILN_ARGT_BOOL: return "a boolean";
  case KILN_ARGT_STR: return "a string";
  case KILN_ARGT_PTR: return "a pointer";
  default: return "nothing";
  }
}

size_t param_count(const kiln_param_t *params)
{
  size_t n = 0;
  while (params != NULL && params[n].key != NULL)
    n++;
  return n;
}

/* Defaults are parsed at every kiln_arena_create and kiln_pool_create, so
   the usual forms ("64KB", "2.0", "1.05") are read here rather than by
   strtod and strcasecmp, whose code is otherwise two more 64 KiB windows of
   the C library in the resident set of a program that never calls them
   (bench/README.md). Exact: at most 15 digits make an integer below 2^53,
   and dividing it by a power of ten up to 10^15 rounds once, as strtod
   does. Any other form goes to strtod. */
static double parse_number(const char *s, char **end_o)
{
  const char *p = s;
  double mant = 0, scale = 1;
  int digits = 0, frac = 0;
  for (; (*p >= '0' && *p <= '9') || (*p == '.' && !frac); p++) {
    if (*p == '.') {
      frac = 1;
      continue;
    }
    mant = mant * 10 + (*p - '0');
    digits++;
    if (frac)
      scale *= 10;
  }
  if (digits == 0 || digits > 15 || *p == 'e' || *p == 'E' || *p == 'x' || *p == 'X' ||
      p[-1] == '.')
    return strtod(s, end_o);
  *end_o = (char *)(uintptr_t)p; /* strtod's signature: the caller's own string */
  return mant / scale;
}

/* Are the n letters of s the ASCII unit u (upper case), ignoring case? */
static int unit_is_n(const char *s, const char *u, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if ((s[i] & ~0x20) != u[i])
      return 0;
  return 1;
}

static const char *skip_blanks(const char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* The multiple a unit names (its blanks after it included), 0 if none. */
static double unit_multiple(const char *u)
{
  static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
  char word[3];
  size_t n = 0;
  while (n < sizeof word && *u != '\0' && *u != ' ' && *u != '\t')
    word[n++] = *u++;
  if (*skip_blanks(u) != '\0')
    return 0;
  if (n == 0)
    return 1;
  double mult = 1;
  for (size_t i = 0; i < sizeof units / sizeof *units; i++, mult *= 1024.0) {
    if (strlen(units[i]) == n && unit_is_n(word, units[i], n))
      return mult;
  }
  return 0;
}

kiln_res_t kiln_size_value(const char *text, double *bytes_o)
{
  char *end;
  if (text == NULL)
    return KILN_PARAM;
  const char *s = skip_blanks(text);
  if (!((*s >= '0' && *s <= '9') || *s == '.'))
    return KILN_PARAM; /* no sign, no "inf" or "nan" */
  double v = parse_number(s, &end);
  if (end == s)
    return KILN_PARAM;
  double mult = unit_multiple(skip_blanks(end));
  if (mult == 0)
    return KILN_PARAM;
  *bytes_o = v * mult;
  return KILN_OK;
}

int param_parse_size(const char *s, size_t *size_o)
{
  double v;
  if (kiln_size_value(s, &v) != KILN_OK || v != v || v < 0 || v > 1.8e19
      || v != (double)(size_t)v)
    return -1;
  *size_o = (size_t)v;
  return 0;
}

/* A message repeats at most this many bytes of an unknown key. */
#define KEY_COMPARED_MAX 62

/* Words and names longer than this are not compared, and at most
   NAMES_COMPARED_MAX names are: the suggestion's work is bounded whatever
   a caller passes. */
#define NAME_COMPARED_MAX 32
#define NAMES_COMPARED_MAX 200

static int lower_ascii(int c)
{
  return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Levenshtein distance of a (la bytes) and b (lb bytes), ignoring ASCII
   case; both at most NAME_COMPARED_MAX bytes. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
  size_t row[NAME_COMPARED_MAX + 1];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j], best = diag + (lower_ascii(a[i - 1]) != lower_ascii(b[j - 1]));
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[lb];
}

/* Does one of a and b start with the other, ignoring ASCII case? */
static int either_prefix(const char *a, size_t la, const char *b, size_t lb)
{
  size_t n = la < lb ? la : lb;
  for (size_t i = 0; i < n; i++)
    if (lower_ascii(a[i]) != lower_ascii(b[i]))
      return 0;
  return 1;
}

/* Twice the distance of word to name, plus one unless one starts with the
   other (a truncated or extended name counts half an edit less); SIZE_MAX
   when name is NULL or too long to compare. */
static size_t name_score(const char *word, size_t lw, const char *name)
{
  size_t ln = name == NULL ? NAME_COMPARED_MAX + 1 : strnlen(name, NAME_COMPARED_MAX + 1);
  if (ln > NAME_COMPARED_MAX)
    return SIZE_MAX;
  return 2 * edit_distance(word, lw, name, ln) + 1 - (size_t)either_prefix(word, lw, name, ln);
}

const char *kiln_nearest_name(const char *word, const char *const names[], size_t n)
{
  size_t lw = word == NULL ? NAME_COMPARED_MAX + 1 : strnlen(word, NAME_COMPARED_MAX + 1);
  if (lw > NAME_COMPARED_MAX || names == NULL)
    return NULL;
  const char *best = NULL;
  size_t best_score = SIZE_MAX;
  for (size_t i = 0; i < n && i < NAMES_COMPARED_MAX; i++) {
    size_t score = name_score(word, lw, names[i]);
    if (score < best_score) {
      best_score = score;
      best = names[i];
    }
  }
  /* Near: fewer edits than the word has letters, and at most one for a
     word of four letters or fewer, else two plus one per six letters. */
  size_t allow = lw <= 4 ? 1 : 2 + lw / 6;
  return best != NULL && best_score < 2 * lw + 1 && best_score <= 2 * allow + 1 ? best : NULL;
}

static kiln_res_t unknown_key(const kiln_param_t *params, const char *key, who_t what,
                              char *err, size_t errlen)
{
  const char *names[64] = {NULL};
  size_t n = param_count(params);
  for (size_t i = 0; i < n && i < 64; i++)
    names[i] = params[i].key;
  const char *near = kiln_nearest_name(key, names, n < 64 ? n : 64);
  int shown = (int)strnlen(key, KEY_COMPARED_MAX + 1);
  const char *cut = shown > KEY_COMPARED_MAX ? "..." : "";
  if (shown > KEY_COMPARED_MAX)
    shown = KEY_COMPARED_MAX;
  if (near != NULL)
    return fail(err, errlen, what, "unknown parameter '%.*s%s' (did you mean '%s'?)", shown,
                key, cut, near);
  if (n == 0)
    return fail(err, errlen, what, "unknown parameter '%.*s%s' (it takes no parameters)", shown,
                key, cut);
  return fail(err, errlen, what, "unknown parameter '%.*s%s' (valid: %s%s)", shown, key, cut,
              params[0].key, n > 1 ? ", ..." : "");
}

static kiln_res_t check_range(const kiln_param_t *p, double v, who_t what, char *err,
                              size_t errlen)
{
  if (v < p->min || (p->max > 0 && v > p->max)) {
    if (p->max > 0)
      return fail(err, errlen, what, "parameter '%s' is %.17g, outside %.17g..%.17g", p->key, v,
                  p->min, p->max);
    return fail(err, errlen, what, "parameter '%s' is %.17g, below its minimum %.17g", p->key, v,
                p->min);
  }
  return KILN_OK;
}

/* Fill one value from the table's default text. */
static void set_default(pval_t *v, const kiln_param_t *p)
{
  memset(v, 0, sizeof *v);
  switch (p->type) {
  case KILN_ARGT_SIZE: (void)param_parse_size(p->def, &v->size); break;
  case KILN_ARGT_NUM: {
    char *end;
    v->num = p->def ? parse_number(p->def, &end) : 0;
    break;
  }
  case KILN_ARGT_BOOL: v->b = p->def && (strcmp(p->def, "true") == 0); break;
  case KILN_ARGT_STR: v->str = p->def; break;
  default: break;
  }
}

static kiln_res_t set_value(pval_t *v, const kiln_param_t *p, const kiln_arg_t *a,
                            who_t what, char *err, size_t errlen)
{
  if (a->type != p->type)
    return fail(err, errlen, what, "parameter '%s' must be %s, not %s", p->key,
                type_name(p->type), type_name(a->type));
  switch (p->type) {
  case KILN_ARGT_SIZE: v->size = a->size; return check_range(p, (double)a->size, what, err, errlen);
  case KILN_ARGT_NUM:
    if (a->num != a->num)
      return fail(err, errlen, what, "parameter '%s' is not a number (nan)", p->key);
    v->num = a->num;
    return check_range(p, a->num, what, err, errlen);
  case KILN_ARGT_BOOL: v->b = a->b; return KILN_OK;
  case KILN_ARGT_STR:
    if (a->str == NULL)
      return fail(err, errlen, what, "parameter '%s' is a NULL string", p->key);
    v->str = a->str;
    return KILN_OK;
  default: v->ptr = a->ptr; return KILN_OK;
  }
}

kiln_res_t param_resolve(pval_t *vals, const kiln_param_t *params, const kiln_arg_t args[],
                         const char *kind, const char *name, char *err, size_t errlen)
{
  who_t what = {kind, name};
  size_t n = param_count(params);
  for (size_t i = 0; i < n; i++)
    set_default(&vals[i], &params[i]);
  for (size_t k = 0; args != NULL && args[k].key != NULL; k++) {
    size_t i = 0;
    while (i < n && strcmp(params[i].key, args[k].key) != 0)
      i++;
    if (i == n)
      return unknown_key(params, args[k].key, what, err, errlen);
    for (size_t j = 0; j < k; j++)
      if (strcmp(args[j].key, args[k].key) == 0)
        return fail(err, errlen, what, "parameter '%s' given twice", args[k].key);
    kiln_res_t res = set_value(&vals[i], &params[i], &args[k], what, err, errlen);
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}
