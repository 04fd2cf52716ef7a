/* lobj.c -- scripted objects: types, handles and roots of a kiln.heap.
 *
 * Owns what a script sees of a heap's objects (docs/design.md, §Bindings):
 *   local Node = h:type{ name = "Node", refs = 2, bytes = 16 }
 *   local n = Node:new(); n[1] = m; n.bytes = "abc"; h:root(n); h:collect()
 * Objects are in the descriptor format (bindings/desc.c); a Lua type is a
 * descriptor type whose fixed part is `refs` reference words then `bytes`
 * raw bytes (an `array` type adds Node:new(n)'s n reference elements).
 *
 * Handles. A Lua value never holds an object's address: it holds a slot of
 * the heap's handle table, and the table is a root, so a moving collection
 * updates the slot and the value stays valid. Strong slots are an exact root:
 * a handle keeps its object alive until Lua collects the handle (h:collect()
 * runs a full Lua collection first, so dropped handles let go). Weak slots
 * (h:weak(n)) are a weak root: the collector clears them when the object
 * dies, which is how an experiment checks what was reclaimed (h:alive(w)).
 * h:root(n) adds a strong slot that no Lua value owns, until h:unroot(n).
 * Slots live in chunks of CHUNK words, one root each, so the table grows
 * without moving a root.
 *
 * Safety. Every access checks that the heap is open (else a Lua error, never
 * a crash) and, for weak or freed handles, that the object is there. A
 * script's scan callback (bindings/lscan.c) runs inside a collection, so
 * while one runs, every heap method and object access of that heap raises
 * an error naming the call (a collection cannot survive its heap being
 * closed, allocated from or collected under it).
 *
 * Manual objects. h:free clears every handle and root of the object and,
 * through the reverse index of bindings/lrefs.c, marks every slot still
 * referring to it (LK_FREED), so reading that slot is an error too. To keep
 * that index complete and the collector exact, a slot holds objects of its
 * own kind: a manual object's slot never holds a collected object (the
 * collector does not scan manual objects) and a collected object's slot
 * never holds a manual one (h:free could not find it there).
 *
 * Invariant: no C local holds an object address across anything that can
 * collect (allocation, Lua code that may allocate): userdata is made first,
 * then the object is read or allocated and stored into its slot at once.
 */
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lobj.h"

/* ---- handle tables ------------------------------------------------------------ */

static void **table_take(lua_State *L, lk_objs_t *o, htable_t *t)
{
  if (t->nfree == 0) {
    hchunk_t *c = calloc(1, sizeof *c);
    void ***fl = c == NULL ? NULL : realloc(t->free, (t->capfree + CHUNK) * sizeof *fl);
    if (fl == NULL) {
      free(c);
      luaL_error(L, "kiln: out of memory for object handles");
    }
    t->free = fl;
    t->capfree += CHUNK;
    if (kiln_root_create_area(&c->root, o->arena, c->slots, c->slots + CHUNK, t->rank) != KILN_OK) {
      free(c);
      luaL_error(L, "kiln: handle table root: %s", kiln_arena_error(o->arena));
    }
    c->next = t->chunks;
    t->chunks = c;
    for (size_t i = CHUNK; i > 0; i--)
      t->free[t->nfree++] = &c->slots[i - 1];
  }
  return t->free[--t->nfree];
}

static void table_give(htable_t *t, void **slot)
{
  *slot = NULL;
  if (t->nfree < t->capfree) /* always true: capfree counts every slot */
    t->free[t->nfree++] = slot;
}

static void table_detach(htable_t *t)
{
  for (hchunk_t *c = t->chunks; c != NULL; c = c->next) {
    if (c->root != NULL)
      kiln_root_destroy(c->root);
    c->root = NULL;
  }
}

static void table_free(htable_t *t)
{
  while (t->chunks != NULL) {
    hchunk_t *c = t->chunks;
    t->chunks = c->next;
    free(c);
  }
  free(t->free);
  memset(t, 0, sizeof *t);
}

