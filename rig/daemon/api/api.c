/* rigd's JSON-lines API server on sd-event (see api.h, docs/API.md). */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_args.h"
#include "api_outq.h"
#include "api_socket.h"

#ifndef RIG_RELEASE
#define RIG_RELEASE "unknown"
#endif

/* Bytes read from one client per wake-up, so a client that floods
 * requests cannot starve the others or the devices. */
#define READ_BUDGET (64 * 1024)
#define READ_CHUNK (16 * 1024)
/* Connections accepted per wake-up (same reason). */
#define ACCEPT_BUDGET 32
/* After EMFILE/ENFILE, pause accepting for this long instead of spinning. */
#define ACCEPT_PAUSE_USEC (500 * 1000)
/* A "dropped" notice is only queued once the queue has drained this far
 * below the soft cap; otherwise a client at the cap would get one notice
 * per dropped message. */
#define DROPPED_NOTICE_ROOM_DIV 2

struct api_client {
	struct api_server *srv;
	struct api_client *prev, *next;
	int fd;
	sd_event_source *io;
	uint64_t id;
	char name[64];
	uid_t uid;
	pid_t pid;
	bool have_cred;
	void *user;
	unsigned topics;
	struct api_linebuf lb;
	struct api_outq q;
	bool read_eof; /* peer will send no more: close once answered and sent */
	bool closing;  /* api_client_close(): close once output is sent */
	/* Requests not answered yet (handlers may answer asynchronously, e.g.
	 * when the pen replies): a half-closed client keeps its connection
	 * until they are. */
	unsigned outstanding;
	bool dead;     /* connection over: freed by the reaper */
};

struct api_server {
	sd_event *ev;
	int fd;
	char *path; /* NULL when the socket was passed in */
	dev_t sock_dev;
	ino_t sock_ino;
	sd_event_source *listen_io;
	sd_event_source *accept_timer;
	sd_event_source *reaper;
	struct api_handlers h;
	void *user;
	struct api_client *clients;
	unsigned nclients;
	uint64_t next_id;
	size_t soft_cap, hard_cap;
	unsigned max_clients;
	struct api_stats stats;
};

