/* plan.c -- the plan loader: a sandboxed Lua state running the plan DSL.
 *
 * Owns: the sandbox (a lua_State with a memory cap, an instruction budget
 * and a CPU-time budget, holding only base/string/table/math/utf8 minus
 * everything that reaches files or code: io, os, require, load*, dofile,
 * string.dump, collectgarbage, debug), the bounded versions of the library
 * functions whose work a budget checked between instructions cannot see
 * (string.find/match/gmatch/gsub/rep, table.move), the C helpers the DSL
 * (plans/dsl.lua) calls, and the conversion of a resolved plan table into an
 * lk_plan_t.
 *
 * Invariants: a plan can neither touch files nor run forever nor exhaust
 * memory: every failure comes back as KILN_PARAM (or KILN_IO/KILN_MEMORY)
 * with a sentence in lk_error(), never as a crash or a hang. Validation
 * lives in the DSL and reads the classes' own parameter tables through
 * host_params.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include "plans.h"

#define SANDBOX_MEMORY ((size_t)32 << 20)   /* bytes a plan state may hold */
#define SANDBOX_STEPS 20000000UL            /* VM instructions per call */
#define SANDBOX_SECONDS 10                  /* CPU seconds per call */
#define SANDBOX_HOOK_EVERY 1000             /* instructions between hook calls */
#define PATTERN_WORK_MAX 1e8                /* matcher steps one string call may take */
#define PLAN_FILE_MAX ((long)1 << 20)       /* bytes of a plan file */

typedef struct sandbox_s {
  size_t used, cap;
  int refused;             /* the allocator said no at least once */
  unsigned long steps;
  double started;          /* CPU seconds of this thread when the call began */
  const char *what;        /* the plan being loaded, for messages; may be NULL */
} sandbox_t;

/* ---- budget -------------------------------------------------------------- */

static sandbox_t *sandbox_of(lua_State *S)
{
  void *ud;
  lua_getallocf(S, &ud);
  return ud;
}

static void *sandbox_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
  sandbox_t *sb = ud;
  size_t old = p != NULL ? osize : 0;
  if (nsize == 0) {
    free(p);
    sb->used -= old;
    return NULL;
  }
  if (nsize > old && sb->used - old + nsize > sb->cap) {
    sb->refused = 1;
    return NULL;
  }
  void *q = realloc(p, nsize);
  if (q == NULL) {
    sb->refused = 1;
    return NULL;
  }
  sb->used = sb->used - old + nsize;
  return q;
}

/* CPU time of the calling thread: other threads of the process, and how busy
   the machine is, do not shorten a plan's time. */
