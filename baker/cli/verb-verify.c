/* baker verify: rebuilds a template from scratch and says whether it gives the recorded image. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "log.h"
#include "template-args.h"
#include "verbs.h"
#include "verify.h"

static void print_verdict(const VerifyResult *v, bool json) {
        if (json) {
                json_t *o = json_pack("{s:b, s:s, s:s, s:s}", "reproducible", v->reproducible, "bake_key", v->bake_key,
                                      "original", v->original, "rebuilt", v->rebuilt);
                if (v->diff)
                        json_object_set_new(o, "differences", image_diff_to_json(v->diff));
                cli_print_json(o);
                return;
        }
        if (v->reproducible) {
                printf("reproducible: %s\n", v->rebuilt);
                return;
        }
        if (v->diff) {
                fprintf(stderr, "differences (original vs rebuilt):\n");
                image_diff_print(v->diff, stderr);
        }
        printf("NOT reproducible: %s was %s, rebuilt as %s\n", v->manifest_path, v->original, v->rebuilt);
}

int verb_verify(int argc, char **argv) {
        enum { ARG_OUTPUT = 0x2000 };
        static const struct option options[] = {
                TEMPLATE_ARGS_OPTIONS,
                { "output", required_argument, NULL, ARG_OUTPUT },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(template_args_done) TemplateArgs args = {};
        BakeOptions o = { .output_dir = "output" };
        int c;
        while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0) {
                if (template_args_parse_option(&args, c, optarg))
                        continue;
                if (c == 'o' || c == ARG_OUTPUT)
                        o.output_dir = optarg;
                else if (c == 'h') {
                        printf("usage: %s", verb_find("verify")->usage);
                        return OUTCOME_OK;
                } else
                        return OUTCOME_USAGE;
        }
        if (verb_check_args("verify", argc - optind) < 0)
                return OUTCOME_USAGE;
        o.template_path = argv[optind];
        template_args_to_bake(&args, &o);

        /* The rebuild's events go to stderr as human lines; stdout carries the verdict only. */
        VerifyResult v = {};
        Outcome out = bake_verify(&o, &v);
        if (out == OUTCOME_OK || out == OUTCOME_MISMATCH)
                print_verdict(&v, args.json);
        verify_result_done(&v);
        return out;
}
