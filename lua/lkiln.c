/* lkiln.c -- the `kiln` Lua module (require "kiln").
 *
 * Owns the Lua face of Kiln: listing and describing plans and classes,
 * checking plan files, heaps as userdata (kiln.heap) and the built-in
 * workloads, and the stats of the pool the calling state lives in when it
 * runs on Kiln (kiln.lua_alloc_stats). Misuse (a wrong argument type) raises an error; a failure a
 * script may want to handle (a bad plan, a failed run) returns nil, message.
 * Plans are evaluated in their own sandboxed state (plan.c), never in the
 * caller's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <lauxlib.h>
#include "lkiln.h"

#define HEAP_MT LK_HEAP_MT

int lk_fail_nil(lua_State *L, const char *msg)
{
  luaL_pushfail(L);
  lua_pushstring(L, msg);
  return 2;
}

/* Argument idx of the call `fn` ("kiln.heap") must have Lua type `type`
   (nil too when optional): else an error naming the call, the argument
   (`arg`, such as "argument 1 (the plan)") and both types. */
static void check_arg(lua_State *L, int idx, int type, int optional, const char *fn,
                      const char *arg)
{
  int got = lua_type(L, idx);
  if (got == type || (optional && got <= LUA_TNIL))
    return;
  luaL_error(L, "kiln: %s: %s must be a %s%s, got %s", fn, arg, lua_typename(L, type),
             optional ? " or nil" : "", luaL_typename(L, idx));
}

/* The string argument idx of fn: a real string, never a number. */
static const char *check_string(lua_State *L, int idx, const char *fn, const char *arg)
{
  check_arg(L, idx, LUA_TSTRING, 0, fn, arg);
  return lua_tostring(L, idx);
}

/* Call the DSL's api[fn](arg) in a fresh sandbox and copy its result to L.
   Returns 1 (the value) or 2 (nil, message). */
static int sandbox_query(lua_State *L, const char *fn, const char *arg)
{
  lua_State *S = lk_sandbox_open();
  if (S == NULL)
    return lk_fail_nil(L, lk_error());
  lk_sandbox_fn(S, fn);
  if (arg != NULL)
    lua_pushstring(S, arg);
  kiln_res_t res = lk_sandbox_pcall(S, arg != NULL ? 1 : 0, 1, arg);
  if (res == KILN_OK)
    lk_copy_value(S, -1, L, 16);
  lk_sandbox_close(S);
  return res == KILN_OK ? 1 : lk_fail_nil(L, lk_error());
}

/* kiln.resolve(plan [, overrides]) -> the validated plan as a table | nil, message */
static int l_resolve(lua_State *L)
{
  const char *spec = check_string(L, 1, "kiln.resolve", "argument 1 (the plan)");
  check_arg(L, 2, LUA_TTABLE, 1, "kiln.resolve", "argument 2 (the overrides)");
  lua_State *S = lk_sandbox_open();
  if (S == NULL)
    return lk_fail_nil(L, lk_error());
  lk_sandbox_fn(S, "resolve");
  lua_pushstring(S, spec);
  lk_copy_value(L, 2, S, 2);
  kiln_res_t res = lk_sandbox_pcall(S, 2, 1, spec);
  if (res == KILN_OK) {
    lk_copy_value(S, -1, L, 16);
    lua_pushliteral(L, "plan");
    lua_setfield(L, -2, "kind");
  }
  lk_sandbox_close(S);
  return res == KILN_OK ? 1 : lk_fail_nil(L, lk_error());
}

/* kiln.plans() -> { {name=, doc=, error=}, ... } */
static int l_plans(lua_State *L)
{
  return sandbox_query(L, "list", NULL);
}

static const char *type_word(kiln_argtype_t t)
{
  static const char *const names[] = {"end", "size", "number", "boolean", "string", "pointer"};
  return (unsigned)t < 6 ? names[t] : "?";
}

