/* kiln.h -- the core API of Kiln, a pluggable memory manager: arena, pool
 * classes and pools, formats, scanning, roots, threads, allocation points
 * and the write barrier. libkiln (pkg-config kiln) implements it and needs
 * neither Lua nor libffi. The layers above have headers of their own:
 * <kiln/desc.h> (descriptor formats, also in libkiln), <kiln/heap.h> (heaps
 * built from plans) and <kiln/lua.h> (Lua on Kiln), both in libkiln-heap
 * (pkg-config kiln-heap), which links Lua.
 *
 * Everything public starts with kiln_/KILN_. Functions that can fail return a
 * kiln_res_t and write results through parameters ending in _o; the sentence
 * explaining the last failure is kiln_arena_error(arena) (or
 * kiln_arena_error(NULL) for a failure that had no arena yet).
 *
 * The fast paths (kiln_alloc, kiln_free, kiln_reserve, kiln_commit,
 * kiln_write, kiln_write_word, KILN_FIX1, kiln_ss_fix_word) are inline
 * here; they read the public prefixes of the pool, arena, allocation point
 * and scan state structures declared below and nothing else.
 * docs/embedding.md is the guide for a client (the format contract, roots,
 * the barrier, plans); docs/design.md describes the internals.
 *
 * Misuse. Every entry point checks its handles: a NULL, foreign or
 * destroyed handle makes a kiln_res_t function return KILN_PARAM with a
 * sentence naming the call, and makes a void function do nothing and
 * leave the sentence in kiln_arena_error(NULL). Destroying a NULL handle
 * does nothing, as free(NULL) does. A checked build (--enable-checked)
 * aborts instead on every contract break, void functions' bad handles and
 * any use of a destroyed handle included, printing "kiln: checked build: "
 * and a sentence. Destroyed handles are kept, marked dead, until their
 * arena is destroyed (the default build keeps the last 64 of each arena),
 * so a second destroy or a later use is refused rather than reading freed
 * memory. docs/misuse.md lists what only the checked build catches.
 */
#ifndef KILN_H
#define KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_VERSION "0.1.0"

/* ---- results ---------------------------------------------------------- */

typedef int kiln_res_t;
enum {
  KILN_OK = 0,
  KILN_FAIL,   /* something went wrong that has no better name */
  KILN_MEMORY, /* the OS refused memory */
  KILN_LIMIT,  /* commit limit reached or reservation full */
  KILN_PARAM,  /* bad argument or plan */
  KILN_UNIMPL, /* asked for something not built yet */
  KILN_IO      /* a file could not be read */
};
const char *kiln_res_name(kiln_res_t res);

/* ---- handles ---------------------------------------------------------- */

typedef struct kiln_arena_s *kiln_arena_t;
typedef struct kiln_pool_s *kiln_pool_t;
typedef const struct kiln_class_s *kiln_class_t;
typedef struct kiln_fmt_s *kiln_fmt_t;
typedef struct kiln_root_s *kiln_root_t;
typedef struct kiln_thread_s *kiln_thread_t;
typedef struct kiln_ap_s *kiln_ap_t;
typedef struct kiln_cache_s *kiln_cache_t;
typedef struct kiln_ss_s *kiln_ss_t;

/* ---- keyword arguments ------------------------------------------------ */

typedef enum {
  KILN_ARGT_END = 0, KILN_ARGT_SIZE, KILN_ARGT_NUM, KILN_ARGT_BOOL, KILN_ARGT_STR, KILN_ARGT_PTR
} kiln_argtype_t;

/* One keyword argument. All value fields exist (no union) so the macros below
   are plain initialisers in both C and C++. */
typedef struct kiln_arg_s {
  const char *key;
  kiln_argtype_t type;
  size_t size;
  double num;
  int b;
  const char *str;
  void *ptr;
} kiln_arg_t;

#define KILN_ARG_SIZE(k, v) {(k), KILN_ARGT_SIZE, (size_t)(v), 0.0, 0, NULL, NULL}
#define KILN_ARG_NUM(k, v)  {(k), KILN_ARGT_NUM, 0, (double)(v), 0, NULL, NULL}
#define KILN_ARG_BOOL(k, v) {(k), KILN_ARGT_BOOL, 0, 0.0, (v) ? 1 : 0, NULL, NULL}
#define KILN_ARG_STR(k, v)  {(k), KILN_ARGT_STR, 0, 0.0, 0, (v), NULL}
#define KILN_ARG_PTR(k, v)  {(k), KILN_ARGT_PTR, 0, 0.0, 0, NULL, (void *)(v)}
#define KILN_ARGS_END       {NULL, KILN_ARGT_END, 0, 0.0, 0, NULL, NULL}

/* A parameter a pool class (or the arena) accepts. `def` is the default as
   text ("64KB", "2.0", "card"); min/max bound sizes and numbers (max 0 means
   no upper bound). The table ends with a NULL key. */
typedef struct kiln_param_s {
  const char *key;
  kiln_argtype_t type;
  const char *def;
  double min, max;
  const char *doc;
} kiln_param_t;

