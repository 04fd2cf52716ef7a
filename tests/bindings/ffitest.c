/* ffitest.c -- a shared library for tests/lua/ffi.lua to call through kiln.ffi.
 *
 * Built by `make check` only, as tests/bindings/.libs/libffitest.so. Each
 * function exercises one part of the calling convention libffi must get
 * right: integers of every width (sign and zero extension), float and
 * double, pointers in and out, strings in and out, void, more arguments
 * than there are argument registers, and variadic calls. ffitest_workload
 * drives a real Kiln workload on a heap built from a plan the script names,
 * through this library's own copy of Kiln.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "plans/plans.h"

/* Exported for dlsym; -Wmissing-prototypes wants a declaration first. */
#define API __attribute__((visibility("default")))

API int8_t ffitest_add_i8(int8_t a, int8_t b);
API uint8_t ffitest_add_u8(uint8_t a, uint8_t b);
API int16_t ffitest_neg_i16(int16_t a);
API uint16_t ffitest_add_u16(uint16_t a, uint16_t b);
API int32_t ffitest_mul_i32(int32_t a, int32_t b);
API uint32_t ffitest_not_u32(uint32_t a);
API int64_t ffitest_add_i64(int64_t a, int64_t b);
API uint64_t ffitest_shl_u64(uint64_t a, unsigned n);
API long ffitest_sub_long(long a, long b);
API size_t ffitest_size(size_t a);
API char ffitest_upper(char c);
API bool ffitest_not(bool b);
API double ffitest_scale(double x, float f);
API float ffitest_half(float f);
API void ffitest_fill(unsigned char *buf, size_t n, int v);
API int64_t ffitest_sum_i32(const int32_t *a, size_t n);
API int ffitest_out(int *a_o, double *b_o);
API size_t ffitest_strlen(const char *s);
API const char *ffitest_greet(int which);
API void *ffitest_ptr_id(void *p);
API void ffitest_set(int v);
API int ffitest_get(void);
API double ffitest_many(int a, double b, int64_t c, float d, int8_t e, double f, uint16_t g,
                        double h, int i, double j, long k, double l, int m, double n);
API long ffitest_sum_var(int n, ...);
API double ffitest_avg_var(int n, ...);
API int64_t ffitest_workload(const char *plan, const char *workload, uint64_t seed, double scale);

int8_t ffitest_add_i8(int8_t a, int8_t b) { return (int8_t)(a + b); }
uint8_t ffitest_add_u8(uint8_t a, uint8_t b) { return (uint8_t)(a + b); }
int16_t ffitest_neg_i16(int16_t a) { return (int16_t)-a; }
uint16_t ffitest_add_u16(uint16_t a, uint16_t b) { return (uint16_t)(a + b); }
int32_t ffitest_mul_i32(int32_t a, int32_t b) { return a * b; }
uint32_t ffitest_not_u32(uint32_t a) { return ~a; }
/* In uint64_t: the test adds 1 to INT64_MAX, which would overflow an int64_t. */
int64_t ffitest_add_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
uint64_t ffitest_shl_u64(uint64_t a, unsigned n) { return a << n; }
long ffitest_sub_long(long a, long b) { return a - b; }
size_t ffitest_size(size_t a) { return a * 2; }
char ffitest_upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }
bool ffitest_not(bool b) { return !b; }
double ffitest_scale(double x, float f) { return x * f; }
float ffitest_half(float f) { return f / 2; }

void ffitest_fill(unsigned char *buf, size_t n, int v)
{
  memset(buf, v, n);
}

int64_t ffitest_sum_i32(const int32_t *a, size_t n)
{
  int64_t s = 0;
  for (size_t i = 0; i < n; i++)
    s += a[i];
  return s;
}

/* Two out-parameters; returns how many it wrote. */
int ffitest_out(int *a_o, double *b_o)
{
  *a_o = 42;
  *b_o = 2.5;
  return 2;
}

size_t ffitest_strlen(const char *s) { return s == NULL ? (size_t)-1 : strlen(s); }

const char *ffitest_greet(int which)
{
  return which == 0 ? NULL : which == 1 ? "hello" : "hello, world";
}

void *ffitest_ptr_id(void *p) { return p; }

static int counter;
void ffitest_set(int v) { counter = v; }
int ffitest_get(void) { return counter; }

/* Fourteen arguments, seven of them floating: more than x86-64 passes in
   registers for either class once the rest are counted, and mixed widths. */
double ffitest_many(int a, double b, int64_t c, float d, int8_t e, double f, uint16_t g,
                    double h, int i, double j, long k, double l, int m, double n)
{
  return a + b + (double)c + d + e + f + g + h + i + j + (double)k + l + m + n;
}

long ffitest_sum_var(int n, ...)
{
  va_list ap;
  long s = 0;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    s += va_arg(ap, long);
  va_end(ap);
  return s;
}

double ffitest_avg_var(int n, ...)
{
  va_list ap;
  double s = 0;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    s += va_arg(ap, double);
  va_end(ap);
  return n > 0 ? s / n : 0;
}

/* Run a built-in workload on a heap from `plan` (this library's copy of
   Kiln): the workload's checksum, or -1 when the heap or the run failed. */
int64_t ffitest_workload(const char *plan, const char *workload, uint64_t seed, double scale)
{
  kiln_heap_t heap;
  if (kiln_heap_open(&heap, plan, kiln_desc_format(), NULL) != KILN_OK)
    return -1;
  lk_wparams_t wp;
  lk_wparams_default(&wp);
  wp.seed = seed;
  wp.scale = scale;
  lk_wresult_t r;
  kiln_res_t res = lk_workload_run(workload, heap, &wp, &r);
  kiln_heap_close(heap);
  return res == KILN_OK && r.verified ? (int64_t)(r.check & INT64_MAX) : -1;
}