static void push_params(lua_State *L, const kiln_param_t *ps)
{
  lua_newtable(L);
  for (int i = 0; ps != NULL && ps[i].key != NULL; i++) {
    lua_createtable(L, 0, 6);
    lua_pushstring(L, ps[i].key);
    lua_setfield(L, -2, "key");
    lua_pushstring(L, type_word(ps[i].type));
    lua_setfield(L, -2, "type");
    lua_pushstring(L, ps[i].def != NULL ? ps[i].def : "");
    lua_setfield(L, -2, "default");
    lua_pushnumber(L, ps[i].min);
    lua_setfield(L, -2, "min");
    lua_pushnumber(L, ps[i].max);
    lua_setfield(L, -2, "max");
    lua_pushstring(L, ps[i].doc != NULL ? ps[i].doc : "");
    lua_setfield(L, -2, "doc");
    lua_rawseti(L, -2, i + 1);
  }
}

static void push_class(lua_State *L, kiln_class_t k)
{
  lua_createtable(L, 0, 5);
  lua_pushliteral(L, "class");
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, kiln_class_name(k));
  lua_setfield(L, -2, "name");
  lua_pushstring(L, kiln_class_doc(k) != NULL ? kiln_class_doc(k) : "");
  lua_setfield(L, -2, "doc");
  lua_pushboolean(L, kiln_class_is_automatic(k));
  lua_setfield(L, -2, "automatic");
  push_params(L, kiln_class_params(k));
  lua_setfield(L, -2, "params");
}

/* kiln.classes() -> the built pool classes, as kiln.describe gives them. */
static int l_classes(lua_State *L)
{
  const kiln_class_t *ks = kiln_classes();
  lua_newtable(L);
  for (int i = 0; ks != NULL && ks[i] != NULL; i++) {
    push_class(L, ks[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* kiln.describe(name): a class, "arena", or a plan (built-in or file). */
static int l_describe(lua_State *L)
{
  const char *name =
      check_string(L, 1, "kiln.describe", "argument 1 (a class, \"arena\" or a plan)");
  kiln_class_t k = kiln_class_lookup(name);
  if (k != NULL) {
    push_class(L, k);
    return 1;
  }
  if (strcmp(name, "arena") == 0) {
    lua_createtable(L, 0, 4);
    lua_pushliteral(L, "arena");
    lua_setfield(L, -2, "kind");
    lua_pushliteral(L, "arena");
    lua_setfield(L, -2, "name");
    lua_pushliteral(L, "address space, commit, barrier and collection trigger of a heap");
    lua_setfield(L, -2, "doc");
    push_params(L, kiln_arena_params());
    lua_setfield(L, -2, "params");
    return 1;
  }
  int n = sandbox_query(L, "class", name); /* a designed class not built yet fails here */
  if (n == 2 || !lua_isnil(L, -1))
    return n;
  lua_settop(L, 1);
  return l_resolve(L);
}

/* Lua overrides table -> kiln_arg_t[] in a userdata kept on the stack. */
static kiln_arg_t *to_overrides(lua_State *L, int idx, const char *fn, const char *arg)
{
  size_t n = 0;
  idx = lua_absindex(L, idx);
  if (lua_isnoneornil(L, idx)) {
    kiln_arg_t *none = lua_newuserdatauv(L, sizeof *none, 0);
    memset(none, 0, sizeof *none);
    return none;
  }
  check_arg(L, idx, LUA_TTABLE, 1, fn, arg);
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1))
    n++;
  kiln_arg_t *args = lua_newuserdatauv(L, (n + 1) * sizeof *args, 0);
  memset(args, 0, (n + 1) * sizeof *args);
  size_t i = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1), i++) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "kiln: %s: overrides are keyed by strings such as \"young.nursery_size\", "
                    "got a %s key", fn, luaL_typename(L, -2));
    args[i].key = lua_tostring(L, -2); /* kept alive by the table */
    if (lua_isinteger(L, -1)) {
      args[i].type = KILN_ARGT_SIZE;
      args[i].size = (size_t)lua_tointeger(L, -1);
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
      args[i].type = KILN_ARGT_NUM;
      args[i].num = lua_tonumber(L, -1);
    } else if (lua_isboolean(L, -1)) {
      args[i].type = KILN_ARGT_BOOL;
      args[i].b = lua_toboolean(L, -1);
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      args[i].type = KILN_ARGT_STR;
      args[i].str = lua_tostring(L, -1);
    } else {
      luaL_error(L, "kiln: %s: override '%s': expected a number, boolean or string, got %s", fn,
                 args[i].key, luaL_typename(L, -1));
    }
  }
  return args;
}

