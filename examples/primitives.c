/* primitives.c -- the procedures written in C: arithmetic and comparison on
 * fixnums, pairs and lists, vectors, strings and symbols, output and string
 * ports, and the heap's own (gc, collections, symbol-count, open-ports).
 *
 * call_prim checks the argument count and copies the first three
 * arguments into a rooted array, so a primitive that allocates reads its
 * arguments from there (or from the rooted list args) after allocating.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "scheme.h"

enum { MAXA = 3 };
typedef value (*prim_fn)(value *a, size_t n, value *args);
typedef struct prim_def_s {
  const char *name;
  prim_fn fn;
  int min, max;         /* argument counts; max -1: any number */
} prim_def_t;

/* ---- argument checks ------------------------------------------------------ */

static const char *current;   /* the primitive being called, for messages */

static intptr_t int_arg(value v)
{
  if (!is_fixnum(v))
    scheme_error("%s: an argument is not an integer", current);
  return fixnum_val(v);
}

static value typed(value v, unsigned type, const char *what)
{
  if (!has_type(v, type))
    scheme_error("%s: an argument is not a %s", current, what);
  return v;
}

static value int_result(intptr_t n)
{
  if (n < FIXNUM_MIN || n > FIXNUM_MAX)
    scheme_error("%s: the result is out of the fixnum range", current);
  return fixnum(n);
}

static size_t index_arg(value v, size_t len)
{
  intptr_t i = int_arg(v);
  if (i < 0 || (size_t)i >= len)
    scheme_error("%s: index %" PRIdPTR " is out of range 0..%zu", current, i, len);
  return (size_t)i;
}

/* ---- arithmetic ----------------------------------------------------------- */

static value p_add(value *a, size_t n, value *args)
{
  (void)a, (void)n;
  intptr_t sum = 0;
  for (value l = *args; l != NIL; l = CDR(l)) {
    sum += int_arg(CAR(l));
    int_result(sum);
  }
  return fixnum(sum);
}

static value p_mul(value *a, size_t n, value *args)
{
  (void)a, (void)n;
  intptr_t prod = 1;
  for (value l = *args; l != NIL; l = CDR(l)) {
    intptr_t x = int_arg(CAR(l));
    if (x != 0 && (prod > FIXNUM_MAX / llabs(x) || prod < -(FIXNUM_MAX / llabs(x))))
      scheme_error("*: the result is out of the fixnum range");
    prod *= x;
  }
  return fixnum(prod);
}

static value p_sub(value *a, size_t n, value *args)
{
  intptr_t r = int_arg(a[0]);
  if (n == 1)
    return int_result(-r);
  for (value l = CDR(*args); l != NIL; l = CDR(l))
    r = fixnum_val(int_result(r - int_arg(CAR(l))));
  return fixnum(r);
}

static value p_quotient(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  intptr_t d = int_arg(a[1]);
  if (d == 0)
    scheme_error("quotient: division by zero");
  return int_result(int_arg(a[0]) / d);
}

static value p_remainder(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  intptr_t d = int_arg(a[1]);
  if (d == 0)
    scheme_error("remainder: division by zero");
  return fixnum(int_arg(a[0]) % d);
}

/* One comparison along the whole argument list. */
static value compare(value *args, int (*holds)(intptr_t, intptr_t))
{
  for (value l = *args; CDR(l) != NIL; l = CDR(l))
    if (!holds(int_arg(CAR(l)), int_arg(CAR(CDR(l)))))
      return FALSE_V;
  return TRUE_V;
}
static int eq_(intptr_t x, intptr_t y) { return x == y; }
static int lt_(intptr_t x, intptr_t y) { return x < y; }
static int gt_(intptr_t x, intptr_t y) { return x > y; }
static int le_(intptr_t x, intptr_t y) { return x <= y; }
static int ge_(intptr_t x, intptr_t y) { return x >= y; }
static value p_num_eq(value *a, size_t n, value *args) { (void)a, (void)n; return compare(args, eq_); }
static value p_lt(value *a, size_t n, value *args) { (void)a, (void)n; return compare(args, lt_); }
static value p_gt(value *a, size_t n, value *args) { (void)a, (void)n; return compare(args, gt_); }
static value p_le(value *a, size_t n, value *args) { (void)a, (void)n; return compare(args, le_); }
static value p_ge(value *a, size_t n, value *args) { (void)a, (void)n; return compare(args, ge_); }

