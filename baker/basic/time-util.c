/* Clocks and timestamps; see time-util.h. */
#include "time-util.h"

#include <stdio.h>
#include <time.h>

#include "util.h"

uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

double now_seconds(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

char *rfc3339_format(int64_t epoch) {
        time_t t = (time_t) epoch;
        struct tm tm;
        char buf[64];
        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return xstrdup("1970-01-01T00:00:00Z");
        return xstrdup(buf);
}

int rfc3339_parse(const char *s, int64_t *ret) {
        struct tm tm = {};
        if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
                return -EINVAL;
        time_t t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = (int64_t) t;
        return 0;
}

/* By hand rather than strptime's %a/%b, which follow the locale. */
int http_date_parse(const char *s, int64_t *ret) {
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        char mon[4], zone[4];
        struct tm tm = {};
        int n = 0;
        if (!s || sscanf(s, "%*3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3s%n", &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour,
                         &tm.tm_min, &tm.tm_sec, zone, &n) != 7 || s[n] || !streq(zone, "GMT"))
                return -EINVAL;
        const char *m = strlen(mon) == 3 ? strstr(months, mon) : NULL;
        if (!m || (m - months) % 3 != 0)
                return -EINVAL;
        tm.tm_mon = (int) (m - months) / 3;
        tm.tm_year -= 1900;
        time_t t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = (int64_t) t;
        return 0;
}
