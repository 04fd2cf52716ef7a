/* plan.c -- the plan loader: a sandboxed Lua state running the plan DSL.
 *
 * Owns: the sandbox (a lua_State with a memory cap and an instruction
 * budget, holding only base/string/table/math/utf8 minus everything that
 * reaches files or code: io, os, require, load*, dofile, string.dump,
 * collectgarbage, debug), the C helpers the DSL (lua/dsl.lua) calls, and the
 * conversion of a resolved plan table into an lk_plan_t.
 *
 * Invariants: a plan can neither touch files nor run forever nor exhaust
 * memory: every failure comes back as KILN_PARAM (or KILN_IO/KILN_MEMORY)
 * with a sentence in lk_error(), never as a crash. Validation lives in the
 * DSL and reads the classes' own parameter tables through host_params.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "lkiln.h"

#define SANDBOX_MEMORY ((size_t)32 << 20)   /* bytes a plan state may hold */
#define SANDBOX_STEPS 20000000UL            /* VM instructions per call */
#define SANDBOX_HOOK_EVERY 1000             /* instructions between hook calls */
#define PLAN_FILE_MAX ((long)1 << 20)       /* bytes of a plan file */

typedef struct sandbox_s {
  size_t used, cap;
  int refused;             /* the allocator said no at least once */
  unsigned long steps;
} sandbox_t;

/* ---- budget -------------------------------------------------------------- */

static void *sandbox_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
  sandbox_t *sb = ud;
  size_t old = p != NULL ? osize : 0;
  if (nsize == 0) {
    free(p);
    sb->used -= old;
    return NULL;
  }
  if (nsize > old && sb->used - old + nsize > sb->cap) {
    sb->refused = 1;
    return NULL;
  }
  void *q = realloc(p, nsize);
  if (q == NULL) {
    sb->refused = 1;
    return NULL;
  }
  sb->used = sb->used - old + nsize;
  return q;
}

/* Count hook: ends a plan that runs too long. Raised errors propagate out of
   the plan (the sandbox offers no pcall), and the counter stays over budget
   so every later hook raises again. */
static void sandbox_hook(lua_State *S, lua_Debug *ar)
{
  void *ud;
  lua_getallocf(S, &ud);
  sandbox_t *sb = ud;
  sb->steps += SANDBOX_HOOK_EVERY;
  if (sb->steps <= SANDBOX_STEPS)
    return;
  lua_getinfo(S, "Sl", ar);
  lua_pushfstring(S, "%s:%d: plan exceeded its instruction budget (%d million instructions)",
                  ar->short_src, ar->currentline, (int)(SANDBOX_STEPS / 1000000));
  lua_error(S);
}

/* ---- helpers the DSL calls ---------------------------------------------------- */

static const char *argtype_name(kiln_argtype_t t)
{
  switch (t) {
  case KILN_ARGT_SIZE: return "size";
  case KILN_ARGT_NUM: return "num";
  case KILN_ARGT_BOOL: return "bool";
  case KILN_ARGT_STR: return "str";
  case KILN_ARGT_PTR: return "ptr";
  default: return "end";
  }
}

static void push_param(lua_State *S, const kiln_param_t *p)
{
  lua_createtable(S, 0, 6);
  lua_pushstring(S, p->key);
  lua_setfield(S, -2, "key");
  lua_pushstring(S, argtype_name(p->type));
  lua_setfield(S, -2, "type");
  lua_pushstring(S, p->def != NULL ? p->def : "");
  lua_setfield(S, -2, "def");
  lua_pushnumber(S, p->min);
  lua_setfield(S, -2, "min");
  lua_pushnumber(S, p->max);
  lua_setfield(S, -2, "max");
  lua_pushstring(S, p->doc != NULL ? p->doc : "");
  lua_setfield(S, -2, "doc");
}

