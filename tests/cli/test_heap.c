/* test_heap.c -- the kiln_heap_* C API (docs/design.md, §Plans and heaps).
 *
 * Opens heaps from built-in plans and plan files through the public
 * header, checks roles, pools and allocation points (one per role per
 * thread, made on first use), overrides, and the failures: a bad plan, a
 * garbage-collected plan without a format. Prints one line per failed check
 * and exits 1 if any failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
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
  /* One registered mutator thread per arena: the one that opened the heap. */
  pthread_t t;
  other_t theirs = {h, ap, ""};
  CHECK(pthread_create(&t, NULL, other_thread, &theirs) == 0);
  pthread_join(t, NULL);
  CHECK(theirs.ap == NULL);
  CHECK(strstr(theirs.error, "plan 'marksweep': kiln_heap_ap(\"objects\"): this thread did not "
                             "open the heap; an arena has one registered mutator thread") != NULL);
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

int main(void)
{
  test_manual();
  test_auto();
  test_failures();
  printf("test_heap: %d of %d checks failed\n", failures, checks);
  return failures != 0 || checks == 0;
}
