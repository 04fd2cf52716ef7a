/* lffi.c -- kiln.ffi: call C functions of a shared library from Lua (libffi).
 *
 * Owns three userdata types and the signature grammar:
 *   kiln.ffi.lib     a dlopen handle (RTLD_NOW | RTLD_LOCAL); NULL once closed.
 *   kiln.ffi.fn      one function of a lib with a prepared ffi_cif; calling
 *                    it converts and range-checks the Lua arguments, calls
 *                    ffi_call and converts the result back.
 *   kiln.ffi.buffer  a Lua-owned, zeroed byte buffer a script passes as a
 *                    pointer (out-parameters, arrays) and reads with :get.
 * Invariants: a fn keeps its lib alive (user value 1), so the code it points
 * at stays mapped until the lib is closed explicitly, after which calling
 * it is a Lua error, never a jump into unmapped memory. Every ffi_type a
 * cif refers to lives in the fn userdata (Lua never moves userdata).
 * Misuse (bad signature, missing symbol, bad argument) raises an error that
 * starts with "kiln.ffi:"; a library that cannot be loaded is nil, message.
 *
 * Signature grammar (whitespace anywhere between tokens):
 *   sig  := type '(' [ 'void' | args ] ')'
 *   args := type { ',' type } [ ',' '...' ]
 *   type := [ 'const' ] name { '*' }    -- any name followed by '*' is a pointer
 */
#include <dlfcn.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <ffi.h>
#include <lauxlib.h>
#include "lkiln.h"

#define LIB_MT "kiln.ffi.lib"
#define FN_MT "kiln.ffi.fn"
#define BUF_MT "kiln.ffi.buffer"
#define MAXARGS 32 /* fixed and variadic arguments of one call */

/* ---- C types ---------------------------------------------------------------- */

typedef enum { K_VOID, K_BOOL, K_INT, K_UINT, K_FLOAT, K_DOUBLE, K_PTR, K_STR } kind_t;

typedef struct ctype_s {
  const char *name;
  kind_t kind;
  unsigned size; /* bytes of the C value */
  ffi_type *ft;
} ctype_t;

#if SIZE_MAX == UINT64_MAX
#define FT_SIZE_T &ffi_type_uint64
#define FT_SSIZE_T &ffi_type_sint64
#else
#define FT_SIZE_T &ffi_type_uint32
#define FT_SSIZE_T &ffi_type_sint32
#endif
#if UINTPTR_MAX == UINT64_MAX
#define FT_UINTPTR &ffi_type_uint64
#define FT_INTPTR &ffi_type_sint64
#else
#define FT_UINTPTR &ffi_type_uint32
#define FT_INTPTR &ffi_type_sint32
#endif

_Static_assert(sizeof(bool) == 1, "bool is passed as uint8");

static const ctype_t ctypes[] = {
  {"void", K_VOID, 0, &ffi_type_void},
  {"bool", K_BOOL, 1, &ffi_type_uint8},
  {"char", K_INT, 1, &ffi_type_schar},
  {"int8", K_INT, 1, &ffi_type_sint8},
  {"int16", K_INT, 2, &ffi_type_sint16},
  {"int32", K_INT, 4, &ffi_type_sint32},
  {"int64", K_INT, 8, &ffi_type_sint64},
  {"uint8", K_UINT, 1, &ffi_type_uint8},
  {"uint16", K_UINT, 2, &ffi_type_uint16},
  {"uint32", K_UINT, 4, &ffi_type_uint32},
  {"uint64", K_UINT, 8, &ffi_type_uint64},
  {"int", K_INT, sizeof(int), &ffi_type_sint},
  {"unsigned", K_UINT, sizeof(unsigned), &ffi_type_uint},
  {"uint", K_UINT, sizeof(unsigned), &ffi_type_uint},
  {"long", K_INT, sizeof(long), &ffi_type_slong},
  {"ulong", K_UINT, sizeof(unsigned long), &ffi_type_ulong},
  {"size_t", K_UINT, sizeof(size_t), FT_SIZE_T},
  {"ssize_t", K_INT, sizeof(size_t), FT_SSIZE_T},
  {"intptr_t", K_INT, sizeof(intptr_t), FT_INTPTR},
  {"uintptr_t", K_UINT, sizeof(uintptr_t), FT_UINTPTR},
  {"float", K_FLOAT, sizeof(float), &ffi_type_float},
  {"double", K_DOUBLE, sizeof(double), &ffi_type_double},
  {"pointer", K_PTR, sizeof(void *), &ffi_type_pointer},
  {"string", K_STR, sizeof(char *), &ffi_type_pointer},
  {NULL, K_VOID, 0, NULL}};