/* The bytes a size text names, as every size parameter, plan and workload
   reads it: an unsigned decimal number (a fraction or an exponent allowed),
   then optionally B, KB, MB, GB or TB (binary multiples, any case), blanks
   allowed around each ("4MB", "1.5 kb", " 512 "). KILN_PARAM, *bytes_o untouched, when the text is not
   of that form; the caller checks that the value is whole and in range,
   and words its own sentence. */
kiln_res_t kiln_size_value(const char *text, double *bytes_o);

/* The name of names[0..n) nearest to word, for "did you mean" in a
   sentence, or NULL when none is near: fewer edits than word has letters,
   at most one for a word of four letters or fewer, else two plus one per
   six letters, ignoring ASCII case; a name that starts with the word, or
   that the word starts with, counts half an edit less. Words and names of more than
   32 bytes and NULL names are passed over; at most 200 names are compared. */
const char *kiln_nearest_name(const char *word, const char *const names[], size_t n);

/* ---- arena ------------------------------------------------------------ */

/* The public prefix of every arena: what kiln_write needs. */
struct kiln_arena_head_s {
  uint8_t *cards;    /* one byte per card over [base, limit) */
  uintptr_t base, limit;
  unsigned card_shift;
};

/* args may be NULL. Keys: "reserve" (size), "commit_limit" (size, 0 = none),
   "spare" (size), "barrier" ("card" or "none"), "card_size" (size),
   "growth" (number), "stress" (size: collect at every Nth buffer fill, 0 off;
   with a young generation, a minor collection of each and a full collection
   take turns). kiln_arena_params lists them all, with the heap policies and
   "record" (a file to write a trace of the heap into, for `kiln replay`;
   KILN_RECORD in the environment names one for every arena). */
kiln_res_t kiln_arena_create(kiln_arena_t *arena_o, const kiln_arg_t args[]);
/* A trace file starts with these bytes. */
#define KILN_TRACE_MAGIC "KILNREC1\n"
void kiln_arena_destroy(kiln_arena_t arena);
void kiln_arena_collect(kiln_arena_t arena);   /* full collection now */
/* Park: no collection starts by itself (allocation, stress, out of memory)
   until the matching release; kiln_arena_collect and kiln_pool_collect
   still collect when called. */
void kiln_arena_park(kiln_arena_t arena);
void kiln_arena_release(kiln_arena_t arena);
const char *kiln_arena_error(kiln_arena_t arena);
/* Record the sentence kiln_arena_error(NULL) returns (for failures that have
   no arena yet, such as a plan that does not load) and return res. */
kiln_res_t kiln_set_error(kiln_res_t res, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Record sentence as arena's error (and kiln_arena_error(NULL)'s) and return
   res: for layers above the core (plan heaps) that fail on an arena's behalf. */
kiln_res_t kiln_arena_set_error(kiln_arena_t arena, kiln_res_t res, const char *sentence);
const kiln_param_t *kiln_arena_params(void);   /* the arena's own parameter table */

typedef struct kiln_stats_s {      /* may grow; these fields keep their names */
  size_t reserved, committed;      /* bytes of address space, of memory */
  size_t allocated;                /* bytes ever allocated (open AP buffers included) */
  size_t live;                     /* bytes live after the last collection (after a minor
                                      one: the pools' figures, promotions included) */
  size_t copied;                   /* bytes ever copied by moving pools */
  uint64_t collections;            /* all collections, minor ones included */
  uint64_t minor_collections;
  double gc_seconds;               /* total time spent collecting */
  double pause_max_ms, pause_p50_ms, pause_p99_ms;
  /* Kiln additions */
  size_t in_use;                   /* bytes held by objects and blocks now */
  size_t marked, scanned;          /* bytes ever marked, ever scanned */
  size_t spare_committed;          /* committed bytes in free segments */
  size_t pools, segments;          /* how many now */
  double minor_pause_p50_ms, minor_pause_p99_ms, minor_pause_max_ms; /* minor collections only */
  double full_pause_p50_ms, full_pause_p99_ms, full_pause_max_ms;    /* full collections only */
  uint64_t pauses;                 /* stop-the-world pauses: an incremental
                                      collection has several (ms young_step) */
  int in_progress;                 /* an incremental collection is under way */
  uint64_t finalized;              /* objects ever queued for finalization (kiln_finalized) */
  double copy_gc_seconds;          /* the pauses of the collections that copied: copied /
                                      copy_gc_seconds is the copying throughput */
  size_t heap_limit;               /* the heap policy's size until the next full collection:
                                      live after the last one plus the allocation it allows */
  unsigned markers;                /* threads that mark a collection at once (arena
                                      parameter markers) */
  size_t helped;                   /* of scanned: bytes scanned by markers other than the
                                      collecting thread */
} kiln_stats_t;
void kiln_arena_stats(kiln_arena_t arena, kiln_stats_t *stats_o);

/* Collection events: what one collection did, for a VM's statistics and
   for flushing its caches. */
