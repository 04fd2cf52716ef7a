/* stats.c -- pause histogram and kiln_arena_stats. */
#include "config.h"
#include "arena.h"
#include "pool.h"
#include "trace.h"

#include <math.h>
#include <string.h>

static size_t bucket_of(double seconds)
{
  double ns = seconds * 1e9;
  if (ns < 1)
    return 0;
  size_t b = (size_t)(log2(ns) * 8);
  return b < PAUSE_BUCKETS ? b : PAUSE_BUCKETS - 1;
}

void pause_record(pause_hist_t *h, double seconds)
{
  h->count++;
  h->total_s += seconds;
  if (seconds * 1e3 > h->max_ms)
    h->max_ms = seconds * 1e3;
  h->bucket[bucket_of(seconds)]++;
}

/* The upper edge of the bucket holding the p-th pause, capped by the max. */
double pause_percentile(const pause_hist_t *h, double p)
{
  if (h->count == 0)
    return 0;
  uint64_t want = (uint64_t)ceil(p * (double)h->count), seen = 0;
  if (want == 0)
    want = 1;
  for (size_t b = 0; b < PAUSE_BUCKETS; b++) {
    seen += h->bucket[b];
    if (seen >= want) {
      double ms = exp2((double)(b + 1) / 8) * 1e-6;
      return ms < h->max_ms ? ms : h->max_ms;
    }
  }
  return h->max_ms;
}

void kiln_arena_stats(kiln_arena_t arena, kiln_stats_t *s)
{
  if (s == NULL) {
    api_misuse("kiln_arena_stats: stats_o is NULL; pass a kiln_stats_t to fill");
    return;
  }
  memset(s, 0, sizeof *s);
  if (api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_arena_stats", "arena", 1) != KILN_OK)
    return;
  /* First, as syncing may release a segment and count allocations. */
  ring_t *node, *nxt;
  RING_FOR(node, &arena->pools, nxt) {
    pool_t pool = CONTAINER(node, struct kiln_pool_s, arena_ring);
    pool_sync(pool);
    s->pools++;
    s->in_use += pool->st.in_use;
  }
  const arena_stats_t *st = &arena->stats;
  s->reserved = arena->reserve;
  s->committed = arena->committed;
  s->spare_committed = arena->spare_committed;
  s->allocated = st->allocated + ap_open_bytes(arena, NULL);
  s->live = st->live;
  s->copied = st->copied;
  s->marked = st->marked;
  s->scanned = st->scanned;
  s->collections = st->collections;
  s->minor_collections = st->minor_collections;
  s->gc_seconds = st->all.total_s;
  s->pause_max_ms = st->all.max_ms;
  s->pause_p50_ms = pause_percentile(&st->all, 0.50);
  s->pause_p99_ms = pause_percentile(&st->all, 0.99);
  s->segments = arena->segments;
  s->minor_pause_p50_ms = pause_percentile(&st->minor, 0.50);
  s->minor_pause_p99_ms = pause_percentile(&st->minor, 0.99);
  s->minor_pause_max_ms = st->minor.max_ms;
  s->full_pause_p50_ms = pause_percentile(&st->full, 0.50);
  s->full_pause_p99_ms = pause_percentile(&st->full, 0.99);
  s->full_pause_max_ms = st->full.max_ms;
  s->pauses = st->all.count;
  s->in_progress = arena->inc != NULL;
}
