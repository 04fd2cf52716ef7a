/* heap.c -- heaps built from plans (docs/design.md, §Plans and heaps).
 *
 * Owns a heap: its arena, the format it was given, one pool per plan pool
 * (created so that a promote_to target exists before the pool naming it),
 * the opening thread's registration and stack root, and the allocation
 * points: one per role per thread, made on first use and kept in a
 * per-thread table (a pthread key per heap) until the thread leaves
 * (kiln_heap_leave) or kiln_heap_close.
 *
 * Threads: the opening thread is registered with the arena at open; any
 * other thread joins (kiln_heap_join: registered, its stack a root, kept in
 * its table) before kiln_heap_ap serves it, and leaves before it exits.
 * Invariant: a table with thread != NULL belongs to a joined thread; the
 * opener's registration is the heap's own (thread, root).
 *
 * It is a client of kiln.h only. Everything is undone in reverse order on a
 * failed open, and a failure's sentence names the plan and the pool, and
 * starts where the plan set what the arena or the pool class refused.
 *
 * The environment: KILN_PLAN replaces the plan kiln_heap_open is given and
 * KILN_OVERRIDES ("POOL.KEY=VALUE,...") adds overrides after the given ones
 * (so they win), which lets a program be tried under every collector
 * without rebuilding it; KILN_STATS=1 prints one line of statistics to
 * stderr when the heap closes. A bad value fails the open with a sentence
 * naming the variable.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plans.h"

/* One thread's allocation points, one slot per role of the plan. */
typedef struct heap_tls_s {
  struct heap_tls_s *next;   /* all tables of the heap, for close */
  kiln_thread_t thread;      /* a joined thread's registration, else NULL */
  kiln_root_t root;          /* and its stack root */
  kiln_ap_t aps[];
} heap_tls_t;

struct kiln_heap_s {
  lk_plan_t *plan;
  kiln_arena_t arena;
  kiln_fmt_t fmt;            /* NULL when no format was given */
  kiln_pool_t *pools;        /* plan->npools, in plan order */
  size_t made;               /* pools created so far (for unwinding) */
  kiln_thread_t thread;
  pthread_t opener;          /* the thread that opened the heap, registered by open */
  kiln_root_t root;
  pthread_key_t key;         /* -> this thread's heap_tls_t */
  pthread_mutex_t lock;      /* guards tls_all and AP creation */
  heap_tls_t *tls_all;
  int print_stats;           /* KILN_STATS=1: a line of statistics at close */
};

static size_t pool_index(const lk_plan_t *plan, const char *name)
{
  for (size_t i = 0; i < plan->npools; i++)
    if (strcmp(plan->pools[i].name, name) == 0)
      return i;
  return plan->npools;
}

/* The arena error, or a fallback if the core left none. */
static const char *why(kiln_arena_t arena, kiln_res_t res)
{
  const char *msg = kiln_arena_error(arena);
  return msg != NULL && msg[0] != '\0' ? msg : kiln_res_name(res);
}

/* msg without a leading prefix: the heap's own sentence already names the
   arena or the pool, so the core's "arena: " is not said twice. */
static const char *unprefixed(const char *msg, const char *prefix)
{
  size_t len = strlen(prefix);
  return strncmp(msg, prefix, len) == 0 ? msg + len : msg;
}

/* Where the plan set the argument msg names in quotes ('key'), else
   fallback: the failure's sentence then starts at the plan's own line. */
static const char *where_named(const char *msg, const kiln_arg_t *args, char *const *where,
                               size_t n, const char *fallback)
{
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(args[i].key);
    for (const char *p = strstr(msg, args[i].key); p != NULL; p = strstr(p + 1, args[i].key))
      if (p > msg && p[-1] == '\'' && p[len] == '\'')
        return where[i];
  }
  return fallback;
}

/* Arguments of pool i: the plan's, plus the format and promote_to pointers. */
static kiln_arg_t *pool_args(kiln_heap_t h, size_t i, kiln_class_t klass)
{
  const lk_pool_t *lp = &h->plan->pools[i];
  kiln_arg_t *args = calloc(lp->nargs + 3, sizeof *args);
  if (args == NULL)
    return NULL;
  memcpy(args, lp->args, lp->nargs * sizeof *args);
  size_t n = lp->nargs;
  if (kiln_class_is_automatic(klass)) {
    kiln_arg_t a = KILN_ARG_PTR("format", h->fmt);
    args[n++] = a;
  }
  if (lp->promote_to != NULL) {
    kiln_arg_t a = KILN_ARG_PTR("promote_to", h->pools[pool_index(h->plan, lp->promote_to)]);
    args[n++] = a;
  }
  return args;
}

