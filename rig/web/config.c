/* rigweb configuration (see config.h). */
#include "web/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "web/util.h"

static int set_str(char **dst, const char *v, char *err, size_t errlen)
{
    char *d = strdup(v);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    free(*dst);
    *dst = d;
    return 0;
}

int config_defaults(struct web_config *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->port = 8080;
    c->session_idle_s = 1800;
    c->session_max_s = 43200;
    c->max_body = 65536;
    c->max_clients = 64;
    c->sse_queue = 1024;
    const char *sock = getenv("RIGD_SOCKET");
    int r = 0;
    r = r ? r : set_str(&c->listen, "127.0.0.1", err, errlen);
    r = r ? r : set_str(&c->rigd_socket, sock && *sock ? sock : "/run/rigd/rigd.sock", err, errlen);
    r = r ? r : set_str(&c->users_file, "/var/lib/rigweb/users.json", err, errlen);
    r = r ? r : set_str(&c->static_dir, "/usr/share/rig/web", err, errlen);
    r = r ? r : set_str(&c->chartjs, "/usr/share/javascript/chart.js/chart.min.js", err, errlen);
    if (r == 0) {
        c->sequences = calloc(1, sizeof *c->sequences);
        if (!c->sequences || !(c->sequences[0].fixture = strdup("default")) ||
            !(c->sequences[0].path = strdup("/usr/share/rig/sequences/eol.json"))) {
            snprintf(err, errlen, "out of memory");
            r = -ENOMEM;
        }
        c->nsequences = c->sequences ? 1 : 0;
    }
    if (r)
        config_free(c);
    return r;
}

void config_free(struct web_config *c)
{
    free(c->listen);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->rigd_socket);
    free(c->users_file);
    free(c->static_dir);
    free(c->chartjs);
    for (size_t i = 0; i < c->nsequences; i++) {
        free(c->sequences[i].fixture);
        free(c->sequences[i].path);
    }
    free(c->sequences);
    memset(c, 0, sizeof *c);
}

/* One member of the config: its name, kind and where it goes. */
enum cfg_kind { CFG_STR, CFG_STR_OR_NULL, CFG_INT, CFG_BOOL, CFG_SIZE, CFG_SEQ };
struct cfg_member {
    const char *name;
    enum cfg_kind kind;
    size_t off;
    long min, max; /* CFG_INT, CFG_SIZE */
};

#define OFF(m) offsetof(struct web_config, m)
static const struct cfg_member members[] = {
    { "listen", CFG_STR, OFF(listen), 0, 0 },
    { "port", CFG_INT, OFF(port), 0, 65535 },
    { "tls_cert", CFG_STR_OR_NULL, OFF(tls_cert), 0, 0 },
    { "tls_key", CFG_STR_OR_NULL, OFF(tls_key), 0, 0 },
    { "insecure_lan", CFG_BOOL, OFF(insecure_lan), 0, 0 },
    { "rigd_socket", CFG_STR, OFF(rigd_socket), 0, 0 },
    { "users_file", CFG_STR, OFF(users_file), 0, 0 },
    { "static_dir", CFG_STR, OFF(static_dir), 0, 0 },
    { "chartjs", CFG_STR, OFF(chartjs), 0, 0 },
    { "sequences", CFG_SEQ, 0, 0, 0 },
    { "session_idle_s", CFG_INT, OFF(session_idle_s), 1, 7 * 86400 },
    { "session_max_s", CFG_INT, OFF(session_max_s), 1, 31 * 86400 },
    { "max_body", CFG_SIZE, OFF(max_body), 1024, 16 * 1024 * 1024 },
    { "max_clients", CFG_INT, OFF(max_clients), 4, 4096 },
    { "sse_queue", CFG_SIZE, OFF(sse_queue), 16, 65536 },
    { NULL, 0, 0, 0, 0 },
};

