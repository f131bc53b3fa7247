/* rigweb HTTP: daemon, routes, checks, responses (see http.h). */
#include "web/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/config.h"
#include "web/handlers.h"
#include "web/route.h"
#include "web/util.h"

/* What a route needs before its handler runs. */
enum route_flags {
    R_PAGE = 1,    /* an HTML page: redirect to /login, HTML 403 */
    R_PUBLIC = 2,  /* no session needed */
    R_NO_CSRF = 4, /* a state change without a session yet (login) */
};

struct route {
    const char *method;
    const char *pattern; /* '*' one segment, "**" at the end: the rest */
    enum web_role role;
    unsigned flags;
    web_handler fn;
};

static const struct route routes[] = {
    { "GET", "/login", ROLE_NONE, R_PAGE | R_PUBLIC, page_login },
    { "GET", "/", ROLE_OPERATOR, R_PAGE, page_operator },
    { "GET", "/engineer", ROLE_ENGINEER, R_PAGE, page_engineer },
    { "GET", "/admin", ROLE_ADMIN, R_PAGE, page_admin },
    { "GET", "/static/**", ROLE_NONE, R_PUBLIC, page_static },
    { "GET", "/reports/run/*", ROLE_ENGINEER, R_PAGE, page_report },
    { "GET", "/reports/lot", ROLE_ENGINEER, R_PAGE, page_lot_report },
    { "POST", "/api/login", ROLE_NONE, R_PUBLIC | R_NO_CSRF, api_login },
    { "POST", "/api/logout", ROLE_OPERATOR, 0, api_logout },
    { "GET", "/api/me", ROLE_OPERATOR, 0, api_me },
    { "GET", "/api/station", ROLE_OPERATOR, 0, api_station },
    { "GET", "/api/events", ROLE_OPERATOR, 0, api_events },
    { "POST", "/api/fixtures/*/run", ROLE_OPERATOR, 0, api_run },
    { "POST", "/api/fixtures/*/abort", ROLE_OPERATOR, 0, api_abort },
    { "GET", "/api/history", ROLE_ENGINEER, 0, api_history },
    { "GET", "/api/unit/*", ROLE_ENGINEER, 0, api_unit },
    { "GET", "/api/stats", ROLE_ENGINEER, 0, api_stats },
    { "GET", "/api/devices", ROLE_ENGINEER, 0, api_devices },
    { "GET", "/api/users", ROLE_ADMIN, 0, api_users_list },
    { "POST", "/api/users", ROLE_ADMIN, 0, api_users_add },
    { "PUT", "/api/users/*", ROLE_ADMIN, 0, api_users_set },
    { "DELETE", "/api/users/*", ROLE_ADMIN, 0, api_users_delete },
    { NULL, NULL, ROLE_NONE, 0, NULL },
};

/* The default policy: the pages' own scripts and styles, nothing else. */
static const char default_csp[] = "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                  "script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

static void common_headers(struct MHD_Response *resp, const char *csp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

enum MHD_Result web_queue_csp(struct web_req *r, unsigned status, struct MHD_Response *resp,
                              const char *csp)
{
    if (!resp)
        return MHD_NO;
    common_headers(resp, csp);
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result web_queue(struct web_req *r, unsigned status, struct MHD_Response *resp)
{
    return web_queue_csp(r, status, resp, default_csp);
}

struct MHD_Response *web_json_response(cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text)
        return NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return resp;
}

enum MHD_Result web_json(struct web_req *r, unsigned status, cJSON *body)
{
    return web_queue(r, status, web_json_response(body));
}

enum MHD_Result web_error(struct web_req *r, unsigned status, const char *code, const char *fmt,
                          ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", code);
    cJSON_AddStringToObject(o, "message", msg);
    return web_json(r, status, o);
}

/* Per-connection state while a request body arrives. */
struct conn_ctx {
    char *buf;
    size_t len;
    bool too_big;
};

static bool is_state_change(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "DELETE") == 0;
}

/* An Origin, when the browser sends one, must be this server (Host). */
static bool origin_ok(struct MHD_Connection *c)
{
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return true;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *sep = strstr(origin, "://");
    return host && sep && strcmp(sep + 3, host) == 0;
}

static void peer_address(struct MHD_Connection *c, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, outlen, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)outlen);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)outlen);
}

/* Runs the checks of docs/WEB.md in order (session, role, Origin, CSRF,
 * body), then the handler. */
