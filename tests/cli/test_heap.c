/* test_heap.c -- the kiln_heap_* C API (docs/design.md, §Plans and heaps).
 *
 * Opens heaps from built-in plans and plan files through the public
 * header, checks roles, pools and allocation points (one per role per
 * thread, made on first use), overrides, and the failures: a bad plan, a
 * garbage-collected plan without a format; and the environment variables
 * KILN_PLAN, KILN_OVERRIDES and KILN_STATS. Prints one line per failed
 * check and exits 1 if any failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "plans/plans.h"

static int failures, checks;

#define CHECK(c)                                                        \
  do {                                                                  \
    checks++;                                                           \
    if (!(c)) {                                                         \
      failures++;                                                       \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);      \
    }                                                                   \
  } while (0)

static void test_manual(void)
{
  kiln_heap_t h;
  kiln_arg_t ov[] = {KILN_ARG_STR("arena.reserve", "64MB"), KILN_ARG_SIZE("cells.unit_size", 32),
                     KILN_ARGS_END};
  CHECK(kiln_heap_open(&h, "manual", NULL, ov) == KILN_OK);
  CHECK(strcmp(kiln_heap_plan_name(h), "manual") == 0);
  kiln_pool_t cells = kiln_heap_pool(h, "cells");
  CHECK(cells != NULL && strcmp(kiln_class_name(kiln_pool_class(cells)), "mfs") == 0);
  CHECK(kiln_heap_pool(h, "objects") == kiln_heap_pool(h, "manual"));
  CHECK(kiln_heap_pool(h, "nosuchrole") == NULL);
  CHECK(kiln_heap_pool(h, "weak") == NULL); /* no collector, no weak role */
  CHECK(kiln_heap_ap(h, "manual") == NULL); /* manual pools take no APs */
  /* ... and both error slots say which role and why. */
  CHECK(kiln_heap_ap(h, "objects") == NULL);
  CHECK(strstr(kiln_arena_error(NULL), "plan 'manual': kiln_heap_ap(\"objects\"): the role's pool "
                                       "is of manual class 'mvff'") != NULL);
  CHECK(strstr(kiln_arena_error(kiln_heap_arena(h)), "use a plan with an automatic pool") != NULL);
  CHECK(kiln_heap_ap(h, "nosuchrole") == NULL);
  CHECK(strstr(kiln_arena_error(NULL), "the plan has no role 'nosuchrole'") != NULL);
  CHECK(strstr(kiln_arena_error(kiln_heap_arena(h)), "no role 'nosuchrole'") != NULL);
  void *p = NULL;
  CHECK(kiln_alloc(&p, cells, 32) == KILN_OK && p != NULL);
  kiln_free(cells, p, 32);
  kiln_stats_t st;
  kiln_arena_stats(kiln_heap_arena(h), &st);
  CHECK(st.reserved == (size_t)64 << 20);
  kiln_heap_close(h);
}

/* Another thread's view: its kiln_heap_ap answer and the sentence. */
typedef struct other_s {
  kiln_heap_t heap;
  kiln_ap_t ap;
  char error[512];
} other_t;

static void *other_thread(void *arg)
{
  other_t *o = arg;
  o->ap = kiln_heap_ap(o->heap, "objects");
  snprintf(o->error, sizeof o->error, "%s", kiln_arena_error(NULL));
  return NULL;
}

static void test_auto(void)
{
  kiln_heap_t h;
  if (kiln_class_lookup("ms") == NULL)
    return;
  CHECK(kiln_heap_open(&h, "marksweep", kiln_desc_format(), NULL) == KILN_OK);
  kiln_ap_t ap = kiln_heap_ap(h, "objects");
  CHECK(ap != NULL);
  CHECK(kiln_heap_ap(h, "objects") == ap);       /* one per role per thread */
  CHECK(kiln_heap_ap(h, "leaf") != ap);          /* another role, another AP */
  /* A thread allocates once it has joined (or opened) the heap. */
  pthread_t t;
  other_t theirs = {h, ap, ""};
  CHECK(pthread_create(&t, NULL, other_thread, &theirs) == 0);
  pthread_join(t, NULL);
  CHECK(theirs.ap == NULL);
  CHECK(strstr(theirs.error, "plan 'marksweep': kiln_heap_ap(\"objects\"): this thread has "
                             "not joined the heap; call kiln_heap_join(heap)") != NULL);
  CHECK(kiln_heap_ap(h, "objects") == ap);       /* the opening thread still allocates */
  lk_wparams_t wp;
  lk_wresult_t r;
  lk_wparams_default(&wp);
  wp.scale = 0.02;
  CHECK(lk_workload_run("churn", h, &wp, &r) == KILN_OK && r.verified);
  kiln_heap_close(h);
}