static double thread_seconds(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "FILE:LINE: " of the innermost plan code running (a chunk loaded from a
   file, "@..."), else "PLAN: " of the plan being loaded, else "". */
static void push_plan_where(lua_State *S)
{
  lua_Debug ar;
  for (int level = 0; lua_getstack(S, level, &ar); level++) {
    if (lua_getinfo(S, "Sl", &ar) && ar.source[0] == '@' && ar.currentline > 0) {
      lua_pushfstring(S, "%s:%d: ", ar.short_src, ar.currentline);
      return;
    }
  }
  const char *what = sandbox_of(S)->what;
  if (what != NULL)
    lua_pushfstring(S, "%s: ", what);
  else
    lua_pushliteral(S, "");
}

/* Count hook: ends a plan that runs too long, by instructions or by CPU
   time. The instruction count alone does not bound time: one instruction
   may compare or copy a string of many megabytes. Every library function a
   plan reaches does bounded work per call (see the bounded string functions
   below), so checking the clock here bounds the whole call. Raised errors
   propagate out of the plan (the sandbox offers no pcall), and a budget once
   exceeded stays exceeded, so every later hook raises again. */
static void sandbox_hook(lua_State *S, lua_Debug *ar)
{
  (void)ar;
  sandbox_t *sb = sandbox_of(S);
  sb->steps += SANDBOX_HOOK_EVERY;
  if (sb->steps > SANDBOX_STEPS) {
    push_plan_where(S);
    lua_pushfstring(S, "plan exceeded its instruction budget (%d million instructions)",
                    (int)(SANDBOX_STEPS / 1000000));
  } else if (thread_seconds() - sb->started > SANDBOX_SECONDS) {
    push_plan_where(S);
    lua_pushfstring(S, "plan exceeded its time budget (%d seconds of CPU time)",
                    SANDBOX_SECONDS);
  } else {
    return;
  }
  lua_concat(S, 2);
  lua_error(S);
}

/* ---- bounded library functions ---------------------------------------------
 *
 * A C library function runs to its end without the count hook: Lua's pattern
 * matcher backtracks, and `string.find(("a"):rep(40), ("a*"):rep(40) .. "b")`
 * would run for longer than the universe has existed. So string.find, match,
 * gmatch and gsub first bound the work the matcher can do and refuse a call
 * whose bound passes PATTERN_WORK_MAX; string.rep and table.move refuse
 * results no plan's memory can hold (an empty string repeated 2^60 times
 * allocates nothing but loops 2^60 times). Every other function a plan can
 * reach does work proportional to its arguments or its result, both held in
 * the sandbox's memory, so with these bounds every single call ends soon and
 * the hook's clock check bounds the rest.
 *
 * The bound on the matcher (lstrlib.c's match()): it walks the pattern item
 * by item; only an item with a quantifier (*, +, -, ?) branches, trying the
 * rest of the pattern once per end position of what the item matched, and
 * the subject position never moves back. So every time the matcher enters
 * item j, it does so for a distinct non-decreasing tuple of end positions
 * of the branching items before j (plus the start position, unless the
 * pattern is anchored): with k such choices among n + 1 positions, at most
 * C(n + k, k) entries; and at most the product of the choices' fan-outs
 * (n + 1 for *, +, - and the start, 2 for ?). Each entry costs at most the
 * item's length (a set is
 * scanned), times n + 1 when the item expands (*, +, -) or scans the subject
 * (%b, a back reference). find, match, gmatch and gsub try each start
 * position at most once, so the sum over the items of entries x cost bounds
 * a whole call. */

/* End (exclusive) of the set whose '[' is just before index i of p. */
static size_t set_end(const char *p, size_t i, size_t m)
{
  if (i < m && p[i] == '^')
    i++;
  do {
    if (i >= m)
      return m;   /* malformed: the matcher itself reports it */
    if (p[i++] == '%' && i < m)
      i++;
  } while (i < m && p[i] != ']');
  return i < m ? i + 1 : m;
}

/* Length of the single-character item at index i (a character, '.', %x or
   a set). */
static size_t single_len(const char *p, size_t i, size_t m)
{
  size_t e = p[i] == '[' ? set_end(p, i + 1, m) : p[i] == '%' ? i + 2 : i + 1;
  return (e < m ? e : m) - i;
}

/* An upper bound on the matcher's steps for pattern p (m bytes) over a
   subject of n bytes; stops counting once past PATTERN_WORK_MAX. anchor: a
   leading '^' anchors (find, match, gsub; gmatch reads it as a character). */
static double pattern_work(const char *p, size_t m, double n, int anchor)
{
  size_t i = 0;
  int k = 1;                       /* branching choices so far: the start */
  if (anchor && m > 0 && p[0] == '^') {
    i = 1;
    k = 0;
  }
  double binom = k == 1 ? n + 1 : 1;       /* C(n + k, k) */
  double fanout = binom;                    /* product of the fan-outs */
  double work = binom;
  while (i < m && work <= PATTERN_WORK_MAX) {
    double cost = 1, branches = 0;
    if (p[i] == '(' || p[i] == ')' || (p[i] == '$' && i + 1 == m)) {
      i++;
    } else if (p[i] == '%' && i + 1 < m && p[i + 1] == 'b') {
      i += 4;                                  /* %bxy: scans the subject */
      cost = n + 1;
    } else if (p[i] == '%' && i + 1 < m && p[i + 1] == 'f') {
      size_t e = i + 2 < m && p[i + 2] == '[' ? set_end(p, i + 3, m) : i + 2;
      cost = (double)(e - i);
      i = e;
    } else if (p[i] == '%' && i + 1 < m && p[i + 1] >= '0' && p[i + 1] <= '9') {
      i += 2;                                  /* a back reference */
      cost = n + 1;
    } else {
      size_t len = single_len(p, i, m);
      cost = (double)len;
      i += len;
      if (i < m && (p[i] == '*' || p[i] == '+' || p[i] == '-')) {
        cost *= n + 1;
        branches = n + 1;
        i++;
      } else if (i < m && p[i] == '?') {
        branches = 2;
        i++;
      }
    }
    work += (binom < fanout ? binom : fanout) * cost;
    if (branches > 0) {
      k++;
      binom = binom * (n + k) / k;
      fanout *= branches;
    }
  }
  return work;
}

/* The error for a call that would pass a plan's limits: "FILE:LINE: fn: plan
   exceeded its LIMIT: WHY", located at the plan code that called fn. */
static int limit_error(lua_State *S, const char *fn, const char *limit, const char *why)
{
  luaL_where(S, 1);
  lua_pushfstring(S, "%s: plan exceeded its %s: %s", fn, limit, why);
  lua_concat(S, 2);
  return lua_error(S);
}

static int memory_error(lua_State *S, const char *fn, const char *why)
{
  char limit[64];
  snprintf(limit, sizeof limit, "memory budget (%d MB)", (int)(SANDBOX_MEMORY >> 20));
  return limit_error(S, fn, limit, why);
}

static int has_location(const char *msg)
{
  const char *colon = strchr(msg, ':');
  if (colon == NULL || colon[1] < '0' || colon[1] > '9')
    return 0;
  colon++;
  while (*colon >= '0' && *colon <= '9')
    colon++;
  return colon[0] == ':' && colon[1] == ' ';
}

/* Calls the library's own function (upvalue 1) with this call's arguments.
   Its own errors (a malformed pattern, ...) are raised from C and so carry
   no location: they get the plan's, as if the plan had called it directly. */
static int call_original(lua_State *S)
{
  int nargs = lua_gettop(S);
  luaL_where(S, 1);
  lua_insert(S, 1);
  lua_pushvalue(S, lua_upvalueindex(1));
  lua_insert(S, 2);
  if (lua_pcall(S, nargs, LUA_MULTRET, 0) == LUA_OK)
    return lua_gettop(S) - 1;
  if (lua_type(S, -1) == LUA_TSTRING && !has_location(lua_tostring(S, -1))) {
    lua_pushvalue(S, 1);
    lua_insert(S, -2);
    lua_concat(S, 2);
  }
  return lua_error(S);
}

static int bounded_match(lua_State *S, const char *fn, int anchor, int plain)
{
  size_t n, m;
  luaL_checklstring(S, 1, &n);
  const char *p = luaL_checklstring(S, 2, &m);
  double work = plain ? ((double)n + 1) * ((double)m + 1) : pattern_work(p, m, (double)n, anchor);
  if (work > PATTERN_WORK_MAX) {
    char limit[64], why[160];
    snprintf(limit, sizeof limit, "pattern-matching budget (%d million steps)",
             (int)(PATTERN_WORK_MAX / 1e6));
    snprintf(why, sizeof why, "this pattern may take more on a string of %zu bytes "
             "(use fewer repetitions *, +, -, ? or a shorter string)", n);
    return limit_error(S, fn, limit, why);
  }
  return call_original(S);
}

/* The subject and the pattern are checked first, as the library does, so
   a wrong argument gets the library's own message. */
static void check_subject_pattern(lua_State *S)
{
  luaL_checkstring(S, 1);
  luaL_checkstring(S, 2);
}

static int bounded_find(lua_State *S)
{
  check_subject_pattern(S);
  luaL_optinteger(S, 3, 1);
  return bounded_match(S, "string.find", 1, lua_toboolean(S, 4));
}

static int bounded_strmatch(lua_State *S)
{
  check_subject_pattern(S);
  luaL_optinteger(S, 3, 1);
  return bounded_match(S, "string.match", 1, 0);
}

static int bounded_gmatch(lua_State *S)
{
  check_subject_pattern(S);
  luaL_optinteger(S, 3, 1);
  return bounded_match(S, "string.gmatch", 0, 0);
}

static int bounded_gsub(lua_State *S)
{
  check_subject_pattern(S);
  int t = lua_type(S, 3);
  luaL_argexpected(S, t == LUA_TNUMBER || t == LUA_TSTRING || t == LUA_TFUNCTION
                   || t == LUA_TTABLE, 3, "string/function/table");
  luaL_optinteger(S, 4, 0);
  return bounded_match(S, "string.gsub", 1, 0);
}

static int bounded_rep(lua_State *S)
{
  size_t len, seplen = 0;
  luaL_checklstring(S, 1, &len);
  lua_Integer n = luaL_checkinteger(S, 2);
  luaL_optlstring(S, 3, "", &seplen);
  if (n <= 0 || len + seplen == 0) {
    lua_pushliteral(S, "");  /* without copying nothing n times */
    return 1;
  }
  double total = (double)n * (double)len + (double)(n - 1) * (double)seplen;
  if (total > (double)sandbox_of(S)->cap) {
    char why[120];
    snprintf(why, sizeof why, "the result would be %.3g bytes", total);
    return memory_error(S, "string.rep", why);
  }
  return call_original(S);
}

static int bounded_move(lua_State *S)
{
  luaL_checktype(S, 1, LUA_TTABLE);
  lua_Integer f = luaL_checkinteger(S, 2), e = luaL_checkinteger(S, 3);
  luaL_checkinteger(S, 4);
  if (!lua_isnoneornil(S, 5))
    luaL_checktype(S, 5, LUA_TTABLE);
  /* Each element of a table takes more than 8 bytes. */
  double count = (double)e - (double)f + 1;
  if (count > (double)(sandbox_of(S)->cap / 8)) {
    char why[120];
    snprintf(why, sizeof why, "%.3g elements are more than any table of a plan can hold",
             count);
    return memory_error(S, "table.move", why);
  }
  return call_original(S);
}

/* Replaces lib.name by bound, which calls the original. */
static void bound_function(lua_State *S, const char *lib, const char *name, lua_CFunction bound)
{
  lua_getglobal(S, lib);
  lua_getfield(S, -1, name);
  lua_pushcclosure(S, bound, 1);
  lua_setfield(S, -2, name);
  lua_pop(S, 1);
}

/* The global string table is also every string's metatable __index, so
   s:find(...) reaches the bounded function too. */
static void bound_library(lua_State *S)
{
  bound_function(S, "string", "find", bounded_find);
  bound_function(S, "string", "match", bounded_strmatch);
  bound_function(S, "string", "gmatch", bounded_gmatch);
  bound_function(S, "string", "gsub", bounded_gsub);
  bound_function(S, "string", "rep", bounded_rep);
  bound_function(S, "table", "move", bounded_move);
}

/* ---- helpers the DSL calls ---------------------------------------------------- */

static const char *argtype_name(kiln_argtype_t t)
{
  switch (t) {
  case KILN_ARGT_SIZE: return "size";
  case KILN_ARGT_NUM: return "num";
  case KILN_ARGT_BOOL: return "bool";
  case KILN_ARGT_STR: return "str";
  case KILN_ARGT_PTR: return "ptr";
  default: return "end";
  }
}

static void push_param(lua_State *S, const kiln_param_t *p)
{
  lua_createtable(S, 0, 6);
  lua_pushstring(S, p->key);
  lua_setfield(S, -2, "key");
  lua_pushstring(S, argtype_name(p->type));
  lua_setfield(S, -2, "type");
  lua_pushstring(S, p->def != NULL ? p->def : "");
  lua_setfield(S, -2, "def");
  lua_pushnumber(S, p->min);
  lua_setfield(S, -2, "min");
  lua_pushnumber(S, p->max);
  lua_setfield(S, -2, "max");
  lua_pushstring(S, p->doc != NULL ? p->doc : "");
  lua_setfield(S, -2, "doc");
}

/* params(name): the arena's or a built class's parameter list, or nil. */
static int host_params(lua_State *S)
{
  const char *name = luaL_checkstring(S, 1);
  const kiln_param_t *ps;
  if (strcmp(name, "arena") == 0) {
    ps = kiln_arena_params();
  } else {
    kiln_class_t k = kiln_class_lookup(name);
    ps = k != NULL ? kiln_class_params(k) : NULL;
  }
  if (ps == NULL)
    return 0;
  lua_newtable(S);
  for (int i = 0; ps[i].key != NULL; i++) {
    push_param(S, &ps[i]);
    lua_rawseti(S, -2, i + 1);
  }
  return 1;
}

/* automatic(name): whether the built class name collects (has allocation
   points), or nil when no such class is built; the DSL refuses a weak role
   on a manual pool with it. */
static int host_automatic(lua_State *S)
{
  kiln_class_t k = kiln_class_lookup(luaL_checkstring(S, 1));
  if (k == NULL)
    return 0;
  lua_pushboolean(S, kiln_class_is_automatic(k));
  return 1;
}

static int host_classes(lua_State *S)
{
  const kiln_class_t *ks = kiln_classes();
  lua_newtable(S);
  for (int i = 0; ks != NULL && ks[i] != NULL; i++) {
    lua_pushstring(S, kiln_class_name(ks[i]));
    lua_rawseti(S, -2, i + 1);
  }
  return 1;
}

const lk_embed_t *lk_embed_find(const lk_embed_t *table, const char *name)
{
  for (const lk_embed_t *e = table; e->name != NULL; e++)
    if (strcmp(e->name, name) == 0)
      return e;
  return NULL;
}

static int host_builtin(lua_State *S)
{
  const char *name = luaL_checkstring(S, 1);
  char path[256];
  snprintf(path, sizeof path, "plans/%s.lua", name);
  const lk_embed_t *e = strchr(name, '/') == NULL ? lk_embed_find(lk_embedded, path) : NULL;
  if (e == NULL)
    return 0;
  lua_pushlstring(S, (const char *)e->data, e->len);
  return 1;
}

static int host_builtins(lua_State *S)
{
  int n = 0;
  lua_newtable(S);
  for (const lk_embed_t *e = lk_embedded; e->name != NULL; e++) {
    size_t len = strlen(e->name);
    if (strncmp(e->name, "plans/", 6) != 0 || len < 10)
      continue;
    lua_pushlstring(S, e->name + 6, len - 6 - 4); /* strip "plans/" and ".lua" */
    lua_rawseti(S, -2, ++n);
  }
  return 1;
}

/* Opens path for reading a plan: a regular file only. A FIFO would block
   the open (and then the read) until some other process wrote to it, so the
   open does not wait (O_NONBLOCK) and the type is checked on the file
   opened, not on a name that may change in between. On failure, pushes a
   sentence and sets *missing when there is no such file. */
static FILE *open_plan_file(lua_State *S, const char *path, int *missing)
{
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  *missing = fd < 0 && (errno == ENOENT || errno == ENOTDIR);
  if (fd < 0) {
    lua_pushfstring(S, "cannot read plan file '%s': %s", path, strerror(errno));
    return NULL;
  }
  if (fstat(fd, &st) != 0) {
    lua_pushfstring(S, "cannot read plan file '%s': %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode))
      lua_pushfstring(S, "cannot read plan file '%s': it is a directory", path);
    else
      lua_pushfstring(S, "cannot read plan file '%s': it is not a regular file (a FIFO, "
                      "socket or device); plans are read from regular files", path);
    close(fd);
    return NULL;
  }
  FILE *f = fdopen(fd, "rb");
  if (f == NULL) {
    lua_pushfstring(S, "cannot read plan file '%s': %s", path, strerror(errno));
    close(fd);
  }
  return f;
}

/* readfile(path): the file's text, or nil, a sentence and whether the file
   is missing (rather than there but unreadable). */
static int host_readfile(lua_State *S)
{
  const char *path = luaL_checkstring(S, 1);
  int missing;
  FILE *f = open_plan_file(S, path, &missing);
  if (f == NULL) {
    lua_pushnil(S);
    lua_insert(S, -2);
    lua_pushboolean(S, missing);
    return 3;
  }
  luaL_Buffer b;
  luaL_buffinit(S, &b);
  char chunk[4096];
  size_t n;
  long total = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && total <= PLAN_FILE_MAX) {
    luaL_addlstring(&b, chunk, n);
    total += (long)n;
  }
  fclose(f);
  if (total > PLAN_FILE_MAX) {
    lua_pushnil(S);
    lua_pushfstring(S, "plan file '%s' is larger than %d bytes", path, (int)PLAN_FILE_MAX);
    return 2;
  }
  luaL_pushresult(&b);
  return 1;
}

/* ---- the sandbox ------------------------------------------------------------- */

static void open_libs(lua_State *S)
{
  static const luaL_Reg libs[] = {
    {LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string},
    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_DBLIBNAME, luaopen_debug}, {NULL, NULL}};
  for (const luaL_Reg *l = libs; l->name != NULL; l++) {
    luaL_requiref(S, l->name, l->func, 1);
    lua_pop(S, 1);
  }
}