static void warnx_api(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warnx_api(const char *fmt, ...)
{
	/* "<4>" is the journal's warning level when stderr goes there. */
	va_list ap;
	va_start(ap, fmt);
	fputs("<4>api: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- client teardown ------------------------------------------------- */

static void client_kill(struct api_client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	/* Stop watching the fd now; the memory goes in the reaper so that
	 * callers up the stack (handlers, publish loops) never see it freed. */
	if (c->io)
		sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
	if (c->srv->reaper)
		sd_event_source_set_enabled(c->srv->reaper, SD_EVENT_ONESHOT);
}

static void client_free(struct api_client *c)
{
	sd_event_source_disable_unref(c->io);
	if (c->fd >= 0)
		close(c->fd);
	api_linebuf_free(&c->lb);
	api_outq_clear(&c->q);
	free(c);
}

static void client_unlink(struct api_server *s, struct api_client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nclients--;
}

/* Frees dead clients, telling the handler first. The handler may cause
 * more clients to die (e.g. a publish to a broken pipe), so rescan until
 * none are left. */
static void reap_dead(struct api_server *s)
{
	for (;;) {
		struct api_client *c = s->clients;
		while (c && !c->dead)
			c = c->next;
		if (!c)
			return;
		client_unlink(s, c);
		if (s->h.on_disconnect)
			s->h.on_disconnect(s->user, c);
		client_free(c);
	}
}

static int on_reap(sd_event_source *src, void *userdata)
{
	(void)src;
	reap_dead(userdata);
	return 0;
}

/* ---- output ---------------------------------------------------------- */

static void client_update_events(struct api_client *c)
{
	if (c->dead)
		return;
	bool sent_all = api_outq_empty(&c->q);
	if (sent_all && (c->closing || (c->read_eof && c->outstanding == 0))) {
		/* Everything asked for has been answered and sent. */
		client_kill(c);
		return;
	}
	uint32_t ev = 0;
	/* Stop reading requests while replies pile up: a client that
	 * pipelines without reading slows itself down instead of being
	 * disconnected or costing memory. */
	if (!c->read_eof && !c->closing && c->q.bytes <= c->q.soft_cap)
		ev |= EPOLLIN;
	if (!sent_all)
		ev |= EPOLLOUT;
	/* ev may be 0 (half-closed client waiting for an asynchronous reply):
	 * epoll still reports HUP/ERR, so a peer that goes away is noticed. */
	if (sd_event_source_set_io_events(c->io, ev) < 0)
		client_kill(c);
}

static void maybe_notify_dropped(struct api_client *c);

static void client_flush(struct api_client *c)
{
	for (int pass = 0; pass < 2; pass++) {
		int r = api_outq_send(&c->q, c->fd);
		if (r < 0) {
			/* EPIPE/ECONNRESET: the peer is gone, which is normal. */
			if (r != -EPIPE && r != -ECONNRESET)
				warnx_api("%s: write failed: %s", c->name, strerror(-r));
			client_kill(c);
			return;
		}
		/* The client caught up: tell it what it missed (once; the
		 * notice itself is sent by the second pass). */
		if (pass > 0 || c->q.dropped_pending == 0)
			break;
		maybe_notify_dropped(c);
	}
	client_update_events(c);
}

static struct api_msg *msg_from_json(const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	if (!text)
		return NULL;
	struct api_msg *m = api_msg_new(text, strlen(text));
	cJSON_free(text);
	return m;
}

/* Tells the client how many samples it missed, once there is room. */
static void maybe_notify_dropped(struct api_client *c)
{
	if (c->q.dropped_pending == 0 || c->q.bytes > c->q.soft_cap / DROPPED_NOTICE_ROOM_DIV)
		return;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return;
	cJSON_AddStringToObject(o, "class", "dropped");
	cJSON_AddStringToObject(o, "topic", "samples");
	cJSON_AddNumberToObject(o, "count", (double)c->q.dropped_pending);
	cJSON_AddNumberToObject(o, "total", (double)c->q.dropped_total);
	struct api_msg *m = msg_from_json(o);
	cJSON_Delete(o);
	if (!m)
		return;
	if (api_outq_push(&c->q, m, false) == API_PUSH_OK)
		c->q.dropped_pending = 0;
	api_msg_unref(m);
}

/* Queues one message and tries to send it right away (lowest latency;
 * batching happens by itself when the socket is full). */
static void client_queue(struct api_client *c, struct api_msg *m, bool droppable)
{
	if (c->dead || !m)
		return;
	bool was_empty = api_outq_empty(&c->q);
	maybe_notify_dropped(c);
	uint64_t dropped_before = c->q.dropped_total;
	enum api_push_result r = api_outq_push(&c->q, m, droppable);
	/* Refused now, or queued ones purged to make room. */
	c->srv->stats.samples_dropped += c->q.dropped_total - dropped_before;
	switch (r) {
	case API_PUSH_OK:
		break;
	case API_PUSH_DROPPED:
		return;
	case API_PUSH_OVERFLOW:
		warnx_api("%s: not reading, %zu bytes queued: disconnecting", c->name, c->q.bytes);
		c->srv->stats.overflow_disconnects++;
		client_kill(c);
		return;
	case API_PUSH_NOMEM:
		warnx_api("%s: out of memory queueing a message: disconnecting", c->name);
		client_kill(c);
		return;
	}
	if (was_empty)
		client_flush(c);
}

/* Builds the object to send: "class" and "id" first (easier to read in
 * logs and by eye), then the body's own members. Takes ownership of body. */
static cJSON *compose(const char *cls, const cJSON *id, cJSON *body)
{
	cJSON *o = cJSON_CreateObject();
	if (!o) {
		cJSON_Delete(body);
		return NULL;
	}
	cJSON *body_cls = body ? cJSON_DetachItemFromObjectCaseSensitive(body, "class") : NULL;
	if (body_cls)
		cJSON_AddItemToObject(o, "class", body_cls);
	else if (cls)
		cJSON_AddStringToObject(o, "class", cls);
	if (id) {
		cJSON *dup = cJSON_Duplicate(id, 1);
		if (dup)
			cJSON_AddItemToObject(o, "id", dup);
		if (body)
			cJSON_DeleteItemFromObjectCaseSensitive(body, "id");
	}
	while (body && body->child) {
		cJSON *item = cJSON_DetachItemViaPointer(body, body->child);
		if (!item->string) {
			cJSON_Delete(item); /* a non-object body: no key to keep */
			continue;
		}
		char *key = strdup(item->string);
		if (key) {
			cJSON_AddItemToObject(o, key, item);
			free(key);
		} else {
			cJSON_Delete(item);
		}
	}
	cJSON_Delete(body);
	return o;
}

static const char *req_class(const cJSON *req)
{
	const cJSON *cls = cJSON_GetObjectItemCaseSensitive(req, "class");
	return cJSON_IsString(cls) ? cls->valuestring : NULL;
}

static void send_obj(struct api_client *c, cJSON *o)
{
	if (!o)
		return;
	struct api_msg *m = msg_from_json(o);
	cJSON_Delete(o);
	if (!m) {
		warnx_api("%s: out of memory serialising a message", c->name);
		return;
	}
	client_queue(c, m, false);
	api_msg_unref(m);
}

void api_reply(struct api_client *c, const cJSON *req, cJSON *body)
{
	if (!c || c->dead) {
		cJSON_Delete(body);
		return;
	}
	if (c->outstanding > 0)
		c->outstanding--;
	send_obj(c, compose(req_class(req), cJSON_GetObjectItemCaseSensitive(req, "id"), body));
}

static void error_v(struct api_client *c, const cJSON *req, const char *code, const char *fmt,
		    va_list ap)
{
	char message[512];
	vsnprintf(message, sizeof message, fmt, ap);
	cJSON *body = cJSON_CreateObject();
	if (!body)
		return;
	const char *cls = req_class(req);
	if (cls)
		cJSON_AddStringToObject(body, "request", cls);
	cJSON_AddStringToObject(body, "code", code);
	/* The message may quote client bytes or be cut mid-character by the
	 * buffer or a %.64s: keep only its valid UTF-8 prefix. */
	size_t mlen = strlen(message);
	while (mlen > 0 && !api_utf8_valid(message, mlen))
		mlen--;
	message[mlen] = '\0';
	if (mlen == 0)
		snprintf(message, sizeof message, "%s", code);
	cJSON_AddStringToObject(body, "message", message);
	c->srv->stats.protocol_errors++;
	send_obj(c, compose("error", cJSON_GetObjectItemCaseSensitive(req, "id"), body));
}

void api_error(struct api_client *c, const cJSON *req, const char *code, const char *fmt, ...)
{
	if (!c || c->dead)
		return;
	if (c->outstanding > 0)
		c->outstanding--;
	va_list ap;
	va_start(ap, fmt);
	error_v(c, req, code, fmt, ap);
	va_end(ap);
}

void api_send(struct api_client *c, cJSON *obj)
{
	if (!c || c->dead) {
		cJSON_Delete(obj);
		return;
	}
	send_obj(c, obj);
}

void api_publish(struct api_server *s, const char *topic, cJSON *event)
{
	int t = api_topic_from_name(topic);
	if (!s || t < 0 || !event) {
		cJSON_Delete(event);
		return;
	}
	if (!api_has_watchers(s, topic)) {
		cJSON_Delete(event);
		return;
	}
	cJSON *o = compose(topic, NULL, event);
	if (!o)
		return;
	/* Serialise once, share the bytes between all watchers. */
	struct api_msg *m = msg_from_json(o);
	cJSON_Delete(o);
	if (!m) {
		warnx_api("out of memory serialising a %s event", topic);
		return;
	}
	bool droppable = (t == API_TOPIC_SAMPLES);
	for (struct api_client *c = s->clients; c; c = c->next)
		if (!c->dead && (c->topics & (1u << t)))
			client_queue(c, m, droppable);
	api_msg_unref(m);
}

bool api_has_watchers(const struct api_server *s, const char *topic)
{
	int t = api_topic_from_name(topic);
	if (!s || t < 0)
		return false;
	for (const struct api_client *c = s->clients; c; c = c->next)
		if (!c->dead && (c->topics & (1u << t)))
			return true;
	return false;
}

/* ---- requests -------------------------------------------------------- */

/* Parses "topics" (an array, checked by the member table) into a mask.
 * 0 on success, else an error was sent. */
static int watch_topics(struct api_client *c, const cJSON *req, const cJSON *topics,
			unsigned *mask)
{
	*mask = 0;
	const cJSON *t;
	/* Every element's type before any name: shape errors win over values. */
	cJSON_ArrayForEach(t, topics) {
		if (!cJSON_IsString(t)) {
			api_error(c, req, API_E_BAD_REQUEST, "\"topics\" must be an array of strings");
			return -1;
		}
	}
	cJSON_ArrayForEach(t, topics) {
		int i = api_topic_from_name(t->valuestring);
		if (i < 0) {
			api_error(c, req, API_E_BAD_ARGUMENT,
				  "unknown topic \"%.64s\" (known: devices, run, measurements, samples, log)",
				  t->valuestring);
			return -1;
		}
		*mask |= 1u << i;
	}
	return 0;
}

/* Tell the handler that c's subscriptions changed (from `before`). */
static void notify_watch(struct api_client *c, unsigned before)
{
	struct api_server *s = c->srv;
	if (c->topics != before && !c->dead && s->h.on_watch)
		s->h.on_watch(s->user, c);
}

static const struct api_member watch_members[] = {
	{ "enable", API_T_BOOL, false },
	{ "topics", API_T_ARRAY, false },
	{ NULL, 0, false },
};

static void handle_watch(struct api_client *c, const cJSON *req)
{
	if (api_members_require(c, req, "watch", watch_members) < 0)
		return;
	const cJSON *enable = api_member(req, "enable");
	const cJSON *topics = api_member(req, "topics");
	bool on = !enable || cJSON_IsTrue(enable);
	unsigned mask = on ? API_TOPIC_DEFAULT : API_TOPIC_ALL;
	if (topics && watch_topics(c, req, topics, &mask) < 0)
		return;
	unsigned before = c->topics;
	if (on)
		c->topics |= mask;
	else
		c->topics &= ~mask;

	cJSON *body = cJSON_CreateObject();
	if (!body) {
		notify_watch(c, before);
		return;
	}
	cJSON_AddBoolToObject(body, "enable", c->topics != 0);
	cJSON *list = cJSON_AddArrayToObject(body, "topics");
	for (int i = 0; i < API_TOPIC_COUNT && list; i++)
		if (c->topics & (1u << i))
			cJSON_AddItemToArray(list, cJSON_CreateString(api_topic_name(i)));
	api_reply(c, req, body);
	notify_watch(c, before);
}

static void dispatch_line(struct api_client *c, const char *line, size_t len)
{
	struct api_server *s = c->srv;
	struct api_parsed p;
	s->stats.requests++;
	c->outstanding++; /* until api_reply()/api_error() answers it */
	if (api_parse_request(line, len, &p) < 0) {
		api_error(c, p.req, p.code, "%s", p.message);
	} else if (strcmp(p.cls, "watch") == 0) {
		handle_watch(c, p.req);
	} else if (s->h.on_request) {
		s->h.on_request(s->user, c, p.cls, p.req);
	} else {
		api_error(c, p.req, API_E_UNKNOWN_CLASS, "unknown class \"%.64s\"", p.cls);
	}
	api_parsed_clear(&p);
}

/* Splits freshly read bytes into lines and handles each. */
static void client_consume(struct api_client *c, const char *data, size_t n)
{
	while (!c->dead) {
		const char *line;
		size_t len;
		enum api_line_result r = api_linebuf_feed(&c->lb, &data, &n, &line, &len);
		if (r == API_LINE_NONE)
			break;
		if (r == API_LINE_TOO_LONG) {
			c->srv->stats.requests++;
			c->outstanding++;
			api_error(c, NULL, API_E_LINE_TOO_LONG,
				  "request line longer than %d bytes: discarded", API_MAX_LINE);
		} else {
			dispatch_line(c, line, len);
		}
	}
}

static void client_read(struct api_client *c)
{
	char buf[READ_CHUNK];
	size_t budget = READ_BUDGET;
	while (budget > 0 && !c->dead && !c->read_eof && !c->closing) {
		ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno != ECONNRESET)
				warnx_api("%s: read failed: %s", c->name, strerror(errno));
			client_kill(c);
			return;
		}
		if (n == 0) {
			/* Half-close ("printf req | socat"): answer what came, then
			 * close once the replies are out. */
			c->read_eof = true;
			const char *line;
			size_t len;
			if (api_linebuf_flush(&c->lb, &line, &len))
				dispatch_line(c, line, len);
			return;
		}
		budget -= (size_t)n < budget ? (size_t)n : budget;
		client_consume(c, buf, (size_t)n);
		/* Stop early when replies back up (see client_update_events). */
		if (c->q.bytes > c->q.soft_cap)
			return;
	}
}

static int on_client_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	(void)src;
	(void)fd;
	struct api_client *c = userdata;
	if (c->dead)
		return 0;
	if (revents & EPOLLIN)
		client_read(c);
	if (!c->dead && !api_outq_empty(&c->q))
		client_flush(c);
	else if (!c->dead)
		client_update_events(c);
	/* ERR/HUP with nothing left to read: the peer is gone for good. */
	if (!c->dead && (revents & (EPOLLERR | EPOLLHUP)) && !(revents & EPOLLIN))
		client_kill(c);
	return 0;
}

