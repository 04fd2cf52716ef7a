/* pin.h -- the arena's table of client-pinned objects (pin.c). */
#ifndef KILN_PIN_H
#define KILN_PIN_H

#include "arena.h"

/* Fix every pinned object as an ambiguous reference (ss's rank is
   KILN_RANK_AMBIG): called with the ambiguous roots (root.c). */
kiln_res_t pin_scan(kiln_arena_t arena, kiln_ss_t ss);
/* Free the table (arena destruction). */
void pin_finish(kiln_arena_t arena);

#endif
