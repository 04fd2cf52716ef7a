/* lscan.c -- Lua functions as scan functions, through libffi closures.
 *
 * Owns the C face of a script's scan code: h:type{ scan = fn } makes fn the
 * type's kiln_scan_fn, and h:rootscan(fn) makes fn a root scan function
 * (kiln_root_create_scan). Each is a real C function pointer made by
 * ffi_prep_closure_loc; the core calls it like any other scan function, and
 * the closure's handler calls the Lua function with a scan state `ss`:
 *   type scan:  fn(ss, obj)   ss:fix(obj, i) fixes obj's reference slot i
 *   root scan:  fn(ss)        ss:fix(handle) fixes the handle's slot
 * ss and obj are valid only during the call (they are reused userdata).
 *
 * Cost: one ffi trampoline, one lua_pcall and one ss:fix call per reference,
 * against a few instructions for the descriptor's own scan; bench/ measures
 * it (bench/scripted_scan.lua).
 *
 * A collection's markers may call scan functions on several threads at
 * once; the heap's scan_lock lets one callback into its Lua state run at a
 * time.
 *
 * While a callback runs, its heap's in_scan count is raised, and every
 * heap method, object access and kiln.workload on that heap refuses to run
 * (lk_objs_check_idle): a collection cannot survive its heap being closed,
 * allocated from or collected under it.
 *
 * Failure: a collection cannot unwind, so the Lua call is protected. If a
 * type's scan function fails, the object is scanned by its descriptor
 * instead, the collection completes correctly, and the first message is
 * raised as a Lua error when the script's call into the heap returns
 * (lk_objs_after). A scan function must fix every reference of its object,
 * as in C: one that skips a slot leaves it stale (the checked build's
 * verifier reports it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lobj.h"

typedef struct lss_s {   /* the scan-state userdata */
  kiln_ss_t ss;          /* NULL outside a callback */
  lk_objs_t *objs;
} lss_t;

typedef struct lview_s { /* the object being scanned */
  void *obj;             /* NULL outside a callback */
} lview_t;

static void *reused(lua_State *L, int *ref, size_t size, const char *mt)
{
  if (*ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, *ref);
    return lua_touserdata(L, -1);
  }
  void *ud = lua_newuserdatauv(L, size, 0);
  memset(ud, 0, size);
  luaL_setmetatable(L, mt);
  lua_pushvalue(L, -1);
  *ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return ud;
}

static void remember_error(lk_objs_t *o, const char *what, const char *msg)
{
  if (o->error != NULL)
    return;
  size_t n = strlen(what) + strlen(msg) + 64;
  o->error = malloc(n);
  if (o->error != NULL)
    snprintf(o->error, n, "kiln: %s failed during a collection: %s", what, msg);
}