static const ctype_t *ctype_find(const char *name, size_t len)
{
  for (const ctype_t *t = ctypes; t->name != NULL; t++)
    if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
      return t;
  return NULL;
}

static const ctype_t *ctype_named(const char *name)
{
  return ctype_find(name, strlen(name));
}

/* One C value of any ctype, and the widened return slot libffi writes. */
typedef union cval_u {
  int8_t i8; int16_t i16; int32_t i32; int64_t i64;
  uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
  bool b; float f; double d; void *p;
  ffi_arg ret; ffi_sarg sret;
} cval_t;

/* ---- signatures --------------------------------------------------------------- */

typedef struct sig_s {
  const ctype_t *ret;
  const ctype_t *args[MAXARGS];
  int nargs;      /* fixed arguments */
  bool variadic;  /* a trailing '...' */
} fsig_t;

typedef struct parser_s {
  lua_State *L;
  const char *text, *p;
} parser_t;

static void skip_ws(parser_t *ps)
{
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
    ps->p++;
}

/* Raise `kiln.ffi: bad signature "...": column N: <why>`; columns count from 1. */
static int sig_error(parser_t *ps, const char *why)
{
  return luaL_error(ps->L, "kiln.ffi: bad signature \"%s\": column %d: %s", ps->text,
                    (int)(ps->p - ps->text) + 1, why);
}

static bool is_name_char(char c, bool first)
{
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (!first && c >= '0' && c <= '9');
}

static size_t scan_name(parser_t *ps)
{
  size_t n = 0;
  while (is_name_char(ps->p[n], n == 0))
    n++;
  return n;
}

static void unknown_type(parser_t *ps, size_t len)
{
  luaL_Buffer b;
  luaL_buffinit(ps->L, &b);
  luaL_addstring(&b, "unknown type '");
  luaL_addlstring(&b, ps->p, len);
  luaL_addstring(&b, "' (expected one of");
  for (const ctype_t *t = ctypes; t->name != NULL; t++) {
    luaL_addstring(&b, t == ctypes ? " " : ", ");
    luaL_addstring(&b, t->name);
  }
  luaL_addstring(&b, ", or T* for a pointer)");
  luaL_pushresult(&b);
  sig_error(ps, lua_tostring(ps->L, -1));
}

/* type := [ 'const' ] name { '*' } */
static const ctype_t *parse_type(parser_t *ps)
{
  skip_ws(ps);
  size_t len = scan_name(ps);
  if (len == 5 && memcmp(ps->p, "const", 5) == 0 && !is_name_char(ps->p[5], false)) {
    ps->p += 5;
    skip_ws(ps);
    len = scan_name(ps);
  }
  if (len == 0)
    sig_error(ps, *ps->p == '\0' ? "unexpected end, expected a type" : "expected a type");
  const char *name = ps->p;
  parser_t at = *ps; /* the name's column, for an unknown type */
  ps->p += len;
  skip_ws(ps);
  if (*ps->p == '*') {
    while (*ps->p == '*' || *ps->p == ' ' || *ps->p == '\t')
      ps->p++;
    return ctype_named("pointer");
  }
  const ctype_t *t = ctype_find(name, len);
  if (t == NULL)
    unknown_type(&at, len);
  return t;
}