typedef enum { KILN_COLLECTION_FULL, KILN_COLLECTION_MINOR } kiln_collection_kind_t;
typedef struct kiln_collection_s { /* may grow; these fields keep their names */
  kiln_collection_kind_t kind;     /* full: every automatic pool (or a kiln_pool_collect);
                                      minor: a young generation only */
  int incremental;                 /* a minor collection cut into pauses (ms young_step) */
  uint64_t number;                 /* kiln_stats_t.collections once it ended */
  double pause_seconds;            /* the pause it ended in (a collection that first
                                      finished an incremental one shares its pause) */
  size_t live;                     /* kiln_stats_t.live after it */
  size_t marked, copied;           /* bytes it marked, bytes it copied */
} kiln_collection_t;
typedef void (*kiln_collect_fn)(kiln_arena_t arena, const kiln_collection_t *collection,
                                void *closure);
/* Call fn(arena, collection, closure) once after each collection of the
   arena, in the order they end; fn NULL stops the calls. One function per
   arena: a second call replaces the first. fn runs on the thread that
   caused the collection (the mutator's), once the collection is over and
   before the call that caused it returns: it may read the heap and
   kiln_arena_stats (whose counts then include this collection), and use
   manual pools, but it runs in the middle of that call, so it may not
   allocate from an automatic pool (kiln_reserve returns KILN_PARAM, with a
   sentence) nor collect, park or release the arena (ignored, with a
   sentence in kiln_arena_error(NULL); the checked build aborts). */
kiln_res_t kiln_arena_on_collect(kiln_arena_t arena, kiln_collect_fn fn, void *closure);

/* ---- pool classes and pools ------------------------------------------- */

kiln_class_t kiln_class_mfs(void);    /* manual, fixed size       */
kiln_class_t kiln_class_mvff(void);   /* manual, variable size    */
kiln_class_t kiln_class_ms(void);     /* automatic, mark-sweep    */
kiln_class_t kiln_class_copy(void);   /* automatic, copying       */
kiln_class_t kiln_class_gen(void);    /* automatic, generational  */
kiln_class_t kiln_class_lookup(const char *name); /* NULL if no such class */
const char *kiln_class_name(kiln_class_t klass);
const char *kiln_class_doc(kiln_class_t klass);
int kiln_class_is_automatic(kiln_class_t klass);
const kiln_param_t *kiln_class_params(kiln_class_t klass);
/* Every built-in class, NULL-ended, for listings. */
const kiln_class_t *kiln_classes(void);

kiln_res_t kiln_pool_create(kiln_pool_t *pool_o, kiln_arena_t arena, kiln_class_t klass,
                            const kiln_arg_t args[]);
/* Destroy its allocation points first (see kiln_ap_destroy). */
void kiln_pool_destroy(kiln_pool_t pool);
kiln_class_t kiln_pool_class(kiln_pool_t pool);
kiln_arena_t kiln_pool_arena(kiln_pool_t pool);
void kiln_pool_collect(kiln_pool_t pool); /* collect this pool only (others are roots) */

typedef struct kiln_pool_stats_s {
  size_t committed;       /* bytes of segments the pool owns */
  size_t allocated;       /* bytes ever handed out */
  size_t in_use;          /* bytes in live blocks/objects now (auto: after last GC plus new) */
  size_t live;            /* auto pools: bytes marked live by the last collection */
  uint64_t live_objects;  /* auto pools: objects marked live by the last collection */
  size_t segments;
} kiln_pool_stats_t;
void kiln_pool_stats(kiln_pool_t pool, kiln_pool_stats_t *stats_o);

/* Walk an automatic pool's objects: fn(obj, size, closure) for every
   object committed in it, dead ones that no collection has freed yet
   included, never a pad nor a forwarded object; obj is the client pointer
   and size its bytes, header included (as kiln_obj_size). A gen pool's
   objects are those in its nursery and survivor space: what it promoted
   or pretenured is promote_to's. Call it from the mutator, outside any
   collection (KILN_PARAM from a scan or format function): it finishes an
   incremental collection under way and gives every allocation point's
   buffer back to its pool, as a collection does (a reservation not yet
   committed is lost: its kiln_commit fails). fn may read and write the
   objects (stores through kiln_write) but must not allocate in, collect,
   or destroy anything of the arena; no collection starts meanwhile. A
   manual pool (mfs, mvff) is refused with KILN_PARAM: it has no format
   to find its blocks with. */
typedef void (*kiln_walk_fn)(void *obj, size_t size, void *closure);
kiln_res_t kiln_pool_walk(kiln_pool_t pool, kiln_walk_fn fn, void *closure);

/* ---- manual pools ----------------------------------------------------- */