static kiln_res_t make_pool(kiln_heap_t h, size_t i)
{
  const lk_pool_t *lp = &h->plan->pools[i];
  kiln_class_t klass = kiln_class_lookup(lp->klass);
  if (klass == NULL)
    return lk_fail(KILN_PARAM, "%splan '%s': pool '%s': pool class '%s' is not built yet",
                   lp->where, h->plan->name, lp->name, lp->klass);
  if (kiln_class_is_automatic(klass) && h->fmt == NULL)
    return lk_fail(KILN_PARAM, "plan '%s': pool '%s' (%s) is garbage collected and needs an "
                   "object format: pass one to kiln_heap_open",
                   h->plan->name, lp->name, lp->klass);
  kiln_arg_t *args = pool_args(h, i, klass);
  if (args == NULL)
    return lk_fail(KILN_MEMORY, "plan '%s': out of memory", h->plan->name);
  kiln_res_t res = kiln_pool_create(&h->pools[i], h->arena, klass, args);
  free(args);
  if (res != KILN_OK) {
    char prefix[128];
    const char *msg = why(h->arena, res);
    if ((size_t)snprintf(prefix, sizeof prefix, "pool class '%s': ", lp->klass) < sizeof prefix)
      msg = unprefixed(msg, prefix);
    return lk_fail(res, "%splan '%s': pool '%s' (%s): %s",
                   where_named(msg, lp->args, lp->arg_where, lp->nargs, lp->where),
                   h->plan->name, lp->name, lp->klass, msg);
  }
  return KILN_OK;
}

/* The cold end of the calling thread's stack (its highest address: stacks
   grow down on every platform Kiln runs on). */
static void *stack_cold_end(void)
{
  pthread_attr_t attr;
  void *addr = NULL;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0)
    return NULL;
  if (pthread_attr_getstack(&attr, &addr, &size) != 0)
    addr = NULL;
  pthread_attr_destroy(&attr);
  return addr != NULL ? (char *)addr + size : NULL;
}

static kiln_res_t stack_root(kiln_heap_t h)
{
  void *cold = stack_cold_end();
  if (cold == NULL)
    return lk_fail(KILN_FAIL, "plan '%s': could not find this thread's stack", h->plan->name);
  kiln_res_t res = kiln_root_create_thread(&h->root, h->arena, h->thread, cold);
  if (res != KILN_OK) {
    h->root = NULL;
    return lk_fail(res, "plan '%s': registering this thread's stack: %s", h->plan->name,
                   why(h->arena, res));
  }
  return KILN_OK;
}

static kiln_res_t register_thread(kiln_heap_t h)
{
  kiln_res_t res = kiln_thread_reg(&h->thread, h->arena);
  h->opener = pthread_self();
  if (res != KILN_OK)
    return lk_fail(res, "plan '%s': registering this thread: %s", h->plan->name, why(h->arena, res));
  res = stack_root(h);
  if (res != KILN_OK) {
    kiln_thread_dereg(h->thread);
    h->thread = NULL;
  }
  return res;
}

kiln_res_t kiln_heap_scan_stack(kiln_heap_t heap, int on)
{
  if (on && heap->root == NULL)
    return stack_root(heap);
  if (!on && heap->root != NULL) {
    kiln_root_destroy(heap->root);
    heap->root = NULL;
  }
  return KILN_OK;
}

int kiln_heap_scans_stack(kiln_heap_t heap)
{
  return heap->root != NULL;
}

static kiln_res_t make_arena(kiln_heap_t h, const kiln_format_t *format)
{
  kiln_res_t res = kiln_arena_create(&h->arena, h->plan->arena_args);
  if (res != KILN_OK) {
    const lk_plan_t *p = h->plan;
    const char *msg = unprefixed(why(NULL, res), "arena: ");
    h->arena = NULL;
    return lk_fail(res, "%splan '%s': arena: %s",
                   where_named(msg, p->arena_args, p->arena_where, p->narena, p->where),
                   p->name, msg);
  }
  if (format != NULL) {
    res = kiln_fmt_create(&h->fmt, h->arena, format);
    if (res != KILN_OK)
      return lk_fail(res, "plan '%s': format: %s", h->plan->name, why(h->arena, res));
  }
  return KILN_OK;
}

