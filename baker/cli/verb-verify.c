/* baker verify: rebuilds a template with an empty private cache and compares the image digest
 * with the one OUTPUT/manifest.json records; on a mismatch it names what differs (partition
 * table fields, filesystem superblock fields, paths) and exits OUTCOME_MISMATCH. */
#include <getopt.h>
#include <stdio.h>

#include "bake.h"
#include "events.h"
#include "imagediff.h"
#include "log.h"
#include "manifest.h"
#include "process.h"
#include "verbs.h"

/* The original bake's image as a raw file: the raw output itself, or a temporary raw made from the
 * qcow2 or zstd output (*ret_tmp says so, for the caller to delete). */
static int original_raw(const char *output_dir, json_t *manifest, const char *work, char **ret_path, bool *ret_tmp) {
        size_t i;
        json_t *o;
        const char *best = NULL, *best_format = NULL, *best_compress = NULL;
        json_array_foreach(json_object_get(manifest, "outputs"), i, o) {
                const char *f = json_string_value(json_object_get(o, "format"));
                const char *c = json_string_value(json_object_get(o, "compress"));
                const char *file = json_string_value(json_object_get(o, "file"));
                if (!f || !file)
                        continue;
                int score = streq(f, "raw") ? (streq_ptr(c, "none") ? 3 : 2) : (streq_ptr(c, "none") ? 1 : 0);
                int best_score = !best ? -1 : streq(best_format, "raw") ? (streq_ptr(best_compress, "none") ? 3 : 2)
                                                                        : (streq_ptr(best_compress, "none") ? 1 : 0);
                if (score > best_score)
                        best = file, best_format = f, best_compress = c;
        }
        if (!best)
                return log_error_errno(-ENOENT, "'%s/%s' lists no output image", output_dir, MANIFEST_FILE);
        _cleanup_free_ char *path = path_join(output_dir, best);
        if (streq(best_format, "raw") && streq_ptr(best_compress, "none")) {
                *ret_path = TAKE_PTR(path);
                *ret_tmp = false;
                return 0;
        }
        _cleanup_free_ char *plain = xstrdup(path);
        int r;
        if (streq_ptr(best_compress, "zstd")) {
                free(plain);
                plain = xasprintf("%s/original.%s", work, best_format);
                char *argv[] = { (char *) "zstd", (char *) "-q", (char *) "-d", (char *) "-f", (char *) "--sparse", path,
                                 (char *) "-o", plain, NULL };
                r = process_run_checked(argv, NULL, "decompress the original image", "zstd");
                if (r < 0)
                        return r;
        }
        if (streq(best_format, "raw")) {
                *ret_path = TAKE_PTR(plain);
                *ret_tmp = true;
                return 0;
        }
        _cleanup_free_ char *raw = xasprintf("%s/original.raw", work);
        char *argv[] = { (char *) "qemu-img", (char *) "convert", (char *) "-O", (char *) "raw", plain, raw, NULL };
        r = process_run_checked(argv, NULL, "convert the original image to raw", "qemu-utils");
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(raw);
        *ret_tmp = true;
        return 0;
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
        const char *output_dir = "output";
        int c;
        while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0) {
                if (template_args_parse_option(&args, c, optarg))
                        continue;
                if (c == 'o' || c == ARG_OUTPUT)
                        output_dir = optarg;
                else if (c == 'h') {
                        printf("usage: %s", verb_find("verify")->usage);
                        return OUTCOME_OK;
                } else
                        return OUTCOME_USAGE;
        }
        if (verb_check_args("verify", argc - optind) < 0)
                return OUTCOME_USAGE;
        const char *template_path = argv[optind];

        _cleanup_free_ char *manifest_path = path_join(output_dir, MANIFEST_FILE);
        json_t *manifest = NULL;
        if (manifest_load(manifest_path, &manifest) < 0) {
                log_error("nothing to verify against: bake '%s' into '%s' first", template_path, output_dir);
                return OUTCOME_USAGE;
        }
        const char *want_key = json_string_value(json_object_get(manifest, "bake_key"));
        const char *want_digest = json_string_value(json_object_get(manifest, "image_digest"));

        _cleanup_free_ char *work = tmp_template("baker-verify");
        if (!mkdtemp(work)) {
                json_decref(manifest);
                return log_error_errno(-errno, "failed to create a work directory: %m"), OUTCOME_INTERNAL;
        }
        _cleanup_free_ char *rebuild_dir = path_join(work, "rebuild");
        /* The rebuild's events go to stderr as human lines; stdout carries the verdict only. */
        BakeOptions o = { .template_path = template_path, .args = &args, .output_dir = rebuild_dir };
        log_notice("rebuilding '%s' with an empty cache", template_path);
        BakeResult res = {};
        Outcome out = bake_fresh(&o, &res);
        json_t *verdict = NULL;
        if (out != OUTCOME_OK)
                goto finish;
        char key[DIGEST_STRING_MAX], got[DIGEST_STRING_MAX];
        digest_to_string(res.bake_key, key);
        digest_to_string(res.image_digest, got);
        if (!streq_ptr(want_key, key)) {
                log_error("'%s' was baked from other inputs (bake key %s, now %s): bake it again first", manifest_path,
                          want_key ? want_key : "?", key);
                out = OUTCOME_USAGE;
                goto finish;
        }
        bool same = streq_ptr(want_digest, got);
        verdict = json_pack("{s:b, s:s, s:s, s:s}", "reproducible", same, "bake_key", key, "original", want_digest,
                            "rebuilt", got);
        if (!same) {
                _cleanup_free_ char *orig = NULL;
                bool tmp = false;
                _cleanup_(image_diff_freep) ImageDiff *d = NULL;
                if (original_raw(output_dir, manifest, work, &orig, &tmp) >= 0 && image_diff(orig, res.raw_path, &d) >= 0) {
                        if (args.json)
                                json_object_set_new(verdict, "differences", image_diff_to_json(d));
                        else {
                                fprintf(stderr, "differences (original vs rebuilt):\n");
                                image_diff_print(d, stderr);
                        }
                }
                out = OUTCOME_MISMATCH;
        }
        if (args.json) {
                json_dumpf(verdict, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
                putchar('\n');
        } else if (same)
                printf("reproducible: %s\n", got);
        else
                printf("NOT reproducible: %s was %s, rebuilt as %s\n", manifest_path, want_digest, got);
finish:
        if (res.raw_path)
                unlink(res.raw_path);
        bake_result_done(&res);
        json_decref(verdict);
        json_decref(manifest);
        rm_rf(work);
        return out;
}
