/* misc.c -- result names, failure reports (check_fail), and tearing down
 * everything an arena still owns when it is destroyed. */
#include "config.h"
#include "pool.h"
#include "trace.h"
#include "root.h"

#include <stdarg.h>
#include <stdlib.h>

const char *kiln_res_name(kiln_res_t res)
{
  static const char *const names[] = {"KILN_OK", "KILN_FAIL", "KILN_MEMORY", "KILN_LIMIT",
                                      "KILN_PARAM", "KILN_UNIMPL", "KILN_IO"};
  if (res < 0 || (size_t)res >= sizeof names / sizeof names[0])
    return "KILN_UNKNOWN";
  return names[res];
}

void check_fail(const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, KILN_CHECKING ? "kiln: checked build: " : "kiln: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (%s:%d)\n", file, line);
  fflush(stderr);
  abort();
}

#define DESTROY_RING(ring, type, field, destroy) \
  do { ring_t *n_, *x_; RING_FOR(n_, (ring), x_) destroy(CONTAINER(n_, type, field)); } while (0)

/* The arena owns whatever the client did not destroy; a checked build
   reports pools still alive, since that is usually a leak in the client. */
void arena_destroy_children(kiln_arena_t arena)
{
  if (KILN_CHECKING && !ring_empty(&arena->pools))
    fprintf(stderr, "kiln: checked build: arena destroyed with pools still alive; "
                    "destroying them\n");
  ring_t *n, *x;
  RING_FOR(n, &arena->aps, x)
    kiln_ap_destroy(&CONTAINER(n, ap_t, arena_ring)->pub);
  DESTROY_RING(&arena->roots, struct kiln_root_s, arena_ring, kiln_root_destroy);
  DESTROY_RING(&arena->pools, struct kiln_pool_s, arena_ring, kiln_pool_destroy);
  DESTROY_RING(&arena->threads, struct kiln_thread_s, arena_ring, kiln_thread_dereg);
  DESTROY_RING(&arena->fmts, struct kiln_fmt_s, arena_ring, kiln_fmt_destroy);
}