/* Undo whatever of open succeeded, in reverse order. */
static void heap_unwind(kiln_heap_t h)
{
  for (heap_tls_t *t = h->tls_all, *next; t != NULL; t = next) {
    next = t->next;
    for (size_t r = 0; r < h->plan->nroles; r++)
      if (t->aps[r] != NULL)
        kiln_ap_destroy(t->aps[r]);
    if (t->root != NULL)
      kiln_root_destroy(t->root);
    if (t->thread != NULL)
      kiln_thread_dereg(t->thread);
    free(t);
  }
  if (h->root != NULL)
    kiln_root_destroy(h->root);
  if (h->thread != NULL)
    kiln_thread_dereg(h->thread);
  while (h->made > 0)
    kiln_pool_destroy(h->pools[--h->made]);
  if (h->fmt != NULL)
    kiln_fmt_destroy(h->fmt);
  if (h->arena != NULL)
    kiln_arena_destroy(h->arena);
  free(h->pools);
  lk_plan_free(h->plan);
  free(h);
}

kiln_res_t lk_heap_open_as_given(kiln_heap_t *heap_o, const char *plan,
                                 const kiln_format_t *format, const kiln_arg_t overrides[])
{
  if (heap_o == NULL)
    return lk_fail(KILN_PARAM, "kiln_heap_open: heap_o is NULL");
  kiln_heap_t h = calloc(1, sizeof *h);
  if (h == NULL)
    return lk_fail(KILN_MEMORY, "out of memory opening a heap");
  kiln_res_t res = lk_plan_load(&h->plan, plan, overrides);
  if (res != KILN_OK) {
    free(h);
    return res;
  }
  h->pools = calloc(h->plan->npools + 1, sizeof *h->pools);
  if (h->pools == NULL)
    res = lk_fail(KILN_MEMORY, "out of memory opening a heap");
  if (res == KILN_OK)
    res = make_arena(h, format);
  while (res == KILN_OK && h->made < h->plan->npools) {
    res = make_pool(h, h->made);
    if (res == KILN_OK)
      h->made++;
  }
  if (res == KILN_OK)
    res = register_thread(h);
  if (res == KILN_OK && pthread_key_create(&h->key, NULL) != 0)
    res = lk_fail(KILN_FAIL, "plan '%s': out of thread-local keys", h->plan->name);
  if (res != KILN_OK) {
    heap_unwind(h);
    return res;
  }
  pthread_mutex_init(&h->lock, NULL);
  *heap_o = h;
  return KILN_OK;
}

/* ---- the environment ------------------------------------------------------- */

/* What the environment asks of kiln_heap_open: the plan, the overrides
   (the caller's, then KILN_OVERRIDES' pointing into text) and KILN_STATS. */
typedef struct heap_env_s {
  const char *plan, *overrides_var;
  char *text;                /* a copy of KILN_OVERRIDES, cut into keys and values */
  kiln_arg_t *overrides;     /* NULL: the caller's as they are */
  int stats;
} heap_env_t;

#define OVERRIDES_EXAMPLE "KILN_OVERRIDES=young.nursery_size=8MB,arena.stress=1"

/* One override's value as the plans' own loader takes it: a boolean, a
   whole number (a size), a number, else a string ("8MB"). */
static kiln_arg_t env_override(const char *key, const char *value)
{
  char *end;
  if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
    kiln_arg_t a = KILN_ARG_BOOL(key, value[0] == 't');
    return a;
  }
  unsigned long long n = strtoull(value, &end, 10);
  if (value[0] >= '0' && value[0] <= '9' && *end == '\0') {
    kiln_arg_t a = KILN_ARG_SIZE(key, n);
    return a;
  }
  double x = strtod(value, &end);
  if (value[0] != '\0' && *end == '\0') {
    kiln_arg_t a = KILN_ARG_NUM(key, x);
    return a;
  }
  kiln_arg_t a = KILN_ARG_STR(key, value);
  return a;
}

