/* mark.c -- parallel marking: the markers that drain one collection's
 * grey objects together.
 *
 * Owns: the arena's marker threads (started by the first drain that uses
 * them, parked between drains, joined when the arena is destroyed), each
 * marker's copy of the trace (its own grey stack, counters, tally of live
 * figures and weak lists, added into the collection's after the drain),
 * the shared list through which a busy marker hands grey objects to the
 * markers waiting, and the end of a drain.
 *
 * A collection's drains use the markers when the arena has more than one
 * and every pool it condemns has CLASS_MARKERS (mark_decide): its classes
 * then fix by atomic marks and write nothing else shared. Formats' scan and
 * skip functions run on several threads at once; a VM's must be reentrant
 * (docs/embedding.md). Incremental increments and a sticky pool's kept
 * young objects drain on the collecting thread alone (fix.c, drain_all).
 *
 * Work sharing: a marker scans from its own stack and, once it sees a
 * marker waiting, hands half its stack (at most SHARE_MAX objects) to the
 * shared list; a marker whose stack is empty takes half of it, at most
 * TAKE_MAX.
 *
 * Invariant: each object is scanned once: only the marker whose atomic or
 * sets its mark bit pushes it.
 * Invariant: a drain ends only when every marker that joined it waits and
 * the shared list is empty, so no grey object is left. A helper joins only
 * before the end (one that wakes too late does not join, and a small
 * drain does not wait for it), and once it waits it writes nothing but
 * the shared counts, under the lock, until it joins another drain: so the
 * collecting thread adds the copies in and returns without waiting for
 * the helpers to wake.
 */
#include "config.h"
#include "trace.h"
#include "vm.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define SHARE_MAX 256
#define TAKE_MAX 64
#define TALLY_POOLS 8 /* most condemned pools a parallel collection has */
#define GREY_FIRST 4096 /* a marker's first stack: room for TAKE_MAX at least, so
                           a marker with an empty stack can always take work */

typedef struct tally_s {
  pool_t pool;
  size_t live;
  size_t objects;
} tally_t;

typedef struct marker_s {
  trace_t copy;               /* this marker's copy of the trace it drains */
  tally_t tally[TALLY_POOLS]; /* the condemned pools' live figures it found */
  unsigned ntally;
  struct markers_s *all;
  void **grey;                /* its grey stack, kept between drains */
  size_t grey_cap;
  pthread_t thread;
} marker_t;

typedef struct markers_s {
  pthread_mutex_t lock;
  pthread_cond_t start;       /* helpers wait here between drains */
  pthread_cond_t work;        /* markers wait here for shared work or the end */
  unsigned n;                 /* markers, the collecting thread's (m[0]) included */
  unsigned helpers;           /* helper threads started */
  unsigned long round;        /* drains started: a helper runs one per round */
  unsigned idle;              /* markers waiting in take */
  unsigned active;            /* markers that joined the drain: the collecting
                                 thread and the helpers that woke before its end */
  int done, quit;
  atomic_uint hungry;         /* some marker waits: busy ones share */
  trace_t *trace;             /* the drain under way */
  void **shared;
  size_t nshared, shared_cap;
  marker_t m[];
} markers_t;

/* ---- the decision ------------------------------------------------------ */

void mark_decide(kiln_arena_t arena, trace_t *trace)
{
  trace->parallel = 0;
  if (arena->markers < 2 || trace->incremental || arena->grey_max != 0)
    return; /* grey_max: tests of a bounded grey stack want the one stack */
  unsigned pools = 0;
  ring_t *pn, *px;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (!pool_condemned(pool, trace->only))
      continue;
    if (!(pool->klass->attr & CLASS_MARKERS) || ++pools > TALLY_POOLS)
      return;
  }
  trace->parallel = 1;
}

/* ---- tallies and copies -------------------------------------------------- */

void mark_tally(marker_t *m, pool_t pool, size_t size)
{
  tally_t *t = m->tally;
  while (t->pool != pool) {
    t++;
    KILN_ASSERT_HOT(t < m->tally + m->ntally);
  }
  t->live += size;
  t->objects++;
}

static void copy_begin(marker_t *m, trace_t *trace)
{
  m->copy = *trace;
  trace_t *c = &m->copy;
  c->grey = m->grey;
  c->grey_cap = m->grey_cap;
  c->ngrey = 0;
  c->grey_overflow = 0;
  c->marked = c->scanned = c->copied = c->aged = c->tenured = c->helped = 0;
  c->objects = 0;
  c->root_scanned = 0;
  c->deferred = NULL;
  c->ndeferred = c->deferred_cap = 0;
  c->ephemerons = NULL;
  c->nephemerons = c->ephemerons_cap = 0;
  c->runs = NULL;
  c->nruns = c->runs_cap = c->run_next = 0;
  c->marker = m;
  c->hungry = &m->all->hungry;
  m->ntally = 0;
  ring_t *pn, *px;
  RING_FOR(pn, &trace->arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (pool_condemned(pool, trace->only))
      m->tally[m->ntally++] = (tally_t){pool, 0, 0};
  }
}

