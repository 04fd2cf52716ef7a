/* testlib.c -- seeds, PRNG and main() for the Check suites. */
#include "testlib.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

int test_run_child(void (*fn)(void), char *out, size_t outlen)
{
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  fflush(stderr);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    fn();
    _exit(0);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t r;
  while (n + 1 < outlen && (r = read(fds[0], out + n, outlen - 1 - n)) > 0)
    n += (size_t)r;
  out[n] = '\0';
  close(fds[0]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  return status;
}

void test_expect_abort(void (*fn)(void), const char *want)
{
  char out[2048];
  int status = test_run_child(fn, out, sizeof out);
  ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "no abort; stderr: %s", out);
  ck_assert_msg(strstr(out, want) != NULL, "the report was '%s', wanted '%s'", out, want);
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
