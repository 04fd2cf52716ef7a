/* desc_layout.h -- the descriptor format's object layout and type record,
 * shared by bindings/desc.c (the format) and the collector's inline copy
 * path (pools/poolutil.h), which reads objects of this format directly
 * instead of calling its scan, skip, fwd and isfwd. Internal to libkiln:
 * clients see kiln_type_t (struct kiln_type_s *) as opaque (<kiln/desc.h>).
 *
 * Layout (all words 8 bytes, objects 8-aligned, at least 16 bytes):
 *   word 0   header: the kiln_type_t address (tag 0), or a marker below
 *   word 1   array types only: the element count
 *   then     the fixed part (type->size bytes, rounded up to whole words)
 *   then     length elements of elem_size bytes
 * Markers, told apart by the header's low three bits (types are malloc'd, so
 * their addresses have them clear):
 *   FWD  header = new address | 1, word 1 = the object's size in bytes
 *   PAD  header = size << 3 | 2 (any size that is a multiple of 8, 8 included)
 */
#ifndef KILN_DESC_LAYOUT_H
#define KILN_DESC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include "kiln.h"

enum { DESC_TAG_MASK = 7, DESC_TAG_OBJ = 0, DESC_TAG_FWD = 1, DESC_TAG_PAD = 2 };
#define DESC_WORD 8u
#define DESC_MAX_BYTES ((size_t)1 << 40) /* bigger objects are surely a mistake */

struct kiln_type_s {
  char *name;
  size_t fixed_words;     /* the fixed part, rounded up to words */
  size_t nrefs;
  size_t *refs;           /* NULL: the first nrefs words */
  size_t elem_size, elem_refs;
  int array;
  size_t bytes;           /* an object's bytes, elements aside: desc_obj_bytes(t, 0) */
  kiln_scan_fn scan;
  void *data;
};

/* Words before the fixed part: the header, and the length of an array. */
static inline size_t desc_head_words(const struct kiln_type_s *t)
{
  return t->array ? 2 : 1;
}

/* Bytes for an object of type t with n elements; 0 on overflow. */
static inline size_t desc_obj_bytes(const struct kiln_type_s *t, size_t n)
{
  if (t->array && n > DESC_MAX_BYTES / t->elem_size)
    return 0;
  size_t bytes = (desc_head_words(t) + t->fixed_words) * DESC_WORD + n * t->elem_size;
  bytes = (bytes + DESC_WORD - 1) & ~(size_t)(DESC_WORD - 1);
  return bytes < 2 * DESC_WORD ? 2 * DESC_WORD : bytes;
}

/* The size of the object (not a marker) o of type t: t->bytes unless it
   is an array, so a fixed-size object's size is one load. */
static inline size_t desc_size_typed(const uint64_t *o, const struct kiln_type_s *t)
{
  return t->array ? desc_obj_bytes(t, (size_t)o[1]) : t->bytes;
}

/* The format is kiln_desc_format() exactly: the collector may then read
   its objects through this layout. */
int desc_format_is(const kiln_format_t *f);

#endif
