/* desc.c -- descriptor formats: object layouts described at run time.
 *
 * Owns kiln_type_t (a described layout) and the one format, kiln_desc_format,
 * that scans, skips, forwards and pads objects of any described type. It is a
 * client of kiln.h only, like any format a VM would write by hand.
 *
 * Object layout and markers: core/desc_layout.h, which the collector's
 * inline copy path shares.
 *
 * Why the type's address rather than a small integer id: scan and skip get no
 * closure, so an integer id would need a process-wide table (global mutable
 * state, shared by every arena, never shrinking). The address is an id that
 * needs no table, costs the same one load, and lets types die with the heap
 * that uses them.
 *
 * Invariants: a type is immutable once created; every object's header names a
 * live type; an object's size is a function of its type and length only.
 */
#include <stdlib.h>
#include <string.h>
#include "kiln/desc.h"
#include "desc_layout.h"

enum { TAG_MASK = DESC_TAG_MASK, TAG_OBJ = DESC_TAG_OBJ, TAG_FWD = DESC_TAG_FWD,
       TAG_PAD = DESC_TAG_PAD };
#define WORD DESC_WORD
#define MAX_BYTES DESC_MAX_BYTES

static uint64_t *words(void *obj)
{
  return obj;
}

/* ---- types ------------------------------------------------------------- */

static kiln_res_t bad_spec(const kiln_type_spec_t *s, const char *why, size_t n)
{
  return kiln_set_error(KILN_PARAM, "kiln_type_create: type '%s': %s (%zu)",
                        s->name != NULL ? s->name : "?", why, n);
}

static kiln_res_t check_spec(const kiln_type_spec_t *s)
{
  if (s->name == NULL || s->name[0] == '\0')
    return kiln_set_error(KILN_PARAM, "kiln_type_create: a type needs a name");
  if (s->size > MAX_BYTES)
    return bad_spec(s, "size is larger than 1 TB", s->size);
  if (s->elem_size > MAX_BYTES)
    return bad_spec(s, "elem_size is larger than 1 TB", s->elem_size);
  size_t fixed_words = (s->size + WORD - 1) / WORD;
  if (s->refs == NULL && s->nrefs > fixed_words)
    return bad_spec(s, "more references than words in the fixed part", s->nrefs);
  for (size_t i = 0; s->refs != NULL && i < s->nrefs; i++) {
    if (s->refs[i] >= fixed_words)
      return bad_spec(s, "a reference word index is outside the fixed part", s->refs[i]);
    if (i > 0 && s->refs[i] <= s->refs[i - 1])
      return bad_spec(s, "reference word indexes must be ascending", s->refs[i]);
  }
  if (s->elem_refs > 0 && s->elem_size % WORD != 0)
    return bad_spec(s, "elements holding references must be whole words; elem_size",
                    s->elem_size);
  /* Compared as a division: elem_refs * WORD can wrap (elem_refs = 2^61 + 1
     gives 8) and would let a type with absurd elem_refs through to scans. */
  if (s->elem_refs > s->elem_size / WORD)
    return bad_spec(s, "more element references than words in an element", s->elem_refs);
  return KILN_OK;
}

kiln_res_t kiln_type_create(kiln_type_t *type_o, const kiln_type_spec_t *spec)
{
  kiln_res_t res = check_spec(spec);
  if (res != KILN_OK)
    return res;
  kiln_type_t t = calloc(1, sizeof *t);
  if (t == NULL)
    goto fail_type;
  t->name = strdup(spec->name);
  if (t->name == NULL)
    goto fail_name;
  if (spec->refs != NULL && spec->nrefs > 0) {
    t->refs = malloc(spec->nrefs * sizeof *t->refs);
    if (t->refs == NULL)
      goto fail_refs;
    memcpy(t->refs, spec->refs, spec->nrefs * sizeof *t->refs);
  }
  t->fixed_words = (spec->size + WORD - 1) / WORD;
  t->nrefs = spec->nrefs;
  t->elem_size = spec->elem_size;
  t->elem_refs = spec->elem_refs;
  t->array = spec->elem_size > 0;
  t->scan = spec->scan;
  t->data = spec->data;
  t->bytes = desc_obj_bytes(t, 0);
  *type_o = t;
  return KILN_OK;
fail_refs:
  free(t->name);
fail_name:
  free(t);
fail_type:
  return kiln_set_error(KILN_MEMORY, "kiln_type_create: out of memory for type '%s'",
                        spec->name);
}

void kiln_type_destroy(kiln_type_t type)
{
  if (type == NULL)
    return;
  free(type->refs);
  free(type->name);
  free(type);
}

const char *kiln_type_name(kiln_type_t type)
{
  return type->name;
}

void *kiln_type_data(kiln_type_t type)
{
  return type->data;
}

/* ---- sizes and accessors ----------------------------------------------- */

size_t kiln_desc_size(kiln_type_t type, size_t length)
{
  if (type == NULL || (!type->array && length != 0))
    return 0;
  return type->array ? desc_obj_bytes(type, length) : type->bytes;
}

kiln_type_t kiln_desc_type(const void *obj)
{
  uint64_t h = *(const uint64_t *)obj;
  return (h & TAG_MASK) == TAG_OBJ ? (kiln_type_t)(uintptr_t)h : NULL;
}

size_t kiln_desc_length(const void *obj)
{
  kiln_type_t t = kiln_desc_type(obj);
  return t != NULL && t->array ? (size_t)((const uint64_t *)obj)[1] : 0;
}

