/* remset.c -- the remembered set as the trace reads it: segment summaries
 * and the card table.
 *
 * Owns: scanning the segments of automatic pools that are not condemned
 * (all of a segment when its summary meets the white zones, else only its
 * dirty cards), the dirty cards of a sticky pool's own segments in its
 * minor collection, which cards a scan may clean, keeping an old-to-young
 * reference remembered by a dirty card, and finding runs of dirty cards.
 *
 * A card's byte is 0 (clean), 1 (dirty) or CARD_KEPT (dirty for everything
 * but an incremental collection's final pause).
 * Invariant: with the barrier on, a segment that is not condemned refers
 * into the white set only if its summary meets the white zones or the
 * reference lies under a dirty card; with the barrier off, every such
 * segment is scanned whole.
 * Invariant: the dirty cards over a sticky pool's segments are cleaned only
 * by that pool's own collections.
 */
#include "config.h"
#include "trace.h"

#include <string.h>

/* Old-to-young references that outlive a collection (their young object
   was pinned, or aged in a survivor space) must be found again by the next
   minor collection. In an older segment they are remembered by a dirty
   card overlapping the object that holds them -- the scan of a card covers
   every object overlapping it (seg.h, scan_range) -- and not by a nursery
   zone in the segment's summary: a summary that meets the nursery's zones
   makes the next minor collection scan the whole segment.
   found: the zones recorded by scanning the objects overlapping [lo, hi)
   of seg. Returns them minus the nursery zones when cards remember those.
   A nursery's own segments are condemned with it, so need neither. */
uint64_t remset_remember_cards(kiln_arena_t arena, seg_t seg, uintptr_t lo, uintptr_t hi,
                               uint64_t found, int shared)
{
  if (seg->pool->klass->attr & CLASS_NURSERY)
    return found;
  if (!shared) {
    arena_dirty_cards(arena, lo, hi);
  } else { /* a marker: others may dirty the same cards at once */
    size_t n;
    uint8_t *c = arena_cards(arena, lo, hi, &n);
    for (size_t i = 0; i < n; i++)
      __atomic_store_n(&c[i], 1, __ATOMIC_RELAXED);
  }
  return found & ~arena->nursery_zones;
}

uint8_t *remset_seg_cards(kiln_arena_t arena, seg_t seg, size_t *n_o)
{
  return arena_cards(arena, seg->base, seg->limit, n_o);
}

/* A word at a time: every minor collection asks this of every segment. */
int remset_seg_dirty(kiln_arena_t arena, seg_t seg)
{
  size_t n, i = 0;
  const uint8_t *c = remset_seg_cards(arena, seg, &n);
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, c + i, sizeof w);
    if (w != 0)
      return 1;
  }
  for (; i < n; i++)
    if (c[i])
      return 1;
  return 0;
}

/* The dirty cards over a sticky pool's segments are also that pool's own
   remembered set (remset_scan_sticky_cards), which no collection that leaves the
   pool uncondemned can judge: it sees only references into its white set,
   so cleaning them would forget the pool's old-to-young references
   (kiln_write's, or those of an object ms_promote made old) before its
   next minor collection. Only the pool's own collections clean them, and
   not at an incremental one's final pause: objects allocated during it
   stay young, and a store may have made an old or black object refer to
   one (the next minor collection scans those cards again). */
static int cards_cleanable(const ss_t *ss, seg_t seg)
{
  return !pool_sticky(seg->pool) || (seg->white && !ss->trace->keep_cards);
}

/* A card's byte: 0 clean, 1 dirty (kiln_write, remset_remember_young), or
   CARD_KEPT: an incremental collection scanned it before its final pause
   (inc_scan_run) and found an old object there referring to an object
   allocated since it started, so the card is the next minor collection's
   remembered set; nothing was written there since, so the final pause
   need not scan it. To everything else it is dirty. fresh: only 1. */
#define CARD_KEPT 2
static int card_wanted(uint8_t c, int fresh) { return fresh ? c == 1 : c != 0; }

/* The final pause of an incremental collection rescans only the cards of
   its pool written since they were last scanned. */
static int fresh_only(const ss_t *ss, seg_t seg)
{
  return ss->trace->keep_cards && seg->pool == ss->arena->inc_pool;
}

/* The first run [*i_o, *j_o) of wanted cards at or after card from of
   c[0..n); 0 if there is none. */
int remset_card_run(const uint8_t *c, size_t n, size_t from, int fresh, size_t *i_o,
                    size_t *j_o)
{
  size_t i = from;
  while (i < n && !card_wanted(c[i], fresh))
    i++;
  if (i == n)
    return 0;
  size_t j = i;
  while (j < n && card_wanted(c[j], fresh))
    j++;
  *i_o = i;
  *j_o = j;
  return 1;
}

/* Scan the objects under each run of dirty cards, cleaning them (see
   cards_cleanable). The cards are the remembered set: a store through
   kiln_write dirtied them. */
