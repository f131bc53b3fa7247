/* rigweb's live events (docs/WEB.md, "Live events"): rigd's events, as
 * the link hands them over, fanned out to every browser's SSE stream.
 *
 * Each browser has its own bounded queue of shared, preformatted
 * messages, read by its own connection thread (libmicrohttpd's
 * thread-per-connection mode), so one slow browser never delays another
 * or the link: past the config's sse_queue queued messages `samples` are
 * dropped (and counted in a `dropped` event), past 4 x that the browser is
 * cut off. A
 * stream's first message is a `station` snapshot, built by its own thread;
 * others follow, in order, when rigd comes back and after the events that
 * change the station (a run started or finished, a device came or went),
 * each built once by the first browser to reach it and shared. */
#ifndef RIG_WEB_EVENTS_H
#define RIG_WEB_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define EV_KEEPALIVE 15.0

struct events;
struct web_app;

int events_open(struct events **out, struct web_app *app);
/* Ends every stream: their readers return end of stream (before
 * http_stop, which waits for the connections). */
void events_shutdown(struct events *ev);
/* Frees (after http_stop). */
void events_close(struct events *ev);
/* The link's callbacks (struct link_callbacks; user = the events). */
void events_on_rigd_event(void *ev, const cJSON *o);
void events_on_rigd_state(void *ev, bool connected);

struct events_stats {
    size_t clients;
    unsigned long sent, dropped, cut_off;
};
void events_stats(struct events *ev, struct events_stats *out);

#endif
