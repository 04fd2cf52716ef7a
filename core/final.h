/* final.h -- the arena's finalization registry and queue (final.c). */
#ifndef KILN_FINAL_H
#define KILN_FINAL_H

#include "arena.h"

/* Fix every queued object as an exact reference: the queue is a strong
   root (called with the exact roots, trace.c). */
kiln_res_t final_scan_queue(kiln_arena_t arena, kiln_ss_t ss);
/* After the exact trace and weak clearing: update the addresses of the
   registered objects that survived, and resurrect and queue those that
   did not, draining what they reach; 1 if any was resurrected. */
int final_resurrect(kiln_arena_t arena, trace_t *trace);
/* Drop the registrations and queue entries of pool's objects (its
   segments are about to be freed). */
void final_forget_pool(kiln_arena_t arena, struct kiln_pool_s *pool);
/* Free the registry and the queue (arena destruction). */
void final_finish(kiln_arena_t arena);

#endif