static kiln_res_t scan_dirty_cards(kiln_arena_t arena, ss_t *ss, seg_t seg)
{
  size_t n, i = 0, j = 0;
  uint8_t *c = remset_seg_cards(arena, seg, &n);
  unsigned shift = arena->head.card_shift;
  int clean = cards_cleanable(ss, seg), fresh = fresh_only(ss, seg);
  for (size_t from = 0; remset_card_run(c, n, from, fresh, &i, &j); from = j) {
    if (clean)
      memset(c + i, 0, j - i);
    uintptr_t lo = seg->base + (i << shift), hi = seg->base + (j << shift);
    uint64_t before = ss->summary;
    ss->summary = 0;
    kiln_res_t res = seg->klass->scan_range(seg, &ss->pub, lo, hi);
    /* A run still holding old-to-young references stays dirty, all of it:
       its next scan covers the same objects. */
    ss->summary = before | remset_remember_young(arena, seg, lo, hi, ss->summary, 0);
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

/* A segment not condemned may still point into the white set. Its summary
   covers what it held when last scanned; writes since then dirtied cards
   (or, with no barrier, anything may have changed). Scan the whole segment
   if the summary meets the white set, else only its dirty cards. */
static kiln_res_t scan_other_seg(kiln_arena_t arena, ss_t *ss, seg_t seg)
{
  if (KILN_CHECKING)
    seg_check(seg);
  int whole = !arena->barrier || (seg->summary & ss->pub.white) != 0;
  int dirty = arena->barrier && remset_seg_dirty(arena, seg);
  if (!whole && !dirty)
    return KILN_OK;
  ss->summary = 0;
  ss->rank = KILN_RANK_EXACT;
  kiln_res_t res;
  if (whole || seg->klass->scan_range == NULL) {
    if (dirty && cards_cleanable(ss, seg)) { /* before the scan, which may dirty some
                                             again (remset_remember_young) */
      size_t n;
      uint8_t *cards = remset_seg_cards(arena, seg, &n);
      memset(cards, 0, n);
    }
    res = seg->klass->scan(seg, &ss->pub);
  } else {
    res = scan_dirty_cards(arena, ss, seg);
  }
  /* Fixing shows only references into the white zones; the rest of the
     old summary stands, except that a written segment may now refer
     anywhere outside them (MPS's summary rule). */
  seg->summary = ((dirty ? ZONES_ALL : seg->summary) & ~ss->pub.white) | ss->summary;
  return res;
}

kiln_res_t remset_scan_other_pools(kiln_arena_t arena, ss_t *ss, pool_t only)
{
  ring_t *pn, *px, *sn, *sx;
  RING_FOR(pn, &arena->pools, px) {
    pool_t pool = CONTAINER(pn, struct kiln_pool_s, arena_ring);
    if (!(pool->klass->attr & CLASS_AUTO) || pool_condemned(pool, only))
      continue;
    POOL_SEGS(sn, pool, sx) {
      kiln_res_t res = scan_other_seg(arena, ss, SEG_OF_RING(sn));
      if (res != KILN_OK)
        return res;
    }
  }
  return KILN_OK;
}

/* A minor collection of a sticky pool (pool.h) leaves the objects that
   survived earlier collections marked and unscanned: those written since,
   under the dirty cards of the pool's own segments, are its remembered
   set. Its scan_range of a white segment skips the young objects there
   (they are scanned if reached, and freed if not). Cleaning those cards
   forgets their references into other pools' segments that share this
   pool's (white) zones, which reclaim's widening of the summary does not
   restore: what the scan found goes into the segment's summary. */
kiln_res_t remset_scan_sticky_cards(kiln_arena_t arena, ss_t *ss, pool_t pool)
{
  if (!pool_sticky(pool) || !arena->barrier)
    return KILN_OK;
  ss->rank = KILN_RANK_EXACT;
  ring_t *sn, *sx;
  POOL_SEGS(sn, pool, sx) {
    seg_t seg = SEG_OF_RING(sn);
    if (seg->klass->scan_range == NULL || !remset_seg_dirty(arena, seg))
      continue;
    ss->summary = 0;
    kiln_res_t res = scan_dirty_cards(arena, ss, seg);
    seg->summary |= ss->summary;
    if (res != KILN_OK)
      return res;
  }
  return KILN_OK;
}

/* Objects overlapping [lo, hi) that will be old after the incremental
   collection under way refer to ones allocated during it (young for the
   next): remember them, CARD_KEPT unless written again meanwhile. A run's
   scan (inc_scan_run) finds such references in objects marked by then; a
   young object under a card a pre-clean cleaned is skipped there and may
   be reached, and scanned by scan_grey, only later
   (fuzz/regress/api/inc-preclean-young-holder). */
void remset_keep_cards(kiln_arena_t arena, uintptr_t lo, uintptr_t hi)
{
  size_t n;
  uint8_t *c = arena_cards(arena, lo, hi, &n);
  for (size_t i = 0; i < n; i++)
    c[i] = c[i] ? c[i] : CARD_KEPT;
}
