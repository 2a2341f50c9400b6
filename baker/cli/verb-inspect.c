/* baker inspect: the stamp, digests and layout of an image file, or what a manifest.json records. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "inspect.h"
#include "log.h"
#include "outcome.h"
#include "verbs.h"

int verb_inspect(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        bool json = false;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf("usage: %s", verb_find("inspect")->usage);
                        return OUTCOME_OK;
                default:
                        return OUTCOME_USAGE;
                }
        }
        if (verb_check_args("inspect", argc - optind) < 0)
                return OUTCOME_USAGE;
        const char *path = argv[optind];

        json_auto_t *doc = NULL;
        int r = inspect_is_manifest(path) ? inspect_manifest(path, &doc) : inspect_image(path, &doc);
        if (r < 0)
                return r == -ENOMEM ? OUTCOME_INTERNAL : OUTCOME_INPUT;
        if (json) {
                _cleanup_free_ char *s = json_dumps(doc, JSON_SORT_KEYS | JSON_INDENT(2));
                printf("%s\n", s);
        } else
                inspect_print(doc, stdout);
        return OUTCOME_OK;
}
