/* lotfill DB: make the known lot's station database (lotfill.h) for the
 * browser test's reports. */
#include <stdio.h>
#include <unistd.h>

#include "lotfill.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: lotfill DB\n");
        return 64;
    }
    char err[512];
    struct store *st;
    unlink(argv[1]);
    if (store_open(&st, argv[1], err, sizeof err) < 0 || lotfill(st, err, sizeof err) < 0) {
        fprintf(stderr, "lotfill: %s\n", err);
        return 1;
    }
    store_close(st);
    return 0;
}