/* After the DSL holds what it needs, nothing that reaches files, code or
   the collector stays visible. */
static void scrub(lua_State *S)
{
  static const char *const gone[] = {"debug", "load", "loadfile", "dofile", "require",
                                     "collectgarbage", "loadstring", "io", "os", "package",
                                     NULL};
  for (int i = 0; gone[i] != NULL; i++) {
    lua_pushnil(S);
    lua_setglobal(S, gone[i]);
  }
  lua_getglobal(S, "string");
  lua_pushnil(S);
  lua_setfield(S, -2, "dump");
  lua_pop(S, 1);
}

/* host.size(text): the bytes text names (kiln_size_value), or nil when it
   is not of a size's form; the DSL checks the value and words the error. */
static int host_size(lua_State *S)
{
  size_t len;
  const char *text = luaL_checklstring(S, 1, &len);
  double bytes;
  if (strlen(text) != len || kiln_size_value(text, &bytes) != KILN_OK)
    return 0;
  lua_pushnumber(S, bytes);
  return 1;
}

/* host.nearest(word, names): kiln_nearest_name over the array's strings
   (other values, and strings with a NUL byte, are passed over). */
enum { NEAREST_MAX = 200 };

static const char *plain_string(lua_State *S, int idx)
{
  size_t len;
  const char *s = lua_type(S, idx) == LUA_TSTRING ? lua_tolstring(S, idx, &len) : NULL;
  return s != NULL && strlen(s) == len ? s : NULL;
}

