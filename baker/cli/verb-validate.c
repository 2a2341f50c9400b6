/* baker validate: parse and check a template and its variables, offline. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "events.h"
#include "log.h"
#include "outcome.h"
#include "template-args.h"
#include "verbs.h"

int verb_validate(int argc, char **argv) {
        static const struct option options[] = {
                TEMPLATE_ARGS_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(template_args_done) TemplateArgs args = {};
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (template_args_parse_option(&args, c, optarg))
                        continue;
                if (c == 'h') {
                        printf("usage: %s", verb_find("validate")->usage);
                        return OUTCOME_OK;
                }
                return OUTCOME_USAGE;
        }
        if (verb_check_args("validate", argc - optind) < 0)
                return OUTCOME_USAGE;

        _cleanup_(template_freep) Template *t = NULL;
        _cleanup_(vars_freep) Vars *vars = NULL;
        template_args_load(&args, argv[optind], &t, &vars);
        if (t->n_errors > 0) {
                template_args_report_errors(&args, t);
                return OUTCOME_USAGE;
        }
        if (args.json)
                events_print_document(json_pack("{s:[], s:b}", "errors", "valid", true));
        else
                printf("%s: valid\n", argv[optind]);
        return OUTCOME_OK;
}
