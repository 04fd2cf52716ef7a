/* mvff.c -- manual pool of variable-size blocks ("manual variable first
 * fit", after MPS MVFF), with a segregated good-fit policy and a small
 * cache of freed blocks in front (after MPS's segregated allocation caches).
 *
 * Owns: small-block segments of `extend_by` bytes, carved into blocks of
 * whole granules (G = max(align, 16) bytes, so every block is align-aligned),
 * and one segment per large block (more than `large_size` bytes), which goes
 * back to the arena as soon as the block is freed.
 *
 * Policy: segregated good fit, in the manner of TLSF. Free blocks sit in
 * size classes: one class per granule count below 64 granules, then eight
 * classes per power of two. An allocation takes the first block of the
 * smallest non-empty class whose blocks are all big enough (found with a
 * bitmap of non-empty classes) and hands out its high end; the low rest stays
 * a free block with its header in place (usually in the same list). Below 64
 * granules (1 KiB with G = 16) that is best fit; above, a block is at most
 * 1/8 larger than the best one. Class lists are LIFO. Freeing into this store
 * coalesces with both neighbours at once.
 *
 * The cache: up to `cache` bytes of freed blocks of each small size (at most
 * 1 KiB) are kept, uncoalesced, on a LIFO list (linked through the block's
 * first word, its segment in the second) for the next allocation of
 * that size, so the common case touches no bitmap and no neighbour. It is to
 * the store what glibc's tcache and fastbins are to its bins (bench/README.md
 * has the measurements). A cached block counts as
 * allocated to the store and as live in its segment, so a cache hit
 * touches no segment descriptor and a free into the cache only reads the
 * descriptor's first fields (pool, class), not the live count, whose cache
 * line is the pool's commonest miss otherwise. The cache is flushed into the store
 * before the pool grows and whenever it holds more bytes than the pool has
 * in use, so it never makes the pool grow, and freeing every block gives all
 * segments but the idle one back. Between flushes a segment whose other
 * blocks are free stays alive for its cached ones. `cache = 0` turns it off.
 *
 * Allocated blocks carry no header: kiln_free passes the size. A free block
 * of the store holds {size, next, prev} at its start and its size in its last
 * word, so it is at least 32 bytes (two granules when G is 16), and so is
 * every block handed out, or freeing it alone could not record it. Each
 * small segment's descriptor counts its live blocks and has an edge bitmap,
 * one bit per granule (1/128 of the segment with G = 16), set exactly on
 * the first and the last granule of every free block and on every pad, so
 * a free learns whether a neighbour is free from one bit, and its extent
 * from the neighbour's header or footer.
 *
 * A pad is the granule just past a block's requested extent when the block
 * was handed out one granule longer than asked, because the 16 bytes left
 * over could not be a free block on their own (so only when G is 16). The
 * client never writes there, so the pad marks itself: both its words hold
 * G, which no free block's header or footer can hold (a free block has at
 * least two granules then). An edge bit whose header or footer reads G is a
 * pad, not a free neighbour. This took the place of a second bit per
 * granule, which made the descriptors 1/64 of the heap: measured on
 * bench_manual's random workload, 0.22 MiB of its 30 MiB peak.
 *
 * Invariants:
 *  - every free block is in exactly one class list, the list of its size;
 *    bit c of `nonempty` is set iff list c is non-empty;
 *  - no two free blocks are adjacent, and none crosses a segment boundary;
 *  - a segment's `live` counts its blocks that are not free in the store
 *    (handed out or cached);
 *  - after every free, `cached_bytes` is at most the pool's in_use;
 *  - every small segment but `idle_seg` has a live block. The idle segment
 *    (one free block, so none of its blocks cached) is kept, as mfs keeps one empty
 *    segment, so a pool that empties and refills, or frees a batch and
 *    allocates it again, does not trade segments with the arena each time.
 *    When a second segment becomes one free block, the older is released.
 *
 * Bounds: alloc and free are O(1): from the cache, one list operation; from
 * the store, a few bitmap words, at most two list removals and one insertion.
 * A flush costs what freeing the cached blocks costs, once per cached block.
 * Growing costs one seg_alloc.
 *
 * Checked build: three more bitmaps per small segment (block starts, live
 * granules, granules freed and not reused since), so a double free, an
 * interior or foreign pointer and a size that does not match the allocated
 * one (to the granule) are reported by pool_misuse; freed memory is poisoned
 * with KILN_POISON_BYTE before the pool writes its links and sizes into it.
 */
