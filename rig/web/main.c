/* rigweb: the operator station's web server (docs/WEB.md). Parses the
 * command line and config, then either adds a user (--add-user) or wires
 * the parts together -- accounts, the rigd link, the SSE fan-out, the HTTP
 * daemon -- and serves until SIGTERM/SIGINT. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/app.h"
#include "web/auth.h"
#include "web/config.h"
#include "web/events.h"
#include "web/http.h"
#include "web/rigd_link.h"
#include "web/station.h"

static void usage(FILE *f)
{
    fputs("usage: rigweb [--config FILE]\n"
          "       rigweb [--config FILE] --add-user NAME --role operator|engineer|admin\n"
          "              (the password is read from stdin, one line)\n",
          f);
}

/* --add-user: the password from stdin (a terminal, a pipe), never argv. */
static int add_user(const struct web_config *cfg, const char *name, const char *role)
{
    char err[300];
    struct auth *a;
    if (role_parse(role) == ROLE_NONE || !auth_valid_name(name)) {
        fprintf(stderr, "rigweb: a name of 1..32 [A-Za-z0-9._-] and a role operator, engineer "
                        "or admin\n");
        return 64;
    }
    if (auth_open(&a, cfg->users_file, cfg->session_idle_s, cfg->session_max_s, err, sizeof err)) {
        fprintf(stderr, "rigweb: %s\n", err);
        return 1;
    }
    char pw[300];
    if (!fgets(pw, sizeof pw, stdin)) {
        fprintf(stderr, "rigweb: no password on stdin\n");
        auth_close(a);
        return 64;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    int r = auth_valid_password(pw) ? auth_user_put(a, name, role_parse(role), pw) : -EINVAL;
    memset(pw, 0, sizeof pw);
    auth_close(a);
    if (r == -EINVAL) {
        fprintf(stderr, "rigweb: a password is 8..256 bytes\n");
        return 64;
    }
    if (r) {
        fprintf(stderr, "rigweb: cannot write %s: %s\n", cfg->users_file,
                r == -EBUSY ? "that would leave no admin" : strerror(-r));
        return 1;
    }
    fprintf(stderr, "rigweb: user %s (%s) saved in %s\n", name, role, cfg->users_file);
    return 0;
}

static int serve(const struct web_config *cfg)
{
    char err[400];
    if (config_check_security(cfg, err, sizeof err)) {
        fprintf(stderr, "rigweb: %s\n", err);
        return 1;
    }
    struct web_app app = { .cfg = cfg };
    if (auth_open(&app.auth, cfg->users_file, cfg->session_idle_s, cfg->session_max_s, err,
                  sizeof err)) {
        fprintf(stderr, "rigweb: %s\n", err);
        return 1;
    }
    if (auth_user_count(app.auth) == 0)
        fprintf(stderr,
                "rigweb: no users in %s yet: add an admin with "
                "`rigweb --add-user NAME --role admin`\n",
                cfg->users_file);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked before any thread starts, so only sigwait below sees them. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = 1;
    struct MHD_Daemon *d = NULL;
    if (station_open(&app.station) || events_open(&app.events, &app)) {
        fprintf(stderr, "rigweb: out of memory\n");
        goto out;
    }
    struct link_callbacks cb = { events_on_rigd_event, events_on_rigd_state, app.events };
    if (link_start(&app.link, cfg->rigd_socket, &cb)) {
        fprintf(stderr, "rigweb: cannot start the rigd link\n");
        goto out;
    }
    int port;
    if (http_start(&app, &d, &port, err, sizeof err)) {
        fprintf(stderr, "rigweb: %s\n", err);
        goto out;
    }
    const char *host = cfg->listen;
    bool v6 = strchr(host, ':') != NULL;
    fprintf(stderr, "rigweb: listening on %s://%s%s%s:%d/ (rigd at %s)\n",
            app.tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", port, cfg->rigd_socket);
    int sig;
    sigwait(&set, &sig);
    fprintf(stderr, "rigweb: %s, exiting\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    rc = 0;
out:
    /* The connections first (their threads use the link and the events):
     * wake the SSE readers, then wait for every connection thread; then
     * the link (its thread publishes to the events); then the events. */
    events_shutdown(app.events);
    http_stop(d);
    link_stop(app.link);
    events_close(app.events);
    free(app.tls_cert);
    free(app.tls_key);
    station_close(app.station);
    auth_close(app.auth);
    return rc;
}

int main(int argc, char **argv)
{
    /* argon2id's 19 MiB working area per login: a fixed mmap threshold
     * gives it back to the system after each login (glibc's adaptive one
     * would keep it in the heap for good). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    const char *config = NULL, *add = NULL, *role = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--config") == 0 || strcmp(a, "--add-user") == 0 ||
             strcmp(a, "--role") == 0) &&
            i + 1 < argc) {
            const char **dst = a[2] == 'c' ? &config : a[2] == 'a' ? &add : &role;
            *dst = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 64;
        }
    }
    if ((add != NULL) != (role != NULL)) {
        usage(stderr);
        return 64;
    }
    struct web_config cfg;
    char err[400];
    int r = config ? config_load(&cfg, config, err, sizeof err)
                   : config_defaults(&cfg, err, sizeof err);
    if (r) {
        fprintf(stderr, "rigweb: %s\n", err);
        return 1;
    }
    int rc = add ? add_user(&cfg, add, role) : serve(&cfg);
    config_free(&cfg);
    return rc;
}