/* The public prefix of every pool: what the inline kiln_alloc and kiln_free
   read. A manual pool may expose one LIFO list of free blocks, `free`,
   linked through each block's first word, every block able to hold any
   request of 1..size bytes and lying in [base, base + span). The inline
   kiln_alloc pops from it; the inline kiln_free pushes any block of that
   range back onto it. Both count what they did, and the pool folds the
   counts into its statistics and segments whenever it takes a slow path or
   reports (kiln_pool_stats, kiln_arena_stats). A pool whose size and span
   are 0 (automatic pools, pools of classes without a fast path, every pool
   of a checked build, which checks every free, and shared pools) sends
   every call to the slow path. A shared pool's class never writes size,
   base or span, which other threads' inline paths read unlocked. */
struct kiln_pool_head_s {
  void *free;           /* the list; NULL when empty */
  size_t size;          /* largest request the list serves */
  uintptr_t base, span; /* blocks in [base, base + span) may go onto the list */
  size_t allocs, frees; /* blocks taken from and put on the list since the pool looked */
};

/* The inline paths are C99 inline definitions (gnu_inline under GNU89),
   so every client gets them inlined and the library still exports
   kiln_alloc and kiln_free as ordinary functions for dynamic callers. */
#if defined(__cplusplus)
#define KILN_INLINE inline
#elif defined(__GNUC_GNU_INLINE__)
#define KILN_INLINE extern inline __attribute__((__gnu_inline__))
#else
#define KILN_INLINE inline
#endif

/* The out-of-line rest of kiln_alloc and kiln_free (full argument checks,
   the pool class); call kiln_alloc and kiln_free instead. */
kiln_res_t kiln_alloc_slow(void **p_o, kiln_pool_t pool, size_t size);
void kiln_free_slow(kiln_pool_t pool, void *p, size_t size);

KILN_INLINE kiln_res_t kiln_alloc(void **p_o, kiln_pool_t pool, size_t size);
KILN_INLINE void kiln_free(kiln_pool_t pool, void *p, size_t size);

/* Allocate size bytes from a manual pool. The fast path pops the pool's
   list; size - 1 < head->size also sends size 0 to the slow path's error. */
KILN_INLINE kiln_res_t kiln_alloc(void **p_o, kiln_pool_t pool, size_t size)
{
  struct kiln_pool_head_s *h = (struct kiln_pool_head_s *)(void *)pool;
  void *p;
  if (pool != NULL && p_o != NULL && size - 1 < h->size && (p = h->free) != NULL) {
    h->free = *(void **)p;
    h->allocs++;
    *p_o = p;
    return KILN_OK;
  }
  return kiln_alloc_slow(p_o, pool, size);
}

/* Free block p of size bytes (the size it was allocated with) to its pool;
   NULL does nothing. The fast path pushes a block of the list's range.
   A NULL pool or an automatic one is a misuse: ignored, with a sentence
   in kiln_arena_error(NULL) (the checked build aborts). */
KILN_INLINE void kiln_free(kiln_pool_t pool, void *p, size_t size)
{
  struct kiln_pool_head_s *h = (struct kiln_pool_head_s *)(void *)pool;
  if (pool != NULL && (uintptr_t)p - h->base < h->span) {
#if defined(__GNUC__)
    /* Hide where p came from: for a small object that is not a block (a
       misuse the slow path ignores) GCC would warn about this branch's
       store, which never runs for it. Costs nothing: p is in a register. */
    __asm__("" : "+r"(p));
#endif
    *(void **)p = h->free;
    h->free = p;
    h->frees++;
    return;
  }
  kiln_free_slow(pool, p, size);
}

/* Sharing a manual pool between threads. kiln_alloc and kiln_free above
   are for one thread at a time until the pool is shared: kiln_pool_share
   (or the pool's first kiln_cache_create) turns its inline list off for
   good and makes every kiln_alloc and kiln_free of it take the arena's
   lock, so any number of threads may call them at once. Call it while one
   thread still uses the pool. Threads that allocate often put a cache each
   in front of the pool instead (below): a shared pool's own calls cost a
   lock each. KILN_PARAM with a sentence for an automatic pool. */
kiln_res_t kiln_pool_share(kiln_pool_t pool);

/* ---- per-thread caches of manual pools ---------------------------------

   A cache holds freed blocks of one manual pool, segregated by size, for
   one thread: kiln_cache_alloc pops and kiln_cache_free pushes a block of
   the request's size class inline, with no lock and no call (the size
   classes of MPS's segregated allocation caches, the thread-local free
   lists of mimalloc). Only an empty list (refilled with a batch of blocks
   from the pool) or a full one (half of it flushed back to the pool)
   takes the slow path, which holds the arena's lock, so the caches of
   several threads refill and flush concurrently. A block may be freed into
   any cache of its pool, whichever cache or thread allocated it, or to the
   pool itself with kiln_free; requests above the cache's largest class
   (kiln_cache_limit) go to the pool under the lock.

   The rule: a cache belongs to one thread at a time (create one per
   thread; handing it to another thread needs the client's own
   synchronisation). Blocks a cache holds count as in use by the pool in
   kiln_pool_stats; kiln_cache_flush gives them all back, and so does
   kiln_cache_destroy, before the pool is destroyed. A pool destroyed
   first leaves its caches orphaned: their lists are dropped with the
   pool's memory, every allocation is refused (KILN_PARAM), every free is
   ignored, and kiln_cache_destroy still frees them (the checked build
   aborts at kiln_pool_destroy).

   args may be NULL, or give KILN_ARG_SIZE("capacity", bytes): how many
   bytes of free blocks each size class may hold (default 32KB; 0 keeps no
   blocks, so every call goes to the pool under the lock). Creating a cache
   shares the pool (kiln_pool_share).

   The default build trusts the client on the inline paths: a block of
   another pool or of the wrong size freed into a cache is not detected
   there. The checked build caches nothing: every call goes to the pool
   with its exact size, so its checks (double free, wrong size, a block of
   another pool, an interior pointer) see every block, as for kiln_free. */
