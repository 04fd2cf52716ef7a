/* gc_malloc.c -- the malloc backend of bench_gc: explicit management.
 *
 * Nodes and arrays come from the process's malloc (glibc, or whatever
 * LD_PRELOAD put in its place) and a tree is freed, node by node, when the
 * workload drops it. This is the cost a collector is competing with: no
 * tracing, but a free per object and no help from the allocator's side.
 */
#include "benchlib.h"
#include "gc_backend.h"

#include <stdio.h>
#include <stdlib.h>

static void m_list(void)
{
  puts("malloc");
}

static void m_init(const char *param, void *cold_end, void **roots, void **roots_limit)
{
  (void)cold_end, (void)roots, (void)roots_limit;
  if (param != NULL)
    bench_die("backend malloc takes no parameter (got '%s')", param);
}

static node_t *m_node(node_t *left, node_t *right)
{
  return gc_node_fill(malloc(sizeof(node_t)), left, right, "malloc");
}
static double *m_array(size_t n)
{
  return gc_array_check(malloc(n * sizeof(double)), n, "malloc");
}
/* Recursion depth is the tree's depth (at most ~25 here). The workloads
   build trees, never DAGs, so every node is freed exactly once. */
static void m_drop_tree(node_t *tree)
{
  if (tree == NULL)
    return;
  m_drop_tree(tree->left);
  m_drop_tree(tree->right);
  free(tree);
}

static void m_drop_array(double *array)
{
  free(array);
}

static void m_stats(gc_stats_t *stats_o)
{
  *stats_o = (gc_stats_t){0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0.0};
}

static void m_finish(void)
{
}

const gc_backend_t gc_malloc_backend = {
  "malloc", m_list, m_init, m_node, m_array, gc_store_plain, m_drop_tree, m_drop_array, m_stats, m_finish,
  NULL, NULL, NULL,
};
