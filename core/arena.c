/* arena.c -- the arena: reservation, page table, free page runs, commit
 * accounting, errors and arena parameters.
 *
 * Pages are handed out first-fit by address from an address-ordered list of
 * free runs (neighbours coalesce on free). Its cost is O(free runs), which
 * stays small because segments are large and low addresses are reused first.
 * Pages are committed on allocation; free pages stay committed up to `spare`
 * bytes, beyond which the run just freed is decommitted (so spare_committed
 * <= spare holds after every free).
 */
#include "config.h"
#include "arena.h"
#include "final.h"
#include "param.h"
#include "pin.h"
#include "pool.h"
#include "record.h"
#include "trace.h"
#include "vm.h"
#include "weak.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct freerun_s {
  freerun_t *next;
  size_t first, count;   /* page index and number of pages */
};

enum { AP_RESERVE, AP_COMMIT_LIMIT, AP_SPARE, AP_BARRIER, AP_CARD_SIZE, AP_GROWTH, AP_STRESS,
       AP_BUDGET_MIN, AP_HEAP_POLICY, AP_HEAP_SIZE, AP_HEAP_BALANCE, AP_RECORD, AP_MARKERS,
       AP_MARKERS_AFTER, AP_COUNT };

static const char *const heap_policies[] = {"growable", "fixed", "adaptive", NULL};

/* The checked build wakes the markers at a collection's first grey object
   and has two at least, so that every test's collections mark in
   parallel and a scan function that is not reentrant shows there. */
#if KILN_CHECKING
#define MARKERS_AFTER_DEFAULT "0"
#define MARKERS_LEAST 2
#else
#define MARKERS_AFTER_DEFAULT "256KB"
#define MARKERS_LEAST 1
#endif

static const kiln_param_t arena_params[] = {
  {"reserve", KILN_ARGT_SIZE, "16GB", 1 << 20, 64.0 * (1ull << 40),
   "address space reserved up front (committed lazily)"},
  {"commit_limit", KILN_ARGT_SIZE, "0", 0, 0, "most bytes of memory committed at once (0: no limit)"},
  {"spare", KILN_ARGT_SIZE, "64MB", 0, 0,
   "free memory kept committed for reuse before it is returned to the OS (growable and "
   "adaptive heaps return what their next cycle will not use after each full collection)"},
  {"barrier", KILN_ARGT_STR, "card", 0, 0, "\"card\" (client calls kiln_write) or \"none\""},
  {"card_size", KILN_ARGT_SIZE, "512", 64, 65536, "bytes per card of the write barrier (power of 2)"},
  {"growth", KILN_ARGT_NUM, "1.5", 1.05, 1000,
   "growable heap: collect when the heap reaches growth x live (live + budget_min at least); "
   "free memory beyond that is returned to the OS"},
  {"stress", KILN_ARGT_SIZE, "0", 0, 0,
   "collect at every Nth allocation slow path, minor collections of the young generations "
   "and full collections in turn (0: off)"},
  {"budget_min", KILN_ARGT_SIZE, "4MB", 0, 0,
   "least allocation between automatic collections (growable and adaptive heaps)"},
  {"heap_policy", KILN_ARGT_STR, "growable", 0, 0,
   "\"growable\" (growth x live), \"fixed\" (heap_size bytes at most) or \"adaptive\" "
   "(sized from the allocation rate and collection speed; memory returned as live falls)"},
  {"heap_size", KILN_ARGT_SIZE, "0", 0, 0,
   "fixed heap: most bytes committed; a heap that cannot fit gets KILN_LIMIT"},
  {"heap_balance", KILN_ARGT_SIZE, "64MB", 1 << 16, 0,
   "adaptive heap: the live size whose extra room equals it when collection is as fast as "
   "allocation; the extra grows as the square root of live x heap_balance"},
  {"record", KILN_ARGT_STR, "", 0, 0,
   "write a trace of every commit, reference change and collection to this file, for "
   "`kiln replay` (\"\": off; KILN_RECORD in the environment names one too)"},
  {"markers", KILN_ARGT_SIZE, "0", 0, MARKERS_MAX,
   "threads that mark a collection's objects at once, the collecting thread included "
   "(0: one per core, up to 8)"},
  {"markers_after", KILN_ARGT_SIZE, MARKERS_AFTER_DEFAULT, 0, 0,
   "bytes a collection scans on the collecting thread before the other markers join it "
   "(waking them costs more than a small collection's marking)"},
  {NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};

const kiln_param_t *kiln_arena_params(void) { return arena_params; }

static _Thread_local char tls_error[ARENA_ERROR_MAX];

kiln_res_t kiln_set_error(kiln_res_t res, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tls_error, sizeof tls_error, fmt, ap);
  va_end(ap);
  return res;
}