/* Append n entries of from to *list (of *len, capacity *cap). 0 if it
   cannot grow. */
static int append(void ***list, size_t *len, size_t *cap, void **from, size_t n)
{
  if (n == 0) /* either list may be NULL then, which memcpy may not be given */
    return 1;
  if (*len + n > *cap) {
    size_t want = *cap ? *cap : 64;
    while (want < *len + n)
      want *= 2;
    void **l = realloc(*list, want * sizeof *l);
    if (l == NULL)
      return 0;
    *list = l;
    *cap = want;
  }
  memcpy(*list + *len, from, n * sizeof *from);
  *len += n;
  return 1;
}

/* Fix strongly what could not join the trace's weak lists, as weak.c does
   when its own lists cannot grow: the targets survive this collection,
   which is safe. refs holds objects of weak rank to scan exactly, or
   (pairs) ephemeron slots to fix; what they reach goes grey. */
static void fix_strongly(trace_t *trace, void **refs, size_t n, int pairs)
{
  kiln_arena_t arena = trace->arena;
  ss_t ss = {.pub = {.white = trace->white | trace->new_zones, .zone_shift = ZONE_SHIFT},
             .arena = arena, .trace = trace, .rank = KILN_RANK_EXACT};
  for (size_t i = 0; i < n; i++) {
    seg_t seg = arena_seg_of(arena, refs[i]);
    const kiln_format_t *f = pairs || seg == NULL ? NULL : &seg->pool->fmt->f;
    ss.summary = 0;
    kiln_res_t res = f == NULL ? kiln_ss_fix(&ss.pub, (void **)refs[i])
                               : f->scan(&ss.pub, refs[i], f->skip(refs[i]));
    if (res != KILN_OK)
      trace_fail_scan(res);
    if (seg != NULL)
      seg->summary |= remset_remember_young(arena, seg, (uintptr_t)refs[i],
                                            (uintptr_t)refs[i] + 1, ss.summary, 0);
  }
}

/* Add a marker's copy into the trace, and take its grey stack back. */
static void copy_end(marker_t *m, trace_t *trace)
{
  trace_t *c = &m->copy;
  KILN_ASSERT(c->ngrey == 0);
  m->grey = c->grey;
  m->grey_cap = c->grey_cap;
  trace->marked += c->marked;
  trace->scanned += c->scanned;
  if (m != m->all->m) /* not the collecting thread's */
    trace->helped += c->scanned;
  trace->copied += c->copied;
  trace->aged += c->aged;
  trace->tenured += c->tenured;
  trace->objects += c->objects;
  trace->grey_overflow |= c->grey_overflow;
  for (unsigned i = 0; i < m->ntally; i++) {
    m->tally[i].pool->st.live += m->tally[i].live;
    m->tally[i].pool->st.live_objects += m->tally[i].objects;
  }
  if (!append(&trace->deferred, &trace->ndeferred, &trace->deferred_cap, c->deferred,
              c->ndeferred))
    fix_strongly(trace, c->deferred, c->ndeferred, 0);
  if (!append((void ***)&trace->ephemerons, &trace->nephemerons, &trace->ephemerons_cap,
              (void **)c->ephemerons, c->nephemerons))
    fix_strongly(trace, (void **)c->ephemerons, c->nephemerons, 1);
  free(c->deferred);
  free(c->ephemerons);
}

/* ---- sharing and taking work -------------------------------------------- */

/* Hand the bottom half of copy's stack (the objects pushed first, whose
   subgraphs are likely the largest) to the markers waiting. */
void mark_share(trace_t *copy)
{
  markers_t *all = copy->marker->all;
  size_t k = copy->ngrey / 2;
  if (k > SHARE_MAX)
    k = SHARE_MAX;
  pthread_mutex_lock(&all->lock);
  if (append(&all->shared, &all->nshared, &all->shared_cap, copy->grey, k)) {
    memmove(copy->grey, copy->grey + k, (copy->ngrey - k) * sizeof *copy->grey);
    copy->ngrey -= k;
    atomic_store_explicit(&all->hungry, 0, memory_order_relaxed);
    pthread_cond_broadcast(&all->work);
  }
  pthread_mutex_unlock(&all->lock);
}

/* A marker whose stack is empty: take shared work, or wait for some. 0
   when the drain is over: every marker waits and nothing is shared. A
   helper may wake from that wait after the collecting thread has left
   the drain, even after the next one started (round): it then touches
   neither the counts nor its copy. */
static int take(marker_t *m)
{
  markers_t *all = m->all;
  trace_t *c = &m->copy;
  pthread_mutex_lock(&all->lock);
  unsigned long round = all->round;
  all->idle++;
  while (all->nshared == 0 && !all->done && all->round == round) {
    if (all->idle == all->active) {
      all->done = 1;
      pthread_cond_broadcast(&all->work);
      break;
    }
    atomic_store_explicit(&all->hungry, 1, memory_order_relaxed);
    pthread_cond_wait(&all->work, &all->lock);
  }
  if (all->done || all->round != round) {
    pthread_mutex_unlock(&all->lock);
    return 0;
  }
  all->idle--;
  size_t k = (all->nshared + 1) / 2; /* leave some for the next one */
  if (k > TAKE_MAX)
    k = TAKE_MAX;
  KILN_ASSERT(c->ngrey == 0 && c->grey_cap >= TAKE_MAX);
  KILN_ASSERT(k > 0); /* the loop leaves only with work, the end or another round */
  all->nshared -= k;
  memcpy(c->grey + c->ngrey, all->shared + all->nshared, k * sizeof *c->grey);
  c->ngrey += k;
  pthread_mutex_unlock(&all->lock);
  return 1;
}