/* ---- pairs, lists, predicates ------------------------------------------------ */

static value p_cons(value *a, size_t n, value *args) { (void)n, (void)args; return cons(a[0], a[1]); }
static value p_car(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  return CAR(typed(a[0], T_PAIR, "pair"));
}
static value p_cdr(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  return CDR(typed(a[0], T_PAIR, "pair"));
}
static value p_set_car(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  store(typed(a[0], T_PAIR, "pair"), &CAR(a[0]), a[1]);
  return UNSPEC;
}
static value p_set_cdr(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  store(typed(a[0], T_PAIR, "pair"), &CDR(a[0]), a[1]);
  return UNSPEC;
}
/* The argument list is fresh (eval_args built it), so it is the list. */
static value p_list(value *a, size_t n, value *args) { (void)a, (void)n; return *args; }
static value p_null(value *a, size_t n, value *args) { (void)n, (void)args; return boolean(a[0] == NIL); }
static value p_pair(value *a, size_t n, value *args) { (void)n, (void)args; return boolean(has_type(a[0], T_PAIR)); }
static value p_eq(value *a, size_t n, value *args) { (void)n, (void)args; return boolean(a[0] == a[1]); }
static value p_not(value *a, size_t n, value *args) { (void)n, (void)args; return boolean(a[0] == FALSE_V); }
static value p_integer(value *a, size_t n, value *args) { (void)n, (void)args; return boolean(is_fixnum(a[0])); }
static value p_symbol(value *a, size_t n, value *args) { (void)n, (void)args; return boolean(has_type(a[0], T_SYMBOL)); }
static value p_string(value *a, size_t n, value *args) { (void)n, (void)args; return boolean(has_type(a[0], T_STRING)); }
static value p_vector(value *a, size_t n, value *args) { (void)n, (void)args; return boolean(has_type(a[0], T_VECTOR)); }
static value p_procedure(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  return boolean(has_type(a[0], T_CLOSURE) || has_type(a[0], T_PRIM));
}

static int equal(value x, value y)
{
  for (;;) {
    if (x == y)
      return 1;
    if (!is_ref(x) || !is_ref(y) || type_of(x) != type_of(y))
      return 0;
    switch (type_of(x)) {
    case T_STRING:
      return hdr_arg(x) == hdr_arg(y) && memcmp(STR(x)->chars, STR(y)->chars, hdr_arg(x)) == 0;
    case T_VECTOR:
      if (hdr_arg(x) != hdr_arg(y))
        return 0;
      for (size_t i = 0; i < hdr_arg(x); i++)
        if (!equal(VEC(x)->items[i], VEC(y)->items[i]))
          return 0;
      return 1;
    case T_PAIR:
      if (!equal(CAR(x), CAR(y)))
        return 0;
      x = CDR(x);
      y = CDR(y);
      break;
    default:
      return 0;
    }
  }
}
static value p_equal(value *a, size_t n, value *args) { (void)n, (void)args; return boolean(equal(a[0], a[1])); }

static value p_apply(value *a, size_t n, value *args) { (void)n, (void)args; return apply(a[0], a[1]); }

/* ---- vectors ---------------------------------------------------------------- */

static value p_make_vector(value *a, size_t n, value *args)
{
  (void)args;
  intptr_t len = int_arg(a[0]);
  if (len < 0 || len > (1 << 24))
    scheme_error("make-vector: length %" PRIdPTR " is not in 0..16777216", len);
  return make_vector((size_t)len, n > 1 ? a[1] : fixnum(0));
}
static value p_vector_of(value *a, size_t n, value *args)
{
  (void)a;
  value v = make_vector(n, NIL);
  size_t i = 0;
  for (value l = *args; l != NIL; l = CDR(l))
    store(v, &VEC(v)->items[i++], CAR(l));
  return v;
}
static value p_vector_ref(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  typed(a[0], T_VECTOR, "vector");
  return VEC(a[0])->items[index_arg(a[1], hdr_arg(a[0]))];
}
static value p_vector_set(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  typed(a[0], T_VECTOR, "vector");
  store(a[0], &VEC(a[0])->items[index_arg(a[1], hdr_arg(a[0]))], a[2]);
  return UNSPEC;
}
static value p_vector_length(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  return fixnum((intptr_t)hdr_arg(typed(a[0], T_VECTOR, "vector")));
}

