#pragma once
/* The bake pipeline (DESIGN.md, "The data's way through"): template → plan → finished-bake check →
 * fetch → steps (each state cached by its step key; run steps share one appliance) → stamp →
 * assembly → outputs → digest + manifest → boot test → publish. Verbs call bake_run(); the
 * pipeline's modules never call back up into it. */
#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "outcome.h"
#include "template.h"
#include "vars.h"

typedef struct BakeOptions {
        const char *template_path;
        TemplateOptions template; /* allow_unpinned (the pipeline supplies the kinds) */
        VarsSources vars;          /* --var, --var-file, the environment */
        bool json;                 /* template errors as one JSON document on stdout */
        const char *output_dir;    /* NULL = "output" */
        const char *cache_dir;     /* NULL = $BAKER_CACHE or the XDG default */
        bool rebuild;              /* ignore a finished bake with the same key (steps still cached) */
        bool refresh;              /* re-resolve package inputs (and move the lock on) */
        bool skip_test;            /* do not boot-test (and allow publishing untested) */
        bool no_publish;
        char **cache_from;         /* strv: remote caches to pull step results from (remote-cache.h) */
        char **cache_to;           /* strv: remote caches to push step results to */
} BakeOptions;

typedef struct BakeResult {
        bool unchanged;            /* a finished bake had this key: nothing was rebuilt */
        bool in_registry;          /* unchanged: it is the image a publish channel names, not in the output folder */
        uint8_t bake_key[DIGEST_SIZE];
        uint8_t image_digest[DIGEST_SIZE];
        char *manifest_path;       /* OUTPUT_DIR/manifest.json */
        char *raw_path;            /* the raw image when one was kept (verify), else NULL */
} BakeResult;

void bake_result_done(BakeResult *r);

/* Runs the whole bake and returns its outcome (an exit code), having reported every error. */
Outcome bake_run(const BakeOptions *o, BakeResult *ret);

/* For verify: like bake_run, but into output_dir with a private empty cache, keeping the raw image
 * (its path in ret->raw_path), without test or publish. */
Outcome bake_fresh(const BakeOptions *o, BakeResult *ret);
