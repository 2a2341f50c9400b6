/* baker push IMAGE-OR-MANIFEST REF: uploads a baked image as an OCI artifact. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>

#include "glance.h"
#include "interrupt.h"
#include "log.h"
#include "outcome.h"
#include "publish.h"
#include "registry.h"
#include "cli-glance.h"
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
                { "visibility", required_argument, NULL, 'V' },
                { "member", required_argument, NULL, 'M' },
                {},
        };
        _cleanup_free_ char **annotations = NULL, **channels = NULL, **members = NULL;
        size_t n_members = 0;
        PublishOptions opts = {};
        GlancePublishOptions glance = {};
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
                case 'V':
                        glance.visibility = optarg;
                        break;
                case 'M':
                        members = xrealloc(members, (n_members + 2) * sizeof(char *));
                        members[n_members++] = optarg;
                        members[n_members] = NULL;
                        glance.has_members = true;
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
        /* Ctrl-C stops the upload at once (exit 130), even when a script started baker in the
         * background (where SIGINT is ignored by default): what reached the server is only ever an
         * unfinished upload (S3 parts, a page blob without its digest, a queued Glance image), never
         * a tag, and the next run resumes it. */
        interrupt_install();
        if (glance_ref_is(target)) {
                glance.format = opts.artifact.format;
                glance.channels = channels;
                glance.n_channels = opts.n_channels;
                glance.members = members;
                return cli_glance_push(input, target, &glance, json);
        }
        if (glance.visibility || glance.has_members) {
                log_error("--visibility and --member are for glance: targets");
                return OUTCOME_USAGE;
        }
        _cleanup_(publish_report_done) PublishReport report = {};
        k = publish_image(input, target, &opts, &report);
        if (k == -EBADMSG || k == -ENOENT)
                return OUTCOME_INPUT;
        if (k < 0)
                return cli_registry_outcome(k);
        if (json) {
                cli_print_json(publish_report_to_json(&report));
                return OUTCOME_OK;
        }
        if (report.unchanged)
                printf("%s:%s unchanged (%s), nothing sent\n", report.repository, report.tag, report.digest);
        else
                printf("pushed %s:%s %s (%" PRIu64 " blobs, %" PRIu64 " bytes sent; %" PRIu64 " blobs already present)\n",
                       report.repository, report.tag, report.digest, report.stats.blobs_sent, report.stats.bytes_sent,
                       report.stats.blobs_skipped);
        printf("%s\n", report.reference);
        for (size_t i = 0; i < report.n_channels; i++)
                printf("channel %s %s\n", report.channels[i].name, report.channels[i].moved ? "promoted" : "already there");
        return OUTCOME_OK;
}
