/* baker: bakes immutable machine images from templates. This file is only the verb table and the
 * dispatch; every verb lives in verb-<name>.c and calls the library. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "outcome.h"
#include "sysprep.h"
#include "template-args.h"
#include "verbs.h"
#include "version.h"

static int verb_help(int argc, char **argv);
static int verb_version(int argc, char **argv);

static const Verb verbs[] = {
        { "help", 0, 1, verb_help, "show help for baker or one verb", "baker help [VERB|sysprep]\n" },
        { "version", 0, 0, verb_version, "print baker's version", "baker version\n" },
        { "validate", 1, 1, verb_validate, "check a template and its variables (offline)",
          "baker validate [--allow-unpinned] [--var NAME=VALUE]... [--var-file FILE]... [--json] TEMPLATE\n\n"
          "Parses TEMPLATE and reports every error as FILE:LINE:COL: error: MESSAGE with the source line.\n"
          "Variables: --var beats --var-file beats BAKER_VAR_<NAME> beats the default.\n"
          "Exit status 0 when valid, 2 otherwise.\n\n"
          "  --allow-unpinned     accept URL inputs without a sha256 pin\n"
          "  --var NAME=VALUE     set a variable (repeatable)\n"
          "  --var-file FILE      NAME=VALUE lines, '#' comments\n"
          "  --json               print one JSON document on stdout\n" },
        { "plan", 0, -1, verb_plan, "show the ordered steps of a template with their cache keys",
          "baker plan [--allow-unpinned] [--var NAME=VALUE]... [--var-file FILE]... [--json] TEMPLATE\n"
          "       baker plan --matrix [-f BAKEFILE] [--target NAME]... [--cache DIR] [--cache-from REF]...\n"
          "                   [TEMPLATE...]\n\n"
          "Validates TEMPLATE, digests its inputs and scripts and prints each step with its key\n"
          "(SHA-256 over the previous key, the canonical step, its inputs' and files' digests) and\n"
          "the bake key. --json gives full keys and canonical definitions.\n"
          "--matrix prints one line of JSON for CI fan-out: {\"include\": [{name, template, vars, bake_key,\n"
          "cached, shared, command}]}, one entry per template x variable set (of BAKEFILE, default\n"
          "./bakefile.yaml when no TEMPLATE is given); shared: a remote cache (--cache-from, default as\n"
          "for bake: $BAKER_CACHE_FROM, .baker.yaml, the user's config) holds that finished bake, one\n"
          "manifest GET per entry; cached: it or the local cache does.\n\n"
          "  --allow-unpinned     accept URL inputs without a sha256 pin\n"
          "  --var NAME=VALUE     set a variable (repeatable)\n"
          "  --var-file FILE      NAME=VALUE lines, '#' comments\n"
          "  --json               print one JSON document on stdout\n" },
        { "lock", 1, 1, verb_lock, "pin the packages of a template's debian inputs in NAME.lock",
          "baker lock [OPTIONS] TEMPLATE\n\n"
          "Resolves every `debian` input (apt, against the mirror's signed indexes) to its exact package\n"
          "set: name, version, architecture, source, the .deb's sha256 and size, where it came from.\n"
          "Writes NAME.lock beside the template (sorted, one package per line: commit it). Inputs\n"
          "already locked and unchanged in the template are kept as they are.\n\n"
          TEMPLATE_ARGS_HELP
          "  --update             resolve every input again (what the mirror serves now)\n"
          "Exit status: 0 written, 2 template or lock file, 3 a mirror, signature or package problem.\n" },
        { "bake", 0, -1, verb_bake, "bake a template into a disk image (then test and publish it)",
          "baker bake [OPTIONS] TEMPLATE\n"
          "       baker bake [OPTIONS] [-f BAKEFILE] [--target NAME]... [--jobs N] [--fail-fast] [TEMPLATE...]\n\n"
          "Fetches the pinned inputs, runs the steps (run steps inside the image, in the libguestfs\n"
          "appliance), assembles the disk, writes the outputs and OUTPUT/manifest.json, boot-tests the\n"
          "image when the template has a test, and publishes it. Every step's result is cached by its\n"
          "key: an unchanged bake does nothing ('unchanged'), a changed step re-runs from there on.\n\n"
          TEMPLATE_ARGS_HELP
          "  -o, --output DIR     where outputs and manifest.json go (default ./output)\n"
          "  --cache DIR          the cache (default $BAKER_CACHE, else $XDG_CACHE_HOME/baker)\n"
          "  --rebuild            rebuild even if a finished bake has the same key (steps stay cached)\n"
          "  --refresh            resolve `debian` inputs again (what the mirror serves now) and move\n"
          "                       the lock on once the bake and its publishing succeeded, fetch\n"
          "                       unpinned URL inputs again and re-run `run` steps with\n"
          "                       `network: true`; what gives the same content stays 'unchanged'\n"
          "  --cache-from REF     pull step results from a registry repository or oci-layout:DIR\n"
          "                       (repeatable; default $BAKER_CACHE_FROM, else cache.from in\n"
          "                       ./.baker.yaml, else in $XDG_CONFIG_HOME/baker/config.yaml)\n"
          "  --cache-to REF       push step results there (repeatable; default $BAKER_CACHE_TO,\n"
          "                       else cache.to in those files)\n"
          "  --skip-test          do not boot-test; publishing then goes ahead untested\n"
          "  --no-publish         do not publish\n"
          "Many bakes (several TEMPLATEs or -f): each in its own process, its lines prefixed [NAME],\n"
          "its outputs in OUTPUT/NAME, then a summary; exit status 0, 130, or the first failure's.\n"
          "  -f, --file FILE      a build file (bakefile.yaml): targets = templates x variable sets\n"
          "  --target NAME        bake only this target of the build file (repeatable)\n"
          "  -j, --jobs N         bakes at a time (default the file's jobs:, else 1)\n"
          "  --fail-fast          stop the other bakes at the first failure\n"
          "With --json, events are printed as JSON lines on stdout.\n"
          "Exit status: 0 built or unchanged, 2 template, 3 input, 4 build, 5 test, 6 publish, 130 interrupted.\n" },
        { "verify", 1, 1, verb_verify, "rebuild a template from scratch and check it gives the same image",
          "baker verify [OPTIONS] TEMPLATE\n\n"
          "Rebuilds TEMPLATE with an empty private cache (no published result, no cached step) and\n"
          "compares the image digest with OUTPUT/manifest.json. On a mismatch, names what differs:\n"
          "partition table fields, filesystem superblock fields, and the paths whose content or\n"
          "metadata differ. Exit status 0 reproducible, 7 mismatch, else as for bake.\n\n"
          TEMPLATE_ARGS_HELP
          "  -o, --output DIR     the original bake's outputs (default ./output)\n" },
        { "test", 1, 1, verb_test, "boot an image in qemu and wait for a console marker",
          "baker test IMAGE [--firmware bios|uefi] [--expect REGEX] [--timeout DURATION] [--log FILE]\n"
          "                 [--prompt REGEX] [--command SEND[=>EXPECT]]... [--memory MIB] [--echo] [--json]\n" },
        { "push", 2, 2, verb_push, "publish an image to a registry, OCI layout or S3 bucket",
          "baker push [--json] [--format F|containerdisk] [--annotation K=V] [--channel C] [--mount-from REPO]\n"
          "           [--insecure HOST] IMAGE-OR-MANIFEST.json REF\n"
          "  REF: HOST[:PORT]/REPO[:TAG], oci-layout:DIR[:TAG] or s3://[REGION@]HOST/BUCKET/PREFIX[:TAG]\n"
          "  (credentials: AWS_* variables, ~/.aws); the tag defaults to the image's version;\n"
          "  or glance:[CLOUD/]NAME, with [--visibility V] [--member PROJECT-ID]... (shared with exactly those)\n" },
        { "pull", 2, 2, verb_pull, "download an image, verifying every blob",
          "baker pull [--json] [--insecure HOST] REF[:TAG][@DIGEST] DEST-DIR\n"
          "  glance:[CLOUD/]NAME:CHANNEL or @DIGEST writes DEST-DIR/NAME.FORMAT\n" },
        { "promote", 2, 2, verb_promote, "point a channel at an image", "baker promote [--json] REF@DIGEST CHANNEL\n" },
        { "rollback", 2, 2, verb_rollback, "move a channel back to its previous image",
          "baker rollback [--json] REF CHANNEL\n" },
        { "history", 1, 2, verb_history, "list versions, or a channel's moves",
          "baker history [--json] REF [CHANNEL]\n" },
        { "resolve", 1, 1, verb_resolve, "print the digest a channel points at",
          "baker resolve [--json] REF:CHANNEL\n  prints the digest and a pinned pull reference; refuses a revoked image\n" },
        { "revoke", 1, 1, verb_revoke, "mark an image unusable", "baker revoke [--json] REF@DIGEST --reason TEXT\n" },
        { "gc", 1, 1, verb_gc, "delete versions no channel uses",
          "baker gc [--json] [--dry-run] [--force] REF --keep N\n"
          "  keeps every channel's image and the newest N versions (in the order they were pushed);\n"
          "  refuses to delete the most recent push or every version no channel names unless --force;\n"
          "  --dry-run lists what would go\n" },
        { "login", 1, 1, verb_login, "store registry credentials (password from stdin)",
          "baker login --username USER HOST < password-file\n" },
        { "cache", 1, 1, verb_cache, "list or garbage-collect the local cache",
          "baker cache ls [--json] [--cache DIR]\n"
          "       baker cache gc [--max-size SIZE] [--json] [--cache DIR]\n"
          "       baker cache gc --remote REF --keep-days N [--dry-run] [--json]\n\n"
          "ls lists blobs (inputs), keyed entries (steps, bakes) and partial downloads with their size and\n"
          "last use. gc evicts the least recently used until the cache holds at most SIZE (default 10GiB);\n"
          "what a running bake uses is kept. The cache is $BAKER_CACHE, else $XDG_CACHE_HOME/baker.\n"
          "gc --remote deletes the remote cache's entries (steps-*/bakes-* tags) that no bake pushed or\n"
          "refreshed in the last N days; images and channels in the same repository are not touched.\n" },
        { "diff", 2, 2, verb_diff, "what changed between two bakes: packages, then files",
          "baker diff [--json] A B\n\n"
          "A and B are manifest.json files, output folders, registry references (pulled, with their\n"
          "SBOM, into a scratch directory) or image files, raw or qcow2, with or without a manifest\n"
          "beside them; any two of these. Lists the packages added, removed and changed (from each\n"
          "bake's SBOM, sbom.cdx.json; for an image file from its own /var/lib/dpkg/status), then the\n"
          "files that differ (from the raw or else the qcow2 outputs, or the images, read offline; a\n"
          "qcow2 is converted to a scratch raw by qemu-img). Exit status 0, or 3 when A or B cannot\n"
          "be read or is neither a manifest nor an image.\n\n"
          "  --json               print one JSON document on stdout\n" },
        { "inspect", 1, 1, verb_inspect, "show the stamp, digest and layout of an image or a manifest",
          "baker inspect [--json] IMAGE|MANIFEST\n\n"
          "For an image (raw or qcow2): the partition table, each filesystem's type, UUID and label, the\n"
          "stamp (/usr/lib/baker/stamp.json) and os-release IMAGE_ID/IMAGE_VERSION read offline from the\n"
          "root filesystem, and the image digest (SHA-256 of the raw image). For a manifest.json: name,\n"
          "version, bake key, image digest, outputs, layout and step keys.\n"
          "Exit status 0, or 3 when the file is missing or neither an image nor a manifest.\n\n"
          "  --json               print one JSON document on stdout\n" },
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
        if (streq(argv[1], "sysprep")) {
                printf("sysprep: what `sysprep: default` removes from the image, so that no instance inherits\n"
                       "another's identity and nothing of the build leaks. Skip one with `keep: [NAME]`.\n\n");
                for (const SysprepOperation *op = sysprep_operations(); op->name; op++)
                        printf("  %-20s %s\n", op->name, op->description);
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