static void expect(parser_t *ps, char c, const char *why)
{
  skip_ws(ps);
  if (*ps->p != c)
    sig_error(ps, why);
  ps->p++;
}

static bool at_ellipsis(parser_t *ps)
{
  skip_ws(ps);
  return strncmp(ps->p, "...", 3) == 0;
}

/* args := type { ',' type } [ ',' '...' ], up to and including ')' */
static void parse_args(parser_t *ps, fsig_t *sig)
{
  for (;;) {
    if (at_ellipsis(ps)) {
      if (sig->nargs == 0)
        sig_error(ps, "'...' needs at least one fixed argument before it");
      ps->p += 3;
      sig->variadic = true;
      expect(ps, ')', "expected ')' after '...'");
      return;
    }
    parser_t at = *ps;
    const ctype_t *t = parse_type(ps);
    if (t->kind == K_VOID)
      sig_error(&at, "void is not an argument type (write '()' or '(void)' for no arguments)");
    if (sig->nargs == MAXARGS)
      sig_error(&at, "too many arguments (at most 32)");
    sig->args[sig->nargs++] = t;
    skip_ws(ps);
    if (*ps->p == ')') {
      ps->p++;
      return;
    }
    expect(ps, ',', *ps->p == '\0' ? "unexpected end, expected ',' or ')'"
                                   : "expected ',' or ')' after an argument type");
  }
}

/* At "void )": consume it (an empty list) and say so; "void *" is a type. */
static bool void_list(parser_t *ps)
{
  parser_t q = *ps;
  if (scan_name(&q) != 4 || memcmp(q.p, "void", 4) != 0)
    return false;
  q.p += 4;
  skip_ws(&q);
  if (*q.p != ')')
    return false;
  ps->p = q.p + 1;
  return true;
}

static void parse_sig(lua_State *L, const char *text, fsig_t *sig)
{
  parser_t ps = {L, text, text};
  memset(sig, 0, sizeof *sig);
  sig->ret = parse_type(&ps);
  expect(&ps, '(', "expected '(' after the return type");
  skip_ws(&ps);
  if (*ps.p == ')')
    ps.p++;
  else if (!void_list(&ps))
    parse_args(&ps, sig);
  skip_ws(&ps);
  if (*ps.p != '\0')
    sig_error(&ps, "unexpected text after ')'");
}

/* ---- Lua <-> C values ------------------------------------------------------------ */

typedef struct lbuf_s {
  size_t size;
  unsigned char data[];
} lbuf_t;

/* Raise "kiln.ffi: argument N of NAME: ..." */
static int arg_error(lua_State *L, const char *fname, int argn, const char *fmt, const char *a,
                     const char *b)
{
  lua_pushfstring(L, fmt, a, b);
  return luaL_error(L, "kiln.ffi: argument %d of %s: %s", argn, fname, lua_tostring(L, -1));
}

static lua_Integer to_integer(lua_State *L, int idx, const ctype_t *t, const char *fname,
                              int argn)
{
  int ok = 0;
  lua_Integer v = lua_type(L, idx) == LUA_TNUMBER ? lua_tointegerx(L, idx, &ok) : 0;
  if (!ok && lua_type(L, idx) == LUA_TNUMBER)
    arg_error(L, fname, argn, "%s is not an integer (%s)", lua_tostring(L, idx), t->name);
  if (!ok)
    arg_error(L, fname, argn, "expected an integer (%s), got %s", t->name, luaL_typename(L, idx));
  unsigned bits = 8 * t->size;
  bool fits = t->kind == K_INT ? (bits >= 64 || (v >= -((lua_Integer)1 << (bits - 1))
                                                 && v < ((lua_Integer)1 << (bits - 1))))
                               : (v >= 0 && (bits >= 64 || v < ((lua_Integer)1 << bits)));
  if (!fits)
    arg_error(L, fname, argn, "%s does not fit %s", lua_tostring(L, idx), t->name);
  return v;
}