/* params(name): the arena's or a built class's parameter list, or nil. */
static int host_params(lua_State *S)
{
  const char *name = luaL_checkstring(S, 1);
  const kiln_param_t *ps;
  if (strcmp(name, "arena") == 0) {
    ps = kiln_arena_params();
  } else {
    kiln_class_t k = kiln_class_lookup(name);
    ps = k != NULL ? kiln_class_params(k) : NULL;
  }
  if (ps == NULL)
    return 0;
  lua_newtable(S);
  for (int i = 0; ps[i].key != NULL; i++) {
    push_param(S, &ps[i]);
    lua_rawseti(S, -2, i + 1);
  }
  return 1;
}

static int host_classes(lua_State *S)
{
  const kiln_class_t *ks = kiln_classes();
  lua_newtable(S);
  for (int i = 0; ks != NULL && ks[i] != NULL; i++) {
    lua_pushstring(S, kiln_class_name(ks[i]));
    lua_rawseti(S, -2, i + 1);
  }
  return 1;
}

const lk_embed_t *lk_embed_find(const char *name)
{
  for (const lk_embed_t *e = lk_embedded; e->name != NULL; e++)
    if (strcmp(e->name, name) == 0)
      return e;
  return NULL;
}

static int host_builtin(lua_State *S)
{
  const char *name = luaL_checkstring(S, 1);
  char path[256];
  snprintf(path, sizeof path, "plans/%s.lua", name);
  const lk_embed_t *e = strchr(name, '/') == NULL ? lk_embed_find(path) : NULL;
  if (e == NULL)
    return 0;
  lua_pushlstring(S, (const char *)e->data, e->len);
  return 1;
}

static int host_builtins(lua_State *S)
{
  int n = 0;
  lua_newtable(S);
  for (const lk_embed_t *e = lk_embedded; e->name != NULL; e++) {
    size_t len = strlen(e->name);
    if (strncmp(e->name, "plans/", 6) != 0 || len < 10)
      continue;
    lua_pushlstring(S, e->name + 6, len - 6 - 4); /* strip "plans/" and ".lua" */
    lua_rawseti(S, -2, ++n);
  }
  return 1;
}

/* readfile(path): the file's text, or nil and a sentence. */
static int host_readfile(lua_State *S)
{
  const char *path = luaL_checkstring(S, 1);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    lua_pushnil(S);
    lua_pushfstring(S, "cannot read plan file '%s': %s", path, strerror(errno));
    return 2;
  }
  luaL_Buffer b;
  luaL_buffinit(S, &b);
  char chunk[4096];
  size_t n;
  long total = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && total <= PLAN_FILE_MAX) {
    luaL_addlstring(&b, chunk, n);
    total += (long)n;
  }
  fclose(f);
  if (total > PLAN_FILE_MAX) {
    lua_pushnil(S);
    lua_pushfstring(S, "plan file '%s' is larger than %d bytes", path, (int)PLAN_FILE_MAX);
    return 2;
  }
  luaL_pushresult(&b);
  return 1;
}

/* ---- the sandbox ------------------------------------------------------------- */

static void open_libs(lua_State *S)
{
  static const luaL_Reg libs[] = {
    {LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string},
    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_DBLIBNAME, luaopen_debug}, {NULL, NULL}};
  for (const luaL_Reg *l = libs; l->name != NULL; l++) {
    luaL_requiref(S, l->name, l->func, 1);
    lua_pop(S, 1);
  }
}

/* After the DSL holds what it needs, nothing that reaches files, code or
   the collector stays visible. */
static void scrub(lua_State *S)
{
  static const char *const gone[] = {"debug", "load", "loadfile", "dofile", "require",
                                     "collectgarbage", "loadstring", "io", "os", "package",
                                     NULL};
  for (int i = 0; gone[i] != NULL; i++) {
    lua_pushnil(S);
    lua_setglobal(S, gone[i]);
  }
  lua_getglobal(S, "string");
  lua_pushnil(S);
  lua_setfield(S, -2, "dump");
  lua_pop(S, 1);
}

