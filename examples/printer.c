/* printer.c -- the external representation of values: `write` (strings in
 * quotes) and `display` (strings as their characters), to a FILE or to a
 * string port. Printing never allocates, so it holds plain pointers.
 */
#include <inttypes.h>
#include <string.h>
#include "scheme.h"

typedef struct sink_s {
  FILE *out;
  value port;           /* a port, or NULL to write to out */
} sink_t;

static void emit(sink_t *s, const char *text, size_t len)
{
  if (s->port != NULL)
    port_write(s->port, text, len);
  else
    fwrite(text, 1, len, s->out);
}

static void emits(sink_t *s, const char *text)
{
  emit(s, text, strlen(text));
}

static void print_string(sink_t *s, value v, int display)
{
  const char *c = STR(v)->chars;
  size_t len = hdr_arg(v);
  if (display) {
    emit(s, c, len);
    return;
  }
  emits(s, "\"");
  for (size_t i = 0; i < len; i++) {
    if (c[i] == '"' || c[i] == '\\')
      emits(s, "\\");
    if (c[i] == '\n')
      emits(s, "\\n");
    else
      emit(s, &c[i], 1);
  }
  emits(s, "\"");
}

static void print(sink_t *s, value v, int display);

static void print_list(sink_t *s, value v, int display)
{
  emits(s, "(");
  print(s, CAR(v), display);
  for (v = CDR(v); has_type(v, T_PAIR); v = CDR(v)) {
    emits(s, " ");
    print(s, CAR(v), display);
  }
  if (v != NIL) {
    emits(s, " . ");
    print(s, v, display);
  }
  emits(s, ")");
}

static void print_vector(sink_t *s, value v, int display)
{
  emits(s, "#(");
  for (size_t i = 0; i < hdr_arg(v); i++) {
    if (i > 0)
      emits(s, " ");
    print(s, VEC(v)->items[i], display);
  }
  emits(s, ")");
}

static void print_immediate(sink_t *s, value v)
{
  emits(s, v == NIL ? "()" : v == TRUE_V ? "#t" : v == FALSE_V ? "#f"
           : v == EOF_V ? "#<eof>" : v == UNBOUND ? "#<unbound>" : "");
}

static void print(sink_t *s, value v, int display)
{
  char num[32];
  if (is_fixnum(v)) {
    snprintf(num, sizeof num, "%" PRIdPTR, fixnum_val(v));
    emits(s, num);
    return;
  }
  if (!is_ref(v)) {
    print_immediate(s, v);
    return;
  }
  switch (type_of(v)) {
  case T_PAIR: print_list(s, v, display); break;
  case T_STRING: print_string(s, v, display); break;
  case T_SYMBOL: print_string(s, SYM(v)->name, 1); break;
  case T_VECTOR: print_vector(s, v, display); break;
  case T_CLOSURE: emits(s, "#<procedure>"); break;
  case T_ENV: emits(s, "#<environment>"); break;
  case T_PRIM:
    emits(s, "#<primitive ");
    emits(s, prim_name(((prim_t *)v)->index));
    emits(s, ">");
    break;
  case T_PORT: emits(s, port_is_open(v) ? "#<port>" : "#<closed port>"); break;
  default: emits(s, "#<?>"); break;
  }
}

void print_value(value v, int display, FILE *out, value port)
{
  sink_t s = {out, has_type(port, T_PORT) ? port : NULL};
  print(&s, v, display);
}
