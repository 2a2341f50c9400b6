/* Clocks and timestamps; see time-util.h. */
#include "time-util.h"

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