/* kiln.check(plan [, overrides]) -> true | nil, message
   The plan must load, and a heap built from it must open: the rules that
   tie parameters together (a generational pool needs barrier = "card", a
   large_size of at most half a segment, ...) are the pool classes', which
   apply them when a pool is created. The trial heap reserves address
   space and commits little; it is closed at once. It is the plan given
   that is checked: the environment's KILN_PLAN and KILN_OVERRIDES, which
   kiln_heap_open applies, do not apply here. */
static int l_check(lua_State *L)
{
  const char *spec = check_string(L, 1, "kiln.check", "argument 1 (the plan)");
  kiln_arg_t *ov = to_overrides(L, 2, "kiln.check", "argument 2 (the overrides)");
  lk_plan_t *plan;
  if (lk_plan_load(&plan, spec, ov) != KILN_OK)
    return lk_fail_nil(L, lk_error());
  lk_plan_free(plan);
  kiln_heap_t heap;
  if (lk_heap_open_as_given(&heap, spec, kiln_desc_format(), ov) != KILN_OK)
    return lk_fail_nil(L, lk_error());
  kiln_heap_close(heap);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- heaps -------------------------------------------------------------------- */

lheap_t *lk_check_heap(lua_State *L, int idx, const char *what)
{
  lheap_t *h = luaL_testudata(L, idx, HEAP_MT);
  if (h == NULL)
    luaL_error(L, "kiln: %s: expected a heap (from kiln.heap), got %s; call heap methods with a "
                  "colon, as h:collect()", what, luaL_typename(L, idx));
  if (h->heap == NULL)
    luaL_error(L, "kiln: %s: the heap is closed", what);
  lk_objs_check_idle(L, h, what);
  return h;
}

static int open_heap(lua_State *L, const char *spec, int ov_idx, const char *fn, const char *arg)
{
  kiln_arg_t *ov = to_overrides(L, ov_idx, fn, arg);
  lheap_t *h = lua_newuserdatauv(L, sizeof *h, 0);
  memset(h, 0, sizeof *h);
  h->handler_ref = LUA_NOREF;
  luaL_setmetatable(L, HEAP_MT);
  if (kiln_heap_open(&h->heap, spec, kiln_desc_format(), ov) != KILN_OK)
    return lk_fail_nil(L, lk_error());
  lua_remove(L, -2); /* the overrides array */
  return 1;
}

/* kiln.heap(plan [, overrides [, options]]) -> heap | nil, message
   options.stack (default false): scan this thread's C stack ambiguously.
   Scripts need no stack root (handles are exact roots); C code called on
   the heap through kiln.ffi that keeps objects in locals does. */
static int l_heap(lua_State *L)
{
  int stack = 0;
  check_string(L, 1, "kiln.heap", "argument 1 (the plan)");
  check_arg(L, 3, LUA_TTABLE, 1, "kiln.heap", "argument 3 (the options)");
  if (!lua_isnoneornil(L, 3)) {
    lua_getfield(L, 3, "stack");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
      return luaL_error(L, "kiln: kiln.heap: option 'stack' must be a boolean, got %s",
                        luaL_typename(L, -1));
    stack = lua_toboolean(L, -1);
    lua_pop(L, 1);
    for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1))
      if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "stack") != 0)
        return luaL_error(L, "kiln: kiln.heap: unknown option '%s' (options: stack)",
                          luaL_tolstring(L, -2, NULL));
  }
  lua_settop(L, 2);
  if (open_heap(L, lua_tostring(L, 1), 2, "kiln.heap", "argument 2 (the overrides)") != 1)
    return 2;
  lheap_t *h = lua_touserdata(L, -1);
  if (kiln_heap_scan_stack(h->heap, stack) != KILN_OK)
    return luaL_error(L, "kiln.heap: %s", lk_error());
  return 1;
}

/* ---- collection events: h:on_collect(fn) ---------------------------------------- */

/* Inside the handler the heap's collection is over but the call that
   collected is not: closing or collecting the heap would pull it from
   under that call. */
static void check_not_in_handler(lua_State *L, lheap_t *h, const char *what)
{
  if (h->in_handler)
    luaL_error(L, "kiln: %s was called inside the heap's h:on_collect handler, which runs in "
                  "the middle of the call that collected; do it after that call returns", what);
}

