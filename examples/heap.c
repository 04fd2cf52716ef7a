/* heap.c -- kscheme's heap: the Kiln format of its objects (scan, skip,
 * forward, pad), the heap opened from a plan, the allocation points, and the
 * root that makes the interpreter's stack of rooted C variables exact.
 *
 * The heap is opened with stack scanning off: every value the interpreter
 * holds across an allocation is on the root stack (PROTECT in scheme.h) or
 * in a registered root, so objects move freely under copying plans and no
 * stale stack word keeps garbage alive.
 */
#include <stdlib.h>
#include <string.h>
#include "scheme.h"

static kiln_heap_t heap;
static kiln_arena_t arena;
static kiln_ap_t objects_ap, leaf_ap;
static kiln_root_t stack_root, syntax_root;

value **root_stack;
size_t root_top, root_cap;

kiln_arena_t heap_arena(void)
{
  return arena;
}

/* ---- the format --------------------------------------------------------- */

static size_t round8(size_t n)
{
  return (n + 7) & ~(size_t)7;
}

static size_t at_least_16(size_t n)
{
  return n < 16 ? 16 : n;
}

/* Every object takes at least 16 bytes: room for a forwarding marker
   (header and new address). A pad may be a single header word. */
size_t object_size(value v)
{
  switch (type_of(v)) {
  case T_PAIR: return sizeof(pair_t);
  case T_STRING: return at_least_16(round8(sizeof(string_t) + hdr_arg(v) + 1));
  case T_SYMBOL: return sizeof(symbol_t);
  case T_VECTOR: return at_least_16(sizeof(vector_t) + hdr_arg(v) * sizeof(value));
  case T_CLOSURE: return sizeof(closure_t);
  case T_ENV: return sizeof(env_t);
  case T_PRIM: return sizeof(prim_t);
  case T_PORT: return sizeof(port_t);
  case T_FWD:
  case T_PAD: return hdr_arg(v);
  }
  fprintf(stderr, "kscheme: heap object %p has no valid type (header %#lx)\n", v,
          (unsigned long)*(uintptr_t *)v);
  abort();
}

static kiln_res_t fix(kiln_ss_t ss, value *slot)
{
  return is_ref(*slot) ? KILN_FIX12(ss, slot) : KILN_OK;
}

static kiln_res_t fix_n(kiln_ss_t ss, value *slots, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (fix(ss, &slots[i]) != KILN_OK)
      return KILN_FAIL;
  return KILN_OK;
}

/* The reference fields of one object, by type. */
static kiln_res_t scan_object(kiln_ss_t ss, value obj)
{
  switch (type_of(obj)) {
  case T_PAIR: return fix_n(ss, &PAIR(obj)->car, 2);
  case T_SYMBOL: return fix_n(ss, &SYM(obj)->name, 2);
  case T_VECTOR: return fix_n(ss, VEC(obj)->items, hdr_arg(obj));
  case T_CLOSURE: return fix_n(ss, &CLO(obj)->params, 4);
  case T_ENV: return fix_n(ss, &ENV(obj)->bindings, 2);
  default: return KILN_OK; /* strings, primitives, ports, pads: no references */
  }
}

static kiln_res_t fmt_scan(kiln_ss_t ss, void *base, void *limit)
{
  KILN_SCAN_BEGIN(ss) {
    for (char *p = base; p < (char *)limit; p += object_size(p))
      if (scan_object(ss, p) != KILN_OK)
        return KILN_FAIL;
  } KILN_SCAN_END(ss);
  return KILN_OK;
}

static void *fmt_skip(void *obj)
{
  return (char *)obj + object_size(obj);
}

/* The old copy becomes a forwarding marker that keeps its size. */
static void fmt_fwd(void *old, void *new_)
{
  uintptr_t *w = old;
  size_t size = object_size(old);
  w[0] = (uintptr_t)size << 8 | T_FWD;
  w[1] = (uintptr_t)new_;
}

static void *fmt_isfwd(void *obj)
{
  uintptr_t *w = obj;
  return (w[0] & 0xff) == T_FWD ? (void *)w[1] : NULL;
}

static void fmt_pad(void *addr, size_t size)
{
  *(uintptr_t *)addr = (uintptr_t)size << 8 | T_PAD;
}

