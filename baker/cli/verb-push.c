/* baker push IMAGE-OR-MANIFEST REF: uploads a baked image as an OCI artifact. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>

#include "log.h"
#include "outcome.h"
#include "publish.h"
#include "registry.h"
#include "cli.h"
#include "verbs.h"

int verb_push(int argc, char **argv) {
        static const struct option options[] = {
                CLI_REGISTRY_OPTIONS,
                { "format", required_argument, NULL, 'f' },
                { "containerdisk", no_argument, NULL, 'c' },
                { "annotation", required_argument, NULL, 'a' },
                { "channel", required_argument, NULL, 'C' },
                { "mount-from", required_argument, NULL, 'm' },
                {},
        };
        _cleanup_free_ char **annotations = NULL, **channels = NULL;
        PublishOptions opts = {};
        bool json = false;
        int c, k;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        if (streq(optarg, "containerdisk"))
                                opts.artifact.containerdisk = true;
                        else
                                opts.artifact.format = optarg;
                        break;
                case 'c':
                        opts.artifact.containerdisk = true;
                        break;
                case 'a':
                        annotations = xrealloc(annotations, (opts.artifact.n_annotations + 1) * sizeof(char *));
                        annotations[opts.artifact.n_annotations++] = optarg;
                        break;
                case 'C':
                        channels = xrealloc(channels, (opts.n_channels + 1) * sizeof(char *));
                        channels[opts.n_channels++] = optarg;
                        break;
                case 'm':
                        opts.mount_from = optarg;
                        break;
                default:
                        if (!cli_registry_option(c, optarg, &json))
                                return OUTCOME_USAGE;
                        break;
                }
        if (verb_check_args(argv[0], argc - optind) < 0)
                return OUTCOME_USAGE;
        const char *input = argv[optind], *target = argv[optind + 1];
        opts.artifact.annotations = annotations;
        opts.channels = channels;

        if (access(input, R_OK) < 0) {
                log_error_errno(-errno, "cannot read '%s': %m", input);
                return OUTCOME_INPUT;
        }
        json_t *report = NULL;
        k = publish_image(input, target, &opts, &report);
        if (k == -EINVAL)
                return OUTCOME_USAGE;
        if (k == -EBADMSG || k == -ENOENT)
                return OUTCOME_INPUT;
        if (k < 0)
                return OUTCOME_PUBLISH;

        if (json) {
                cli_print_json(json_incref(report));
        } else {
                const char *repo = json_string_value(json_object_get(report, "repository"));
                const char *tag = json_string_value(json_object_get(report, "tag"));
                const char *digest = json_string_value(json_object_get(report, "digest"));
                if (streq(json_string_value(json_object_get(report, "status")), "unchanged"))
                        printf("%s:%s unchanged (%s), nothing sent\n", repo, tag, digest);
                else
                        printf("pushed %s:%s %s (%" JSON_INTEGER_FORMAT " blobs, %" JSON_INTEGER_FORMAT
                               " bytes sent; %" JSON_INTEGER_FORMAT " blobs already present)\n",
                               repo, tag, digest, json_integer_value(json_object_get(report, "blobs_sent")),
                               json_integer_value(json_object_get(report, "bytes_sent")),
                               json_integer_value(json_object_get(report, "blobs_skipped")));
                printf("%s\n", json_string_value(json_object_get(report, "reference")));
                json_t *ch;
                size_t i;
                json_array_foreach(json_object_get(report, "channels"), i, ch)
                        printf("channel %s %s\n", json_string_value(json_object_get(ch, "name")),
                               json_is_true(json_object_get(ch, "moved")) ? "promoted" : "already there");
        }
        json_decref(report);
        return OUTCOME_OK;
}
