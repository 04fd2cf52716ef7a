/* test_record.c -- recording a heap (core/record.c) and replaying the trace
 * under every plan (plans/replay.c): random graphs recorded under every
 * automatic pool configuration replay with identical counts, a hand-built
 * trace has the deaths it must, and bad files and paths are refused. */
#include "graph.h"
#include "../plans/plans.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const plans[] = {"marksweep", "semispace", "genms", "gencopy",
                                     "sticky", "sticky-inc", "manual", "malloc"};
enum { NPLANS = sizeof plans / sizeof plans[0] };

/* ---- a reader of the trace, independent of the replayer's --------------- */

enum { MAXS = 256 };

typedef struct sync_s {
  uint64_t dead[MAXS], ndead, live, edges;
} sync_t;

typedef struct trace_s {
  uint64_t commits, syncs, commit_slot[MAXS];
  sync_t sync[MAXS];
} trace_t;

static uint64_t get(FILE *f)
{
  uint64_t x = 0;
  for (unsigned shift = 0;; shift += 7) {
    int b = getc(f);
    ck_assert_msg(b != EOF && shift < 64, "the trace ends inside a number");
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return x;
  }
}

static void skip_list(FILE *f, uint64_t *keep, uint64_t *n_o)
{
  uint64_t n = get(f);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t v = get(f);
    if (keep != NULL && i < MAXS)
      keep[i] = v;
  }
  if (n_o != NULL)
    *n_o = n;
}

static void read_sync(FILE *f, trace_t *t)
{
  sync_t *s = &t->sync[t->syncs < MAXS ? t->syncs : MAXS - 1];
  (void)get(f);
  skip_list(f, NULL, NULL);
  skip_list(f, s->dead, &s->ndead);
  s->live = get(f);
  s->edges = get(f);
  t->syncs++;
}

static trace_t read_trace(const char *path)
{
  trace_t t;
  memset(&t, 0, sizeof t);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "no trace file %s", path);
  char magic[9];
  ck_assert(fread(magic, 1, 9, f) == 9 && memcmp(magic, KILN_TRACE_MAGIC, 9) == 0);
  for (int op; (op = getc(f)) != 'E';) {
    ck_assert_msg(op != EOF, "the trace has no end record");
    if (op == 'K') {
      for (uint64_t n = get(f); n > 0; n--)
        (void)getc(f);
      (void)get(f);
    } else if (op == 'A') {
      uint64_t slot = get(f);
      if (t.commits < MAXS)
        t.commit_slot[t.commits] = slot;
      t.commits++;
      (void)get(f);
      (void)get(f);
      skip_list(f, NULL, NULL);
    } else if (op == 'W') {
      (void)get(f);
      (void)get(f);
      (void)get(f);
    } else {
      ck_assert_msg(op == 'S', "unknown record %d", op);
      read_sync(f, &t);
    }
  }
  ck_assert_uint_eq(get(f), t.commits);
  (void)get(f);
  ck_assert_uint_eq(get(f), 0); /* the collector freed nothing the recorder reached */
  ck_assert_uint_eq(get(f), 0); /* the recorder never failed */
  fclose(f);
  return t;
}

static char *temp_path(char *buf, size_t n)
{
  snprintf(buf, n, "/tmp/kiln-test-record-%ld-XXXXXX", (long)getpid());
  int fd = mkstemp(buf);
  ck_assert(fd >= 0);
  close(fd);
  return buf;
}

/* ---- random graphs, recorded and replayed ------------------------------ */

static int one_ms(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[0] = plain_pool(arena, fmt, kiln_class_ms());
  return 1;
}

static int one_copy(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[0] = plain_pool(arena, fmt, kiln_class_copy());
  return 1;
}

static int gen_copy(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[1] = plain_pool(arena, fmt, kiln_class_copy());
  pools[0] = make_gen_aged(arena, fmt, pools[1], 64 << 10, 1);
  return 2;
}

static int gen_ms(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[1] = plain_pool(arena, fmt, kiln_class_ms());
  pools[0] = make_gen_aged(arena, fmt, pools[1], 64 << 10, 0);
  return 2;
}

static int sticky(kiln_arena_t arena, kiln_fmt_t fmt, kiln_pool_t *pools)
{
  pools[0] = make_sticky(arena, fmt, 64 << 10, 0);
  return 1;
}

static int (*const configs[])(kiln_arena_t, kiln_fmt_t, kiln_pool_t *) = {
    one_ms, one_copy, gen_copy, gen_ms, sticky};
enum { NRECORD_CONFIGS = sizeof configs / sizeof configs[0] };

/* Replay path under every plan, the second time with collections at other
   points than the recording's (stress), and check the counts. */
