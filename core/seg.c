/* seg.c -- segments: page runs owned by one pool, mapped in the page table.
 *
 * seg_alloc takes pages from the arena, writes the segment into the page
 * table entry of each of its pages (so arena_seg_of is one load), and links
 * it into its pool. seg_free undoes exactly that. A segment of an automatic
 * pool starts with clean cards (see cards_clear).
 */
#include "config.h"
#include "seg.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

/* Only the trace reads cards, and only those of automatic pools' segments
   (scan_other_pools), so a segment of an automatic pool starts with clean
   cards and no other segment's cards are touched: a kiln_write into a
   manual block may leave a card dirty until the pages go to an automatic
   pool. The card table is reserved whole and only the pages written (or,
   where the kernel maps no shared zero page, read) become resident; clearing
   a manual segment's cards on every seg_free made a manual pool's teardown
   add 1/512 of its heap to the process's peak RSS (bench/README.md). This
   writes only if a card is dirty. */
static void cards_clear(uint8_t *cards, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (cards[i] != 0) {
      memset(cards + i, 0, n - i);
      return;
    }
}

kiln_res_t seg_alloc(seg_t *seg_o, pool_t pool, const seg_class_t *klass, size_t size)
{
  kiln_arena_t arena = pool->arena;
  size_t npages = (size + arena->page_size - 1) >> arena->page_shift;
  if (size == 0 || npages == 0 || npages > arena->pages)
    return arena_errorf(arena, KILN_LIMIT, "pool %s: segment of %zu bytes cannot fit the reservation",
                        pool->klass->name, size);
  seg_t seg = calloc(1, klass->size);
  if (seg == NULL)
    return arena_errorf(arena, KILN_MEMORY, "pool %s: no memory for a segment descriptor",
                        pool->klass->name);
  /* Zones keep nurseries apart from older data, so a minor collection's
     white set (the nursery's zones) rarely matches an older segment's
     summary and KILN_FIX1 rejects references to old objects at once. */
  uint64_t allow = pool_seg_zones(pool);
  uintptr_t base;
  kiln_res_t res = arena_pages_alloc(&base, arena, npages, allow != 0 ? allow : ZONES_ALL);
  if (res != KILN_OK) {
    free(seg);
    return res;
  }
  seg->sig = SIG_SEG;
  seg->base = base;
  seg->limit = base + (npages << arena->page_shift);
  seg->pool = pool;
  seg->klass = klass;
  seg->summary = ZONES_ALL;
  size_t first = (base - arena->base) >> arena->page_shift;
  for (size_t i = 0; i < npages; i++)
    arena->page_table[first + i] = seg;
  if (pool->klass->attr & CLASS_AUTO) {
    size_t n;
    uint8_t *cards = arena_cards(arena, seg->base, seg->limit, &n);
    cards_clear(cards, n);
  }
  ring_append(&pool->segs, &seg->pool_ring);
  pool->st.committed += seg_size(seg);
  pool->st.segments++;
  arena->segments++;
  *seg_o = seg;
  return KILN_OK;
}

void seg_check(seg_t seg)
{
  CHECK_RULE(seg != NULL && seg->sig == SIG_SEG, "segment", seg, "'sig is SIG_SEG'");
  CHECK_RULE(seg->klass != NULL && seg->pool != NULL && seg->pool->sig == SIG_POOL, "segment",
             seg, "'it has a class and a live pool'");
  kiln_arena_t arena = seg->pool->arena;
  uintptr_t page = (uintptr_t)1 << arena->page_shift;
  CHECK_RULE(seg->base < seg->limit && ((seg->base | seg->limit) & (page - 1)) == 0, "segment",
             seg, "'base < limit, both on page boundaries'");
  CHECK_RULE(arena_seg_of(arena, (void *)seg->base) == seg &&
                 arena_seg_of(arena, (void *)(seg->limit - 1)) == seg,
             "segment", seg, "'the page table maps its first and last page to it'");
  CHECK_RULE((!seg->white && !seg->grey_lost) || arena->trace != NULL, "segment", seg,
             "'white and grey_lost only during a trace'");
}

void seg_free(seg_t seg)
{
  KILN_ASSERT(seg != NULL && seg->sig == SIG_SEG);
  pool_t pool = seg->pool;
  kiln_arena_t arena = pool->arena;
  size_t npages = seg_size(seg) >> arena->page_shift;
  size_t first = (seg->base - arena->base) >> arena->page_shift;
  for (size_t i = 0; i < npages; i++)
    arena->page_table[first + i] = NULL;
  if (KILN_CHECKING)
    memset((void *)seg->base, KILN_POISON_BYTE, seg_size(seg));
  ring_remove(&seg->pool_ring);
  pool->st.committed -= seg_size(seg);
  pool->st.segments--;
  arena->segments--;
  arena_pages_free(arena, seg->base, npages);
  seg->sig = SIG_DEAD;
  free(seg);
}
