/* symtab.c -- the symbol table: one symbol per name, held weakly.
 *
 * The table lives outside the heap (malloc'd buckets of symbol references)
 * and is a weak root: a collection fixes each entry without keeping its
 * symbol alive, updates the entries of symbols that moved and clears to
 * NULL the entries of symbols nothing else refers to. A symbol that is
 * still referenced from code, data or a global binding (eval.c keeps
 * every defined symbol on a strong list) is found again by name; one that
 * is not is collected, and a later read of the same name makes a new one,
 * which no live object can tell apart from the old.
 */
#include <stdlib.h>
#include <string.h>
#include "scheme.h"

typedef struct bucket_s {
  value *syms;          /* NULL entries are free (never filled or cleared) */
  size_t len, cap;
} bucket_t;

enum { NBUCKETS = 1024 };
static bucket_t buckets[NBUCKETS];
static kiln_root_t weak_root;

static size_t hash_name(const char *name, size_t len)
{
  size_t h = 2166136261u;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)name[i]) * 16777619u;
  return h % NBUCKETS;
}

/* Weak rank: a dead symbol's entry becomes NULL, a moved one's is updated. */
static kiln_res_t scan_table(kiln_ss_t ss, void *closure)
{
  (void)closure;
  KILN_SCAN_BEGIN(ss) {
    for (size_t b = 0; b < NBUCKETS; b++)
      for (size_t i = 0; i < buckets[b].len; i++)
        if (buckets[b].syms[i] != NULL && KILN_FIX12(ss, &buckets[b].syms[i]) != KILN_OK)
          return KILN_FAIL;
  } KILN_SCAN_END(ss);
  return KILN_OK;
}

int symtab_open(kiln_arena_t arena)
{
  if (kiln_root_create_scan(&weak_root, arena, KILN_RANK_WEAK, scan_table, NULL) != KILN_OK) {
    fprintf(stderr, "kscheme: kiln_root_create_scan (the weak symbol table): %s\n",
            kiln_arena_error(arena));
    return 0;
  }
  return 1;
}

void symtab_close(void)
{
  kiln_root_destroy(weak_root);
  for (size_t b = 0; b < NBUCKETS; b++) {
    free(buckets[b].syms);
    buckets[b].syms = NULL;
    buckets[b].len = buckets[b].cap = 0;
  }
}

static int has_name(value sym, const char *name, size_t len)
{
  value s = SYM(sym)->name;
  return hdr_arg(s) == len && memcmp(STR(s)->chars, name, len) == 0;
}

static void insert(bucket_t *b, value sym)
{
  for (size_t i = 0; i < b->len; i++)
    if (b->syms[i] == NULL) {
      b->syms[i] = sym;
      return;
    }
  if (b->len == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 4;
    value *grown = realloc(b->syms, cap * sizeof *grown);
    if (grown == NULL) {
      fprintf(stderr, "kscheme: out of memory growing the symbol table\n");
      exit(1);
    }
    b->syms = grown;
    b->cap = cap;
  }
  b->syms[b->len++] = sym;
}

/* name must not point into the heap: making the symbol may move it. */
value intern(const char *name, size_t len)
{
  bucket_t *b = &buckets[hash_name(name, len)];
  for (size_t i = 0; i < b->len; i++)
    if (b->syms[i] != NULL && has_name(b->syms[i], name, len))
      return b->syms[i];
  value sym = make_symbol(make_string(name, len));
  insert(b, sym);
  return sym;
}

/* Symbols the table holds now: after a full collection, the live ones. */
size_t symtab_count(void)
{
  size_t n = 0;
  for (size_t b = 0; b < NBUCKETS; b++)
    for (size_t i = 0; i < buckets[b].len; i++)
      n += buckets[b].syms[i] != NULL;
  return n;
}