static void test_failures(void)
{
  kiln_heap_t h = NULL;
  CHECK(kiln_heap_open(&h, "gencopi", NULL, NULL) == KILN_PARAM);
  CHECK(strstr(lk_error(), "did you mean 'gencopy'?") != NULL);
  kiln_arg_t bad[] = {KILN_ARG_SIZE("cels.unit_size", 32), KILN_ARGS_END};
  CHECK(kiln_heap_open(&h, "manual", NULL, bad) == KILN_PARAM);
  CHECK(strcmp(lk_error(), "override 'cels.unit_size': plan 'manual' has no pool 'cels' "
                           "(did you mean 'cells'?)") == 0);
  if (kiln_class_lookup("ms") != NULL) {
    CHECK(kiln_heap_open(&h, "marksweep", NULL, NULL) == KILN_PARAM);
    CHECK(strcmp(lk_error(), "plan 'marksweep': pool 'main' (ms) is garbage collected and "
                             "needs an object format: pass one to kiln_heap_open") == 0);
  }
  CHECK(kiln_heap_open(&h, NULL, NULL, NULL) == KILN_PARAM);
}

/* ---- the environment ---------------------------------------------------- */

static const char *const automatic_plans[] = {"marksweep", "semispace", "gencopy", "genms",
                                              "sticky", "sticky-inc"};
#define NAUTO (sizeof automatic_plans / sizeof automatic_plans[0])

static void env_clear(void)
{
  unsetenv("KILN_PLAN");
  unsetenv("KILN_OVERRIDES");
  unsetenv("KILN_STATS");
}

/* A list of n objects, each holding the next, rooted only by the heap's
   stack scan; collected fully, then checked. */
static int list_survives(kiln_heap_t h, size_t n)
{
  kiln_type_t cell;
  size_t refs[] = {0};
  kiln_type_spec_t spec = {"cell", 16, 1, refs, 0, 0, NULL, NULL};
  if (kiln_type_create(&cell, &spec) != KILN_OK)
    return 0;
  kiln_ap_t ap = kiln_heap_ap(h, "objects");
  void *head = NULL;
  for (size_t i = 0; ap != NULL && i < n; i++) {
    void *o;
    if (kiln_desc_alloc(&o, ap, cell, 0) != KILN_OK)
      break;
    *kiln_desc_slot(o, 0) = head; /* initialising: before anything else is allocated */
    ((uint64_t *)kiln_desc_fixed(o))[1] = i;
    head = o;
  }
  kiln_arena_collect(kiln_heap_arena(h));
  size_t seen = 0;
  for (void *o = head; o != NULL; o = *kiln_desc_slot(o, 0), seen++)
    if (kiln_desc_type(o) != cell || ((uint64_t *)kiln_desc_fixed(o))[1] != n - 1 - seen)
      break;
  kiln_type_destroy(cell);
  return seen == n;
}

/* Objects of type pair: two references, then a tag word. */
enum { WEAK_TAG = 0x5eed, LIVE_TAG = 0x11fe, DEAD_TAG = 0xdead };

static void *tagged(kiln_ap_t ap, kiln_type_t type, uint64_t tag)
{
  void *o = NULL;
  if (ap == NULL || kiln_desc_alloc(&o, ap, type, 0) != KILN_OK)
    return NULL;
  ((uint64_t *)kiln_desc_fixed(o))[2] = tag;
  return o;
}

static int tag_is(void *o, kiln_type_t type, uint64_t tag)
{
  return o != NULL && kiln_desc_type(o) == type && ((uint64_t *)kiln_desc_fixed(o))[2] == tag;
}

