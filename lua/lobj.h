/* lobj.h -- private interface between lobj.c (scripted objects), lscan.c
 * (scripted scan functions) and lrefs.c (references to manual objects).
 * All are part of the Lua module (lua/lkiln.h).
 */
#ifndef LOBJ_H
#define LOBJ_H

#include <ffi.h>
#include <pthread.h>
#include "lkiln.h"

#define LK_OBJ_MT "kiln.object"
#define LK_TYPE_MT "kiln.type"
#define LK_SS_MT "kiln.ss"
#define LK_VIEW_MT "kiln.scanned"
#define LK_ROOTFN_MT "kiln.rootscan"

enum { CHUNK = 1024 };

/* A chunk of handle slots and the root that covers it. */
typedef struct hchunk_s {
  struct hchunk_s *next;
  kiln_root_t root;      /* NULL once detached */
  void *slots[CHUNK];    /* NULL: free or cleared */
} hchunk_t;

/* A handle table: chunks of one rank, and a stack of free slots. */
typedef struct htable_s {
  hchunk_t *chunks;
  void ***free;
  size_t nfree, capfree;
  kiln_rank_t rank;
} htable_t;

/* The slots referring to one manual object (lrefs.c). */
typedef struct lref_s {
  void *target;          /* NULL: an empty entry */
  void ***slots;
  size_t n, cap;
} lref_t;

typedef struct lrefs_s {
  lref_t *tab;           /* cap entries, a power of two; at most half used */
  size_t cap, count;
} lrefs_t;

/* What a manual object's slot holds once the object it referred to is freed. */
extern const char lk_freed_mark;
#define LK_FREED ((void *)&lk_freed_mark)

/* A script's type: the descriptor type and what Lua needs to use it. */
typedef struct ltype_s {
  struct ltype_s *next;
  lk_objs_t *objs;
  kiln_type_t t;
  size_t nrefs, nbytes;  /* fixed part: nrefs references, then nbytes bytes */
  int array, manual;
  char *role;
  kiln_pool_t pool;
  int scan_ref;          /* the Lua scan function (registry), or LUA_NOREF */
  ffi_closure *closure;  /* its C face, or NULL */
} ltype_t;

/* A Lua root scan function (h:rootscan). */
typedef struct lrootfn_s {
  struct lrootfn_s *next;
  lk_objs_t *objs;
  int fn_ref;
  ffi_closure *closure;
  kiln_root_t root;      /* NULL once removed or detached */
} lrootfn_t;

struct lk_objs_s {
  kiln_arena_t arena;
  htable_t strong, weak;
  void ***roots;         /* h:root slots (in strong) */
  size_t nroots, caproots;
  ltype_t *types;
  lrootfn_t *rootfns;
  lrefs_t refs;          /* manual objects' slots, by the object they hold */
  lua_State *L;          /* the Lua thread that last entered the heap */
  int in_scan;           /* > 0 while a script's scan callback runs */
  pthread_mutex_t scan_lock; /* held by each callback: a collection's markers call
                                scan functions on several threads, and L runs one */
  char *error;           /* a callback's failure, raised by lk_objs_after */
  int ss_ref, view_ref;  /* reused scan-state and scanned-object userdata */
  int cif_ready;
  ffi_cif scan_cif, root_cif;
  ffi_type *scan_args[3], *root_args[2];
};

typedef struct lobj_s {  /* a handle */
  void **slot;           /* in objs->strong or ->weak; NULL once collected by Lua */
  lheap_t *lh;           /* kept alive: the heap userdata is the user value */
  int weak;
} lobj_t;

typedef struct ltype_ud_s {
  ltype_t *t;
  lheap_t *lh;
} ltype_ud_t;

lk_objs_t *lk_objs_get(lua_State *L, lheap_t *h);
/* The object behind the handle at idx for the operation `what`: the heap
   open and idle, the object alive (else a Lua error naming `what`). */
void *lk_check_obj(lua_State *L, int idx, lobj_t **hd_o, const char *what);
int lk_obj_field(lua_State *L, void *obj, const char *k);

/* lscan.c */
void lk_scan_open(lua_State *L);
/* The C scan function of type t calling the Lua function fn_ref (a registry
   reference the type now owns). */
kiln_scan_fn lk_scan_type_fn(lua_State *L, ltype_t *t, int fn_ref);
void lk_scan_detach(lk_objs_t *o);
void lk_scan_free(lua_State *L, lk_objs_t *o);

/* lrefs.c: record that slot holds target (0: out of memory, nothing
   recorded), forget it, set every slot holding target to LK_FREED. */
int lk_refs_add(lrefs_t *r, void *target, void **slot);
void lk_refs_remove(lrefs_t *r, void *target, void **slot);
void lk_refs_kill(lrefs_t *r, void *target);
void lk_refs_free(lrefs_t *r);

#endif
