/* Request members: the JSON types each request class accepts, declared as
 * tables and checked in one place, so that every class answers a member
 * of the wrong type, or a missing one, the same way: bad_request
 * (docs/API.md, "Errors"). Values (ranges, names) are the handlers' job
 * and answer bad_argument.
 *
 * A member whose value is null counts as absent: clients that serialise
 * "no value" as null (as rigd's own replies do) need no special case.
 */
#ifndef RIG_API_ARGS_H
#define RIG_API_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct api_client;

/* JSON types a member may have (bit set). */
enum api_type {
    API_T_STRING = 1u << 0,
    API_T_NUMBER = 1u << 1,
    API_T_BOOL = 1u << 2,
    API_T_ARRAY = 1u << 3,
    API_T_OBJECT = 1u << 4,
};

/* One member a request (class or action) understands. Tables end with an
 * entry whose name is NULL; a NULL table takes no members. Members not
 * listed are ignored. */
struct api_member {
    const char *name;
    unsigned types;
    bool required;
};

/* The member's value, or NULL when it is absent or null. */
const cJSON *api_member(const cJSON *req, const char *name);

/* 0 when every listed member present has one of its types and every
 * required one is present; else -1 with a message for the client in msg
 * (`what` names the request in it, e.g. "pen set"). Pure: no reply. */
int api_members_check(const cJSON *req, const char *what, const struct api_member *members,
                      char *msg, size_t len);

/* api_members_check(), answering bad_request to c on failure. */
int api_members_require(struct api_client *c, const cJSON *req, const char *what,
                        const struct api_member *members);

#endif
