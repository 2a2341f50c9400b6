/* baker: bakes immutable machine images from templates. This file is only the verb table and the
 * dispatch; every verb lives in verb-<name>.c and calls the library. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "outcome.h"
#include "verbs.h"
#include "version.h"

static int verb_help(int argc, char **argv);
static int verb_version(int argc, char **argv);

static const Verb verbs[] = {
        { "help", 0, 1, verb_help, "show help for baker or one verb", "baker help [VERB]\n" },
        { "version", 0, 0, verb_version, "print baker's version", "baker version\n" },
        { "cache", 1, 1, verb_cache, "list or garbage-collect the local cache",
          "baker cache ls [--json] [--cache DIR]\n"
          "       baker cache gc [--max-size SIZE] [--json] [--cache DIR]\n\n"
          "ls lists blobs (inputs), keyed entries (steps, bakes) and partial downloads with their size and\n"
          "last use. gc evicts the least recently used until the cache holds at most SIZE (default 10GiB);\n"
          "what a running bake uses is kept. The cache is $BAKER_CACHE, else $XDG_CACHE_HOME/baker.\n" },
        {},
};

const Verb *verb_table(void) {
        return verbs;
}

const Verb *verb_find(const char *name) {
        for (const Verb *v = verbs; v->name; v++)
                if (streq(v->name, name))
                        return v;
        return NULL;
}

int verb_check_args(const char *name, int n) {
        const Verb *v = verb_find(name);
        if (!v)
                return 0;
        if (n < v->min_args || (v->max_args >= 0 && n > v->max_args)) {
                log_error("%s: expected %s%d argument%s, got %d", name,
                          v->min_args == v->max_args ? "" : n < v->min_args ? "at least " : "at most ",
                          n < v->min_args ? v->min_args : v->max_args,
                          (n < v->min_args ? v->min_args : v->max_args) == 1 ? "" : "s", n);
                fprintf(stderr, "usage: %s", v->usage);
                return -EINVAL;
        }
        return 0;
}

static void print_overview(FILE *f) {
        fprintf(f, "baker %s: bakes immutable machine images from templates\n\n"
                   "usage: baker [--version] [-v|-q] VERB [ARGS...]\n\nverbs:\n",
                BAKER_VERSION);
        for (const Verb *v = verbs; v->name; v++)
                fprintf(f, "  %-10s %s\n", v->name, v->summary);
        fprintf(f, "\nRun 'baker help VERB' for a verb's options.\n");
}

static int verb_help(int argc, char **argv) {
        if (argc < 2) {
                print_overview(stdout);
                return OUTCOME_OK;
        }
        const Verb *v = verb_find(argv[1]);
        if (!v) {
                log_error("unknown verb '%s'", argv[1]);
                return OUTCOME_USAGE;
        }
        printf("baker %s: %s\n\nusage: %s", v->name, v->summary, v->usage);
        return OUTCOME_OK;
}

static int verb_version(int argc, char **argv) {
        printf("baker %s\n", BAKER_VERSION);
        return OUTCOME_OK;
}

int main(int argc, char **argv) {
        int i = 1, verbosity = 0;
        for (; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];
                if (streq(a, "--version"))
                        return verb_version(0, NULL);
                else if (streq(a, "--help") || streq(a, "-h")) {
                        print_overview(stdout);
                        return OUTCOME_OK;
                } else if (streq(a, "-v") || streq(a, "--verbose"))
                        verbosity++;
                else if (streq(a, "-vv"))
                        verbosity += 2;
                else if (streq(a, "-q") || streq(a, "--quiet"))
                        verbosity = -1;
                else {
                        log_error("unknown option '%s'", a);
                        print_overview(stderr);
                        return OUTCOME_USAGE;
                }
        }
        log_set_max_level(verbosity < 0 ? LOG_LEVEL_ERROR : MIN(LOG_LEVEL_NOTICE + verbosity, LOG_LEVEL_DEBUG));
        if (i >= argc) {
                print_overview(stderr);
                return OUTCOME_USAGE;
        }
        const Verb *v = verb_find(argv[i]);
        if (!v) {
                log_error("unknown verb '%s'; run 'baker help' for the list", argv[i]);
                return OUTCOME_USAGE;
        }
        /* Each verb sees argv starting at its own name and may use getopt_long freely. Allow
         * options after positional args (GNU style) but not past "--". */
        optind = 0;
        return v->fn(argc - i, argv + i);
}
