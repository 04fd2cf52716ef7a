/* shadow.h -- the shadow model of the manual pools' property tests: the
 * live blocks a test has allocated, sorted by address, each filled with a
 * pattern of its id so that an overlap or a stray write shows. */
#ifndef KILN_TEST_SHADOW_H
#define KILN_TEST_SHADOW_H

#include <stddef.h>
#include <stdint.h>

typedef struct blk_s {
  unsigned char *p;
  size_t size;
  uint32_t id;
} blk_t;

typedef struct model_s {
  blk_t *b; /* sorted by address; the test frees it */
  size_t n, cap;
} model_t;

/* The test fails, naming seed, when block b no longer holds its pattern. */
void blk_verify(const blk_t *b, uint64_t seed);
/* Index of the first block at or above p. */
size_t model_pos(const model_t *m, const unsigned char *p);
/* Record a new block and fill it; the test fails if it overlaps a live one. */
void model_add(model_t *m, void *p, size_t size, uint32_t id, uint64_t seed);
/* Remove block i from the model and return it. */
blk_t model_take(model_t *m, size_t i);

#endif
