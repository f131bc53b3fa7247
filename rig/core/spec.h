/* Spec limits files (format "rig-spec/1", see docs/FILES.md): which pen
 * model and hardware revisions they apply to, and the named measurements
 * with their quantity, units and limit. */
#ifndef RIG_CORE_SPEC_H
#define RIG_CORE_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/digest.h"
#include "core/speclimit.h"
#include "core/outcome.h"
#include "core/quantity.h"

#define SPEC_FORMAT "rig-spec/1"

struct spec_measurement {
    char *name;
    enum rig_quantity quantity;
    char *units;
    char *description; /* may be NULL */
    struct limit limit;
};

struct rig_spec {
    char *file; /* path as loaded (label for messages) */
    char sha256[DIGEST_HEX_LEN + 1];
    char *text; /* the bytes parsed and hashed (NUL-terminated) */
    size_t text_len;
    char *name, *version, *description;
    char *model;     /* pen model this spec is for */
    long *revisions; /* hardware revisions; none = any */
    size_t nrevisions;
    struct spec_measurement *m;
    size_t nm;
};

/* Load and validate a spec file. Returns the spec, or NULL with every
 * problem added to problems. */
struct rig_spec *spec_load(const char *path, struct rig_problems *problems);
/* Same from memory; buf[len] must be '\0'. label names the file in
 * messages. */
struct rig_spec *spec_parse(const char *label, const char *buf, size_t len,
                            struct rig_problems *problems);
void spec_free(struct rig_spec *s);

const struct spec_measurement *spec_find(const struct rig_spec *s, const char *name);
/* True if the spec applies to this pen model and hardware revision. */
bool spec_applies(const struct rig_spec *s, const char *model, long hw_revision);

#endif