/* The caller's overrides followed by KILN_OVERRIDES', split at commas and
   white space. */
static kiln_res_t env_overrides(heap_env_t *env, const kiln_arg_t given[])
{
  size_t ngiven = 0, n = 0;
  while (given != NULL && given[ngiven].key != NULL)
    ngiven++;
  env->text = strdup(env->overrides_var);
  env->overrides = calloc(ngiven + strlen(env->overrides_var) / 2 + 2, sizeof *env->overrides);
  if (env->text == NULL || env->overrides == NULL)
    return lk_fail(KILN_MEMORY, "KILN_OVERRIDES: out of memory reading the environment");
  for (; n < ngiven; n++)
    env->overrides[n] = given[n];
  for (char *save = NULL, *item = strtok_r(env->text, ", \t\n", &save); item != NULL;
       item = strtok_r(NULL, ", \t\n", &save)) {
    char *eq = strchr(item, '=');
    if (eq == NULL || eq == item)
      return lk_fail(KILN_PARAM, "KILN_OVERRIDES='%s': '%s' is not POOL.KEY=VALUE; give "
                     "overrides separated by commas, as in " OVERRIDES_EXAMPLE,
                     env->overrides_var, item);
    *eq = '\0';
    env->overrides[n++] = env_override(item, eq + 1);
  }
  kiln_arg_t end = KILN_ARGS_END;
  env->overrides[n] = end;
  return KILN_OK;
}

static kiln_res_t env_read(heap_env_t *env, const kiln_arg_t given[])
{
  memset(env, 0, sizeof *env);
  const char *plan = getenv("KILN_PLAN"), *stats = getenv("KILN_STATS");
  if (plan != NULL && plan[0] != '\0')
    env->plan = plan;
  if (stats != NULL && stats[0] != '\0' && strcmp(stats, "0") != 0 && strcmp(stats, "1") != 0)
    return lk_fail(KILN_PARAM, "KILN_STATS='%s': expected 1 (print one line of statistics to "
                   "stderr when a heap closes) or 0 (do not)", stats);
  env->stats = stats != NULL && strcmp(stats, "1") == 0;
  env->overrides_var = getenv("KILN_OVERRIDES");
  if (env->overrides_var != NULL && env->overrides_var[0] == '\0')
    env->overrides_var = NULL;
  return env->overrides_var != NULL ? env_overrides(env, given) : KILN_OK;
}

static void env_free(heap_env_t *env)
{
  free(env->overrides);
  free(env->text);
}

/* A failure to open a heap the environment changed names what it set. */
static kiln_res_t env_blamed(const heap_env_t *env, kiln_res_t res)
{
  char why[1024];
  snprintf(why, sizeof why, "%s", lk_error());
  if (env->plan != NULL && env->overrides_var != NULL)
    return lk_fail(res, "KILN_PLAN='%s' and KILN_OVERRIDES='%s' from the environment: %s",
                   env->plan, env->overrides_var, why);
  if (env->plan != NULL)
    return lk_fail(res, "KILN_PLAN='%s' from the environment: %s", env->plan, why);
  return lk_fail(res, "KILN_OVERRIDES='%s' from the environment: %s", env->overrides_var, why);
}

kiln_res_t kiln_heap_open(kiln_heap_t *heap_o, const char *plan, const kiln_format_t *format,
                          const kiln_arg_t overrides[])
{
  heap_env_t env;
  kiln_res_t res = env_read(&env, overrides);
  if (res == KILN_OK) {
    res = lk_heap_open_as_given(heap_o, env.plan != NULL ? env.plan : plan, format,
                                env.overrides != NULL ? env.overrides : overrides);
    if (res != KILN_OK && (env.plan != NULL || env.overrides_var != NULL))
      res = env_blamed(&env, res);
  }
  if (res == KILN_OK)
    (*heap_o)->print_stats = env.stats;
  env_free(&env);
  return res;
}

/* KILN_STATS=1's line, in the manner of the Boehm GC's GC_PRINT_STATS. */
static void print_stats(kiln_heap_t heap)
{
  kiln_stats_t st;
  kiln_arena_stats(heap->arena, &st);
  fprintf(stderr, "kiln: heap '%s' closed: %llu collections (%llu minor), %.3f s collecting, "
          "pause max %.3f ms p99 %.3f ms, allocated %zu bytes, live %zu, committed %zu\n",
          heap->plan->name, (unsigned long long)st.collections,
          (unsigned long long)st.minor_collections, st.gc_seconds, st.pause_max_ms,
          st.pause_p99_ms, st.allocated, st.live, st.committed);
}