/* ---- strings and symbols ---------------------------------------------------- */

/* A malloc'd copy of a string's characters: make_string may move the heap
   under a pointer into it. */
static char *chars_copy(value s, size_t from, size_t len)
{
  char *c = malloc(len + 1);
  if (c == NULL) {
    fprintf(stderr, "kscheme: out of memory copying a string of %zu bytes\n", len);
    exit(1);
  }
  memcpy(c, STR(s)->chars + from, len);
  c[len] = '\0';
  return c;
}

static value string_from_copy(char *c, size_t len)
{
  value s = make_string(c, len);
  free(c);
  return s;
}

static value p_string_length(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  return fixnum((intptr_t)hdr_arg(typed(a[0], T_STRING, "string")));
}
static value p_string_append(value *a, size_t n, value *args)
{
  (void)a, (void)n;
  size_t len = 0;
  for (value l = *args; l != NIL; l = CDR(l))
    len += hdr_arg(typed(CAR(l), T_STRING, "string"));
  char *c = malloc(len + 1);
  if (c == NULL)
    scheme_error("string-append: no memory for %zu bytes", len);
  size_t at = 0;
  for (value l = *args; l != NIL; l = CDR(l)) {
    memcpy(c + at, STR(CAR(l))->chars, hdr_arg(CAR(l)));
    at += hdr_arg(CAR(l));
  }
  return string_from_copy(c, len);
}
static value p_substring(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  size_t len = hdr_arg(typed(a[0], T_STRING, "string"));
  intptr_t from = int_arg(a[1]), to = int_arg(a[2]);
  if (from < 0 || to < from || (size_t)to > len)
    scheme_error("substring: range %" PRIdPTR "..%" PRIdPTR " is not within 0..%zu", from, to, len);
  return string_from_copy(chars_copy(a[0], (size_t)from, (size_t)(to - from)), (size_t)(to - from));
}
static value p_string_eq(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  typed(a[0], T_STRING, "string");
  typed(a[1], T_STRING, "string");
  return boolean(equal(a[0], a[1]));
}
static value p_number_to_string(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  char num[32];
  int len = snprintf(num, sizeof num, "%" PRIdPTR, int_arg(a[0]));
  return make_string(num, (size_t)len);
}
static value p_string_to_symbol(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  size_t len = hdr_arg(typed(a[0], T_STRING, "string"));
  char *c = chars_copy(a[0], 0, len);
  value sym = intern(c, len);
  free(c);
  return sym;
}
static value p_symbol_to_string(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  return SYM(typed(a[0], T_SYMBOL, "symbol"))->name;
}

/* ---- output and ports --------------------------------------------------------- */

static value port_arg(value *a, size_t n, size_t i)
{
  return n > i ? typed(a[i], T_PORT, "port") : NULL;
}
static value p_display(value *a, size_t n, value *args)
{
  (void)args;
  print_value(a[0], 1, stdout, port_arg(a, n, 1));
  return UNSPEC;
}
static value p_write(value *a, size_t n, value *args)
{
  (void)args;
  print_value(a[0], 0, stdout, port_arg(a, n, 1));
  return UNSPEC;
}
static value p_newline(value *a, size_t n, value *args)
{
  (void)args;
  value port = port_arg(a, n, 0);
  if (port != NULL)
    port_write(port, "\n", 1);
  else
    putchar('\n');
  return UNSPEC;
}
static value p_open_output_string(value *a, size_t n, value *args)
{
  (void)a, (void)n, (void)args;
  return port_open_string();
}
static value p_get_output_string(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  return port_contents(typed(a[0], T_PORT, "port"));
}
static value p_close_port(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  port_close(typed(a[0], T_PORT, "port"));
  return UNSPEC;
}
static value p_error(value *a, size_t n, value *args)
{
  (void)n, (void)args;
  fputs("kscheme: error raised by the program: ", stderr);
  print_value(a[0], 1, stderr, NULL);
  fputc('\n', stderr);
  scheme_error("(error) called");
}

/* ---- the heap ------------------------------------------------------------------ */