/* Call the Lua function fn_ref with (ss [, obj]) under lua_pcall. */
static kiln_res_t call_lua_locked(lk_objs_t *o, int fn_ref, kiln_ss_t ss, void *obj,
                                  const char *what)
{
  lua_State *L = o->L;
  if (L == NULL || !lua_checkstack(L, 8)) {
    remember_error(o, what, "no Lua stack to run it on");
    return KILN_FAIL;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
  lss_t *s = reused(L, &o->ss_ref, sizeof *s, LK_SS_MT);
  s->ss = ss;
  s->objs = o;
  lview_t *v = NULL;
  if (obj != NULL) {
    v = reused(L, &o->view_ref, sizeof *v, LK_VIEW_MT);
    v->obj = obj;
  }
  o->in_scan++;
  int status = lua_pcall(L, obj != NULL ? 2 : 1, 0, 0);
  o->in_scan--;
  s->ss = NULL;
  if (v != NULL)
    v->obj = NULL;
  if (status == LUA_OK)
    return KILN_OK;
  const char *msg = lua_tostring(L, -1);
  remember_error(o, what, msg != NULL ? msg : "(error object is not a string)");
  lua_pop(L, 1);
  return KILN_FAIL;
}

/* One callback at a time: markers scan on several threads at once. */
static kiln_res_t call_lua(lk_objs_t *o, int fn_ref, kiln_ss_t ss, void *obj, const char *what)
{
  pthread_mutex_lock(&o->scan_lock);
  kiln_res_t res = call_lua_locked(o, fn_ref, ss, obj, what);
  pthread_mutex_unlock(&o->scan_lock);
  return res;
}

/* ---- closures ------------------------------------------------------------------ */

static void prepare_cifs(lk_objs_t *o)
{
  if (o->cif_ready)
    return;
  o->scan_args[0] = o->scan_args[1] = o->scan_args[2] = &ffi_type_pointer;
  o->root_args[0] = o->root_args[1] = &ffi_type_pointer;
  o->cif_ready = ffi_prep_cif(&o->scan_cif, FFI_DEFAULT_ABI, 3, &ffi_type_sint, o->scan_args)
                     == FFI_OK
                 && ffi_prep_cif(&o->root_cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, o->root_args)
                     == FFI_OK;
}

/* A closure of cif calling handler(ud); its code address goes to *code_o. */
static ffi_closure *make_closure(lua_State *L, ffi_cif *cif,
                                 void (*handler)(ffi_cif *, void *, void **, void *), void *ud,
                                 void **code_o)
{
  ffi_closure *c = ffi_closure_alloc(sizeof *c, code_o);
  if (c == NULL)
    luaL_error(L, "kiln: libffi could not allocate a closure");
  if (ffi_prep_closure_loc(c, cif, handler, ud, *code_o) != FFI_OK) {
    ffi_closure_free(c);
    luaL_error(L, "kiln: libffi could not prepare a closure");
  }
  return c;
}

static void type_scan_handler(ffi_cif *cif, void *ret, void **args, void *ud)
{
  ltype_t *t = ud;
  kiln_ss_t ss = *(kiln_ss_t *)args[0];
  void *obj = *(void **)args[1];
  (void)cif;
  kiln_res_t res = call_lua(t->objs, t->scan_ref, ss, obj, "a type's scan function");
  if (res != KILN_OK) /* the descriptor's own scan keeps the collection correct */
    res = kiln_desc_scan_refs(ss, obj);
  *(ffi_arg *)ret = (ffi_arg)res;
}

kiln_scan_fn lk_scan_type_fn(lua_State *L, ltype_t *t, int fn_ref)
{
  t->scan_ref = fn_ref;
  prepare_cifs(t->objs);
  if (!t->objs->cif_ready)
    luaL_error(L, "kiln: libffi could not prepare the scan function's signature");
  void *code;
  t->closure = make_closure(L, &t->objs->scan_cif, type_scan_handler, t, &code);
  kiln_scan_fn fn;
  memcpy(&fn, &code, sizeof fn); /* libffi hands out code as void * */
  return fn;
}

static void root_scan_handler(ffi_cif *cif, void *ret, void **args, void *ud)
{
  lrootfn_t *r = ud;
  (void)cif;
  call_lua(r->objs, r->fn_ref, *(kiln_ss_t *)args[0], NULL, "a root scan function");
  *(ffi_arg *)ret = (ffi_arg)KILN_OK; /* nothing to fall back on; weak slots stay safe */
}

/* h:rootscan(fn) -> root (root:remove() stops it) */
static int h_rootscan(lua_State *L)
{
  lk_check_heap(L, 1, "h:rootscan(fn)");
  if (!lua_isfunction(L, 2))
    return luaL_error(L, "kiln: h:rootscan(fn): fn must be a function (ss), got %s",
                      luaL_typename(L, 2));
  lua_settop(L, 2);
  /* Lua allocations first: a finalizer they run may close the heap, so it
     is checked again before anything is made. */
  lrootfn_t **ud = lua_newuserdatauv(L, sizeof *ud, 1);
  *ud = NULL;
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, LK_ROOTFN_MT);
  lua_pushvalue(L, 2);
  int fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lheap_t *h = lua_touserdata(L, 1);
  if (h->heap == NULL) {
    luaL_unref(L, LUA_REGISTRYINDEX, fn_ref);
    return luaL_error(L, "kiln: h:rootscan(fn): the heap is closed");
  }
  lk_objs_t *o = lk_objs_get(L, h);
  prepare_cifs(o);
  lrootfn_t *r = calloc(1, sizeof *r);
  if (r == NULL || !o->cif_ready) {
    free(r);
    luaL_unref(L, LUA_REGISTRYINDEX, fn_ref);
    return luaL_error(L, "kiln: cannot make a root scan function (out of memory or libffi)");
  }
  r->objs = o;
  r->next = o->rootfns;
  o->rootfns = r;
  r->fn_ref = fn_ref;
  void *code;
  r->closure = make_closure(L, &o->root_cif, root_scan_handler, r, &code);
  kiln_root_scan_fn fn;
  memcpy(&fn, &code, sizeof fn);
  if (kiln_root_create_scan(&r->root, o->arena, KILN_RANK_EXACT, fn, NULL) != KILN_OK)
    return luaL_error(L, "kiln: h:rootscan(fn): %s", kiln_arena_error(o->arena));
  *ud = r;
  lua_settop(L, 3);
  return 1;
}

static int rootfn_remove(lua_State *L)
{
  lrootfn_t **ud = luaL_testudata(L, 1, LK_ROOTFN_MT);
  if (ud == NULL)
    return luaL_error(L, "kiln: root:remove(): expected a root scan function (from h:rootscan), "
                         "got %s; call it with a colon, as r:remove()", luaL_typename(L, 1));
  lrootfn_t *r = *ud;
  lua_getiuservalue(L, 1, 1);
  lheap_t *h = lua_touserdata(L, -1);
  if (h->heap != NULL)
    lk_objs_check_idle(L, h, "root:remove()");
  if (h->heap != NULL && r != NULL && r->root != NULL) {
    kiln_root_destroy(r->root);
    r->root = NULL;
  }
  return 0;
}

