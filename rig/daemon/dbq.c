/* The station database's API classes (docs/API.md "history", "unit",
 * "stats", "import"): each request becomes a job run on a thread of its
 * own (a GLib thread pool of one thread with its own read connection to
 * the database), so a long query (stats over 100 000 runs: ~0.5 s) never
 * holds the event loop; the reply is sent from the event thread when the
 * job is done (an eventfd wakes it). A client that disconnects meanwhile
 * gets nothing; its job still completes and is freed.
 *
 * import reads record files with rigd's rights, so it is for root and
 * rigd's own user only (permission_denied for others), and takes an
 * absolute directory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib.h>

#include "daemon/handlers.h"
#include "daemon/log.h"
#include "daemon/request.h"
#include "store/store.h"

#define DBQ_LIMIT_MAX   1000 /* history: runs per reply */
#define DBQ_IMPORT_ERRS 20   /* import: failed files named in the reply */

enum dbq_kind { DBQ_HISTORY, DBQ_UNIT, DBQ_STATS, DBQ_IMPORT };

struct dbq_job {
    struct dbq_job *next, **pprev; /* in dbq->jobs (event thread) */
    struct dbq *q;
    struct api_client *c; /* NULL once the client is gone */
    cJSON *req;           /* a copy; the filter's strings point into it */
    enum dbq_kind kind;
    struct store_filter f;
    const char *arg; /* unit: serial; import: dir */
    /* filled by the pool thread */
    int rc;
    char err[512];
    cJSON *out;
    struct store_import_stats imp;
    cJSON *imp_errors;
};

struct dbq {
    struct rigd *r;
    GThreadPool *pool;
    struct store *st; /* the pool thread's connection */
    int efd;
    sd_event_source *src;
    pthread_mutex_t lock;
    GQueue done; /* jobs finished, under lock */
    struct dbq_job *jobs;
};

static const char *str_of(const cJSON *req, const char *key)
{
    const cJSON *v = api_member(req, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void import_error(void *ctx, const char *file, const char *msg)
{
    struct dbq_job *j = ctx;
    if (cJSON_GetArraySize(j->imp_errors) >= DBQ_IMPORT_ERRS)
        return;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "file", file);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddItemToArray(j->imp_errors, e);
}

/* Pool thread. */
static void run_job(gpointer data, gpointer user)
{
    struct dbq_job *j = data;
    struct dbq *q = user;
    switch (j->kind) {
    case DBQ_HISTORY:
        if (j->arg) { /* one run by its id: a list of one, so the reply keeps its shape */
            cJSON *one = NULL;
            j->rc = store_find_run(q->st, j->arg, &one, j->err, sizeof j->err);
            if (j->rc == 0 && (j->out = cJSON_CreateArray()) != NULL)
                cJSON_AddItemToArray(j->out, one);
            else if (j->rc == 0) {
                cJSON_Delete(one);
                j->rc = -ENOMEM;
                snprintf(j->err, sizeof j->err, "out of memory");
            }
            break;
        }
        j->rc = store_history(q->st, &j->f, &j->out, j->err, sizeof j->err);
        break;
    case DBQ_UNIT:
        j->rc = store_unit(q->st, j->arg, &j->out, j->err, sizeof j->err);
        break;
    case DBQ_STATS:
        j->rc = store_stats(q->st, &j->f, &j->out, j->err, sizeof j->err);
        break;
    case DBQ_IMPORT:
        j->imp_errors = cJSON_CreateArray();
        j->rc = store_import_dir(q->st, j->arg, &j->imp, import_error, j, j->err, sizeof j->err);
        break;
    }
    pthread_mutex_lock(&q->lock);
    g_queue_push_tail(&q->done, j);
    pthread_mutex_unlock(&q->lock);
    uint64_t one = 1;
    if (write(q->efd, &one, sizeof one) < 0) {
        /* the counter cannot overflow here; nothing else to do */
    }
}

static void job_free(struct dbq_job *j)
{
    if (j->pprev) {
        *j->pprev = j->next;
        if (j->next)
            j->next->pprev = j->pprev;
    }
    cJSON_Delete(j->req);
    cJSON_Delete(j->out);
    cJSON_Delete(j->imp_errors);
    free(j);
}

static cJSON *import_body(struct dbq_job *j)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "dir", j->arg);
    cJSON_AddNumberToObject(b, "files", j->imp.files);
    cJSON_AddNumberToObject(b, "records", j->imp.records);
    cJSON_AddNumberToObject(b, "imported", j->imp.imported);
    cJSON_AddNumberToObject(b, "present", j->imp.present);
    cJSON_AddNumberToObject(b, "failed", j->imp.failed);
    cJSON_AddItemToObject(b, "errors", j->imp_errors);
    j->imp_errors = NULL;
    return b;
}