kiln_res_t arena_errorf(kiln_arena_t arena, kiln_res_t res, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(arena->error, sizeof arena->error, fmt, ap);
  va_end(ap);
  memcpy(tls_error, arena->error, sizeof tls_error);
  return res;
}

kiln_res_t kiln_arena_set_error(kiln_arena_t arena, kiln_res_t res, const char *sentence)
{
  if (sentence == NULL)
    sentence = "(no sentence given)";
  if (arena == NULL || arena->sig != SIG_ARENA)
    return kiln_set_error(res, "%s", sentence);
  return arena_errorf(arena, res, "%s", sentence);
}

const char *kiln_arena_error(kiln_arena_t arena)
{
  if (arena == NULL)
    return tls_error;
  if (arena->sig != SIG_ARENA)
    return "kiln_arena_error: not an arena (destroyed, or not made by kiln_arena_create)";
  return arena->error;
}

int arena_check(kiln_arena_t arena)
{
  return arena != NULL && arena->sig == SIG_ARENA && arena->base < arena->limit &&
         arena->committed <= arena->reserve;
}

static int is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

static unsigned log2_size(size_t x)
{
  unsigned s = 0;
  while (((size_t)1 << s) < x)
    s++;
  return s;
}

static int heap_policy_index(const char *name)
{
  for (int i = 0; heap_policies[i] != NULL; i++)
    if (strcmp(heap_policies[i], name) == 0)
      return i;
  return -1;
}

/* heap_size belongs to a fixed heap, which needs it. */
static kiln_res_t check_heap_params(const pval_t *v, size_t page)
{
  const char *policy = v[AP_HEAP_POLICY].str;
  int which = heap_policy_index(policy);
  if (which < 0) {
    const char *near = kiln_nearest_name(policy, heap_policies, 3);
    return kiln_set_error(KILN_PARAM, "arena: parameter 'heap_policy' is '%s' (valid: 'growable', "
                          "'fixed', 'adaptive')%s%s%s", policy, near ? "; did you mean '" : "",
                          near ? near : "", near ? "'?" : "");
  }
  size_t size = v[AP_HEAP_SIZE].size;
  if (which == HEAP_FIXED && size < 16 * page)
    return kiln_set_error(KILN_PARAM, "arena: heap_policy 'fixed' needs parameter 'heap_size' "
                          "(bytes, at least 16 pages: %zu), got %zu", 16 * page, size);
  if (which != HEAP_FIXED && size != 0)
    return kiln_set_error(KILN_PARAM, "arena: parameter 'heap_size' applies to heap_policy "
                          "'fixed' only, and heap_policy is '%s'", policy);
  return KILN_OK;
}

