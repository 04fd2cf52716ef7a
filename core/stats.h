/* stats.h -- collection statistics: counters and a log-scale pause histogram.
 *
 * The histogram has 8 buckets per power of two of nanoseconds (about 9%
 * resolution), enough for honest p50/p99 without keeping every pause.
 */
#ifndef KILN_STATS_H
#define KILN_STATS_H

#include <stddef.h>
#include <stdint.h>

#define PAUSE_BUCKETS (64 * 8)

typedef struct pause_hist_s {
  uint64_t count;
  double max_ms, total_s;
  uint32_t bucket[PAUSE_BUCKETS];
} pause_hist_t;

typedef struct arena_stats_s {
  size_t allocated, live, copied, marked, scanned;
  size_t helped;                 /* of scanned: by markers other than the collecting thread */
  uint64_t collections, minor_collections;
  uint64_t finalized;            /* objects queued for finalization */
  double copy_seconds;           /* pauses of the collections that copied */
  pause_hist_t all, minor, full;
} arena_stats_t;

void pause_record(pause_hist_t *h, double seconds);
double pause_percentile(const pause_hist_t *h, double p); /* in ms */

#endif