static void replay_everywhere(const char *path, const trace_t *t)
{
  static const kiln_arg_t stress[] = {KILN_ARG_SIZE("arena.stress", 7), KILN_ARGS_END};
  for (int s = 0; s < 2; s++) {
    for (int p = 0; p < NPLANS - s; p++) { /* malloc takes no overrides */
      lk_wresult_t r;
      kiln_stats_t st;
      kiln_res_t res = lk_replay_run(path, plans[p], s ? stress : NULL, 1, &r, &st);
      ck_assert_msg(res == KILN_OK, "replay under %s%s: %s", plans[p], s ? " at stress" : "",
                    lk_error());
      ck_assert_uint_eq(r.objects, t->commits);
      ck_assert_uint_eq(r.check, t->syncs);
      ck_assert(r.verified);
    }
  }
}

START_TEST(test_graph_round_trip)
{
  char path[128];
  temp_path(path, sizeof path);
  kiln_arg_t aargs[] = {KILN_ARG_STR("record", path), KILN_ARGS_END};
  graph_cfg_t cfg = {.make_pools = configs[_i], .arena_args = aargs, .steps = test_scale(4000),
                     .collect_every = 97, .use_barrier = 1, .seed = test_seed(11 + (uint64_t)_i)};
  graph_result_t g = graph_run(&cfg);
  trace_t t = read_trace(path);
  ck_assert_uint_ge(t.commits, 100);
  ck_assert_uint_eq(t.syncs, g.collections);
  replay_everywhere(path, &t);
  unlink(path);
}
END_TEST

/* ---- the recording against a shadow model -------------------------------- */

enum { NOBJ = 400, NROOT = 8, NREF = 3, NSYNC = 40 };

/* A mutator over at most NOBJ objects, each known by its index: a weak
   table holds their addresses (the collector updates it), the shadow their
   references and the roots. */
typedef struct shadow_s {
  void *table[NOBJ];       /* a weak root: NULL once the object died */
  void *roots[NROOT];      /* an exact root */
  int refs[NOBJ][NREF];    /* the shadow: -1 none */
  int root_of[NROOT];
  int alive[NOBJ];
  uint64_t live[NSYNC], edges[NSYNC];
} shadow_t;

static int shadow_mark(const shadow_t *s, int *mark)
{
  int stack[NOBJ], n = 0, live = 0;
  memset(mark, 0, NOBJ * sizeof *mark);
  for (int i = 0; i < NROOT; i++)
    if (s->root_of[i] >= 0 && !mark[s->root_of[i]])
      mark[stack[n++] = s->root_of[i]] = 1;
  while (n > 0) {
    int o = stack[--n];
    live++;
    for (int j = 0; j < NREF; j++)
      if (s->refs[o][j] >= 0 && !mark[s->refs[o][j]])
        mark[stack[n++] = s->refs[o][j]] = 1;
  }
  return live;
}

/* Before collection k: what the recorder must count; the unreachable die. */
static void shadow_collect(shadow_t *s, kiln_arena_t arena, int k)
{
  int mark[NOBJ];
  s->live[k] = (uint64_t)shadow_mark(s, mark);
  s->edges[k] = 0;
  for (int o = 0; o < NOBJ; o++) {
    s->alive[o] &= mark[o];
    for (int j = 0; s->alive[o] && j < NREF; j++)
      s->edges[k] += s->refs[o][j] >= 0;
  }
  kiln_arena_collect(arena);
  for (int o = 0; o < NOBJ; o++)
    T_CHECK((s->table[o] != NULL) == s->alive[o], "object %d: the collector disagrees", o);
}

static int random_alive(const shadow_t *s, uint64_t *rng)
{
  for (int tries = 0; tries < 50; tries++) {
    int o = (int)test_range(rng, 0, NOBJ - 1);
    if (s->alive[o])
      return o;
  }
  return -1;
}

static void shadow_step(shadow_t *s, kiln_arena_t arena, kiln_ap_t ap, uint64_t *rng)
{
  int a = random_alive(s, rng), b = random_alive(s, rng);
  size_t op = test_range(rng, 0, 9);
  if (op < 4) { /* a new object in a free index, referring to a and b */
    int o = (int)test_range(rng, 0, NOBJ - 1);
    if (s->alive[o])
      return;
    gobj_t *refs[NREF] = {a >= 0 ? s->table[a] : NULL, b >= 0 ? s->table[b] : NULL, NULL};
    s->table[o] = gobj_new_refs(ap, (uint64_t)o, NREF, 8, refs);
    s->refs[o][0] = a, s->refs[o][1] = b, s->refs[o][2] = -1;
    s->alive[o] = 1;
    int r = (int)test_range(rng, 0, NROOT - 1);
    s->roots[r] = s->table[o];
    s->root_of[r] = o;
  } else if (op < 8 && a >= 0) { /* a store */
    int j = (int)test_range(rng, 0, NREF - 1);
    gobj_t *obj = s->table[a];
    kiln_write(arena, obj, (void **)&obj->ref[j], b >= 0 ? s->table[b] : NULL);
    s->refs[a][j] = b;
  } else { /* a root changes */
    int r = (int)test_range(rng, 0, NROOT - 1);
    s->roots[r] = a >= 0 ? s->table[a] : NULL;
    s->root_of[r] = a;
  }
}

