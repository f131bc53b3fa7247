/* rigweb accounts, sessions, login rate limit (see auth.h). */
#include "web/auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <argon2.h>

#include "web/util.h"

/* argon2id cost: the OWASP recommendation for argon2id (19 MiB, 2 passes,
 * 1 lane) -- about 50 ms per login on a station PC, a lot for a guesser. */
#define HASH_T    2u
#define HASH_M    19456u
#define HASH_P    1u
#define SALT_LEN  16u
#define HASH_LEN  32u
#define MAX_USERS 1000u

/* Login rate limit: after RL_FAILS failures from one address within
 * RL_WINDOW s, every attempt from it is refused for RL_LOCK s. */
#define RL_FAILS     5
#define RL_WINDOW    300.0
#define RL_LOCK      60.0
#define RL_SLOTS     64
#define MAX_SESSIONS 1024

static const char *const role_names[] = { NULL, "operator", "engineer", "admin" };

const char *role_name(enum web_role r)
{
    return (unsigned)r < sizeof role_names / sizeof *role_names ? role_names[r] : NULL;
}

enum web_role role_parse(const char *name)
{
    for (unsigned i = 1; name && i < sizeof role_names / sizeof *role_names; i++)
        if (strcmp(role_names[i], name) == 0)
            return (enum web_role)i;
    return ROLE_NONE;
}

struct sess {
    struct web_session s;
    double created, used;
};

struct rl_slot {
    char client[64];
    int fails;
    double first, locked_until;
};

struct auth {
    pthread_mutex_t mu;
    char *path;
    int idle_s, max_s;
    struct web_user *users;
    size_t nusers;
    struct sess *sessions;
    size_t nsessions;
    struct rl_slot rl[RL_SLOTS];
    char dummy_hash[128]; /* verified for unknown names: same time as a real one */
};

bool auth_valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > WEB_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool auth_valid_password(const char *pw)
{
    size_t n = pw ? strlen(pw) : 0;
    return n >= 8 && n <= 256;
}

void users_free(struct web_user *users, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(users[i].hash);
    free(users);
}

int users_parse(const char *text, size_t len, struct web_user **out, size_t *nout, char *err,
                size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "users");
    if (!cJSON_IsObject(root) || !cJSON_IsString(fmt) ||
        strcmp(fmt->valuestring, "rigweb-users/1") != 0 || !cJSON_IsArray(arr)) {
        snprintf(err, errlen,
                 "not a rigweb-users/1 file ({\"format\":\"rigweb-users/1\",\"users\":[...]})");
        cJSON_Delete(root);
        return -EINVAL;
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > MAX_USERS) {
        snprintf(err, errlen, "more than %u users", MAX_USERS);
        cJSON_Delete(root);
        return -EINVAL;
    }
    struct web_user *u = calloc(n ? n : 1, sizeof *u);
    if (!u) {
        cJSON_Delete(root);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    size_t i = 0;
    const cJSON *e;
    int r = 0;
    cJSON_ArrayForEach (e, arr) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(e, "role");
        const cJSON *hash = cJSON_GetObjectItemCaseSensitive(e, "hash");
        if (!cJSON_IsString(name) || !auth_valid_name(name->valuestring) || !cJSON_IsString(role) ||
            role_parse(role->valuestring) == ROLE_NONE || !cJSON_IsString(hash) ||
            strncmp(hash->valuestring, "$argon2id$", 10) != 0 || strlen(hash->valuestring) > 512) {
            snprintf(err, errlen, "users[%zu]: needs \"name\", \"role\" and an argon2id \"hash\"",
                     i);
            r = -EINVAL;
            break;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(u[k].name, name->valuestring) == 0) {
                snprintf(err, errlen, "users[%zu]: \"%s\" given twice", i, name->valuestring);
                r = -EINVAL;
            }
        if (r)
            break;
        snprintf(u[i].name, sizeof u[i].name, "%s", name->valuestring);
        u[i].role = role_parse(role->valuestring);
        if (!(u[i].hash = strdup(hash->valuestring))) {
            r = -ENOMEM;
            snprintf(err, errlen, "out of memory");
            break;
        }
        i++;
    }
    cJSON_Delete(root);
    if (r) {
        users_free(u, i);
        return r;
    }
    *out = u;
    *nout = i;
    return 0;
}

