#include <assert.h>

#include "time-util.h"
#include "util.h"

int main(void) {
        static const struct {
                int64_t epoch;
                const char *s;
        } stamps[] = {
                { 0, "1970-01-01T00:00:00Z" },
                { 1700000000, "2023-11-14T22:13:20Z" },
                { 951782400, "2000-02-29T00:00:00Z" },
        };
        for (size_t i = 0; i < ELEMENTSOF(stamps); i++) {
                _cleanup_free_ char *s = rfc3339_format(stamps[i].epoch);
                assert(streq(s, stamps[i].s));
                int64_t t = -1;
                assert(rfc3339_parse(s, &t) == 0 && t == stamps[i].epoch);
        }
        int64_t t = 42;
        assert(rfc3339_parse("2023-11-14T22:13:20.123+00:00", &t) == 0 && t == 1700000000);
        assert(rfc3339_parse("yesterday", &t) == -EINVAL && t == 1700000000);
        assert(rfc3339_parse(NULL, &t) == -EINVAL);
        assert(http_date_parse("Tue, 14 Nov 2023 22:13:20 GMT", &t) == 0 && t == 1700000000);
        assert(http_date_parse("Tue, 29 Feb 2000 00:00:00 GMT", &t) == 0 && t == 951782400);
        static const char *const bad_dates[] = { "Tue, 14 Nov 2023 22:13:20", "Tue, 14 Nov 2023 22:13:20 GMT+1",
                                                 "Tue, 14 Xyz 2023 22:13:20 GMT", "Tue, 14 ovD 2023 22:13:20 GMT",
                                                 "2023-11-14T22:13:20Z", "", NULL };
        for (size_t i = 0; i < ELEMENTSOF(bad_dates); i++)
                assert(http_date_parse(bad_dates[i], &t) == -EINVAL && t == 951782400);

        uint64_t a = now_usec();
        double s = now_seconds();
        uint64_t b = now_usec();
        assert(b >= a && s > 0);
        assert((double) a / 1e6 <= s + 1e-3 && s <= (double) b / 1e6 + 1e-3);
        return 0;
}
