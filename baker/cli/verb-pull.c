/* baker pull REF[@DIGEST] DEST: downloads an image artifact, verifying every blob (a glance: reference:
 * the image file, verified against Glance's sha512). */
#include <getopt.h>
#include <inttypes.h>

#include "cli.h"
#include "glance.h"
#include "log.h"
#include "outcome.h"
#include "pull.h"
#include "verbs.h"

int verb_pull(int argc, char **argv) {
        bool json = false;
        int k;

        if (cli_parse_registry_verb(argc, argv, &json) < 0)
                return OUTCOME_USAGE;
        const char *source = argv[optind], *dest = argv[optind + 1];

        _cleanup_(pull_report_done) PullReport p = {};
        k = glance_ref_is(source) ? glance_pull(source, dest, &p) : registry_pull(source, dest, &p);
        if (k < 0)
                return p.local_failure ? OUTCOME_INPUT : k == -EBADMSG || k == -ENOENT || k == -EKEYREVOKED ? OUTCOME_PUBLISH : cli_registry_outcome(k);
        if (json) {
                cli_print_json(pull_report_to_json(&p));
                return OUTCOME_OK;
        }
        for (size_t i = 0; i < p.n_files; i++)
                printf("%s/%s %s\n", dest, p.files[i].file, p.files[i].digest);
        printf("pulled %s (%" PRIu64 " bytes, every digest verified)\n", p.reference, p.bytes);
        return OUTCOME_OK;
}
