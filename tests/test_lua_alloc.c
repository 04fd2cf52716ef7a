/* test_lua_alloc.c -- Lua on Kiln (bindings/lua_alloc.c): a state created by
 * kiln_lua_newstate lives in its pool from its first byte and gives every
 * byte back at lua_close; the allocator keeps contents across reallocs; the
 * pool's commit limit becomes Lua's "not enough memory" error, after which
 * the state still works and closes cleanly; pools Lua cannot use are
 * refused with a sentence. A client of kiln.h, as an embedder would be. */
#include "testlib.h"
#include "graph.h"
#include "kiln/lua.h"

#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

typedef struct lua_fixture_s {
  kiln_arena_t arena;
  kiln_pool_t pool;
} lua_fixture_t;

/* An arena (with this commit limit, 0 for none) and an mvff pool in it. */
static lua_fixture_t fixture_open(size_t commit_limit)
{
  lua_fixture_t f;
  kiln_arg_t args[] = {KILN_ARG_SIZE("commit_limit", commit_limit), KILN_ARGS_END};
  ck_assert_ok(kiln_arena_create(&f.arena, args));
  ck_assert_ok(kiln_pool_create(&f.pool, f.arena, kiln_class_mvff(), NULL));
  return f;
}

static void fixture_close(lua_fixture_t *f)
{
  kiln_pool_destroy(f->pool);
  kiln_arena_destroy(f->arena);
}

/* Run chunk with nres results; returns the lua_pcall status, leaving the
   results (or the error message) on the stack. */
static int run_chunk(lua_State *L, const char *chunk, int nres)
{
  int status = luaL_loadstring(L, chunk);
  ck_assert_msg(status == LUA_OK, "chunk does not compile: %s", lua_tostring(L, -1));
  return lua_pcall(L, 0, nres, 0);
}

/* Strings, tables and garbage: the sum of the lengths of "k<i>" repeated
   three times, for i in 1..20000. */
static const char WORK_CHUNK[] =
  "local t = {}\n"
  "for i = 1, 20000 do t[i] = ('k%d'):format(i):rep(3) end\n"
  "for i = 1, 20000, 2 do t[i] = { t[i] } end\n"
  "collectgarbage()\n"
  "local n = 0\n"
  "for i = 1, #t do n = n + #(type(t[i]) == 'table' and t[i][1] or t[i]) end\n"
  "return n, #t\n";

static lua_Integer work_chunk_expected(void)
{
  char buf[32];
  lua_Integer n = 0;
  for (int i = 1; i <= 20000; i++)
    n += 3 * snprintf(buf, sizeof buf, "k%d", i);
  return n;
}

START_TEST(test_state_lives_in_pool)
{
  lua_fixture_t f = fixture_open(0);
  ck_assert_uint_eq(pool_in_use(f.pool), 0);
  lua_State *L = kiln_lua_newstate(f.pool);
  ck_assert_msg(L != NULL, "kiln_lua_newstate: %s", kiln_arena_error(f.arena));
  size_t bare = pool_in_use(f.pool);
  ck_assert_uint_gt(bare, 0); /* the state itself came from the pool */
  void *ud = NULL;
  ck_assert(lua_getallocf(L, &ud) == kiln_lua_alloc);
  ck_assert_ptr_eq(ud, f.pool);

  luaL_openlibs(L);
  ck_assert_int_eq(run_chunk(L, WORK_CHUNK, 2), LUA_OK);
  ck_assert_int_eq(lua_tointeger(L, -2), work_chunk_expected());
  ck_assert_int_eq(lua_tointeger(L, -1), 20000);
  ck_assert_uint_gt(pool_in_use(f.pool), bare + 20000 * 24); /* t's strings, at least */

  lua_close(L);
  ck_assert_uint_eq(pool_in_use(f.pool), 0); /* every block freed with its own size */
  fixture_close(&f);
}
END_TEST

static void fill(unsigned char *p, size_t from, size_t to)
{
  for (size_t i = from; i < to; i++)
    p[i] = (unsigned char)(i * 131 + 7);
}

static size_t filled_prefix(const unsigned char *p, size_t n)
{
  size_t i = 0;
  while (i < n && p[i] == (unsigned char)(i * 131 + 7))
    i++;
  return i;
}

/* Called as Lua calls it: a type tag as osize for a new block, grow within
   and past mvff's small blocks (a large block has a segment of its own),
   shrink, free. */