static void push_host(lua_State *S)
{
  static const luaL_Reg fns[] = {
    {"params", host_params}, {"classes", host_classes}, {"builtin", host_builtin},
    {"builtins", host_builtins}, {"readfile", host_readfile}, {NULL, NULL}};
  luaL_newlib(S, fns);
}

static int load_dsl(lua_State *S)
{
  const lk_embed_t *e = lk_embed_find("lua/dsl.lua");
  if (e == NULL)
    return lk_fail(KILN_FAIL, "the plan DSL is missing from the library");
  if (luaL_loadbufferx(S, (const char *)e->data, e->len, "=[kiln dsl]", "t") != LUA_OK
      || (push_host(S), lua_pcall(S, 1, 1, 0)) != LUA_OK)
    return lk_fail(KILN_FAIL, "the plan DSL failed to load: %s", lua_tostring(S, -1));
  lua_setfield(S, LUA_REGISTRYINDEX, "kiln.api");
  return KILN_OK;
}

lua_State *lk_sandbox_open(void)
{
  sandbox_t *sb = calloc(1, sizeof *sb);
  if (sb == NULL) {
    lk_fail(KILN_MEMORY, "out of memory opening the plan sandbox");
    return NULL;
  }
  sb->cap = SANDBOX_MEMORY;
  lua_State *S = lua_newstate(sandbox_alloc, sb);
  if (S == NULL) {
    free(sb);
    lk_fail(KILN_MEMORY, "out of memory opening the plan sandbox");
    return NULL;
  }
  open_libs(S);
  if (load_dsl(S) != KILN_OK) {
    lk_sandbox_close(S);
    return NULL;
  }
  scrub(S);
  lua_sethook(S, sandbox_hook, LUA_MASKCOUNT, SANDBOX_HOOK_EVERY);
  return S;
}

void lk_sandbox_close(lua_State *S)
{
  void *ud;
  if (S == NULL)
    return;
  lua_getallocf(S, &ud);
  lua_close(S);
  free(ud);
}

void lk_sandbox_fn(lua_State *S, const char *fn)
{
  lua_getfield(S, LUA_REGISTRYINDEX, "kiln.api");
  lua_getfield(S, -1, fn);
  lua_remove(S, -2);
}

kiln_res_t lk_sandbox_pcall(lua_State *S, int nargs, int nres, const char *what)
{
  void *ud;
  lua_getallocf(S, &ud);
  sandbox_t *sb = ud;
  sb->steps = 0;
  sb->refused = 0;
  int rc = lua_pcall(S, nargs, nres, 0);
  if (rc == LUA_OK)
    return KILN_OK;
  if (rc == LUA_ERRMEM || sb->refused) {
    lua_pop(S, 1);
    return lk_fail(KILN_PARAM, "%s%splan exceeded its memory budget (%d MB)",
                   what != NULL ? what : "", what != NULL ? ": " : "", (int)(SANDBOX_MEMORY >> 20));
  }
  const char *msg = lua_tostring(S, -1);
  lk_fail(KILN_PARAM, "%s", msg != NULL ? msg : "plan failed with a non-string error");
  lua_pop(S, 1);
  return KILN_PARAM;
}

/* Plain data only; functions, userdata and deeper nesting become nil. */
void lk_copy_value(lua_State *from, int idx, lua_State *to, int depth)
{
  idx = lua_absindex(from, idx);
  luaL_checkstack(to, 4, "copying a value");
  switch (lua_type(from, idx)) {
  case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, idx)); break;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(from, idx, &len);
    lua_pushlstring(to, s, len);
    break;
  }
  case LUA_TNUMBER:
    if (lua_isinteger(from, idx))
      lua_pushinteger(to, lua_tointeger(from, idx));
    else
      lua_pushnumber(to, lua_tonumber(from, idx));
    break;
  case LUA_TTABLE:
    if (depth > 0) {
      lua_newtable(to);
      lua_pushnil(from);
      while (lua_next(from, idx) != 0) {
        lk_copy_value(from, -2, to, depth - 1);
        lk_copy_value(from, -1, to, depth - 1);
        if (lua_isnil(to, -2))
          lua_pop(to, 2);
        else
          lua_rawset(to, -3);
        lua_pop(from, 1);
      }
      break;
    }
    /* fall through */
  default: lua_pushnil(to); break;
  }
}

