/* Action tables and their dispatch; printable-text checks (request.h). */
#include "daemon/request.h"

#include <stdio.h>
#include <string.h>

static const struct rigd_request *find_request(const struct rigd_request *table, const char *name)
{
    for (const struct rigd_request *q = table; q->name; q++)
        if (strcmp(q->name, name) == 0)
            return q;
    return NULL;
}

void rigd_dispatch_action(struct bench *bench, struct api_client *c, const cJSON *req,
                          const char *cls, const struct rigd_request *actions, const char *dflt)
{
    const cJSON *a = api_member(req, "action");
    const char *name = a ? a->valuestring : dflt;
    char what[64];
    if (!name) {
        api_error(c, req, API_E_BAD_REQUEST, "%s needs \"action\" (a string)", cls);
        return;
    }
    const struct rigd_request *q = find_request(actions, name);
    if (!q) {
        char known[160] = "";
        size_t n = 0;
        for (const struct rigd_request *k = actions; k->name && n < sizeof known; k++)
            n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", n ? ", " : "", k->name);
        api_error(c, req, API_E_BAD_ARGUMENT, "unknown %s action \"%.64s\" (%s)", cls, name, known);
        return;
    }
    snprintf(what, sizeof what, "%s %s", cls, q->name);
    if (api_members_require(c, req, what, q->members) == 0)
        q->handle(bench, c, req);
}

/* (UTF-8 is already checked for the whole request line.) */
bool rigd_printable(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}