static int parse_sequences(struct web_config *c, const cJSON *v, char *err, size_t errlen)
{
    if (!cJSON_IsObject(v)) {
        snprintf(err, errlen, "\"sequences\" must be an object {\"FIXTURE\": \"PATH\", ...}");
        return -EINVAL;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    struct web_sequence *s = calloc(n ? n : 1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, v) {
        if (!cJSON_IsString(e) || e->valuestring[0] != '/' || !e->string[0]) {
            snprintf(err, errlen, "\"sequences\": each value must be an absolute path");
            goto fail;
        }
        s[i].fixture = strdup(e->string);
        s[i].path = strdup(e->valuestring);
        i++;
        if (!s[i - 1].fixture || !s[i - 1].path) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    for (size_t k = 0; k < c->nsequences; k++) {
        free(c->sequences[k].fixture);
        free(c->sequences[k].path);
    }
    free(c->sequences);
    c->sequences = s;
    c->nsequences = i;
    return 0;
fail:
    for (size_t k = 0; k < i; k++) {
        free(s[k].fixture);
        free(s[k].path);
    }
    free(s);
    return -EINVAL;
}

static int parse_member(struct web_config *c, const struct cfg_member *m, const cJSON *v, char *err,
                        size_t errlen)
{
    char *base = (char *)c;
    switch (m->kind) {
    case CFG_STR_OR_NULL:
        if (cJSON_IsNull(v)) {
            free(*(char **)(base + m->off));
            *(char **)(base + m->off) = NULL;
            return 0;
        }
        /* fall through */
    case CFG_STR:
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            snprintf(err, errlen, "\"%s\" must be a non-empty string", m->name);
            return -EINVAL;
        }
        return set_str((char **)(base + m->off), v->valuestring, err, errlen);
    case CFG_BOOL:
        if (!cJSON_IsBool(v)) {
            snprintf(err, errlen, "\"%s\" must be true or false", m->name);
            return -EINVAL;
        }
        *(bool *)(base + m->off) = cJSON_IsTrue(v);
        return 0;
    case CFG_INT:
    case CFG_SIZE:
        /* The range first: casting 1e300 to long would be undefined. */
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)m->min) ||
            !(v->valuedouble <= (double)m->max) || v->valuedouble != (double)(long)v->valuedouble) {
            snprintf(err, errlen, "\"%s\" must be a whole number in %ld..%ld", m->name, m->min,
                     m->max);
            return -EINVAL;
        }
        if (m->kind == CFG_INT)
            *(int *)(base + m->off) = (int)v->valuedouble;
        else
            *(size_t *)(base + m->off) = (size_t)v->valuedouble;
        return 0;
    case CFG_SEQ:
        return parse_sequences(c, v, err, errlen);
    }
    return -EINVAL;
}

int config_parse(struct web_config *c, const char *text, size_t len, char *err, size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root || !cJSON_IsObject(root)) {
        snprintf(err, errlen, "not a JSON object");
        cJSON_Delete(root);
        return -EINVAL;
    }
    int r = 0;
    const cJSON *v;
    cJSON_ArrayForEach (v, root) {
        const struct cfg_member *m = members;
        while (m->name && strcmp(m->name, v->string) != 0)
            m++;
        if (!m->name) {
            snprintf(err, errlen, "unknown member \"%.64s\"", v->string);
            r = -EINVAL;
            break;
        }
        if ((r = parse_member(c, m, v, err, errlen)) != 0)
            break;
    }
    cJSON_Delete(root);
    if (r == 0 && (!c->tls_cert) != (!c->tls_key)) {
        snprintf(err, errlen, "\"tls_cert\" and \"tls_key\" go together");
        r = -EINVAL;
    }
    return r;
}

int config_load(struct web_config *c, const char *path, char *err, size_t errlen)
{
    int r = config_defaults(c, err, errlen);
    if (r)
        return r;
    size_t len;
    char *text = NULL;
    r = web_read_file(path, 1 << 20, &text, &len);
    if (r) {
        snprintf(err, errlen, "%s: %s", path, strerror(-r));
        config_free(c);
        return r;
    }
    char e2[200];
    r = config_parse(c, text, len, e2, sizeof e2);
    free(text);
    if (r) {
        snprintf(err, errlen, "%s: %s", path, e2);
        config_free(c);
    }
    return r;
}

const char *config_sequence(const struct web_config *c, const char *id)
{
    const char *def = NULL;
    for (size_t i = 0; i < c->nsequences; i++) {
        if (strcmp(c->sequences[i].fixture, id) == 0)
            return c->sequences[i].path;
        if (strcmp(c->sequences[i].fixture, "default") == 0)
            def = c->sequences[i].path;
    }
    return def;
}

bool config_is_loopback(const char *listen)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(listen, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, listen, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, listen, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

int config_check_security(const struct web_config *c, char *err, size_t errlen)
{
    if (config_is_loopback(c->listen) || c->tls_cert || c->insecure_lan)
        return 0;
    snprintf(err, errlen,
             "refusing to listen on %s without TLS: passwords and session cookies would cross "
             "the network in clear. Set \"tls_cert\" and \"tls_key\", or \"insecure_lan\": true "
             "on a closed network (docs/WEB.md)",
             c->listen);
    return -EPERM;
}
