/* rigweb: login, logout, who am I, and the admin's user management
 * (docs/WEB.md, "Session", "Admin"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/handlers.h"

static const char *member_str(const cJSON *body, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *me_json(const struct web_session *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", s->user);
    cJSON_AddStringToObject(o, "role", role_name(s->role));
    cJSON_AddStringToObject(o, "csrf", s->csrf);
    return o;
}

static enum MHD_Result with_cookie(struct web_req *r, cJSON *body, const char *value, bool clear)
{
    struct MHD_Response *resp = web_json_response(body);
    if (!resp)
        return MHD_NO;
    char cookie[256];
    snprintf(cookie, sizeof cookie, "rigweb_session=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
             value, clear ? "; Max-Age=0" : "", r->app->tls ? "; Secure" : "");
    MHD_add_response_header(resp, "Set-Cookie", cookie);
    return web_queue(r, 200, resp);
}

enum MHD_Result api_login(struct web_req *r)
{
    const char *user = member_str(r->body, "user"), *pw = member_str(r->body, "password");
    if (!user || !pw)
        return web_error(r, 400, "bad_request", "needs \"user\" and \"password\" (strings)");
    struct web_session s;
    int e = auth_login(r->app->auth, user, pw, r->client, &s);
    if (e == -EAGAIN)
        return web_error(r, 429, "too_many_attempts", "too many failed logins; wait a minute");
    if (e == -EACCES) {
        fprintf(stderr, "rigweb: failed login from %s\n", r->client);
        return web_error(r, 401, "unauthorized", "wrong user name or password");
    }
    if (e)
        return web_error(r, 500, "internal", "cannot open a session");
    fprintf(stderr, "rigweb: %s logged in from %s (%s)\n", s.user, r->client, role_name(s.role));
    return with_cookie(r, me_json(&s), s.id, false);
}

enum MHD_Result api_logout(struct web_req *r)
{
    auth_logout(r->app->auth, r->sess.id);
    return with_cookie(r, cJSON_CreateObject(), "", true);
}

enum MHD_Result api_me(struct web_req *r)
{
    return web_json(r, 200, me_json(&r->sess));
}

enum MHD_Result api_users_list(struct web_req *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "users", auth_user_list(r->app->auth));
    return web_json(r, 200, o);
}

/* The answer to an auth_user_* error. */
static enum MHD_Result user_error(struct web_req *r, int e, const char *name)
{
    switch (e) {
    case -EEXIST:
        return web_error(r, 409, "conflict", "user %s exists", name);
    case -ENOENT:
        return web_error(r, 404, "not_found", "no user %s", name);
    case -EBUSY:
        return web_error(r, 409, "conflict", "the last admin cannot be removed or demoted");
    case -EINVAL:
        return web_error(r, 400, "bad_request",
                         "names are 1..32 of A-Z a-z 0-9 . _ -; passwords 8..256 bytes; roles "
                         "operator, engineer, admin");
    case -ENOSPC:
        return web_error(r, 409, "conflict", "too many users");
    default:
        return web_error(r, 500, "internal", "cannot write the users file: %s", strerror(-e));
    }
}

static cJSON *user_json(const char *name, const char *role)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "role", role);
    return o;
}

enum MHD_Result api_users_add(struct web_req *r)
{
    const char *name = member_str(r->body, "user"), *role = member_str(r->body, "role"),
               *pw = member_str(r->body, "password");
    if (!name || !role || !pw || role_parse(role) == ROLE_NONE)
        return user_error(r, -EINVAL, "");
    int e = auth_user_add(r->app->auth, name, role_parse(role), pw);
    if (e)
        return user_error(r, e, name);
    fprintf(stderr, "rigweb: %s added user %s (%s)\n", r->sess.user, name, role);
    return web_json(r, 201, user_json(name, role));
}

enum MHD_Result api_users_set(struct web_req *r)
{
    const char *name = r->cap[0];
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(r->body, "role");
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(r->body, "password");
    if ((role && (!cJSON_IsString(role) || role_parse(role->valuestring) == ROLE_NONE)) ||
        (pw && !cJSON_IsString(pw)) || (!role && !pw))
        return user_error(r, -EINVAL, name);
    int e = auth_user_set(r->app->auth, name, role ? role_parse(role->valuestring) : ROLE_NONE,
                          pw ? pw->valuestring : NULL);
    if (e)
        return user_error(r, e, name);
    fprintf(stderr, "rigweb: %s changed user %s%s%s\n", r->sess.user, name, role ? " role" : "",
            pw ? " password" : "");
    cJSON *list = auth_user_list(r->app->auth), *u;
    cJSON *out = NULL;
    cJSON_ArrayForEach (u, list) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(u, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            out = cJSON_Duplicate(u, true);
    }
    cJSON_Delete(list);
    return out ? web_json(r, 200, out) : user_error(r, -ENOENT, name);
}

enum MHD_Result api_users_delete(struct web_req *r)
{
    const char *name = r->cap[0];
    int e = auth_user_delete(r->app->auth, name);
    if (e)
        return user_error(r, e, name);
    fprintf(stderr, "rigweb: %s deleted user %s\n", r->sess.user, name);
    return web_json(r, 200, cJSON_CreateObject());
}
