#pragma once
/* Clocks and timestamps: monotonic time for durations and deadlines (never the wall clock, which
 * can jump), and RFC 3339 UTC timestamps ("2024-01-02T03:04:05Z") for what is written down. */
#include <stdint.h>

#define USEC_PER_SEC UINT64_C(1000000)

/* CLOCK_MONOTONIC in microseconds / in seconds. */
uint64_t now_usec(void);
double now_seconds(void);

/* "YYYY-MM-DDTHH:MM:SSZ" of seconds since the epoch, newly allocated. */
char *rfc3339_format(int64_t epoch);
/* Seconds since the epoch of a "YYYY-MM-DDTHH:MM:SS..." UTC timestamp (anything after the seconds
 * is ignored); -EINVAL when it is not one. */
int rfc3339_parse(const char *s, int64_t *ret);
/* Seconds since the epoch of an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110's
 * IMF-fixdate, as Azure's Last-Modified); -EINVAL when it is not one. */
int http_date_parse(const char *s, int64_t *ret);
