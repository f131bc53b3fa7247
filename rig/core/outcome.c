#include "core/outcome.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[] = {
    [OUTCOME_SKIPPED] = "SKIPPED", [OUTCOME_PASS] = "PASS",   [OUTCOME_FAIL] = "FAIL",
    [OUTCOME_TIMEOUT] = "TIMEOUT", [OUTCOME_ERROR] = "ERROR", [OUTCOME_ABORTED] = "ABORTED",
};

const char *outcome_str(enum rig_outcome o)
{
    if ((unsigned)o < sizeof outcome_names / sizeof outcome_names[0])
        return outcome_names[o];
    return "?";
}

int outcome_from_str(const char *s)
{
    for (size_t i = 0; i < sizeof outcome_names / sizeof outcome_names[0]; i++)
        if (strcmp(s, outcome_names[i]) == 0)
            return (int)i;
    return -1;
}

int outcome_exit_code(enum rig_outcome o)
{
    switch (o) {
    case OUTCOME_PASS:
    case OUTCOME_SKIPPED:
        return 0;
    case OUTCOME_FAIL:
        return 1;
    default:
        return 2;
    }
}

enum rig_outcome outcome_worse(enum rig_outcome a, enum rig_outcome b)
{
    return a > b ? a : b;
}

bool problems_any(const struct rig_problems *p)
{
    return p->count > 0 || p->oom;
}

void problems_init(struct rig_problems *p)
{
    memset(p, 0, sizeof *p);
}

void problems_free(struct rig_problems *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->msg[i]);
    free(p->msg);
    problems_init(p);
}

static void append(struct rig_problems *p, char *line, const char *text)
{
    if (p->count == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 8;
        char **n = realloc(p->msg, ncap * sizeof *n);
        if (!n) {
            fprintf(stderr, "out of memory recording problem: %s\n", text);
            free(line);
            p->oom = true; /* a file with problems must never pass */
            return;
        }
        p->msg = n;
        p->cap = ncap;
    }
    if (!line)
        fprintf(stderr, "out of memory recording problem: %s\n", text);
    p->msg[p->count++] = line;
}

void problems_add(struct rig_problems *p, const char *file, const char *path, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    char *line = NULL;
    if (asprintf(&line, "%s: %s: %s", file ? file : "(input)", path && *path ? path : "$", text) <
        0)
        line = NULL;
    append(p, line, text);
}

void problems_add_line(struct rig_problems *p, const char *line)
{
    append(p, strdup(line), line);
}