static int host_nearest(lua_State *S)
{
  const char *names[NEAREST_MAX];
  const char *word = plain_string(S, 1);
  luaL_checktype(S, 2, LUA_TTABLE);
  size_t n = 0;
  while (n < NEAREST_MAX) {
    int type = lua_rawgeti(S, 2, (lua_Integer)n + 1);
    const char *name = plain_string(S, -1); /* the table keeps it alive */
    lua_pop(S, 1);
    if (type == LUA_TNIL)
      break;
    names[n++] = name;
  }
  const char *best = word != NULL ? kiln_nearest_name(word, names, n) : NULL;
  if (best == NULL)
    return 0;
  lua_pushstring(S, best);
  return 1;
}

static void push_host(lua_State *S)
{
  static const luaL_Reg fns[] = {
    {"params", host_params}, {"classes", host_classes}, {"builtin", host_builtin},
    {"builtins", host_builtins}, {"readfile", host_readfile}, {"size", host_size},
    {"nearest", host_nearest}, {"automatic", host_automatic}, {NULL, NULL}};
  luaL_newlib(S, fns);
}

static int load_dsl(lua_State *S)
{
  const lk_embed_t *e = lk_embed_find(lk_dsl_embedded, "plans/dsl.lua");
  if (e == NULL)
    return lk_fail(KILN_FAIL, "the plan DSL is missing from the library");
  if (luaL_loadbufferx(S, (const char *)e->data, e->len, "=[kiln dsl]", "t") != LUA_OK
      || (push_host(S), lua_pcall(S, 1, 1, 0)) != LUA_OK)
    return lk_fail(KILN_FAIL, "the plan DSL failed to load: %s", lua_tostring(S, -1));
  lua_setfield(S, LUA_REGISTRYINDEX, "kiln.api");
  return KILN_OK;
}

