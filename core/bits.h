/* bits.h -- bitmaps over grains (one bit per grain), for pools that keep
 * mark, allocation or object-start maps outside their objects. Word at a
 * time; __builtin_ctzll/clzll are supported by both GCC and Clang. */
#ifndef KILN_BITS_H
#define KILN_BITS_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit words of a bitmap of n bits. */
static inline size_t bits_words(size_t n) { return (n + 63) / 64; }

static inline int bit_get(const uint64_t *m, size_t i) { return (int)(m[i >> 6] >> (i & 63)) & 1; }
static inline void bit_set(uint64_t *m, size_t i) { m[i >> 6] |= (uint64_t)1 << (i & 63); }

static inline void bits_set(uint64_t *m, size_t i, size_t n, int v)
{
  if (n != 0 && (i & 63) + n <= 64) { /* one word: a small object's grains (the mark loop) */
    uint64_t mask = (~(uint64_t)0 >> (64 - n)) << (i & 63);
    m[i >> 6] = v ? m[i >> 6] | mask : m[i >> 6] & ~mask;
    return;
  }
  for (size_t end = i + n; i < end;) {
    size_t w = i >> 6, b = i & 63, k = 64 - b < end - i ? 64 - b : end - i;
    uint64_t mask = (k == 64 ? ~(uint64_t)0 : (((uint64_t)1 << k) - 1)) << b;
    m[w] = v ? m[w] | mask : m[w] & ~mask;
    i += k;
  }
}

/* Shared bitmaps, for markers that mark at once (core/mark.c): atomic
   with relaxed order, as nothing reads a mark to find another datum (the
   markers' join orders the rest). __atomic builtins are GCC's and Clang's. */
static inline uint64_t word_load(const uint64_t *w) { return __atomic_load_n(w, __ATOMIC_RELAXED); }
/* Set bits of *w; 1 if some of them were clear. */
static inline int word_or(uint64_t *w, uint64_t bits)
{
  return (__atomic_fetch_or(w, bits, __ATOMIC_RELAXED) & bits) != bits;
}
static inline void bit_set_shared(uint64_t *m, size_t i) { word_or(&m[i >> 6], (uint64_t)1 << (i & 63)); }
static inline void bits_set_shared(uint64_t *m, size_t i, size_t n)
{
  for (size_t end = i + n; i < end;) {
    size_t b = i & 63, k = 64 - b < end - i ? 64 - b : end - i;
    word_or(&m[i >> 6], (k == 64 ? ~(uint64_t)0 : (((uint64_t)1 << k) - 1)) << b);
    i += k;
  }
}

/* First index >= i whose bit equals v, or n. */
static inline size_t bits_find(const uint64_t *m, size_t i, size_t n, int v)
{
  while (i < n) {
    uint64_t w = v ? m[i >> 6] : ~m[i >> 6];
    w >>= (i & 63);
    if (w != 0) {
      i += (size_t)__builtin_ctzll(w);
      return i < n ? i : n;
    }
    i = (i | 63) + 1;
  }
  return n;
}

/* First index >= i set in both a and b, or n. */
static inline size_t bits_find_both(const uint64_t *a, const uint64_t *b, size_t i, size_t n)
{
  while (i < n) {
    uint64_t w = (a[i >> 6] & b[i >> 6]) >> (i & 63);
    if (w != 0) {
      i += (size_t)__builtin_ctzll(w);
      return i < n ? i : n;
    }
    i = (i | 63) + 1;
  }
  return n;
}

/* Last set index <= i, or (size_t)-1. */
static inline size_t bits_find_back(const uint64_t *m, size_t i)
{
  size_t w = i >> 6;
  uint64_t bits = m[w] & (~(uint64_t)0 >> (63 - (i & 63)));
  for (;;) {
    if (bits != 0)
      return (w << 6) + 63 - (size_t)__builtin_clzll(bits);
    if (w == 0)
      return (size_t)-1;
    bits = m[--w];
  }
}

#endif
