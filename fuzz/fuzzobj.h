/* fuzzobj.h -- the object format that both fuzz harnesses, their replay
 * test and the Check suites' object graph (tests/graph.h) allocate: an
 * 8-byte header word before the client pointer, holding the block size
 * (header included) shifted left by 8 and a one-byte tag (the tags are
 * fuzzobj.c's). */
#ifndef KILN_FUZZOBJ_H
#define KILN_FUZZOBJ_H

#include <stdint.h>
#include "kiln.h"

#define FZ_MAX_REFS 4

typedef struct fz_obj_s {
  uint32_t nrefs, npay;
  uint64_t id;               /* the new address once forwarded */
  struct fz_obj_s *ref[];    /* then npay payload bytes, rounded up to 8 */
} fz_obj_t;

const kiln_format_t *fz_format(void);
size_t fz_obj_size(uint32_t nrefs, uint32_t npay);
/* Make the reserved block p (fz_obj_size bytes) a valid object with NULL
   refs and the id's payload; returns its client pointer. */
fz_obj_t *fz_obj_init(void *p, uint64_t id, uint32_t nrefs, uint32_t npay);
/* Reserve, initialise (NULL refs, payload derived from id) and commit one
   object, retrying while a collection intervenes. */
kiln_res_t fz_obj_new(fz_obj_t **o_o, kiln_ap_t ap, uint64_t id, uint32_t nrefs, uint32_t npay);
/* 1 if o is a live object (tag) with this id, shape and an intact payload. */
int fz_obj_ok(const fz_obj_t *o, uint64_t id, uint32_t nrefs, uint32_t npay);

#endif