static int hash_password(const char *pw, char *out, size_t outlen)
{
    unsigned char salt[SALT_LEN];
    if (getrandom(salt, sizeof salt, 0) != (ssize_t)sizeof salt)
        return -EIO;
    int r = argon2id_hash_encoded(HASH_T, HASH_M, HASH_P, pw, strlen(pw), salt, sizeof salt,
                                  HASH_LEN, out, outlen);
    return r == ARGON2_OK ? 0 : -EIO;
}

int auth_open(struct auth **out, const char *users_file, int idle_s, int max_s, char *err,
              size_t errlen)
{
    struct auth *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(users_file))) {
        free(a);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&a->mu, NULL);
    a->idle_s = idle_s;
    a->max_s = max_s;
    char *text = NULL;
    size_t len = 0;
    int r = web_read_file(users_file, 4u << 20, &text, &len);
    if (r == 0) {
        char e2[160];
        r = users_parse(text, len, &a->users, &a->nusers, e2, sizeof e2);
        free(text);
        if (r)
            snprintf(err, errlen, "%s: %s", users_file, e2);
    } else if (r == -ENOENT) {
        r = 0; /* no accounts yet: --add-user makes the file */
    } else {
        snprintf(err, errlen, "%s: %s", users_file, strerror(-r));
    }
    if (r == 0 && hash_password("not a password of anyone", a->dummy_hash, sizeof a->dummy_hash)) {
        snprintf(err, errlen, "argon2 failed");
        r = -EIO;
    }
    if (r) {
        auth_close(a);
        return r;
    }
    *out = a;
    return 0;
}

void auth_close(struct auth *a)
{
    if (!a)
        return;
    users_free(a->users, a->nusers);
    free(a->sessions);
    free(a->path);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

size_t auth_user_count(struct auth *a)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->nusers;
    pthread_mutex_unlock(&a->mu);
    return n;
}

static struct web_user *find_user(struct auth *a, const char *name)
{
    for (size_t i = 0; i < a->nusers; i++)
        if (strcmp(a->users[i].name, name) == 0)
            return &a->users[i];
    return NULL;
}

/* Rate-limit slot of `client` (a free or the oldest slot when new). */
static struct rl_slot *rl_slot(struct auth *a, const char *client, double now)
{
    struct rl_slot *oldest = &a->rl[0];
    for (int i = 0; i < RL_SLOTS; i++) {
        struct rl_slot *s = &a->rl[i];
        if (s->client[0] && strcmp(s->client, client) == 0)
            return s;
        if (!s->client[0] || s->first < oldest->first)
            oldest = s;
    }
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->client, sizeof oldest->client, "%s", client);
    oldest->first = now;
    return oldest;
}

static void expire_sessions(struct auth *a, double now)
{
    size_t k = 0;
    for (size_t i = 0; i < a->nsessions; i++) {
        struct sess *s = &a->sessions[i];
        if (now - s->used <= a->idle_s && now - s->created <= a->max_s)
            a->sessions[k++] = *s;
    }
    a->nsessions = k;
}

static int session_open(struct auth *a, const struct web_user *u, struct web_session *out)
{
    double now = web_mono();
    expire_sessions(a, now);
    if (a->nsessions >= MAX_SESSIONS) {
        /* Full: the least recently used session goes. */
        size_t lru = 0;
        for (size_t i = 1; i < a->nsessions; i++)
            if (a->sessions[i].used < a->sessions[lru].used)
                lru = i;
        a->sessions[lru] = a->sessions[--a->nsessions];
    }
    if (!a->sessions) {
        a->sessions = calloc(MAX_SESSIONS, sizeof *a->sessions);
        if (!a->sessions)
            return -ENOMEM;
    }
    struct sess *s = &a->sessions[a->nsessions];
    memset(s, 0, sizeof *s);
    if (web_random_hex(s->s.id, 32) || web_random_hex(s->s.csrf, 32))
        return -EIO;
    snprintf(s->s.user, sizeof s->s.user, "%s", u->name);
    s->s.role = u->role;
    s->created = s->used = now;
    a->nsessions++;
    *out = s->s;
    return 0;
}

