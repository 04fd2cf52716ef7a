/* vm.c -- the OS layer: every mmap/mprotect/madvise/munmap, clocks, and
 * thread-stack access live here (mimalloc's "prim" layer).
 *
 * This is the one file allowed compiler extensions: reading a thread's stack
 * conservatively must not be instrumented by AddressSanitizer, and spilling
 * registers must not be optimised away.
 */
#include "config.h"
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_VALGRIND_MEMCHECK_H
#include <valgrind/memcheck.h>
#endif

size_t vm_page_size(void)
{
  long ps = sysconf(_SC_PAGESIZE);
  return ps > 4096 ? (size_t)ps : 4096;
}

void *vm_reserve(size_t size)
{
  void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* Over-reserve and trim so the result is aligned (zones and page tables want
   an aligned base). */
void *vm_reserve_aligned(size_t size, size_t align)
{
  size_t total = size + align;
  if (total < size)
    return NULL;
  char *p = vm_reserve(total);
  if (p == NULL)
    return NULL;
  uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
  size_t head = a - (uintptr_t)p, tail = total - head - size;
  if (head > 0)
    munmap(p, head);
  if (tail > 0)
    munmap((char *)a + size, tail);
  return (void *)a;
}

int vm_commit(void *base, size_t size)
{
  return mprotect(base, size, PROT_READ | PROT_WRITE) == 0 ? 0 : -1;
}

/* Replacing the mapping drops the pages (and their charge) at once while
   keeping the address range reserved. */
void vm_decommit(void *base, size_t size)
{
  void *p = mmap(base, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
                 -1, 0);
  (void)p;
}

/* Make the OS back committed pages now, so that the first store to them
   later takes no page fault. MADV_POPULATE_WRITE (Linux 5.14) does it in
   one call, several times cheaper than a fault per page on a VM; where
   it is missing or refused, a store to each page does the same. */
void vm_prefault(void *base, size_t size)
{
#ifdef MADV_POPULATE_WRITE
  if (madvise(base, size, MADV_POPULATE_WRITE) == 0)
    return;
#endif
  size_t ps = (size_t)sysconf(_SC_PAGESIZE);
  for (size_t off = 0; off < size; off += ps)
    ((volatile char *)base)[off] = 0;
}

void vm_release(void *base, size_t size) { munmap(base, size); }

int vm_is_mapped(const void *base, size_t size)
{
  size_t ps = (size_t)sysconf(_SC_PAGESIZE);
  unsigned char vec;
  for (size_t off = 0; off < size; off += ps) {
    if (mincore((char *)base + off, ps, &vec) == 0 || errno != ENOMEM)
      return 1;
  }
  return 0;
}

size_t vm_rss(void)
{
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL)
    return 0;
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
    rss = 0;
  fclose(f);
  return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

double vm_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void *vm_stack_cold_end(void)
{
  pthread_attr_t attr;
  void *addr = NULL;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0)
    return NULL;
  pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  return (char *)addr + size;
}

/* setjmp spills the callee-saved registers into the jmp_buf, which lives in
   this frame, below the caller's frames: scanning from here to the cold end
   covers every register that may hold a reference. noinline keeps the frame
   real. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void vm_with_registers(vm_regs_fn fn, void *closure)
{
  jmp_buf regs;
  volatile char marker = 0;
  memset(&regs, 0, sizeof regs);
#if defined(__GNUC__)
  /* glibc's setjmp mangles rbp; this forces every callee-saved register
     into this frame unmangled as well. */
  __builtin_unwind_init();
#endif
  (void)setjmp(regs);
  fn((void *)&marker < (void *)&regs ? (void *)&marker : (void *)&regs, closure);
  (void)marker;
}

/* Copy [lo, hi) of a stack. The words below the caller's frames include
   ASan redzones and dead slots; reading them is the point of conservative
   scanning, so this copy is not instrumented.

   For the same reason the copy is declared defined to Valgrind's Memcheck:
   a dead slot or padding word is as good a candidate pointer as any, and
   without this every word of it would carry its "uninitialised" shadow into
   the fix code, the mark bits and the grey stack, far from here, where no
   suppression could tell it from a real bug. Outside Valgrind the request
   is a few no-op instructions per scan. */
#if defined(__clang__) || defined(__GNUC__)
__attribute__((no_sanitize("address")))
#endif
void vm_copy_stack(void **dst, void *const *lo, void *const *hi)
{
  void **start = dst;
  for (void *const *p = lo; p < hi; p++)
    *dst++ = *(void *const volatile *)p;
#ifdef HAVE_VALGRIND_MEMCHECK_H
  (void)VALGRIND_MAKE_MEM_DEFINED(start, (size_t)(dst - start) * sizeof *start);
#else
  (void)start;
#endif
}
