/* rigweb URL matching (see route.h). */
#include "web/route.h"

#include <stdio.h>
#include <string.h>

bool route_match(const char *pattern, const char *url, char *buf, size_t buflen, const char *cap[2])
{
    int ncap = 0;
    if (strlen(url) >= buflen)
        return false;
    snprintf(buf, buflen, "%s", url);
    char *u = buf;
    const char *p = pattern;
    while (*p) {
        if (p[0] == '*' && p[1] == '*') {
            if (!*u || ncap == 2)
                return false;
            cap[ncap++] = u;
            return true;
        }
        if (*p == '*') {
            char *end = strchr(u, '/');
            size_t n = end ? (size_t)(end - u) : strlen(u);
            if (n == 0 || ncap == 2)
                return false;
            cap[ncap++] = u;
            u += n;
            p++;
            if (*u) {
                if (*p != '/')
                    return false;
                *u++ = '\0';
                p++;
            }
            continue;
        }
        if (*p != *u)
            return false;
        p++;
        u++;
    }
    return *u == '\0';
}

bool route_safe_path(const char *p)
{
    if (!*p || strlen(p) > 200)
        return false;
    bool seg_start = true;
    for (; *p; p++) {
        char c = *p;
        if (c == '/') {
            if (seg_start)
                return false;
            seg_start = true;
            continue;
        }
        if (seg_start && c == '.')
            return false;
        seg_start = false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return !seg_start;
}
