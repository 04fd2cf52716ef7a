/* root.h -- roots and registered threads (internal view). */
#ifndef KILN_ROOT_H
#define KILN_ROOT_H

#include <pthread.h>
#include "pool.h"

typedef enum { ROOT_AREA, ROOT_FMT, ROOT_SCAN, ROOT_THREAD } root_kind_t;

struct kiln_root_s {
  unsigned sig;
  kiln_arena_t arena;
  ring_t arena_ring;
  root_kind_t kind;
  kiln_rank_t rank;
  void **base, **limit;          /* area and formatted roots */
  kiln_scan_fn fmt_scan;         /* formatted area */
  kiln_root_scan_fn scan;        /* client scan function */
  void *closure;
  kiln_thread_t thread;          /* thread roots */
  void *cold_end;
};

struct kiln_thread_s {
  unsigned sig;
  kiln_arena_t arena;
  ring_t arena_ring;
  pthread_t id;
  struct vm_thread_s *os;        /* the OS thread's own state (vm.c), for stopping it */
};

/* Stop every registered thread of the arena but the caller, for a
   collection (trace.c), and let them go again; see vm.c. */
void threads_stop(kiln_arena_t arena);
void threads_resume(kiln_arena_t arena);

/* Scan every root of one rank (trace.c calls ambiguous, then exact, then
   weak; the ambiguous ones end with the pinned objects, pin.c), but area
   roots only unless skip_areas (an incremental collection's start notes
   the exact ones for its increments instead: root_each_exact_area,
   root_scan_words). */
kiln_res_t root_scan_rank(kiln_arena_t arena, kiln_ss_t ss, kiln_rank_t rank, int skip_areas);
void root_each_exact_area(kiln_arena_t arena, void (*visit)(void *cl, void **base, void **limit),
                          void *cl);
kiln_res_t root_scan_words(kiln_ss_t ss, void **base, void **limit);

#endif