/* Check what param_resolve cannot: enumerations and relations. */
static kiln_res_t arena_check_params(const pval_t *v, size_t page)
{
  if (strcmp(v[AP_BARRIER].str, "card") != 0 && strcmp(v[AP_BARRIER].str, "none") != 0)
    return kiln_set_error(KILN_PARAM, "arena: parameter 'barrier' is '%s' (valid: 'card', 'none'%s)",
                          v[AP_BARRIER].str,
                          strcmp(v[AP_BARRIER].str, "protect") == 0 ? "; 'protect' is not built yet" : "");
  if (!is_pow2(v[AP_CARD_SIZE].size))
    return kiln_set_error(KILN_PARAM, "arena: parameter 'card_size' is %zu, not a power of two",
                          v[AP_CARD_SIZE].size);
  if (v[AP_COMMIT_LIMIT].size != 0 && v[AP_COMMIT_LIMIT].size < page)
    return kiln_set_error(KILN_PARAM, "arena: parameter 'commit_limit' is %zu, less than one page (%zu)",
                          v[AP_COMMIT_LIMIT].size, page);
  return check_heap_params(v, page);
}

static kiln_res_t arena_map_tables(kiln_arena_t a)
{
  size_t pt = size_align_up(a->pages * sizeof(seg_t), a->page_size);
  size_t cm = size_align_up(a->pages, a->page_size);
  size_t ct = size_align_up((a->limit - a->base) >> a->head.card_shift, a->page_size);
  /* Tables are reserved whole and committed whole; the OS backs only the
     pages that are touched, so a 16 GiB arena's tables cost little. */
  a->page_table = vm_reserve(pt);
  a->committed_map = vm_reserve(cm);
  a->head.cards = vm_reserve(ct);
  a->card_table_size = ct;
  if (a->page_table == NULL || a->committed_map == NULL || a->head.cards == NULL ||
      vm_commit(a->page_table, pt) || vm_commit(a->committed_map, cm) || vm_commit(a->head.cards, ct))
    return KILN_MEMORY;
  return KILN_OK;
}

static void arena_unmap_tables(kiln_arena_t a)
{
  if (a->page_table)
    vm_release(a->page_table, size_align_up(a->pages * sizeof(seg_t), a->page_size));
  if (a->committed_map)
    vm_release(a->committed_map, size_align_up(a->pages, a->page_size));
  if (a->head.cards)
    vm_release(a->head.cards, a->card_table_size);
}

static void arena_set_params(kiln_arena_t a, const pval_t *v)
{
  a->reserve = size_align_up(v[AP_RESERVE].size, a->page_size);
  a->commit_limit = v[AP_COMMIT_LIMIT].size;
  a->spare = v[AP_SPARE].size;
  a->barrier = strcmp(v[AP_BARRIER].str, "card") == 0;
  a->card_size = v[AP_CARD_SIZE].size;
  a->growth = v[AP_GROWTH].num;
  a->stress = v[AP_STRESS].size;
  a->budget_min = v[AP_BUDGET_MIN].size;
  a->heap_policy = heap_policy_index(v[AP_HEAP_POLICY].str);
  a->heap_size = v[AP_HEAP_SIZE].size;
  a->heap_balance = v[AP_HEAP_BALANCE].size;
  a->markers = v[AP_MARKERS].size != 0 ? (unsigned)v[AP_MARKERS].size
               : vm_cores() > MARKERS_LEAST ? vm_cores() : MARKERS_LEAST;
  a->markers_after = v[AP_MARKERS_AFTER].size;
  /* A fixed heap is a commit limit that collections work to stay under. */
  if (a->heap_policy == HEAP_FIXED && (a->commit_limit == 0 || a->heap_size < a->commit_limit))
    a->commit_limit = a->heap_size;
  a->budget = a->heap_policy == HEAP_FIXED ? a->heap_size : a->budget_min;
  a->head.card_shift = log2_size(a->card_size);
  a->page_shift = log2_size(a->page_size);
}

/* The trace file: the parameter's, or else KILN_RECORD's, where the
   process's first arena records into the file named and the nth into
   that name with ".n" appended, so arenas never overwrite each other. */
