/* benchlib.h -- helpers shared by the benchmark programs.
 *
 * A monotonic clock, the process's peak resident set, a seeded generator
 * (so every run of a workload performs the same operations in the same
 * order, whatever the backend), a recorder of collection pauses, and the
 * handling of option values and bad command lines.
 * Nothing here knows about Kiln: the peers (malloc, Boehm) use it too.
 */
#ifndef BENCHLIB_H
#define BENCHLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Seconds on a monotonic clock; only differences mean anything. */
double bench_now(void);

/* Peak resident set of this process so far, in KiB (getrusage ru_maxrss). */
long bench_peak_rss_kb(void);

/* Print "bench: <message>" on stderr and exit with status 1. */
void bench_die(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((noreturn, format(printf, 1, 2)))
#endif
  ;

/* A command line the program does not accept: print its usage on stderr
   and exit with status 2. */
void bench_usage_error(void (*usage)(FILE *))
#if defined(__GNUC__)
  __attribute__((noreturn))
#endif
  ;

/* Parse a non-negative decimal integer option value, or die naming opt. */
unsigned long bench_parse_ulong(const char *opt, const char *text);

/* splitmix64: one state word, full period, passes BigCrush; plenty for
   choosing sizes and victims, and cheap enough not to show in the timings. */
typedef struct bench_rng_s {
  uint64_t state;
} bench_rng_t;

static inline uint64_t bench_rng_next(bench_rng_t *rng)
{
  uint64_t z = (rng->state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Uniform in [0, n) by multiply-shift (Lemire): no division on the hot path;
   the bias for n < 2^32 is below 2^-32 and the same for every backend. */
static inline uint32_t bench_rng_below(bench_rng_t *rng, uint32_t n)
{
  return (uint32_t)(((bench_rng_next(rng) >> 32) * (uint64_t)n) >> 32);
}

/* Pause recorder. Fixed capacity and no allocation, because Boehm calls its
   event hook from inside the collector, where malloc is best avoided.
   Pauses past the capacity still count in n, max and the sum; percentiles are
   taken over the first BENCH_PAUSES_MAX only (none of the workloads gets
   near that many collections). */
#define BENCH_PAUSES_MAX 65536
typedef struct bench_pauses_s {
  double ms[BENCH_PAUSES_MAX];
  uint64_t n;
  double max_ms, sum_ms;
} bench_pauses_t;

void bench_pauses_add(bench_pauses_t *pauses, double ms);
/* Nearest-rank pct-th percentile in ms (0 < pct <= 100), 0 if none; sorts
   the samples in place. */
double bench_pauses_pct(bench_pauses_t *pauses, unsigned pct);

#endif /* BENCHLIB_H */
