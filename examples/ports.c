/* ports.c -- string output ports: heap objects owning malloc'd buffers,
 * closed explicitly by close-port or, when a program drops a port without
 * closing it, finalized after a collection finds it dead.
 *
 * A port object holds only a pointer to its record, which lives outside the
 * heap and owns the buffer; the records form a list so that exit can free
 * them all. Each port object is registered with kiln_finalize when it is
 * made: a collection that finds it unreachable keeps it and queues it.
 * ports_reap, run by the mutator at safe points (opening a port, an
 * explicit collection, between top-level forms), takes the queued ports
 * from kiln_finalized and frees their buffers and records. Nothing is
 * freed inside the collection itself.
 */
#include <stdlib.h>
#include <string.h>
#include "scheme.h"

struct port_rec {
  char *buf;            /* NULL once closed */
  size_t len, cap;
  struct port_rec *next, **link; /* link: the pointer to this record in the list */
};

static struct port_rec *records;
static kiln_arena_t ports_arena;

int ports_open(kiln_arena_t arena)
{
  ports_arena = arena;
  return 1;
}

static void rec_free(struct port_rec *r)
{
  *r->link = r->next;
  if (r->next != NULL)
    r->next->link = r->link;
  free(r->buf);
  free(r);
}

/* At exit every record goes, whether its port was closed or not. */
void ports_close(void)
{
  while (records != NULL)
    rec_free(records);
}

void ports_reap(void)
{
  void *port;
  while (kiln_finalized(ports_arena, &port))
    rec_free(((port_t *)port)->rec);
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
  r->next = records;
  r->link = &records;
  if (records != NULL)
    records->link = &r->next;
  records = r;
  value obj = make_port_obj(r);
  if (kiln_finalize(ports_arena, obj) != KILN_OK) {
    fprintf(stderr, "kscheme: kiln_finalize (a port): %s\n", kiln_arena_error(ports_arena));
    exit(1);
  }
  return obj;
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

/* Ports whose buffers are still held: open, and not yet reaped. */
size_t ports_live_count(void)
{
  size_t n = 0;
  for (struct port_rec *r = records; r != NULL; r = r->next)
    n += r->buf != NULL;
  return n;
}
