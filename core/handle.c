/* handle.c -- checks of the handles that public entry points are given,
 * and the graves of destroyed handles.
 *
 * Checks. Every handle struct carries a signature (checking.h). A handle
 * that is NULL, foreign (another signature) or destroyed (SIG_DEAD) is
 * reported with a sentence naming the call and the handle:
 *  - a function returning kiln_res_t returns KILN_PARAM in every build
 *    (kiln_arena_error(NULL) says why); a destroyed handle is a contract
 *    break, which the checked build reports (check_fail) instead;
 *  - a void function does nothing in the default build and records the
 *    sentence (kiln_arena_error(NULL)); the checked build reports it.
 *
 * Graves. A destroyed pool, allocation point, root, format or thread is
 * not freed at once: its memory stays, signed SIG_DEAD, on its arena's
 * grave ring, so a second destroy or a later call with the handle meets a
 * dead signature rather than freed memory. The default build keeps the
 * last GRAVES_MAX of each arena; the checked build keeps all of them, so
 * it catches every such use. All are freed with the arena.
 */
#include "config.h"
#include "pool.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define GRAVES_MAX 64

typedef struct grave_s {
  ring_t ring;
  void *block;
} grave_t;

static void api_vreport(int contract, const char *fmt, va_list ap)
{
  char msg[ARENA_ERROR_MAX];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (contract)
    check_fail(__FILE__, __LINE__, "%s", msg);
  kiln_set_error(KILN_PARAM, "%s", msg);
}

void api_misuse(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  api_vreport(KILN_CHECKING, fmt, ap);
  va_end(ap);
}

kiln_res_t api_refuse(int contract, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  api_vreport(KILN_CHECKING && contract, fmt, ap);
  va_end(ap);
  return KILN_PARAM;
}

static const char *made_by(unsigned want)
{
  switch (want) {
  case SIG_ARENA: return "kiln_arena_create";
  case SIG_POOL: return "kiln_pool_create";
  case SIG_FMT: return "kiln_fmt_create";
  case SIG_ROOT: return "kiln_root_create_*";
  case SIG_THREAD: return "kiln_thread_reg";
  case SIG_AP: return "kiln_ap_create";
  case SIG_CACHE: return "kiln_cache_create";
  default: return "Kiln";
  }
}

static const char *article(const char *noun)
{
  return strchr("aeiou", noun[0]) != NULL ? "an" : "a";
}

kiln_res_t api_handle(const void *h, unsigned sig, unsigned want, const char *call,
                      const char *what, int is_void)
{
  if (h != NULL && sig == want)
    return KILN_OK;
  int dead = h != NULL && sig == SIG_DEAD;
  int contract = is_void || dead;
  if (h == NULL)
    return api_refuse(contract, "%s: the %s is NULL; pass %s %s made by %s", call, what,
                      article(what), what, made_by(want));
  if (dead)
    return api_refuse(contract, "%s: %s %p was destroyed; a destroyed %s must not be used again",
                      call, what, h, what);
  return api_refuse(contract, "%s: %p is not %s %s; pass one made by %s", call, h,
                    article(what), what, made_by(want));
}

kiln_res_t api_mutator_arena(kiln_arena_t arena, const char *call)
{
  kiln_res_t res = api_handle(arena, API_SIG(arena), SIG_ARENA, call, "arena", 0);
  if (res != KILN_OK || !arena->collecting)
    return res;
  return arena_errorf(arena, KILN_PARAM,
                      "%s: arena %p is collecting; call it from the mutator, not from a scan, "
                      "format or event function", call, (void *)arena);
}

/* The sentence for an address that is not an object of the arena's
   automatic pools (what follows "the address %p"), or NULL if it is one. */
static const char *not_auto_object(kiln_arena_t arena, const void *obj)
{
  if (obj == NULL)
    return "is NULL";
  seg_t seg = arena_seg_of(arena, obj);
  if (seg == NULL)
    return "is not in the arena's heap (no segment holds it)";
  if (!(seg->pool->klass->attr & CLASS_AUTO))
    return "is in a manual pool, whose blocks never move and die only when freed";
  return NULL;
}

kiln_res_t api_mutator_object(kiln_arena_t arena, const void *obj, const char *call,
                              const char *verb)
{
  kiln_res_t res = api_mutator_arena(arena, call);
  if (res != KILN_OK)
    return res;
  const char *why = not_auto_object(arena, obj);
  if (why == NULL)
    return KILN_OK;
  return arena_errorf(arena, KILN_PARAM,
                      "%s: the address %p %s; %s only objects of the arena's automatic pools",
                      call, obj, why, verb);
}

void arena_bury(kiln_arena_t arena, void *block)
{
  grave_t *g = malloc(sizeof *g);
  if (g == NULL) { /* no room for a grave: free it now */
    free(block);
    return;
  }
  g->block = block;
  ring_append(&arena->graves, &g->ring);
  arena->ngraves++;
  if (!KILN_CHECKING && arena->ngraves > GRAVES_MAX) {
    grave_t *old = CONTAINER(arena->graves.next, grave_t, ring);
    ring_remove(&old->ring);
    free(old->block);
    free(old);
    arena->ngraves--;
  }
}

void arena_free_graves(kiln_arena_t arena)
{
  ring_t *node, *nxt;
  RING_FOR(node, &arena->graves, nxt) {
    grave_t *g = CONTAINER(node, grave_t, ring);
    free(g->block);
    free(g);
  }
  ring_init(&arena->graves);
  arena->ngraves = 0;
}
