/* arena.h -- the arena: one reservation of address space, cut into pages.
 *
 * Owns: the reservation, the page table (page -> segment, O(1)), the card
 * table, the free-page runs and commit accounting, the list of pools, the last
 * error sentence, the graves of destroyed handles (handle.c), the objects the
 * client pinned (pin.c), and the collection state (trace.h), statistics and
 * collection events (stats.c).
 *
 * Invariants:
 *  - base and limit are page aligned; every page is either in exactly one
 *    segment or in exactly one free run.
 *  - committed == pages committed * page_size, and never exceeds
 *    commit_limit (when it is non-zero).
 *  - spare_committed (committed pages in free runs) <= spare after every
 *    segment free.
 */
#ifndef KILN_ARENA_H
#define KILN_ARENA_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include "kiln.h"
#include "checking.h"
#include "addrset.h"
#include "ring.h"
#include "stats.h"
#include "vm.h"

typedef struct seg_s *seg_t;
typedef struct freerun_s freerun_t;
typedef struct trace_s trace_t;

/* A growable array of object addresses (final.c): the finalization
   registry, and the queue, whose entries before head were taken. */
typedef struct final_list_s {
  void **objs;
  size_t count, cap, head;
} final_list_t;

/* The heap-sizing policies (arena parameter heap_policy; policy.c). */
enum { HEAP_GROWABLE, HEAP_FIXED, HEAP_ADAPTIVE };

/* What the adaptive policy measures, smoothed over full collections:
   allocation per second of mutator time and bytes traced per second of
   full collection; and the clock it measures mutator time with. */
typedef struct heap_rates_s {
  double alloc_rate, trace_rate; /* bytes per second (0: not yet measured) */
  double since;                  /* when the last full collection ended (vm_now) */
  double minor_seconds;          /* minor pauses since then: not mutator time */
  size_t allocated;              /* bytes allocated between the last two full collections */
  size_t traced;                 /* bytes the full collection being timed traced */
} heap_rates_t;

#define ARENA_ERROR_MAX 512
#define MARKERS_MAX 64     /* most markers an arena takes (parameter markers) */
#define ARENA_EVENTS_MAX 8 /* collections that end within one entry to the collector:
                              two (one finishing an incremental one) */
#define ZONE_SHIFT 20 /* zones are 1 MiB stripes of address space */
#define ZONES_ALL (~(uint64_t)0)

struct kiln_arena_s {
  struct kiln_arena_head_s head; /* public prefix: card table for kiln_write */
  unsigned sig;
  uintptr_t base, limit;         /* the reservation */
  size_t page_size;
  unsigned page_shift;
  size_t pages;                  /* (limit - base) >> page_shift */
  seg_t *page_table;             /* one entry per page; NULL when free */
  uint8_t *committed_map;        /* one byte per page: is it committed? */
  size_t card_table_size;

  /* parameters */
  size_t reserve, commit_limit, spare, card_size, stress, budget_min;
  double growth;
  int heap_policy;               /* HEAP_GROWABLE, HEAP_FIXED or HEAP_ADAPTIVE (policy.c) */
  size_t heap_size, heap_balance;
  int barrier;                   /* 1 card, 0 none */

  /* free page runs, address-ordered list (few in practice: see arena.c) */
  freerun_t *free_runs;
  size_t committed;              /* bytes of pages committed, in segs or free */
  uint64_t nursery_zones;        /* zones claimed by nurseries; others avoid them */
  size_t spare_committed;        /* committed bytes in free runs */
  int prefaulted;                /* arena_prefault found its want: nothing taken since */

  ring_t pools;                  /* every pool of the arena */
  ring_t fmts, roots, threads, aps;
  ring_t graves;                 /* destroyed handles, kept (handle.c) */
  addrset_t pins;                /* objects pinned by kiln_pin, with counts (pin.c) */
  addrset_t weak;                /* objects of weak rank (weak.c) */
  final_list_t final_reg;        /* objects registered by kiln_finalize (final.c) */
  final_list_t final_queue;      /* finalized objects not yet taken by kiln_finalized */
  size_t ngraves;
  size_t segments;