static void store_integer(cval_t *out, const ctype_t *t, lua_Integer v)
{
  switch (t->size) {
  case 1: out->u8 = (uint8_t)v; break;
  case 2: out->u16 = (uint16_t)v; break;
  case 4: out->u32 = (uint32_t)v; break;
  default: out->u64 = (uint64_t)v; break;
  }
}

static void *to_pointer(lua_State *L, int idx, const char *fname, int argn)
{
  switch (lua_type(L, idx)) {
  case LUA_TNIL: return NULL;
  case LUA_TLIGHTUSERDATA: return lua_touserdata(L, idx);
  case LUA_TSTRING: return (void *)lua_tostring(L, idx); /* the callee must not write */
  case LUA_TUSERDATA: {
    lbuf_t *b = luaL_testudata(L, idx, BUF_MT);
    if (b != NULL)
      return b->data;
    break;
  }
  default: break;
  }
  arg_error(L, fname, argn,
            "expected a pointer (lightuserdata, kiln.ffi.buffer, string or nil), got %s",
            luaL_typename(L, idx), NULL);
  return NULL;
}

/* Convert the Lua value at idx to a C value of type t in *out. */
static void to_c(lua_State *L, int idx, const ctype_t *t, cval_t *out, const char *fname, int argn)
{
  memset(out, 0, sizeof *out);
  switch (t->kind) {
  case K_BOOL:
    if (!lua_isboolean(L, idx))
      arg_error(L, fname, argn, "expected a boolean, got %s", luaL_typename(L, idx), NULL);
    out->b = lua_toboolean(L, idx);
    break;
  case K_INT: case K_UINT: store_integer(out, t, to_integer(L, idx, t, fname, argn)); break;
  case K_FLOAT: case K_DOUBLE: {
    if (lua_type(L, idx) != LUA_TNUMBER)
      arg_error(L, fname, argn, "expected a number (%s), got %s", t->name, luaL_typename(L, idx));
    double d = lua_tonumber(L, idx);
    if (t->kind == K_FLOAT && isfinite(d) && fabs(d) > FLT_MAX) /* else UB in the cast */
      arg_error(L, fname, argn, "%s does not fit float", lua_tostring(L, idx), NULL);
    if (t->kind == K_FLOAT)
      out->f = (float)d;
    else
      out->d = d;
    break;
  }
  case K_STR:
    if (!lua_isnil(L, idx) && lua_type(L, idx) != LUA_TSTRING)
      arg_error(L, fname, argn, "expected a string or nil, got %s", luaL_typename(L, idx), NULL);
    out->p = (void *)lua_tostring(L, idx);
    break;
  case K_PTR: out->p = to_pointer(L, idx, fname, argn); break;
  case K_VOID: break; /* the parser rejects void arguments */
  }
}

/* Push a C value of type t; `widened` when it is a return slot (libffi widens
   integral results narrower than a register to ffi_arg). */
static void push_c(lua_State *L, const ctype_t *t, const cval_t *v, bool widened)
{
  uint64_t bits;
  if (widened && t->size < sizeof(ffi_arg))
    bits = (uint64_t)v->ret;
  else
    bits = t->size == 1 ? v->u8 : t->size == 2 ? v->u16 : t->size == 4 ? v->u32 : v->u64;
  switch (t->kind) {
  case K_VOID: lua_pushnil(L); break;
  case K_BOOL: lua_pushboolean(L, (uint8_t)bits != 0); break;
  case K_INT:
    lua_pushinteger(L, t->size == 1 ? (int8_t)bits : t->size == 2 ? (int16_t)bits
                       : t->size == 4 ? (int32_t)bits : (lua_Integer)bits);
    break;
  case K_UINT: /* a uint64 above 2^63 wraps to a negative integer, as in Lua */
    lua_pushinteger(L, (lua_Integer)(t->size == 1 ? (uint8_t)bits : t->size == 2 ? (uint16_t)bits
                                     : t->size == 4 ? (uint32_t)bits : bits));
    break;
  case K_FLOAT: lua_pushnumber(L, v->f); break;
  case K_DOUBLE: lua_pushnumber(L, v->d); break;
  case K_PTR:
    if (v->p == NULL) lua_pushnil(L); else lua_pushlightuserdata(L, v->p);
    break;
  case K_STR:
    if (v->p == NULL) lua_pushnil(L); else lua_pushstring(L, v->p);
    break;
  }
}

