/* testlib.c -- seeds, PRNG and main() for the Check suites. */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>

uint64_t test_seed(uint64_t fixed)
{
  const char *env = getenv("KILN_SEED");
  uint64_t seed = env != NULL && *env ? strtoull(env, NULL, 0) : fixed;
  return seed;
}

uint64_t test_rand(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

size_t test_scale(size_t n)
{
  const char *env = getenv("KILN_TEST_SCALE");
  double k = env != NULL && *env ? atof(env) : 1.0;
  size_t r = (size_t)((double)n * k);
  return r > 0 ? r : 1;
}

int main(void)
{
  SRunner *sr = srunner_create(test_suite());
  srunner_run_all(sr, CK_NORMAL);
  int ran = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (ran == 0) {
    fprintf(stderr, "no test ran: a suite with no tests is a broken suite\n");
    return EXIT_FAILURE;
  }
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
