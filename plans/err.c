/* err.c -- the error slot of lua/ for failures that have no arena.
 *
 * Owns one thread-local sentence. kiln_heap_open and the plan loader fail
 * before (or without) an arena, so their sentence lives here; it is also
 * handed to kiln_set_error (kiln.h), so kiln_arena_error(NULL) shows it
 * (docs/design.md, §Errors and parameters).
 */
#include <stdarg.h>
#include <stdio.h>
#include "plans.h"

#define LK_ERROR_MAX 1024

static _Thread_local char lk_error_buf[LK_ERROR_MAX];

kiln_res_t lk_fail(kiln_res_t res, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(lk_error_buf, sizeof lk_error_buf, fmt, ap);
  va_end(ap);
  kiln_set_error(res, "%s", lk_error_buf);
  return res;
}

const char *lk_error(void)
{
  return lk_error_buf;
}
