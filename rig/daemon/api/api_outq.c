/* Per-client bounded output queue (see api_outq.h). */
#include "daemon/api/api_outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct api_outq_entry {
    struct api_outq_entry *next;
    struct api_msg *msg;
    bool droppable;
};

/* Entries handed to one sendmsg(); enough to amortise the syscall. */
#define SEND_BATCH 64

struct api_msg *api_msg_new(const char *text, size_t len)
{
    struct api_msg *m = malloc(sizeof *m + len + 1);
    if (!m)
        return NULL;
    m->refs = 1;
    m->len = len + 1;
    memcpy(m->data, text, len);
    m->data[len] = '\n';
    return m;
}

struct api_msg *api_msg_ref(struct api_msg *m)
{
    m->refs++;
    return m;
}

void api_msg_unref(struct api_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

void api_outq_init(struct api_outq *q, size_t soft_cap, size_t hard_cap)
{
    memset(q, 0, sizeof *q);
    q->soft_cap = soft_cap;
    q->hard_cap = hard_cap;
}

static void entry_free(struct api_outq_entry *e)
{
    api_msg_unref(e->msg);
    free(e);
}

void api_outq_clear(struct api_outq *q)
{
    struct api_outq_entry *e = q->head;
    while (e) {
        struct api_outq_entry *next = e->next;
        entry_free(e);
        e = next;
    }
    q->head = q->tail = NULL;
    q->head_off = 0;
    q->bytes = 0;
}

bool api_outq_empty(const struct api_outq *q)
{
    return q->head == NULL;
}

/* Removes every droppable message that has not started going out (a
 * partly sent one must finish, or the stream would be corrupted). */
static void purge_droppable(struct api_outq *q)
{
    struct api_outq_entry **link = &q->head, *prev = NULL;
    while (*link) {
        struct api_outq_entry *e = *link;
        bool started = (e == q->head && q->head_off > 0);
        if (e->droppable && !started) {
            *link = e->next;
            q->bytes -= e->msg->len;
            q->dropped_pending++;
            q->dropped_total++;
            entry_free(e);
            continue;
        }
        prev = e;
        link = &e->next;
    }
    q->tail = prev;
}

enum api_push_result api_outq_push(struct api_outq *q, struct api_msg *m, bool droppable)
{
    if (droppable && q->bytes + m->len > q->soft_cap) {
        q->dropped_pending++;
        q->dropped_total++;
        return API_PUSH_DROPPED;
    }
    if (q->bytes + m->len > q->hard_cap) {
        purge_droppable(q);
        if (q->bytes + m->len > q->hard_cap)
            return API_PUSH_OVERFLOW;
    }
    struct api_outq_entry *e = malloc(sizeof *e);
    if (!e)
        return API_PUSH_NOMEM;
    e->next = NULL;
    e->msg = api_msg_ref(m);
    e->droppable = droppable;
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->bytes += m->len;
    return API_PUSH_OK;
}

/* Drops `n` sent bytes from the front of the queue. */
static void advance(struct api_outq *q, size_t n)
{
    q->bytes -= n;
    while (n > 0) {
        struct api_outq_entry *e = q->head;
        size_t left = e->msg->len - q->head_off;
        if (n < left) {
            q->head_off += n;
            return;
        }
        n -= left;
        q->head = e->next;
        q->head_off = 0;
        entry_free(e);
    }
    if (!q->head)
        q->tail = NULL;
}

int api_outq_send(struct api_outq *q, int fd)
{
    while (q->head) {
        struct iovec iov[SEND_BATCH];
        int n = 0;
        size_t off = q->head_off;
        for (struct api_outq_entry *e = q->head; e && n < SEND_BATCH; e = e->next) {
            iov[n].iov_base = e->msg->data + off;
            iov[n].iov_len = e->msg->len - off;
            off = 0;
            n++;
        }
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        /* MSG_NOSIGNAL: a vanished reader must give EPIPE, not kill rigd. */
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 1;
            return -errno;
        }
        advance(q, (size_t)w);
    }
    return 0;
}