/* Clear every slot holding obj (h:free on a manual heap): O(slots). */
static void table_forget(htable_t *t, const void *obj)
{
  for (hchunk_t *c = t->chunks; c != NULL; c = c->next)
    for (size_t i = 0; i < CHUNK; i++)
      if (c->slots[i] == obj)
        c->slots[i] = NULL;
}

/* ---- the heap's object state ---------------------------------------------------- */

lk_objs_t *lk_objs_get(lua_State *L, lheap_t *h)
{
  if (h->objs != NULL)
    return h->objs;
  lk_objs_t *o = calloc(1, sizeof *o);
  if (o == NULL)
    luaL_error(L, "kiln: out of memory for the heap's object state");
  o->arena = kiln_heap_arena(h->heap);
  o->strong.rank = KILN_RANK_EXACT;
  o->weak.rank = KILN_RANK_WEAK;
  o->L = L;
  o->ss_ref = o->view_ref = LUA_NOREF;
  pthread_mutex_init(&o->scan_lock, NULL);
  h->objs = o;
  return o;
}

void lk_objs_enter(lua_State *L, lheap_t *h)
{
  if (h->objs != NULL)
    h->objs->L = L;
}

void lk_objs_before_collect(lua_State *L, lheap_t *h)
{
  lua_gc(L, LUA_GCCOLLECT);
  lk_objs_enter(L, h);
}

void lk_objs_after(lua_State *L, lheap_t *h)
{
  lk_heap_after(L, h);
  lk_objs_t *o = h->objs;
  if (o == NULL || o->error == NULL)
    return;
  lua_pushstring(L, o->error);
  free(o->error);
  o->error = NULL;
  lua_error(L);
}

void lk_objs_check_idle(lua_State *L, lheap_t *h, const char *what)
{
  if (h->objs != NULL && h->objs->in_scan > 0)
    luaL_error(L, "kiln: %s was called inside a scan or root scan function of the same heap's "
                  "collection; such a callback may not use its heap (it may only fix references "
                  "with ss:fix and read the object it scans), so do this after the collection",
               what);
}

void lk_objs_detach(lheap_t *h)
{
  lk_objs_t *o = h->objs;
  if (o == NULL)
    return;
  table_detach(&o->strong);
  table_detach(&o->weak);
  lk_scan_detach(o);
}

void lk_objs_free(lua_State *L, lheap_t *h)
{
  lk_objs_t *o = h->objs;
  if (o == NULL)
    return;
  h->objs = NULL;
  lk_scan_free(L, o);
  while (o->types != NULL) {
    ltype_t *t = o->types;
    o->types = t->next;
    kiln_type_destroy(t->t);
    free(t->role);
    free(t);
  }
  table_free(&o->strong);
  table_free(&o->weak);
  lk_refs_free(&o->refs);
  free(o->roots);
  free(o->error);
  pthread_mutex_destroy(&o->scan_lock);
  free(o);
}

/* ---- handles ---------------------------------------------------------------- */

/* A new handle userdata with no slot yet; the heap userdata at heap_idx is its
   user value, so the heap outlives it. */
static lobj_t *handle_new(lua_State *L, int heap_idx, int weak)
{
  heap_idx = lua_absindex(L, heap_idx);
  lobj_t *hd = lua_newuserdatauv(L, sizeof *hd, 1);
  hd->slot = NULL;
  hd->lh = lua_touserdata(L, heap_idx);
  hd->weak = weak;
  lua_pushvalue(L, heap_idx);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, LK_OBJ_MT);
  return hd;
}

/* Give the handle on the stack top its slot, holding obj (not NULL). */
static void handle_set(lua_State *L, lobj_t *hd, void *obj)
{
  lk_objs_t *o = hd->lh->objs;
  hd->slot = table_take(L, o, hd->weak ? &o->weak : &o->strong);
  *hd->slot = obj;
}

/* The handle at idx, or an error naming `what`. */
static lobj_t *check_handle(lua_State *L, int idx, const char *what)
{
  lobj_t *hd = luaL_testudata(L, idx, LK_OBJ_MT);
  if (hd == NULL)
    luaL_error(L, "kiln: %s: expected an object of a kiln heap, got %s", what,
               luaL_typename(L, idx));
  return hd;
}

