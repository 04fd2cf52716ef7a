/* testlib.h -- shared helpers for the Check suites: seeds, a small PRNG,
 * and a main() that fails when no test ran. */
#ifndef KILN_TESTLIB_H
#define KILN_TESTLIB_H

#include "config.h"

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include "kiln.h"

/* The seed for property tests: KILN_SEED from the environment if set (for
   exploration), else the fixed default given. Printed so a failure can be
   replayed. */
uint64_t test_seed(uint64_t fixed);
/* splitmix64 */
uint64_t test_rand(uint64_t *state);
static inline size_t test_range(uint64_t *state, size_t lo, size_t hi) /* [lo, hi] */
{
  return lo + (size_t)(test_rand(state) % (hi - lo + 1));
}
/* Number of iterations scaled by KILN_TEST_SCALE (default 1). */
size_t test_scale(size_t n);

/* Run fn in a forked child with its stderr captured into out; returns the
   wait status. For checked-build tests that expect a contract report. */
int test_run_child(void (*fn)(void), char *out, size_t outlen);
/* The child must abort (SIGABRT) and its report must contain want. */
void test_expect_abort(void (*fn)(void), const char *want);
/* A thread of a test keeps its first failure: format it into failure
   (size bytes) unless failure already holds one. The main thread reports
   it after the join, where Check may fail the test. */