lua_State *lk_sandbox_open(void)
{
  sandbox_t *sb = calloc(1, sizeof *sb);
  if (sb == NULL) {
    lk_fail(KILN_MEMORY, "out of memory opening the plan sandbox");
    return NULL;
  }
  sb->cap = SANDBOX_MEMORY;
  lua_State *S = lua_newstate(sandbox_alloc, sb);
  if (S == NULL) {
    free(sb);
    lk_fail(KILN_MEMORY, "out of memory opening the plan sandbox");
    return NULL;
  }
  open_libs(S);
  if (load_dsl(S) != KILN_OK) {
    lk_sandbox_close(S);
    return NULL;
  }
  bound_library(S);
  scrub(S);
  lua_sethook(S, sandbox_hook, LUA_MASKCOUNT, SANDBOX_HOOK_EVERY);
  return S;
}

void lk_sandbox_close(lua_State *S)
{
  void *ud;
  if (S == NULL)
    return;
  lua_getallocf(S, &ud);
  lua_close(S);
  free(ud);
}

void lk_sandbox_fn(lua_State *S, const char *fn)
{
  lua_getfield(S, LUA_REGISTRYINDEX, "kiln.api");
  lua_getfield(S, -1, fn);
  lua_remove(S, -2);
}

kiln_res_t lk_sandbox_pcall(lua_State *S, int nargs, int nres, const char *what)
{
  sandbox_t *sb = sandbox_of(S);
  sb->steps = 0;
  sb->refused = 0;
  sb->started = thread_seconds();
  sb->what = what;
  int rc = lua_pcall(S, nargs, nres, 0);
  sb->what = NULL;
  if (rc == LUA_OK)
    return KILN_OK;
  if (rc == LUA_ERRMEM || sb->refused) {
    lua_pop(S, 1);
    return lk_fail(KILN_PARAM, "%s%splan exceeded its memory budget (%d MB)",
                   what != NULL ? what : "", what != NULL ? ": " : "", (int)(SANDBOX_MEMORY >> 20));
  }
  const char *msg = lua_tostring(S, -1);
  lk_fail(KILN_PARAM, "%s", msg != NULL ? msg : "plan failed with a non-string error");
  lua_pop(S, 1);
  return KILN_PARAM;
}