static const kiln_format_t format = {
  .align = 8, .header_size = 0, .scan = fmt_scan, .skip = fmt_skip,
  .fwd = fmt_fwd, .isfwd = fmt_isfwd, .pad = fmt_pad,
};

/* ---- roots -------------------------------------------------------------- */

void root_stack_grow(void)
{
  size_t cap = root_cap ? 2 * root_cap : 1024;
  value **grown = realloc(root_stack, cap * sizeof *grown);
  if (grown == NULL) {
    fprintf(stderr, "kscheme: out of memory growing the root stack to %zu entries\n", cap);
    exit(1);
  }
  root_stack = grown;
  root_cap = cap;
}

/* Exact: each entry is the address of a C variable holding a value. */
static kiln_res_t scan_root_stack(kiln_ss_t ss, void *closure)
{
  (void)closure;
  for (size_t i = 0; i < root_top; i++)
    if (fix(ss, root_stack[i]) != KILN_OK)
      return KILN_FAIL;
  return KILN_OK;
}

/* ---- opening and closing ----------------------------------------------- */

static int fail(const char *what)
{
  fprintf(stderr, "kscheme: %s: %s\n", what, kiln_arena_error(arena));
  return 0;
}

/* "key=value" strings become string overrides: the plan parses them as it
   parses the same text on the kiln program's command line. */
static kiln_arg_t *overrides_of(const char *const *kv)
{
  size_t n = 0;
  while (kv != NULL && kv[n] != NULL)
    n++;
  kiln_arg_t *args = calloc(n + 1, sizeof *args);
  for (size_t i = 0; args != NULL && i < n; i++) {
    char *key = strdup(kv[i]), *eq = key ? strchr(key, '=') : NULL;
    if (eq == NULL) {
      fprintf(stderr, "kscheme: override '%s' is not KEY=VALUE (for example arena.stress=1)\n",
              kv[i]);
      free(key);
      for (size_t j = 0; j < i; j++)
        free((char *)args[j].key);
      free(args);
      return NULL;
    }
    *eq = '\0';
    kiln_arg_t a = KILN_ARG_STR(key, eq + 1);
    args[i] = a;
  }
  return args;
}

static void overrides_free(kiln_arg_t *args)
{
  for (size_t i = 0; args != NULL && args[i].key != NULL; i++)
    free((char *)args[i].key);
  free(args);
}

static int open_aps(void)
{
  objects_ap = kiln_heap_ap(heap, "objects");
  if (objects_ap == NULL) {
    fprintf(stderr, "kscheme: plan '%s' has no automatic pool for role 'objects'; choose a "
            "collected plan such as sticky or semispace (%s)\n", kiln_heap_plan_name(heap),
            kiln_arena_error(NULL));
    return 0;
  }
  kiln_pool_t leaf_pool = kiln_heap_pool(heap, "leaf");
  leaf_ap = leaf_pool != NULL && kiln_class_is_automatic(kiln_pool_class(leaf_pool))
                ? kiln_heap_ap(heap, "leaf") : NULL;
  if (leaf_ap == NULL)
    leaf_ap = objects_ap;
  return 1;
}

int heap_open(const char *plan, const char *const *kv)
{
  kiln_arg_t *overrides = overrides_of(kv);
  if (overrides == NULL)
    return 0;
  kiln_res_t res = kiln_heap_open(&heap, plan, &format, overrides);
  overrides_free(overrides);
  if (res != KILN_OK) {
    fprintf(stderr, "kscheme: cannot open a heap on plan '%s': %s\n", plan,
            kiln_arena_error(NULL));
    return 0;
  }
  arena = kiln_heap_arena(heap);
  if (kiln_heap_scan_stack(heap, 0) != KILN_OK)
    return fail("kiln_heap_scan_stack");
  if (!open_aps())
    return 0;
  root_stack_grow();
  if (kiln_root_create_scan(&stack_root, arena, KILN_RANK_EXACT, scan_root_stack, NULL)
      != KILN_OK)
    return fail("kiln_root_create_scan (the root stack)");
  for (size_t i = 0; i < S_COUNT; i++)
    syntax_syms[i] = NULL;
  if (kiln_root_create_area(&syntax_root, arena, syntax_syms, syntax_syms + S_COUNT,
                            KILN_RANK_EXACT) != KILN_OK)
    return fail("kiln_root_create_area (the special forms' symbols)");
  return symtab_open(arena) && ports_open(arena);
}