#define KILN_CACHE_CLASSES 65
struct kiln_cache_list_s {
  void *free;  /* LIFO list of free blocks, linked through their first word */
  size_t room; /* how many more blocks the list may take */
};
/* The public prefix of a cache: what the inline paths read. The list of
   a request of s bytes is list[(s + round) >> shift]; requests of 1 to
   limit bytes are served there (limit 0: none, every call is slow). */
struct kiln_cache_head_s {
  size_t limit, round;
  unsigned shift;
  struct kiln_cache_list_s list[KILN_CACHE_CLASSES];
};

kiln_res_t kiln_cache_create(kiln_cache_t *cache_o, kiln_pool_t pool, const kiln_arg_t args[]);
/* Give every block back to the pool and free the cache; NULL does nothing. */
void kiln_cache_destroy(kiln_cache_t cache);
/* Give every block the cache holds back to the pool (a thread going idle). */
void kiln_cache_flush(kiln_cache_t cache);
/* The largest request the cache's lists serve (0 in the checked build). */
size_t kiln_cache_limit(kiln_cache_t cache);

/* The out-of-line rest of kiln_cache_alloc and kiln_cache_free: refill,
   flush, large requests and every argument check. Call those instead. */
kiln_res_t kiln_cache_alloc_slow(void **p_o, kiln_cache_t cache, size_t size);
void kiln_cache_free_slow(kiln_cache_t cache, void *p, size_t size);

KILN_INLINE kiln_res_t kiln_cache_alloc(void **p_o, kiln_cache_t cache, size_t size);
KILN_INLINE void kiln_cache_free(kiln_cache_t cache, void *p, size_t size);

/* Allocate size bytes from cache's pool, as kiln_alloc does. */
KILN_INLINE kiln_res_t kiln_cache_alloc(void **p_o, kiln_cache_t cache, size_t size)
{
  struct kiln_cache_head_s *h = (struct kiln_cache_head_s *)(void *)cache;
  if (cache != NULL && p_o != NULL && size - 1 < h->limit) {
    struct kiln_cache_list_s *l = &h->list[(size + h->round) >> h->shift];
    void *p = l->free;
    if (p != NULL) {
      l->free = *(void **)p;
      l->room++;
      *p_o = p;
      return KILN_OK;
    }
  }
  return kiln_cache_alloc_slow(p_o, cache, size);
}

/* Free block p of size bytes (the size it was allocated with) of cache's
   pool; NULL does nothing. */
KILN_INLINE void kiln_cache_free(kiln_cache_t cache, void *p, size_t size)
{
  struct kiln_cache_head_s *h = (struct kiln_cache_head_s *)(void *)cache;
  if (cache != NULL && p != NULL && size - 1 < h->limit) {
    struct kiln_cache_list_s *l = &h->list[(size + h->round) >> h->shift];
    if (l->room != 0) {
#if defined(__GNUC__)
      __asm__("" : "+r"(p)); /* as in kiln_free */
#endif
      *(void **)p = l->free;
      l->free = p;
      l->room--;
      return;
    }
  }
  kiln_cache_free_slow(cache, p, size);
}

/* ---- formats ---------------------------------------------------------- */

/* With header_size h, every format method and root receives and returns client
   pointers (block start + h): scan gets the client pointers of the first object
   and of the end, skip returns the client pointer of the next object (the
   checked build reports a skip that does not advance or runs past the
   object's segment). */
typedef kiln_res_t (*kiln_scan_fn)(kiln_ss_t ss, void *base, void *limit);
typedef void *(*kiln_skip_fn)(void *obj);            /* address just past obj */
typedef void (*kiln_fwd_fn)(void *old, void *new_);  /* leave a forwarding marker */
typedef void *(*kiln_isfwd_fn)(void *obj);           /* new address, or NULL */
typedef void (*kiln_pad_fn)(void *addr, size_t size); /* addr: client pointer of a
                                                         filler of size bytes (header included) */
/* A pad writes nothing past the first KILN_PAD_WRITES bytes of its filler
   (header included): with several threads, a collection that stops one
   in the middle of building an object pads it for the pause and puts
   those bytes back before the thread resumes. */
