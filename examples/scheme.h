/* scheme.h -- what the files of kscheme, the example interpreter, share:
 * the value representation, the object layouts, the heap and root API the
 * rest of the interpreter uses, and each file's entry points.
 *
 * Values are words (void *). A word with the low bit set is a fixnum; one
 * whose low two bits are 10 is an immediate constant (the empty list,
 * booleans, ...); any other non-NULL word is the address of a heap object.
 * Every heap object starts with a header word: its type in the low byte and
 * its size in bytes (or, for strings and vectors, its length) above it.
 * Values live in slots of type void *, so the collector's fix and barrier
 * calls take them directly.
 */
#ifndef KSCHEME_H
#define KSCHEME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <kiln.h>
#include <kiln/heap.h>

typedef void *value;

/* ---- immediates -------------------------------------------------------- */

#define IMM(n) ((value)(uintptr_t)(((uintptr_t)(n) << 2) | 2))
#define NIL IMM(0)
#define FALSE_V IMM(1)
#define TRUE_V IMM(2)
#define UNSPEC IMM(3)
#define UNBOUND IMM(4)
#define EOF_V IMM(5)

#define FIXNUM_MIN (INTPTR_MIN / 2)
#define FIXNUM_MAX (INTPTR_MAX / 2)
static inline value fixnum(intptr_t n) { return (value)(((uintptr_t)n << 1) | 1); }
static inline intptr_t fixnum_val(value v) { return (intptr_t)(uintptr_t)v >> 1; }
static inline int is_fixnum(value v) { return ((uintptr_t)v & 1) != 0; }
/* A heap reference: what scan and root functions must fix. */
static inline int is_ref(value v) { return v != NULL && ((uintptr_t)v & 3) == 0; }
static inline value boolean(int b) { return b ? TRUE_V : FALSE_V; }

/* ---- heap objects ------------------------------------------------------ */

enum {
  T_PAIR = 1, T_STRING, T_SYMBOL, T_VECTOR, T_CLOSURE, T_ENV, T_PRIM, T_PORT,
  T_FWD, T_PAD
};

typedef struct { uintptr_t hdr; value car, cdr; } pair_t;
typedef struct { uintptr_t hdr; char chars[]; } string_t;      /* hdr: length; NUL-ended */
typedef struct { uintptr_t hdr; value name, global; } symbol_t; /* global: UNBOUND if none */
typedef struct { uintptr_t hdr; value items[]; } vector_t;     /* hdr: length */
typedef struct { uintptr_t hdr; value params, body, env, name; } closure_t;
typedef struct { uintptr_t hdr; value bindings, parent; } env_t; /* bindings: ((sym . val) ...) */
typedef struct { uintptr_t hdr; uintptr_t index; } prim_t;     /* index: not a reference */
typedef struct { uintptr_t hdr; struct port_rec *rec; } port_t; /* rec: malloc'd, not a reference */

static inline unsigned type_of(value v) { return (unsigned)(*(uintptr_t *)v & 0xff); }
static inline int has_type(value v, unsigned t) { return is_ref(v) && type_of(v) == t; }
static inline size_t hdr_arg(value v) { return (size_t)(*(uintptr_t *)v >> 8); }
#define PAIR(v) ((pair_t *)(v))
#define CAR(v) (PAIR(v)->car)
#define CDR(v) (PAIR(v)->cdr)
#define STR(v) ((string_t *)(v))
#define SYM(v) ((symbol_t *)(v))
#define VEC(v) ((vector_t *)(v))
#define CLO(v) ((closure_t *)(v))
#define ENV(v) ((env_t *)(v))

/* ---- heap.c: the format, allocation, roots, the barrier ---------------- */

/* Open the heap on plan with "key=value" overrides (NULL-ended); 0 on
   failure, having printed why. */
int heap_open(const char *plan, const char *const *overrides);
void heap_close(void);
void heap_collect(void);
kiln_arena_t heap_arena(void);

