/* gc_backend.h -- the interface between bench_gc's workloads and the memory
 * managers they are measured on.
 *
 * The workloads (GCBench, binary-trees) are written once against this table
 * of functions; a backend is malloc with explicit frees, Boehm's collector,
 * or a Kiln automatic pool. Every call goes through a function pointer, so
 * each backend pays the same indirection. Backends on a plain allocator
 * share the inline helpers at the end.
 *
 * Rooting. The thread's stack and registers are roots, scanned ambiguously
 * (as Boehm does): a node held in a local stays alive and does not move.
 * Data that must outlive the locals that created it (GCBench's long-lived
 * tree and array, binary-trees' long-lived tree) goes on the shadow stack
 * the workloads own; the backend registers it as an exact root in init.
 * A moving collector may then move such an object and update its slot, so
 * the workloads re-read a shadow slot after allocating instead of trusting
 * a copy they made earlier.
 */
#ifndef GC_BACKEND_H
#define GC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "benchlib.h"

/* The node of both workloads: two references and an int payload (GCBench's
   i and j). A backend may put a header before it; the workloads never look. */
typedef struct node_s node_t;
struct node_s {
  node_t *left, *right;
  int i, j;
};

/* What a run reports besides its wall time. */
typedef struct gc_stats_s {
  uint64_t collections, minor; /* minor counts towards collections too */
  double gc_seconds;           /* total time in collections */
  double pause_max_ms, pause_p50_ms, pause_p99_ms;
  uint64_t copied_bytes; /* by moving collectors */
  double minor_p50_ms, minor_p99_ms; /* minor collections only (0 without any) */
  double full_p50_ms, full_p99_ms;   /* the others; a backend without minor
                                        collections may leave them 0 */
  double minor_max_ms;               /* the longest minor pause (0 without any) */
} gc_stats_t;

typedef struct gc_backend_s {
  /* "malloc", "boehm", or "kiln" (used as kiln:<plan>) */
  const char *name;
  /* Print the names this backend answers to, one a line, for --list. */
  void (*list)(void);
  /* param is the text after the colon ("genms,arena.growth=3" for
     kiln:genms,arena.growth=3), or NULL.
     cold_end is the address of a local in main: the stack between it and
     the running frame is scanned. [roots, roots_limit) is the shadow stack:
     unused slots hold NULL. Dies with a message on failure. */
  void (*init)(const char *param, void *cold_end, void **roots, void **roots_limit);
  /* A new node with the given children and i = j = 0. The children are
     stored as initialisation, so no barrier is needed for them. */
  node_t *(*node)(node_t *left, node_t *right);
  /* An array of n doubles holding no references; contents unspecified. */
  double *(*array)(size_t n);
  /* *slot = value, where slot is a field of the existing node obj (the
     backend applies its write barrier, if it has one). */
  void (*store)(node_t *obj, node_t **slot, node_t *value);
  /* The workload has dropped its last reference to a tree or an array:
     the malloc backend frees it; collectors do nothing. */
  void (*drop_tree)(node_t *tree);
  void (*drop_array)(double *array);
  /* Counters so far. Called before finish. */
  void (*stats)(gc_stats_t *stats_o);
  /* Release everything init acquired. */
  void (*finish)(void);
  /* A full collection now; NULL for a backend that does not collect. */
  void (*collect)(void);
  /* With mutator threads (-t): each calls thread_begin before it
     allocates and thread_end before it exits; NULL: nothing to do. */
  void (*thread_begin)(void);
  void (*thread_end)(void);
} gc_backend_t;

/* Helpers for backends that allocate with a plain allocator (malloc,
   Boehm): n and a are what it returned; they die naming the backend when
   that is NULL. They are inline, so that they cost a backend no call. */
static inline node_t *gc_node_fill(node_t *n, node_t *left, node_t *right, const char *backend)
{
  if (n == NULL)
    bench_die("%s: out of memory", backend);
  n->left = left;
  n->right = right;
  n->i = n->j = 0;
  return n;
}

static inline double *gc_array_check(double *a, size_t n, const char *backend)
{
  if (a == NULL)
    bench_die("%s: out of memory for %zu doubles", backend, n);
  return a;
}

/* The store of a backend without a write barrier. */
static inline void gc_store_plain(node_t *obj, node_t **slot, node_t *value)
{
  (void)obj;
  *slot = value;
}

extern const gc_backend_t gc_malloc_backend;
extern const gc_backend_t gc_kiln_backend;
#ifdef BENCH_HAVE_BDWGC
extern const gc_backend_t gc_boehm_backend;
#endif

#endif /* GC_BACKEND_H */