START_TEST(test_realloc_keeps_contents)
{
  lua_fixture_t f = fixture_open(0);
  unsigned char *p = kiln_lua_alloc(f.pool, NULL, LUA_TTABLE, 24);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(pool_in_use(f.pool), 32); /* 24 bytes, not 24 + the tag */
  fill(p, 0, 24);
  static const size_t sizes[] = {3000, 100000, 40000, 10};
  size_t old = 24;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t kept = old < sizes[i] ? old : sizes[i];
    p = kiln_lua_alloc(f.pool, p, old, sizes[i]);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(filled_prefix(p, kept), kept);
    fill(p, kept, sizes[i]);
    old = sizes[i];
  }
  ck_assert_ptr_null(kiln_lua_alloc(f.pool, p, old, 0));
  ck_assert_ptr_null(kiln_lua_alloc(f.pool, NULL, LUA_TSTRING, 0)); /* free(NULL) */
  ck_assert_uint_eq(pool_in_use(f.pool), 0);
  fixture_close(&f);
}
END_TEST

/* Far more than 4 MB: fails at the commit limit whatever the growth policy. */
static const char HOG_CHUNK[] =
  "local t = {}\n"
  "for i = 1, 10000000 do t[i] = ('x'):rep(64) .. i end\n"
  "return #t\n";

START_TEST(test_oom_is_a_lua_error)
{
  lua_fixture_t f = fixture_open(4u << 20);
  lua_State *L = kiln_lua_newstate(f.pool);
  ck_assert_ptr_nonnull(L);
  luaL_openlibs(L);

  ck_assert_int_eq(run_chunk(L, HOG_CHUNK, 1), LUA_ERRMEM);
  ck_assert_str_eq(lua_tostring(L, -1), "not enough memory");
  ck_assert_msg(strstr(kiln_arena_error(f.arena), "commit limit") != NULL,
                "the refusal came from Kiln: %s", kiln_arena_error(f.arena));
  lua_settop(L, 0);

  /* A script can catch it, and the state stays usable afterwards. */
  ck_assert_int_eq(luaL_loadstring(L, "local ok, e = pcall(load(...)) return ok, e"), LUA_OK);
  lua_pushstring(L, HOG_CHUNK);
  ck_assert_int_eq(lua_pcall(L, 1, 2, 0), LUA_OK);
  ck_assert(lua_isboolean(L, -2) && !lua_toboolean(L, -2));
  ck_assert_str_eq(lua_tostring(L, -1), "not enough memory");
  lua_settop(L, 0);

  ck_assert_int_eq(run_chunk(L, "collectgarbage() local n = 0 "
                                "for i = 1, 1000 do n = n + #tostring(i) end return n", 1),
                   LUA_OK);
  ck_assert_int_eq(lua_tointeger(L, -1), 2893);
  lua_close(L);
  ck_assert_uint_eq(pool_in_use(f.pool), 0);
  fixture_close(&f);
}
END_TEST

/* A pool too small for the state itself: NULL, and the arena says why. */
START_TEST(test_no_room_for_the_state)
{
  lua_fixture_t f = fixture_open(4096);
  ck_assert_ptr_null(kiln_lua_newstate(f.pool));
  ck_assert_msg(strstr(kiln_arena_error(f.arena), "commit limit") != NULL, "%s",
                kiln_arena_error(f.arena));
  ck_assert_uint_eq(pool_in_use(f.pool), 0); /* lua_newstate gave back what it got */
  fixture_close(&f);
}
END_TEST

START_TEST(test_refuses_pools_lua_cannot_use)
{
  ck_assert_ptr_null(kiln_lua_newstate(NULL));
  ck_assert_str_eq(kiln_arena_error(NULL), "kiln_lua_newstate: pool is NULL");

  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t ms;
  fmt = arena_with_format(&arena, graph_format());
  ms = plain_pool(arena, fmt, kiln_class_ms());
  ck_assert_ptr_null(kiln_lua_newstate(ms));
  ck_assert_msg(strstr(kiln_arena_error(NULL), "pool class 'ms' is automatic") != NULL, "%s",
                kiln_arena_error(NULL));
  kiln_arena_destroy(arena);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("lua_alloc");
  TCase *tc = suite_add_case(s, "state", 0);
  tcase_add_test(tc, test_state_lives_in_pool);
  tc = suite_add_case(s, "realloc", 0);
  tcase_add_test(tc, test_realloc_keeps_contents);
  tc = suite_add_case(s, "oom", 60);
  tcase_add_test(tc, test_oom_is_a_lua_error);
  tcase_add_test(tc, test_no_room_for_the_state);
  tc = suite_add_case(s, "misuse", 0);
  tcase_add_test(tc, test_refuses_pools_lua_cannot_use);
  return s;
}