  /* collection */
  int park_depth;                /* >0: no collection may start */
  int collecting;                /* inside a trace */
  size_t since_gc;               /* bytes handed to buffers since last GC */
  size_t live_full;              /* after the last full GC: live bytes, the budget's base */
  size_t budget;                 /* allocation allowed before the next full GC (policy.c) */
  heap_rates_t rates;            /* the adaptive heap's measurements (policy.c) */
  size_t stress_count;
  trace_t *trace;                /* the current trace, or NULL */
  trace_t *inc;                  /* an incremental collection under way, or NULL */
  struct kiln_pool_s *inc_pool;  /* the pool it collects */
  struct recorder_s *rec;        /* recording the heap (record.c), or NULL */
  double inc_carry;              /* seconds of its scanning not yet in a pause */
  void *stack_hot;               /* inside a collection: the mutator's stack top (trace.c) */
  void **grey;                   /* the grey stack, kept between traces */
  size_t grey_cap;
  size_t grey_max;               /* testing: the grey stack's largest capacity in entries
                                    (0: as large as malloc allows); docs/design.md,
                                    §The grey stack */
  unsigned markers;              /* threads that mark at once, the collecting one included */
  size_t markers_after;          /* bytes scanned serially before they join (fix.c) */
  struct markers_s *mk;          /* their shared state once started (mark.c), or NULL */
  arena_stats_t stats;

  /* collection events (stats.c) */
  kiln_collect_fn on_collect;    /* kiln_arena_on_collect's function, or NULL */
  void *on_collect_closure;
  kiln_collection_t events[ARENA_EVENTS_MAX]; /* ended, not yet delivered */
  unsigned nevents;
  int in_event;                  /* on_collect is running */

  char error[ARENA_ERROR_MAX];

  /* threads (root.c) */
  pthread_mutex_t lock;          /* recursive: every slow path holds it (arena_lock) */
  struct vm_thread_s **stopped;  /* collecting: the OS threads it stopped (threads_stop) */
  size_t nstopped, stopped_cap;
};

/* The arena lock. The slow paths (filling and tripping allocation points,
   creating and destroying pools, points and roots, registering threads,
   collecting, pinning, finalization) hold it, so one thread at a time
   changes the arena; a collection holds it while it stops the others. It
   is recursive: a collection callback or a scan function may call back
   into the arena. The fast paths (kiln.h) never take it. */
static inline void arena_lock(kiln_arena_t arena) { vm_lock_stoppable(&arena->lock); }
static inline void arena_unlock(kiln_arena_t arena) { pthread_mutex_unlock(&arena->lock); }
/* The lock of an entry point's handle: lock arena, the arena of the
   handle, and return it for arena_unlock_live; NULL (a handle that is not
   live, which the call reports) locks nothing. */
static inline kiln_arena_t arena_lock_live(kiln_arena_t arena)
{
  if (arena != NULL)
    arena_lock(arena);
  return arena;
}
static inline void arena_unlock_live(kiln_arena_t arena)
{
  if (arena != NULL)
    arena_unlock(arena);
}
/* arena if it is a live arena handle, else NULL (for arena_lock_live). */
static inline kiln_arena_t arena_if_live(kiln_arena_t arena)
{
  return arena != NULL && arena->sig == SIG_ARENA ? arena : NULL;
}
/* fn(arena, obj) under the arena lock: the public entry points that take
   an object. A handle that is not a live arena goes to fn unlocked, which
   reports it. */
static inline kiln_res_t arena_call_locked(kiln_res_t (*fn)(kiln_arena_t, void *),
                                           kiln_arena_t arena, void *obj)
{
  kiln_arena_t locked = arena_lock_live(arena_if_live(arena));
  kiln_res_t res = fn(arena, obj);
  arena_unlock_live(locked);
  return res;
}

int arena_check(kiln_arena_t arena);

