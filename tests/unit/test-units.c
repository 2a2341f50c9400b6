#include <stdio.h>

#include "units.h"
#include "util.h"
#include "test-lib.h"

int main(void) {
        static const struct {
                const char *s;
                int r;
                uint64_t v;
        } sizes[] = {
                { "0", 0, 0 },
                { "1048576", 0, 1048576 },
                { "512K", 0, 512 * 1024 },
                { "512KiB", 0, 512 * 1024 },
                { "64MiB", 0, UINT64_C(64) << 20 },
                { "64M", 0, UINT64_C(64) << 20 },
                { "2GiB", 0, UINT64_C(2) << 30 },
                { "3T", 0, UINT64_C(3) << 40 },
                { "", -EINVAL, 0 },
                { "rest", -EINVAL, 0 },
                { "64 MiB", -EINVAL, 0 },
                { "64mib", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "1.5G", -EINVAL, 0 },
                { "MiB", -EINVAL, 0 },
                { "18446744073709551615", 0, UINT64_MAX },
                { "18446744073709551616", -ERANGE, 0 },
                { "99999999999TiB", -ERANGE, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                uint64_t v = 12345;
                int r = units_parse_size(sizes[i].s, &v);
                if (r != sizes[i].r || (r == 0 && v != sizes[i].v)) {
                        fprintf(stderr, "size '%s': got %d/%llu\n", sizes[i].s, r, (unsigned long long) v);
                        return 1;
                }
        }
        char *f = units_format_size(UINT64_C(64) << 20);
        assert_se(streq(f, "64MiB"));
        free(f);
        f = units_format_size(1000);
        assert_se(streq(f, "1000"));
        free(f);
        char rounded[32];
        units_format_size_rounded(512, rounded, sizeof rounded);
        assert_se(streq(rounded, "512 B"));
        units_format_size_rounded(1500000, rounded, sizeof rounded);
        assert_se(streq(rounded, "1.4 MiB"));
        units_format_size_rounded((double) (UINT64_C(3) << 40), rounded, sizeof rounded);
        assert_se(streq(rounded, "3.0 TiB"));
        units_format_size_rounded((double) (UINT64_C(5) << 50), rounded, sizeof rounded);
        assert_se(streq(rounded, "5120.0 TiB"));

        static const struct {
                const char *s;
                int r;
                uint64_t usec;
        } durations[] = {
                { "90s", 0, 90 * USEC_PER_SEC },
                { "10m", 0, 600 * USEC_PER_SEC },
                { "1h30m", 0, 5400 * USEC_PER_SEC },
                { "500ms", 0, 500 * USEC_PER_MSEC },
                { "1m30s", 0, 90 * USEC_PER_SEC },
                { "2d", 0, 2 * 86400 * USEC_PER_SEC },
                { "45", 0, 45 * USEC_PER_SEC },
                { "2min", 0, 120 * USEC_PER_SEC },
                { "1h5min", 0, 3900 * USEC_PER_SEC },
                { "", -EINVAL, 0 },
                { "1h30", -EINVAL, 0 },
                { "10 m", -EINVAL, 0 },
                { "m", -EINVAL, 0 },
                { "5y", -EINVAL, 0 },
                { "99999999999999999999s", -ERANGE, 0 },
                { "999999999999999d", -ERANGE, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
                uint64_t v = 0;
                int r = units_parse_duration(durations[i].s, &v);
                if (r != durations[i].r || (r == 0 && v != durations[i].usec)) {
                        fprintf(stderr, "duration '%s': got %d/%llu\n", durations[i].s, r, (unsigned long long) v);
                        return 1;
                }
        }

        unsigned m;
        assert_se(units_parse_mode("0644", &m) == 0 && m == 0644);
        assert_se(units_parse_mode("0755", &m) == 0 && m == 0755);
        assert_se(units_parse_mode("04755", &m) == 0 && m == 04755);
        assert_se(units_parse_mode("644", &m) == -EINVAL);
        assert_se(units_parse_mode("0648", &m) == -EINVAL);
        assert_se(units_parse_mode("0", &m) == -EINVAL);
        assert_se(units_parse_mode("077777", &m) == -EINVAL);
        assert_se(units_parse_mode("rw-r--r--", &m) == -EINVAL);
        printf("ok\n");
        return 0;
}
