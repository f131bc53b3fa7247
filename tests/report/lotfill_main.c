/* lotfill DB: make the known lot's station database (lotfill.h) for the
 * browser test's reports.
 * lotfill --import DIR DB: a station database of the record files under
 * DIR (store_import_dir), for a lot report whose runs have records. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lotfill.h"

int main(int argc, char **argv)
{
    bool import = argc == 4 && !strcmp(argv[1], "--import");
    if (argc != 2 && !import) {
        fprintf(stderr, "usage: lotfill DB | lotfill --import DIR DB\n");
        return 64;
    }
    const char *db = argv[argc - 1];
    char err[512];
    struct store *st;
    unlink(db);
    if (store_open(&st, db, err, sizeof err) < 0) {
        fprintf(stderr, "lotfill: %s\n", err);
        return 1;
    }
    int r;
    if (import) {
        struct store_import_stats s;
        r = store_import_dir(st, argv[2], &s, NULL, NULL, err, sizeof err);
        if (r == 0 && (s.failed || !s.imported)) {
            snprintf(err, sizeof err, "%s: %u imported, %u failed", argv[2], s.imported, s.failed);
            r = -1;
        }
    } else {
        r = lotfill(st, err, sizeof err);
    }
    store_close(st);
    if (r < 0) {
        fprintf(stderr, "lotfill: %s\n", err);
        return 1;
    }
    return 0;
}
