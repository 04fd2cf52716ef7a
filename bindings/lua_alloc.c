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
 * Realloc is allocate, copy, free: mvff frees a block by the size it was
 * allocated with, so a block never changes size in place, and the state
 * keeps no allocator data beside the pool (lua_close cannot say when to
 * destroy any), so there are no size classes in front of mvff; its
 * per-size cache already serves small sizes from a LIFO list. bench/README.md
 * (Lua on Kiln) has the measurements of both alternatives.
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
