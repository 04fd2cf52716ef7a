/* weak.h -- objects of weak rank and the weak-clearing phase (weak.c). */
#ifndef KILN_WEAK_H
#define KILN_WEAK_H

#include "arena.h"

typedef struct kiln_pool_s *pool_t;

/* Remember obj, just committed through a weak-rank allocation point;
   KILN_MEMORY if the set cannot grow. */
kiln_res_t weak_note(kiln_arena_t arena, void *obj);
/* A moving pool copied from to to: an object of weak rank stays one. */
void weak_moved(kiln_arena_t arena, void *from, void *to);
/* Forget the objects of pool (it is being destroyed). */
void weak_forget_pool(kiln_arena_t arena, pool_t pool);
/* Free the set (arena destruction). */
void weak_finish(kiln_arena_t arena);
/* 1 if the exact trace scanning obj with ss defers it (it is of weak
   rank): the weak phase scans it instead. */
int weak_defer(kiln_ss_t ss, void *obj);
/* Scan the objects [lo, hi) of pool, deferring those of weak rank. */
kiln_res_t weak_scan_range(pool_t pool, kiln_ss_t ss, void *lo, void *hi);
/* The weak-clearing phase, after the exact trace and before reclaim: fix
   the weak roots and the references of the objects of weak rank the trace
   reached, weakly (dead targets become NULL, moved ones are updated), and
   clear the ephemerons whose key died. Finalization comes after it. */
void trace_clear_weak(kiln_arena_t arena, trace_t *trace);
/* After finalization resurrected objects and their fixpoint ran: the
   objects of weak rank and the ephemerons they reached, as above. */
void trace_clear_weak_again(kiln_arena_t arena, trace_t *trace);
/* The weak phase's end: free the trace's lists and forget the objects of
   weak rank that died. */
void weak_trace_end(kiln_arena_t arena, trace_t *trace);
/* After the exact trace has drained: fix every deferred ephemeron whose
   key has become alive (value strongly), drain, and repeat until none is
   left whose key is alive. */
void trace_ephemeron_fixpoint(kiln_arena_t arena, trace_t *trace);
/* Is slot a deferred ephemeron's key or value slot? (The barrier verifier.) */
int weak_is_deferred_slot(const trace_t *trace, const void *slot);
/* Is obj on the trace's list of deferred objects? (The checked build's
   barrier verifier; a linear search.) */
int weak_is_deferred(const trace_t *trace, const void *obj);
/* Free the trace's list of deferred objects (an abandoned trace too). */
void weak_trace_done(trace_t *trace);

#endif