void *kiln_desc_fixed(void *obj)
{
  return words(obj) + desc_head_words(kiln_desc_type(obj));
}

void *kiln_desc_elem(void *obj, size_t i)
{
  kiln_type_t t = kiln_desc_type(obj);
  if (!t->array || i >= words(obj)[1])
    return NULL;
  return (char *)kiln_desc_fixed(obj) + t->fixed_words * WORD + i * t->elem_size;
}

size_t kiln_desc_nslots(const void *obj)
{
  kiln_type_t t = kiln_desc_type(obj);
  return t->nrefs + kiln_desc_length(obj) * t->elem_refs;
}

void **kiln_desc_slot(void *obj, size_t i)
{
  kiln_type_t t = kiln_desc_type(obj);
  void **fixed = kiln_desc_fixed(obj);
  if (i < t->nrefs)
    return &fixed[t->refs != NULL ? t->refs[i] : i];
  i -= t->nrefs;
  if (t->elem_refs == 0 || i / t->elem_refs >= kiln_desc_length(obj))
    return NULL;
  return (void **)kiln_desc_elem(obj, i / t->elem_refs) + i % t->elem_refs;
}

/* ---- allocation ---------------------------------------------------------- */

void kiln_desc_init(void *p, kiln_type_t type, size_t length)
{
  memset(p, 0, desc_obj_bytes(type, length));
  words(p)[0] = (uint64_t)(uintptr_t)type;
  if (type->array)
    words(p)[1] = length;
}

kiln_res_t kiln_desc_alloc(void **obj_o, kiln_ap_t ap, kiln_type_t type, size_t length)
{
  size_t size = kiln_desc_size(type, length);
  if (size == 0)
    return kiln_set_error(KILN_PARAM, "kiln_desc_alloc: %s",
                          type == NULL ? "no type"
                          : !type->array ? "a length for a type that is not an array"
                                         : "the object would be larger than 1 TB");
  void *p;
  do {
    kiln_res_t res = kiln_reserve(&p, ap, size);
    if (res != KILN_OK)
      return res;
    kiln_desc_init(p, type, length);
  } while (!kiln_commit(ap, p, size));
  *obj_o = p;
  return KILN_OK;
}

/* ---- the format ------------------------------------------------------------ */

static size_t size_of(const uint64_t *p)
{
  uint64_t h = p[0];
  switch (h & TAG_MASK) {
  case TAG_OBJ: {
    kiln_type_t t = (kiln_type_t)(uintptr_t)h;
    return t->array ? desc_obj_bytes(t, p[1]) : t->bytes;
  }
  case TAG_FWD:
    return (size_t)p[1];
  default:
    return (size_t)(h >> 3);
  }
}

/* The descriptor's own scan of one object: fixed references, then elements'. */
static kiln_res_t scan_refs(kiln_ss_t ss, uint64_t *o, kiln_type_t t)
{
  void **fixed = (void **)(o + desc_head_words(t));
  kiln_res_t res = KILN_OK;
  for (size_t i = 0; i < t->nrefs && res == KILN_OK; i++)
    res = KILN_FIX12(ss, &fixed[t->refs != NULL ? t->refs[i] : i]);
  if (t->elem_refs == 0 || res != KILN_OK)
    return res;
  char *e = (char *)(fixed + t->fixed_words);
  for (size_t n = o[1]; n > 0; n--, e += t->elem_size)
    for (size_t j = 0; j < t->elem_refs && res == KILN_OK; j++)
      res = KILN_FIX12(ss, (void **)e + j);
  return res;
}

kiln_res_t kiln_desc_scan_refs(kiln_ss_t ss, void *obj)
{
  return scan_refs(ss, obj, kiln_desc_type(obj));
}

static kiln_res_t desc_scan(kiln_ss_t ss, void *base, void *limit)
{
  for (uint64_t *p = base; p < (uint64_t *)limit;) {
    size_t size = size_of(p);
    if ((p[0] & TAG_MASK) == TAG_OBJ) {
      kiln_type_t t = (kiln_type_t)(uintptr_t)p[0];
      kiln_res_t res = t->scan != NULL ? t->scan(ss, p, (char *)p + size) : scan_refs(ss, p, t);
      if (res != KILN_OK)
        return res;
    }
    p += size / WORD;
  }
  return KILN_OK;
}

static void *desc_skip(void *obj)
{
  return (char *)obj + size_of(obj);
}

static void desc_fwd(void *old, void *new_)
{
  uint64_t *o = old;
  uint64_t size = size_of(o);
  o[0] = (uint64_t)(uintptr_t)new_ | TAG_FWD;
  o[1] = size;
}

static void *desc_isfwd(void *obj)
{
  uint64_t h = *(uint64_t *)obj;
  return (h & TAG_MASK) == TAG_FWD ? (void *)(uintptr_t)(h & ~(uint64_t)TAG_MASK) : NULL;
}

static void desc_pad(void *addr, size_t size)
{
  *(uint64_t *)addr = (uint64_t)size << 3 | TAG_PAD;
}

static const kiln_format_t desc_format = {WORD, 0, desc_scan, desc_skip, desc_fwd, desc_isfwd,
                                          desc_pad};

const kiln_format_t *kiln_desc_format(void)
{
  return &desc_format;
}

int desc_format_is(const kiln_format_t *f)
{
  return f->align == desc_format.align && f->header_size == 0 && f->scan == desc_scan &&
         f->skip == desc_skip && f->fwd == desc_fwd && f->isfwd == desc_isfwd &&
         f->pad == desc_pad;
}