/* Pushes nothing. */
void *lk_check_obj(lua_State *L, int idx, lobj_t **hd_o, const char *what)
{
  lobj_t *hd = check_handle(L, idx, what);
  if (hd->lh->heap == NULL)
    luaL_error(L, "kiln: %s: the object's heap is closed", what);
  lk_objs_check_idle(L, hd->lh, what);
  void *obj = hd->slot != NULL ? *hd->slot : NULL;
  if (obj == NULL)
    luaL_error(L, hd->weak ? "kiln: %s: the object was collected or freed (a weak handle)"
                           : "kiln: %s: the object was freed", what);
  if (hd_o != NULL)
    *hd_o = hd;
  return obj;
}

static int obj_gc(lua_State *L)
{
  lobj_t *hd = luaL_checkudata(L, 1, LK_OBJ_MT);
  if (hd->lh->heap != NULL && hd->lh->objs != NULL && hd->slot != NULL)
    table_give(hd->weak ? &hd->lh->objs->weak : &hd->lh->objs->strong, hd->slot);
  hd->slot = NULL;
  return 0;
}

static ltype_t *type_of(void *obj)
{
  return kiln_type_data(kiln_desc_type(obj));
}

static void **check_slot(lua_State *L, void *obj, lua_Integer i)
{
  void **slot = i >= 1 ? kiln_desc_slot(obj, (size_t)i - 1) : NULL;
  if (slot == NULL)
    luaL_error(L, "kiln: %s has no reference slot %I (it has %d)", kiln_type_name(kiln_desc_type(obj)),
               i, (int)kiln_desc_nslots(obj));
  return slot;
}

static char *bytes_of(void *obj, const ltype_t *t)
{
  return (char *)kiln_desc_fixed(obj) + t->nrefs * sizeof(void *);
}

/* Fields every view of an object has (handles and scanned objects). */
int lk_obj_field(lua_State *L, void *obj, const char *k)
{
  ltype_t *t = type_of(obj);
  if (strcmp(k, "bytes") == 0)
    lua_pushlstring(L, bytes_of(obj, t), t->nbytes);
  else if (strcmp(k, "type") == 0)
    lua_pushstring(L, kiln_type_name(t->t));
  else if (strcmp(k, "length") == 0)
    lua_pushinteger(L, (lua_Integer)kiln_desc_length(obj));
  else
    return luaL_error(L, "kiln: %s has no field '%s' (fields: bytes, type, length, 1..#obj)",
                      kiln_type_name(t->t), k);
  return 1;
}

/* The reference in slot i of obj (from 1), as a new handle or nil. */
static int push_slot(lua_State *L, lua_Integer i)
{
  check_slot(L, lk_check_obj(L, 1, NULL, "obj[i]"), i);
  lua_getiuservalue(L, 1, 1); /* the heap userdata */
  lobj_t *hd = handle_new(L, -1, 0);
  lua_remove(L, -2);
  void *obj = lk_check_obj(L, 1, NULL, "obj[i]"); /* reread: see header */
  void *ref = *kiln_desc_slot(obj, (size_t)i - 1);
  if (ref == LK_FREED)
    return luaL_error(L, "kiln: %s slot %I refers to an object that was freed (h:free); store "
                         "another object or nil in it", kiln_type_name(kiln_desc_type(obj)), i);
  if (ref == NULL) {
    lua_pop(L, 1);
    lua_pushnil(L);
  } else {
    handle_set(L, hd, ref);
  }
  return 1;
}

/* A numeric key as a slot number (1.0 is slot 1); a fraction is an error. */
static lua_Integer slot_key(lua_State *L, void *obj)
{
  int whole;
  lua_Integer i = lua_tointegerx(L, 2, &whole);
  if (!whole)
    luaL_error(L, "kiln: %s has no reference slot %s (slots are whole numbers from 1 to #obj)",
               kiln_type_name(kiln_desc_type(obj)), luaL_tolstring(L, 2, NULL));
  return i;
}