/* Reserve size bytes (a multiple of 8, at least 16) of uninitialised
   memory from the "objects" or, for objects without references, the "leaf"
   allocation point. The caller makes it a whole object, then calls
   obj_commit; if that returns 0 a collection intervened and the caller
   starts again from obj_reserve, re-reading its rooted values. */
void *obj_reserve(size_t size, int leaf);
int obj_commit(void *p, size_t size, int leaf);

/* The barrier: every store of a value into a heap object after it was
   committed goes through here. */
static inline void store(value obj, value *slot, value v)
{
  kiln_write(heap_arena(), obj, slot, v);
}

/* The interpreter's stack of rooted C variables: a collection fixes (and,
   under moving plans, updates) every variable pushed. Push the address of
   every local that holds a value across a call that may allocate. */
extern value **root_stack;
extern size_t root_top, root_cap;
void root_stack_grow(void);
static inline void protect(value *slot)
{
  if (root_top == root_cap)
    root_stack_grow();
  root_stack[root_top++] = slot;
}
#define PROTECT1(a) protect(&(a))
#define PROTECT2(a, b) (protect(&(a)), protect(&(b)))
#define PROTECT3(a, b, c) (PROTECT2(a, b), protect(&(c)))
#define UNPROTECT(n) (root_top -= (n))

/* Constructors. Each roots its arguments itself. */
value cons(value car, value cdr);
value make_string(const char *chars, size_t len);
value make_vector(size_t len, value fill);
value make_closure(value params, value body, value env);
value make_env(value parent);
value make_prim(size_t index);
value make_port_obj(struct port_rec *rec);
value make_symbol(value name); /* name: a string; use intern, not this */

/* Append item in a new pair to the list that runs from *head to *tail
   (NIL and NIL when empty): both are the caller's rooted locals, as cons
   may collect. */
static inline void list_append(value *head, value *tail, value item)
{
  value cell = cons(item, NIL);
  if (*tail == NIL)
    *head = cell;
  else
    store(*tail, &CDR(*tail), cell);
  *tail = cell;
}

/* Object sizes, for the format and for statistics. */
size_t object_size(value v);

/* ---- symtab.c: the symbol table (weak) --------------------------------- */

int symtab_open(kiln_arena_t arena);
void symtab_close(void);
value intern(const char *name, size_t len);
size_t symtab_count(void);

/* ---- ports.c: string output ports (finalized when dropped) -------------- */

int ports_open(kiln_arena_t arena);
void ports_close(void);
value port_open_string(void);
void port_write(value port, const char *s, size_t len);
value port_contents(value port);
void port_close(value port);
int port_is_open(value port);
/* Free the buffers of ports the last collections found dead. */
void ports_reap(void);
size_t ports_live_count(void);

/* ---- printer.c -------------------------------------------------------- */

/* Print v (display: strings without quotes) to port, or to out if port is
   not a port. */
void print_value(value v, int display, FILE *out, value port);

/* ---- reader.c --------------------------------------------------------- */

/* The next datum from f, EOF_V at the end; on a syntax error, prints it,
   sets *error and returns UNSPEC. */
value read_datum(FILE *f, int *error);

/* ---- eval.c ----------------------------------------------------------- */

/* The symbols of the special forms, kept alive by an exact root area. */
enum { S_QUOTE, S_IF, S_DEFINE, S_SET, S_LAMBDA, S_BEGIN, S_LET, S_COND, S_ELSE, S_AND, S_OR,
       S_COUNT };
extern value syntax_syms[S_COUNT];
int eval_init(void);
/* Evaluate x in env (NIL: the global environment). On an error, prints it
   and longjmps to the handler main set. */
value eval(value x, value env);
value apply(value fn, value args);
/* Evaluate a top-level form; 1, or 0 after an error (printed, the root
   stack restored). */
int eval_toplevel(value x);
void define_global(value sym, value v);
_Noreturn void scheme_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ---- primitives.c ----------------------------------------------------- */

void primitives_define(void);
value call_prim(size_t index, value args);
const char *prim_name(size_t index);

#endif /* KSCHEME_H */