static kiln_res_t arena_start_recording(kiln_arena_t a, const char *param)
{
  static atomic_uint env_arenas;
  const char *env = getenv("KILN_RECORD");
  if (param[0] != '\0')
    return record_open(a, param);
  if (env == NULL || env[0] == '\0')
    return KILN_OK;
  unsigned n = atomic_fetch_add(&env_arenas, 1) + 1;
  if (n == 1)
    return record_open(a, env);
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s.%u", env, n) >= sizeof path)
    return kiln_set_error(KILN_PARAM, "arena: KILN_RECORD is too long a file name");
  return record_open(a, path);
}

kiln_res_t kiln_arena_create(kiln_arena_t *arena_o, const kiln_arg_t args[])
{
  pval_t v[AP_COUNT];
  char err[ARENA_ERROR_MAX];
  if (arena_o == NULL)
    return kiln_set_error(KILN_PARAM, "kiln_arena_create: arena_o is NULL");
  if (param_resolve(v, arena_params, args, "arena", NULL, err, sizeof err) != KILN_OK)
    return kiln_set_error(KILN_PARAM, "%s", err);
  size_t page = vm_page_size();
  kiln_res_t res = arena_check_params(v, page);
  if (res != KILN_OK)
    return res;
  kiln_arena_t a = calloc(1, sizeof *a);
  if (a == NULL)
    return kiln_set_error(KILN_MEMORY, "arena: out of memory for the arena descriptor");
  a->page_size = page;
  arena_set_params(a, v);
  void *base = vm_reserve_aligned(a->reserve, (size_t)1 << ZONE_SHIFT);
  if (base == NULL) {
    size_t want = a->reserve;
    free(a);
    return kiln_set_error(KILN_MEMORY, "arena: the OS refused to reserve %zu bytes of address space",
                          want);
  }
  a->base = a->head.base = (uintptr_t)base;
  a->limit = a->head.limit = a->base + a->reserve;
  a->pages = a->reserve >> a->page_shift;
  if (arena_map_tables(a) != KILN_OK)
    goto fail_tables;
  a->free_runs = malloc(sizeof *a->free_runs);
  if (a->free_runs == NULL)
    goto fail_tables;
  a->free_runs->next = NULL;
  a->free_runs->first = 0;
  a->free_runs->count = a->pages;
  ring_init(&a->pools); ring_init(&a->fmts); ring_init(&a->roots);
  ring_init(&a->threads); ring_init(&a->aps); ring_init(&a->graves);
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&a->lock, &attr);
  pthread_mutexattr_destroy(&attr);
  a->sig = SIG_ARENA;
  if ((res = arena_start_recording(a, v[AP_RECORD].str)) != KILN_OK) {
    kiln_arena_destroy(a);
    return res;
  }
  *arena_o = a;
  return KILN_OK;

fail_tables:
  arena_unmap_tables(a);
  vm_release(base, a->reserve);
  free(a);
  return kiln_set_error(KILN_MEMORY, "arena: the OS refused memory for the page tables");
}

void kiln_arena_destroy(kiln_arena_t arena)
{
  if (arena == NULL)
    return;
  if (api_handle(arena, arena->sig, SIG_ARENA, "kiln_arena_destroy", "arena", 1) != KILN_OK)
    return;
  if (arena->collecting) {
    api_misuse("kiln_arena_destroy: arena %p is collecting; destroy it after the collection, "
               "not from a scan or skip function", (void *)arena);
    return;
  }
  (void)trace_inc_abandon(arena); /* no final pause (nor client scans) at teardown */
  mark_stop(arena);
  arena_destroy_children(arena);
  record_close(arena);
  arena_free_graves(arena);
  pin_finish(arena);
  final_finish(arena);
  for (freerun_t *r = arena->free_runs, *n; r != NULL; r = n) {
    n = r->next;
    free(r);
  }
  free(arena->grey);
  free(arena->stopped);
  pthread_mutex_destroy(&arena->lock);
  weak_finish(arena);
  arena_unmap_tables(arena);
  vm_release((void *)arena->base, arena->reserve);
  arena->sig = SIG_DEAD;
  free(arena);
}

