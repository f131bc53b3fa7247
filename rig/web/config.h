/* rigweb's configuration (docs/WEB.md, "Config"): one JSON object, every
 * member optional, unknown members refused. config_parse fills a struct
 * web_config from text (outside input: fuzzed by tests/web/fuzz_web_config.c);
 * config_load reads a file. The struct owns its strings (config_free). */
#ifndef RIG_WEB_CONFIG_H
#define RIG_WEB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* The sequence a scan runs on one fixture ("default": any other). */
struct web_sequence {
    char *fixture;
    char *path;
};

struct web_config {
    char *listen;
    int port;
    char *tls_cert, *tls_key;
    bool insecure_lan;
    char *rigd_socket;
    char *users_file;
    char *static_dir;
    char *chartjs;
    struct web_sequence *sequences;
    size_t nsequences;
    int session_idle_s;
    int session_max_s;
    size_t max_body;
    int max_clients;
    size_t sse_queue; /* per browser: samples dropped beyond, cut off at 4x */
};

/* Defaults for every member (RIGD_SOCKET from the environment). */
int config_defaults(struct web_config *c, char *err, size_t errlen);
/* Parses `len` bytes of JSON over the defaults already in *c. Returns 0, or
 * -EINVAL with a message naming the member in err. */
int config_parse(struct web_config *c, const char *text, size_t len, char *err, size_t errlen);
/* config_defaults + config_parse of FILE; -errno when it cannot be read. */
int config_load(struct web_config *c, const char *path, char *err, size_t errlen);
void config_free(struct web_config *c);
/* The sequence for fixture `id` (its own, else "default"), or NULL. */
const char *config_sequence(const struct web_config *c, const char *id);
/* Whether `listen` is a loopback address (127.0.0.0/8, ::1, localhost). */
bool config_is_loopback(const char *listen);
/* The refusal of docs/WEB.md "Security": a LAN address needs TLS or
 * insecure_lan. Returns 0 or -EPERM with the reason in err. */
int config_check_security(const struct web_config *c, char *err, size_t errlen);

#endif