/* ---- accepting ------------------------------------------------------- */

static void send_greeting(struct api_client *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return;
	cJSON_AddStringToObject(o, "class", "version");
	cJSON_AddStringToObject(o, "release", RIG_RELEASE);
	cJSON_AddNumberToObject(o, "proto_major", API_PROTO_MAJOR);
	cJSON_AddNumberToObject(o, "proto_minor", API_PROTO_MINOR);
	cJSON_AddNumberToObject(o, "max_line", API_MAX_LINE);
	send_obj(c, o);
}

/* Over the client limit: say why (best effort, never blocking) and close. */
static void refuse(int fd, unsigned max)
{
	char line[160];
	int n = snprintf(line, sizeof line,
			 "{\"class\":\"error\",\"code\":\"%s\",\"message\":\"more than %u clients\"}\n",
			 API_E_TOO_MANY_CLIENTS, max);
	if (n > 0 && send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* Nothing more to do for a client we are turning away. */
	}
	close(fd);
}

static void client_add(struct api_server *s, int fd)
{
	if (s->nclients >= s->max_clients) {
		refuse(fd, s->max_clients);
		return;
	}
	struct api_client *c = calloc(1, sizeof *c);
	if (!c || api_linebuf_init(&c->lb, API_MAX_LINE) < 0) {
		warnx_api("out of memory accepting a client");
		free(c);
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->id = ++s->next_id;
	api_outq_init(&c->q, s->soft_cap, s->hard_cap);
	struct ucred cred;
	socklen_t clen = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		c->have_cred = true;
		c->uid = cred.uid;
		c->pid = cred.pid;
		snprintf(c->name, sizeof c->name, "client#%llu(uid=%u,pid=%d)",
			 (unsigned long long)c->id, (unsigned)cred.uid, (int)cred.pid);
	} else {
		snprintf(c->name, sizeof c->name, "client#%llu", (unsigned long long)c->id);
	}
	int r = sd_event_add_io(s->ev, &c->io, fd, EPOLLIN, on_client_io, c);
	if (r < 0) {
		warnx_api("cannot watch %s: %s", c->name, strerror(-r));
		c->io = NULL;
		client_free(c);
		return;
	}
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->nclients++;
	send_greeting(c);
}