/* ---- committing ------------------------------------------------------- */

static size_t uncommitted_pages(kiln_arena_t a, size_t first, size_t count)
{
  size_t n = 0;
  for (size_t i = first; i < first + count; i++)
    n += !a->committed_map[i];
  return n;
}

static int commit_pages(kiln_arena_t a, size_t first, size_t count)
{
  size_t i = first, end = first + count;
  while (i < end) {
    while (i < end && a->committed_map[i])
      i++;
    size_t j = i;
    while (j < end && !a->committed_map[j])
      j++;
    if (j > i) {
      if (vm_commit((void *)(a->base + (i << a->page_shift)), (j - i) << a->page_shift) != 0)
        return -1;
      memset(a->committed_map + i, 1, j - i);
      a->committed += (j - i) << a->page_shift;
    }
    i = j;
  }
  return 0;
}

/* Decommit the committed pages of a free run. */
static void decommit_run(kiln_arena_t a, size_t first, size_t count)
{
  size_t i = first, end = first + count;
  while (i < end) {
    while (i < end && !a->committed_map[i])
      i++;
    size_t j = i;
    while (j < end && a->committed_map[j])
      j++;
    if (j > i) {
      vm_decommit((void *)(a->base + (i << a->page_shift)), (j - i) << a->page_shift);
      memset(a->committed_map + i, 0, j - i);
      a->prefaulted = 0;
      a->committed -= (j - i) << a->page_shift;
      a->spare_committed -= (j - i) << a->page_shift;
    }
    i = j;
  }
}

static void decommit_all_spare(kiln_arena_t a)
{
  for (freerun_t *r = a->free_runs; r != NULL && a->spare_committed > 0; r = r->next)
    decommit_run(a, r->first, r->count);
}

/* Keeps the lowest committed free pages, where first fit places the next
   segments, so the pages kept are the ones allocation reuses. Stops once
   every committed free page is kept or decommitted, so the uncommitted
   rest of the reservation is never walked. */
void arena_trim_spare(kiln_arena_t a, size_t keep)
{
  size_t kept = 0;
  for (freerun_t *r = a->free_runs; r != NULL && a->spare_committed > keep &&
                                    a->spare_committed > kept; r = r->next) {
    size_t i = r->first, end = r->first + r->count;
    while (i < end && a->spare_committed > kept) {
      while (i < end && !a->committed_map[i])
        i++;
      size_t j = i;
      while (j < end && a->committed_map[j] && kept < keep) {
        kept += a->page_size;
        j++;
      }
      i = j;
      while (j < end && a->committed_map[j])
        j++;
      decommit_run(a, i, j - i);
      i = j;
    }
  }
}

/* ---- page runs -------------------------------------------------------- */

static kiln_res_t limit_reached(kiln_arena_t a, size_t more)
{
  if (a->heap_policy == HEAP_FIXED && a->commit_limit == a->heap_size)
    return arena_errorf(a, KILN_LIMIT, "arena: the fixed heap is full: heap_size is %zu bytes, "
                        "%zu are committed and %zu more are needed; raise "
                        "heap_size or hold fewer objects", a->heap_size, a->committed, more);
  return arena_errorf(a, KILN_LIMIT,
                      "arena: commit limit of %zu bytes reached (%zu committed, %zu more needed)",
                      a->commit_limit, a->committed, more);
}

/* Take [first, first+npages) out of run *link, committing it. The run may
   be split in two when the pages come from its middle (zone placement). */
