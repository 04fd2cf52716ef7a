/* graph.h -- the random object-graph property test, shared by every
 * automatic pool's suite: a formatted object graph mutated at random, with a
 * shadow model of what is reachable, verified after every collection. */
#ifndef KILN_TEST_GRAPH_H
#define KILN_TEST_GRAPH_H

#include "testlib.h"
#include "../fuzz/fuzzobj.h"

#define GRAPH_MAX_REFS 4

/* The test format is the fuzzers' (fuzz/fuzzobj.h): an 8-byte header word
   (block size << 8 | tag) before the client pointer; the client part is
   nrefs, npay, id, refs, payload. */
typedef fz_obj_t gobj_t;

const kiln_format_t *graph_format(void);
size_t gobj_size(uint32_t nrefs, uint32_t npay);
/* Allocate and fully initialise an object through ap (reserve/commit loop). */
gobj_t *gobj_new(kiln_ap_t ap, uint64_t id, uint32_t nrefs, uint32_t npay);
/* The same, returning NULL and the result when the heap is out of memory. */
gobj_t *gobj_try_new(kiln_ap_t ap, uint64_t id, uint32_t nrefs, uint32_t npay, kiln_res_t *res_o);
/* Store value into reference i of obj, through kiln_write. */
void gobj_store(kiln_arena_t arena, void *obj, uint32_t i, void *value);
/* A new object id with no references and npay payload bytes from ap,
   stored into holder->ref[i] through kiln_write; returns it. */
gobj_t *gobj_new_into(kiln_arena_t arena, kiln_ap_t ap, gobj_t *holder, uint32_t i, uint64_t id,
                      uint32_t npay);
/* gobj_new whose first references are refs[0..nrefs) (NULL refs: none),
   stored while initialising, before the commit: without kiln_write. */
gobj_t *gobj_new_refs(kiln_ap_t ap, uint64_t id, uint32_t nrefs, uint32_t npay,
                      gobj_t *const refs[]);
int gobj_payload_ok(const gobj_t *o);
/* Fail the current test unless o is object id with its payload intact. */
void gobj_check(const gobj_t *o, uint64_t id);
int gobj_is_forwarded(const gobj_t *o);
/* An object of ap (id 1, 2 references) held by the exact root area *slot
   and made old by a full collection. */
gobj_t *gobj_rooted_old(kiln_arena_t arena, kiln_ap_t ap, void **slot);
/* Object 9 of ap, held only by an interior pointer in a local of this
   function (an ambiguous reference from the stack, which the caller has
   made a thread root), stays an intact object where it is through two
   collections of arena, and through garbage more allocations and a
   collection after them; returns it. */
gobj_t *gobj_interior_pointer_kept(kiln_arena_t arena, kiln_ap_t ap, int garbage);
/* Reserve an object through ap, let a collection of arena intervene, and
   check that the commit fails. */
void gobj_commit_after_collection_fails(kiln_arena_t arena, kiln_ap_t ap);
/* Allocate unreachable objects through ap until n more minor collections
   have run (bounded: a collector that never collects fails, not hangs). */
void gobj_garbage_until_minors(kiln_arena_t arena, kiln_ap_t ap, uint64_t n);

/* A heap around one sticky ms pool (make_sticky), for the sticky and
   incremental suites; the optional parts are NULL until added. */
typedef struct sticky_env_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pool, other;   /* other: only after sticky_add_gen or sticky_add_sticky */
  kiln_ap_t ap, other_ap;
  kiln_thread_t thr;         /* only after sticky_scan_stack */
  kiln_root_t stack;
  size_t young_size, young_step;
} sticky_env_t;

void sticky_open(sticky_env_t *e, size_t young_size, size_t young_step,
                 const kiln_arg_t arena_args[]);
/* A nursery (survivor_age 0) promoting into the sticky pool, as other. */
void sticky_add_gen(sticky_env_t *e, size_t nursery);
/* A second sticky pool like the first, as other. */
void sticky_add_sticky(sticky_env_t *e);
/* The thread's stack as an ambiguous root (cold end: the stack's base). */
void sticky_scan_stack(sticky_env_t *e);
void sticky_close(sticky_env_t *e); /* destroys the arena and all in it */

