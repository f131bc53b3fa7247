/* rigweb's accounts, sessions and login rate limit (docs/WEB.md,
 * "Security", "Users file").
 *
 * Accounts live in the users file (argon2id encoded hashes, written
 * atomically with mode 0600 on every change); sessions in memory only. All
 * functions are thread-safe (one mutex; password hashing runs outside it).
 * users_parse reads the users file's text (outside input: fuzzed by
 * tests/web/fuzz_web_users.c). */
#ifndef RIG_WEB_AUTH_H
#define RIG_WEB_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

enum web_role { ROLE_NONE = 0, ROLE_OPERATOR, ROLE_ENGINEER, ROLE_ADMIN };

/* "operator"... ; NULL for ROLE_NONE. */
const char *role_name(enum web_role r);
/* ROLE_NONE for an unknown name. */
enum web_role role_parse(const char *name);

#define WEB_NAME_MAX 32
#define WEB_ID_HEX   65 /* 256 bits as hex + NUL */

/* What a valid session says about its request. */
struct web_session {
    char id[WEB_ID_HEX];
    char user[WEB_NAME_MAX + 1];
    char csrf[WEB_ID_HEX];
    enum web_role role;
};

struct auth;

/* Loads the users file (a missing file is an empty list; rigweb then says
 * how to add the first admin). idle_s/max_s: session timeouts. 0 or
 * -errno with a message. */
int auth_open(struct auth **out, const char *users_file, int idle_s, int max_s, char *err,
              size_t errlen);
void auth_close(struct auth *a);
size_t auth_user_count(struct auth *a);

/* Whether `name` is a valid account name (1..32 of [A-Za-z0-9._-]) and
 * `pw` an acceptable password (8..256 bytes, no NUL). */
bool auth_valid_name(const char *name);
bool auth_valid_password(const char *pw);

/* Checks name/password; on success opens a session (*s). `client` keys
 * the rate limit (the peer's address). 0, -EACCES (wrong name or
 * password: the same for both), -EAGAIN (rate-limited), -ENOMEM. */
int auth_login(struct auth *a, const char *name, const char *pw, const char *client,
               struct web_session *s);
/* Looks up a session by cookie id and marks it used. 0 or -ENOENT
 * (unknown, idle too long or too old). */
int auth_session(struct auth *a, const char *id, struct web_session *s);
/* Whether the session is still valid, without marking it used (a live
 * event stream must not keep a session from going idle). */
bool auth_session_valid(struct auth *a, const char *id);
void auth_logout(struct auth *a, const char *id);

/* Account administration; each writes the users file before returning 0.
 * -EEXIST (add: exists), -ENOENT (no such user), -EINVAL (bad name, role or
 * password), -EBUSY (would leave no admin), or the file's -errno. Changing
 * or deleting a user ends their sessions. */
int auth_user_add(struct auth *a, const char *name, enum web_role role, const char *pw);
int auth_user_set(struct auth *a, const char *name, enum web_role role, const char *pw);
/* Add or replace (the --add-user CLI). */
int auth_user_put(struct auth *a, const char *name, enum web_role role, const char *pw);
int auth_user_delete(struct auth *a, const char *name);
/* [{"name","role"}...] */
cJSON *auth_user_list(struct auth *a);

/* Parsed users file: names, roles and encoded hashes. */
struct web_user {
    char name[WEB_NAME_MAX + 1];
    enum web_role role;
    char *hash;
};
/* Parses the users file's text. 0 with *users (free with users_free), or
 * -EINVAL with a message. Hashes must be argon2id encoded strings. */
int users_parse(const char *text, size_t len, struct web_user **users, size_t *n, char *err,
                size_t errlen);
void users_free(struct web_user *users, size_t n);

#endif
