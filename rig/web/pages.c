/* rigweb pages and static files (docs/WEB.md, "Pages"): the HTML pages
 * are files of the static directory; a page route's checks (session,
 * role) ran in http.c before these handlers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web/config.h"
#include "web/handlers.h"
#include "web/route.h"

/* Content types by file name ending. */
static const struct {
    const char *ext, *type;
} types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".woff2", "font/woff2" },
    { ".txt", "text/plain; charset=utf-8" },
    { NULL, NULL },
};

static const char *content_type(const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; types[i].ext; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcmp(name + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static enum MHD_Result send_file(struct web_req *r, const char *path, const char *type,
                                 unsigned status)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        return web_error(r, 404, "not_found", "no such file");
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    /* Pages say who is logged in: never cached. Static files may be. */
    MHD_add_response_header(resp, "Cache-Control", strstr(type, "html") ? "no-store" : "no-cache");
    return web_queue(r, status, resp);
}

static enum MHD_Result send_static(struct web_req *r, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->app->cfg->static_dir, rel);
    return send_file(r, path, content_type(rel), 200);
}

enum MHD_Result page_login(struct web_req *r)
{
    return send_static(r, "login.html");
}

enum MHD_Result page_operator(struct web_req *r)
{
    return send_static(r, "operator.html");
}

enum MHD_Result page_engineer(struct web_req *r)
{
    return send_static(r, "engineer.html");
}

enum MHD_Result page_admin(struct web_req *r)
{
    return send_static(r, "admin.html");
}

enum MHD_Result page_static(struct web_req *r)
{
    const char *rel = r->cap[0];
    if (strcmp(rel, "chart.min.js") == 0)
        return send_file(r, r->app->cfg->chartjs, "text/javascript; charset=utf-8", 200);
    if (!route_safe_path(rel))
        return web_error(r, 404, "not_found", "no such file");
    return send_static(r, rel);
}

enum MHD_Result page_report(struct web_req *r)
{
    /* The run report comes from rig/report (another branch); the lead
     * wires it here at merge. */
    return web_error(r, 501, "not_implemented", "run reports are not available yet (run %s)",
                     r->cap[0]);
}

static enum MHD_Result html(struct web_req *r, unsigned status, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return web_queue(r, status, resp);
}

enum MHD_Result page_redirect_login(struct web_req *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    /* The page's own path goes along so the login page can come back;
     * page paths are fixed names (the routes table), never a URL to elsewhere. */
    char loc[300];
    snprintf(loc, sizeof loc, "/login?next=%s", strcmp(r->url, "/") == 0 ? "/" : r->url);
    for (char *p = loc + 12; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '/' || *p == '-' ||
              *p == '_' || *p == '.'))
            *p = '_';
    MHD_add_response_header(resp, "Location", loc);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return web_queue(r, 303, resp);
}

enum MHD_Result page_forbidden(struct web_req *r)
{
    return html(r, 403,
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>Forbidden</title></head><body><h1>403 Forbidden</h1>"
                "<p>Your role may not open this page.</p><p><a href=\"/\">Operator view</a></p>"
                "</body></html>\n");
}
