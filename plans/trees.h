/* trees.h -- the tree shapes of GCBench and binary-trees, written once for
 * every program that runs them: the plan heaps' built-in workloads
 * (plans/workloads.c) and the benchmark on malloc, Boehm and Kiln
 * (bench/bench_gc.c).
 *
 * It owns how a tree is built (bottom-up: children before their parent;
 * top-down: a parent given two new children, which are then filled in),
 * how large a complete tree is, and how many short-lived trees each
 * workload builds at a depth. It owns no memory: the caller supplies a
 * table of node operations and a context, and decides how nodes are
 * allocated, how a child is stored (through a write barrier or not) and
 * how a dropped tree is released.
 *
 * The functions are static inline, so each program compiles its own copy
 * against its own constant table and the compiler can call the operations
 * directly; the header depends on nothing but the C library.
 */
#ifndef KILN_PLANS_TREES_H
#define KILN_PLANS_TREES_H

#include <stddef.h>
#include <stdint.h>

/* The node operations of one program. depth is the depth of the tree the
   new node heads (bottom-up) or of its parent (top-down); a program may
   use it as a payload stamp or ignore it. */
typedef struct tree_ops_s {
  /* A new node with the given children, or NULL on failure. */
  void *(*node)(void *ctx, void *left, void *right, int depth);
  /* Store child as child `which` (0 left, 1 right) of the existing node. */
  void (*set_child)(void *ctx, void *node, int which, void *child);
  /* Child `which` of node, read again after every allocation because a
     moving collector may have moved it. */
  void *(*child)(void *ctx, const void *node, int which);
} tree_ops_t;

enum { TREE_MIN_DEPTH = 4 }; /* both workloads start their depth sweep here */

/* Nodes in a complete tree of the given depth. */
static inline uint64_t tree_size(int depth)
{
  return ((uint64_t)1 << (depth + 1)) - 1;
}

/* GCBench's short-lived trees of one depth: as many nodes in all as two
   stretch trees. */
static inline uint64_t tree_gcbench_iters(int depth, int stretch_depth)
{
  return 2 * tree_size(stretch_depth) / tree_size(depth);
}

/* binary-trees' short-lived trees of one depth below max_depth. */
static inline uint64_t tree_binary_trees_iters(int depth, int max_depth)
{
  return (uint64_t)1 << (max_depth - depth + TREE_MIN_DEPTH);
}

/* Bottom-up: both subtrees exist before their parent. The left subtree
   lives in this frame while the right one is built, so the caller's stack
   must be a root, or its nodes must not move. */
static inline void *tree_bottom_up(const tree_ops_t *ops, void *ctx, int depth)
{
  void *left = NULL, *right = NULL;
  if (depth > 0) {
    left = tree_bottom_up(ops, ctx, depth - 1);
    right = tree_bottom_up(ops, ctx, depth - 1);
  }
  return ops->node(ctx, left, right, depth);
}

/* Top-down: give an existing node two new children, then fill them in.
   Each child is allocated before the store, so that a collection during
   the allocation sees the node in a consistent state. */
static inline void tree_populate(const tree_ops_t *ops, void *ctx, int depth, void *node)
{
  if (depth <= 0 || node == NULL)
    return;
  ops->set_child(ctx, node, 0, ops->node(ctx, NULL, NULL, depth));
  ops->set_child(ctx, node, 1, ops->node(ctx, NULL, NULL, depth));
  tree_populate(ops, ctx, depth - 1, ops->child(ctx, node, 0));
  tree_populate(ops, ctx, depth - 1, ops->child(ctx, node, 1));
}

#endif /* KILN_PLANS_TREES_H */
