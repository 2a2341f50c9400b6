/* Boot-test markers compile; patterns that make glibc's regcomp() allocate without limit are
 * refused before it runs, with the reason (the fuzzer's find: "lo+g+++..." took over 2 GiB). */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "regex-bounded.h"
#include "test-lib.h"

static void ok(const char *pattern) {
        regex_t re;
        char err[128];
        assert_se(regex_compile_bounded(&re, pattern, err, sizeof err) == 0);
        regfree(&re);
}

static void refused(const char *pattern, const char *why) {
        regex_t re;
        char err[128] = "";
        assert_se(regex_compile_bounded(&re, pattern, err, sizeof err) == -EINVAL);
        assert_se(strstr(err, why));
}

int main(void) {
        ok("login:");
        ok("BAKER-OK-[0-9]+");
        ok("^Welcome to .*(Debian|Ubuntu)");
        ok("a{3}b{2,5}c{4,}");
        ok("[+*?]+x");            /* quantifier characters inside brackets are literals */
        ok("\\+\\+\\+");          /* and so are escaped ones */
        ok("[]+]+ [^]*]* [[:digit:]+]+");
        ok("((((((((a+)+)+)+)+)+)+)+)");

        refused("lo+g++++++++++++++++++++++++++++++++++", "a quantifier follows a quantifier");
        refused("a*?", "a quantifier follows a quantifier");
        refused("a{2}{3}", "a quantifier follows a quantifier");
        refused("(((((((((a)))))))))", "groups nest deeper than 8");
        refused("a{1001}", "repeat more than 1000");
        refused("(a{40}){40}", "repeat more than 1000");
        char long_pattern[REGEX_MAX_LENGTH + 2];
        memset(long_pattern, 'a', sizeof long_pattern - 1);
        long_pattern[sizeof long_pattern - 1] = 0;
        refused(long_pattern, "longer than 1024 bytes");
        /* Malformed patterns are regcomp()'s to report. */
        refused("a[b", "");
        refused("(a", "");
        return 0;
}
