/* test_ephemeron.c -- ephemerons (kiln_ss_fix_ephemeron) under every
 * automatic pool configuration, full and minor collections: a WeakMap-like
 * table, an object whose references are key/value pairs. A value reachable
 * only through its entry survives exactly while its key is reachable
 * otherwise; chains (the value of one entry is the key of the next)
 * resolve; a value that refers to its own key does not keep the key alive;
 * the entries of a dead key become NULL. */
#include "testlib.h"
#include "graph.h"

/* The graph format, except that an object whose id has TABLE set holds
   key/value pairs: its scan fixes them as ephemerons. */
#define TABLE ((uint64_t)1 << 40)
#define HDR(o) (((uint64_t *)(void *)(o))[-1])
#define TAG_OBJ 1

/* The young generation's size and the incremental sticky step. */
#define YOUNG (1u << 20)
#define STEP (16u << 10)

static kiln_res_t table_scan(kiln_ss_t ss, void *base, void *limit)
{
  for (char *p = base; p < (char *)limit; p += HDR(p) >> 8) {
    gobj_t *o = (gobj_t *)(void *)p;
    if ((HDR(o) & 0xff) != TAG_OBJ)
      continue;
    for (uint32_t i = 0; i < o->nrefs; i++) {
      kiln_res_t res = (o->id & TABLE) && i + 1 < o->nrefs
          ? kiln_ss_fix_ephemeron(ss, (void **)&o->ref[i], (void **)&o->ref[i + 1])
          : KILN_FIX12(ss, (void **)&o->ref[i]);
      if (res != KILN_OK)
        return res;
      i += (o->id & TABLE) != 0;
    }
  }
  return KILN_OK;
}

static const kiln_format_t *table_format(void)
{
  static kiln_format_t f;
  f = *graph_format();
  f.scan = table_scan;
  return &f;
}


#define NSLOTS 8
typedef struct env_s {
  kiln_arena_t arena;
  kiln_ap_t ap;
  kiln_root_t root;
  void *slots[NSLOTS];
} env_t;

static void env_open(env_t *e, int which)
{
  *e = (env_t){.arena = NULL};
  e->ap = config_ap(&e->arena, NULL, table_format(), which, YOUNG, STEP);
  e->root = exact_area(e->arena, e->slots, NSLOTS);
}

static void env_close(env_t *e)
{
  kiln_root_destroy(e->root);
  kiln_ap_destroy(e->ap);
  kiln_arena_destroy(e->arena);
}

static gobj_t *ref(void *obj, int i) { return ((gobj_t *)obj)->ref[i]; }

/* Table slots[0] with three entries:
   0: key slots[1] (rooted)   -> value 21 (only here): kept;
   1: key 12 (only here)      -> value 22: both cleared;
   2: key 13 (only here)      -> value 23 referring to key 13: both cleared.
   Table slots[2], a chain in reverse order: key C -> D, key B -> C,
   key A -> B, with only A rooted (slots[3]): all kept while A is. */
static void build(env_t *e)
{
  e->slots[0] = gobj_new(e->ap, TABLE | 1, 6, 0);
  e->slots[1] = gobj_new(e->ap, 11, 0, 8);
  gobj_store(e->arena, e->slots[0], 0, e->slots[1]);
  gobj_store(e->arena, e->slots[0], 1, gobj_new(e->ap, 21, 0, 8));
  gobj_store(e->arena, e->slots[0], 2, gobj_new(e->ap, 12, 0, 8));
  gobj_store(e->arena, e->slots[0], 3, gobj_new(e->ap, 22, 0, 8));
  gobj_store(e->arena, e->slots[0], 4, gobj_new(e->ap, 13, 0, 8));
  gobj_t *v = gobj_new(e->ap, 23, 1, 8);
  gobj_store(e->arena, v, 0, ref(e->slots[0], 4));
  gobj_store(e->arena, e->slots[0], 5, v);

  e->slots[2] = gobj_new(e->ap, TABLE | 2, 6, 0);
  e->slots[3] = gobj_new(e->ap, 31, 0, 8);                /* A */
  gobj_store(e->arena, e->slots[2], 4, e->slots[3]);
  gobj_store(e->arena, e->slots[2], 5, gobj_new(e->ap, 32, 0, 8));   /* B */
  gobj_store(e->arena, e->slots[2], 2, ref(e->slots[2], 5));
  gobj_store(e->arena, e->slots[2], 3, gobj_new(e->ap, 33, 0, 8));   /* C */
  gobj_store(e->arena, e->slots[2], 0, ref(e->slots[2], 3));
  gobj_store(e->arena, e->slots[2], 1, gobj_new(e->ap, 34, 0, 8));   /* D */
}