/* ---- resolved plan table -> lk_plan_t ------------------------------------ */

static char *field_str(lua_State *S, int idx, const char *key)
{
  lua_getfield(S, idx, key);
  const char *s = lua_tostring(S, -1);
  char *copy = s != NULL ? strdup(s) : NULL;
  lua_pop(S, 1);
  return copy;
}

static kiln_argtype_t argtype_of(const char *name)
{
  static const char *const names[] = {"end", "size", "num", "bool", "str", "ptr"};
  for (int i = 1; i < 6; i++)
    if (name != NULL && strcmp(name, names[i]) == 0)
      return (kiln_argtype_t)i;
  return KILN_ARGT_END;
}

/* One {key=, type=, value=} at the top of S into *arg. */
static void read_arg(lua_State *S, kiln_arg_t *arg)
{
  int t = lua_gettop(S);
  memset(arg, 0, sizeof *arg);
  arg->key = field_str(S, t, "key");
  lua_getfield(S, t, "type");
  arg->type = argtype_of(lua_tostring(S, -1));
  lua_getfield(S, t, "value");
  switch (arg->type) {
  case KILN_ARGT_SIZE: arg->size = (size_t)lua_tointeger(S, -1); break;
  case KILN_ARGT_NUM: arg->num = lua_tonumber(S, -1); break;
  case KILN_ARGT_BOOL: arg->b = lua_toboolean(S, -1); break;
  case KILN_ARGT_STR: arg->str = lua_tostring(S, -1) ? strdup(lua_tostring(S, -1)) : NULL; break;
  default: break;
  }
  lua_settop(S, t);
}

/* The array field `key` of the table at idx as args (promote_to skipped). */
static kiln_arg_t *read_args(lua_State *S, int idx, const char *key, size_t *n_o)
{
  lua_getfield(S, idx, key);
  size_t n = lua_rawlen(S, -1), k = 0;
  kiln_arg_t *args = calloc(n + 1, sizeof *args);
  for (size_t i = 1; args != NULL && i <= n; i++) {
    lua_rawgeti(S, -1, (lua_Integer)i);
    read_arg(S, &args[k]);
    lua_pop(S, 1);
    if (args[k].type == KILN_ARGT_PTR) /* promote_to: resolved by the heap */
      free((void *)args[k].key);
    else
      k++;
  }
  lua_pop(S, 1);
  *n_o = k;
  return args;
}

static void read_pools(lua_State *S, int idx, lk_plan_t *p)
{
  lua_getfield(S, idx, "pools");
  p->npools = lua_rawlen(S, -1);
  p->pools = calloc(p->npools + 1, sizeof *p->pools);
  for (size_t i = 0; p->pools != NULL && i < p->npools; i++) {
    lua_rawgeti(S, -1, (lua_Integer)i + 1);
    int t = lua_gettop(S);
    lk_pool_t *pool = &p->pools[i];
    pool->name = field_str(S, t, "name");
    pool->klass = field_str(S, t, "class");
    pool->promote_to = field_str(S, t, "promote_to");
    pool->args = read_args(S, t, "args", &pool->nargs);
    lua_pop(S, 1);
  }
  lua_pop(S, 1);
}

static void read_roles(lua_State *S, int idx, lk_plan_t *p)
{
  lua_getfield(S, idx, "roles");
  p->nroles = lua_rawlen(S, -1);
  p->roles = calloc(p->nroles + 1, sizeof *p->roles);
  for (size_t i = 0; p->roles != NULL && i < p->nroles; i++) {
    lua_rawgeti(S, -1, (lua_Integer)i + 1);
    p->roles[i].role = field_str(S, -1, "role");
    p->roles[i].pool = field_str(S, -1, "pool");
    lua_pop(S, 1);
  }
  lua_pop(S, 1);
}

