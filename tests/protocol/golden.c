#include "golden.h"

#include <check.h>
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *golden_dir = NULL;

void golden_set_dir(const char *dir)
{
    golden_dir = dir;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t golden_load(const char *name, uint8_t *buf, size_t cap)
{
    ck_assert_msg(golden_dir != NULL, "golden directory not set (argv[1])");
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s.hex", golden_dir, name);
    ck_assert_msg(n > 0 && (size_t)n < sizeof path, "golden path too long");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));

    size_t len = 0;
    int hi = -1;
    int c;
    bool in_comment = false;
    while ((c = fgetc(f)) != EOF) {
        if (in_comment) {
            in_comment = c != '\n';
            continue;
        }
        if (c == '#') {
            in_comment = true;
            continue;
        }
        if (isspace(c))
            continue;
        int v = hex_value(c);
        ck_assert_msg(v >= 0, "%s: bad character '%c'", path, c);
        if (hi < 0) {
            hi = v;
            continue;
        }
        ck_assert_msg(len < cap, "%s: more than %zu bytes", path, cap);
        buf[len++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    ck_assert_msg(!ferror(f), "%s: read error", path);
    fclose(f);
    ck_assert_msg(hi < 0, "%s: odd number of hex digits", path);
    return len;
}

int golden_run_suite(Suite *s, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
        return 2;
    }
    golden_set_dir(argv[1]);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
