/* ring.h -- intrusive doubly-linked rings (MPS ring.h), used for every list
 * of arena-owned things. A ring node is its own sentinel when empty. */
#ifndef KILN_RING_H
#define KILN_RING_H

#include <stddef.h>

typedef struct ring_s {
  struct ring_s *next, *prev;
} ring_t;

static inline void ring_init(ring_t *r) { r->next = r->prev = r; }
static inline int ring_empty(const ring_t *r) { return r->next == r; }
static inline void ring_append(ring_t *r, ring_t *n)
{
  n->prev = r->prev; n->next = r;
  r->prev->next = n; r->prev = n;
}
static inline void ring_remove(ring_t *n)
{
  n->prev->next = n->next; n->next->prev = n->prev;
  ring_init(n);
}

/* Iterate safely against removal of the current node. */
#define RING_FOR(node, ring, nxt) \
  for ((node) = (ring)->next, (nxt) = (node)->next; (node) != (ring); (node) = (nxt), (nxt) = (node)->next)
#define CONTAINER(ptr, type, field) ((type *)(void *)((char *)(ptr) - offsetof(type, field)))

#endif