#define KILN_PAD_WRITES 64
typedef struct kiln_format_s {
  size_t align, header_size;
  kiln_scan_fn scan;
  kiln_skip_fn skip;
  kiln_fwd_fn fwd;
  kiln_isfwd_fn isfwd;
  kiln_pad_fn pad;
} kiln_format_t;
kiln_res_t kiln_fmt_create(kiln_fmt_t *fmt_o, kiln_arena_t arena, const kiln_format_t *format);
void kiln_fmt_destroy(kiln_fmt_t fmt);

/* The size of the object obj (a client pointer) of one of the arena's
   automatic pools, from its format: skip(obj) - obj, the bytes of its
   block, header included (what was reserved for it, rounded up to the
   format's alignment). KILN_PARAM with a sentence for an address in no
   segment of the arena, in a manual pool, or off the format's alignment;
   an address inside an object, or one of a dead object, is the client's
   error and is not detected. */
kiln_res_t kiln_obj_size(size_t *size_o, kiln_arena_t arena, void *obj);

/* ---- scanning --------------------------------------------------------- */

/* The public prefix of a scan state: what KILN_FIX1 reads. */
struct kiln_ss_s {
  uint64_t white;       /* zones of the condemned set */
  unsigned zone_shift;  /* zone of an address: (addr >> zone_shift) & 63 */
};

/* Hot: only the checked build checks its arguments. */
kiln_res_t kiln_ss_fix(kiln_ss_t ss, void **ref_io);

#define KILN_SCAN_BEGIN(ss) do { kiln_ss_t kiln_ss_ = (ss); (void)kiln_ss_;
#define KILN_SCAN_END(ss) } while (0)
/* May this reference need fixing? One shift and AND against the white zones. */
#define KILN_FIX1(ss, ref) \
  ((int)(((ss)->white >> (((uintptr_t)(ref) >> (ss)->zone_shift) & 63)) & 1))
#define KILN_FIX2(ss, ref_io) kiln_ss_fix((ss), (ref_io))
#define KILN_FIX12(ss, ref_io) \
  (KILN_FIX1((ss), *(ref_io)) ? KILN_FIX2((ss), (ref_io)) : KILN_OK)

/* Word-typed fixing, for formats whose slots are uintptr_t (tagged or
   NaN-boxed values): *ref_io holds a plain pointer (or 0), the client
   having taken off any tag, and is read and written as a uintptr_t only,
   so a scan that never casts a slot to void ** needs no
   -fno-strict-aliasing. Put the tag back after the call. Like kiln_ss_fix,
   it is for scan functions, with the scan state they were given. */
static inline kiln_res_t kiln_ss_fix_word(kiln_ss_t ss, uintptr_t *ref_io)
{
  void *ref = (void *)*ref_io;
  kiln_res_t res = kiln_ss_fix(ss, &ref);
  if ((uintptr_t)ref != *ref_io)
    *ref_io = (uintptr_t)ref;
  return res;
}
#define KILN_FIX12_WORD(ss, ref_io) \
  (KILN_FIX1((ss), *(ref_io)) ? kiln_ss_fix_word((ss), (ref_io)) : KILN_OK)

/* A derived pointer: *derived_io points into the object *base_io refers
   to (or just past its end), such as a frame's instruction pointer into
   its bytecode object. Fixes *base_io as kiln_ss_fix does (KILN_FIX1 is
   applied first) and, when the object moved, moves *derived_io with it, so
   that it keeps its byte offset from the base; when a weak reference's
   object died, both become NULL. Both may then be exact roots (a scan
   root or a formatted one) or object fields. Keep them in void *
   variables (copy a typed pointer in and out) rather than casting their
   addresses. The checked build reports a derived pointer outside its
   base's object. */
kiln_res_t kiln_ss_fix_derived(kiln_ss_t ss, void **base_io, void **derived_io);

/* An ephemeron: a key and a value held in an object (a WeakMap entry),
   fixed together from the object's scan function. The key is weak; the
   value is kept alive only while the key is reachable otherwise. After the
   trace, a pair whose key died has both slots NULL; a moved key or value
   is updated. The slots must stay where they are (inside the object being
   scanned). In an object of weak rank both are weak. */
kiln_res_t kiln_ss_fix_ephemeron(kiln_ss_t ss, void **key_io, void **value_io);

/* ---- roots ------------------------------------------------------------ */

/* AMBIG: any word, maybe a (possibly interior) reference; pins what it hits.
   EXACT: a reference or NULL, updated when its object moves. WEAK: exact,
   but keeps nothing alive: after the trace, a weak area word or a reference
   a weak scan function fixes becomes NULL if its object died. */
typedef enum { KILN_RANK_AMBIG, KILN_RANK_EXACT, KILN_RANK_WEAK } kiln_rank_t;
/* Register each area once: the checked build refuses an area or
   formatted root overlapping one already registered (the default build
   scans the overlap twice, which does no harm). */
kiln_res_t kiln_root_create_area(kiln_root_t *root_o, kiln_arena_t arena, void **base,
                                 void **limit, kiln_rank_t rank);