/* Record a failure sentence and return res (so callers can `return arena_errorf(...)`). */
kiln_res_t arena_errorf(kiln_arena_t arena, kiln_res_t res, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* kiln_set_error (kiln.h) fills the thread's arena-less slot. */

/* handle.c: checks of public entry points' handles. api_handle checks
   that h (signature sig) is a live `what` (signature want): KILN_OK, else
   a sentence naming call and KILN_PARAM -- or, for a void entry point
   (is_void) and for a destroyed handle, the checked build's report.
   api_misuse reports any other misuse of a void entry point (checked
   build) or records it (kiln_arena_error(NULL)); api_refuse does the same
   for a kiln_res_t entry point, reporting it in the checked build only if
   contract, and returns KILN_PARAM. */
kiln_res_t api_handle(const void *h, unsigned sig, unsigned want, const char *call,
                      const char *what, int is_void);
/* api_handle for the arena of a mutator-only entry point (call), then
   KILN_PARAM with a sentence if the arena is collecting: such a call must
   not come from a scan, format or event function. */
kiln_res_t api_mutator_arena(kiln_arena_t arena, const char *call);
/* api_mutator_arena, then KILN_PARAM with a sentence unless obj is an
   object of the arena's automatic pools: call takes only those, which the
   sentence tells the client to verb (e.g. "pin"). */
kiln_res_t api_mutator_object(kiln_arena_t arena, const void *obj, const char *call,
                              const char *verb);
void api_misuse(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
kiln_res_t api_refuse(int contract, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#define API_SIG(h) ((h) != NULL ? (h)->sig : 0U)
/* Keep a destroyed handle's memory (signed SIG_DEAD) until the arena goes:
   see handle.c. */
void arena_bury(kiln_arena_t arena, void *block);
void arena_free_graves(kiln_arena_t arena);
/* Is the calling thread allowed to allocate in the arena (root.c)? Yes
   when it is a registered mutator thread or none is registered. */
int arena_thread_ok(kiln_arena_t arena);
/* Are threads of more than one OS thread registered (root.c)? */
int arena_threads_many(kiln_arena_t arena);

/* Pages: allocate a run of npages committed pages, first fit by address,
   inside the zones of allow if possible (else anywhere). */
kiln_res_t arena_pages_alloc(uintptr_t *base_o, kiln_arena_t arena, size_t npages, uint64_t allow);
void arena_pages_free(kiln_arena_t arena, uintptr_t base, size_t npages);
/* Return free committed pages to the OS until at most keep bytes of them
   stay committed: those at the lowest addresses stay. */
void arena_trim_spare(kiln_arena_t arena, size_t keep);
/* Make the first `want` bytes of free pages in the allowed zones (where
   the next segments will go, first fit) committed and backed by memory,
   faulting in at most `step` new bytes per call. Called by the mutator
   (gen's fills), so that a minor collection promoting into new memory
   takes no page faults in its pause. Stays within spare and
   commit_limit; does nothing when they leave no room. */
void arena_prefault(kiln_arena_t arena, size_t want, size_t step, uint64_t allow);

static inline int arena_has_addr(kiln_arena_t arena, const void *p)
{
  return (uintptr_t)p - arena->base < arena->limit - arena->base;
}

/* Address -> segment in O(1); NULL if outside the arena or on a free page. */
static inline seg_t arena_seg_of(kiln_arena_t arena, const void *p)
{
  uintptr_t off = (uintptr_t)p - arena->base;
  if (off >= arena->limit - arena->base)
    return NULL;
  return arena->page_table[off >> arena->page_shift];
}

/* The cards overlapping [lo, hi) (lo < hi, both in the arena): *n_o of
   them, from the one returned. */
static inline uint8_t *arena_cards(kiln_arena_t arena, uintptr_t lo, uintptr_t hi, size_t *n_o)
{
  unsigned shift = arena->head.card_shift;
  size_t first = (lo - arena->base) >> shift, last = (hi - 1 - arena->base) >> shift;
  *n_o = last - first + 1;
  return arena->head.cards + first;
}

/* Dirty every card overlapping [lo, hi): the collector's own remembering
   of references it cannot otherwise find again (remset.c, ms.c). */
static inline void arena_dirty_cards(kiln_arena_t arena, uintptr_t lo, uintptr_t hi)
{
  size_t n;
  uint8_t *c = arena_cards(arena, lo, hi, &n);
  memset(c, 1, n);
}

static inline uint64_t zone_of(const void *p)
{
  return (uint64_t)1 << (((uintptr_t)p >> ZONE_SHIFT) & 63);
}
uint64_t zones_of_range(uintptr_t base, uintptr_t limit);

/* Destroy every AP, root, pool, thread and format the arena still owns. */
void arena_destroy_children(kiln_arena_t arena);

/* The allocation slow path's trigger (policy.c): collects if the budget is
   spent (or stress says so) and the arena is not parked. */
void arena_poll(kiln_arena_t arena);

#endif
