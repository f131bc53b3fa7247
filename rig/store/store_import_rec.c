/* store_import_dir with the record reader of the JSON sink: kept apart
 * from the walk (store_import.c) so that linking the walk alone does not
 * need rec_from_json. */
#include "store/store_int.h"

int store_import_dir(struct store *st, const char *dir, struct store_import_stats *out,
                     store_import_error_fn *on_error, void *ctx, char *err, size_t errlen)
{
    static const struct store_loader rec = { rec_from_json, rec_run_free };
    return store_import_dir_with(st, dir, &rec, out, on_error, ctx, err, errlen);
}