START_TEST(test_recorder_matches_shadow)
{
  char path[128];
  temp_path(path, sizeof path);
  kiln_arg_t aargs[] = {KILN_ARG_STR("record", path), KILN_ARG_SIZE("budget_min", (size_t)1 << 30),
                        KILN_ARGS_END};
  kiln_arena_t arena;
  ck_assert_ok(kiln_arena_create(&arena, aargs));
  kiln_fmt_t fmt;
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  kiln_pool_t pool = plain_pool(arena, fmt, _i ? kiln_class_copy() : kiln_class_ms());
  kiln_ap_t ap;
  ck_assert_ok(kiln_ap_create(&ap, pool, NULL));
  shadow_t *s = calloc(1, sizeof *s);
  memset(s->refs, 0xff, sizeof s->refs);
  memset(s->root_of, 0xff, sizeof s->root_of);
  kiln_root_t weak, strong;
  ck_assert_ok(kiln_root_create_area(&weak, arena, s->table, s->table + NOBJ, KILN_RANK_WEAK));
  ck_assert_ok(kiln_root_create_area(&strong, arena, s->roots, s->roots + NROOT, KILN_RANK_EXACT));
  uint64_t rng = test_seed(77 + (uint64_t)_i);
  for (int k = 0; k < NSYNC; k++) {
    for (int i = 0; i < 60; i++)
      shadow_step(s, arena, ap, &rng);
    shadow_collect(s, arena, k);
  }
  kiln_root_destroy(weak);
  kiln_root_destroy(strong);
  kiln_ap_destroy(ap);
  kiln_pool_destroy(pool);
  kiln_fmt_destroy(fmt);
  kiln_arena_destroy(arena);
  trace_t t = read_trace(path);
  ck_assert_uint_eq(t.syncs, NSYNC);
  for (int k = 0; k < NSYNC; k++) {
    ck_assert_msg(t.sync[k].live == s->live[k] && t.sync[k].edges == s->edges[k],
                  "collection %d: recorded %llu objects and %llu references, the shadow %llu "
                  "and %llu", k, (unsigned long long)t.sync[k].live,
                  (unsigned long long)t.sync[k].edges, (unsigned long long)s->live[k],
                  (unsigned long long)s->edges[k]);
  }
  free(s);
  replay_everywhere(path, &t);
  unlink(path);
}
END_TEST

/* ---- a trace whose deaths are known ------------------------------------ */

static gobj_t *ref_of(gobj_t *o, int i) { return o->ref[i]; }

START_TEST(test_known_deaths)
{
  char path[128];
  temp_path(path, sizeof path);
  kiln_arg_t aargs[] = {KILN_ARG_STR("record", path), KILN_ARGS_END};
  kiln_arena_t arena;
  ck_assert_ok(kiln_arena_create(&arena, aargs));
  kiln_fmt_t fmt;
  ck_assert_ok(kiln_fmt_create(&fmt, arena, graph_format()));
  kiln_pool_t pool = plain_pool(arena, fmt, kiln_class_ms());
  kiln_ap_t ap;
  ck_assert_ok(kiln_ap_create(&ap, pool, NULL));
  void *roots[1] = {NULL};
  kiln_root_t root;
  ck_assert_ok(kiln_root_create_area(&root, arena, roots, roots + 1, KILN_RANK_EXACT));
  gobj_t *c = gobj_new(ap, 3, 1, 0);
  gobj_t *cref[] = {c};
  gobj_t *b = gobj_new_refs(ap, 2, 1, 0, cref);
  gobj_t *bref[] = {b, NULL}; /* A has two references: B and none */
  roots[0] = gobj_new_refs(ap, 1, 2, 0, bref); /* A -> B -> C */
  kiln_arena_collect(arena);                   /* sync 0: all live */
  (void)gobj_new(ap, 4, 0, 0);                 /* D, never referenced */
  kiln_write(arena, b, (void **)&b->ref[0], NULL);
  kiln_arena_collect(arena);                   /* sync 1: C and D die */
  ck_assert_ptr_eq(ref_of(roots[0], 0), b);
  roots[0] = NULL;
  kiln_arena_collect(arena);                   /* sync 2: A and B die */
  kiln_root_destroy(root);
  kiln_ap_destroy(ap);
  kiln_pool_destroy(pool);
  kiln_fmt_destroy(fmt);
  kiln_arena_destroy(arena);

  trace_t t = read_trace(path);
  ck_assert_uint_eq(t.commits, 4);
  ck_assert_uint_eq(t.syncs, 3);
  uint64_t C = t.commit_slot[0], B = t.commit_slot[1], A = t.commit_slot[2], D = t.commit_slot[3];
  ck_assert_uint_eq(t.sync[0].ndead, 0);
  ck_assert_uint_eq(t.sync[0].live, 3);
  ck_assert_uint_eq(t.sync[0].edges, 2);
  ck_assert_uint_eq(t.sync[1].ndead, 2);
  ck_assert(t.sync[1].dead[0] == C || t.sync[1].dead[1] == C);
  ck_assert(t.sync[1].dead[0] == D || t.sync[1].dead[1] == D);
  ck_assert_uint_eq(t.sync[1].live, 2);
  ck_assert_uint_eq(t.sync[1].edges, 1);
  ck_assert_uint_eq(t.sync[2].ndead, 2);
  ck_assert(t.sync[2].dead[0] == A || t.sync[2].dead[1] == A);
  ck_assert(t.sync[2].dead[0] == B || t.sync[2].dead[1] == B);
  ck_assert_uint_eq(t.sync[2].live, 0);
  replay_everywhere(path, &t);
  /* The oracle freed every object where the recording found it dead. */
  lk_wresult_t r;
  kiln_stats_t st;
  ck_assert_ok(lk_replay_run(path, "manual", NULL, 1, &r, &st));
  ck_assert_uint_eq(st.in_use, 0);
  ck_assert_uint_gt(st.allocated, 0);
  unlink(path);
}
END_TEST