int auth_login(struct auth *a, const char *name, const char *pw, const char *client,
               struct web_session *out)
{
    double now = web_mono();
    pthread_mutex_lock(&a->mu);
    struct rl_slot *rl = rl_slot(a, client, now);
    if (rl->locked_until > now) {
        pthread_mutex_unlock(&a->mu);
        return -EAGAIN;
    }
    struct web_user *u = auth_valid_name(name) ? find_user(a, name) : NULL;
    char hash[600];
    snprintf(hash, sizeof hash, "%s", u ? u->hash : a->dummy_hash);
    pthread_mutex_unlock(&a->mu);

    /* Hashing takes tens of ms: never under the lock. */
    bool ok = pw && argon2id_verify(hash, pw, strlen(pw)) == ARGON2_OK && u;

    pthread_mutex_lock(&a->mu);
    rl = rl_slot(a, client, now);
    int r = -EACCES;
    if (ok) {
        /* The account may have changed while we hashed: look again. */
        u = find_user(a, name);
        if (u && strcmp(u->hash, hash) == 0)
            r = session_open(a, u, out);
    }
    if (r == -EACCES) {
        if (now - rl->first > RL_WINDOW) {
            rl->first = now;
            rl->fails = 0;
        }
        if (++rl->fails >= RL_FAILS)
            rl->locked_until = now + RL_LOCK;
    }
    pthread_mutex_unlock(&a->mu);
    return r;
}

int auth_session(struct auth *a, const char *id, struct web_session *out)
{
    if (!id || strlen(id) != WEB_ID_HEX - 1)
        return -ENOENT;
    double now = web_mono();
    int r = -ENOENT;
    pthread_mutex_lock(&a->mu);
    expire_sessions(a, now);
    for (size_t i = 0; i < a->nsessions; i++) {
        if (web_secure_eq(a->sessions[i].s.id, id)) {
            a->sessions[i].used = now;
            *out = a->sessions[i].s;
            r = 0;
            break;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return r;
}

bool auth_session_valid(struct auth *a, const char *id)
{
    bool ok = false;
    pthread_mutex_lock(&a->mu);
    expire_sessions(a, web_mono());
    for (size_t i = 0; i < a->nsessions && !ok; i++)
        ok = web_secure_eq(a->sessions[i].s.id, id);
    pthread_mutex_unlock(&a->mu);
    return ok;
}

void auth_logout(struct auth *a, const char *id)
{
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nsessions; i++)
        if (strcmp(a->sessions[i].s.id, id) == 0)
            a->sessions[i--] = a->sessions[--a->nsessions];
    pthread_mutex_unlock(&a->mu);
}

static void end_sessions_of(struct auth *a, const char *name)
{
    for (size_t i = 0; i < a->nsessions; i++)
        if (strcmp(a->sessions[i].s.user, name) == 0)
            a->sessions[i--] = a->sessions[--a->nsessions];
}

/* Writes the users file from a->users (called with the lock held). */
static int save_users(struct auth *a)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "users");
    cJSON_AddStringToObject(root, "format", "rigweb-users/1");
    for (size_t i = 0; i < a->nusers; i++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "name", a->users[i].name);
        cJSON_AddStringToObject(u, "role", role_name(a->users[i].role));
        cJSON_AddStringToObject(u, "hash", a->users[i].hash);
        cJSON_AddItemToArray(arr, u);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return -ENOMEM;
    size_t n = strlen(text);
    int r = web_write_file_atomic(a->path, text, n, 0600);
    free(text);
    return r;
}