static int obj_index(lua_State *L)
{
  if (lua_type(L, 2) == LUA_TNUMBER)
    return push_slot(L, slot_key(L, lk_check_obj(L, 1, NULL, "obj[i]")));
  void *obj = lk_check_obj(L, 1, NULL, "obj.field");
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "kiln: %s has no field %s (fields: bytes, type, length, 1..#obj)",
                      kiln_type_name(kiln_desc_type(obj)), luaL_tolstring(L, 2, NULL));
  return lk_obj_field(L, obj, lua_tostring(L, 2));
}

static void set_bytes(lua_State *L, void *obj)
{
  ltype_t *t = type_of(obj);
  if (lua_type(L, 3) != LUA_TSTRING)
    luaL_error(L, "kiln: %s.bytes takes a string, got %s", kiln_type_name(t->t),
               luaL_typename(L, 3));
  size_t n;
  const char *s = lua_tolstring(L, 3, &n);
  if (n > t->nbytes)
    luaL_error(L, "kiln: %s.bytes holds %d bytes, not %d", kiln_type_name(t->t), (int)t->nbytes,
               (int)n);
  char *b = bytes_of(obj, t);
  memcpy(b, s, n);
  memset(b + n, 0, t->nbytes - n);
}

/* The object to store at stack index 3 into obj's slot (NULL for nil): an
   object of the same heap and of the same kind, manual or collected. */
static void *storable(lua_State *L, void *obj, lobj_t *hd)
{
  if (lua_isnil(L, 3))
    return NULL;
  lobj_t *vd = luaL_testudata(L, 3, LK_OBJ_MT);
  if (vd == NULL)
    luaL_error(L, "kiln: obj[i] = v: v must be an object of this heap or nil, got %s",
               luaL_typename(L, 3));
  void *v = lk_check_obj(L, 3, &vd, "obj[i] = v");
  if (vd->lh != hd->lh)
    luaL_error(L, "kiln: cannot store an object of another heap");
  ltype_t *t = type_of(obj), *vt = type_of(v);
  if (t->manual && !vt->manual)
    luaL_error(L, "kiln: cannot store a collected %s (role '%s') in a slot of manual %s (role "
                  "'%s'): the collector does not scan manual objects, so it would move or "
                  "reclaim the %s under that reference; keep it in a collected object or a root",
               kiln_type_name(vt->t), vt->role, kiln_type_name(t->t), t->role,
               kiln_type_name(vt->t));
  if (!t->manual && vt->manual)
    luaL_error(L, "kiln: cannot store a manual %s (role '%s') in a slot of collected %s (role "
                  "'%s'): h:free could not clear that reference; keep manual objects in manual "
                  "objects' slots", kiln_type_name(vt->t), vt->role, kiln_type_name(t->t), t->role);
  return v;
}

/* A manual object's store: keep the reverse index (lrefs.c) in step. */
static void store_manual(lua_State *L, lk_objs_t *o, void **slot, void *v)
{
  if (v != NULL && !lk_refs_add(&o->refs, v, slot))
    luaL_error(L, "kiln: out of memory for the references between manual objects");
  if (*slot != NULL && *slot != LK_FREED)
    lk_refs_remove(&o->refs, *slot, slot);
  *slot = v;
}

static int obj_newindex(lua_State *L)
{
  lobj_t *hd;
  void *obj = lk_check_obj(L, 1, &hd, "obj[k] = v");
  if (lua_type(L, 2) != LUA_TNUMBER) {
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";
    if (strcmp(k, "bytes") != 0)
      return luaL_error(L, "kiln: %s field %s cannot be set (only bytes and 1..#obj)",
                        kiln_type_name(kiln_desc_type(obj)), luaL_tolstring(L, 2, NULL));
    set_bytes(L, obj);
    return 0;
  }
  void **slot = check_slot(L, obj, slot_key(L, obj));
  void *v = storable(L, obj, hd);
  if (type_of(obj)->manual)
    store_manual(L, hd->lh->objs, slot, v);
  else
    kiln_write(hd->lh->objs->arena, obj, slot, v);
  return 0;
}

static int obj_len(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)kiln_desc_nslots(lk_check_obj(L, 1, NULL, "#obj")));
  return 1;
}

static int obj_eq(lua_State *L)
{
  if (!luaL_testudata(L, 1, LK_OBJ_MT) || !luaL_testudata(L, 2, LK_OBJ_MT)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, lk_check_obj(L, 1, NULL, "a == b") == lk_check_obj(L, 2, NULL, "a == b"));
  return 1;
}

