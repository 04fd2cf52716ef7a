/* fuzz_plan.c -- libFuzzer harness for the plan loader.
 *
 * The input bytes are a plan file: they are written to a private temporary
 * file and opened with kiln_heap_open and a valid format. A plan that loads
 * gets a few objects in each of the usual roles, one collection and a close.
 * Any crash, sanitizer report, leak or hang is a bug; a refused plan
 * (KILN_PARAM, KILN_LIMIT, ...) is the expected outcome for most inputs.
 * The plan sandbox's budgets (lua/plan.c: instructions, CPU time, memory,
 * and the work of one string library call) bound every input, so an input
 * that runs for more than the CPU-time budget is a hang, and a bug.
 *
 * Built with -DKILN_FUZZ_REPLAY, the file provides fuzz_plan_one only, for
 * tests/test_fuzz_replay.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzzharness.h"
#include "fuzzobj.h"
#include "kiln/heap.h"

static char plan_dir[64], plan_path[96];

static void plan_cleanup(void)
{
  if (plan_path[0] != '\0')
    unlink(plan_path);
  if (plan_dir[0] != '\0')
    rmdir(plan_dir);
}

/* A private directory, so that concurrent fuzzers never share a plan file.
   The name ends in .lua: the loader takes a spec with a '/' as a path. */
static int plan_file_init(void)
{
  if (plan_path[0] != '\0')
    return 1;
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || (size_t)snprintf(plan_dir, sizeof plan_dir, "%s/kiln-fuzz-XXXXXX", tmp)
                         >= sizeof plan_dir)
    snprintf(plan_dir, sizeof plan_dir, "/tmp/kiln-fuzz-XXXXXX");
  if (mkdtemp(plan_dir) == NULL) {
    plan_dir[0] = '\0';
    return 0;
  }
  if ((size_t)snprintf(plan_path, sizeof plan_path, "%s/input.lua", plan_dir) >= sizeof plan_path)
    return 0;
  atexit(plan_cleanup);
  return 1;
}

static int write_plan(const uint8_t *data, size_t size)
{
  FILE *f = fopen(plan_path, "wb");
  if (f == NULL)
    return 0;
  size_t n = size > 0 ? fwrite(data, 1, size, f) : 0;
  return (fclose(f) == 0) & (n == size);
}

/* A few objects through the role's AP, linked into a chain so the stack root
   (the heap registers this thread) keeps them all through a collection. */
static void use_role(kiln_heap_t h, const char *role)
{
  kiln_ap_t ap = kiln_heap_ap(h, role);
  if (ap != NULL) {
    fz_obj_t *prev = NULL, *o;
    for (uint32_t i = 0; i < 4; i++) {
      if (fz_obj_new(&o, ap, i, 1, 8 + 24 * i) != KILN_OK)
        break;
      o->ref[0] = prev;
      prev = o;
    }
    return;
  }
  kiln_pool_t pool = kiln_heap_pool(h, role);
  if (pool != NULL && !kiln_class_is_automatic(kiln_pool_class(pool))) {
    void *p;
    if (kiln_alloc(&p, pool, 8) == KILN_OK)
      memset(p, 0x5a, 8);   /* never freed: closing the heap releases it */
  }
}

int fuzz_plan_one(const uint8_t *data, size_t size)
{
  if (!plan_file_init() || !write_plan(data, size)) {
    fprintf(stderr, "fuzz_plan: cannot write the plan file under %s\n", plan_dir);
    abort();
  }
  kiln_heap_t h;
  if (kiln_heap_open(&h, plan_path, fz_format(), NULL) != KILN_OK)
    return 0;
  static const char *const roles[] = {"objects", "leaf", "large", "manual", "young", NULL};
  for (int r = 0; roles[r] != NULL; r++)
    use_role(h, roles[r]);
  kiln_arena_collect(kiln_heap_arena(h));
  kiln_heap_close(h);
  return 0;
}

#ifndef KILN_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  return fuzz_plan_one(data, size);
}
#endif