static void handler_forget(lua_State *L, lheap_t *h)
{
  luaL_unref(L, LUA_REGISTRYINDEX, h->handler_ref);
  h->handler_ref = LUA_NOREF;
  h->handler_thread = NULL;
  if (h->heap != NULL)
    kiln_arena_on_collect(kiln_heap_arena(h->heap), NULL, NULL);
}

#define SET_FIELD(T, push, v, k) (push(T, v), lua_setfield(T, -2, k))

/* kiln_arena_on_collect's function: call the handler with a table
   describing the collection, protected; keep its first failure. */
static void handler_call(kiln_arena_t arena, const kiln_collection_t *c, void *closure)
{
  lheap_t *h = closure;
  lua_State *T = h->handler_thread;
  (void)arena;
  if (T == NULL || h->handler_error != NULL)
    return;
  lua_pushvalue(T, 1);
  lua_createtable(T, 0, 7);
  SET_FIELD(T, lua_pushstring, c->kind == KILN_COLLECTION_MINOR ? "minor" : "full", "kind");
  SET_FIELD(T, lua_pushboolean, c->incremental, "incremental");
  SET_FIELD(T, lua_pushinteger, (lua_Integer)c->number, "number");
  SET_FIELD(T, lua_pushnumber, c->pause_seconds, "pause");
  SET_FIELD(T, lua_pushinteger, (lua_Integer)c->live, "live");
  SET_FIELD(T, lua_pushinteger, (lua_Integer)c->marked, "marked");
  SET_FIELD(T, lua_pushinteger, (lua_Integer)c->copied, "copied");
  h->in_handler = 1;
  if (lua_pcall(T, 1, 0, 0) != LUA_OK) {
    const char *msg = lua_tostring(T, -1);
    h->handler_error = strdup(msg != NULL ? msg : "(an error that is not a string)");
    lua_pop(T, 1);
  }
  h->in_handler = 0;
  lua_settop(T, 1);
}

void lk_heap_after(lua_State *L, lheap_t *h)
{
  if (h->handler_error == NULL)
    return;
  lua_pushfstring(L, "kiln: the heap's h:on_collect handler failed: %s", h->handler_error);
  free(h->handler_error);
  h->handler_error = NULL;
  lua_error(L);
}

/* h:on_collect(fn): fn(info) after each collection of the heap, info =
   {kind = "full" | "minor", incremental, number, pause (seconds), live,
   marked, copied}; nil stops it. fn may read the heap and h:stats(), but
   runs in the middle of the call that collected: an allocation there
   fails, and h:collect() and h:close() are refused. An error in fn is
   raised by that call once it is done. */
static int h_on_collect(lua_State *L)
{
  lheap_t *h = lk_check_heap(L, 1, "h:on_collect(fn)");
  check_not_in_handler(L, h, "h:on_collect(fn)");
  if (!lua_isnil(L, 2) && !lua_isfunction(L, 2))
    return luaL_error(L, "kiln: h:on_collect(fn): fn must be a function (or nil to stop), got %s",
                      luaL_typename(L, 2));
  handler_forget(L, h);
  if (lua_isnil(L, 2))
    return 0;
  lua_State *T = lua_newthread(L);
  lua_pushvalue(L, 2);
  lua_xmove(L, T, 1);
  h->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  h->handler_thread = T;
  kiln_arena_on_collect(kiln_heap_arena(h->heap), handler_call, h);
  return 0;
}

/* h:close(), and the heap's __close and __gc: closing twice is harmless;
   closing from inside the heap's own collection is refused. */
static int h_close(lua_State *L)
{
  lheap_t *h = luaL_testudata(L, 1, HEAP_MT);
  if (h == NULL || h->heap != NULL)
    h = lk_check_heap(L, 1, "h:close()");
  check_not_in_handler(L, h, "h:close()");
  lk_objs_detach(h);
  if (h->heap != NULL)
    handler_forget(L, h);
  if (h->heap != NULL)
    kiln_heap_close(h->heap);
  h->heap = NULL;
  free(h->handler_error);
  h->handler_error = NULL;
  lk_objs_free(L, h);
  return 0;
}

/* h:collect(): a full Lua collection first, so handles the script dropped
   no longer hold their objects, then a full Kiln collection. */
