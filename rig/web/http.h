/* rigweb's HTTP side: the libmicrohttpd daemon, the routes table
 * (docs/WEB.md) and the helpers every handler answers with.
 *
 * libmicrohttpd runs a thread per connection, so a handler may block (on
 * rigd's reply, on an SSE queue); handlers reach shared state only through
 * the thread-safe auth, rigd_link and events modules. A handler gets a
 * struct web_req whose session, role, CSRF and body checks the route's
 * table entry already made, and returns what one of web_json/web_error/...
 * returned. */
#ifndef RIG_WEB_HTTP_H
#define RIG_WEB_HTTP_H

#include <stdarg.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "web/app.h"
#include "web/auth.h"

struct web_req {
    struct web_app *app;
    struct MHD_Connection *conn;
    const char *method, *url;
    const char *cap[2];      /* the route's '*' segments, in order */
    const cJSON *body;       /* POST/PUT with a body: a JSON object */
    struct web_session sess; /* valid when sess.role != ROLE_NONE */
    char client[64];         /* the peer's address (rate limit, log) */
};

typedef enum MHD_Result (*web_handler)(struct web_req *r);

/* Answers with `body` (taken) as JSON and the status. */
enum MHD_Result web_json(struct web_req *r, unsigned status, cJSON *body);
/* Answers {"error":code,"message":...}. */
enum MHD_Result web_error(struct web_req *r, unsigned status, const char *code, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
/* Queues `resp` (destroyed here; NULL: MHD_NO) with the headers every
 * response has (CSP, nosniff, no referrer, no framing). */
enum MHD_Result web_queue(struct web_req *r, unsigned status, struct MHD_Response *resp);
/* The same with another Content-Security-Policy (reports: inline styles). */
enum MHD_Result web_queue_csp(struct web_req *r, unsigned status, struct MHD_Response *resp,
                              const char *csp);
/* `body` (taken) as a JSON response with its content type, not queued
 * (the caller may add headers); NULL when out of memory. */
struct MHD_Response *web_json_response(cJSON *body);

/* Starts serving app->cfg's listen address and port. 0 with *out and the
 * bound port in *port, or -errno with a message. The TLS certificate and
 * key it read stay in app->tls_cert/tls_key (the caller frees them after
 * http_stop, also after a failure). */
int http_start(struct web_app *app, struct MHD_Daemon **out, int *port, char *err, size_t errlen);
void http_stop(struct MHD_Daemon *d);

#endif