static void check_live(env_t *e, const char *cfg)
{
  gobj_t *t = e->slots[0], *c = e->slots[2];
  gobj_check(t, TABLE | 1);
  ck_assert_msg(ref(t, 0) == e->slots[1], "%s: a live key was not kept (or updated)", cfg);
  ck_assert_msg(ref(t, 1) != NULL, "%s: the value of a live key was cleared", cfg);
  gobj_check(ref(t, 1), 21);
  ck_assert_msg(ref(t, 2) == NULL && ref(t, 3) == NULL, "%s: an entry whose key died was not "
                "cleared", cfg);
  ck_assert_msg(ref(t, 4) == NULL && ref(t, 5) == NULL, "%s: a value referring to its own key "
                "kept the key alive", cfg);
  ck_assert_msg(ref(c, 4) == e->slots[3] && ref(c, 2) == ref(c, 5) && ref(c, 0) == ref(c, 3) &&
                ref(c, 1) != NULL, "%s: a chain of ephemerons did not resolve", cfg);
  gobj_check(ref(c, 5), 32);
  gobj_check(ref(c, 3), 33);
  gobj_check(ref(c, 1), 34);
}

static void check_chain_dead(env_t *e, const char *cfg)
{
  gobj_t *c = e->slots[2];
  for (int i = 0; i < 6; i++)
    ck_assert_msg(ref(c, i) == NULL, "%s: entry slot %d of a chain whose first key died is "
                  "not NULL", cfg, i);
}

START_TEST(test_ephemeron_full)
{
  static env_t e;
  const char *cfg = config_names[_i];
  env_open(&e, _i);
  build(&e);
  kiln_arena_collect(e.arena);
  check_live(&e, cfg);
  kiln_arena_collect(e.arena); /* settled entries stay settled */
  check_live(&e, cfg);
  e.slots[1] = NULL;
  e.slots[3] = NULL;
  kiln_arena_collect(e.arena);
  ck_assert_msg(ref(e.slots[0], 0) == NULL && ref(e.slots[0], 1) == NULL, "%s: the entry of a "
                "key that died was not cleared", cfg);
  check_chain_dead(&e, cfg);
  env_close(&e);
}
END_TEST

/* Minor collections: young tables, keys and values, then the same once
   the table is old. */
START_TEST(test_ephemeron_minor)
{
  int which = CONFIG_GEN_MS + _i;
  const char *cfg = config_names[which];
  static env_t e;
  env_open(&e, which);
  build(&e);
  uint64_t fulls_before = fulls(e.arena);
  gobj_garbage_until_minors(e.arena, e.ap, 2);
  ck_assert_msg(fulls(e.arena) == fulls_before, "%s: a full collection ran", cfg);
  check_live(&e, cfg);
  e.slots[1] = NULL;
  e.slots[3] = NULL;
  gobj_garbage_until_minors(e.arena, e.ap, 2);
  kiln_arena_collect(e.arena);
  check_chain_dead(&e, cfg);

  /* An old table, young keys and values. */
  build(&e);
  kiln_arena_collect(e.arena);
  gobj_store(e.arena, e.slots[0], 2, gobj_new(e.ap, 12, 0, 8));
  gobj_store(e.arena, e.slots[0], 3, gobj_new(e.ap, 22, 0, 8));
  e.slots[4] = gobj_new(e.ap, 14, 0, 8);
  gobj_store(e.arena, e.slots[0], 4, e.slots[4]);
  gobj_store(e.arena, e.slots[0], 5, gobj_new(e.ap, 24, 0, 8));
  fulls_before = fulls(e.arena);
  gobj_garbage_until_minors(e.arena, e.ap, 2);
  ck_assert_msg(fulls(e.arena) == fulls_before, "%s: a full collection ran", cfg);
  gobj_t *t = e.slots[0];
  ck_assert_msg(ref(t, 2) == NULL && ref(t, 3) == NULL, "%s: a minor collection did not clear "
                "an old table's entry whose young key died", cfg);
  ck_assert_msg(ref(t, 4) == e.slots[4] && ref(t, 5) != NULL, "%s: a minor collection did not "
                "keep an old table's entry whose young key lives", cfg);
  gobj_check(ref(t, 5), 24);
  env_close(&e);
}
END_TEST

Suite *test_suite(void)
{
  Suite *s = suite_create("ephemeron");
  TCase *t = suite_add_case(s, "ephemerons", 0);
  tcase_add_loop_test(t, test_ephemeron_full, 0, NCONFIGS);
  tcase_add_loop_test(t, test_ephemeron_minor, 0, NYOUNG_CONFIGS);
  return s;
}
