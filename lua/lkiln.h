/* lkiln.h -- private interface between the files of lua/.
 *
 * lua/ is a client of include/kiln.h only. This header joins its parts: the
 * plan loader (plan.c), the error slot for failures with no arena (err.c),
 * the embedded sources (generated plans_embed.c), the workloads
 * (workloads.c) and the Lua module (lkiln.c). Names use the lk_ prefix so
 * the library's ^kiln_ export rule never matches them.
 */
#ifndef LKILN_H
#define LKILN_H

#include <stddef.h>
#include "kiln.h"
#include <lua.h>
#include <lauxlib.h>

/* ---- errors ------------------------------------------------------------- */

/* Record the sentence for a failure with no arena and return res, so callers
   can write `return lk_fail(KILN_PARAM, ...)`. lk_error() reads it back
   (thread-local); it goes to kiln_set_error too, so kiln_arena_error(NULL)
   shows it (docs/design.md, §Errors and parameters). */
kiln_res_t lk_fail(kiln_res_t res, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
const char *lk_error(void);

/* ---- embedded sources (generated from the plan and DSL Lua files) -------- */

typedef struct lk_embed_s {
  const char *name;            /* "plans/gencopy.lua", "lua/dsl.lua", ... */
  const unsigned char *data;
  size_t len;
} lk_embed_t;
extern const lk_embed_t lk_embedded[]; /* NULL-name ended */
const lk_embed_t *lk_embed_find(const char *name);

/* ---- the plan sandbox --------------------------------------------------- */

/* A sandboxed state with the plan DSL loaded (memory and instruction budget,
   no io/os/load/require/debug). NULL on failure, message in lk_error(). */
lua_State *lk_sandbox_open(void);
void lk_sandbox_close(lua_State *S);
/* Push the DSL api function `fn`; push its arguments; then lk_sandbox_pcall.
   A failure leaves nothing on the stack and its sentence in lk_error();
   `what` (the plan, or NULL) prefixes the budget messages that have no line. */
void lk_sandbox_fn(lua_State *S, const char *fn);
kiln_res_t lk_sandbox_pcall(lua_State *S, int nargs, int nres, const char *what);
/* Copy a value of plain data (tables, strings, numbers, booleans) between states. */
void lk_copy_value(lua_State *from, int idx, lua_State *to, int depth);

/* ---- resolved plans ----------------------------------------------------- */

typedef struct lk_pool_s {
  char *name, *klass;
  char *promote_to;      /* pool name or NULL; the heap turns it into a pointer */
  kiln_arg_t *args;      /* nargs entries then KILN_ARGS_END; promote_to excluded */
  size_t nargs;
  /* Where the plan set things, as message prefixes ("FILE:LINE: ", or
     "override 'POOL.KEY': "): the pool, and each of args. */
  char *where, **arg_where;
} lk_pool_t;

typedef struct lk_role_s {
  char *role, *pool;
} lk_role_t;

typedef struct lk_plan_s {
  char *name, *doc, *file;
  kiln_arg_t *arena_args; /* narena entries then KILN_ARGS_END */
  size_t narena;
  char *where;            /* where the plan sets up its arena, as a message prefix */
  char **arena_where;     /* where each of arena_args was set */
  lk_pool_t *pools;       /* creation order: a promote_to target comes first */
  size_t npools;
  lk_role_t *roles;
  size_t nroles;
} lk_plan_t;

/* Load, validate, merge extends and apply overrides: KILN_OK or KILN_PARAM
   (KILN_IO, KILN_MEMORY) with the sentence in lk_error(). */
kiln_res_t lk_plan_load(lk_plan_t **plan_o, const char *spec, const kiln_arg_t overrides[]);
void lk_plan_free(lk_plan_t *plan);

/* ---- workloads (workloads.c) ---------------------------------------------- */

typedef struct lk_wparams_s {
  uint64_t seed;
  double scale;            /* multiplies the work (sizes, tree counts); 1.0 = standard run */
  /* gcbench / binarytrees */
  int depth;               /* 0: the workload's default */
  /* churn */
  size_t live_bytes, alloc_bytes;
  size_t min_obj, max_obj; /* object size range in bytes (payload) */
  double ptr_density;      /* fraction of an object's words that are references */
  double mutation_rate;    /* stores of a reference per allocated object */
} lk_wparams_t;

typedef struct lk_wresult_s {
  double seconds;
  uint64_t objects;        /* objects allocated */
  uint64_t check;          /* workload-specific checksum of the final heap */
  int verified;            /* the workload's own heap check passed */
} lk_wresult_t;

/* The workloads' objects are in the descriptor format (kiln_desc_format). */
/* Names, NULL-ended. */
extern const char *const lk_workload_names[];
void lk_wparams_default(lk_wparams_t *wp);
/* Run workload `name` on heap (role "objects"). KILN_OK or a failure with
   its sentence in lk_error(). */
kiln_res_t lk_workload_run(const char *name, kiln_heap_t heap, const lk_wparams_t *wp,
                           lk_wresult_t *res_o);

/* ---- the Lua module (lkiln.c) ----------------------------------------------- */

int luaopen_kiln(lua_State *L);

/* A heap userdata (kiln.heap): the heap, and its scripted objects' state
   (bindings/lobj.c), made on first use. */
#define LK_HEAP_MT "kiln.heap"
typedef struct lk_objs_s lk_objs_t;
typedef struct lheap_s {
  kiln_heap_t heap;  /* NULL once closed */
  lk_objs_t *objs;   /* NULL until the script makes a type */
} lheap_t;
/* The heap at idx for the call named `what` ("h:collect()", "kiln.workload"):
   a Lua error unless it is a heap, open, and not inside one of its own
   collection callbacks (lk_objs_check_idle). */
lheap_t *lk_check_heap(lua_State *L, int idx, const char *what);
/* Register metatable name with the functions of meta and, unless methods
   is NULL, an __index table of methods. Leaves the stack as it was. */
void lk_new_metatable(lua_State *L, const char *name, const luaL_Reg *methods,
                      const luaL_Reg *meta);
int lk_fail_nil(lua_State *L, const char *msg); /* push nil, msg; return 2 */

/* ---- scripted objects (bindings/lobj.c) ------------------------------------- */

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

/* ---- bindings/lffi.c: kiln.ffi -------------------------------------------------- */

/* Set field "ffi" of the table on the top of the stack to the kiln.ffi table. */
void lk_open_ffi(lua_State *L);

#endif
