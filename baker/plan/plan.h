#pragma once
/* The plan: a template turned into ordered steps, each with a key that says "this step, applied
 * to exactly this previous state, with exactly these inputs and scripts".
 *
 *   header key   = SHA-256("baker-plan", BAKER_FORMAT_VERSION)
 *   step key[i]  = SHA-256("baker-step", key[i-1] (header key for the first), canonical definition,
 *                          each input it uses: name, kind, digest;
 *                          each file it references: path as written, digest of its bytes)
 *   bake key     = SHA-256("baker-bake", last step key (header key if none), canonical layout)
 *
 * The canonical definition is compact JSON with sorted keys of the step's fields, non-sensitive
 * variables substituted (sensitive ones stay "${var.NAME}"); a step's display `name:` is not part
 * of it. The canonical layout is the same form of name, version, epoch, disk and outputs: they
 * shape the final image but no step's result, so changing them keeps every step cache and only
 * changes the bake key. test/publish/channels change neither (they do not change the image).
 *
 * Input digests: url -> its sha256 pin (an unpinned URL, allowed by --allow-unpinned, stands for
 * SHA-256("unpinned:" URL), and the plan says so); file -> digest_file(); path ->
 * digest_directory(). They come through a PlanDigester so the plan itself stays pure. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "template.h"
#include "vars.h"

struct json_t;

typedef struct PlanDigest {
        char *name; /* input name, or file path as written in the template */
        uint8_t digest[DIGEST_SIZE];
} PlanDigest;

typedef struct PlanStep {
        size_t index; /* 0-based position in the template's steps */
        const StepSyntax *kind;   /* static: outlives the Template */
        const TemplateStep *step; /* borrowed from the Template */
        char *display;            /* "unpack base", "run provisioners/apt-upgrade.sh", ... */
        char *definition;         /* canonical JSON */
        PlanDigest *inputs;       /* inputs the step uses */
        size_t n_inputs;
        PlanDigest *files;        /* scripts/files the step references */
        size_t n_files;
        uint8_t base_key[DIGEST_SIZE]; /* from the previous key, definition, inputs and files */
        bool has_result;          /* plan_set_result(): the key covers the step's result too */
        uint8_t result[DIGEST_SIZE];
        uint8_t key[DIGEST_SIZE]; /* base_key, or SHA-256("baker-step-result", base_key, result) */
        bool uses_secret;         /* its definition references a sensitive variable */
} PlanStep;

typedef struct Plan {
        const Template *t; /* borrowed: the plan lives no longer than its template */
        uint8_t header_key[DIGEST_SIZE];
        PlanStep *steps;
        size_t n_steps;
        char *layout; /* canonical JSON of name, version, epoch, disk, outputs */
        uint8_t bake_key[DIGEST_SIZE];
        bool unpinned; /* some URL input has no pin: keys do not cover its content */
        /* The first step that uses a secret (n_steps if none). Secrets are not part of keys, so
         * from this step on no state is stored in or taken from the cache, and the finished bake
         * is never "unchanged": the bake runs them every time (README, "Secrets and the cache"). */
        size_t secret_from;
} Plan;

typedef struct PlanDigester {
        int (*input)(const TemplateInput *in, uint8_t ret[DIGEST_SIZE], void *userdata);
        int (*file)(const char *path, uint8_t ret[DIGEST_SIZE], void *userdata);
        void *userdata;
} PlanDigester;

/* The default digests (reads files and directories); a pinned `file:` input whose bytes differ
 * from its pin is -EBADMSG. Errors are not logged here. */
int plan_digest_input(const TemplateInput *in, uint8_t ret[DIGEST_SIZE], void *userdata);
int plan_digest_file(const char *path, uint8_t ret[DIGEST_SIZE], void *userdata);

/* digester NULL = the defaults above. Logs (with the template position) and returns < 0 when a
 * digest cannot be computed. */
int plan_build(const Template *t, const Vars *vars, const PlanDigester *digester, Plan **ret);
Plan *plan_free(Plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Plan *, plan_free);

/* Early cut-off for steps whose result the key cannot predict (a `run` step with the network):
 * step i's key becomes SHA-256("baker-step-result", base key, result digest), and every later key
 * and the bake key are chained again from it; later steps' results are forgotten (their base keys
 * changed). The same result gives the same later keys, so their cached states stay valid. */
void plan_set_result(Plan *p, size_t i, const uint8_t result[DIGEST_SIZE]);

/* The bake key this plan would have if the template's version were `version` (NULL: none), all
 * else equal: whether an earlier bake under another version (a CI build number in `version`) had
 * the same content. For the plan's own version it is p->bake_key. */
void plan_bake_key_for_version(const Plan *p, const char *version, uint8_t ret[DIGEST_SIZE]);

/* {"bake_key": "sha256:…", "header_key": …, "layout": {…}, "unpinned": bool,
 *  "steps": [{"index", "kind", "name", "key", "definition": {…}, "inputs": {name: digest},
 *             "files": {path: digest}}]}; new reference. */
struct json_t *plan_to_json(const Plan *p);