#include "config.h"
#include "bits.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#define GRAIN_MIN 16      /* a granule holds the header's size and one link */
#define EXACT_CLASSES 64  /* one class per granule count below this */
#define SUB_CLASSES 8     /* classes per power of two above it */
#define CLASSES 256
#define CLASS_WORDS (CLASSES / 64)
#define CACHE_BYTES 1024  /* the largest block the cache holds */
#define CACHE_SLOTS (CACHE_BYTES / GRAIN_MIN + 1) /* indexed by granule count */

typedef struct fblk_s {
  size_t size;                /* bytes, a multiple of the granule */
  struct fblk_s *next, *prev; /* in the list of its class */
} fblk_t;

/* The bitmaps of a small segment, one bit per granule, map_words words each:
   the edges; the last three exist in checked builds. */
enum { MAP_EDGE = 0, MAP_START, MAP_LIVE, MAP_FREED, MAPS_CHECKED };
#define MAPS (KILN_CHECKING ? MAPS_CHECKED : MAP_START)

typedef struct mvff_seg_s {
  struct seg_s seg;
  size_t live;           /* blocks not free in the store: handed out or cached */
  uint64_t map[];        /* MAPS bitmaps of mvff->map_words words each */
} mvff_seg_t;

typedef struct mvff_s {
  struct kiln_pool_s pool;
  size_t grain;          /* G: every block is a whole number of these */
  unsigned shift;        /* log2(grain) */
  size_t min_free;       /* fewest granules a free block can have: 1 or 2 */
  size_t pad_mark;       /* the words of a pad: G when min_free is 2, else 0 (no pads) */
  size_t large_size;     /* blocks above this many bytes get their own segment */
  size_t seg_bytes, seg_grains, map_words; /* of every small segment */
  seg_class_t small_class; /* its descriptor size depends on seg_grains */
  mvff_seg_t *idle_seg;  /* the one small segment kept with no live block */
  size_t cache_grains;   /* blocks of up to this many granules are cached */
  size_t cached;         /* blocks in the cache now */
  size_t cached_bytes;   /* and their bytes */
  void *cache[CACHE_SLOTS];        /* LIFO lists of cblk_t, indexed by granules */
  size_t cache_room[CACHE_SLOTS];  /* how many more blocks each list may take */
  uint64_t nonempty[CLASS_WORDS];
  fblk_t *heads[CLASSES];
} mvff_t;

