/* vm.h -- the OS layer: every system call Kiln makes lives in vm.c.
 *
 * Address space is reserved inaccessible, committed (made read/write) and
 * decommitted (returned to the OS, still reserved) in whole OS pages.
 */
#ifndef KILN_VM_H
#define KILN_VM_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>

size_t vm_page_size(void);
#define VM_CORES_MAX 8
unsigned vm_cores(void);                    /* online cores, 1..VM_CORES_MAX */
void *vm_reserve(size_t size);              /* NULL if refused; aligned to align */
void *vm_reserve_aligned(size_t size, size_t align);
int vm_commit(void *base, size_t size);     /* 0 ok, -1 refused */
void vm_decommit(void *base, size_t size);
void vm_prefault(void *base, size_t size);  /* fault committed pages in now (a hint) */
void vm_release(void *base, size_t size);
int vm_is_mapped(const void *base, size_t size); /* any page of it still mapped? */
size_t vm_rss(void);                        /* resident bytes of this process */
double vm_now(void);                        /* monotonic seconds */

/* Thread stacks. */
void *vm_stack_cold_end(void);              /* highest address of this thread's stack */
typedef void (*vm_regs_fn)(void *sp, void *closure);
/* Spill callee-saved registers onto the stack, then call fn with the current
   stack pointer (the hot end): everything between it and the cold end holds
   this thread's possible references. */
void vm_with_registers(vm_regs_fn fn, void *closure);

/* Stopping threads (see vm.c). A vm_thread_t is a thread's own state,
   valid while it lives; vm_thread_self installs the process-wide handlers
   on first use (NULL if the OS refuses them). vm_threads_stop stops each
   of threads (never the caller) and returns when all are stopped;
   vm_thread_hot is then the stack pointer a stopped thread recorded (NULL
   if it could not be signalled: it exited unregistered). vm_threads_resume
   lets them all go and returns when all have left the handler. One
   stop-resume pair at a time in the process: a second stopper waits. */
typedef struct vm_thread_s vm_thread_t;
vm_thread_t *vm_thread_self(void);
void vm_threads_stop(vm_thread_t *const *threads, size_t n);
void vm_threads_resume(vm_thread_t *const *threads, size_t n);
void *vm_thread_hot(const vm_thread_t *t);
int vm_thread_is_self(const vm_thread_t *t);

/* Copy the words of a stack range without sanitizer instrumentation. */
void vm_copy_stack(void **dst, void *const *lo, void *const *hi);

/* Take a lock that a thread may wait for while another thread, holding
   it, stops every registered thread (the arena lock, the stop lock). A
   ThreadSanitizer build runs a signal handler only as its thread leaves
   an intercepted call, and a wait inside pthread_mutex_lock is not left
   for one: the waiting thread would never take the stop signal, and the
   stopper would wait for its acknowledgement forever. There the lock is
   polled, each failed trylock being an intercepted call left; elsewhere
   the signal interrupts the wait and this is pthread_mutex_lock. */
static inline void vm_lock_stoppable(pthread_mutex_t *lock)
{
#ifdef KILN_TSAN
  while (pthread_mutex_trylock(lock) != 0)
    sched_yield();
#else
  pthread_mutex_lock(lock);
#endif
}

#endif
