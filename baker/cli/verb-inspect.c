/* baker inspect: the stamp, digests and layout of an image file, or what a manifest.json records. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "cli.h"
#include "inspect.h"
#include "log.h"
#include "manifest.h"
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

        if (inspect_is_manifest(path)) {
                _cleanup_(manifest_freep) BakeManifest *m = NULL;
                if (inspect_manifest(path, &m) < 0)
                        return OUTCOME_INPUT;
                if (json)
                        cli_print_json(inspect_manifest_to_json(path, m));
                else
                        inspect_print_manifest(path, m, stdout);
                return OUTCOME_OK;
        }
        _cleanup_(image_inspection_freep) ImageInspection *x = NULL;
        int r = inspect_image(path, &x);
        if (r < 0)
                return r == -ENOMEM ? OUTCOME_INTERNAL : OUTCOME_INPUT;
        if (json)
                cli_print_json(image_inspection_to_json(x));
        else
                image_inspection_print(x, stdout);
        return OUTCOME_OK;
}
