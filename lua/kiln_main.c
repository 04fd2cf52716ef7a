/* kiln_main.c -- the `kiln` program: a Lua interpreter with the kiln module.
 *
 * Owns process start-up only: a full Lua state, `kiln` preloaded so
 * require "kiln" finds this copy, and the embedded front end (lua/cli.lua)
 * called with the program's own path and its arguments. The front end
 * returns the exit status: 0 ok, 1 failure, 2 usage.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include "lkiln.h"

/* The path of this executable, so `kiln compare` can run itself again. */
static void push_self(lua_State *L, const char *argv0)
{
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0)
    lua_pushlstring(L, buf, (size_t)n);
  else
    lua_pushstring(L, argv0);
}

static int run_cli(lua_State *L)
{
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_kiln);
  lua_setfield(L, -2, "kiln");
  lua_pop(L, 1);
  const lk_embed_t *e = lk_embed_find("lua/cli.lua");
  if (e == NULL)
    return luaL_error(L, "the command-line front end is missing from the program");
  if (luaL_loadbufferx(L, (const char *)e->data, e->len, "=[kiln cli]", "t") != LUA_OK)
    return lua_error(L);
  push_self(L, argv[0]);
  lua_createtable(L, argc, 0);
  for (int i = 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  lua_call(L, 2, 1);
  return 1;
}

int main(int argc, char **argv)
{
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fputs("kiln: cannot create a Lua state (out of memory)\n", stderr);
    return 1;
  }
  lua_pushcfunction(L, run_cli);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = 1;
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "kiln: %s\n", msg != NULL ? msg : "(error object is not a string)");
  } else {
    status = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
  }
  fflush(stdout);
  lua_close(L);
  return status;
}
