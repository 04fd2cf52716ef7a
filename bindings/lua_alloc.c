/* lua_alloc.c -- Lua on Kiln: a lua_Alloc over a Kiln manual pool, and
 * kiln_lua_newstate, a Lua 5.4 state living wholly in such a pool
 * (docs/design.md, §Bindings).
 *
 * Owns no memory of its own: the allocator's userdata is the pool itself, so
 * a state needs nothing created beside it and nothing destroyed after
 * lua_close. The pool must be a manual pool of variable-size blocks (mvff);
 * it is not thread-safe, so a state and every other user of its pool stay on
 * one thread.
 *
 * Contract with Lua (manual, lua_Alloc): osize is the block's size when ptr
 * is not NULL, and Lua passes back exactly the size it asked for, which is
 * what kiln_free wants; when ptr is NULL, osize is the type of object being
 * created (LUA_TSTRING, ...), not a size. A refused allocation returns NULL,
 * which Lua turns into an emergency collection, a retry and then its
 * "not enough memory" error; Lua 5.4 copes with a failed shrink too
 * (tests/test_lua_alloc.c, "oom").
 *
 * Realloc is allocate, copy, free. Two alternatives were measured on
 * tests/lua_alloc/alloc_heavy.lua (Lua 5.4.4, glibc 2.36, gcc -O2, on a
 * shared two-core machine, so times are CPU-time medians of 15 interleaved
 * runs, backed by cachegrind's instruction counts; both at SCALE 0.5):
 *  - In place when the size rounds to the same 16-byte granule: of the
 *    89,385 reallocs Lua made at SCALE 1, 86 would qualify (0.1%), and it
 *    would lean on mvff accepting a free of a size other than the one
 *    allocated. Not done.
 *  - mfs pools as size classes for blocks of at most 64 or 128 bytes in front
 *    of mvff: 3% fewer instructions in the whole run (1.576G vs 1.625G), but
 *    no measurable time (median 0.144 s vs 0.146 s, inside the noise), since
 *    mvff's per-size cache already serves small sizes from a LIFO list. It
 *    would need allocator state that lua_close cannot tell us to destroy.
 *    Not done. (Stock malloc measured 0.161 s and 1.617G instructions.)
 */
#include <stdio.h>
#include <string.h>
#include <lua.h>
#include "kiln/lua.h"

void *kiln_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  kiln_pool_t pool = ud;
  if (ptr == NULL)
    osize = 0; /* it was the new object's type tag */
  if (nsize == 0) {
    kiln_free(pool, ptr, osize); /* kiln_free ignores NULL */
    return NULL;
  }
  void *block;
  if (kiln_alloc(&block, pool, nsize) != KILN_OK)
    return NULL; /* the old block, if any, stays valid: Lua keeps using it */
  if (ptr != NULL) {
    memcpy(block, ptr, osize < nsize ? osize : nsize);
    kiln_free(pool, ptr, osize);
  }
  return block;
}

/* The same behaviour luaL_newstate gives its states, so a script sees no
   difference: a panic message on stderr, and warn() off until "@on". The
   warning state is which of three functions is installed: off, on (at the
   start of a message) and continuing (inside a multi-part message). */
static int on_panic(lua_State *L)
{
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n",
          msg != NULL ? msg : "error object is not a string");
  fflush(stderr);
  return 0; /* Lua aborts */
}

static void warn_off(void *ud, const char *msg, int tocont);
static void warn_on(void *ud, const char *msg, int tocont);

static void warn_continuing(void *ud, const char *msg, int tocont)
{
  fputs(msg, stderr);
  if (!tocont) {
    fputs("\n", stderr);
    lua_setwarnf(ud, warn_on, ud);
  }
  fflush(stderr);
}

static void warn_on(void *ud, const char *msg, int tocont)
{
  if (!tocont && msg[0] == '@') { /* a control message, never printed */
    if (strcmp(msg, "@off") == 0)
      lua_setwarnf(ud, warn_off, ud);
    return;
  }
  fputs("Lua warning: ", stderr);
  if (tocont)
    lua_setwarnf(ud, warn_continuing, ud);
  warn_continuing(ud, msg, tocont);
}

static void warn_off(void *ud, const char *msg, int tocont)
{
  if (!tocont && strcmp(msg, "@on") == 0)
    lua_setwarnf(ud, warn_on, ud);
}

lua_State *kiln_lua_newstate(kiln_pool_t pool)
{
  kiln_class_t klass = kiln_pool_class(pool);
  if (klass == NULL) {
    kiln_set_error(KILN_PARAM, "kiln_lua_newstate: pool is NULL");
    return NULL;
  }
  if (kiln_class_is_automatic(klass)) {
    kiln_set_error(KILN_PARAM,
                   "kiln_lua_newstate: pool class '%s' is automatic; Lua needs a manual pool "
                   "of variable-size blocks (mvff)", kiln_class_name(klass));
    return NULL;
  }
  lua_State *L = lua_newstate(kiln_lua_alloc, pool);
  if (L == NULL)
    return NULL; /* kiln_alloc left the reason in kiln_arena_error */
  lua_atpanic(L, on_panic);
  lua_setwarnf(L, warn_off, L);
  return L;
}
