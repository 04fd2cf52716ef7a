/* pool.h -- the pool-class protocol: what a pool class implements.
 *
 * A new pool class needs this header and seg.h, nothing else from core/.
 * A class is a table of functions plus a parameter table; the core
 * validates arguments against the parameter table (param.c) and hands the
 * class an array of resolved values, one per parameter, in table order.
 *
 * Pool instances are allocated by the core with the class's `size` bytes;
 * the class's own struct starts with struct kiln_pool_s.
 */
#ifndef KILN_POOL_H
#define KILN_POOL_H

#include "seg.h"

/* A parameter's resolved value (default or given). */
typedef struct pval_s {
  size_t size;
  double num;
  int b;
  const char *str;
  void *ptr;
} pval_t;

enum {
  CLASS_MANUAL = 1,  /* kiln_alloc/kiln_free */
  CLASS_AUTO = 2,    /* garbage collected, needs a format, takes APs */
  CLASS_MOVING = 4,  /* may move objects: format needs fwd/isfwd */
  CLASS_NURSERY = 8, /* allocation does not count toward the full-GC budget */
  CLASS_MARKERS = 16, /* markers may fix and scan its objects at once (core/mark.c):
                         it marks through seg->marks or atomically, counts live
                         bytes with trace_count_live, and writes nothing else
                         shared while a trace drains */
};

struct kiln_fmt_s {
  unsigned sig;
  kiln_arena_t arena;
  kiln_format_t f;
  ring_t arena_ring;
  size_t pools;          /* pools using it: destroying it before them is misuse */
  int desc;              /* f is the descriptor format (core/desc_layout.h): moving
                            pools read its objects inline instead of calling f */
};

struct kiln_pool_s {
  struct kiln_pool_head_s head; /* public prefix (kiln.h): the inline alloc/free list */
  unsigned sig;
  kiln_arena_t arena;
  kiln_class_t klass;
  ring_t arena_ring;     /* in arena->pools */
  ring_t segs;           /* its segments (struct seg_s.pool_ring) */
  kiln_fmt_t fmt;        /* automatic pools only */
  kiln_pool_stats_t st;  /* core keeps committed/segments; the class the rest */
  size_t aps;            /* live allocation points */
  int shared;            /* kiln_pool_share: head.size and span stay 0, calls lock */
  ring_t caches;         /* its per-thread caches (cache.c) */
  uint64_t zones;        /* where its segments go; 0: anywhere but nurseries */
  struct descent_s *descent; /* a copy pool's inline scan under way keeps the copies
                                made into the pool here (pools/poolutil.h) */
};

/* Internal view of an allocation point. */
enum { AP_ROLE_MAX = 32, AP_SAVED_MAX = KILN_PAD_WRITES };

typedef struct ap_s {
  struct kiln_ap_s pub;  /* init, alloc, limit */
  unsigned sig;
  pool_t pool;           /* NULL once the pool is destroyed (ap.c, orphans) */
  kiln_arena_t arena;
  ring_t arena_ring;
  char *base;            /* start of the current buffer */
  char *real_limit;      /* the buffer's limit while pub.limit is trapped */
  char *res_p;           /* the outstanding reservation, or NULL: kept when every
                            reserve and commit takes the slow path (ap_slow) */
  int weak;              /* rank "weak": its objects go into the weak set at commit */
  char role[AP_ROLE_MAX]; /* what a recording calls its objects (record.c); "" if unnamed */
  size_t res_size;
  char *trap[2];         /* the reservation and the rest of the buffer the last
                            collection trapped, kept as fillers (client pointers)
                            through it; NULL: none (ap.c) */
  size_t trap_size[2];   /* their sizes, header included */
  unsigned pending;      /* bit i: trap[i] may hold what the thread builds before its
                            next slow path (its reservation; or, for a thread stopped
                            inside kiln_reserve's fast path, the rest): a filler only
                            during pauses, the thread's bytes otherwise (ap.c) */
  size_t saved_n[2];     /* during a pause: the thread's first bytes of each, which */
  char saved[2][AP_SAVED_MAX]; /* the filler overwrote and the pause's end restores */
  uintptr_t priv[4];     /* the pool class's per-AP state */
} ap_t;