/* A heap of one pool on the graph format: an arena made with arena_args
   (NULL: the defaults), the pool make_pools makes (it makes one), an
   allocation point on it and, unless slots is NULL, an exact root area
   over slots[0 .. nslots). */
typedef struct rooted_heap_s {
  kiln_arena_t arena;
  kiln_fmt_t fmt;
  kiln_pool_t pool;
  kiln_ap_t ap;
  kiln_root_t root;              /* NULL without slots */
} rooted_heap_t;

void rooted_open(rooted_heap_t *h, int (*make_pools)(kiln_arena_t, kiln_fmt_t, kiln_pool_t *),
                 const kiln_arg_t *arena_args, void **slots, size_t nslots);
/* Destroy each part in turn (root, allocation point, pool, format), the
   arena last. */
void rooted_close(rooted_heap_t *h);

typedef struct graph_cfg_s {
  /* Create the pools objects are allocated in (1..4) on fmt. */
  int (*make_pools)(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools);
  const kiln_arg_t *arena_args;  /* may be NULL */
  size_t steps;                  /* mutator operations */
  size_t collect_every;          /* explicit full collection every N allocations (0: never) */
  int use_barrier;               /* stores into old objects through kiln_write (or
                                    GRAPH_INIT_REFS, below) */
  int expect_moves;              /* a moving configuration: some object must move */
  uint64_t seed;
} graph_cfg_t;

/* Nonzero: half the root slots of the next graph_run are an ambiguous
   area (for non-moving pools: an ambiguous root pins a moving pool's
   object). graph_run clears it. */
extern int graph_ambig_roots;

/* use_barrier GRAPH_INIT_REFS: stores through kiln_write, and half of the
   new objects get their references while initialised, before the commit
   (without kiln_write, as the contract allows). */
#define GRAPH_INIT_REFS 2

typedef struct graph_result_s {
  size_t collections, verified, max_reachable, moved;
  size_t minors; /* of collections */
  size_t pauses; /* stop-the-world pauses (more than collections if incremental) */
  size_t marked, helped; /* bytes marked; bytes scanned by markers other than the
                            collecting thread (kiln_stats_t) */
} graph_result_t;

/* Run the test; fails the current Check test on any discrepancy. */
graph_result_t graph_run(const graph_cfg_t *cfg);


/* The standard battery every pool configuration passes: explicit
   collections at random, a full collection every 97 allocations, a tiny
   collection budget (the allocation slow path collects on its own), and
   stress (a collection at every slow path, which every allocation takes).
   Run number i (0 .. GRAPH_BATTERY_RUNS - 1) picks the run and one of the
   four seeds; the run fails the current Check test unless it verified,
   collected and (expect_moves) moved objects as often as the run implies. */
enum { GRAPH_BATTERY_RUNS = 12 };
void graph_battery(int i, int (*make_pools)(kiln_arena_t, kiln_fmt_t, kiln_pool_t *),
                   int expect_moves, const uint64_t seeds[4]);

/* One row of a suite's table of graph runs: the pools, steps, explicit
   collection interval, arena stress (0: none), barrier use, how many loop
   iterations (seeds) it takes, what it adds to the seeds, and the outcome
   it checks (0: not checked; compared with the scaled figure, as the steps
   are scaled too). */
typedef struct graph_run_s {
  int (*make_pools)(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools);
  size_t steps, collect_every, stress;
  int use_barrier, seeds;
  uint64_t seed_add;
  size_t verified_over, collections_over;
} graph_run_t;

/* Iteration i of the table runs counts the rows' seeds in order: the row
   it falls in, and (*i_io, on return) its seed's index in that row. */
const graph_run_t *graph_table_row(const graph_run_t *runs, int *i_io);
/* Run iteration i of the table runs with expect_moves and the suite's
   seeds. */
void graph_table_run(const graph_run_t *runs, int i, int expect_moves, const uint64_t *seeds);
#endif