static enum MHD_Result dispatch(struct web_app *app, struct MHD_Connection *conn, const char *url,
                                const char *method, struct conn_ctx *cx)
{
    struct web_req r = { .app = app, .conn = conn, .method = method, .url = url };
    peer_address(conn, r.client, sizeof r.client);
    char buf[1024];
    if (strlen(url) >= sizeof buf)
        return web_error(&r, 414, "too_long", "URL over %zu bytes", sizeof buf - 1);
    const struct route *rt = NULL;
    bool path_known = false;
    for (const struct route *x = routes; x->pattern; x++) {
        const char *cap[2] = { NULL, NULL };
        if (!route_match(x->pattern, url, buf, sizeof buf, cap))
            continue;
        path_known = true;
        if (strcmp(x->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(x->method, "GET") == 0)) {
            rt = x;
            r.cap[0] = cap[0];
            r.cap[1] = cap[1];
            break;
        }
    }
    if (!rt)
        return path_known ? web_error(&r, 405, "method_not_allowed", "%s not allowed here", method)
                          : web_error(&r, 404, "not_found", "no such path");
    const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "rigweb_session");
    if (cookie && auth_session(app->auth, cookie, &r.sess) != 0)
        r.sess.role = ROLE_NONE;
    if (!(rt->flags & R_PUBLIC)) {
        if (r.sess.role == ROLE_NONE)
            return (rt->flags & R_PAGE) ? page_redirect_login(&r)
                                        : web_error(&r, 401, "unauthorized", "log in first");
        if (r.sess.role < rt->role)
            return (rt->flags & R_PAGE)
                       ? page_forbidden(&r)
                       : web_error(&r, 403, "forbidden", "needs role %s", role_name(rt->role));
    }
    cJSON *body = NULL;
    if (is_state_change(method)) {
        if (!origin_ok(conn))
            return web_error(&r, 403, "forbidden", "cross-origin request refused");
        if (!(rt->flags & R_NO_CSRF)) {
            const char *tok = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
            if (!tok || !web_secure_eq(tok, r.sess.csrf))
                return web_error(&r, 403, "forbidden", "missing or wrong X-CSRF-Token");
        }
        if (cx->too_big)
            return web_error(&r, 413, "too_large", "body over %zu bytes", app->cfg->max_body);
        if (cx->len > 0) {
            const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
            if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
                (ct[16] != '\0' && ct[16] != ';'))
                return web_error(&r, 415, "unsupported_media_type",
                                 "bodies must be application/json");
            body = cJSON_ParseWithLength(cx->buf, cx->len);
            if (!cJSON_IsObject(body)) {
                cJSON_Delete(body);
                return web_error(&r, 400, "bad_request", "the body must be a JSON object");
            }
        } else {
            body = cJSON_CreateObject();
        }
        r.body = body;
    }
    enum MHD_Result ret = rt->fn(&r);
    cJSON_Delete(body);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct web_app *app = cls;
    struct conn_ctx *cx = *con_cls;
    if (!cx) {
        cx = calloc(1, sizeof *cx);
        if (!cx)
            return MHD_NO;
        *con_cls = cx;
        return MHD_YES;
    }
    if (*upload_size) {
        /* Keep reading past the limit (discarding) so the 413 can be sent. */
        if (!cx->too_big && cx->len + *upload_size > app->cfg->max_body) {
            cx->too_big = true;
            free(cx->buf);
            cx->buf = NULL;
            cx->len = 0;
        }
        if (!cx->too_big) {
            char *nb = realloc(cx->buf, cx->len + *upload_size + 1);
            if (!nb)
                return MHD_NO;
            memcpy(nb + cx->len, upload_data, *upload_size);
            cx->buf = nb;
            cx->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(app, conn, url, method, cx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_ctx *cx = *con_cls;
    if (cx) {
        free(cx->buf);
        free(cx);
        *con_cls = NULL;
    }
}

int http_start(struct web_app *app, struct MHD_Daemon **out, int *port, char *err, size_t errlen)
{
    const struct web_config *cfg = app->cfg;
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)cfg->port) };
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port) };
    const struct sockaddr *sa;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    const char *listen = strcmp(cfg->listen, "localhost") == 0 ? "127.0.0.1" : cfg->listen;
    if (inet_pton(AF_INET, listen, &a4.sin_addr) == 1) {
        sa = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, listen, &a6.sin6_addr) == 1) {
        sa = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "\"listen\": %s is not an IP address", cfg->listen);
        return -EINVAL;
    }
    char *cert = NULL, *key = NULL;
    size_t n;
    if (cfg->tls_cert) {
        int r = web_read_file(cfg->tls_cert, 1 << 20, &cert, &n);
        if (r == 0)
            r = web_read_file(cfg->tls_key, 1 << 20, &key, &n);
        if (r) {
            snprintf(err, errlen, "TLS certificate or key: %s", strerror(-r));
            free(cert);
            return r;
        }
        flags |= MHD_USE_TLS;
        app->tls = true;
    }
    struct MHD_OptionItem tls_opts[] = {
        { MHD_OPTION_HTTPS_MEM_CERT, 0, cert },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, key },
        { MHD_OPTION_END, 0, NULL },
    };
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, app, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_clients, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_ARRAY,
        cert ? tls_opts : tls_opts + 2, MHD_OPTION_END);
    /* Kept for the daemon's life (app->tls_*, freed by the caller after
     * http_stop). */
    app->tls_cert = cert;
    app->tls_key = key;
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s port %d (in use, or no permission?)",
                 cfg->listen, cfg->port);
        return -EADDRINUSE;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : cfg->port;
    *out = d;
    return 0;
}

void http_stop(struct MHD_Daemon *d)
{
    if (d)
        MHD_stop_daemon(d);
}