static kiln_res_t take_pages(kiln_arena_t a, freerun_t **link, size_t first, size_t npages,
                             uintptr_t *base_o)
{
  freerun_t *r = *link, *tail = NULL;
  size_t pre = first - r->first, post = r->first + r->count - (first + npages);
  size_t extra = uncommitted_pages(a, first, npages);
  if (a->commit_limit != 0 && a->committed + (extra << a->page_shift) > a->commit_limit) {
    decommit_all_spare(a);
    extra = uncommitted_pages(a, first, npages);
    if (a->committed + (extra << a->page_shift) > a->commit_limit)
      return limit_reached(a, extra << a->page_shift);
  }
  if (pre > 0 && post > 0 && (tail = malloc(sizeof *tail)) == NULL)
    return arena_errorf(a, KILN_MEMORY, "arena: no memory for a free-run node");
  size_t spare_before = (npages - extra) << a->page_shift;
  if (commit_pages(a, first, npages) != 0) {
    free(tail);
    return arena_errorf(a, KILN_MEMORY, "arena: the OS refused to commit %zu bytes",
                        npages << a->page_shift);
  }
  a->spare_committed -= spare_before;
  a->prefaulted = 0;
  if (tail != NULL) {
    tail->first = first + npages;
    tail->count = post;
    tail->next = r->next;
    r->next = tail;
    r->count = pre;
  } else if (pre > 0) {
    r->count = pre;
  } else if (post > 0) {
    r->first += npages;
    r->count -= npages;
  } else {
    *link = r->next;
    free(r);
  }
  *base_o = a->base + (first << a->page_shift);
  return KILN_OK;
}

/* The first page of run r where npages fit inside the allowed zones, or
   (size_t)-1. Skips whole zone stripes, so it costs O(stripes in the run). */
static size_t zone_fit(kiln_arena_t a, const freerun_t *r, size_t npages, uint64_t allow)
{
  size_t p = r->first, end = r->first + r->count;
  if (allow == ZONES_ALL)
    return npages <= r->count ? p : (size_t)-1;
  while (p + npages <= end) {
    uintptr_t lo = a->base + (p << a->page_shift), hi = lo + (npages << a->page_shift);
    if ((zones_of_range(lo, hi) & ~allow) == 0)
      return p;
    uintptr_t stripe = lo >> ZONE_SHIFT;
    while ((allow >> (stripe & 63)) & 1)
      stripe++;
    p = (((stripe + 1) << ZONE_SHIFT) - a->base) >> a->page_shift;
  }
  return (size_t)-1;
}

kiln_res_t arena_pages_alloc(uintptr_t *base_o, kiln_arena_t a, size_t npages, uint64_t allow)
{
  if (npages == 0 || npages > a->pages)
    return arena_errorf(a, KILN_LIMIT, "arena: %zu pages asked for, reservation has %zu", npages,
                        a->pages);
  /* Committed free pages first: reusing them costs no page faults and
     keeps the spare from being left idle while fresh pages are committed. */
  if (a->spare_committed >= npages << a->page_shift)
    for (freerun_t **link = &a->free_runs; *link != NULL; link = &(*link)->next) {
      size_t first = zone_fit(a, *link, npages, allow);
      if (first != (size_t)-1 && uncommitted_pages(a, first, npages) == 0)
        return take_pages(a, link, first, npages, base_o);
    }
  for (freerun_t **link = &a->free_runs; *link != NULL; link = &(*link)->next) {
    size_t first = zone_fit(a, *link, npages, allow);
    if (first != (size_t)-1)
      return take_pages(a, link, first, npages, base_o);
  }
  if (allow != ZONES_ALL) /* a preference, not a rule */
    return arena_pages_alloc(base_o, a, npages, ZONES_ALL);
  return arena_errorf(a, KILN_LIMIT,
                      "arena: reservation of %zu bytes is full (no run of %zu free pages)",
                      a->reserve, npages);
}

/* Insert [first, first+count) into the address-ordered list, merging with
   neighbours; returns the run that now holds it. */