/* Plain data only; functions, userdata and deeper nesting become nil. */
void lk_copy_value(lua_State *from, int idx, lua_State *to, int depth)
{
  idx = lua_absindex(from, idx);
  luaL_checkstack(to, 4, "copying a value");
  switch (lua_type(from, idx)) {
  case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, idx)); break;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(from, idx, &len);
    lua_pushlstring(to, s, len);
    break;
  }
  case LUA_TNUMBER:
    if (lua_isinteger(from, idx))
      lua_pushinteger(to, lua_tointeger(from, idx));
    else
      lua_pushnumber(to, lua_tonumber(from, idx));
    break;
  case LUA_TTABLE:
    if (depth > 0) {
      lua_newtable(to);
      lua_pushnil(from);
      while (lua_next(from, idx) != 0) {
        lk_copy_value(from, -2, to, depth - 1);
        lk_copy_value(from, -1, to, depth - 1);
        if (lua_isnil(to, -2))
          lua_pop(to, 2);
        else
          lua_rawset(to, -3);
        lua_pop(from, 1);
      }
      break;
    }
    /* fall through */
  default: lua_pushnil(to); break;
  }
}

/* ---- resolved plan table -> lk_plan_t ------------------------------------ */

static char *field_str(lua_State *S, int idx, const char *key)
{
  lua_getfield(S, idx, key);
  const char *s = lua_tostring(S, -1);
  char *copy = s != NULL ? strdup(s) : NULL;
  lua_pop(S, 1);
  return copy;
}

