/* testlib.h -- shared helpers for the Check suites: seeds, a small PRNG,
 * and a main() that fails when no test ran. */
#ifndef KILN_TESTLIB_H
#define KILN_TESTLIB_H

#include "config.h"

#include <check.h>
#include <stdint.h>
#include "kiln.h"

/* The seed for property tests: KILN_SEED from the environment if set (for
   exploration), else the fixed default given. Printed so a failure can be
   replayed. */
uint64_t test_seed(uint64_t fixed);
/* splitmix64 */
uint64_t test_rand(uint64_t *state);
static inline size_t test_range(uint64_t *state, size_t lo, size_t hi) /* [lo, hi] */
{
  return lo + (size_t)(test_rand(state) % (hi - lo + 1));
}
/* Number of iterations scaled by KILN_TEST_SCALE (default 1). */
size_t test_scale(size_t n);

/* Run fn in a forked child with its stderr captured into out; returns the
   wait status. For checked-build tests that expect a contract report. */
int test_run_child(void (*fn)(void), char *out, size_t outlen);
/* The child must abort (SIGABRT) and its report must contain want. */
void test_expect_abort(void (*fn)(void), const char *want);

/* Each suite file defines this; main() in testlib.c runs it. */
Suite *test_suite(void);

/* ck_assert_* reports a passing check to the parent process (a write per
   call), far too slow inside loops: T_CHECK only talks on failure. */
#define T_CHECK(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

#define ck_assert_res(expr, want) \
  do { kiln_res_t r_ = (expr); ck_assert_msg(r_ == (want), "%s returned %s, wanted %s", #expr, \
                                             kiln_res_name(r_), kiln_res_name(want)); } while (0)
#define ck_assert_ok(expr) ck_assert_res(expr, KILN_OK)

#endif
