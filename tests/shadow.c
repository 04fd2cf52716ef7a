/* shadow.c -- the manual pools' shadow model (shadow.h). */
#include "shadow.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static unsigned char pattern(uint32_t id, size_t k)
{
  return (unsigned char)((id * 2654435761u >> 24) ^ (k * 7));
}

static void blk_fill(const blk_t *b)
{
  for (size_t k = 0; k < b->size; k++)
    b->p[k] = pattern(b->id, k);
}

void blk_verify(const blk_t *b, uint64_t seed)
{
  size_t k = 0;
  while (k < b->size && b->p[k] == pattern(b->id, k))
    k++;
  ck_assert_msg(k == b->size, "seed %llu: block %u (%p, %zu bytes) changed at byte %zu",
                (unsigned long long)seed, b->id, (void *)b->p, b->size, k);
}

size_t model_pos(const model_t *m, const unsigned char *p)
{
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->b[mid].p < p)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void model_add(model_t *m, void *p, size_t size, uint32_t id, uint64_t seed)
{
  blk_t nb = {p, size, id};
  size_t i = model_pos(m, nb.p);
  ck_assert_msg(i == 0 || m->b[i - 1].p + m->b[i - 1].size <= nb.p,
                "seed %llu: new block %p+%zu overlaps %p+%zu", (unsigned long long)seed, p, size,
                (void *)m->b[i - 1].p, m->b[i - 1].size);
  ck_assert_msg(i == m->n || nb.p + size <= m->b[i].p,
                "seed %llu: new block %p+%zu overlaps %p", (unsigned long long)seed, p, size,
                (void *)m->b[i].p);
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 256;
    m->b = realloc(m->b, m->cap * sizeof *m->b);
    ck_assert_ptr_nonnull(m->b);
  }
  memmove(&m->b[i + 1], &m->b[i], (m->n - i) * sizeof *m->b);
  m->b[i] = nb;
  m->n++;
  blk_fill(&m->b[i]);
}

blk_t model_take(model_t *m, size_t i)
{
  blk_t b = m->b[i];
  memmove(&m->b[i], &m->b[i + 1], (m->n - i - 1) * sizeof *m->b);
  m->n--;
  return b;
}
