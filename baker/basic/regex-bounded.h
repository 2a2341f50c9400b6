#pragma once
/* POSIX extended regular expressions from untrusted text (a template's boot-test markers, --expect)
 * compiled within bounds. glibc's regcomp() copies a subexpression for every quantifier applied to
 * it and every count of an interval, so a short pattern can make it allocate without limit:
 * "a++++++++++++++++++++++++++++++" doubles the tree 30 times. Before compiling, the pattern is
 * refused when it is longer than REGEX_MAX_LENGTH, stacks a quantifier on a quantifier (undefined
 * in POSIX anyway), nests groups deeper than REGEX_MAX_DEPTH, or has intervals whose upper bounds
 * multiply past REGEX_MAX_REPEAT. A marker like "login:" or "BAKER-OK-[0-9]+" is far from all of
 * these. */
#include <regex.h>
#include <stddef.h>

#define REGEX_MAX_LENGTH 1024
#define REGEX_MAX_DEPTH 8
#define REGEX_MAX_REPEAT 1000

/* 0, or why the pattern is refused (a static string). Pure. */
const char *regex_check_bounds(const char *pattern);

/* regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) after regex_check_bounds(). 0, or -EINVAL with
 * the reason (the bound, or regerror()'s words) in errbuf; re needs no regfree() then. */
int regex_compile_bounded(regex_t *re, const char *pattern, char *errbuf, size_t errlen);