static int h_collect(lua_State *L)
{
  lheap_t *h = lk_check_heap(L, 1, "h:collect()");
  check_not_in_handler(L, h, "h:collect()");
  lk_objs_before_collect(L, h);
  h = lk_check_heap(L, 1, "h:collect()"); /* a finalizer Lua's collection ran may have closed it */
  kiln_arena_collect(kiln_heap_arena(h->heap));
  lk_objs_after(L, h);
  return 0;
}

static int h_plan(lua_State *L)
{
  lua_pushstring(L, kiln_heap_plan_name(lk_check_heap(L, 1, "h:plan()")->heap));
  return 1;
}

#define SET_INT(L, s, f) (lua_pushinteger(L, (lua_Integer)(s)->f), lua_setfield(L, -2, #f))
#define SET_NUM(L, s, f) (lua_pushnumber(L, (s)->f), lua_setfield(L, -2, #f))

static void push_stats(lua_State *L, const kiln_stats_t *s)
{
  SET_INT(L, s, reserved); SET_INT(L, s, committed); SET_INT(L, s, allocated);
  SET_INT(L, s, live); SET_INT(L, s, copied); SET_INT(L, s, collections);
  SET_INT(L, s, minor_collections); SET_NUM(L, s, gc_seconds); SET_NUM(L, s, pause_max_ms);
  SET_NUM(L, s, pause_p50_ms); SET_NUM(L, s, pause_p99_ms); SET_INT(L, s, in_use);
  SET_INT(L, s, marked); SET_INT(L, s, scanned); SET_INT(L, s, spare_committed);
  SET_INT(L, s, heap_limit); SET_NUM(L, s, copy_gc_seconds);
  SET_INT(L, s, markers); SET_INT(L, s, helped);
  SET_INT(L, s, pools); SET_INT(L, s, segments);
  SET_NUM(L, s, minor_pause_p50_ms); SET_NUM(L, s, minor_pause_p99_ms);
  SET_NUM(L, s, minor_pause_max_ms); SET_NUM(L, s, full_pause_p50_ms);
  SET_NUM(L, s, full_pause_p99_ms); SET_NUM(L, s, full_pause_max_ms);
  SET_INT(L, s, pauses);
  lua_pushboolean(L, s->in_progress);
  lua_setfield(L, -2, "in_progress");
}

static int h_stats(lua_State *L)
{
  kiln_stats_t st;
  memset(&st, 0, sizeof st);
  kiln_arena_stats(kiln_heap_arena(lk_check_heap(L, 1, "h:stats()")->heap), &st);
  lua_newtable(L);
  push_stats(L, &st);
  return 1;
}

/* ---- workloads ------------------------------------------------------------------ */

/* Workload parameters: a wrong type is an error; a value out of range is
   refused (nil, message) before anything runs, naming the parameter and
   its range, so no value is silently replaced by a default. */

enum { MAX_DEPTH = 30 };
#define MAX_SIZE_FIELD 0x1p48 /* bytes: far past any heap, and exact in a double */

static size_t size_field(lua_State *L, int t, const char *key, size_t def)
{
  lua_getfield(L, t, key);
  size_t v = def;
  if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0
      && (double)lua_tointeger(L, -1) <= MAX_SIZE_FIELD) {
    v = (size_t)lua_tointeger(L, -1);
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    double x;
    if (kiln_size_value(lua_tostring(L, -1), &x) != KILN_OK || !(x >= 0 && x <= MAX_SIZE_FIELD))
      luaL_error(L, "kiln: kiln.workload: parameter '%s': '%s' is not a size from 0 to 256TB "
                    "(such as 4096, \"64KB\" or \"16MB\")", key, lua_tostring(L, -1));
    v = (size_t)x;
  } else if (!lua_isnil(L, -1)) {
    const char *type = luaL_typename(L, -1);
    luaL_error(L, "kiln: kiln.workload: parameter '%s' must be a size from 0 to 256TB (a whole "
                  "number of bytes or a string such as \"16MB\"), got %s %s", key, type,
               luaL_tolstring(L, -1, NULL));
  }
  lua_pop(L, 1);
  return v;
}