/* ---- libraries ------------------------------------------------------------------- */

typedef struct llib_s {
  void *handle; /* NULL once closed */
  char name[];  /* the path given, or "the process" */
} llib_t;

/* The userdata of metatable mt at idx for the call `call` ("lib:fn"), or
   an error saying what was expected. */
static void *check_self(lua_State *L, int idx, const char *mt, const char *call)
{
  void *p = luaL_testudata(L, idx, mt);
  if (p == NULL)
    luaL_error(L, "kiln.ffi: %s: expected a %s, got %s (call methods with a colon, as %s(...))",
               call, mt, luaL_typename(L, idx), call);
  return p;
}

/* A whole-number argument of `call`, or an error naming it (`what`). */
static lua_Integer check_whole(lua_State *L, int idx, const char *call, const char *what)
{
  int whole = 0;
  lua_Integer v = lua_type(L, idx) == LUA_TNUMBER ? lua_tointegerx(L, idx, &whole) : 0;
  if (!whole)
    luaL_error(L, "kiln.ffi: %s: %s must be a whole number, got %s", call, what,
               luaL_typename(L, idx));
  return v;
}

static llib_t *check_lib(lua_State *L, int idx)
{
  llib_t *lib = check_self(L, idx, LIB_MT, "lib:fn");
  if (lib->handle == NULL)
    luaL_error(L, "kiln.ffi: library %s is closed", lib->name);
  return lib;
}

static int open_lib(lua_State *L, const char *path)
{
  const char *name = path != NULL ? path : "the process";
  size_t len = strlen(name);
  llib_t *lib = lua_newuserdatauv(L, sizeof *lib + len + 1, 0);
  lib->handle = NULL;
  memcpy(lib->name, name, len + 1);
  luaL_setmetatable(L, LIB_MT);
  lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib->handle != NULL)
    return 1;
  luaL_pushfail(L);
  const char *why = dlerror();
  lua_pushfstring(L, "kiln.ffi: cannot load %s: %s", name, why != NULL ? why : "unknown error");
  return 2;
}

/* kiln.ffi.load(path) -> lib | nil, message; load(nil) is kiln.ffi.self() */
static int l_load(lua_State *L)
{
  if (!lua_isnoneornil(L, 1) && lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "kiln.ffi: load(path): path must be a string (or nil for the process), "
                         "got %s", luaL_typename(L, 1));
  return open_lib(L, lua_isnoneornil(L, 1) ? NULL : lua_tostring(L, 1));
}

static int l_self(lua_State *L)
{
  return open_lib(L, NULL);
}

static int lib_close(lua_State *L)
{
  llib_t *lib = check_self(L, 1, LIB_MT, "lib:close");
  if (lib->handle != NULL)
    dlclose(lib->handle);
  lib->handle = NULL;
  return 0;
}

static int lib_tostring(lua_State *L)
{
  llib_t *lib = check_self(L, 1, LIB_MT, "tostring");
  lua_pushfstring(L, "kiln.ffi.lib (%s%s)", lib->name, lib->handle == NULL ? ", closed" : "");
  return 1;
}

/* ---- functions ------------------------------------------------------------------- */