static kiln_argtype_t argtype_of(const char *name)
{
  static const char *const names[] = {"end", "size", "num", "bool", "str", "ptr"};
  for (int i = 1; i < 6; i++)
    if (name != NULL && strcmp(name, names[i]) == 0)
      return (kiln_argtype_t)i;
  return KILN_ARGT_END;
}

/* One {key=, type=, value=} at the top of S into *arg. */
static void read_arg(lua_State *S, kiln_arg_t *arg)
{
  int t = lua_gettop(S);
  memset(arg, 0, sizeof *arg);
  arg->key = field_str(S, t, "key");
  lua_getfield(S, t, "type");
  arg->type = argtype_of(lua_tostring(S, -1));
  lua_getfield(S, t, "value");
  switch (arg->type) {
  case KILN_ARGT_SIZE: arg->size = (size_t)lua_tointeger(S, -1); break;
  case KILN_ARGT_NUM: arg->num = lua_tonumber(S, -1); break;
  case KILN_ARGT_BOOL: arg->b = lua_toboolean(S, -1); break;
  case KILN_ARGT_STR: arg->str = lua_tostring(S, -1) ? strdup(lua_tostring(S, -1)) : NULL; break;
  default: break;
  }
  lua_settop(S, t);
}

/* The array field `key` of the table at idx as args (promote_to skipped),
   and where each was set (*where_o, a parallel array). */
static kiln_arg_t *read_args(lua_State *S, int idx, const char *key, size_t *n_o,
                             char ***where_o)
{
  lua_getfield(S, idx, key);
  size_t n = lua_rawlen(S, -1), k = 0;
  kiln_arg_t *args = calloc(n + 1, sizeof *args);
  char **where = calloc(n + 1, sizeof *where);
  for (size_t i = 1; args != NULL && where != NULL && i <= n; i++) {
    lua_rawgeti(S, -1, (lua_Integer)i);
    read_arg(S, &args[k]);
    where[k] = field_str(S, lua_gettop(S), "where");
    lua_pop(S, 1);
    if (args[k].type == KILN_ARGT_PTR) { /* promote_to: resolved by the heap */
      free((void *)args[k].key);
      free(where[k]);
      where[k] = NULL;
    } else {
      k++;
    }
  }
  lua_pop(S, 1);
  *n_o = k;
  *where_o = where;
  return args;
}

static void read_pools(lua_State *S, int idx, lk_plan_t *p)
{
  lua_getfield(S, idx, "pools");
  p->npools = lua_rawlen(S, -1);
  p->pools = calloc(p->npools + 1, sizeof *p->pools);
  for (size_t i = 0; p->pools != NULL && i < p->npools; i++) {
    lua_rawgeti(S, -1, (lua_Integer)i + 1);
    int t = lua_gettop(S);
    lk_pool_t *pool = &p->pools[i];
    pool->name = field_str(S, t, "name");
    pool->klass = field_str(S, t, "class");
    pool->promote_to = field_str(S, t, "promote_to");
    pool->where = field_str(S, t, "where");
    pool->args = read_args(S, t, "args", &pool->nargs, &pool->arg_where);
    lua_pop(S, 1);
  }
  lua_pop(S, 1);
}

/* Whether field key of the table at idx is the string want: a flag read
   this way needs no copy, so it cannot be lost to a failed allocation. */
static int field_is(lua_State *S, int idx, const char *key, const char *want)
{
  lua_getfield(S, idx, key);
  const char *s = lua_type(S, -1) == LUA_TSTRING ? lua_tostring(S, -1) : NULL;
  int is = s != NULL && strcmp(s, want) == 0;
  lua_pop(S, 1);
  return is;
}

static void read_roles(lua_State *S, int idx, lk_plan_t *p)
{
  lua_getfield(S, idx, "roles");
  p->nroles = lua_rawlen(S, -1);
  p->roles = calloc(p->nroles + 1, sizeof *p->roles);
  for (size_t i = 0; p->roles != NULL && i < p->nroles; i++) {
    lua_rawgeti(S, -1, (lua_Integer)i + 1);
    p->roles[i].role = field_str(S, -1, "role");
    p->roles[i].pool = field_str(S, -1, "pool");
    p->roles[i].weak = field_is(S, -1, "rank", "weak");
    lua_pop(S, 1);
  }
  lua_pop(S, 1);
}

