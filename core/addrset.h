/* addrset.h -- a hash set of addresses, each with a count (addrset.c):
 * the arena's pinned objects (pin.c, which counts nested pins) and its
 * objects of weak rank (weak.c, which leaves the count at 0). */
#ifndef KILN_ADDRSET_H
#define KILN_ADDRSET_H

#include <stddef.h>

typedef struct addr_entry_s {
  void *addr;                    /* NULL: a free slot */
  size_t count;                  /* the owner's count for addr; 0 when added */
} addr_entry_t;

typedef struct addrset_s {
  addr_entry_t *slots;
  size_t cap, count;             /* slots (a power of two, or 0), addresses */
} addrset_t;

/* addr's entry, or NULL if addr (not NULL) is not in the set. */
addr_entry_t *addrset_find(const addrset_t *s, const void *addr);
/* addr's entry, added with count 0 if addr (not NULL) is not in the set;
   NULL if the set has no memory to grow. Entries found before may move. */
addr_entry_t *addrset_add(addrset_t *s, void *addr);
/* Take entry e (from addrset_find or addrset_add) out of the set. Entries
   found before may move. */
void addrset_remove(addrset_t *s, addr_entry_t *e);
/* Take out every entry whose address gone(addr, closure) is nonzero for. */
void addrset_remove_if(addrset_t *s, int (*gone)(void *addr, void *closure), void *closure);
/* Free the slots and empty the set. */
void addrset_finish(addrset_t *s);

#endif