void kiln_heap_close(kiln_heap_t heap)
{
  if (heap == NULL)
    return;
  if (heap->print_stats)
    print_stats(heap);
  pthread_key_delete(heap->key);
  pthread_mutex_destroy(&heap->lock);
  heap_unwind(heap);
}

kiln_arena_t kiln_heap_arena(kiln_heap_t heap)
{
  return heap != NULL ? heap->arena : NULL;
}

const char *kiln_heap_plan_name(kiln_heap_t heap)
{
  return heap != NULL ? heap->plan->name : NULL;
}

static size_t role_index(kiln_heap_t heap, const char *role)
{
  for (size_t r = 0; role != NULL && r < heap->plan->nroles; r++)
    if (strcmp(heap->plan->roles[r].role, role) == 0)
      return r;
  return heap->plan->nroles;
}

kiln_pool_t kiln_heap_pool(kiln_heap_t heap, const char *role)
{
  if (heap == NULL)
    return NULL;
  size_t r = role_index(heap, role);
  if (r == heap->plan->nroles)
    return NULL;
  return heap->pools[pool_index(heap->plan, heap->plan->roles[r].pool)];
}

static heap_tls_t *thread_table(kiln_heap_t heap)
{
  heap_tls_t *t = pthread_getspecific(heap->key);
  if (t != NULL)
    return t;
  t = calloc(1, sizeof *t + heap->plan->nroles * sizeof t->aps[0]);
  if (t == NULL)
    return NULL;
  pthread_mutex_lock(&heap->lock);
  t->next = heap->tls_all;
  heap->tls_all = t;
  pthread_mutex_unlock(&heap->lock);
  pthread_setspecific(heap->key, t);
  return t;
}

/* Say why role has no allocation point, in the heap's arena and in
   kiln_arena_error(NULL), and return NULL. */
static kiln_ap_t heap_ap_refused(kiln_heap_t heap, const char *role, kiln_pool_t pool)
{
  if (role == NULL)
    lk_fail(KILN_PARAM, "plan '%s': kiln_heap_ap: role is NULL", heap->plan->name);
  else if (pool == NULL)
    lk_fail(KILN_PARAM, "plan '%s': kiln_heap_ap(\"%s\"): the plan has no role '%.64s' "
            "(`kiln describe %s` lists its roles)", heap->plan->name, role, role, heap->plan->name);
  else
    lk_fail(KILN_PARAM, "plan '%s': kiln_heap_ap(\"%s\"): the role's pool is of manual class "
            "'%s', which has no allocation points; allocate with kiln_alloc on "
            "kiln_heap_pool(heap, \"%s\"), or use a plan with an automatic pool for this role",
            heap->plan->name, role, kiln_class_name(kiln_pool_class(pool)), role);
  kiln_arena_set_error(heap->arena, KILN_PARAM, lk_error());
  return NULL;
}

/* The allocation point arguments of a role: its name (what a recording
   calls its objects), and rank weak for a weak role. */
static void role_args(kiln_arg_t args[3], const lk_role_t *role, const char *name)
{
  args[0] = (kiln_arg_t)KILN_ARG_STR("role", name);
  args[1] = role->weak ? (kiln_arg_t)KILN_ARG_STR("rank", "weak") : (kiln_arg_t)KILN_ARGS_END;
  args[2] = (kiln_arg_t)KILN_ARGS_END;
}

/* This thread's AP for role: NULL if the role is unknown, its pool is manual,
   the calling thread neither opened the heap nor joined it (its stack would
   not be scanned), or the AP cannot be made (the sentence is then in
   lk_error()). */
