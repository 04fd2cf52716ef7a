/* stats.c -- pause histogram, kiln_arena_stats, and collection events.
 *
 * Events: each collection that ends is noted (events_note, from the trace's
 * statistics) and gets the length of the pause it ended in when that pause
 * is recorded (events_pause); the outermost entry to the collector delivers
 * the notes to the arena's kiln_arena_on_collect function once it has left
 * the collection (events_deliver). While that function runs (in_event) the
 * arena refuses what would collect or allocate from an automatic pool:
 * the call that caused the collection is still in progress.
 */
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
  /* Locked: syncing writes the pools, which other threads may be using. */
  arena_lock(arena);
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
  s->finalized = st->finalized;
  s->heap_limit = arena->live_full + policy_budget(arena);
  s->marked = st->marked;
  s->scanned = st->scanned;
  s->helped = st->helped;
  s->markers = arena->markers;
  s->collections = st->collections;
  s->minor_collections = st->minor_collections;
  s->gc_seconds = st->all.total_s;
  s->copy_gc_seconds = st->copy_seconds;
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
  arena_unlock(arena);
}

/* ---- collection events ---------------------------------------------------- */

kiln_res_t kiln_arena_on_collect(kiln_arena_t arena, kiln_collect_fn fn, void *closure)
{
  kiln_res_t res = api_handle(arena, API_SIG(arena), SIG_ARENA, "kiln_arena_on_collect",
                              "arena", 0);
  if (res != KILN_OK)
    return res;
  arena->on_collect = fn;
  arena->on_collect_closure = closure;
  return KILN_OK;
}

void events_note(kiln_arena_t arena, kiln_collection_kind_t kind, int incremental,
                 size_t marked, size_t copied)
{
  if (arena->on_collect == NULL)
    return;
  KILN_ASSERT(arena->nevents < ARENA_EVENTS_MAX);
  if (arena->nevents == ARENA_EVENTS_MAX)
    arena->nevents--; /* cannot happen (see ARENA_EVENTS_MAX); keep the newest */
  kiln_collection_t *c = &arena->events[arena->nevents++];
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->incremental = incremental;
  c->number = arena->stats.collections;
  c->pause_seconds = -1; /* until events_pause */
  c->live = arena->stats.live;
  c->marked = marked;
  c->copied = copied;
}

void events_pause(kiln_arena_t arena, double seconds)
{
  for (unsigned i = 0; i < arena->nevents; i++)
    if (arena->events[i].pause_seconds < 0)
      arena->events[i].pause_seconds = seconds;
}

void events_deliver(kiln_arena_t arena)
{
  if (arena->in_event)
    return;
  arena->in_event = 1;
  for (unsigned i = 0; i < arena->nevents && arena->on_collect != NULL; i++) {
    kiln_collection_t c = arena->events[i];
    if (c.pause_seconds < 0)
      c.pause_seconds = 0;
    arena->on_collect(arena, &c, arena->on_collect_closure);
  }
  arena->nevents = 0;
  arena->in_event = 0;
}

int events_refuse(kiln_arena_t arena, const char *call)
{
  if (!arena->in_event)
    return 0;
  api_misuse("%s: arena %p is running its collection callback (kiln_arena_on_collect), in the "
             "middle of the call that collected; do this after that call returns", call,
             (void *)arena);
  return 1;
}
