#pragma once
/* Units as templates write them: sizes ("64MiB", "2GiB", "512K", plain bytes), durations ("90s",
 * "10m", "1h30m", "500ms") and octal file modes ("0644"). Pure functions, no I/O. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

/* Sizes: an integer followed by nothing (bytes) or one of K, KiB, M, MiB, G, GiB, T, TiB (all
 * binary: 512K = 512 KiB, as disk tools read them). -EINVAL if malformed, -ERANGE on overflow. */
int units_parse_size(const char *s, uint64_t *ret);
/* Shortest exact form: 67108864 -> "64MiB", 1000 -> "1000". Newly allocated. */
char *units_format_size(uint64_t bytes);
/* Rounded, for people: 1500000 -> "1.4 MiB", 512 -> "512 B". Writes into buf (32 bytes are enough). */
void units_format_size_rounded(double bytes, char *buf, size_t n);

/* Durations: one or more NUMBER UNIT groups, units ms, s, m (or min), h, d ("1h30m"), or a bare
 * integer meaning seconds. The one duration parser: templates' `timeout:` and every command-line
 * duration (`baker test --timeout`) read the same forms. Result in microseconds. -EINVAL if malformed, -ERANGE on overflow. */
int units_parse_duration(const char *s, uint64_t *ret_usec);

/* Octal mode with a leading zero: "0644", "0755", "04755". -EINVAL otherwise. */
int units_parse_mode(const char *s, unsigned *ret);
