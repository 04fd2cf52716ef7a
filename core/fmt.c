/* fmt.c -- object formats: the client's description of its objects.
 * Kiln never guesses a layout; it calls these functions
 * (docs/design.md, §Formats). */
#include "config.h"
#include "pool.h"

#include <stdlib.h>

kiln_res_t kiln_fmt_create(kiln_fmt_t *fmt_o, kiln_arena_t arena, const kiln_format_t *f)
{
  if (arena == NULL || arena->sig != SIG_ARENA)
    return kiln_set_error(KILN_PARAM, "kiln_fmt_create: not an arena");
  if (fmt_o == NULL || f == NULL)
    return arena_errorf(arena, KILN_PARAM, "kiln_fmt_create: %s is NULL", fmt_o ? "format" : "fmt_o");
  if (f->align == 0 || (f->align & (f->align - 1)) != 0 || f->align > 4096)
    return arena_errorf(arena, KILN_PARAM,
                        "format: align is %zu; it must be a power of two from 1 to 4096", f->align);
  if (f->header_size > 4096)
    return arena_errorf(arena, KILN_PARAM, "format: header_size %zu is absurd (most 4096)",
                        f->header_size);
  if (f->scan == NULL || f->skip == NULL)
    return arena_errorf(arena, KILN_PARAM, "format: %s is NULL; every format needs scan and skip",
                        f->scan == NULL ? "scan" : "skip");
  kiln_fmt_t fmt = calloc(1, sizeof *fmt);
  if (fmt == NULL)
    return arena_errorf(arena, KILN_MEMORY, "format: no memory");
  fmt->sig = SIG_FMT;
  fmt->arena = arena;
  fmt->f = *f;
  ring_append(&arena->fmts, &fmt->arena_ring);
  *fmt_o = fmt;
  return KILN_OK;
}

void kiln_fmt_destroy(kiln_fmt_t fmt)
{
  if (fmt == NULL)
    return;
  KILN_ASSERT(fmt->sig == SIG_FMT);
  if (KILN_CHECKING && fmt->pools != 0)
    KILN_FAILF("kiln_fmt_destroy: format %p is still used by %zu pool(s)", (void *)fmt, fmt->pools);
  ring_remove(&fmt->arena_ring);
  fmt->sig = SIG_DEAD;
  free(fmt);
}
