/* kiln/desc.h -- descriptor formats: a ready-made object format for
 * clients that describe object layouts at run time instead of writing scan
 * functions (bindings/desc.c). Part of libkiln (pkg-config kiln), like the
 * core API of <kiln.h> it builds on; needs neither Lua nor libffi.
 */
#ifndef KILN_DESC_H
#define KILN_DESC_H

#include "kiln.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A ready-made format for clients that describe object layouts at run time
   instead of writing scan functions. An object is one header word, then (for
   an array type) a length word, then the type's fixed part of `size` bytes,
   then `length` elements of `elem_size` bytes. References are aligned words.
   Objects start 8-aligned and take at least 16 bytes.

   The header word is the object's type id: the address of its kiln_type_t,
   whose low three bits leave room for the format's forwarding and padding
   markers. Clients never write the header; kiln_desc_alloc does. A type must
   outlive every object of it (destroy types after the heap). Types are the
   client's, not global state, so any number of arenas may share or not share
   them. */
typedef struct kiln_type_s *kiln_type_t;
typedef struct kiln_type_spec_s {
  const char *name;       /* copied; used in messages */
  size_t size;            /* bytes of the fixed part (a multiple of 8 is not required) */
  size_t nrefs;           /* reference words in the fixed part ... */
  const size_t *refs;     /* ... at these word indexes (ascending); NULL: the first nrefs */
  size_t elem_size;       /* 0: fixed size; else an array type of elements this big */
  size_t elem_refs;       /* the first elem_refs words of each element are references */
  kiln_scan_fn scan;      /* optional: scans one object (obj, obj + its size) in place of
                             the descriptor; it must fix every reference of the object */
  void *data;             /* the client's, returned by kiln_type_data */
} kiln_type_spec_t;

kiln_res_t kiln_type_create(kiln_type_t *type_o, const kiln_type_spec_t *spec);
void kiln_type_destroy(kiln_type_t type);
const char *kiln_type_name(kiln_type_t type);
void *kiln_type_data(kiln_type_t type);
const kiln_format_t *kiln_desc_format(void); /* give to kiln_fmt_create / kiln_heap_open */
/* Bytes an object of the type and length takes (0 if it would overflow). */
size_t kiln_desc_size(kiln_type_t type, size_t length);
/* Allocate a zeroed object through ap (reserve/commit, retried). length must
   be 0 for a fixed-size type. KILN_LIMIT when the heap is full. */
kiln_res_t kiln_desc_alloc(void **obj_o, kiln_ap_t ap, kiln_type_t type, size_t length);
/* Make the kiln_desc_size(type, length) bytes at p a zeroed object: for
   manual pools and for clients writing their own reserve/commit loop. */
void kiln_desc_init(void *p, kiln_type_t type, size_t length);
/* The accessors below take an object made by kiln_desc_alloc/init; on a
   pad or a forwarded object kiln_desc_type returns NULL and the others are
   undefined. */
kiln_type_t kiln_desc_type(const void *obj);
size_t kiln_desc_length(const void *obj);  /* elements; 0 for a fixed-size type */
void *kiln_desc_fixed(void *obj);          /* the fixed part */
void *kiln_desc_elem(void *obj, size_t i); /* element i, NULL if out of range */
/* Reference slots, numbered from 0: the fixed part's, then each element's. */
size_t kiln_desc_nslots(const void *obj);
void **kiln_desc_slot(void *obj, size_t i); /* NULL if out of range */
/* Fix every reference of obj as its descriptor says, ignoring the type's own
   scan function: for a custom scan that wants the default for some objects. */
kiln_res_t kiln_desc_scan_refs(kiln_ss_t ss, void *obj);

#ifdef __cplusplus
}
#endif
#endif /* KILN_DESC_H */
