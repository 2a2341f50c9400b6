/* baker push IMAGE-OR-MANIFEST REF: uploads a baked image as an OCI artifact. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sys/stat.h>

#include "artifact.h"
#include "channel.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "verbs.h"

int verb_push(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "format", required_argument, NULL, 'f' },
                { "containerdisk", no_argument, NULL, 'c' },
                { "annotation", required_argument, NULL, 'a' },
                { "channel", required_argument, NULL, 'C' },
                { "mount-from", required_argument, NULL, 'm' },
                { "insecure", required_argument, NULL, 'k' },
                {},
        };
        _cleanup_free_ char **annotations = NULL;
        size_t n_annotations = 0;
        const char *format = NULL, *channel = NULL, *mount_from = NULL;
        bool json = false, containerdisk = false;
        int c, k;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'f':
                        if (streq(optarg, "containerdisk"))
                                containerdisk = true;
                        else
                                format = optarg;
                        break;
                case 'c':
                        containerdisk = true;
                        break;
                case 'a':
                        annotations = xrealloc(annotations, (n_annotations + 1) * sizeof(char *));
                        annotations[n_annotations++] = optarg;
                        break;
                case 'C':
                        channel = optarg;
                        break;
                case 'm':
                        mount_from = optarg;
                        break;
                case 'k':
                        registry_add_insecure_host(optarg);
                        break;
                default:
                        return OUTCOME_USAGE;
                }
        if (verb_check_args(argv[0], argc - optind) < 0)
                return OUTCOME_USAGE;
        const char *input = argv[optind], *target = argv[optind + 1];

        if (access(input, R_OK) < 0) {
                log_error_errno(-errno, "cannot read '%s': %m", input);
                return OUTCOME_INPUT;
        }
        if (channel && !channel_name_valid(channel)) {
                log_error("invalid channel name '%s'", channel);
                return OUTCOME_USAGE;
        }
        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(target, true, &ref, &r);
        if (k < 0)
                return registry_error_outcome(k);
        if (ref->digest) {
                log_error("'%s': push takes a tag, not a digest", target);
                return OUTCOME_USAGE;
        }

        _cleanup_(artifact_freep) Artifact *a = NULL;
        ArtifactOptions opts = {
                .containerdisk = containerdisk,
                .format = format,
                .annotations = annotations,
                .n_annotations = n_annotations,
        };
        k = artifact_build(input, &opts, &a);
        if (k < 0)
                return k == -EINVAL ? OUTCOME_USAGE : OUTCOME_INPUT;
        const char *tag = ref->tag ?: a->version ?: "latest";
        if (!registry_tag_valid(tag)) {
                log_error("version '%s' is not a valid tag; name one in the reference", tag);
                return OUTCOME_USAGE;
        }

        _cleanup_free_ char *before = NULL;
        k = registry_manifest_head(r, tag, &before);
        if (k < 0)
                return OUTCOME_PUBLISH;
        k = artifact_push(r, a, tag, mount_from);
        if (k < 0) {
                log_error("push of '%s' to '%s' failed", input, target);
                return OUTCOME_PUBLISH;
        }
        const RegistryStats *st = registry_stats(r);
        bool unchanged = before && streq(before, a->manifest_digest) && st->blobs_sent == 0 && st->blobs_mounted == 0;

        int moved = -1;
        if (channel) {
                k = channel_promote(r, channel, a->manifest_digest, NULL);
                if (k < 0)
                        return k == -EKEYREVOKED ? OUTCOME_PUBLISH : registry_error_outcome(k);
                moved = k;
        }

        _cleanup_free_ char *pinned = registry_ref_pinned_string(ref, a->manifest_digest);
        _cleanup_free_ char *repo = registry_ref_repository_string(ref);
        if (json) {
                json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "status",
                                      unchanged ? "unchanged" : "pushed", "digest", a->manifest_digest, "repository", repo,
                                      "tag", tag, "reference", pinned, "blobs_sent", (json_int_t) st->blobs_sent,
                                      "blobs_skipped", (json_int_t) st->blobs_skipped, "blobs_mounted",
                                      (json_int_t) st->blobs_mounted, "bytes_sent", (json_int_t) st->bytes_sent,
                                      "bytes_skipped", (json_int_t) st->bytes_skipped);
                if (channel)
                        json_object_set_new(o, "channel", json_pack("{s:s, s:b}", "name", channel, "moved", moved > 0));
                _cleanup_free_ char *s = json_dumps(o, JSON_INDENT(2));
                json_decref(o);
                printf("%s\n", s);
        } else {
                if (unchanged)
                        printf("%s:%s unchanged (%s), nothing sent\n", repo, tag, a->manifest_digest);
                else
                        printf("pushed %s:%s %s (%" PRIu64 " blobs, %" PRIu64 " bytes sent; %" PRIu64
                               " blobs already present)\n",
                               repo, tag, a->manifest_digest, st->blobs_sent, st->bytes_sent, st->blobs_skipped);
                printf("%s\n", pinned);
                if (channel)
                        printf("channel %s %s\n", channel, moved > 0 ? "promoted" : "already there");
        }
        return OUTCOME_OK;
}