static int on_accept_resume(sd_event_source *src, uint64_t usec, void *userdata)
{
	(void)src;
	(void)usec;
	struct api_server *s = userdata;
	sd_event_source_set_enabled(s->listen_io, SD_EVENT_ON);
	return 0;
}

static int on_listen(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	(void)revents;
	struct api_server *s = userdata;
	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			client_add(s, cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		warnx_api("accept failed: %s; pausing new connections", strerror(errno));
		/* EMFILE etc.: the listen fd stays readable, so pause instead of
		 * spinning on it. */
		sd_event_source_set_enabled(src, SD_EVENT_OFF);
		if (!s->accept_timer) {
			if (sd_event_add_time_relative(s->ev, &s->accept_timer, CLOCK_MONOTONIC,
						       ACCEPT_PAUSE_USEC, 0, on_accept_resume, s) < 0)
				sd_event_source_set_enabled(src, SD_EVENT_ON);
		} else {
			sd_event_source_set_time_relative(s->accept_timer, ACCEPT_PAUSE_USEC);
			sd_event_source_set_enabled(s->accept_timer, SD_EVENT_ONESHOT);
		}
		break;
	}
	return 0;
}

static struct api_server *server_alloc(sd_event *ev, const struct api_handlers *h, void *user)
{
	struct api_server *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->ev = sd_event_ref(ev);
	s->fd = -1;
	if (h)
		s->h = *h;
	s->user = user;
	s->soft_cap = API_DEFAULT_SOFT_CAP;
	s->hard_cap = API_DEFAULT_HARD_CAP;
	s->max_clients = API_DEFAULT_MAX_CLIENTS;
	return s;
}

