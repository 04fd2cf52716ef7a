/* bench_stop.c -- the cost of stopping and resuming mutator threads for a
 * collection. Owns nothing but its measurement: an arena with one small
 * pool and no objects, so a collection is almost only its stop and
 * resume; N extra registered threads (0, 1, 2, 4, 8) that sit blocked in
 * a system call (nanosleep) or spin in a loop of their own. Prints, per
 * N, the median time of kiln_arena_collect over many runs, and the time
 * per stopped thread above N = 0.
 *
 *   bench_stop [collections]     (default 2000)
 */
#include <kiln.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_int quit;
static kiln_arena_t arena;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *cold_end(void)
{
  pthread_attr_t attr;
  void *addr = NULL;
  size_t size = 0;
  pthread_getattr_np(pthread_self(), &attr);
  pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  return (char *)addr + size;
}

typedef struct mutator_s {
  int spin;
  atomic_int ready;
} mutator_t;

static void *mutator(void *arg)
{
  mutator_t *m = arg;
  kiln_thread_t thr;
  kiln_root_t root;
  if (kiln_thread_reg(&thr, arena) != KILN_OK ||
      kiln_root_create_thread(&root, arena, thr, cold_end()) != KILN_OK) {
    fprintf(stderr, "bench_stop: %s\n", kiln_arena_error(arena));
    exit(1);
  }
  atomic_store(&m->ready, 1);
  volatile unsigned long n = 0;
  struct timespec ms = {0, 1000000};
  while (!atomic_load(&quit)) {
    if (m->spin)
      n++;
    else
      nanosleep(&ms, NULL);
  }
  kiln_root_destroy(root);
  kiln_thread_dereg(thr);
  return NULL;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_collect(int runs)
{
  double *t = malloc((size_t)runs * sizeof *t);
  for (int i = 0; i < runs; i++) {
    double t0 = now();
    kiln_arena_collect(arena);
    t[i] = now() - t0;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp);
  double m = t[runs / 2];
  free(t);
  return m;
}

int main(int argc, char **argv)
{
  int runs = argc > 1 ? atoi(argv[1]) : 2000;
  static const int counts[] = {0, 1, 2, 4, 8};
  for (int spin = 0; spin <= 1; spin++) {
    double base = 0;
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
      int n = counts[c];
      if (kiln_arena_create(&arena, NULL) != KILN_OK)
        return 1;
      kiln_thread_t me;
      kiln_root_t root;
      kiln_thread_reg(&me, arena);
      kiln_root_create_thread(&root, arena, me, cold_end());
      atomic_store(&quit, 0);
      pthread_t tid[8];
      mutator_t m[8];
      for (int i = 0; i < n; i++) {
        m[i].spin = spin;
        atomic_store(&m[i].ready, 0);
        pthread_create(&tid[i], NULL, mutator, &m[i]);
        while (!atomic_load(&m[i].ready))
          ;
      }
      double med = median_collect(runs);
      if (n == 0)
        base = med;
      printf("%-8s threads %d: collect median %.1f us", spin ? "spinning" : "sleeping", n,
             med * 1e6);
      if (n > 0)
        printf(", %.1f us per stopped thread", (med - base) * 1e6 / n);
      printf("\n");
      atomic_store(&quit, 1);
      for (int i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
      kiln_root_destroy(root);
      kiln_thread_dereg(me);
      kiln_arena_destroy(arena);
    }
  }
  return 0;
}