static void run(marker_t *m)
{
  trace_t *c = &m->copy;
  ss_t ss = {.pub = {.white = c->white | c->new_zones, .zone_shift = ZONE_SHIFT},
             .arena = c->arena, .trace = c, .rank = KILN_RANK_EXACT, .parallel = 1};
  do {
    kiln_res_t res = trace_drain_grey(&ss);
    if (res != KILN_OK)
      trace_fail_scan(res);
  } while (take(m));
}

/* ---- the threads ----------------------------------------------------------- */

static void *helper_main(void *arg)
{
  marker_t *m = arg;
  markers_t *all = m->all;
  unsigned long seen = 0;
  pthread_mutex_lock(&all->lock);
  for (;;) {
    while (all->round == seen && !all->quit)
      pthread_cond_wait(&all->start, &all->lock);
    if (all->quit)
      break;
    seen = all->round;
    if (all->trace == NULL || all->done)
      continue; /* woke after its end: a small drain does not wait for it */
    all->active++;
    pthread_mutex_unlock(&all->lock);
    run(m);
    pthread_mutex_lock(&all->lock);
  }
  pthread_mutex_unlock(&all->lock);
  return NULL;
}

/* The arena's markers, their threads started with every signal blocked
   (a process's signals are the mutators' business). NULL if none could
   start: the drain is then serial. */
static markers_t *markers_start(kiln_arena_t arena)
{
  if (arena->mk != NULL)
    return arena->mk->helpers > 0 ? arena->mk : NULL;
  unsigned n = arena->markers;
  markers_t *all = calloc(1, sizeof *all + n * sizeof(marker_t));
  if (all == NULL)
    return NULL;
  arena->mk = all;
  all->n = 1;
  atomic_init(&all->hungry, 0);
  pthread_mutex_init(&all->lock, NULL);
  pthread_cond_init(&all->start, NULL);
  pthread_cond_init(&all->work, NULL);
  sigset_t every, old;
  sigfillset(&every);
  pthread_sigmask(SIG_SETMASK, &every, &old);
  for (unsigned i = 0; i < n; i++) {
    marker_t *m = &all->m[i];
    m->all = all;
    m->grey = malloc(GREY_FIRST * sizeof *m->grey);
    if (m->grey == NULL)
      break;
    m->grey_cap = GREY_FIRST;
    if (i > 0 && pthread_create(&m->thread, NULL, helper_main, m) != 0)
      break;
    all->helpers = i;
    all->n = i + 1;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return all->helpers > 0 ? all : NULL;
}

void mark_stop(kiln_arena_t arena)
{
  markers_t *all = arena->mk;
  if (all == NULL)
    return;
  pthread_mutex_lock(&all->lock);
  all->quit = 1;
  pthread_cond_broadcast(&all->start);
  pthread_mutex_unlock(&all->lock);
  for (unsigned i = 1; i <= all->helpers; i++)
    pthread_join(all->m[i].thread, NULL);
  for (unsigned i = 0; i <= all->n && i < arena->markers; i++)
    free(all->m[i].grey);
  free(all->shared);
  pthread_cond_destroy(&all->work);
  pthread_cond_destroy(&all->start);
  pthread_mutex_destroy(&all->lock);
  free(all);
  arena->mk = NULL;
}

/* ---- the drain ----------------------------------------------------------- */

void mark_drain(kiln_arena_t arena, trace_t *trace)
{
  markers_t *all = markers_start(arena);
  if (all == NULL) {
    trace->parallel = 0; /* for the rest of this collection */
    return;
  }
  pthread_mutex_lock(&all->lock);
  for (unsigned i = 0; i < all->n; i++)
    copy_begin(&all->m[i], trace);
  /* The trace's grey objects become the shared list: the buffers swap. */
  void **g = all->shared;
  size_t cap = all->shared_cap;
  all->shared = trace->grey;
  all->nshared = trace->ngrey;
  all->shared_cap = trace->grey_cap;
  trace->grey = g;
  trace->grey_cap = cap;
  trace->ngrey = 0;
  all->trace = trace;
  all->idle = 0;
  all->done = 0;
  all->active = 1;
  all->round++;
  pthread_cond_broadcast(&all->start);
  pthread_mutex_unlock(&all->lock);
  run(&all->m[0]);
  pthread_mutex_lock(&all->lock);
  all->trace = NULL;
  pthread_mutex_unlock(&all->lock);
  for (unsigned i = 0; i < all->n; i++)
    copy_end(&all->m[i], trace);
}