static int obj_tostring(lua_State *L)
{
  lobj_t *hd = luaL_checkudata(L, 1, LK_OBJ_MT);
  void *obj = hd->lh->heap != NULL && hd->slot != NULL ? *hd->slot : NULL;
  if (obj == NULL)
    lua_pushstring(L, "kiln.object (gone)");
  else
    lua_pushfstring(L, "%s: %p", kiln_type_name(kiln_desc_type(obj)), obj);
  return 1;
}

/* ---- types --------------------------------------------------------------- */

/* What h:type{...} asks for, checked before anything is made. */
typedef struct type_req_s {
  const char *name, *role;
  size_t nrefs, nbytes;
  int array, scan_idx;   /* scan_idx: stack index of the scan function, or 0 */
} type_req_t;

/* Field key of the spec table at 2, pushed (read raw: no metamethod runs);
   an error naming the field unless it is nil or of Lua type `type` (`what`
   describes it). Returns whether it is there. */
static int type_field(lua_State *L, const char *name, const char *key, int type, const char *what)
{
  lua_pushstring(L, key);
  int got = lua_rawget(L, 2);
  if (got != LUA_TNIL && got != type)
    luaL_error(L, "kiln: h:type '%s': field '%s' must be %s, got %s", name, key, what,
               luaL_typename(L, -1));
  return got != LUA_TNIL;
}

static size_t opt_count(lua_State *L, const char *name, const char *key)
{
  type_field(L, name, key, LUA_TNUMBER, "a whole number from 0 to 16777216");
  int whole = 1;
  lua_Integer v = lua_isnil(L, -1) ? 0 : lua_tointegerx(L, -1, &whole);
  if (!whole || v < 0 || v > (1 << 24))
    luaL_error(L, "kiln: h:type '%s': field '%s' must be a whole number from 0 to 16777216, "
                  "got %s", name, key, luaL_tolstring(L, -1, NULL));
  lua_pop(L, 1);
  return (size_t)v;
}

static void check_type_keys(lua_State *L, const char *name)
{
  static const char *const keys[] = {"name", "refs", "bytes", "array", "role", "scan", NULL};
  for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
    int ok = 0;
    for (int i = 0; keys[i] != NULL && lua_type(L, -2) == LUA_TSTRING; i++)
      ok |= strcmp(lua_tostring(L, -2), keys[i]) == 0;
    if (!ok)
      luaL_error(L, "kiln: h:type '%s': unknown field '%s' (fields: name, refs, bytes, array, "
                    "role, scan)", name, luaL_tolstring(L, -2, NULL));
  }
}

/* Reads and checks every field of the spec table at 2; leaves the name,
   role and scan values on the stack (they must stay alive). */
