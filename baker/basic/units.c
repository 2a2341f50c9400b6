#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Reads a run of decimal digits; -EINVAL if there are none, -ERANGE on overflow. */
static int parse_digits(const char **p, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;
        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *p = s;
        *ret = v;
        return 0;
}

static int mul_overflow(uint64_t a, uint64_t b, uint64_t *ret) {
        if (b != 0 && a > UINT64_MAX / b)
                return -ERANGE;
        *ret = a * b;
        return 0;
}

int units_parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                { "", 1 },
                { "K", UINT64_C(1) << 10 }, { "KiB", UINT64_C(1) << 10 },
                { "M", UINT64_C(1) << 20 }, { "MiB", UINT64_C(1) << 20 },
                { "G", UINT64_C(1) << 30 }, { "GiB", UINT64_C(1) << 30 },
                { "T", UINT64_C(1) << 40 }, { "TiB", UINT64_C(1) << 40 },
        };
        if (!s)
                return -EINVAL;
        const char *p = s;
        uint64_t v;
        int r = parse_digits(&p, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(p, table[i].suffix)) {
                        uint64_t out;
                        r = mul_overflow(v, table[i].factor, &out);
                        if (r < 0)
                                return r;
                        *ret = out;
                        return 0;
                }
        return -EINVAL;
}

char *units_format_size(uint64_t bytes) {
        static const char *const suffix[] = { "TiB", "GiB", "MiB", "KiB" };
        for (int i = 0; i < 4; i++) {
                uint64_t f = UINT64_C(1) << (10 * (4 - i));
                if (bytes != 0 && bytes % f == 0)
                        return xasprintf("%llu%s", (unsigned long long) (bytes / f), suffix[i]);
        }
        return xasprintf("%llu", (unsigned long long) bytes);
}

void units_format_size_rounded(double bytes, char *buf, size_t n) {
        static const char *const suffix[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        size_t u = 0;
        while (bytes >= 1024 && u + 1 < sizeof suffix / sizeof suffix[0]) {
                bytes /= 1024;
                u++;
        }
        snprintf(buf, n, u == 0 ? "%.0f %s" : "%.1f %s", bytes, suffix[u]);
}

int units_parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *unit;
                uint64_t usec;
        } table[] = {
                /* "min" and "ms" before "m": longest match first */
                { "min", 60 * USEC_PER_SEC },    { "ms", USEC_PER_MSEC },         { "s", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },      { "h", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC },
        };
        if (!s || !*s)
                return -EINVAL;
        const char *p = s;
        uint64_t total = 0;
        int r;
        bool first = true;
        while (*p) {
                uint64_t v;
                r = parse_digits(&p, &v);
                if (r < 0)
                        return r;
                if (!*p) {
                        if (!first) /* "1h30" is ambiguous */
                                return -EINVAL;
                        return mul_overflow(v, USEC_PER_SEC, ret_usec);
                }
                bool found = false;
                for (size_t i = 0; i < ELEMENTSOF(table); i++)
                        if (startswith(p, table[i].unit)) {
                                uint64_t add;
                                r = mul_overflow(v, table[i].usec, &add);
                                if (r < 0)
                                        return r;
                                if (total > UINT64_MAX - add)
                                        return -ERANGE;
                                total += add;
                                p += strlen(table[i].unit);
                                found = true;
                                break;
                        }
                if (!found)
                        return -EINVAL;
                first = false;
        }
        *ret_usec = total;
        return 0;
}

int units_parse_mode(const char *s, unsigned *ret) {
        if (!s || s[0] != '0')
                return -EINVAL;
        size_t n = strlen(s);
        if (n < 4 || n > 5)
                return -EINVAL;
        unsigned v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '7')
                        return -EINVAL;
                v = v * 8 + (unsigned) (*p - '0');
        }
        *ret = v;
        return 0;
}