/* Weak role: an object from kiln_heap_ap(h, "weak") holding a rooted
   object and an otherwise unreferenced one. After a full collection the
   weak object is intact, its reference to the dead object is NULL and the
   one to the live object points to it, moved or not. The stack is not
   scanned, so no stale copy of the dead object's address keeps it alive;
   an exact root area holds the weak and the live object instead. With an
   exact role the dead object would live on and the check on its slot
   fails. Returns whether all of this holds. */
static int weak_role_clears(kiln_heap_t h, kiln_type_t pair)
{
  void *roots[2] = {NULL, NULL}; /* the weak object, the live object */
  kiln_root_t root;
  kiln_arena_t arena = kiln_heap_arena(h);
  if (kiln_root_create_area(&root, arena, roots, roots + 2, KILN_RANK_EXACT) != KILN_OK)
    return 0;
  kiln_ap_t ap = kiln_heap_ap(h, "objects"), wap = kiln_heap_ap(h, "weak");
  roots[1] = tagged(ap, pair, LIVE_TAG);
  void *dead = tagged(ap, pair, DEAD_TAG);
  roots[0] = tagged(wap, pair, WEAK_TAG);
  int made = wap != NULL && wap != ap && roots[1] != NULL && dead != NULL && roots[0] != NULL;
  if (made) {
    kiln_write(arena, roots[0], kiln_desc_slot(roots[0], 0), roots[1]);
    kiln_write(arena, roots[0], kiln_desc_slot(roots[0], 1), dead);
  }
  dead = NULL;
  kiln_arena_collect(arena);
  int ok = made && tag_is(roots[0], pair, WEAK_TAG) && tag_is(roots[1], pair, LIVE_TAG)
           && *kiln_desc_slot(roots[0], 0) == roots[1] && *kiln_desc_slot(roots[0], 1) == NULL;
  kiln_root_destroy(root);
  return ok;
}

/* Every automatic built-in plan has a weak role on its objects' pool. */
static void test_weak_role(void)
{
  kiln_type_t pair;
  kiln_type_spec_t spec = {"pair", 24, 2, NULL, 0, 0, NULL, NULL};
  if (kiln_type_create(&pair, &spec) != KILN_OK) {
    CHECK(!"kiln_type_create");
    return;
  }
  for (size_t i = 0; i < NAUTO; i++) {
    kiln_heap_t h = NULL;
    CHECK(kiln_heap_open(&h, automatic_plans[i], kiln_desc_format(), NULL) == KILN_OK);
    if (h == NULL)
      continue;
    CHECK(kiln_heap_scan_stack(h, 0) == KILN_OK);
    CHECK(kiln_heap_pool(h, "weak") == kiln_heap_pool(h, "objects"));
    int ok = weak_role_clears(h, pair);
    CHECK(ok);
    if (!ok)
      fprintf(stderr, "  plan '%s': %s\n", automatic_plans[i], kiln_arena_error(kiln_heap_arena(h)));
    kiln_heap_close(h);
  }
  kiln_type_destroy(pair);
}

/* KILN_PLAN replaces the plan given, under every automatic plan, and the
   heap works; KILN_OVERRIDES is applied after the given overrides. */
static void test_env_plan(void)
{
  env_clear();
  kiln_arg_t given[] = {KILN_ARG_STR("arena.reserve", "64MB"), KILN_ARGS_END};
  for (size_t i = 0; i < NAUTO; i++) {
    kiln_heap_t h = NULL;
    setenv("KILN_PLAN", automatic_plans[i], 1);
    CHECK(kiln_heap_open(&h, "marksweep", kiln_desc_format(), given) == KILN_OK);
    if (h == NULL)
      continue;
    CHECK(strcmp(kiln_heap_plan_name(h), automatic_plans[i]) == 0);
    CHECK(list_survives(h, 2000));
    kiln_stats_t st;
    kiln_arena_stats(kiln_heap_arena(h), &st);
    CHECK(st.reserved == (size_t)64 << 20);
    kiln_heap_close(h);
  }
  setenv("KILN_PLAN", "genms", 1);
  setenv("KILN_OVERRIDES", "arena.reserve=32MB, young.nursery_size=128KB,arena.growth=1.5", 1);
  kiln_heap_t h = NULL;
  CHECK(kiln_heap_open(&h, "marksweep", kiln_desc_format(), given) == KILN_OK);
  if (h != NULL) {
    kiln_stats_t st;
    kiln_arena_stats(kiln_heap_arena(h), &st);
    CHECK(st.reserved == (size_t)32 << 20); /* the environment's override wins */
    CHECK(list_survives(h, 2000));
    kiln_heap_close(h);
  }
  env_clear();
}