kiln_ap_t kiln_heap_ap(kiln_heap_t heap, const char *role)
{
  if (heap == NULL)
    return NULL;
  size_t r = role_index(heap, role);
  kiln_pool_t pool = kiln_heap_pool(heap, role);
  if (pool == NULL || !kiln_class_is_automatic(kiln_pool_class(pool)))
    return heap_ap_refused(heap, role, pool);
  heap_tls_t *t = pthread_getspecific(heap->key);
  if (!pthread_equal(pthread_self(), heap->opener) && (t == NULL || t->thread == NULL)) {
    lk_fail(KILN_PARAM, "plan '%s': kiln_heap_ap(\"%s\"): this thread has not joined the "
            "heap; call kiln_heap_join(heap) from it first, so that collections scan its "
            "stack, and kiln_heap_leave(heap) before it exits", heap->plan->name, role);
    return NULL;
  }
  if (t == NULL && (t = thread_table(heap)) == NULL)
    return NULL;
  if (t->aps[r] == NULL) {
    kiln_arg_t args[3];
    role_args(args, &heap->plan->roles[r], role);
    kiln_res_t res = kiln_ap_create(&t->aps[r], pool, args);
    if (res != KILN_OK) {
      t->aps[r] = NULL;
      lk_fail(res, "plan '%s': role '%s': %s", heap->plan->name, role, why(heap->arena, res));
    }
  }
  return t->aps[r];
}

kiln_res_t kiln_heap_join(kiln_heap_t heap)
{
  if (heap == NULL)
    return lk_fail(KILN_PARAM, "kiln_heap_join: the heap is NULL; pass one made by "
                   "kiln_heap_open");
  heap_tls_t *t = pthread_getspecific(heap->key);
  if (pthread_equal(pthread_self(), heap->opener) || (t != NULL && t->thread != NULL))
    return lk_fail(KILN_PARAM, "plan '%s': kiln_heap_join: this thread has already joined the "
                   "heap (%s); join once, and leave (kiln_heap_leave) before joining again",
                   heap->plan->name, pthread_equal(pthread_self(), heap->opener)
                   ? "it opened it" : "by an earlier kiln_heap_join");
  void *cold = stack_cold_end();
  if (cold == NULL)
    return lk_fail(KILN_FAIL, "plan '%s': kiln_heap_join: could not find this thread's stack",
                   heap->plan->name);
  if (t == NULL && (t = thread_table(heap)) == NULL)
    return lk_fail(KILN_MEMORY, "plan '%s': kiln_heap_join: out of memory", heap->plan->name);
  kiln_res_t res = kiln_thread_reg(&t->thread, heap->arena);
  if (res != KILN_OK) {
    t->thread = NULL;
    return lk_fail(res, "plan '%s': kiln_heap_join: registering this thread: %s",
                   heap->plan->name, why(heap->arena, res));
  }
  res = kiln_root_create_thread(&t->root, heap->arena, t->thread, cold);
  if (res != KILN_OK) {
    lk_fail(res, "plan '%s': kiln_heap_join: registering this thread's stack: %s",
            heap->plan->name, why(heap->arena, res));
    kiln_thread_dereg(t->thread);
    t->thread = NULL;
    t->root = NULL;
  }
  return res;
}

void kiln_heap_leave(kiln_heap_t heap)
{
  if (heap == NULL) {
    lk_fail(KILN_PARAM, "kiln_heap_leave: the heap is NULL; pass one made by kiln_heap_open");
    return;
  }
  heap_tls_t *t = pthread_getspecific(heap->key);
  if (pthread_equal(pthread_self(), heap->opener)) {
    lk_fail(KILN_PARAM, "plan '%s': kiln_heap_leave: this thread opened the heap; it leaves "
            "it by closing it (kiln_heap_close)", heap->plan->name);
    return;
  }
  if (t == NULL || t->thread == NULL) {
    lk_fail(KILN_PARAM, "plan '%s': kiln_heap_leave: this thread has not joined the heap; "
            "call kiln_heap_join(heap) first, and kiln_heap_leave once for each join",
            heap->plan->name);
    return;
  }
  for (size_t r = 0; r < heap->plan->nroles; r++)
    if (t->aps[r] != NULL)
      kiln_ap_destroy(t->aps[r]);
  kiln_root_destroy(t->root);
  kiln_thread_dereg(t->thread);
  pthread_mutex_lock(&heap->lock);
  for (heap_tls_t **pp = &heap->tls_all; *pp != NULL; pp = &(*pp)->next)
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  pthread_mutex_unlock(&heap->lock);
  pthread_setspecific(heap->key, NULL);
  free(t);
}
