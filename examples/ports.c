/* ports.c -- string output ports: heap objects owning malloc'd buffers,
 * closed explicitly by close-port or, when a program drops a port without
 * closing it, finalized after a collection finds it dead.
 *
 * A port object holds only a pointer to its record, which lives outside the
 * heap and owns the buffer. The records form a list that is a weak root:
 * each record's reference to its port object does not keep the object
 * alive, is updated when the object moves, and becomes NULL when the object
 * dies. ports_reap, run by the mutator at safe points (opening a port, an
 * explicit collection, between top-level forms), then frees the buffers and
 * records of dead ports. Nothing is freed inside the collection itself.
 */
#include <stdlib.h>
#include <string.h>
#include "scheme.h"

struct port_rec {
  value obj;            /* the port object; weak: NULL once it died */
  char *buf;            /* NULL once closed or finalized */
  size_t len, cap;
  struct port_rec *next;
};

static struct port_rec *records;
static kiln_root_t weak_root;

static kiln_res_t scan_records(kiln_ss_t ss, void *closure)
{
  (void)closure;
  KILN_SCAN_BEGIN(ss) {
    for (struct port_rec *r = records; r != NULL; r = r->next)
      if (r->obj != NULL && KILN_FIX12(ss, &r->obj) != KILN_OK)
        return KILN_FAIL;
  } KILN_SCAN_END(ss);
  return KILN_OK;
}

int ports_open(kiln_arena_t arena)
{
  if (kiln_root_create_scan(&weak_root, arena, KILN_RANK_WEAK, scan_records, NULL) != KILN_OK) {
    fprintf(stderr, "kscheme: kiln_root_create_scan (the port records): %s\n",
            kiln_arena_error(arena));
    return 0;
  }
  return 1;
}

/* At exit every record goes, whether its port was closed or not. */
void ports_close(void)
{
  kiln_root_destroy(weak_root);
  while (records != NULL) {
    struct port_rec *r = records;
    records = r->next;
    free(r->buf);
    free(r);
  }
}

void ports_reap(void)
{
  struct port_rec **link = &records;
  while (*link != NULL) {
    struct port_rec *r = *link;
    if (r->obj == NULL) {
      *link = r->next;
      free(r->buf);
      free(r);
    } else {
      link = &r->next;
    }
  }
}

static void *checked_malloc(size_t size)
{
  void *p = malloc(size);
  if (p == NULL) {
    fprintf(stderr, "kscheme: out of memory allocating %zu bytes for a port\n", size);
    exit(1);
  }
  return p;
}

value port_open_string(void)
{
  ports_reap();
  struct port_rec *r = checked_malloc(sizeof *r);
  r->cap = 64;
  r->buf = checked_malloc(r->cap);
  r->len = 0;
  r->obj = NULL; /* the weak root skips it until the object exists */
  r->next = records;
  records = r;
  r->obj = make_port_obj(r);
  return r->obj;
}

static struct port_rec *rec_of(value port)
{
  return ((port_t *)port)->rec;
}

int port_is_open(value port)
{
  return rec_of(port)->buf != NULL;
}

void port_write(value port, const char *s, size_t len)
{
  struct port_rec *r = rec_of(port);
  if (r->buf == NULL)
    scheme_error("write to a closed port; open a new one with open-output-string");
  if (r->len + len > r->cap) {
    size_t cap = r->cap;
    while (r->len + len > cap)
      cap *= 2;
    char *grown = realloc(r->buf, cap);
    if (grown == NULL) {
      fprintf(stderr, "kscheme: out of memory growing a port's buffer to %zu bytes\n", cap);
      exit(1);
    }
    r->buf = grown;
    r->cap = cap;
  }
  memcpy(r->buf + r->len, s, len);
  r->len += len;
}

/* A new string: the buffer is outside the heap, so making it moves nothing
   out from under the copy. */
value port_contents(value port)
{
  struct port_rec *r = rec_of(port);
  if (r->buf == NULL)
    scheme_error("get-output-string on a closed port; read a port before closing it");
  return make_string(r->buf, r->len);
}

void port_close(value port)
{
  struct port_rec *r = rec_of(port);
  free(r->buf);
  r->buf = NULL;
  r->len = r->cap = 0;
}

/* Ports whose buffers are still held: open, and not yet finalized. */
size_t ports_live_count(void)
{
  size_t n = 0;
  for (struct port_rec *r = records; r != NULL; r = r->next)
    n += r->buf != NULL;
  return n;
}
