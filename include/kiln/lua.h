/* kiln/lua.h -- Lua on Kiln: a Lua 5.4 state whose memory comes from a
 * manual Kiln pool (bindings/lua_alloc.c). Part of libkiln-heap (pkg-config
 * kiln-heap), which links Lua; builds on libkiln's core API (<kiln.h>).
 */
#ifndef KILN_LUA_H
#define KILN_LUA_H

#include "kiln.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Declared, not included: this header does not pull in lua.h. */
struct lua_State;

/* A Lua 5.4 state whose every byte, the state itself included, comes from
   pool: a manual pool of variable-size blocks (mvff), used from one thread
   only. Like luaL_newstate, it sets a panic function and a warning function
   (off until "@on"). An allocation the pool refuses (say, at the arena's
   commit_limit) becomes Lua's "not enough memory" error. lua_close it before
   destroying the pool. NULL if pool is not manual (kiln_arena_error(NULL)
   says so) or cannot hold the state (kiln_arena_error of the pool's arena). */
struct lua_State *kiln_lua_newstate(kiln_pool_t pool);

/* The lua_Alloc behind it, with the pool as ud: for an embedder that calls
   lua_newstate(kiln_lua_alloc, pool) itself, and to tell whether a state runs
   on Kiln (lua_getallocf returns kiln_lua_alloc). */
void *kiln_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

#ifdef __cplusplus
}
#endif
#endif /* KILN_LUA_H */