static double num_field(lua_State *L, int t, const char *key, double def)
{
  lua_getfield(L, t, key);
  double v = def;
  if (lua_type(L, -1) == LUA_TNUMBER)
    v = lua_tonumber(L, -1);
  else if (!lua_isnil(L, -1))
    luaL_error(L, "kiln: kiln.workload: parameter '%s' must be a number, got %s", key,
               luaL_typename(L, -1));
  lua_pop(L, 1);
  return v;
}

/* A whole-number parameter, or def when absent; *ok_o = 0 if it is a
   number that is not whole. */
static lua_Integer int_field(lua_State *L, int t, const char *key, lua_Integer def, int *ok_o)
{
  lua_getfield(L, t, key);
  lua_Integer v = def;
  int whole = 1;
  if (lua_type(L, -1) == LUA_TNUMBER)
    v = lua_tointegerx(L, -1, &whole);
  else if (!lua_isnil(L, -1))
    luaL_error(L, "kiln: kiln.workload: parameter '%s' must be a whole number, got %s", key,
               luaL_typename(L, -1));
  lua_pop(L, 1);
  *ok_o = whole;
  return v;
}

static void check_wkeys(lua_State *L, int t)
{
  static const char *const keys[] = {"seed", "scale", "depth", "live_bytes", "alloc_bytes",
                                     "min_obj", "max_obj", "ptr_density", "mutation_rate",
                                     "threads", "overrides", NULL};
  for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
    int i = 0;
    while (keys[i] != NULL && !(lua_type(L, -2) == LUA_TSTRING
                                && strcmp(keys[i], lua_tostring(L, -2)) == 0))
      i++;
    if (keys[i] == NULL)
      luaL_error(L, "kiln: kiln.workload: unknown parameter '%s' (known: seed, scale, depth, "
                    "live_bytes, alloc_bytes, min_obj, max_obj, ptr_density, mutation_rate, "
                    "threads, overrides)", luaL_tolstring(L, -2, NULL));
  }
}

/* Reads the parameters table at t into wp. Returns NULL, or the sentence
   for a value out of range (pushed on the stack). */
static const char *read_wparams(lua_State *L, const char *name, int t, lk_wparams_t *wp)
{
  lk_wparams_default(wp);
  if (lua_isnoneornil(L, t))
    return NULL;
  check_wkeys(L, t);
  int seed_ok, depth_ok, threads_ok;
  lua_Integer seed = int_field(L, t, "seed", (lua_Integer)wp->seed, &seed_ok);
  lua_Integer threads = int_field(L, t, "threads", 1, &threads_ok);
  lua_Integer depth = int_field(L, t, "depth", -1, &depth_ok);
  wp->scale = num_field(L, t, "scale", wp->scale);
  wp->live_bytes = size_field(L, t, "live_bytes", wp->live_bytes);
  wp->alloc_bytes = size_field(L, t, "alloc_bytes", wp->alloc_bytes);
  wp->min_obj = size_field(L, t, "min_obj", wp->min_obj);
  wp->max_obj = size_field(L, t, "max_obj", wp->max_obj);
  wp->ptr_density = num_field(L, t, "ptr_density", wp->ptr_density);
  wp->mutation_rate = num_field(L, t, "mutation_rate", wp->mutation_rate);
  /* binarytrees builds trees from depth 4 up to its maximum plus 2 */
  int min_depth = strcmp(name, "binarytrees") == 0 ? 6 : 1;
  if (!seed_ok || seed < 0)
    return lua_pushfstring(L, "workload %s: seed must be a whole number from 0 to 2^63-1", name);
  if (depth != -1 && (!depth_ok || depth < min_depth || depth > MAX_DEPTH))
    return lua_pushfstring(L, "workload %s: depth must be a whole number from %d to %d "
                              "(leave it out for the workload's default)", name, min_depth,
                           (int)MAX_DEPTH);
  if (!threads_ok || threads < 1 || threads > LK_MAX_THREADS)
    return lua_pushfstring(L, "workload %s: threads must be a whole number from 1 to %d", name,
                           LK_MAX_THREADS);
  wp->threads = (int)threads;
  if (!(wp->scale > 0 && wp->scale <= 1000))
    return lua_pushfstring(L, "workload %s: scale must be a number above 0 and at most 1000",
                           name);
  wp->seed = (uint64_t)seed;
  wp->depth = depth == -1 ? 0 : (int)depth;
  return NULL;
}

/* Everything is read from the heap before the first Lua allocation, whose
   finalizers could close it. */