static void free_args(kiln_arg_t *args, size_t n)
{
  for (size_t i = 0; args != NULL && i < n; i++) {
    free((void *)args[i].key);
    free((void *)args[i].str);
  }
  free(args);
}

void lk_plan_free(lk_plan_t *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; p->pools != NULL && i < p->npools; i++) {
    free(p->pools[i].name);
    free(p->pools[i].klass);
    free(p->pools[i].promote_to);
    free_args(p->pools[i].args, p->pools[i].nargs);
  }
  for (size_t i = 0; p->roles != NULL && i < p->nroles; i++) {
    free(p->roles[i].role);
    free(p->roles[i].pool);
  }
  free(p->pools);
  free(p->roles);
  free_args(p->arena_args, p->narena);
  free(p->name);
  free(p->doc);
  free(p->file);
  free(p);
}

static int plan_complete(const lk_plan_t *p)
{
  int ok = p->name != NULL && p->doc != NULL && p->file != NULL && p->arena_args != NULL
           && p->pools != NULL && p->roles != NULL;
  for (size_t i = 0; ok && i < p->npools; i++)
    ok = p->pools[i].name != NULL && p->pools[i].klass != NULL && p->pools[i].args != NULL;
  for (size_t i = 0; ok && i < p->nroles; i++)
    ok = p->roles[i].role != NULL && p->roles[i].pool != NULL;
  return ok;
}

static kiln_res_t read_plan(lk_plan_t **plan_o, lua_State *S, int idx)
{
  lk_plan_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return lk_fail(KILN_MEMORY, "out of memory reading a plan");
  p->name = field_str(S, idx, "name");
  p->doc = field_str(S, idx, "doc");
  p->file = field_str(S, idx, "file");
  p->arena_args = read_args(S, idx, "arena", &p->narena);
  read_pools(S, idx, p);
  read_roles(S, idx, p);
  if (!plan_complete(p)) {
    lk_plan_free(p);
    return lk_fail(KILN_MEMORY, "out of memory reading a plan");
  }
  *plan_o = p;
  return KILN_OK;
}

/* ---- overrides: kiln_arg_t[] -> Lua table ------------------------------------------ */

static kiln_res_t push_overrides(lua_State *S, const kiln_arg_t ov[])
{
  lua_newtable(S);
  for (int i = 0; ov != NULL && ov[i].key != NULL; i++) {
    switch (ov[i].type) {
    case KILN_ARGT_SIZE: lua_pushinteger(S, (lua_Integer)ov[i].size); break;
    case KILN_ARGT_NUM: lua_pushnumber(S, ov[i].num); break;
    case KILN_ARGT_BOOL: lua_pushboolean(S, ov[i].b); break;
    case KILN_ARGT_STR: lua_pushstring(S, ov[i].str != NULL ? ov[i].str : ""); break;
    default:
      lua_pop(S, 1);
      return lk_fail(KILN_PARAM, "override '%s': plans take sizes, numbers, booleans and "
                                 "strings, not pointers", ov[i].key);
    }
    lua_setfield(S, -2, ov[i].key);
  }
  return KILN_OK;
}

kiln_res_t lk_plan_load(lk_plan_t **plan_o, const char *spec, const kiln_arg_t overrides[])
{
  if (spec == NULL)
    return lk_fail(KILN_PARAM, "no plan given (a built-in name or a plan file path)");
  lua_State *S = lk_sandbox_open();
  if (S == NULL)
    return KILN_MEMORY;
  lk_sandbox_fn(S, "resolve");
  lua_pushstring(S, spec);
  kiln_res_t res = push_overrides(S, overrides);
  if (res == KILN_OK)
    res = lk_sandbox_pcall(S, 2, 1, spec);
  if (res == KILN_OK)
    res = read_plan(plan_o, S, lua_gettop(S));
  lk_sandbox_close(S);
  return res;
}
