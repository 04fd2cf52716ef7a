/* gc_boehm.c -- the boehm backend of bench_gc: the Boehm-Demers-Weiser
 * conservative collector with its default settings (non-incremental,
 * non-generational, stop-the-world marking, lazy sweeping; Debian's build
 * marks in parallel with one marker per core, GC_MARKERS=n to change it).
 *
 * Built only when configure found bdw-gc (BENCH_HAVE_BDWGC).
 *
 * Pauses are timed from GC_EVENT_START to GC_EVENT_END of the collection
 * event hook: the marking phase. Boehm sweeps lazily during allocation, so
 * that part of its cost shows in the wall time but not in the pauses.
 */
#include "benchlib.h"
#include "gc_backend.h"

#define GC_THREADS /* mutator threads register themselves (b_thread_begin) */
#include <gc.h>
#include <stdio.h>

static bench_pauses_t pauses;
static double pause_start;
static GC_word gc_no_at_init;

static void b_list(void)
{
  puts("boehm");
}

/* Runs inside the collector with its lock held: no allocation here. */
static void GC_CALLBACK b_on_event(GC_EventType event)
{
  if (event == GC_EVENT_START)
    pause_start = bench_now();
  else if (event == GC_EVENT_END)
    bench_pauses_add(&pauses, (bench_now() - pause_start) * 1e3);
}

/* Boehm finds the stack's cold end itself, and the shadow stack is a static
   array of the main program, whose data and bss it scans already: neither
   needs registering. */
static void b_init(const char *param, void *cold_end, void **roots, void **roots_limit)
{
  (void)cold_end, (void)roots, (void)roots_limit;
  if (param != NULL)
    bench_die("backend boehm takes no parameter (got '%s')", param);
  GC_INIT();
  GC_allow_register_threads();
  GC_set_on_collection_event(b_on_event);
  gc_no_at_init = GC_get_gc_no();
}

static node_t *b_node(node_t *left, node_t *right)
{
  return gc_node_fill(GC_MALLOC(sizeof(node_t)), left, right, "boehm");
}
/* Atomic: Boehm neither clears nor scans it, like Kiln's leaf objects. */
static double *b_array(size_t n)
{
  return gc_array_check(GC_MALLOC_ATOMIC(n * sizeof(double)), n, "boehm");
}
static void b_drop_tree(node_t *tree)
{
  (void)tree;
}

static void b_drop_array(double *array)
{
  (void)array;
}

static void b_stats(gc_stats_t *stats_o)
{
  *stats_o = (gc_stats_t){0};
  stats_o->collections = GC_get_gc_no() - gc_no_at_init;
  stats_o->gc_seconds = pauses.sum_ms / 1e3;
  stats_o->pause_max_ms = pauses.max_ms;
  stats_o->pause_p50_ms = bench_pauses_pct(&pauses, 50);
  stats_o->pause_p99_ms = bench_pauses_pct(&pauses, 99);
  stats_o->full_p50_ms = stats_o->pause_p50_ms; /* every collection is a full one */
  stats_o->full_p99_ms = stats_o->pause_p99_ms;
}

static void b_finish(void)
{
}

static void b_collect(void)
{
  GC_gcollect();
}

static void b_thread_begin(void)
{
  struct GC_stack_base sb;
  if (GC_get_stack_base(&sb) != GC_SUCCESS)
    bench_die("boehm: no stack base for a mutator thread");
  GC_register_my_thread(&sb);
}

static void b_thread_end(void)
{
  GC_unregister_my_thread();
}

const gc_backend_t gc_boehm_backend = {
  "boehm", b_list, b_init, b_node, b_array, gc_store_plain, b_drop_tree, b_drop_array, b_stats, b_finish,
  b_collect, b_thread_begin, b_thread_end,
};