typedef struct lfn_s {
  ffi_cif cif;       /* prepared for the fixed arguments */
  void (*fn)(void);
  fsig_t sig;
  ffi_type *atypes[MAXARGS];
  char name[];
} lfn_t;

static void *find_symbol(lua_State *L, llib_t *lib, const char *name)
{
  dlerror(); /* a symbol's value may be NULL: dlerror() tells a miss apart */
  void *sym = dlsym(lib->handle, name);
  const char *why = dlerror();
  if (why != NULL)
    luaL_error(L, "kiln.ffi: '%s' not found in %s: %s", name, lib->name, why);
  if (sym == NULL)
    luaL_error(L, "kiln.ffi: '%s' in %s is a NULL symbol", name, lib->name);
  return sym;
}

static void prep_cif(lua_State *L, ffi_cif *cif, const fsig_t *sig, ffi_type **atypes, int ntotal,
                     const char *name)
{
  ffi_status st = sig->variadic
    ? ffi_prep_cif_var(cif, FFI_DEFAULT_ABI, (unsigned)sig->nargs, (unsigned)ntotal,
                       sig->ret->ft, atypes)
    : ffi_prep_cif(cif, FFI_DEFAULT_ABI, (unsigned)ntotal, sig->ret->ft, atypes);
  if (st != FFI_OK)
    luaL_error(L, "kiln.ffi: libffi cannot prepare a call of %s (ffi_status %d)", name, (int)st);
}

static const char *check_text(lua_State *L, int idx, const char *what)
{
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "kiln.ffi: lib:fn: argument %d must be %s, got %s", idx - 1, what,
               luaL_typename(L, idx));
  return lua_tostring(L, idx);
}

/* lib:fn(name, signature) -> a callable */
static int lib_fn(lua_State *L)
{
  llib_t *lib = check_lib(L, 1);
  const char *name = check_text(L, 2, "the function's name");
  const char *text = check_text(L, 3, "a signature such as \"int(pointer, size_t)\"");
  fsig_t sig;
  parse_sig(L, text, &sig);
  void *sym = find_symbol(L, lib, name);
  size_t len = strlen(name);
  lfn_t *f = lua_newuserdatauv(L, sizeof *f + len + 1, 1);
  memset(f, 0, sizeof *f);
  memcpy(f->name, name, len + 1);
  memcpy(&f->fn, &sym, sizeof f->fn); /* POSIX: dlsym's result may be a function */
  f->sig = sig;
  for (int i = 0; i < sig.nargs; i++)
    f->atypes[i] = sig.args[i]->ft;
  prep_cif(L, &f->cif, &f->sig, f->atypes, sig.nargs, name);
  luaL_setmetatable(L, FN_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1); /* keep the lib alive while the fn lives */
  return 1;
}

/* The ctype a variadic argument is passed as, from its Lua value (after the
   default argument promotions: integers as int64, numbers as double). */
static const ctype_t *vararg_type(lua_State *L, int idx, const char *fname, int argn)
{
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER: return ctype_named(lua_isinteger(L, idx) ? "int64" : "double");
  case LUA_TBOOLEAN: return ctype_named("int");
  case LUA_TSTRING: return ctype_named("string");
  case LUA_TNIL: case LUA_TLIGHTUSERDATA: case LUA_TUSERDATA: return ctype_named("pointer");
  default:
    arg_error(L, fname, argn, "a %s cannot be passed as a variadic argument",
              luaL_typename(L, idx), NULL);
    return NULL;
  }
}

static void check_count(lua_State *L, const lfn_t *f, int got)
{
  const fsig_t *s = &f->sig;
  if (got == s->nargs || (s->variadic && got > s->nargs && got <= MAXARGS))
    return;
  if (s->variadic && got > MAXARGS)
    luaL_error(L, "kiln.ffi: %s takes at most %d arguments, got %d", f->name, MAXARGS, got);
  luaL_error(L, "kiln.ffi: %s expects %s%d argument%s, got %d", f->name,
             s->variadic ? "at least " : "", s->nargs, s->nargs == 1 ? "" : "s", got);
}