static void read_type_req(lua_State *L, type_req_t *rq)
{
  lua_pushliteral(L, "name");
  if (lua_rawget(L, 2) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
    luaL_error(L, "kiln: h:type: field 'name' must be a non-empty string (a type needs a name), "
                  "got %s", luaL_typename(L, -1));
  rq->name = lua_tostring(L, -1);
  check_type_keys(L, rq->name);
  rq->nrefs = opt_count(L, rq->name, "refs");
  rq->nbytes = opt_count(L, rq->name, "bytes");
  type_field(L, rq->name, "array", LUA_TBOOLEAN, "a boolean (true: Type:new(n) adds n slots)");
  rq->array = lua_toboolean(L, -1);
  lua_pop(L, 1);
  rq->role = type_field(L, rq->name, "role", LUA_TSTRING, "a string (a role of the plan)")
                 ? lua_tostring(L, -1) : "objects";
  rq->scan_idx = type_field(L, rq->name, "scan", LUA_TFUNCTION, "a function (ss, obj)")
                     ? lua_gettop(L) : 0;
}

static ltype_t *type_record(lua_State *L, lheap_t *h, const type_req_t *rq)
{
  kiln_pool_t pool = kiln_heap_pool(h->heap, rq->role);
  if (pool == NULL)
    luaL_error(L, "kiln: h:type '%s': plan '%s' has no role '%s'", rq->name,
               kiln_heap_plan_name(h->heap), rq->role);
  int manual = !kiln_class_is_automatic(kiln_pool_class(pool));
  lk_objs_t *o = lk_objs_get(L, h);
  ltype_t *t = calloc(1, sizeof *t);
  char *role = strdup(rq->role);
  if (t == NULL || role == NULL) {
    free(t);
    free(role);
    luaL_error(L, "kiln: out of memory for type '%s'", rq->name);
  }
  t->objs = o;
  t->scan_ref = LUA_NOREF;
  t->nrefs = rq->nrefs;
  t->nbytes = rq->nbytes;
  t->array = rq->array;
  t->role = role;
  t->pool = pool;
  t->manual = manual;
  t->next = o->types;
  o->types = t;
  return t;
}

/* h:type{ name=, refs=, bytes=, array=, role=, scan= } -> type */
static int h_type(lua_State *L)
{
  lheap_t *h = lk_check_heap(L, 1, "h:type{...}");
  if (!lua_istable(L, 2))
    return luaL_error(L, "kiln: h:type: expected a table of fields, as h:type{ name = \"Node\", "
                         "refs = 2 }, got %s", luaL_typename(L, 2));
  lua_settop(L, 2);
  type_req_t rq;
  read_type_req(L, &rq);
  /* Lua allocations first: a finalizer they run may close the heap, so it
     is checked again before the type is made. */
  ltype_ud_t *ud = lua_newuserdatauv(L, sizeof *ud, 1);
  ud->t = NULL;
  ud->lh = h;
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, LK_TYPE_MT);
  int scan_ref = LUA_NOREF;
  if (rq.scan_idx != 0) {
    lua_pushvalue(L, rq.scan_idx);
    scan_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  if (h->heap == NULL) {
    luaL_unref(L, LUA_REGISTRYINDEX, scan_ref);
    return luaL_error(L, "kiln: h:type{...}: the heap is closed");
  }
  ltype_t *t = type_record(L, h, &rq);
  kiln_type_spec_t spec = {rq.name, t->nrefs * sizeof(void *) + t->nbytes, t->nrefs, NULL,
                           t->array ? sizeof(void *) : 0, t->array ? 1 : 0, NULL, t};
  if (scan_ref != LUA_NOREF)
    spec.scan = lk_scan_type_fn(L, t, scan_ref);
  if (kiln_type_create(&t->t, &spec) != KILN_OK)
    return luaL_error(L, "kiln: h:type '%s': %s", rq.name, kiln_arena_error(NULL));
  ud->t = t;
  return 1;
}

static ltype_t *check_type(lua_State *L, int idx, lheap_t **h_o, const char *what)
{
  ltype_ud_t *ud = luaL_testudata(L, idx, LK_TYPE_MT);
  if (ud == NULL)
    luaL_error(L, "kiln: %s: expected a type (from h:type), got %s; call it with a colon, as "
                  "Node:new()", what, luaL_typename(L, idx));
  if (ud->lh->heap == NULL || ud->t == NULL)
    luaL_error(L, "kiln: %s: the type's heap is closed", what);
  lk_objs_check_idle(L, ud->lh, what);
  *h_o = ud->lh;
  return ud->t;
}

static kiln_res_t alloc_obj(ltype_t *t, kiln_heap_t heap, size_t n, void **p_o)
{
  if (!t->manual) {
    kiln_ap_t ap = kiln_heap_ap(heap, t->role);
    return ap == NULL ? kiln_set_error(KILN_MEMORY, "no allocation point for role '%s'", t->role)
                      : kiln_desc_alloc(p_o, ap, t->t, n);
  }
  kiln_res_t res = kiln_alloc(p_o, t->pool, kiln_desc_size(t->t, n));
  if (res == KILN_OK)
    kiln_desc_init(*p_o, t->t, n);
  return res;
}

/* Type:new([n]) -> object | nil, message (n: elements of an array type) */
static int type_new(lua_State *L)
{
  lheap_t *h;
  ltype_t *t = check_type(L, 1, &h, "Type:new()");
  int whole = 1;
  lua_Integer n = lua_isnoneornil(L, 2) ? 0 : lua_tointegerx(L, 2, &whole);
  if (!whole || lua_type(L, 2) == LUA_TSTRING || n < 0 || n > ((lua_Integer)1 << 32))
    return luaL_error(L, t->array ? "kiln: %s:new(n): n must be a whole number from 0 to 2^32"
                                  : "kiln: %s:new() takes no length (not an array type)",
                      kiln_type_name(t->t));
  if (!t->array && n != 0)
    return luaL_error(L, "kiln: %s:new() takes no length (not an array type)",
                      kiln_type_name(t->t));
  lua_getiuservalue(L, 1, 1); /* the heap userdata */
  lobj_t *hd = handle_new(L, -1, 0);
  t = check_type(L, 1, &h, "Type:new()"); /* a finalizer may have closed the heap */
  lk_objs_enter(L, h);
  void *p;
  kiln_res_t res = alloc_obj(t, h->heap, (size_t)n, &p);
  if (res != KILN_OK) {
    const char *why = kiln_arena_error(kiln_heap_arena(h->heap));
    lk_objs_after(L, h);
    return lk_fail_nil(L, lua_pushfstring(L, "kiln: %s:new: %s", kiln_type_name(t->t), why));
  }
  handle_set(L, hd, p);
  lk_objs_after(L, h);
  return 1;
}

static int type_index(lua_State *L)
{
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";
  ltype_ud_t *ud = luaL_checkudata(L, 1, LK_TYPE_MT);
  if (strcmp(k, "new") == 0)
    lua_pushcfunction(L, type_new);
  else if (strcmp(k, "name") == 0 && ud->lh->heap != NULL && ud->t != NULL)
    lua_pushstring(L, kiln_type_name(ud->t->t));
  else
    lua_pushnil(L);
  return 1;
}

/* ---- roots, weak handles, free ---------------------------------------------- */

/* The object of the handle at idx, which must belong to heap h: another
   heap's collector would never see a root or weak slot kept here. */
static void *own_obj(lua_State *L, lheap_t *h, int idx, const char *what)
{
  lobj_t *hd;
  void *obj = lk_check_obj(L, idx, &hd, what);
  if (hd->lh != h)
    luaL_error(L, "kiln: %s: the object belongs to another heap", what);
  return obj;
}

static int h_root(lua_State *L)
{
  lheap_t *h = lk_check_heap(L, 1, "h:root(obj)");
  void *obj = own_obj(L, h, 2, "h:root(obj)");
  lk_objs_t *o = lk_objs_get(L, h);
  if (o->nroots == o->caproots) {
    size_t cap = o->caproots ? 2 * o->caproots : 64;
    void ***r = realloc(o->roots, cap * sizeof *r);
    if (r == NULL)
      return luaL_error(L, "kiln: out of memory for roots");
    o->roots = r;
    o->caproots = cap;
  }
  void **slot = table_take(L, o, &o->strong);
  *slot = obj;
  o->roots[o->nroots++] = slot;
  return 0;
}

/* Remove root i (order is not kept). */
static void root_remove(lk_objs_t *o, size_t i)
{
  table_give(&o->strong, o->roots[i]);
  o->roots[i] = o->roots[--o->nroots];
}

static int h_unroot(lua_State *L)
{
  lheap_t *h = lk_check_heap(L, 1, "h:unroot(obj)");
  void *obj = own_obj(L, h, 2, "h:unroot(obj)");
  lk_objs_t *o = lk_objs_get(L, h);
  for (size_t i = o->nroots; i > 0; i--)
    if (*o->roots[i - 1] == obj) {
      root_remove(o, i - 1);
      return 0;
    }
  return luaL_error(L, "kiln: h:unroot(obj): the object is not a root of this heap");
}

static int h_roots(lua_State *L)
{
  lheap_t *h = lk_check_heap(L, 1, "h:roots()");
  lua_createtable(L, (int)lk_objs_get(L, h)->nroots, 0);
  /* Each handle is a Lua allocation, whose finalizers may close the heap
     or unroot: check again, and reread the roots, after each. */
  for (size_t i = 0; i < lk_objs_get(L, lk_check_heap(L, 1, "h:roots()"))->nroots; i++) {
    lobj_t *hd = handle_new(L, 1, 0);
    lk_objs_t *o = lk_objs_get(L, lk_check_heap(L, 1, "h:roots()"));
    if (i >= o->nroots) {
      lua_pop(L, 1);
      break;
    }
    handle_set(L, hd, *o->roots[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* h:weak(obj) -> a weak handle. Of an object already gone (freed, or a
   dead weak handle's) it is a weak handle that is not alive: h:weak is a
   way to watch for reclamation, and that object is reclaimed. */
static int h_weak(lua_State *L)
{
  lheap_t *h = lk_check_heap(L, 1, "h:weak(obj)");
  lobj_t *of = check_handle(L, 2, "h:weak(obj)");
  if (of->lh != h)
    return luaL_error(L, "kiln: h:weak(obj): the object belongs to another heap");
  lobj_t *hd = handle_new(L, 1, 1);
  lk_check_heap(L, 1, "h:weak(obj)"); /* a finalizer may have closed it */
  void *obj = of->slot != NULL ? *of->slot : NULL;
  if (obj != NULL)
    handle_set(L, hd, obj);
  return 1;
}

static int h_alive(lua_State *L)
{
  lk_check_heap(L, 1, "h:alive(obj)");
  lobj_t *hd = check_handle(L, 2, "h:alive(obj)");
  lua_pushboolean(L, hd->slot != NULL && *hd->slot != NULL);
  return 1;
}

/* Take obj's own references out of the reverse index (lrefs.c). */
static void forget_slots(lk_objs_t *o, void *obj)
{
  for (size_t i = kiln_desc_nslots(obj); i > 0; i--) {
    void **slot = kiln_desc_slot(obj, i - 1);
    if (*slot != NULL && *slot != LK_FREED)
      lk_refs_remove(&o->refs, *slot, slot);
  }
}

/* h:free(obj): manual objects only. Every handle and root of obj is
   cleared, and every slot still referring to it is marked LK_FREED. */
static int h_free(lua_State *L)
{
  lheap_t *h = lk_check_heap(L, 1, "h:free(obj)");
  void *obj = own_obj(L, h, 2, "h:free(obj)");
  ltype_t *t = type_of(obj);
  if (!t->manual)
    return luaL_error(L, "kiln: h:free(obj): %s objects are collected, not freed (role '%s' is "
                         "an automatic pool)", kiln_type_name(t->t), t->role);
  lk_objs_t *o = h->objs;
  for (size_t i = o->nroots; i > 0; i--)
    if (*o->roots[i - 1] == obj)
      root_remove(o, i - 1);
  forget_slots(o, obj);
  lk_refs_kill(&o->refs, obj);
  table_forget(&o->strong, obj);
  table_forget(&o->weak, obj);
  kiln_free(t->pool, obj, kiln_desc_size(t->t, kiln_desc_length(obj)));
  return 0;
}

static int h_pointer(lua_State *L)
{
  lua_pushlightuserdata(L, lk_check_heap(L, 1, "h:pointer()")->heap);
  return 1;
}

/* ---- registration ------------------------------------------------------------ */

void lk_objs_open(lua_State *L)
{
  static const luaL_Reg heap_methods[] = {
    {"type", h_type}, {"root", h_root}, {"unroot", h_unroot}, {"roots", h_roots},
    {"weak", h_weak}, {"alive", h_alive}, {"free", h_free}, {"pointer", h_pointer},
    {NULL, NULL}};
  static const luaL_Reg obj_mt[] = {
    {"__index", obj_index}, {"__newindex", obj_newindex}, {"__len", obj_len},
    {"__eq", obj_eq}, {"__tostring", obj_tostring}, {"__gc", obj_gc}, {NULL, NULL}};
  static const luaL_Reg type_mt[] = {{"__index", type_index}, {NULL, NULL}};
  luaL_setfuncs(L, heap_methods, 0);
  lk_new_metatable(L, LK_OBJ_MT, NULL, obj_mt);
  lk_new_metatable(L, LK_TYPE_MT, NULL, type_mt);
  lk_scan_open(L);
}