static void reply_job(struct dbq_job *j)
{
    if (!j->c)
        return;
    if (j->rc < 0) {
        const char *code = j->rc == -EINVAL                        ? API_E_BAD_ARGUMENT
                           : j->rc == -ENOENT || j->rc == -ENOTDIR ? API_E_NOT_FOUND
                           : j->rc == -EACCES                      ? API_E_PERMISSION
                                                                   : API_E_DATABASE;
        api_error(j->c, j->req, code, "%s", j->err);
        return;
    }
    cJSON *body = NULL;
    if (j->kind == DBQ_HISTORY) {
        body = cJSON_CreateObject();
        cJSON_AddItemToObject(body, "runs", j->out);
        j->out = NULL;
    } else if (j->kind == DBQ_IMPORT) {
        body = import_body(j);
    } else {
        body = j->out; /* an object: unit or stats */
        j->out = NULL;
    }
    api_reply(j->c, j->req, body);
}

/* Event thread: reply for every finished job. */
static int on_done(sd_event_source *s, int fd, uint32_t revents, void *user)
{
    (void)s;
    (void)revents;
    struct dbq *q = user;
    uint64_t n;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        log_msg(LOG_WARNING, "database queries: eventfd: %s", strerror(errno));
    for (;;) {
        pthread_mutex_lock(&q->lock);
        struct dbq_job *j = g_queue_pop_head(&q->done);
        pthread_mutex_unlock(&q->lock);
        if (!j)
            break;
        reply_job(j);
        job_free(j);
    }
    return 0;
}

