/* fuzzobj.c -- the fuzz object format (see fuzzobj.h). Tags: 1 object,
 * 2 forwarded (id holds the new client pointer), 3 padding. */
#include "fuzzobj.h"

#define FZ_HDR(o) (((uint64_t *)(void *)(o))[-1])
#define FZ_TAG(o) ((unsigned)(FZ_HDR(o) & 0xff))
enum { FZ_LIVE = 1, FZ_FWD = 2, FZ_PAD = 3 };

static uint8_t *fz_payload(const fz_obj_t *o) { return (uint8_t *)(void *)&o->ref[o->nrefs]; }
static uint8_t fz_byte(uint64_t id, uint32_t i) { return (uint8_t)(id * 37 + i * 11 + 5); }

size_t fz_obj_size(uint32_t nrefs, uint32_t npay)
{
  return 8 + sizeof(fz_obj_t) + (size_t)nrefs * sizeof(void *) + (((size_t)npay + 7) & ~(size_t)7);
}

static kiln_res_t fz_scan(kiln_ss_t ss, void *base, void *limit)
{
  KILN_SCAN_BEGIN(ss) {
    for (char *p = base; p < (char *)limit; p += FZ_HDR(p) >> 8) {
      fz_obj_t *o = (fz_obj_t *)(void *)p;
      if (FZ_TAG(o) != FZ_LIVE)
        continue;
      for (uint32_t i = 0; i < o->nrefs; i++) {
        kiln_res_t res = KILN_FIX12(ss, (void **)&o->ref[i]);
        if (res != KILN_OK)
          return res;
      }
    }
  } KILN_SCAN_END(ss);
  return KILN_OK;
}

static void *fz_skip(void *obj) { return (char *)obj + (FZ_HDR(obj) >> 8); }

static void fz_fwd(void *old, void *new_)
{
  FZ_HDR(old) = (FZ_HDR(old) & ~(uint64_t)0xff) | FZ_FWD;
  ((fz_obj_t *)old)->id = (uint64_t)(uintptr_t)new_;
}

static void *fz_isfwd(void *obj)
{
  return FZ_TAG(obj) == FZ_FWD ? (void *)(uintptr_t)((fz_obj_t *)obj)->id : NULL;
}

static void fz_pad(void *addr, size_t size) { FZ_HDR(addr) = ((uint64_t)size << 8) | FZ_PAD; }

const kiln_format_t *fz_format(void)
{
  static const kiln_format_t format = {8, 8, fz_scan, fz_skip, fz_fwd, fz_isfwd, fz_pad};
  return &format;
}

fz_obj_t *fz_obj_init(void *p, uint64_t id, uint32_t nrefs, uint32_t npay)
{
  *(uint64_t *)p = ((uint64_t)fz_obj_size(nrefs, npay) << 8) | FZ_LIVE;
  fz_obj_t *o = (fz_obj_t *)(void *)((char *)p + 8);
  o->nrefs = nrefs;
  o->npay = npay;
  o->id = id;
  for (uint32_t i = 0; i < nrefs; i++)
    o->ref[i] = NULL;
  for (uint32_t i = 0; i < npay; i++)
    fz_payload(o)[i] = fz_byte(id, i);
  return o;
}

kiln_res_t fz_obj_new(fz_obj_t **o_o, kiln_ap_t ap, uint64_t id, uint32_t nrefs, uint32_t npay)
{
  size_t size = fz_obj_size(nrefs, npay);
  void *p;
  fz_obj_t *o;
  do {
    kiln_res_t res = kiln_reserve(&p, ap, size);
    if (res != KILN_OK)
      return res;
    o = fz_obj_init(p, id, nrefs, npay);
  } while (!kiln_commit(ap, p, size));
  *o_o = o;
  return KILN_OK;
}

int fz_obj_ok(const fz_obj_t *o, uint64_t id, uint32_t nrefs, uint32_t npay)
{
  if (o == NULL || FZ_TAG(o) != FZ_LIVE || o->id != id || o->nrefs != nrefs || o->npay != npay
      || (FZ_HDR(o) >> 8) != fz_obj_size(nrefs, npay))
    return 0;
  for (uint32_t i = 0; i < npay; i++)
    if (fz_payload(o)[i] != fz_byte(id, i))
      return 0;
  return 1;
}
