/* Helpers for validating user JSON files with cJSON: every problem goes to a
 * rig_problems list as "file: json.path: message" and validation continues,
 * so a user sees all problems of a file at once. Paths look like
 * "$.main[2].seconds". Internal to the engine. */
#ifndef RIG_CORE_JSONV_H
#define RIG_CORE_JSONV_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/speclimit.h"
#include "core/outcome.h"

#define JV_PATH_MAX      256
#define JV_MAX_FILE_SIZE (4u << 20) /* user files above 4 MiB are refused */
#define JV_MAX_KEYS      256        /* keys per object */

struct jv {
    const char *file; /* label used in messages */
    struct rig_problems *p;
};

/* Read a whole file (refusing > JV_MAX_FILE_SIZE); NUL-terminated. Returns
 * NULL after adding a problem. */
char *jv_read_file(struct jv *v, const char *path, size_t *len);
/* Parse buf[0..len) (buf[len] must be '\0'); a syntax error is reported
 * with line and column. */
cJSON *jv_parse(struct jv *v, const char *buf, size_t len);

/* Child path helpers. */
void jv_path_key(char *out, const char *path, const char *key);
void jv_path_index(char *out, const char *path, size_t i);

/* Report keys of obj not in allowed (NULL-terminated) and duplicate keys.
 * Returns false if obj is not an object (reported). */
bool jv_object(struct jv *v, const cJSON *obj, const char *path, const char *const *allowed);

/* Typed members. Return 1 if present and valid (out set), 0 if absent
 * (reported when required), -1 if present but invalid (reported). */
int jv_string(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
              const char **out);
int jv_number(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
              double min, double max, double *out);
int jv_integer(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
               long min, long max, long *out);
/* A number or a setpoint reference string ("$rate_hz", "$depth_mm"). */
int jv_limit_value(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
                   struct lim_value *out);
/* An array member; returns its size, 0 if absent (reported when required),
 * -1 if not an array or shorter than min_items (reported). */
int jv_array(struct jv *v, const cJSON *obj, const char *path, const char *key, bool required,
             int min_items, const cJSON **out);

/* strdup that reports out of memory as a problem. */
char *jv_strdup(struct jv *v, const char *path, const char *s);

#endif
