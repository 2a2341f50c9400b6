/* Bounded regcomp(); see regex-bounded.h. */
#include "regex-bounded.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bracket expression ("[...]", "[]a]", "[^]a]", "[[:digit:]]") starts at p; returns its end
 * (after ']'), or NULL when it does not close (regcomp reports that itself). */
static const char *skip_bracket(const char *p) {
        p++;
        if (*p == '^')
                p++;
        if (*p == ']')
                p++;
        while (*p && *p != ']') {
                if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                        const char *end = strstr(p + 2, (char[]) { p[1], ']', 0 });
                        if (!end)
                                return NULL;
                        p = end + 2;
                } else
                        p++;
        }
        return *p ? p + 1 : NULL;
}

/* An interval "{n}", "{n,}" or "{n,m}" starts at p: its upper bound (n without m; an open one
 * counts as its lower bound, as glibc repeats that much and adds a star), and its end. */
static const char *parse_interval(const char *p, unsigned long *ret_max) {
        char *end;
        unsigned long lo = strtoul(p + 1, &end, 10), hi = lo;
        if (end == p + 1)
                return NULL;
        if (*end == ',') {
                const char *q = end + 1;
                if (*q != '}') {
                        hi = strtoul(q, &end, 10);
                        if (end == q)
                                return NULL;
                } else
                        end = (char *) q;
        }
        if (*end != '}')
                return NULL;
        *ret_max = hi;
        return end + 1;
}

const char *regex_check_bounds(const char *pattern) {
        if (strlen(pattern) > REGEX_MAX_LENGTH)
                return "longer than 1024 bytes";
        unsigned depth = 0;
        unsigned long repeat = 1;
        bool after_quantifier = false;
        for (const char *p = pattern; *p;) {
                if (*p == '\\') {
                        p += p[1] ? 2 : 1;
                        after_quantifier = false;
                } else if (*p == '[') {
                        const char *end = skip_bracket(p);
                        if (!end)
                                return NULL; /* unbalanced: regcomp() says so */
                        p = end;
                        after_quantifier = false;
                } else if (*p == '*' || *p == '+' || *p == '?' || (*p == '{' && p[1] >= '0' && p[1] <= '9')) {
                        if (after_quantifier)
                                return "a quantifier follows a quantifier";
                        if (*p == '{') {
                                unsigned long max;
                                const char *end = parse_interval(p, &max);
                                if (!end)
                                        return NULL; /* malformed: regcomp() says so */
                                if (max > REGEX_MAX_REPEAT || (repeat *= max ? max : 1) > REGEX_MAX_REPEAT)
                                        return "its intervals repeat more than 1000 times";
                                p = end;
                        } else
                                p++;
                        after_quantifier = true;
                } else {
                        if (*p == '(' && ++depth > REGEX_MAX_DEPTH)
                                return "groups nest deeper than 8";
                        if (*p == ')' && depth > 0)
                                depth--;
                        p++;
                        after_quantifier = false;
                }
        }
        return NULL;
}

int regex_compile_bounded(regex_t *re, const char *pattern, char *errbuf, size_t errlen) {
        const char *why = regex_check_bounds(pattern);
        if (why) {
                snprintf(errbuf, errlen, "%s", why);
                return -EINVAL;
        }
        int r = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                regerror(r, re, errbuf, errlen);
                return -EINVAL;
        }
        return 0;
}
