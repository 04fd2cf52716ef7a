/* record.h -- recording what a heap sees, for replay (record.c;
 * docs/design.md, §Record and replay). */
#ifndef KILN_RECORD_H
#define KILN_RECORD_H

#include "trace.h"

typedef struct recorder_s recorder_t;

/* Start recording the arena's heap into the file at path (created or
   truncated). KILN_IO with a sentence naming the file and the parameter
   when it cannot be opened, KILN_MEMORY without memory. */
kiln_res_t record_open(kiln_arena_t arena, const char *path);
/* Finish the file (the end record) and free the recorder. */
void record_close(kiln_arena_t arena);

/* An object of role (NULL: none given) and rank was committed at obj
   (client pointer) with size bytes: note it with the references its
   format's scan reads. */
void record_commit(kiln_arena_t arena, const char *role, int weak, void *obj, size_t size);
/* At a trace's start, after the flush and before anything is condemned:
   write the references that changed since the last one, the roots, the
   objects no longer reachable, and the reachable counts. */
void record_sync(kiln_arena_t arena, trace_t *trace);
/* Before reclaim: follow the objects the trace moved to their new
   addresses. */
void record_moves(kiln_arena_t arena, trace_t *trace);
/* The fix of the recorder's scan state (fix.c sends it here). */
kiln_res_t record_fix(ss_t *ss, void **ref_io);

#endif
