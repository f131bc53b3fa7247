/* How rigweb reads a request's path (outside input: fuzzed by
 * tests/web/fuzz_web_route.c): matching it against a route pattern of the
 * routes table (http.c), and checking a static file's path. */
#ifndef RIG_WEB_ROUTE_H
#define RIG_WEB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

/* Whether url matches pattern: literal characters, '*' for one non-empty
 * path segment, "**" at the end for the non-empty rest. The wildcard parts
 * go to cap[0], cap[1] in order, pointing into buf (a copy of url cut at
 * the segments' ends; a url that does not fit never matches). */
bool route_match(const char *pattern, const char *url, char *buf, size_t buflen,
                 const char *cap[2]);

/* A path below the static directory: 1..200 bytes of segments of
 * [A-Za-z0-9._-] separated by single '/', none starting with a dot (no
 * "..", no hidden files), no leading or trailing '/'. */
bool route_safe_path(const char *p);

#endif