static freerun_t *insert_run(kiln_arena_t a, size_t first, size_t count)
{
  freerun_t **link = &a->free_runs, *prev = NULL;
  while (*link != NULL && (*link)->first < first) {
    prev = *link;
    link = &(*link)->next;
  }
  freerun_t *next = *link;
  if (prev != NULL && prev->first + prev->count == first) {
    prev->count += count;
    if (next != NULL && prev->first + prev->count == next->first) {
      prev->count += next->count;
      prev->next = next->next;
      free(next);
    }
    return prev;
  }
  if (next != NULL && first + count == next->first) {
    next->first = first;
    next->count += count;
    return next;
  }
  freerun_t *r = malloc(sizeof *r);
  if (r == NULL)
    return NULL;
  r->first = first;
  r->count = count;
  r->next = next;
  *link = r;
  return r;
}

void arena_pages_free(kiln_arena_t a, uintptr_t base, size_t npages)
{
  size_t first = (base - a->base) >> a->page_shift;
  a->spare_committed += npages << a->page_shift;
  freerun_t *r = insert_run(a, first, npages);
  if (r == NULL) {
    /* No memory for a list node: give the pages back to the OS at least.
       They stay reserved but unreachable, which only wastes address space. */
    decommit_run(a, first, npages);
    return;
  }
  /* spare_committed <= spare held before this free, so returning just these
     pages restores it; decommitting the whole merged run would scan one
     byte per page of what may be most of the reservation. */
  if (a->spare_committed > a->spare)
    decommit_run(a, first, npages);
}

uint64_t zones_of_range(uintptr_t base, uintptr_t limit)
{
  if (limit <= base)
    return 0;
  if (((limit - 1) >> ZONE_SHIFT) - (base >> ZONE_SHIFT) >= 63)
    return ZONES_ALL;
  uint64_t z = 0;
  for (uintptr_t s = base >> ZONE_SHIFT; s <= (limit - 1) >> ZONE_SHIFT; s++)
    z |= (uint64_t)1 << (s & 63);
  return z;
}

/* ---- prefaulting ------------------------------------------------------- */

static int page_allowed(kiln_arena_t a, size_t page, uint64_t allow)
{
  return (allow >> (((a->base + (page << a->page_shift)) >> ZONE_SHIFT) & 63)) & 1;
}

/* Commit and fault in [first, first+n), all free and uncommitted, if spare
   and commit_limit allow. Returns 0 when they do not (or the OS refused). */
static int prefault_pages(kiln_arena_t a, size_t first, size_t n)
{
  size_t bytes = n << a->page_shift;
  if (a->spare_committed + bytes > a->spare ||
      (a->commit_limit != 0 && a->committed + bytes > a->commit_limit))
    return 0;
  if (commit_pages(a, first, n) != 0)
    return 0;
  a->spare_committed += bytes;
  vm_prefault((void *)(a->base + (first << a->page_shift)), bytes);
  return 1;
}

/* O(pages looked at), at most want plus the disallowed stripes between. */
void arena_prefault(kiln_arena_t a, size_t want, size_t step, uint64_t allow)
{
  if (a->prefaulted)
    return;
  size_t want_pages = want >> a->page_shift, left = step >> a->page_shift, seen = 0;
  for (freerun_t *r = a->free_runs; r != NULL && seen < want_pages; r = r->next) {
    size_t p = r->first, end = r->first + r->count;
    while (p < end && seen < want_pages) {
      if (!page_allowed(a, p, allow)) {
        p++;
      } else if (a->committed_map[p]) {
        seen++;
        p++;
      } else {
        if (left == 0)
          return;
        size_t q = p;
        while (q < end && q - p < left && seen + (q - p) < want_pages && !a->committed_map[q] &&
               page_allowed(a, q, allow))
          q++;
        if (!prefault_pages(a, p, q - p))
          return;
        seen += q - p;
        left -= q - p;
        p = q;
      }
    }
  }
  a->prefaulted = seen >= want_pages;
}