static int server_start(struct api_server *s)
{
	int r = sd_event_add_io(s->ev, &s->listen_io, s->fd, EPOLLIN, on_listen, s);
	if (r >= 0)
		r = sd_event_add_defer(s->ev, &s->reaper, on_reap, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->reaper, SD_EVENT_OFF);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

struct api_server *api_server_new(sd_event *ev, const char *path, const struct api_handlers *h,
				  void *user)
{
	if (!ev || !path || !*path) {
		errno = EINVAL;
		return NULL;
	}
	struct api_server *s = server_alloc(ev, h, user);
	if (!s)
		return NULL;
	struct stat st;
	s->path = strdup(path);
	if (!s->path || (s->fd = api_listen_on(path, &st)) < 0) {
		int err = s->path ? errno : ENOMEM;
		free(s->path);
		s->path = NULL; /* not ours: do not unlink */
		api_server_free(s);
		errno = err;
		return NULL;
	}
	s->sock_dev = st.st_dev;
	s->sock_ino = st.st_ino;
	if (server_start(s) < 0) {
		int err = errno;
		api_server_free(s);
		errno = err;
		return NULL;
	}
	return s;
}

void api_server_free(struct api_server *s)
{
	if (!s)
		return;
	for (struct api_client *c = s->clients; c; c = c->next)
		c->dead = true;
	reap_dead(s);
	sd_event_source_disable_unref(s->listen_io);
	sd_event_source_disable_unref(s->accept_timer);
	sd_event_source_disable_unref(s->reaper);
	if (s->fd >= 0)
		close(s->fd);
	/* Only remove the socket file if it is still ours (a newer rigd may
	 * have replaced it). */
	struct stat st;
	if (s->path && lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev &&
	    st.st_ino == s->sock_ino)
		unlink(s->path);
	free(s->path);
	sd_event_unref(s->ev);
	free(s);
}

void api_server_set_limits(struct api_server *s, size_t soft_cap, size_t hard_cap,
			   unsigned max_clients)
{
	if (soft_cap)
		s->soft_cap = soft_cap;
	if (hard_cap)
		s->hard_cap = hard_cap;
	if (max_clients)
		s->max_clients = max_clients;
}

void api_server_stats(const struct api_server *s, struct api_stats *out)
{
	*out = s->stats;
	out->clients = s->nclients;
	out->queued_bytes = 0;
	out->max_queued_bytes = 0;
	for (const struct api_client *c = s->clients; c; c = c->next) {
		out->queued_bytes += c->q.bytes;
		if (c->q.bytes > out->max_queued_bytes)
			out->max_queued_bytes = c->q.bytes;
	}
}

/* ---- client accessors ------------------------------------------------ */

int api_client_peer(const struct api_client *c, uid_t *uid, pid_t *pid)
{
	if (!c || !c->have_cred)
		return -1;
	if (uid)
		*uid = c->uid;
	if (pid)
		*pid = c->pid;
	return 0;
}

const char *api_client_name(const struct api_client *c)
{
	return c ? c->name : "client#?";
}

void api_client_set_user(struct api_client *c, void *data)
{
	if (c)
		c->user = data;
}

void *api_client_get_user(const struct api_client *c)
{
	return c ? c->user : NULL;
}

bool api_client_watching(const struct api_client *c, const char *topic)
{
	int t = api_topic_from_name(topic);
	return c && t >= 0 && (c->topics & (1u << t));
}

void api_client_close(struct api_client *c)
{
	if (!c || c->dead)
		return;
	c->closing = true;
	client_update_events(c);
}