static void expect_env_failure(const char *plan, const char *overrides, const char *stats,
                               const char *want)
{
  env_clear();
  if (plan != NULL)
    setenv("KILN_PLAN", plan, 1);
  if (overrides != NULL)
    setenv("KILN_OVERRIDES", overrides, 1);
  if (stats != NULL)
    setenv("KILN_STATS", stats, 1);
  kiln_heap_t h = NULL;
  CHECK(kiln_heap_open(&h, "marksweep", kiln_desc_format(), NULL) == KILN_PARAM);
  CHECK(h == NULL);
  CHECK(strstr(lk_error(), want) != NULL);
  if (strstr(lk_error(), want) == NULL)
    fprintf(stderr, "  the sentence was: %s\n  wanted: %s\n", lk_error(), want);
  env_clear();
}

/* Bad values fail the open with a sentence naming the variable. */
static void test_env_failures(void)
{
  expect_env_failure("gencopi", NULL, NULL,
                     "KILN_PLAN='gencopi' from the environment: ");
  expect_env_failure("gencopi", NULL, NULL, "did you mean 'gencopy'?");
  expect_env_failure(NULL, "young.nursery_size", NULL,
                     "KILN_OVERRIDES='young.nursery_size': 'young.nursery_size' is not "
                     "POOL.KEY=VALUE; give overrides separated by commas");
  expect_env_failure(NULL, "main.segment_sise=64KB", NULL,
                     "KILN_OVERRIDES='main.segment_sise=64KB' from the environment: override "
                     "'main.segment_sise': pool 'main' (ms): unknown parameter 'segment_sise'");
  expect_env_failure("genms", "main.large_size=1KB", NULL,
                     "KILN_PLAN='genms' and KILN_OVERRIDES='main.large_size=1KB' from the "
                     "environment: override 'main.large_size': plan 'genms' has no pool 'main'");
  expect_env_failure(NULL, NULL, "yes", "KILN_STATS='yes': expected 1 (print one line of "
                                        "statistics to stderr when a heap closes) or 0");
}

/* KILN_STATS=1 prints one line when the heap closes; 0 prints nothing. */
static void stats_line(const char *value, char *out, size_t outlen)
{
  env_clear();
  setenv("KILN_STATS", value, 1);
  FILE *tmp = tmpfile();
  int saved = dup(2);
  fflush(stderr);
  dup2(fileno(tmp), 2);
  kiln_heap_t h = NULL;
  if (kiln_heap_open(&h, "genms", kiln_desc_format(), NULL) == KILN_OK) {
    (void)list_survives(h, 100);
    kiln_heap_close(h);
  }
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  size_t n = fread(out, 1, outlen - 1, tmp);
  out[n] = '\0';
  fclose(tmp);
  env_clear();
}

static void test_env_stats(void)
{
  char out[1024];
  stats_line("1", out, sizeof out);
  CHECK(strncmp(out, "kiln: heap 'genms' closed: 1 collections (0 minor), ", 52) == 0);
  CHECK(strstr(out, "allocated ") != NULL && strstr(out, " live ") != NULL);
  CHECK(strchr(out, '\n') == out + strlen(out) - 1); /* one line */
  if (strncmp(out, "kiln: heap 'genms' closed: ", 27) != 0)
    fprintf(stderr, "  KILN_STATS=1 printed: '%s'\n", out);
  stats_line("0", out, sizeof out);
  CHECK(out[0] == '\0');
}

int main(void)
{
  env_clear(); /* the tests set what they test */
  test_manual();
  test_auto();
  test_failures();
  test_env_plan();
  test_weak_role();
  test_env_failures();
  test_env_stats();
  printf("test_heap: %d of %d checks failed\n", failures, checks);
  return failures != 0 || checks == 0;
}