static void free_args(kiln_arg_t *args, char **where, size_t n)
{
  for (size_t i = 0; args != NULL && i < n; i++) {
    free((void *)args[i].key);
    free((void *)args[i].str);
    if (where != NULL)
      free(where[i]);
  }
  free(args);
  free(where);
}

void lk_plan_free(lk_plan_t *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; p->pools != NULL && i < p->npools; i++) {
    free(p->pools[i].name);
    free(p->pools[i].klass);
    free(p->pools[i].promote_to);
    free(p->pools[i].where);
    free_args(p->pools[i].args, p->pools[i].arg_where, p->pools[i].nargs);
  }
  for (size_t i = 0; p->roles != NULL && i < p->nroles; i++) {
    free(p->roles[i].role);
    free(p->roles[i].pool);
  }
  free(p->pools);
  free(p->roles);
  free_args(p->arena_args, p->arena_where, p->narena);
  free(p->where);
  free(p->name);
  free(p->doc);
  free(p->file);
  free(p);
}

static int plan_complete(const lk_plan_t *p)
{
  int ok = p->name != NULL && p->doc != NULL && p->file != NULL && p->where != NULL
           && p->arena_args != NULL && p->arena_where != NULL && p->pools != NULL
           && p->roles != NULL;
  for (size_t i = 0; ok && i < p->narena; i++)
    ok = p->arena_where[i] != NULL;
  for (size_t i = 0; ok && i < p->npools; i++) {
    const lk_pool_t *pool = &p->pools[i];
    ok = pool->name != NULL && pool->klass != NULL && pool->where != NULL
         && pool->args != NULL && pool->arg_where != NULL;
    for (size_t a = 0; ok && a < pool->nargs; a++)
      ok = pool->arg_where[a] != NULL;
  }
  for (size_t i = 0; ok && i < p->nroles; i++)
    ok = p->roles[i].role != NULL && p->roles[i].pool != NULL;
  return ok;
}

static kiln_res_t read_plan(lk_plan_t **plan_o, lua_State *S, int idx)
{
  lk_plan_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return lk_fail(KILN_MEMORY, "out of memory reading a plan");
  p->name = field_str(S, idx, "name");
  p->doc = field_str(S, idx, "doc");
  p->file = field_str(S, idx, "file");
  p->where = field_str(S, idx, "where");
  p->arena_args = read_args(S, idx, "arena", &p->narena, &p->arena_where);
  read_pools(S, idx, p);
  read_roles(S, idx, p);
  if (!plan_complete(p)) {
    lk_plan_free(p);
    return lk_fail(KILN_MEMORY, "out of memory reading a plan");
  }
  *plan_o = p;
  return KILN_OK;
}

/* ---- overrides: kiln_arg_t[] -> Lua table ------------------------------------------ */

static kiln_res_t push_overrides(lua_State *S, const kiln_arg_t ov[])
{
  lua_newtable(S);
  for (int i = 0; ov != NULL && ov[i].key != NULL; i++) {
    switch (ov[i].type) {
    case KILN_ARGT_SIZE: lua_pushinteger(S, (lua_Integer)ov[i].size); break;
    case KILN_ARGT_NUM: lua_pushnumber(S, ov[i].num); break;
    case KILN_ARGT_BOOL: lua_pushboolean(S, ov[i].b); break;
    case KILN_ARGT_STR: lua_pushstring(S, ov[i].str != NULL ? ov[i].str : ""); break;
    default:
      lua_pop(S, 1);
      return lk_fail(KILN_PARAM, "override '%s': plans take sizes, numbers, booleans and "
                                 "strings, not pointers", ov[i].key);
    }
    lua_setfield(S, -2, ov[i].key);
  }
  return KILN_OK;
}

kiln_res_t lk_plan_load(lk_plan_t **plan_o, const char *spec, const kiln_arg_t overrides[])
{
  if (spec == NULL)
    return lk_fail(KILN_PARAM, "no plan given (a built-in name or a plan file path)");
  lua_State *S = lk_sandbox_open();
  if (S == NULL)
    return KILN_MEMORY;
  lk_sandbox_fn(S, "resolve");
  lua_pushstring(S, spec);
  kiln_res_t res = push_overrides(S, overrides);
  if (res == KILN_OK)
    res = lk_sandbox_pcall(S, 2, 1, spec);
  if (res == KILN_OK)
    res = read_plan(plan_o, S, lua_gettop(S));
  lk_sandbox_close(S);
  return res;
}