enum { P_ALIGN, P_EXTEND_BY, P_LARGE_SIZE, P_CACHE };
static const kiln_param_t mvff_params[] = {
  {"align", KILN_ARGT_SIZE, "16", 8, 4096, "alignment of every block in bytes (a power of two)"},
  {"extend_by", KILN_ARGT_SIZE, "64KB", 4096, 1u << 30,
   "bytes in each segment of small blocks taken from the arena"},
  {"large_size", KILN_ARGT_SIZE, "0", 0, 1u << 30,
   "blocks above this many bytes get a segment of their own (0: extend_by / 4)"},
  {"cache", KILN_ARGT_SIZE, "32KB", 0, 1 << 20,
   "bytes of freed blocks of each size up to 1KB kept uncoalesced for reuse (0: none)"},
  {NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};

static const seg_class_t mvff_small_template = {.name = "mvff", .size = sizeof(mvff_seg_t)};
static const seg_class_t mvff_large_class = {.name = "mvff-large", .size = sizeof(struct seg_s)};

static mvff_t *mvff_of(pool_t pool) { return (mvff_t *)pool; }
static mvff_seg_t *vseg_of(seg_t seg) { return (mvff_seg_t *)seg; }

/* ---- bitmaps ------------------------------------------------------------ */

static uint64_t *seg_map(const mvff_t *m, mvff_seg_t *vs, int which)
{
  return vs->map + (size_t)which * m->map_words;
}

/* bits.h gets and sets single bits; the hot paths here clear them too. */
static void bit_clear(uint64_t *map, size_t i) { map[i >> 6] &= ~((uint64_t)1 << (i & 63)); }

static int edge_get(const uint64_t *edges, size_t i) { return bit_get(edges, i); }
static void edge_set(uint64_t *edges, size_t i) { bit_set(edges, i); }
static void edge_clear(uint64_t *edges, size_t i) { bit_clear(edges, i); }

/* ---- size classes of the store ------------------------------------------ */

/* GCC and Clang builtins: the only compilers Kiln builds with. */
static unsigned log2_floor(size_t x)
{
  return 63u - (unsigned)__builtin_clzll((unsigned long long)x);
}

static unsigned class_of(size_t g)
{
  if (g < EXACT_CLASSES)
    return (unsigned)g;
  unsigned fl = log2_floor(g); /* >= 6, so fl - 3 is the sub-class shift */
  return EXACT_CLASSES + (fl - 6) * SUB_CLASSES + (unsigned)((g >> (fl - 3)) & (SUB_CLASSES - 1));
}

/* The fewest granules a block of class c can have. */
static size_t class_min(unsigned c)
{
  if (c < EXACT_CLASSES)
    return c;
  unsigned fl = 6 + (c - EXACT_CLASSES) / SUB_CLASSES, sl = (c - EXACT_CLASSES) % SUB_CLASSES;
  return (size_t)(SUB_CLASSES + sl) << (fl - 3);
}

/* Granules of a block of size bytes: never fewer than a free block needs,
   or freeing it could not record it (glibc's smallest chunk is 32 bytes too). */
static size_t granules(const mvff_t *m, size_t size)
{
  size_t g = (size >> m->shift) + ((size & (m->grain - 1)) != 0);
  return g >= m->min_free ? g : m->min_free;
}

static void list_push(mvff_t *m, fblk_t *b)
{
  unsigned c = class_of(b->size >> m->shift);
  b->prev = NULL;
  b->next = m->heads[c];
  if (b->next != NULL)
    b->next->prev = b;
  else
    m->nonempty[c >> 6] |= (uint64_t)1 << (c & 63);
  m->heads[c] = b;
}

static void list_remove(mvff_t *m, fblk_t *b)
{
  if (b->next != NULL)
    b->next->prev = b->prev;
  if (b->prev != NULL) {
    b->prev->next = b->next;
    return;
  }
  unsigned c = class_of(b->size >> m->shift);
  m->heads[c] = b->next;
  if (b->next == NULL)
    m->nonempty[c >> 6] &= ~((uint64_t)1 << (c & 63));
}

/* The first non-empty class at or above c, or CLASSES if none. */
static unsigned class_find(const mvff_t *m, unsigned c)
{
  for (unsigned w = c >> 6; w < CLASS_WORDS; w++) {
    uint64_t bits = m->nonempty[w];
    if (w == c >> 6)
      bits &= ~(uint64_t)0 << (c & 63);
    if (bits != 0)
      return w * 64 + (unsigned)__builtin_ctzll(bits);
  }
  return CLASSES;
}

/* A free block of at least g granules, or NULL. */
static fblk_t *find_block(const mvff_t *m, size_t g)
{
  unsigned c = class_of(g);
  if (g > class_min(c)) {
    /* Class c may hold blocks too small: its head is worth one look. */
    fblk_t *b = m->heads[c];
    if (b != NULL && b->size >> m->shift >= g)
      return b;
    c++;
  }
  c = class_find(m, c);
  return c < CLASSES ? m->heads[c] : NULL;
}

/* ---- free blocks in a segment ------------------------------------------ */

static char *grain_addr(const mvff_t *m, mvff_seg_t *vs, size_t i)
{
  return (char *)vs->seg.base + (i << m->shift);
}

static size_t grain_index(const mvff_t *m, mvff_seg_t *vs, const void *p)
{
  return ((uintptr_t)p - vs->seg.base) >> m->shift;
}

static void set_footer(fblk_t *b) { ((size_t *)(void *)((char *)b + b->size))[-1] = b->size; }

/* Granule i of vs becomes a pad: edge bit set, and G in both its words
   (G is 16 whenever there are pads: two words). */
static void pad_make(mvff_t *m, mvff_seg_t *vs, size_t i)
{
  size_t *w = (size_t *)(void *)grain_addr(m, vs, i);
  w[0] = w[1] = m->pad_mark;
  edge_set(seg_map(m, vs, MAP_EDGE), i);
}

/* Is granule i of vs a pad? Its edge bit says a pad or a free block's first
   granule; the header word tells them apart. */
static int pad_at(const mvff_t *m, mvff_seg_t *vs, size_t i)
{
  return i < m->seg_grains && edge_get(seg_map(m, vs, MAP_EDGE), i) &&
         *(const size_t *)(const void *)grain_addr(m, vs, i) == m->pad_mark;
}

/* Make granules [i, i + g) of vs a free block: header, footer, edges, list. */
static void block_make_free(mvff_t *m, mvff_seg_t *vs, size_t i, size_t g)
{
  fblk_t *b = (fblk_t *)(void *)grain_addr(m, vs, i);
  b->size = g << m->shift;
  set_footer(b);
  uint64_t *edges = seg_map(m, vs, MAP_EDGE);
  edge_set(edges, i);
  edge_set(edges, i + g - 1);
  list_push(m, b);
}

/* Give free block b a new size without moving its header; it changes list
   only if it changes class. The caller moves the edge bit of its end. */
static void block_resize(mvff_t *m, fblk_t *b, size_t size)
{
  if (class_of(b->size >> m->shift) != class_of(size >> m->shift)) {
    list_remove(m, b);
    b->size = size;
    list_push(m, b);
  } else {
    b->size = size;
  }
  set_footer(b);
}

/* Hand out g granules of free block b: its high end, so the rest keeps its
   header (and usually its list). When the rest would be too small to be a
   free block, the block gets it too, as a pad that kiln_free will find. */
static char *carve(mvff_t *m, mvff_seg_t *vs, fblk_t *b, size_t g)
{
  size_t i = grain_index(m, vs, b), have = b->size >> m->shift;
  uint64_t *edges = seg_map(m, vs, MAP_EDGE);
  edge_clear(edges, i + have - 1);
  if (have - g >= m->min_free) {
    block_resize(m, b, (have - g) << m->shift);
    edge_set(edges, i + have - g - 1);
    return (char *)b + ((have - g) << m->shift);
  }
  list_remove(m, b);
  edge_clear(edges, i);
  if (have > g) /* g >= min_free = 2, so granule i is not the pad */
    pad_make(m, vs, i + g);
  return (char *)b;
}

/* Give the idle segment back to the arena. Pre: none of its blocks is
   cached, so it is one free block. */
static void release_idle(mvff_t *m)
{
  mvff_seg_t *vs = m->idle_seg;
  fblk_t *b = (fblk_t *)(void *)vs->seg.base;
  KILN_ASSERT(vs->live == 0 && edge_get(seg_map(m, vs, MAP_EDGE), 0));
  KILN_ASSERT(b->size == m->seg_bytes);
  list_remove(m, b);
  m->idle_seg = NULL;
  seg_free(&vs->seg);
}

/* vs has just become one free block: it is the idle segment, or it becomes
   the idle segment and the one idle before is released. */
static void segment_emptied(mvff_t *m, mvff_seg_t *vs)
{
  if (m->idle_seg != NULL && m->idle_seg != vs)
    release_idle(m);
  m->idle_seg = vs;
}

/* Granules [i, i + g) of vs were freed: merge them with free neighbours.
   Merging into a free predecessor keeps its header where it is. */
static void coalesce(mvff_t *m, mvff_seg_t *vs, size_t i, size_t g)
{
  uint64_t *edges = seg_map(m, vs, MAP_EDGE);
  size_t end = i + g;
  /* The next granule's edge bit means a free block: a pad follows its own
     block, and this block's went with it (store_free). */
  if (end < m->seg_grains && edge_get(edges, end)) {
    fblk_t *next = (fblk_t *)(void *)grain_addr(m, vs, end);
    list_remove(m, next);
    edge_clear(edges, end);
    end += next->size >> m->shift;
  }
  size_t psize;
  if (i > 0 && edge_get(edges, i - 1) && /* a free block's last granule, or a pad */
      (psize = ((size_t *)(void *)grain_addr(m, vs, i))[-1]) != m->pad_mark) {
    fblk_t *prev = (fblk_t *)(void *)(grain_addr(m, vs, i) - psize);
    if (psize >> m->shift > 1) /* else granule i - 1 is its first as well */
      edge_clear(edges, i - 1);
    edge_set(edges, end - 1);
    i -= psize >> m->shift;
    block_resize(m, prev, (end - i) << m->shift);
  } else {
    block_make_free(m, vs, i, end - i);
  }
  if (i == 0 && end == m->seg_grains)
    segment_emptied(m, vs);
}

/* Free the block of g requested granules at granule i of vs into the store
   (it already left vs->live). */
static void store_free(mvff_t *m, mvff_seg_t *vs, size_t i, size_t g)
{
  if (pad_at(m, vs, i + g)) {
    edge_clear(seg_map(m, vs, MAP_EDGE), i + g);
    g++;
  }
  coalesce(m, vs, i, g);
}

/* ---- the cache ---------------------------------------------------------- */

/* A cached block remembers its segment in its second word (every block
   has two), so allocating from the cache needs no page-table lookup. */
typedef struct cblk_s {
  struct cblk_s *next;
  mvff_seg_t *vs;
} cblk_t;

static cblk_t *cache_pop(mvff_t *m, size_t g)
{
  cblk_t *c = m->cache[g];
  m->cache[g] = c->next;
  m->cache_room[g]++;
  m->cached--;
  m->cached_bytes -= g << m->shift;
  return c;
}

static void cache_push(mvff_t *m, void *p, size_t g, mvff_seg_t *vs)
{
  cblk_t *c = p;
  c->next = m->cache[g];
  c->vs = vs;
  m->cache[g] = c;
  m->cache_room[g]--;
  m->cached++;
  m->cached_bytes += g << m->shift;
}

/* Free every cached block into the store. A segment whose last live
   block was cached becomes one free block, and the idle segment: at most
   one stays (segment_emptied). */
static void cache_flush(mvff_t *m)
{
  for (size_t g = m->min_free; g <= m->cache_grains && m->cached > 0; g++)
    while (m->cache[g] != NULL) {
      cblk_t *c = cache_pop(m, g);
      mvff_seg_t *vs = c->vs;
      vs->live--;
      store_free(m, vs, grain_index(m, vs, c), g);
    }
}

/* ---- checked builds ----------------------------------------------------- */

/* Granules a block of g requested granules at granule i really holds. */
static size_t held(mvff_t *m, mvff_seg_t *vs, size_t i, size_t g)
{
  return g + pad_at(m, vs, i + g);
}

static void checked_alloc(mvff_t *m, mvff_seg_t *vs, size_t i, size_t g)
{
  bit_set(seg_map(m, vs, MAP_START), i);
  bits_set(seg_map(m, vs, MAP_LIVE), i, g, 1);
  bits_set(seg_map(m, vs, MAP_FREED), i, g, 0);
}

/* A block of g requested granules at granule i is freed: its pad, if any,
   is the pool's and keeps its marks, so only the g granules are poisoned. */
static void checked_free(mvff_t *m, mvff_seg_t *vs, size_t i, size_t g)
{
  bit_clear(seg_map(m, vs, MAP_START), i);
  bits_set(seg_map(m, vs, MAP_LIVE), i, held(m, vs, i, g), 0);
  bit_set(seg_map(m, vs, MAP_FREED), i);
  memset(grain_addr(m, vs, i), KILN_POISON_BYTE, g << m->shift);
}

/* Granules of the live block starting at granule i: up to the next start or
   the first granule that is not live. O(block / 64) -- checked builds only. */
static size_t live_extent(mvff_t *m, mvff_seg_t *vs, size_t i)
{
  size_t n = m->seg_grains;
  size_t next_start = bits_find(seg_map(m, vs, MAP_START), i + 1, n, 1);
  size_t first_free = bits_find(seg_map(m, vs, MAP_LIVE), i + 1, n, 0);
  return (next_start < first_free ? next_start : first_free) - i;
}

static void check_free_large(mvff_t *m, seg_t seg, void *p, size_t size)
{
  if ((uintptr_t)p != seg->base)
    pool_misuse(&m->pool, "kiln_free(%p): points inside a large block of %zu bytes at %p, "
                "not at its start", p, seg_size(seg), (void *)seg->base);
  size_t page = m->pool.arena->page_size, least = seg_size(seg) - page + 1;
  if (least <= m->large_size)
    least = m->large_size + 1;
  if (size < least || size > seg_size(seg))
    pool_misuse(&m->pool, "kiln_free(%p, %zu): size does not match the size it was allocated "
                "with (%zu..%zu bytes)", p, size, least, seg_size(seg));
}

static void check_bad_start(mvff_t *m, mvff_seg_t *vs, void *p)
{
  uintptr_t off = (uintptr_t)p - vs->seg.base;
  size_t i = off >> m->shift;
  if (off % m->grain == 0 && bit_get(seg_map(m, vs, MAP_FREED), i))
    pool_misuse(&m->pool, "kiln_free(%p): double free (block already free)", p);
  if (bit_get(seg_map(m, vs, MAP_LIVE), i))
    pool_misuse(&m->pool, "kiln_free(%p): points inside a live block, not at its start", p);
  pool_misuse(&m->pool, "kiln_free(%p): not a block this pool gave out (free memory)", p);
}

/* Is p a live block of this pool, freed with the size it was allocated with? */
static void check_free(mvff_t *m, seg_t seg, void *p, size_t size)
{
  if (seg == NULL)
    pool_misuse(&m->pool, "kiln_free(%p): not a live block of any pool (never allocated, or "
                "already freed)", p);
  if (seg->pool != &m->pool)
    pool_misuse(&m->pool, "kiln_free(%p): a block of another pool (%s %p), not of this one", p,
                seg->pool->klass->name, (void *)seg->pool);
  if (seg->klass != &m->small_class) {
    check_free_large(m, seg, p, size);
    return;
  }
  mvff_seg_t *vs = vseg_of(seg);
  uintptr_t off = (uintptr_t)p - seg->base;
  size_t i = off >> m->shift;
  if (off % m->grain != 0 || !bit_get(seg_map(m, vs, MAP_START), i))
    check_bad_start(m, vs, p);
  size_t have = live_extent(m, vs, i);
  size_t g = have - (have > 1 && pad_at(m, vs, i + have - 1)); /* sizes (g - 1) * G + 1 .. g * G, or 1 .. g * G at the least */
  if (size > m->large_size || granules(m, size) != g)
    pool_misuse(&m->pool, "kiln_free(%p, %zu): size does not match the size it was allocated "
                "with (%zu..%zu bytes)", p, size, g == m->min_free ? 1 : ((g - 1) << m->shift) + 1,
                g << m->shift);
}

/* ---- the class ---------------------------------------------------------- */

static kiln_res_t mvff_bad(pool_t pool, const char *what, size_t value, const char *why)
{
  return arena_errorf(pool->arena, KILN_PARAM, "pool class 'mvff': parameter '%s' is %zu, %s",
                      what, value, why);
}

static kiln_res_t mvff_init(pool_t pool, const pval_t *v)
{
  mvff_t *m = mvff_of(pool);
  size_t align = v[P_ALIGN].size, page = pool->arena->page_size;
  if ((align & (align - 1)) != 0)
    return mvff_bad(pool, "align", align, "not a power of two");
  if (align > page)
    return mvff_bad(pool, "align", align, "larger than a page of the arena");
  m->grain = align > GRAIN_MIN ? align : GRAIN_MIN;
  m->shift = log2_floor(m->grain);
  m->min_free = m->grain >= sizeof(fblk_t) + sizeof(size_t) ? 1 : 2;
  m->pad_mark = m->min_free == 2 ? m->grain : 0; /* no free block's size */
  m->seg_bytes = size_align_up(v[P_EXTEND_BY].size, page);
  m->large_size = v[P_LARGE_SIZE].size != 0 ? v[P_LARGE_SIZE].size : m->seg_bytes / 4;
  if (m->large_size > m->seg_bytes)
    return arena_errorf(pool->arena, KILN_PARAM,
                        "pool class 'mvff': large_size (%zu) is larger than extend_by (%zu); "
                        "every small block must fit in one segment", m->large_size,
                        m->seg_bytes);
  m->seg_grains = m->seg_bytes >> m->shift;
  m->map_words = bits_words(m->seg_grains);
  /* extend_by <= 1 GiB and G >= 16 keep every size inside the class table. */
  KILN_ASSERT(class_of(m->seg_grains) < CLASSES);
  m->small_class = mvff_small_template;
  m->small_class.size = sizeof(mvff_seg_t) + MAPS * m->map_words * sizeof(uint64_t);
  m->cache_grains = v[P_CACHE].size == 0 ? 0 : CACHE_BYTES >> m->shift;
  if (m->cache_grains > m->large_size >> m->shift)
    m->cache_grains = m->large_size >> m->shift;
  for (size_t g = m->min_free; g <= m->cache_grains; g++)
    m->cache_room[g] = v[P_CACHE].size / (g << m->shift);
  return KILN_OK;
}

static void mvff_finish(pool_t pool)
{
  ring_t *node, *nxt;
  POOL_SEGS(node, pool, nxt)
    seg_free(SEG_OF_RING(node));
  mvff_of(pool)->idle_seg = NULL;
}

static __attribute__((noinline)) kiln_res_t alloc_large(void **p_o, mvff_t *m, size_t size)
{
  seg_t seg;
  kiln_res_t res = seg_alloc(&seg, &m->pool, &mvff_large_class, size);
  if (res == KILN_LIMIT && m->idle_seg != NULL) {
    cache_flush(m); /* the idle segment's pages may be what the limit lacks */
    release_idle(m);
    res = seg_alloc(&seg, &m->pool, &mvff_large_class, size);
  }
  if (res != KILN_OK)
    return res;
  size_t bytes = size_align_up(size, m->grain);
  m->pool.st.in_use += bytes;
  m->pool.st.allocated += bytes;
  m->pool.arena->stats.allocated += bytes;
  *p_o = (void *)seg->base;
  return KILN_OK;
}

/* A free block of at least g granules from the store, flushing the cache or
   growing the pool if there is none. */
static kiln_res_t store_find(fblk_t **b_o, mvff_seg_t **vs_o, mvff_t *m, size_t g)
{
  fblk_t *b = find_block(m, g);
  if (b == NULL && m->cached > 0) {
    cache_flush(m); /* never grow while cached blocks could do */
    b = find_block(m, g);
  }
  if (b != NULL) {
    *b_o = b;
    *vs_o = vseg_of(arena_seg_of(m->pool.arena, b));
    return KILN_OK;
  }
  seg_t seg;
  kiln_res_t res = seg_alloc(&seg, &m->pool, &m->small_class, m->seg_bytes);
  if (res != KILN_OK)
    return res;
  mvff_seg_t *vs = vseg_of(seg); /* descriptor zeroed: no live block, edges clear */
  block_make_free(m, vs, 0, m->seg_grains);
  *b_o = (fblk_t *)(void *)seg->base;
  *vs_o = vs;
  return KILN_OK;
}

static void count_alloc(pool_t pool, size_t bytes)
{
  pool->st.in_use += bytes;
  pool->st.allocated += bytes;
  pool->arena->stats.allocated += bytes;
}

/* Allocate g granules from the store (no cached block of that size). Out of
   line, as are the other slow paths, so the cache paths in mvff_alloc and
   mvff_free stay small enough to need no saved registers. */
static __attribute__((noinline)) kiln_res_t alloc_store(void **p_o, mvff_t *m, size_t g)
{
  fblk_t *b;
  mvff_seg_t *vs;
  kiln_res_t res = store_find(&b, &vs, m, g);
  if (res != KILN_OK)
    return res;
  char *p = carve(m, vs, b, g);
  if (vs->live++ == 0 && vs == m->idle_seg)
    m->idle_seg = NULL;
  if (KILN_CHECKING) {
    size_t i = grain_index(m, vs, p);
    checked_alloc(m, vs, i, held(m, vs, i, g));
  }
  count_alloc(&m->pool, g << m->shift);
  *p_o = p;
  return KILN_OK;
}

static kiln_res_t mvff_alloc(void **p_o, pool_t pool, size_t size)
{
  mvff_t *m = mvff_of(pool);
  if (size > m->large_size)
    return alloc_large(p_o, m, size);
  size_t g = granules(m, size);
  if (g > m->cache_grains || m->cache[g] == NULL)
    return alloc_store(p_o, m, g);
  /* A cached block is live in its segment already, and never in the idle
     one: no descriptor to touch. */
  cblk_t *c = cache_pop(m, g);
  if (KILN_CHECKING) {
    size_t i = grain_index(m, c->vs, c);
    checked_alloc(m, c->vs, i, held(m, c->vs, i, g));
  }
  count_alloc(pool, g << m->shift);
  *p_o = c;
  return KILN_OK;
}

static __attribute__((noinline)) void free_large(mvff_t *m, seg_t seg, size_t size)
{
  m->pool.st.in_use -= size_align_up(size, m->grain);
  seg_free(seg);
}

/* Free the block p of g granules of vs into the store. If it was the
   segment's last live block (none cached then), the segment becomes one free
   block and the idle segment, and the one idle before is released. */
static __attribute__((noinline)) void free_store(mvff_t *m, mvff_seg_t *vs, void *p, size_t g)
{
  vs->live--;
  store_free(m, vs, grain_index(m, vs, p), g);
}

static __attribute__((noinline)) void free_flush(mvff_t *m) { cache_flush(m); }

static void mvff_free(pool_t pool, void *p, size_t size)
{
  mvff_t *m = mvff_of(pool);
  seg_t seg = arena_seg_of(pool->arena, p);
  if (KILN_CHECKING)
    check_free(m, seg, p, size);
  else if (seg == NULL || seg->pool != pool)
    return; /* not ours: ignoring it is safer than corrupting a free list */
  if (seg->klass != &m->small_class) {
    free_large(m, seg, size);
    if (m->cached_bytes > pool->st.in_use)
      free_flush(m);
    return;
  }
  mvff_seg_t *vs = vseg_of(seg);
  size_t g = granules(m, size);
  pool->st.in_use -= g << m->shift;
  if (KILN_CHECKING) {
    size_t i = grain_index(m, vs, p);
    checked_free(m, vs, i, g);
  }
  if (g <= m->cache_grains && m->cache_room[g] > 0)
    cache_push(m, p, g, vs);
  else
    free_store(m, vs, p, g);
  /* Cached blocks keep their segments alive: never more bytes of them than
     the pool has in use (so freeing everything gives the segments back). */
  if (m->cached_bytes > pool->st.in_use)
    free_flush(m);
}

/* Caches have one size class per granule up to the pool's own cache's
   largest block: class i holds blocks of max(i, min_free) granules, which
   free with any size of the class. */
static size_t mvff_cache_limit(pool_t pool, unsigned *shift_o)
{
  mvff_t *m = mvff_of(pool);
  *shift_o = m->shift;
  return m->large_size < CACHE_BYTES ? m->large_size : CACHE_BYTES;
}

const struct kiln_class_s pool_class_mvff = {
  .name = "mvff",
  .doc = "manual pool of variable-size blocks (segregated good fit, coalescing, with a cache)",
  .size = sizeof(mvff_t), .attr = CLASS_MANUAL, .params = mvff_params, .init = mvff_init,
  .finish = mvff_finish, .alloc = mvff_alloc, .free = mvff_free,
  .cache_limit = mvff_cache_limit};
