/* kiln/heap.h -- heaps built from plans: an arena, its pools and their
 * allocation points made from a plan file (docs/plans.md), by role. Part of
 * libkiln-heap (pkg-config kiln-heap), which links Lua to run the plans and
 * builds on libkiln's core API (<kiln.h>).
 */
#ifndef KILN_HEAP_H
#define KILN_HEAP_H

#include "kiln.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_heap_s *kiln_heap_t;

/* Open a heap from plan: a built-in plan's name ("genms") or a file's path,
   with overrides ("POOL.KEY" or "arena.KEY" keyword arguments, ended by
   KILN_ARGS_END; NULL for none) applied on top of what the plan sets. */
kiln_res_t kiln_heap_open(kiln_heap_t *heap_o, const char *plan, const kiln_format_t *format,
                          const kiln_arg_t overrides[]);
void kiln_heap_close(kiln_heap_t heap);
kiln_arena_t kiln_heap_arena(kiln_heap_t heap);
kiln_pool_t kiln_heap_pool(kiln_heap_t heap, const char *role);
/* The calling thread's allocation point for role, made on its first use
   and the thread's own; NULL (the sentence in kiln_arena_error(NULL)) for
   a manual or unknown role, and for a thread that neither opened the heap
   nor joined it (see threads in kiln.h). A role of rank weak in the plan
   (the "weak" role of every automatic built-in plan) gets an allocation
   point of rank weak, as kiln_ap_create with rank "weak". */
kiln_ap_t kiln_heap_ap(kiln_heap_t heap, const char *role);
/* Threads. The opening thread is a mutator of the heap from the open on.
   Any other thread joins before it allocates: kiln_heap_join registers it
   with the arena and makes its stack and registers an ambiguous root;
   kiln_heap_leave destroys its allocation points and registration, and it
   must leave before it exits (a collection stops every joined thread with
   a signal). KILN_PARAM with a sentence in kiln_arena_error(NULL) for a
   thread that joins twice (the opener counts as joined); kiln_heap_leave
   leaves the sentence there, doing nothing, for a thread that has not
   joined and for the opener (it closes the heap instead). */
kiln_res_t kiln_heap_join(kiln_heap_t heap);
void kiln_heap_leave(kiln_heap_t heap);
const char *kiln_heap_plan_name(kiln_heap_t heap);
/* The opening thread's stack is an ambiguous root from kiln_heap_open on.
   A client whose references all live in its own roots (a VM with exact
   roots, the Lua bindings' handle table) turns it off, so no stale stack word
   keeps garbage alive; call from the opening thread. Joined threads'
   stacks are scanned while they stay joined. */
kiln_res_t kiln_heap_scan_stack(kiln_heap_t heap, int on);
int kiln_heap_scans_stack(kiln_heap_t heap);

#ifdef __cplusplus
}
#endif
#endif /* KILN_HEAP_H */
