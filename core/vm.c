/* vm.c -- the OS layer: every mmap/mprotect/madvise/munmap, clocks,
 * thread-stack access and the stopping of threads live here (mimalloc's
 * "prim" layer).
 *
 * This is the one file allowed compiler extensions: reading a thread's stack
 * conservatively must not be instrumented by AddressSanitizer, and spilling
 * registers must not be optimised away.
 *
 * Stopping threads (docs/design.md, §Stopping threads). A collector stops
 * every other registered thread with signals, as MPS and the Boehm GC do
 * on Linux: SIGXCPU asks a thread to stop, SIGXFSZ lets it go (MPS's pair;
 * both are otherwise sent only for CPU and file-size resource limits,
 * which a program that sets them must not combine with several mutator
 * threads). The handlers are process-wide, installed once, and know no
 * arena: each thread's state is its own vm_thread_t (thread-local). The
 * stop handler spills the registers (vm_with_registers), records the stack
 * pointer, posts the semaphore acks and waits in sigsuspend until its
 * resume flag is set; it posts acks again on its way out, so a stopper
 * returns only once every thread has left the handler. One stopper at a
 * time in the process (stop_lock): a thread waiting for it can itself be
 * stopped, as the signal interrupts the wait. Invariants: between
 * vm_threads_stop and vm_threads_resume, each thread whose signal was sent
 * sits in the handler with `hot` set; the kernel's signal frame, which
 * holds every register of the interrupted code, lies between hot and the
 * stack's cold end.
 */
#include "config.h"
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
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

/* Cores this process may run on now, at least 1 and at most
   VM_CORES_MAX: a collector thread per core beyond that waits on memory
   more than it helps. */
unsigned vm_cores(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > VM_CORES_MAX ? VM_CORES_MAX : (unsigned)n;
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
   is a few no-op instructions per scan.

   And for ThreadSanitizer: the range is another thread's stack (stopped,
   or the collector's own), and conservative scanning reads every word of
   it, including ones a third thread writes without synchronising with the
   collector: a struct on a stack that the thread owning it lent to
   workers, which may go on writing it while the owner is stopped. Such a
   word is only a candidate pointer, and a stale or torn value of it is as
   good as any (ambiguous roots pin what they hit, they never write), so
   the copy is not instrumented for races either. */
#if defined(__clang__) || defined(__GNUC__)
__attribute__((no_sanitize("address")))
#endif
#if defined(KILN_TSAN)
__attribute__((no_sanitize("thread")))
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

/* ---- stopping threads ------------------------------------------------ */

#define SIG_STOP SIGXCPU
#define SIG_GO SIGXFSZ

struct vm_thread_s {
  pthread_t id;
  _Atomic(void *) hot;           /* stopped: its stack pointer in the handler */
  atomic_int go;                 /* set by the stopper before SIG_GO */
  int sent;                      /* the stopper sent SIG_STOP to it this round */
};

static _Thread_local struct vm_thread_s self_state;
static sem_t acks;
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static int install_failed;

static void stopped(void *sp, void *closure)
{
  struct vm_thread_s *st = closure;
  atomic_store(&st->hot, sp);
  sem_post(&acks);
#ifdef KILN_TSAN
  /* ThreadSanitizer runs this handler from its queue of deferred signals
     with every signal blocked. A SIG_GO that sigsuspend let through would
     run from a second, nested pass over that queue, which restores the
     wrong mask and leaves the thread with every signal blocked for good
     (the next stop then waits forever). So the flag alone is waited for:
     SIG_GO stays pending until this handler returns, then runs on_go,
     which does nothing. */
  while (!atomic_load(&st->go))
    sched_yield();
#else
  sigset_t wait;
  pthread_sigmask(SIG_SETMASK, NULL, &wait);
  sigdelset(&wait, SIG_GO);
  while (!atomic_load(&st->go))
    sigsuspend(&wait);
#endif
  sem_post(&acks);
}

static void on_stop(int sig)
{
  int saved = errno;
  (void)sig;
  vm_with_registers(stopped, &self_state);
  errno = saved;
}

static void on_go(int sig)
{
  (void)sig; /* wakes sigsuspend; the flag says whether to leave */
}

static void install(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIG_GO); /* pending until the handler's sigsuspend */
  sa.sa_handler = on_stop;
  if (sem_init(&acks, 0, 0) != 0 || sigaction(SIG_STOP, &sa, NULL) != 0)
    install_failed = 1;
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_go;
  if (sigaction(SIG_GO, &sa, NULL) != 0)
    install_failed = 1;
}

vm_thread_t *vm_thread_self(void)
{
  pthread_once(&installed, install);
  if (install_failed)
    return NULL;
  self_state.id = pthread_self();
  return &self_state;
}

static void wait_acks(size_t n)
{
  for (size_t i = 0; i < n; i++)
    while (sem_wait(&acks) != 0 && errno == EINTR)
      ; /* interrupted by a signal: wait again */
}

void vm_threads_stop(vm_thread_t *const *threads, size_t n)
{
  size_t sent = 0;
  vm_lock_stoppable(&stop_lock);
  for (size_t i = 0; i < n; i++) {
    struct vm_thread_s *t = threads[i];
    atomic_store(&t->hot, NULL);
    atomic_store(&t->go, 0);
    t->sent = pthread_kill(t->id, SIG_STOP) == 0;
    sent += (size_t)t->sent;
  }
  wait_acks(sent);
}

void vm_threads_resume(vm_thread_t *const *threads, size_t n)
{
  size_t sent = 0;
  for (size_t i = 0; i < n; i++) {
    struct vm_thread_s *t = threads[i];
    if (!t->sent)
      continue;
    atomic_store(&t->go, 1);
    if (pthread_kill(t->id, SIG_GO) == 0)
      sent++;
    t->sent = 0;
  }
  wait_acks(sent);
  pthread_mutex_unlock(&stop_lock);
}

void *vm_thread_hot(const vm_thread_t *t)
{
  return atomic_load(&((vm_thread_t *)t)->hot);
}

int vm_thread_is_self(const vm_thread_t *t)
{
  return t == &self_state;
}