static size_t admins(struct auth *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nusers; i++)
        n += a->users[i].role == ROLE_ADMIN;
    return n;
}

/* add: mode 0 (must not exist), set: 1 (must exist), put: 2 (either). */
static int user_change(struct auth *a, const char *name, enum web_role role, const char *pw,
                       int mode)
{
    if (!auth_valid_name(name) || (pw && !auth_valid_password(pw)) ||
        (mode != 1 && (!pw || role == ROLE_NONE)))
        return -EINVAL;
    char hash[256] = "";
    if (pw && hash_password(pw, hash, sizeof hash))
        return -EIO;
    pthread_mutex_lock(&a->mu);
    struct web_user *u = find_user(a, name);
    int r = 0;
    if (u && mode == 0)
        r = -EEXIST;
    else if (!u && mode == 1)
        r = -ENOENT;
    else if (u && u->role == ROLE_ADMIN && role != ROLE_NONE && role != ROLE_ADMIN &&
             admins(a) == 1)
        r = -EBUSY;
    else if (!u && a->nusers >= MAX_USERS)
        r = -ENOSPC;
    if (r) {
        pthread_mutex_unlock(&a->mu);
        return r;
    }
    char *newhash = pw ? strdup(hash) : NULL;
    struct web_user *grown = u ? a->users : realloc(a->users, (a->nusers + 1) * sizeof *a->users);
    if ((pw && !newhash) || !grown) {
        free(newhash);
        pthread_mutex_unlock(&a->mu);
        return -ENOMEM;
    }
    a->users = grown;
    struct web_user old = { 0 };
    if (u) {
        old = *u;
    } else {
        u = &a->users[a->nusers++];
        memset(u, 0, sizeof *u);
        snprintf(u->name, sizeof u->name, "%s", name);
    }
    if (role != ROLE_NONE)
        u->role = role;
    if (newhash)
        u->hash = newhash;
    r = save_users(a);
    if (r) {
        /* The file did not change: neither does memory. */
        if (old.name[0]) {
            if (newhash)
                free(newhash);
            *u = old;
        } else {
            free(u->hash);
            a->nusers--;
        }
    } else {
        if (old.name[0] && newhash)
            free(old.hash);
        end_sessions_of(a, name);
    }
    pthread_mutex_unlock(&a->mu);
    return r;
}

int auth_user_add(struct auth *a, const char *name, enum web_role role, const char *pw)
{
    return user_change(a, name, role, pw, 0);
}

int auth_user_set(struct auth *a, const char *name, enum web_role role, const char *pw)
{
    return user_change(a, name, role, pw, 1);
}

int auth_user_put(struct auth *a, const char *name, enum web_role role, const char *pw)
{
    return user_change(a, name, role, pw, 2);
}

int auth_user_delete(struct auth *a, const char *name)
{
    pthread_mutex_lock(&a->mu);
    struct web_user *u = find_user(a, name);
    int r = 0;
    if (!u)
        r = -ENOENT;
    else if (u->role == ROLE_ADMIN && admins(a) == 1)
        r = -EBUSY;
    if (r == 0) {
        struct web_user old = *u;
        size_t idx = (size_t)(u - a->users);
        memmove(u, u + 1, (a->nusers - idx - 1) * sizeof *u);
        a->nusers--;
        r = save_users(a);
        if (r) {
            memmove(a->users + idx + 1, a->users + idx, (a->nusers - idx) * sizeof *u);
            a->users[idx] = old;
            a->nusers++;
        } else {
            free(old.hash);
            end_sessions_of(a, name);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return r;
}

cJSON *auth_user_list(struct auth *a)
{
    cJSON *arr = cJSON_CreateArray();
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nusers; i++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "name", a->users[i].name);
        cJSON_AddStringToObject(u, "role", role_name(a->users[i].role));
        cJSON_AddItemToArray(arr, u);
    }
    pthread_mutex_unlock(&a->mu);
    return arr;
}