static value p_gc(value *a, size_t n, value *args)
{
  (void)a, (void)n, (void)args;
  heap_collect();
  ports_reap();
  return UNSPEC;
}
static value p_collections(value *a, size_t n, value *args)
{
  (void)a, (void)n, (void)args;
  kiln_stats_t st;
  kiln_arena_stats(heap_arena(), &st);
  return fixnum((intptr_t)st.collections);
}
static value p_symbol_count(value *a, size_t n, value *args)
{
  (void)a, (void)n, (void)args;
  return fixnum((intptr_t)symtab_count());
}
static value p_open_ports(value *a, size_t n, value *args)
{
  (void)a, (void)n, (void)args;
  return fixnum((intptr_t)ports_live_count());
}

static const prim_def_t prims[] = {
  {"+", p_add, 0, -1}, {"-", p_sub, 1, -1}, {"*", p_mul, 0, -1},
  {"quotient", p_quotient, 2, 2}, {"remainder", p_remainder, 2, 2},
  {"=", p_num_eq, 1, -1}, {"<", p_lt, 1, -1}, {">", p_gt, 1, -1},
  {"<=", p_le, 1, -1}, {">=", p_ge, 1, -1},
  {"cons", p_cons, 2, 2}, {"car", p_car, 1, 1}, {"cdr", p_cdr, 1, 1},
  {"set-car!", p_set_car, 2, 2}, {"set-cdr!", p_set_cdr, 2, 2}, {"list", p_list, 0, -1},
  {"null?", p_null, 1, 1}, {"pair?", p_pair, 1, 1}, {"eq?", p_eq, 2, 2},
  {"equal?", p_equal, 2, 2}, {"not", p_not, 1, 1}, {"integer?", p_integer, 1, 1},
  {"symbol?", p_symbol, 1, 1}, {"string?", p_string, 1, 1}, {"vector?", p_vector, 1, 1},
  {"procedure?", p_procedure, 1, 1}, {"apply", p_apply, 2, 2},
  {"make-vector", p_make_vector, 1, 2}, {"vector", p_vector_of, 0, -1},
  {"vector-ref", p_vector_ref, 2, 2}, {"vector-set!", p_vector_set, 3, 3},
  {"vector-length", p_vector_length, 1, 1},
  {"string-length", p_string_length, 1, 1}, {"string-append", p_string_append, 0, -1},
  {"substring", p_substring, 3, 3}, {"string=?", p_string_eq, 2, 2},
  {"number->string", p_number_to_string, 1, 1},
  {"string->symbol", p_string_to_symbol, 1, 1}, {"symbol->string", p_symbol_to_string, 1, 1},
  {"display", p_display, 1, 2}, {"write", p_write, 1, 2}, {"newline", p_newline, 0, 1},
  {"open-output-string", p_open_output_string, 0, 0},
  {"get-output-string", p_get_output_string, 1, 1}, {"close-port", p_close_port, 1, 1},
  {"error", p_error, 1, 1},
  {"gc", p_gc, 0, 0}, {"collections", p_collections, 0, 0},
  {"symbol-count", p_symbol_count, 0, 0}, {"open-ports", p_open_ports, 0, 0},
};
enum { NPRIMS = sizeof prims / sizeof prims[0] };

const char *prim_name(size_t index)
{
  return index < NPRIMS ? prims[index].name : "?";
}

value call_prim(size_t index, value args)
{
  const prim_def_t *p = &prims[index];
  value a[MAXA] = {NIL, NIL, NIL};
  size_t n = 0;
  for (value l = args; l != NIL; l = CDR(l), n++)
    if (n < MAXA)
      a[n] = CAR(l);
  current = p->name;
  if ((int)n < p->min || (p->max >= 0 && (int)n > p->max))
    scheme_error("%s: called with %zu arguments; it takes %d%s", p->name, n, p->min,
                 p->max < 0 ? " or more" : p->max == p->min ? "" : " or more");
  PROTECT3(a[0], a[1], a[2]);
  PROTECT1(args);
  value result = p->fn(a, n, &args);
  UNPROTECT(4);
  return result;
}

void primitives_define(void)
{
  for (size_t i = 0; i < NPRIMS; i++) {
    value sym = intern(prims[i].name, strlen(prims[i].name));
    PROTECT1(sym);
    value prim = make_prim(i);
    define_global(sym, prim);
    UNPROTECT(1);
  }
}