/* The results table of a run, the plan's name on top of the stack going
   into its "plan" field: the heap's statistics st, the workload's name and
   what the run returned. */
static void push_run(lua_State *L, const kiln_stats_t *st, const char *workload,
                     const lk_wresult_t *r)
{
  lua_newtable(L);
  push_stats(L, st);
  lua_pushstring(L, workload);
  lua_setfield(L, -2, "workload");
  lua_rotate(L, -2, 1); /* the plan name above the table */
  lua_setfield(L, -2, "plan");
  SET_NUM(L, r, seconds);
  SET_INT(L, r, objects);
  SET_INT(L, r, check);
  lua_pushboolean(L, r->verified);
  lua_setfield(L, -2, "verified");
}

static void push_result(lua_State *L, const char *name, kiln_heap_t heap, const lk_wresult_t *r)
{
  kiln_stats_t st;
  memset(&st, 0, sizeof st);
  kiln_arena_stats(kiln_heap_arena(heap), &st);
  lua_pushstring(L, kiln_heap_plan_name(heap));
  push_run(L, &st, name, r);
}

/* kiln.workload(name, heap_or_plan [, params]) -> results | nil, message */
static int l_workload(lua_State *L)
{
  const char *name = check_string(L, 1, "kiln.workload", "argument 1 (the workload)");
  int opened = lua_type(L, 2) == LUA_TSTRING;
  if (!opened && !luaL_testudata(L, 2, HEAP_MT))
    return luaL_error(L, "kiln: kiln.workload: argument 2 must be a plan (a string) or a heap "
                         "(from kiln.heap), got %s", luaL_typename(L, 2));
  check_arg(L, 3, LUA_TTABLE, 1, "kiln.workload", "argument 3 (the parameters)");
  lua_settop(L, 3);
  lk_wparams_t wp;
  const char *bad = read_wparams(L, name, 3, &wp);
  if (bad != NULL)
    return lk_fail_nil(L, bad);
  if (opened) {
    if (lua_istable(L, 3))
      lua_getfield(L, 3, "overrides");
    else
      lua_pushnil(L);
    if (open_heap(L, lua_tostring(L, 2), -1, "kiln.workload", "parameter 'overrides'") != 1)
      return 2;
    lua_replace(L, 2);
  }
  lheap_t *h = lk_check_heap(L, 2, "kiln.workload");
  check_not_in_handler(L, h, "kiln.workload");
  lk_wresult_t r;
  lk_objs_enter(L, h);
  kiln_res_t res = lk_workload_run(name, h->heap, &wp, &r);
  lk_objs_after(L, h);
  if (res == KILN_OK)
    push_result(L, name, h->heap, &r);
  else
    lk_fail_nil(L, lk_error());
  if (opened) {
    kiln_heap_close(h->heap);
    h->heap = NULL;
  }
  return res == KILN_OK ? 1 : 2;
}

/* kiln.replay(file, plan [, options]) -> results | nil, message
   options.overrides: the plan's overrides; options.verify (default true):
   check the reachable counts at each recorded collection. The results are
   kiln.workload's: seconds, objects (commits), check (the recorded
   collections), verified, and the heap's statistics. */
static int l_replay(lua_State *L)
{
  const char *file = check_string(L, 1, "kiln.replay", "argument 1 (the trace file)");
  const char *plan = check_string(L, 2, "kiln.replay", "argument 2 (the plan)");
  check_arg(L, 3, LUA_TTABLE, 1, "kiln.replay", "argument 3 (the options)");
  lua_settop(L, 3);
  int verify = 1;
  if (lua_istable(L, 3)) {
    for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1))
      if (lua_type(L, -2) != LUA_TSTRING || (strcmp(lua_tostring(L, -2), "overrides") != 0 &&
                                              strcmp(lua_tostring(L, -2), "verify") != 0))
        return luaL_error(L, "kiln: kiln.replay: unknown option '%s' (known: overrides, verify)",
                          luaL_tolstring(L, -2, NULL));
    lua_getfield(L, 3, "verify");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
      return luaL_error(L, "kiln: kiln.replay: option 'verify' must be a boolean, got %s",
                        luaL_typename(L, -1));
    verify = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_getfield(L, 3, "overrides");
  } else {
    lua_pushnil(L);
  }
  kiln_arg_t *ov = to_overrides(L, -1, "kiln.replay", "option 'overrides'");
  lk_wresult_t r;
  kiln_stats_t st;
  memset(&st, 0, sizeof st);
  if (lk_replay_run(file, plan, ov, verify, &r, &st) != KILN_OK)
    return lk_fail_nil(L, lk_error());
  lua_pushstring(L, plan);
  push_run(L, &st, file, &r);
  return 1;
}