/* ---- the environment and bad input --------------------------------------- */

START_TEST(test_env_names_each_arena)
{
  char path[128], second[160];
  temp_path(path, sizeof path);
  snprintf(second, sizeof second, "%s.2", path);
  setenv("KILN_RECORD", path, 1);
  kiln_arena_t a, b;
  ck_assert_ok(kiln_arena_create(&a, NULL));
  ck_assert_ok(kiln_arena_create(&b, NULL));
  kiln_arena_destroy(a);
  kiln_arena_destroy(b);
  unsetenv("KILN_RECORD");
  trace_t t1 = read_trace(path), t2 = read_trace(second);
  ck_assert_uint_eq(t1.commits + t2.commits, 0);
  unlink(path);
  unlink(second);
}
END_TEST

START_TEST(test_bad_paths_and_files)
{
  kiln_arena_t a;
  kiln_arg_t bad[] = {KILN_ARG_STR("record", "/nonexistent-dir/x.krec"), KILN_ARGS_END};
  ck_assert_res(kiln_arena_create(&a, bad), KILN_IO);
  ck_assert_msg(strstr(kiln_arena_error(NULL), "'record'") != NULL &&
                    strstr(kiln_arena_error(NULL), "/nonexistent-dir/x.krec") != NULL,
                "%s", kiln_arena_error(NULL));
  lk_wresult_t r;
  kiln_stats_t st;
  ck_assert_res(lk_replay_run("/nonexistent-dir/x.krec", "marksweep", NULL, 1, &r, &st), KILN_IO);
  char path[128];
  temp_path(path, sizeof path);
  FILE *f = fopen(path, "wb");
  fputs("not a trace\n", f);
  fclose(f);
  ck_assert_res(lk_replay_run(path, "marksweep", NULL, 1, &r, &st), KILN_PARAM);
  ck_assert_msg(strstr(lk_error(), "not a Kiln trace file") != NULL, "%s", lk_error());
  f = fopen(path, "wb");
  fputs("KILNREC1\nA\x01", f); /* a commit cut short */
  fclose(f);
  ck_assert_res(lk_replay_run(path, "marksweep", NULL, 1, &r, &st), KILN_PARAM);
  ck_assert_msg(strstr(lk_error(), "corrupt") != NULL, "%s", lk_error());
  f = fopen(path, "wb");
  fputs("KILNREC1\n", f); /* no end record */
  fclose(f);
  ck_assert_res(lk_replay_run(path, "marksweep", NULL, 1, &r, &st), KILN_PARAM);
  ck_assert_msg(strstr(lk_error(), "without its end record") != NULL, "%s", lk_error());
  unlink(path);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("record");
  TCase *t = tcase_create("record");
  tcase_set_timeout(t, 600);
  tcase_add_loop_test(t, test_graph_round_trip, 0, NRECORD_CONFIGS);
  tcase_add_loop_test(t, test_recorder_matches_shadow, 0, 2);
  tcase_add_test(t, test_known_deaths);
  tcase_add_test(t, test_env_names_each_arena);
  tcase_add_test(t, test_bad_paths_and_files);
  suite_add_tcase(s, t);
  return s;
}