void test_note_failure(char *failure, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* A misuse the checked build aborts on: fn commits it, and the report
   must contain want. */
typedef struct misuse_s {
  void (*fn)(void);
  const char *want;
} misuse_t;
/* Add to tc a test of each of misuses[0 .. n) (test_expect_abort); a
   suite calls it once, with a table of static storage. */
void add_misuse_tests(TCase *tc, const misuse_t *misuses, size_t n);

/* fn stores a reference into an old object without kiln_write, then lets
   a minor collection run (in a forked child): a checked build must abort
   with the barrier verifier's "missing barrier" report; an unchecked build
   cannot tell, but the child must not crash. */
void test_expect_missing_barrier(void (*fn)(void));

/* ---- arena and pool figures -------------------------------------------- */

/* Minor collections so far; minors_of also gives all collections. */
uint64_t minors(kiln_arena_t arena);
uint64_t minors_of(kiln_arena_t arena, uint64_t *collections_o);
uint64_t fulls(kiln_arena_t arena); /* collections that were not minor */
/* Has arena collected since *seen collections? Sets *seen to the count
   now. */
int collected_since(kiln_arena_t arena, uint64_t *seen);
size_t pool_in_use(kiln_pool_t pool);
uint64_t pool_live(kiln_pool_t pool); /* objects the last collection found live */
/* Is obj in a segment of pool? */
int in_pool(kiln_arena_t arena, const void *obj, kiln_pool_t pool);
/* Is obj in a segment condemned by the collection under way? */
int in_condemned(kiln_arena_t arena, const void *obj);
/* The card of the address p, and is it dirty? (the arena's public card
   table) */
size_t card_of(kiln_arena_t arena, const void *p);
int card_dirty(kiln_arena_t arena, const void *p);

/* An arena reserving 1 GB with this commit limit and spare memory. */
kiln_arena_t arena_new(size_t commit_limit, size_t spare);
kiln_pool_stats_t pstats(kiln_pool_t pool); /* the pool's statistics now */
kiln_stats_t astats(kiln_arena_t arena);    /* the arena's statistics now */
size_t committed(kiln_arena_t arena);       /* the arena's committed bytes */
/* kiln_alloc from a manual pool; the test fails, naming the arena's error,
   when it does not succeed. */
void *must_alloc(kiln_pool_t pool, size_t size);

/* Allocate blocks of size bytes from a manual pool into p[0 .. max) until
   its arena's commit limit refuses one, with a sentence naming it (the
   test fails if none is refused); returns how many it got. */
size_t alloc_to_limit(kiln_pool_t pool, size_t size, void **p, size_t max);
/* Free every step-th of the n blocks p of size bytes and allocate them
   again. */
void realloc_every(kiln_pool_t pool, void **p, size_t n, size_t size, size_t step);
/* Free the n blocks p of size bytes; the pool is then empty. */
void free_all(kiln_pool_t pool, void **p, size_t n, size_t size);

/* Allocate a block of size bytes from a manual pool and free the address
   offset bytes from its start as a block of free_size bytes. */
void free_misplaced(kiln_pool_t pool, size_t size, ptrdiff_t offset, size_t free_size);
/* Free a block of size bytes of a manual pool twice, while another block
   stays live (so that the first free empties no segment). */
void free_twice(kiln_pool_t pool, size_t size);

/* The unchecked build's kiln_free ignores what a manual pool did not give
   out: with two pools that make creates on one arena, freeing into the
   first a malloc'd block, a stack variable and the second's block of size
   bytes changes neither pool's in_use (one block of size bytes each), and
   the first pool's next block is neither block. */
void check_foreign_frees_ignored(kiln_pool_t (*make)(kiln_arena_t), size_t size);
/* The checked build poisons what a manual pool frees: a block of size
   bytes from pool, freed while another stays live, reads as
   KILN_POISON_BYTE from byte from to byte to. Destroys pool and its
   arena. */
void check_freed_poisoned(kiln_pool_t pool, size_t size, size_t from, size_t to);

/* A default arena in *arena_o with a format made from format; returns the
   format. */
kiln_fmt_t arena_with_format(kiln_arena_t *arena_o, const kiln_format_t *format);
/* A pool of class klass on fmt with every other parameter at its default. */
kiln_pool_t plain_pool(kiln_arena_t arena, kiln_fmt_t fmt, kiln_class_t klass);

/* An ms pool on fmt with sticky mark bits: young_size, young_step (0:
   stop-the-world minors; not passed then), segments of 64 KB, objects of
   8 KB and more in their own. */
kiln_pool_t make_sticky(kiln_arena_t arena, kiln_fmt_t fmt, size_t young_size, size_t young_step);

/* A gen pool on fmt promoting into to, with this nursery and survivor_age. */
kiln_pool_t make_gen_aged(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t to, size_t nursery,
                          size_t age);

/* The automatic pool configurations the cross-configuration suites run
   under, in this order; config_names[which] names one in failure
   messages. */
enum { CONFIG_MS, CONFIG_COPY, CONFIG_GEN_MS, CONFIG_GEN_COPY, CONFIG_STICKY, CONFIG_STICKY_INC,
       NCONFIGS };
extern const char *const config_names[NCONFIGS];
/* The configurations from CONFIG_GEN_MS on have a young generation (minor
   collections): young configuration i is CONFIG_GEN_MS + i. */
enum { NYOUNG_CONFIGS = NCONFIGS - CONFIG_GEN_MS };
/* Nonzero for the configurations whose full collections move objects. */
int config_moves_in_full(int which);
/* A pool of configuration which on fmt, the one that takes allocations:
   young is the gen nursery and the sticky young_size, step the incremental
   sticky young_step. A gen pool promotes into a new ms or copy pool with
   default parameters, stored in *mature_o unless mature_o is NULL (else
   *mature_o is NULL). */
kiln_pool_t make_config_pool(kiln_arena_t arena, kiln_fmt_t fmt, int which, size_t young,
                             size_t step, kiln_pool_t *mature_o);

/* An arena made with arena_args (NULL: the defaults) in *arena_o, a
   format made from format, a pool of configuration which on it
   (make_config_pool with young and step) and an allocation point on that
   pool, which it returns. */
kiln_ap_t config_ap(kiln_arena_t *arena_o, const kiln_arg_t *arena_args,
                    const kiln_format_t *format, int which, size_t young, size_t step);

/* Register the calling thread with arena in *thr_o and give it a thread
   root over its whole stack, which it returns. The cold end is the
   stack's real base (vm_stack_cold_end): a local of the caller would not
   do, as locals declared after it may sit above it. */
kiln_root_t stack_root(kiln_arena_t arena, kiln_thread_t *thr_o);

/* An exact root area of arena over slots[0 .. n); the arena destroys it
   with itself unless the caller does so first. */
kiln_root_t exact_area(kiln_arena_t arena, void **slots, size_t n);

/* A test case named name, added to suite s, with a timeout of timeout
   seconds (0: Check's default); the caller adds its tests. */
TCase *suite_add_case(Suite *s, const char *name, double timeout);

/* Each suite file defines this; main() in testlib.c runs it. */
Suite *test_suite(void);

/* ck_assert_* reports a passing check to the parent process (a write per
   call), far too slow inside loops: T_CHECK only talks on failure. */
#define T_CHECK(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

#define ck_assert_res(expr, want) \
  do { kiln_res_t r_ = (expr); ck_assert_msg(r_ == (want), "%s returned %s, wanted %s", #expr, \
                                             kiln_res_name(r_), kiln_res_name(want)); } while (0)
#define ck_assert_ok(expr) ck_assert_res(expr, KILN_OK)

#endif