kiln_res_t kiln_root_create_fmt(kiln_root_t *root_o, kiln_arena_t arena, kiln_scan_fn scan,
                                void *base, void *limit);
typedef kiln_res_t (*kiln_root_scan_fn)(kiln_ss_t ss, void *closure);
kiln_res_t kiln_root_create_scan(kiln_root_t *root_o, kiln_arena_t arena, kiln_rank_t rank,
                                 kiln_root_scan_fn scan, void *closure);
kiln_res_t kiln_root_create_thread(kiln_root_t *root_o, kiln_arena_t arena,
                                   kiln_thread_t thread, void *stack_cold_end);
void kiln_root_destroy(kiln_root_t root);

/* ---- threads ---------------------------------------------------------- */

/* The thread rule: any number of threads may register with an arena
   (kiln_thread_reg), each with a thread root for its stack
   (kiln_root_create_thread), and each allocates through allocation points
   of its own. A collection, whichever thread runs it, stops every other
   registered thread with a signal (SIGXCPU; SIGXFSZ lets it go: a program
   using several threads must not use those two signals itself), scans its
   registers and stack ambiguously, and lets it go: a thread blocked in a
   system call or a long loop of its own needs no cooperation. A
   reservation a collection interrupts fails its commit, as always, and the
   client reserves again. The slow paths of the arena (allocation points'
   fill and trip, creating and destroying pools, points and roots,
   registration, collections, pinning and finalization) take the arena's
   lock; the inline fast paths take none. A thread deregisters
   (kiln_thread_dereg, after destroying its root and points) before it
   exits. Once any thread is registered, the slow paths of every
   allocation point refuse a thread that is not (KILN_PARAM and a
   sentence): its stack would never be scanned, so objects only it refers
   to could be freed or moved under it. An arena with no registered thread
   scans no stack and keeps every reference in the client's own roots, so
   any thread may allocate, one at a time (the client serialises them).
   A manual pool's kiln_alloc and kiln_free are for one thread at a time
   until kiln_pool_share; then any thread may call them, and per-thread
   caches (kiln_cache_create) are the fast way to share one. With more than one
   registered thread, an incremental pool's minor collections run as one
   stop-the-world pause each. */
kiln_res_t kiln_thread_reg(kiln_thread_t *thr_o, kiln_arena_t arena);
void kiln_thread_dereg(kiln_thread_t thread);

/* ---- allocation points ------------------------------------------------ */

/* The public prefix of an allocation point. [init, alloc) is the object being
   built; [alloc, limit) is free. limit == NULL means "take the slow path":
   either no buffer, or a collection trapped the AP and the next commit fails. */
struct kiln_ap_s {
  char *init, *alloc, *limit;
};

/* args may be NULL, or give KILN_ARG_STR("rank", "exact" or "weak"). The
   objects of a weak point are ordinary objects, but the references they
   hold keep nothing alive: after a collection, one to an object that died
   is NULL and one to a moved object is updated. Every reserve and commit
   of a weak point takes the slow path. */
kiln_res_t kiln_ap_create(kiln_ap_t *ap_o, kiln_pool_t pool, const kiln_arg_t args[]);
/* Destroy allocation points before their pool. kiln_pool_destroy leaves a
   live one orphaned: every reserve is refused (KILN_PARAM), every commit
   fails, and kiln_ap_destroy still frees it (the checked build aborts at
   the kiln_pool_destroy). */
void kiln_ap_destroy(kiln_ap_t ap);
/* The slow paths. kiln_ap_fill returns KILN_PARAM, and kiln_ap_trip makes
   the commit fail (returns 0, the reservation dropped) with a sentence in
   kiln_arena_error, for a thread not registered with the arena while some
   are (see threads) and for an orphaned point. */
kiln_res_t kiln_ap_fill(void **p_o, kiln_ap_t ap, size_t size); /* slow path of reserve */
int kiln_ap_trip(kiln_ap_t ap, void *p, size_t size);            /* slow path of commit */

/* Reserve size bytes (a multiple of the format's alignment) for one object.
   The memory is uninitialised; make it a valid object, then kiln_commit.
   A size that is not a multiple of the alignment gets KILN_PARAM on the
   slow path. The fast path cannot tell: the next reserve that reaches the
   slow path returns KILN_PARAM, saying the point was left misaligned, and
   starts a fresh, aligned buffer (the misaligned object stays in the heap;
   the bytes up to the next alignment boundary hold no object). The checked
   build exposes no buffer (limit stays NULL), so every kiln_reserve and
   kiln_commit takes its slow path and is checked: a misaligned size is
   refused at once, and a second reserve before the commit, or a commit
   without a reservation or of another address or size, aborts. */
static inline kiln_res_t kiln_reserve(void **p_o, kiln_ap_t ap, size_t size)
{
  uintptr_t alloc = (uintptr_t)ap->alloc, next = alloc + size;
  if (next > alloc && next <= (uintptr_t)ap->limit) {
    ap->alloc = (char *)next;
    *p_o = (void *)alloc;
    return KILN_OK;
  }
  return kiln_ap_fill(p_o, ap, size);
}