static int l_workloads(lua_State *L)
{
  lua_newtable(L);
  for (int i = 0; lk_workload_names[i] != NULL; i++) {
    lua_pushstring(L, lk_workload_names[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* ---- process helpers for scripts and `kiln compare` ------------------------------ */

static int l_rusage(lua_State *L)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)ru.ru_maxrss * 1024);
  lua_setfield(L, -2, "maxrss");
  lua_pushnumber(L, (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6);
  lua_setfield(L, -2, "user");
  lua_pushnumber(L, (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6);
  lua_setfield(L, -2, "sys");
  return 1;
}

static int l_clock(lua_State *L)
{
  lua_pushnumber(L, lk_now());
  return 1;
}

/* kiln.lua_alloc_stats() -> the stats of the pool this very state lives in
   (kiln run --lua-alloc=kiln, kiln_lua_newstate), or nil when its memory
   does not come from Kiln. */
static int l_lua_alloc_stats(lua_State *L)
{
  void *ud = NULL;
  if (lua_getallocf(L, &ud) != kiln_lua_alloc) {
    lua_pushnil(L);
    return 1;
  }
  kiln_pool_stats_t st;
  kiln_pool_stats(ud, &st);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)st.in_use);
  lua_setfield(L, -2, "in_use");
  lua_pushinteger(L, (lua_Integer)st.committed);
  lua_setfield(L, -2, "committed");
  lua_pushinteger(L, (lua_Integer)st.allocated);
  lua_setfield(L, -2, "allocated");
  lua_pushinteger(L, (lua_Integer)st.segments);
  lua_setfield(L, -2, "segments");
  return 1;
}

/* kiln.size("4MB") -> 4194304 | nil, message (the plans' own size rules) */
static int l_size(lua_State *L)
{
  lua_State *S = lk_sandbox_open();
  if (S == NULL)
    return lk_fail_nil(L, lk_error());
  lk_sandbox_fn(S, "parse_size");
  lk_copy_value(L, 1, S, 1);
  int n = lk_sandbox_pcall(S, 1, 2, NULL) == KILN_OK ? 2 : 0;
  if (n == 2) {
    lk_copy_value(S, -2, L, 1);
    lk_copy_value(S, -1, L, 1);
  }
  lk_sandbox_close(S);
  return n == 2 ? 2 : lk_fail_nil(L, lk_error());
}

void lk_new_metatable(lua_State *L, const char *name, const luaL_Reg *methods,
                      const luaL_Reg *meta)
{
  luaL_newmetatable(L, name);
  if (meta != NULL)
    luaL_setfuncs(L, meta, 0);
  if (methods != NULL) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

static void new_heap_mt(lua_State *L)
{
  static const luaL_Reg methods[] = {
    {"close", h_close}, {"collect", h_collect}, {"stats", h_stats}, {"plan", h_plan},
    {"on_collect", h_on_collect}, {NULL, NULL}};
  luaL_newmetatable(L, HEAP_MT);
  luaL_newlib(L, methods);
  lk_objs_open(L);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, h_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, h_close);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
}

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_kiln(lua_State *L)
{
  static const luaL_Reg fns[] = {
    {"plans", l_plans}, {"classes", l_classes}, {"describe", l_describe}, {"check", l_check},
    {"resolve", l_resolve},
    {"heap", l_heap}, {"workload", l_workload}, {"workloads", l_workloads},
    {"replay", l_replay},
    {"rusage", l_rusage}, {"clock", l_clock}, {"size", l_size},
    {"lua_alloc_stats", l_lua_alloc_stats}, {NULL, NULL}};
  new_heap_mt(L);
  luaL_newlib(L, fns);
  lua_pushliteral(L, KILN_VERSION);
  lua_setfield(L, -2, "version");
  lk_open_ffi(L);
  return 1;
}