struct dbq *dbq_new(struct rigd *r, char *err, size_t errlen)
{
    struct dbq *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    q->r = r;
    q->efd = -1;
    pthread_mutex_init(&q->lock, NULL);
    g_queue_init(&q->done);
    char why[400];
    GError *gerr = NULL;
    int rc;
    if (store_open(&q->st, r->cfg.database, why, sizeof why) < 0) {
        snprintf(err, errlen, "database %.300s: %.190s", r->cfg.database, why);
    } else if ((q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        snprintf(err, errlen, "database queries: eventfd: %s", strerror(errno));
    } else if ((rc = sd_event_add_io(r->ev, &q->src, q->efd, EPOLLIN, on_done, q)) < 0) {
        snprintf(err, errlen, "database queries: %s", strerror(-rc));
    } else if (!(q->pool = g_thread_pool_new(run_job, q, 1, FALSE, &gerr))) {
        snprintf(err, errlen, "database queries: %s", gerr ? gerr->message : "no thread");
        g_clear_error(&gerr);
    } else {
        return q;
    }
    dbq_free(q);
    return NULL;
}

void dbq_free(struct dbq *q)
{
    if (!q)
        return;
    if (q->pool)
        g_thread_pool_free(q->pool, TRUE, TRUE); /* drop queued jobs, wait for the running one */
    /* Jobs still listed were queued (dropped) or done without a reply. */
    while (q->jobs)
        job_free(q->jobs);
    g_queue_clear(&q->done);
    q->src = sd_event_source_disable_unref(q->src);
    if (q->efd >= 0)
        close(q->efd);
    store_close(q->st);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void dbq_client_gone(struct dbq *q, const struct api_client *c)
{
    for (struct dbq_job *j = q ? q->jobs : NULL; j; j = j->next)
        if (j->c == c)
            j->c = NULL;
}

/* ---- the requests ---------------------------------------------------- */

static bool filter_text_ok(struct api_client *c, const cJSON *req, const char *key, size_t max)
{
    const char *s = str_of(req, key);
    if (!s || (*s && strlen(s) < max && rigd_printable(s, max)))
        return true;
    api_error(c, req, API_E_BAD_ARGUMENT, "\"%s\" must be 1..%zu printable characters", key,
              max - 1);
    return false;
}

static void submit(struct rigd *r, struct api_client *c, const cJSON *req, enum dbq_kind kind,
                   const char *arg_key)
{
    struct dbq *q = r->dbq;
    if (!q) {
        api_error(c, req, API_E_INVALID_STATE,
                  "the station has no database (\"database\": false in its config)");
        return;
    }
    static const char *const texts[] = { "dut",     "since",   "until",
                                         "outcome", "fixture", "measurement" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (!filter_text_ok(c, req, texts[i], 128))
            return;
    const cJSON *lim = api_member(req, "limit");
    if (lim && (lim->valuedouble < 1 || lim->valuedouble > DBQ_LIMIT_MAX ||
                lim->valuedouble != (double)(unsigned)lim->valuedouble)) {
        api_error(c, req, API_E_BAD_ARGUMENT, "\"limit\" must be a whole number 1..%d",
                  DBQ_LIMIT_MAX);
        return;
    }
    struct dbq_job *j = calloc(1, sizeof *j);
    if (!j || !(j->req = cJSON_Duplicate(req, 1))) {
        free(j);
        api_error(c, req, API_E_INTERNAL, "out of memory");
        return;
    }
    j->q = q;
    j->c = c;
    j->kind = kind;
    j->f = (struct store_filter){
        .dut = str_of(j->req, "dut"),
        .since = str_of(j->req, "since"),
        .until = str_of(j->req, "until"),
        .outcome = str_of(j->req, "outcome"),
        .fixture = str_of(j->req, "fixture"),
        .measurement = str_of(j->req, "measurement"),
        .limit = lim ? (unsigned)lim->valuedouble : 0,
    };
    j->arg = arg_key ? str_of(j->req, arg_key) : NULL;
    j->next = q->jobs;
    if (q->jobs)
        q->jobs->pprev = &j->next;
    j->pprev = &q->jobs;
    q->jobs = j;
    GError *gerr = NULL;
    if (!g_thread_pool_push(q->pool, j, &gerr)) {
        api_error(c, req, API_E_INTERNAL, "cannot queue the query: %s", gerr ? gerr->message : "?");
        g_clear_error(&gerr);
        job_free(j);
    }
}

void dbq_history(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req)
{
    (void)one;
    if (!filter_text_ok(c, req, "run", 64))
        return;
    submit(r, c, req, DBQ_HISTORY, api_member(req, "run") ? "run" : NULL);
}

void dbq_unit(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req)
{
    (void)one;
    if (!filter_text_ok(c, req, "serial", 64))
        return;
    submit(r, c, req, DBQ_UNIT, "serial");
}

void dbq_stats(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req)
{
    (void)one;
    submit(r, c, req, DBQ_STATS, NULL);
}

void dbq_import(struct rigd *r, struct bench *one, struct api_client *c, const cJSON *req)
{
    (void)one;
    uid_t uid;
    pid_t pid;
    if (api_client_peer(c, &uid, &pid) < 0 || (uid != 0 && uid != geteuid())) {
        api_error(c, req, API_E_PERMISSION,
                  "import reads record files with rigd's rights: only root or rigd's own user "
                  "(uid %u) may ask",
                  (unsigned)geteuid());
        return;
    }
    const char *dir = str_of(req, "dir");
    if (!dir || dir[0] != '/') {
        api_error(c, req, API_E_BAD_ARGUMENT,
                  "\"dir\" must be an absolute directory path (rigctl resolves it)");
        return;
    }
    submit(r, c, req, DBQ_IMPORT, "dir");
}