struct kiln_class_s {
  const char *name;
  const char *doc;
  size_t size;                     /* bytes of the pool instance */
  unsigned attr;                   /* CLASS_* */
  const kiln_param_t *params;      /* NULL-key ended; pval_t array follows its order */
  kiln_res_t (*init)(pool_t pool, const pval_t *vals);
  void (*finish)(pool_t pool);     /* free every segment */
  /* manual pools */
  kiln_res_t (*alloc)(void **p_o, pool_t pool, size_t size);
  void (*free)(pool_t pool, void *p, size_t size);
  /* Optional, for classes that fill pool->head: fold head.allocs and
     head.frees into the pool's statistics (and the arena's `allocated`)
     and zero them. Called before statistics are read. */
  void (*sync)(pool_t pool);
  /* Optional (manual classes that per-thread caches may front): the
     largest request a cache's lists may serve, and in *shift_o the log2 of
     the bytes between its size classes. The class must accept a free of
     any size of a class for a block allocated with the class's largest
     size (min((i << shift), limit) for class i), and the same block for any
     request of that class. */
  size_t (*cache_limit)(pool_t pool, unsigned *shift_o);
  /* automatic pools: hand an AP a buffer of at least size bytes ... */
  kiln_res_t (*fill)(char **base_o, char **limit_o, pool_t pool, ap_t *ap, size_t size);
  /* ... and take it back: [base, init) holds committed objects, [init, limit) is unused. */
  void (*empty)(pool_t pool, ap_t *ap, char *base, char *init, char *limit);
  /* Optional: prepare for a collection that condemns this pool (the core
     then whitens every segment through its class), and tidy up after
     reclaim. */
  void (*condemn)(pool_t pool, trace_t *trace);
  void (*reclaimed)(pool_t pool, trace_t *trace);
  /* Optional (pools with incremental collections): the one under way is
     dropped unfinished, its segments no longer white; a full collection
     of the pool follows at once. */
  void (*abandoned)(pool_t pool, trace_t *trace);
  /* Optional (sticky pools): a stop-the-world minor collection of the pool
     has marked what exact roots and the remembered set reach and is about
     to mark from ambiguous roots (keep_begin); it has marked that too and
     is about to reclaim (keep_end). What only ambiguous roots reached may
     be kept young (ms.c). */
  void (*keep_begin)(pool_t pool, trace_t *trace);
  void (*keep_end)(pool_t pool, trace_t *trace);
  /* Optional: does this pool keep sticky mark bits (a non-moving young
     generation, e.g. ms with young_size)? Then a minor collection
     condemns the pool, but objects that survived an earlier collection
     stay marked (black) and are not traced again; the dirty cards over its
     segments are the remembered set (remset.c), its scan_range of a white
     segment visits only those old objects, and its survivor method tells
     old from young before the minor collection marks anything (the
     checked build's barrier verifier uses it). What its minor collections
     mark is growth of the old generation (trace->tenured), so its
     allocation is not counted toward the full-collection budget. The
     answer must not change over the pool's life. */
  int (*sticky)(pool_t pool);
  /* Optional: room for size bytes (a block, header included) for an object
     another pool evacuates into this one during a trace (promotion). The
     caller copies the block in and greys it; the object counts as live. */
  kiln_res_t (*promote)(void **block_o, pool_t pool, size_t size, trace_t *trace);
  /* Optional (pools with a young generation): run one whole minor
     collection of the pool now, of the kind its own fills run; 0 if the
     pool has no young generation. Stress mode's minor turns (trace.c). */
  int (*minor)(pool_t pool);
};

/* Segment iteration over a pool. */
#define POOL_SEGS(node, pool, nxt) RING_FOR(node, &(pool)->segs, nxt)
#define SEG_OF_RING(node) CONTAINER(node, struct seg_s, pool_ring)

int pool_check(pool_t pool);
/* The class's answer to sticky (0 for a class without the method). */
static inline int pool_sticky(pool_t pool)
{
  return pool->klass->sticky != NULL && pool->klass->sticky(pool);
}
/* Abort with a sentence naming the rule if ap breaks one of the states of
   ap.c's header (checked builds call it at the slow paths' entry). */
void ap_check(const ap_t *ap);
/* Bring pool->st up to date with what the inline paths did (class sync). */
void pool_sync(pool_t pool);
/* Checked-build report of a bad kiln_free and friends: names pool and block. */
void pool_misuse(pool_t pool, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The zones a pool's new segments are placed in (its own, or any but the
   nurseries'): seg_alloc's preference, and where gen prefaults. */
static inline uint64_t pool_seg_zones(pool_t pool)
{
  return pool->zones != 0 ? pool->zones : ~pool->arena->nursery_zones;
}

/* The format's skip of obj, a client pointer in a segment of pool. The
   checked build reports a skip that does not advance or whose next object
   would start past the end of obj's segment (fmt.c). */
void fmt_skip_fail(pool_t pool, void *obj, void *next);
static inline void *pool_skip(pool_t pool, void *obj)
{
  void *next = pool->fmt->f.skip(obj);
  if (KILN_CHECKING) {
    seg_t seg = arena_seg_of(pool->arena, obj);
    if ((uintptr_t)next <= (uintptr_t)obj || seg == NULL ||
        (uintptr_t)next - pool->fmt->f.header_size > seg->limit)
      fmt_skip_fail(pool, obj, next);
  }
  return next;
}

/* Round up to a power-of-two alignment. */
static inline size_t size_align_up(size_t s, size_t a) { return (s + a - 1) & ~(a - 1); }
static inline uintptr_t addr_align_up(uintptr_t p, size_t a) { return (p + a - 1) & ~(uintptr_t)(a - 1); }

extern const struct kiln_class_s pool_class_mfs, pool_class_mvff, pool_class_ms,
    pool_class_copy, pool_class_gen;

#endif
