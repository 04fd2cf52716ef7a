/* benchlib.c -- clock, peak RSS, option parsing and pause statistics for the
 * benchmark programs. See benchlib.h.
 */
#include "benchlib.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

double bench_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long bench_peak_rss_kb(void)
{
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return -1;
  return ru.ru_maxrss; /* Linux reports KiB */
}

void bench_die(const char *fmt, ...)
{
  va_list ap;
  fputs("bench: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

void bench_usage_error(void (*usage)(FILE *))
{
  usage(stderr);
  exit(2);
}

unsigned long bench_parse_ulong(const char *opt, const char *text)
{
  char *end;
  unsigned long v;
  if (text == NULL)
    bench_die("option %s needs a value", opt);
  errno = 0;
  v = strtoul(text, &end, 10);
  /* strtoul accepts "-1" and wraps it; a count that large is a typo */
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
    bench_die("option %s: '%s' is not a non-negative integer", opt, text);
  return v;
}

void bench_pauses_add(bench_pauses_t *pauses, double ms)
{
  if (pauses->n < BENCH_PAUSES_MAX)
    pauses->ms[pauses->n] = ms;
  pauses->n++;
  pauses->sum_ms += ms;
  if (ms > pauses->max_ms)
    pauses->max_ms = ms;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_pauses_pct(bench_pauses_t *pauses, unsigned pct)
{
  size_t n = pauses->n < BENCH_PAUSES_MAX ? (size_t)pauses->n : BENCH_PAUSES_MAX;
  size_t rank;
  if (n == 0)
    return 0.0;
  qsort(pauses->ms, n, sizeof pauses->ms[0], cmp_double);
  rank = (pct * n + 99) / 100; /* ceil(pct/100 n), 1-based */
  return pauses->ms[rank - 1];
}