static int fn_call(lua_State *L)
{
  lfn_t *f = check_self(L, 1, FN_MT, "a kiln.ffi function call");
  lua_getiuservalue(L, 1, 1);
  llib_t *lib = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (lib->handle == NULL)
    return luaL_error(L, "kiln.ffi: cannot call %s: library %s is closed", f->name, lib->name);
  int n = lua_gettop(L) - 1;
  check_count(L, f, n);
  cval_t vals[MAXARGS];
  void *ptrs[MAXARGS];
  ffi_type *types[MAXARGS];
  for (int i = 0; i < n; i++) {
    const ctype_t *t = i < f->sig.nargs ? f->sig.args[i] : vararg_type(L, i + 2, f->name, i + 1);
    to_c(L, i + 2, t, &vals[i], f->name, i + 1);
    ptrs[i] = &vals[i];
    types[i] = t->ft;
  }
  ffi_cif varcif, *cif = &f->cif;
  if (f->sig.variadic) {
    prep_cif(L, &varcif, &f->sig, types, n, f->name);
    cif = &varcif;
  }
  cval_t ret;
  memset(&ret, 0, sizeof ret);
  ffi_call(cif, f->fn, &ret, n > 0 ? ptrs : NULL);
  if (f->sig.ret->kind == K_VOID)
    return 0;
  push_c(L, f->sig.ret, &ret, true);
  return 1;
}

static int fn_tostring(lua_State *L)
{
  lfn_t *f = check_self(L, 1, FN_MT, "tostring");
  lua_pushfstring(L, "kiln.ffi.fn (%s)", f->name);
  return 1;
}

/* ---- buffers --------------------------------------------------------------------- */

/* kiln.ffi.buffer(n) -> n zeroed bytes owned by Lua */
static int l_buffer(lua_State *L)
{
  lua_Integer n = check_whole(L, 1, "buffer(n)", "n");
  if (n < 0 || (uint64_t)n > SIZE_MAX / 2)
    luaL_error(L, "kiln.ffi: buffer size %I is negative or too large", n);
  lbuf_t *b = lua_newuserdatauv(L, sizeof *b + (size_t)n, 0);
  b->size = (size_t)n;
  memset(b->data, 0, (size_t)n);
  luaL_setmetatable(L, BUF_MT);
  return 1;
}

static const ctype_t *check_ctype(lua_State *L, int idx)
{
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "kiln.ffi: buffer: the type must be a string such as \"int\" or \"double\", "
                  "got %s", luaL_typename(L, idx));
  size_t len;
  const char *name = lua_tolstring(L, idx, &len);
  const ctype_t *t = ctype_find(name, len);
  if (t == NULL || t->kind == K_VOID || t->kind == K_STR)
    luaL_error(L, "kiln.ffi: buffer: '%s' is not a type a buffer holds (use an integer, float, "
                  "bool or pointer type; :string() and :write() for bytes)", name);
  return t;
}

/* Check that [offset, offset + len) lies in b; offsets count bytes from 0. */
static size_t check_range(lua_State *L, lbuf_t *b, int idx, size_t len)
{
  lua_Integer off = lua_isnoneornil(L, idx) ? 0 : check_whole(L, idx, "buffer", "the offset");
  if (off < 0 || (size_t)off > b->size || len > b->size - (size_t)off)
    luaL_error(L, "kiln.ffi: buffer: %I bytes at offset %I are outside a buffer of %I bytes",
               (lua_Integer)len, off, (lua_Integer)b->size);
  return (size_t)off;
}

