/* Request member tables (see api_args.h). */
#include "daemon/api/api_args.h"

#include <stdio.h>
#include <string.h>

#include "daemon/api/api.h"

/* Bit i of enum api_type, as a client reads it in a message. */
static const char *const type_names[] = {
    "a string", "a number", "true or false", "an array", "an object",
};

const cJSON *api_member(const cJSON *req, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    return cJSON_IsNull(v) ? NULL : v;
}

static bool has_type(const cJSON *v, unsigned types)
{
    return ((types & API_T_STRING) && cJSON_IsString(v)) ||
           ((types & API_T_NUMBER) && cJSON_IsNumber(v)) ||
           ((types & API_T_BOOL) && cJSON_IsBool(v)) ||
           ((types & API_T_ARRAY) && cJSON_IsArray(v)) ||
           ((types & API_T_OBJECT) && cJSON_IsObject(v));
}

/* "a number or a string" */
static void describe_types(unsigned types, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
        if (!(types & (1u << i)))
            continue;
        int w = snprintf(buf + n, len - n, "%s%s", n ? " or " : "", type_names[i]);
        if (w < 0 || (size_t)w >= len - n)
            return;
        n += (size_t)w;
    }
}

int api_members_check(const cJSON *req, const char *what, const struct api_member *members,
                      char *msg, size_t len)
{
    for (const struct api_member *m = members; m && m->name; m++) {
        const cJSON *v = api_member(req, m->name);
        char types[96];
        describe_types(m->types, types, sizeof types);
        if (!v && m->required) {
            snprintf(msg, len, "%s needs \"%s\" (%s)", what, m->name, types);
            return -1;
        }
        if (v && !has_type(v, m->types)) {
            snprintf(msg, len, "\"%s\" must be %s", m->name, types);
            return -1;
        }
    }
    return 0;
}

int api_members_require(struct api_client *c, const cJSON *req, const char *what,
                        const struct api_member *members)
{
    char msg[256];
    if (api_members_check(req, what, members, msg, sizeof msg) == 0)
        return 0;
    api_error(c, req, API_E_BAD_REQUEST, "%s", msg);
    return -1;
}
