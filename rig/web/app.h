/* The parts of a running rigweb, shared by its request handlers: config,
 * accounts, the link to rigd and the SSE fan-out. Built by main.c. */
#ifndef RIG_WEB_APP_H
#define RIG_WEB_APP_H

#include <stdbool.h>

struct web_config;
struct auth;
struct rigd_link;
struct events;
struct station;

struct web_app {
    const struct web_config *cfg;
    struct auth *auth;
    struct rigd_link *link;
    struct events *events;
    struct station *station;
    bool tls;
    char *tls_cert, *tls_key; /* PEM text libmicrohttpd uses while it runs */
};

#endif
