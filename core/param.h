/* param.h -- keyword-argument validation against a parameter table.
 *
 * The one place arguments are checked (for the arena and every pool class),
 * so the C API, plans and the CLI give the same errors.
 */
#ifndef KILN_PARAM_H
#define KILN_PARAM_H

#include "pool.h"

/* Resolve args against params into vals (one per param, defaults filled).
   On a bad argument returns KILN_PARAM with a sentence in err:
   "<kind> '<name>': unknown parameter 'x' (did you mean 'y'?)", or
   "<kind>: ..." when name is NULL (kind "arena"; or "pool class" and the
   class's name). Formats nothing on success. */
kiln_res_t param_resolve(pval_t *vals, const kiln_param_t *params, const kiln_arg_t args[],
                         const char *kind, const char *name, char *err, size_t errlen);
size_t param_count(const kiln_param_t *params);
/* Parse "64KB", "2MB", "1GB", "4096" into bytes; 0 on success. */
int param_parse_size(const char *s, size_t *size_o);

#endif