/* Returns 1 if the object reserved at p is now part of the heap, 0 if a
   collection intervened: then reserve again and rebuild the object. A
   commit without a reservation fails (0, with a sentence) when the point
   has no buffer; with one, only the checked build can tell. */
static inline int kiln_commit(kiln_ap_t ap, void *p, size_t size)
{
  ap->init = ap->alloc;
#if defined(__GNUC__)
  /* Another thread's collection may stop this one between any two
     instructions: init must be stored before limit is read (an ordering
     for the compiler only; it emits no instruction). */
  __asm__ __volatile__("" ::: "memory");
#endif
  if (ap->limit != NULL)
    return 1;
  return kiln_ap_trip(ap, p, size);
}

/* ---- barrier ---------------------------------------------------------- */

/* The barrier alone: record that slot, a field of obj, was just stored
   into by the client, with a store of any type. kiln_write and
   kiln_write_word are this after their store. A slot outside the heap
   dirties obj's own card instead (see kiln_write). */
static inline void kiln_write_barrier(kiln_arena_t arena, void *obj, const void *slot)
{
  const struct kiln_arena_head_s *h = (const struct kiln_arena_head_s *)(void *)arena;
  uintptr_t span = h->limit - h->base, off = (uintptr_t)slot - h->base;
  if (off >= span)
    off = (uintptr_t)obj - h->base;
  if (off < span)
    h->cards[off >> h->card_shift] = 1;
}

/* Store value into *slot (a field of obj) and dirty slot's card. Required for
   every store of a reference into an object of an automatic pool, except the
   stores that initialise an object before its successful kiln_commit.
   A slot outside the heap -- a malloc'd array that obj owns and its scan
   fixes -- dirties the card of obj itself instead: the next collection
   that needs obj's references (a minor one, for an old obj) then scans obj
   whole, and so the array. Pass the object whose scan fixes the slot. */
static inline void kiln_write(kiln_arena_t arena, void *obj, void **slot, void *value)
{
  *slot = value;
  kiln_write_barrier(arena, obj, slot);
}

/* kiln_write for a uintptr_t slot, whatever the word holds (a tagged
   reference, a NaN-boxed value): the store is a uintptr_t store, so it
   respects strict aliasing. The same rule says when it is required. */
static inline void kiln_write_word(kiln_arena_t arena, void *obj, uintptr_t *slot,
                                   uintptr_t value)
{
  *slot = value;
  kiln_write_barrier(arena, obj, slot);
}

/* ---- pinning ---------------------------------------------------------- */

/* Pin obj, an object of one of the arena's automatic pools: until it is
   unpinned it stays alive and does not move, as if an ambiguous root
   referred to it (a copy pool keeps its whole segment in place, a gen
   pool keeps it in its nursery chunk; what it refers to is traced and may
   move as usual). Pins nest: each kiln_pin needs one kiln_unpin with the
   same address before the object may move or die again. KILN_PARAM with
   a sentence for an address in no segment of the arena or in a manual
   pool, and during a collection; KILN_MEMORY if the table of pins cannot
   grow. Each call takes constant expected time however many objects are
   pinned. Unpin an object before destroying its pool: a pin left behind
   is an ambiguous word that keeps whatever is later allocated there. */
kiln_res_t kiln_pin(kiln_arena_t arena, void *obj);
/* KILN_PARAM with a sentence for an address that is not pinned. */
kiln_res_t kiln_unpin(kiln_arena_t arena, void *obj);

/* ---- finalization ----------------------------------------------------- */

/* Register obj, an object of one of the arena's automatic pools, for
   finalization. When a collection finds it unreachable, it is kept alive
   with everything it reaches (moved, if its pool moves objects), and
   queued; kiln_finalized hands it back. Each registration is finalized at
   most once; registrations count: an object registered twice is queued
   twice. Order within a collection: the exact trace, then weak references
   are cleared (so none is left to an object being finalized), then the
   finalizable objects are resurrected and queued (what they reach is
   traced, and its weak references cleared, in turn), then the dead are
   reclaimed. A minor collection finalizes only young objects (old ones
   are alive). KILN_PARAM with a sentence for NULL, an address in no
   segment of the arena or in a manual pool, and during a collection;
   KILN_MEMORY if the registry cannot grow. Destroying a pool drops its
   objects' registrations and queue entries. */
kiln_res_t kiln_finalize(kiln_arena_t arena, void *obj);
/* Withdraw one registration of obj (its current address). KILN_FAIL with a
   sentence if obj is not registered (never, withdrawn, or finalized). */
kiln_res_t kiln_definalize(kiln_arena_t arena, void *obj);
/* 1 and the next finalized object in *obj_o, which keeps it alive only
   while the client holds it (a root); 0 when none is queued. */
int kiln_finalized(kiln_arena_t arena, void **obj_o);

#ifdef __cplusplus
}
#endif
#endif /* KILN_H */
