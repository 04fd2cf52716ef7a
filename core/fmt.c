/* fmt.c -- object formats: the client's description of its objects.
 * Kiln never guesses a layout; it calls these functions
 * (docs/design.md, §Formats). */
#include "config.h"
#include "pool.h"
#include "desc_layout.h"

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
  fmt->desc = desc_format_is(f);
  ring_append(&arena->fmts, &fmt->arena_ring);
  *fmt_o = fmt;
  return KILN_OK;
}

void kiln_fmt_destroy(kiln_fmt_t fmt)
{
  if (fmt == NULL)
    return;
  if (api_handle(fmt, fmt->sig, SIG_FMT, "kiln_fmt_destroy", "format", 1) != KILN_OK)
    return;
  if (KILN_CHECKING && fmt->pools != 0)
    KILN_FAILF("kiln_fmt_destroy: format %p is still used by %zu pool(s); destroy them first",
               (void *)fmt, fmt->pools);
  ring_remove(&fmt->arena_ring);
  fmt->sig = SIG_DEAD;
  arena_bury(fmt->arena, fmt);
}

void fmt_skip_fail(pool_t pool, void *obj, void *next)
{
  seg_t seg = arena_seg_of(pool->arena, obj);
  if (seg == NULL)
    KILN_FAILF("format skip: pool %p (%s) asked for the size of %p, which is in none of its "
               "segments", (void *)pool, pool->klass->name, obj);
  KILN_FAILF("format skip: object %p of pool %p (%s) says the next object starts at %p, %s; "
             "skip must return the client pointer just past the object, inside its segment "
             "%p..%p", obj, (void *)pool, pool->klass->name, next,
             (uintptr_t)next <= (uintptr_t)obj ? "which does not advance"
                                               : "past the end of its segment",
             (void *)seg->base, (void *)seg->limit);
}
