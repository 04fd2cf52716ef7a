/* mvff.c -- placeholder: being written (manual variable-size first-fit). */
#include "config.h"
#include "pool.h"

static const kiln_param_t mvff_params[] = {{NULL, KILN_ARGT_END, NULL, 0, 0, NULL}};
static kiln_res_t mvff_init(pool_t pool, const pval_t *v)
{
  (void)v;
  return arena_errorf(pool->arena, KILN_UNIMPL, "mvff: not built yet");
}
static void mvff_finish(pool_t pool) { (void)pool; }
const struct kiln_class_s pool_class_mvff = {
  "mvff", "manual pool of variable-size blocks", sizeof(struct kiln_pool_s), CLASS_MANUAL,
  mvff_params, mvff_init, mvff_finish, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
