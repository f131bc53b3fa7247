/* The bench's queue (see benchq.h). */
#include "daemon/benchq.h"

#include <errno.h>
#include <stdlib.h>

int benchq_push(GQueue *q, enum benchq_kind kind, struct api_client *c, const cJSON *req)
{
    struct benchq_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->req = cJSON_Duplicate(req, 1))) {
        free(e);
        return -ENOMEM;
    }
    e->kind = kind;
    e->c = c;
    g_queue_push_tail(q, e);
    return 0;
}

int benchq_position(const GQueue *q, const struct api_client *c, enum benchq_kind kind)
{
    int pos = 1;
    for (const GList *l = q->head; l; l = l->next, pos++) {
        const struct benchq_entry *e = l->data;
        if (e->c == c && e->kind == kind)
            return pos;
    }
    return 0;
}

int benchq_count(const GQueue *q, enum benchq_kind kind)
{
    int n = 0;
    for (const GList *l = q->head; l; l = l->next)
        n += ((const struct benchq_entry *)l->data)->kind == kind;
    return n;
}

struct benchq_entry *benchq_head(const GQueue *q)
{
    return q->head ? q->head->data : NULL;
}

struct benchq_entry *benchq_pop(GQueue *q)
{
    return g_queue_pop_head(q);
}

void benchq_entry_free(struct benchq_entry *e)
{
    if (!e)
        return;
    cJSON_Delete(e->req);
    free(e);
}

void benchq_drop_client(GQueue *q, const struct api_client *c)
{
    for (GList *l = q->head, *next; l; l = next) {
        next = l->next;
        struct benchq_entry *e = l->data;
        if (e->c == c) {
            g_queue_delete_link(q, l);
            benchq_entry_free(e);
        }
    }
}

void benchq_clear(GQueue *q)
{
    struct benchq_entry *e;
    while ((e = g_queue_pop_head(q)))
        benchq_entry_free(e);
}