/* buf:get(type [, offset]) -> value */
static int buf_get(lua_State *L)
{
  lbuf_t *b = check_self(L, 1, BUF_MT, "buf:get");
  const ctype_t *t = check_ctype(L, 2);
  size_t off = check_range(L, b, 3, t->size);
  cval_t v;
  memcpy(&v, b->data + off, t->size); /* memcpy: the offset may be unaligned */
  push_c(L, t, &v, false);
  return 1;
}

/* buf:set(type, offset, value) */
static int buf_set(lua_State *L)
{
  lbuf_t *b = check_self(L, 1, BUF_MT, "buf:set");
  const ctype_t *t = check_ctype(L, 2);
  check_whole(L, 3, "buf:set", "the offset");
  size_t off = check_range(L, b, 3, t->size);
  cval_t v;
  to_c(L, 4, t, &v, "buffer:set", 3);
  memcpy(b->data + off, &v, t->size);
  return 0;
}

/* buf:string([offset [, len]]) -> bytes; without len, up to the first NUL */
static int buf_string(lua_State *L)
{
  lbuf_t *b = check_self(L, 1, BUF_MT, "buf:string");
  size_t off = check_range(L, b, 2, 0);
  size_t len = b->size - off;
  if (lua_isnoneornil(L, 3)) {
    const unsigned char *nul = memchr(b->data + off, 0, len);
    len = nul != NULL ? (size_t)(nul - (b->data + off)) : len;
  } else {
    lua_Integer n = check_whole(L, 3, "buf:string", "the length");
    if (n < 0 || (size_t)n > len)
      luaL_error(L, "kiln.ffi: buffer: %I bytes at offset %I are outside a buffer of %I bytes",
                 n, (lua_Integer)off, (lua_Integer)b->size);
    len = (size_t)n;
  }
  lua_pushlstring(L, (const char *)b->data + off, len);
  return 1;
}

/* buf:write(bytes [, offset]) copies a string's bytes (no NUL added) */
static int buf_write(lua_State *L)
{
  lbuf_t *b = check_self(L, 1, BUF_MT, "buf:write");
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "kiln.ffi: buf:write: the bytes must be a string, got %s",
                      luaL_typename(L, 2));
  size_t len;
  const char *s = lua_tolstring(L, 2, &len);
  size_t off = check_range(L, b, 3, len);
  memcpy(b->data + off, s, len);
  return 0;
}

static int buf_ptr(lua_State *L)
{
  lbuf_t *b = check_self(L, 1, BUF_MT, "buf:ptr");
  lua_pushlightuserdata(L, b->data);
  return 1;
}

static int buf_len(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)((lbuf_t *)check_self(L, 1, BUF_MT, "buf:size"))->size);
  return 1;
}

/* ---- registration ------------------------------------------------------------------ */

void lk_open_ffi(lua_State *L)
{
  static const luaL_Reg lib_methods[] = {{"fn", lib_fn}, {"close", lib_close}, {NULL, NULL}};
  static const luaL_Reg lib_meta[] = {
    {"__gc", lib_close}, {"__close", lib_close}, {"__tostring", lib_tostring}, {NULL, NULL}};
  static const luaL_Reg fn_meta[] = {
    {"__call", fn_call}, {"__tostring", fn_tostring}, {NULL, NULL}};
  static const luaL_Reg buf_methods[] = {
    {"get", buf_get}, {"set", buf_set}, {"string", buf_string}, {"write", buf_write},
    {"ptr", buf_ptr}, {"size", buf_len}, {NULL, NULL}};
  static const luaL_Reg buf_meta[] = {{"__len", buf_len}, {NULL, NULL}};
  static const luaL_Reg fns[] = {
    {"load", l_load}, {"self", l_self}, {"buffer", l_buffer}, {NULL, NULL}};
  lk_new_metatable(L, LIB_MT, lib_methods, lib_meta);
  lk_new_metatable(L, FN_MT, NULL, fn_meta);
  lk_new_metatable(L, BUF_MT, buf_methods, buf_meta);
  luaL_newlib(L, fns);
  lua_setfield(L, -2, "ffi");
}