void heap_close(void)
{
  ports_close();
  symtab_close();
  kiln_root_destroy(syntax_root);
  kiln_root_destroy(stack_root);
  kiln_heap_close(heap);
  free(root_stack);
  root_stack = NULL;
  root_top = root_cap = 0;
}

void heap_collect(void)
{
  kiln_arena_collect(arena);
}

/* ---- allocation --------------------------------------------------------- */

void *obj_reserve(size_t size, int leaf)
{
  void *p;
  kiln_res_t res = kiln_reserve(&p, leaf ? leaf_ap : objects_ap, size);
  if (res != KILN_OK) {
    fprintf(stderr, "kscheme: out of memory allocating %zu bytes: %s\n", size,
            kiln_arena_error(arena));
    exit(1);
  }
  return p;
}

int obj_commit(void *p, size_t size, int leaf)
{
  return kiln_commit(leaf ? leaf_ap : objects_ap, p, size);
}

/* ---- constructors ------------------------------------------------------- */

static uintptr_t header(unsigned type, size_t arg)
{
  return (uintptr_t)arg << 8 | type;
}

value cons(value car, value cdr)
{
  pair_t *p;
  PROTECT2(car, cdr);
  do {
    p = obj_reserve(sizeof *p, 0);
    p->hdr = header(T_PAIR, 0);
    p->car = car;
    p->cdr = cdr;
  } while (!obj_commit(p, sizeof *p, 0));
  UNPROTECT(2);
  return p;
}

/* chars must not point into the heap: a collection may move it. */
value make_string(const char *chars, size_t len)
{
  size_t size = at_least_16(round8(sizeof(string_t) + len + 1));
  string_t *s;
  do {
    s = obj_reserve(size, 1);
    s->hdr = header(T_STRING, len);
    memcpy(s->chars, chars, len);
    memset(s->chars + len, 0, size - sizeof(string_t) - len);
  } while (!obj_commit(s, size, 1));
  return s;
}

value make_vector(size_t len, value fill)
{
  size_t size = at_least_16(sizeof(vector_t) + len * sizeof(value));
  vector_t *v;
  PROTECT1(fill);
  do {
    v = obj_reserve(size, 0);
    v->hdr = header(T_VECTOR, len);
    for (size_t i = 0; i < len; i++)
      v->items[i] = fill;
  } while (!obj_commit(v, size, 0));
  UNPROTECT(1);
  return v;
}

value make_closure(value params, value body, value env)
{
  closure_t *c;
  PROTECT3(params, body, env);
  do {
    c = obj_reserve(sizeof *c, 0);
    c->hdr = header(T_CLOSURE, 0);
    c->params = params;
    c->body = body;
    c->env = env;
    c->name = FALSE_V;
  } while (!obj_commit(c, sizeof *c, 0));
  UNPROTECT(3);
  return c;
}

value make_env(value parent)
{
  env_t *e;
  PROTECT1(parent);
  do {
    e = obj_reserve(sizeof *e, 0);
    e->hdr = header(T_ENV, 0);
    e->bindings = NIL;
    e->parent = parent;
  } while (!obj_commit(e, sizeof *e, 0));
  UNPROTECT(1);
  return e;
}

value make_prim(size_t index)
{
  prim_t *p;
  do {
    p = obj_reserve(sizeof *p, 1);
    p->hdr = header(T_PRIM, 0);
    p->index = index;
  } while (!obj_commit(p, sizeof *p, 1));
  return p;
}

value make_port_obj(struct port_rec *rec)
{
  port_t *p;
  do {
    p = obj_reserve(sizeof *p, 1);
    p->hdr = header(T_PORT, 0);
    p->rec = rec;
  } while (!obj_commit(p, sizeof *p, 1));
  return p;
}

value make_symbol(value name)
{
  symbol_t *s;
  PROTECT1(name);
  do {
    s = obj_reserve(sizeof *s, 0);
    s->hdr = header(T_SYMBOL, 0);
    s->name = name;
    s->global = UNBOUND;
  } while (!obj_commit(s, sizeof *s, 0));
  UNPROTECT(1);
  return s;
}
