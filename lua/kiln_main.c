/* kiln_main.c -- the `kiln` program: a Lua interpreter with the kiln module.
 *
 * Owns process start-up only: a full Lua state, `kiln` preloaded so
 * require "kiln" finds this copy, the front end's own embedded modules
 * (lua/cli/NAME.lua) preloaded as "kiln.cli.NAME", and the embedded front
 * end (lua/cli.lua) called with the program's own path and its arguments.
 * The front end returns the exit status: 0 ok, 1 failure, 2 usage.
 *
 * Also owns the choice of allocator for that state: `kiln run
 * --lua-alloc=kiln` puts the whole state on a Kiln mvff pool
 * (kiln_lua_newstate, bindings/lua_alloc.c), which must be decided before the state exists, so here and
 * not in cli.lua. cli.lua parses the option again, for its usage errors and
 * to keep it out of the script's arguments.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include "lkiln.h"

/* The front end, generated from lua/cli.lua by plans/embed.sh (cli_embed.c). */
extern const lk_embed_t lk_cli_embedded[];

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

/* The loader of one embedded front-end module (upvalue: its lk_embed_t). */
static int load_cli_module(lua_State *L)
{
  const lk_embed_t *e = lua_touserdata(L, lua_upvalueindex(1));
  lua_pushfstring(L, "@%s", e->name);
  if (luaL_loadbufferx(L, (const char *)e->data, e->len, lua_tostring(L, -1), "t") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}

/* package.preload["kiln.cli.NAME"] for each embedded lua/cli/NAME.lua, so
   the front end's modules come from this program and never from the disk. */
static void preload_cli_modules(lua_State *L)
{
  static const char dir[] = "lua/cli/", ext[] = ".lua";
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const lk_embed_t *e = lk_cli_embedded; e->name != NULL; e++) {
    size_t len = strlen(e->name);
    if (strncmp(e->name, dir, sizeof dir - 1) != 0 || len <= sizeof dir - 1 + sizeof ext - 1
        || strcmp(e->name + len - (sizeof ext - 1), ext) != 0)
      continue;
    lua_pushfstring(L, "kiln.cli.%s", e->name + sizeof dir - 1);
    lua_pushlstring(L, lua_tostring(L, -1), strlen(lua_tostring(L, -1)) - (sizeof ext - 1));
    lua_remove(L, -2);
    lua_pushlightuserdata(L, (void *)(uintptr_t)e);
    lua_pushcclosure(L, load_cli_module, 1);
    lua_settable(L, -3);
  }
  lua_pop(L, 1);
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
  preload_cli_modules(L);
  const lk_embed_t *e = lk_embed_find(lk_cli_embedded, "lua/cli.lua");
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

/* Only the exact option selects Kiln; any other spelling gets a stock state
   and cli.lua's usage error. */
static int wants_kiln_alloc(int argc, char **argv)
{
  return argc > 2 && strcmp(argv[1], "run") == 0 && strcmp(argv[2], "--lua-alloc=kiln") == 0;
}

/* Lua's memory for `kiln run --lua-alloc=kiln`: an arena with the default
   parameters and one mvff pool. Both stay NULL for a stock state. */
typedef struct lua_home_s {
  kiln_arena_t arena;
  kiln_pool_t pool;
} lua_home_t;

static lua_State *open_state(lua_home_t *home, int on_kiln)
{
  if (!on_kiln)
    return luaL_newstate();
  if (kiln_arena_create(&home->arena, NULL) != KILN_OK) {
    fprintf(stderr, "kiln: --lua-alloc=kiln: %s\n", kiln_arena_error(NULL));
    return NULL;
  }
  lua_State *L = NULL;
  if (kiln_pool_create(&home->pool, home->arena, kiln_class_mvff(), NULL) == KILN_OK)
    L = kiln_lua_newstate(home->pool);
  if (L == NULL)
    fprintf(stderr, "kiln: --lua-alloc=kiln: %s\n", kiln_arena_error(home->arena));
  return L;
}

/* After lua_close: nothing of the state is left in the pool. */
static void close_home(lua_home_t *home)
{
  if (home->pool != NULL)
    kiln_pool_destroy(home->pool);
  if (home->arena != NULL)
    kiln_arena_destroy(home->arena);
}

int main(int argc, char **argv)
{
  lua_home_t home = {NULL, NULL};
  lua_State *L = open_state(&home, wants_kiln_alloc(argc, argv));
  if (L == NULL) {
    fputs("kiln: cannot create a Lua state (out of memory)\n", stderr);
    close_home(&home);
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
  close_home(&home);
  return status;
}