void lk_scan_detach(lk_objs_t *o)
{
  for (lrootfn_t *r = o->rootfns; r != NULL; r = r->next)
    if (r->root != NULL) {
      kiln_root_destroy(r->root);
      r->root = NULL;
    }
}

void lk_scan_free(lua_State *L, lk_objs_t *o)
{
  while (o->rootfns != NULL) {
    lrootfn_t *r = o->rootfns;
    o->rootfns = r->next;
    luaL_unref(L, LUA_REGISTRYINDEX, r->fn_ref);
    if (r->closure != NULL)
      ffi_closure_free(r->closure);
    free(r);
  }
  for (ltype_t *t = o->types; t != NULL; t = t->next) {
    luaL_unref(L, LUA_REGISTRYINDEX, t->scan_ref);
    if (t->closure != NULL)
      ffi_closure_free(t->closure);
  }
  luaL_unref(L, LUA_REGISTRYINDEX, o->ss_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, o->view_ref);
}

/* ---- the scan state and the scanned object, seen from Lua ----------------------- */

static lss_t *check_ss(lua_State *L)
{
  lss_t *s = luaL_testudata(L, 1, LK_SS_MT);
  if (s == NULL)
    luaL_error(L, "kiln: ss:fix: expected the scan state as self, got %s; call it with a colon, "
                  "as ss:fix(obj, i)", luaL_typename(L, 1));
  if (s->ss == NULL)
    luaL_error(L, "kiln: a scan state is used outside its scan callback");
  return s;
}

static void **view_slot(lua_State *L, lview_t *v)
{
  int whole = 0;
  lua_Integer i = lua_type(L, 3) == LUA_TNUMBER ? lua_tointegerx(L, 3, &whole) : 0;
  if (!whole)
    luaL_error(L, "kiln: ss:fix(obj, i): i must be a slot number of the scanned object, got %s",
               luaL_typename(L, 3));
  void **slot = v->obj != NULL && i >= 1 ? kiln_desc_slot(v->obj, (size_t)i - 1) : NULL;
  if (slot == NULL)
    luaL_error(L, "kiln: ss:fix(obj, %I): no such reference slot in the scanned object", i);
  return slot;
}

/* ss:fix(obj, i) for the scanned object's slot i; ss:fix(handle) for a handle. */
static int ss_fix(lua_State *L)
{
  lss_t *s = check_ss(L);
  void **slot;
  lview_t *v = luaL_testudata(L, 2, LK_VIEW_MT);
  if (v != NULL) {
    slot = view_slot(L, v);
  } else {
    lobj_t *hd = luaL_testudata(L, 2, LK_OBJ_MT);
    if (hd == NULL)
      return luaL_error(L, "kiln: ss:fix: expected the scanned object and a slot number, or an "
                           "object handle, got %s", luaL_typename(L, 2));
    if (hd->lh->objs != s->objs)
      return luaL_error(L, "kiln: ss:fix: the handle belongs to another heap");
    slot = hd->slot;
    if (slot == NULL || *slot == NULL)
      return 0; /* a cleared handle has nothing to fix */
  }
  kiln_res_t res = KILN_FIX12(s->ss, slot);
  if (res != KILN_OK)
    return luaL_error(L, "kiln: ss:fix failed: %s", kiln_res_name(res));
  return 0;
}

/* The object the scanned-object userdata at idx stands for, during its call. */
static void *check_view(lua_State *L, int idx)
{
  lview_t *v = luaL_checkudata(L, idx, LK_VIEW_MT);
  if (v->obj == NULL)
    luaL_error(L, "kiln: a scanned object is used outside its scan callback");
  return v->obj;
}

static int view_index(lua_State *L)
{
  void *obj = check_view(L, 1);
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "kiln: a scanned object has fields bytes, type and length, and its slots "
                         "are read with ss:fix(obj, i), not obj[%s]", luaL_tolstring(L, 2, NULL));
  return lk_obj_field(L, obj, lua_tostring(L, 2));
}

static int view_len(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)kiln_desc_nslots(check_view(L, 1)));
  return 1;
}

void lk_scan_open(lua_State *L)
{
  lua_pushcfunction(L, h_rootscan);
  lua_setfield(L, -2, "rootscan");
  static const luaL_Reg ss_methods[] = {{"fix", ss_fix}, {NULL, NULL}};
  static const luaL_Reg view_mt[] = {{"__index", view_index}, {"__len", view_len}, {NULL, NULL}};
  static const luaL_Reg rootfn_methods[] = {{"remove", rootfn_remove}, {NULL, NULL}};
  lk_new_metatable(L, LK_SS_MT, ss_methods, NULL);
  lk_new_metatable(L, LK_VIEW_MT, NULL, view_mt);
  lk_new_metatable(L, LK_ROOTFN_MT, rootfn_methods, NULL);
}
