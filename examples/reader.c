/* reader.c -- the reader: text from a FILE to data. Integers, strings
 * (with \" \\ \n escapes), symbols, #t and #f, lists (dotted too), vectors
 * #( ... ), 'x for (quote x), and ; comments.
 *
 * A list is built front to back: its first pair and its last pair are
 * rooted while each element is read, and linking a new last pair is a
 * store into a committed object, so it goes through the barrier.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "scheme.h"

typedef struct token_buf_s {
  char *chars;
  size_t len, cap;
} token_buf_t;

static void buf_add(token_buf_t *b, int c)
{
  if (b->len + 1 >= b->cap) {
    b->cap = b->cap ? 2 * b->cap : 64;
    char *grown = realloc(b->chars, b->cap);
    if (grown == NULL) {
      fprintf(stderr, "kscheme: out of memory reading a token\n");
      exit(1);
    }
    b->chars = grown;
  }
  b->chars[b->len++] = (char)c;
  b->chars[b->len] = '\0';
}

static int skip_space(FILE *f)
{
  int c;
  for (;;) {
    c = getc(f);
    if (c == ';')
      while (c != '\n' && c != EOF)
        c = getc(f);
    if (c == EOF || !isspace(c))
      return c;
  }
}

static int delimiter(int c)
{
  return c == EOF || isspace(c) || c == '(' || c == ')' || c == '"' || c == ';' || c == '\'';
}

static value syntax_error(int *error, const char *what)
{
  fprintf(stderr, "kscheme: read: %s\n", what);
  *error = 1;
  return UNSPEC;
}

static value read_string(FILE *f, int *error)
{
  token_buf_t b = {NULL, 0, 0};
  buf_add(&b, 0);
  b.len = 0;
  for (int c = getc(f); c != '"'; c = getc(f)) {
    if (c == EOF) {
      free(b.chars);
      return syntax_error(error, "a string is not closed before the end of the input; add '\"'");
    }
    if (c == '\\') {
      c = getc(f);
      c = c == 'n' ? '\n' : c;
    }
    buf_add(&b, c);
  }
  value s = make_string(b.chars, b.len);
  free(b.chars);
  return s;
}

static int parse_fixnum(const char *t, intptr_t *n_o)
{
  char *end;
  if (!(isdigit((unsigned char)t[0]) || ((t[0] == '-' || t[0] == '+') && isdigit((unsigned char)t[1]))))
    return 0;
  errno = 0;
  long long n = strtoll(t, &end, 10);
  if (*end != '\0' || errno != 0 || n < FIXNUM_MIN || n > FIXNUM_MAX)
    return 0;
  *n_o = (intptr_t)n;
  return 1;
}

static value read_atom(FILE *f, int c, int *error)
{
  token_buf_t b = {NULL, 0, 0};
  for (; !delimiter(c); c = getc(f))
    buf_add(&b, c);
  ungetc(c, f);
  value v;
  intptr_t n;
  if (strcmp(b.chars, "#t") == 0)
    v = TRUE_V;
  else if (strcmp(b.chars, "#f") == 0)
    v = FALSE_V;
  else if (parse_fixnum(b.chars, &n))
    v = fixnum(n);
  else if (b.chars[0] == '#')
    v = syntax_error(error, "unknown # syntax; kscheme reads #t, #f and #( vectors");
  else
    v = intern(b.chars, b.len);
  free(b.chars);
  return v;
}

static value read_item(FILE *f, int c, int *error);

/* After a '.': is it the dot of a dotted list (not the start of a symbol)? */
static int dotted(FILE *f)
{
  int next = getc(f);
  ungetc(next, f);
  return delimiter(next);
}

/* After '(' (or '#('): the elements up to ')', as a list. */
static value read_list(FILE *f, int *error)
{
  value head = NIL, tail = NIL, item = NIL;
  PROTECT3(head, tail, item);
  for (;;) {
    int c = skip_space(f);
    if (c == ')')
      break;
    if (c == EOF) {
      head = syntax_error(error, "a list is not closed before the end of the input; add ')'");
      break;
    }
    if (c == '.' && tail != NIL && dotted(f)) {
      item = read_item(f, skip_space(f), error);
      store(tail, &CDR(tail), item);
      if (skip_space(f) != ')')
        head = syntax_error(error, "a dotted list has more than one datum after '.'");
      break;
    }
    item = read_item(f, c, error);
    if (*error)
      break;
    list_append(&head, &tail, item);
  }
  UNPROTECT(3);
  return head;
}

static value list_to_vector(value list)
{
  size_t n = 0;
  for (value l = list; has_type(l, T_PAIR); l = CDR(l))
    n++;
  PROTECT1(list);
  value v = make_vector(n, NIL);
  for (size_t i = 0; i < n; i++, list = CDR(list))
    store(v, &VEC(v)->items[i], CAR(list));
  UNPROTECT(1);
  return v;
}

static value read_item(FILE *f, int c, int *error)
{
  if (c == EOF)
    return EOF_V;
  if (c == '(')
    return read_list(f, error);
  if (c == ')')
    return syntax_error(error, "unexpected ')'");
  if (c == '"')
    return read_string(f, error);
  if (c == '\'') {
    value quoted = read_item(f, skip_space(f), error);
    value rest = cons(quoted, NIL);
    return cons(syntax_syms[S_QUOTE], rest);
  }
  if (c == '#') {
    int next = getc(f);
    if (next == '(')
      return list_to_vector(read_list(f, error));
    ungetc(next, f);
  }
  return read_atom(f, c, error);
}

value read_datum(FILE *f, int *error)
{
  *error = 0;
  return read_item(f, skip_space(f), error);
}
