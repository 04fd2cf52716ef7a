/* lkiln.h -- private interface between the files of the Lua module in
 * lua/: the module itself (lkiln.c), scripted objects (lobj.c, lscan.c,
 * lrefs.c) and kiln.ffi (lffi.c), compiled once into the convenience
 * library that the module kiln.so, the kiln program and the tests link.
 *
 * The module sits above the plans and heaps layer (plans/plans.h), which
 * it uses; nothing below includes this header. Names use the lk_ prefix.
 */
#ifndef LKILN_H
#define LKILN_H

#include "plans/plans.h"
#include "kiln/lua.h"

/* ---- the Lua module (lkiln.c) ----------------------------------------------- */

int luaopen_kiln(lua_State *L);

/* A heap userdata (kiln.heap): the heap, and its scripted objects' state
   (lobj.c), made on first use. */
#define LK_HEAP_MT "kiln.heap"
typedef struct lk_objs_s lk_objs_t;
typedef struct lheap_s {
  kiln_heap_t heap;  /* NULL once closed */
  lk_objs_t *objs;   /* NULL until the script makes a type */
  /* h:on_collect (lkiln.c): the handler runs on a thread of its own, the
     handler at index 1, anchored in the registry; its failure is raised by
     lk_objs_after. */
  lua_State *handler_thread;
  int handler_ref;   /* the thread's registry reference, or LUA_NOREF */
  int in_handler;    /* the handler is running */
  char *handler_error;
} lheap_t;
/* Raise the failure of h's h:on_collect handler, if any (lk_objs_after). */
void lk_heap_after(lua_State *L, lheap_t *h);
/* The heap at idx for the call named `what` ("h:collect()", "kiln.workload"):
   a Lua error unless it is a heap, open, and not inside one of its own
   collection callbacks (lk_objs_check_idle). */
lheap_t *lk_check_heap(lua_State *L, int idx, const char *what);
/* Register metatable name with the functions of meta and, unless methods
   is NULL, an __index table of methods. Leaves the stack as it was. */
void lk_new_metatable(lua_State *L, const char *name, const luaL_Reg *methods,
                      const luaL_Reg *meta);
int lk_fail_nil(lua_State *L, const char *msg); /* push nil, msg; return 2 */

/* ---- scripted objects (lobj.c) -------------------------------------------- */

/* Add the object methods (type, root, unroot, roots, weak, alive, free) to
   the heap method table on the stack top, and make the handle metatables. */
void lk_objs_open(lua_State *L);
/* A Lua error naming `what` if a scan or root scan function of h's
   collection is running: the collector cannot survive its heap being used
   (or closed) under it. */
void lk_objs_check_idle(lua_State *L, lheap_t *h, const char *what);
/* Entering code that may collect (callbacks run on this Lua thread). */
void lk_objs_enter(lua_State *L, lheap_t *h);
/* Before a collection the script asked for: release handles Lua dropped. */
void lk_objs_before_collect(lua_State *L, lheap_t *h);
/* After anything that may have collected: raise a scan callback's error. */
void lk_objs_after(lua_State *L, lheap_t *h);
/* Closing: detach roots before kiln_heap_close, free types after it. */
void lk_objs_detach(lheap_t *h);
void lk_objs_free(lua_State *L, lheap_t *h);

/* ---- lffi.c: kiln.ffi -------------------------------------------------------------- */

/* Set field "ffi" of the table on the top of the stack to the kiln.ffi table. */
void lk_open_ffi(lua_State *L);

#endif
