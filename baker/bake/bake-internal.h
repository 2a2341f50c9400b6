#pragma once
/* What the files of the bake pipeline share (bake.c drives; identity.c stamps the tree; results.c
 * writes the manifest, runs the boot test and publishes). */
#include <jansson.h>

#include "assemble.h"
#include "bake.h"
#include "cache.h"
#include "image.h"
#include "lock.h"
#include "manifest.h"
#include "plan.h"
#include "remote-cache.h"
#include "steps.h"
#include "tree.h"

/* Everything one bake holds while it runs. */
typedef struct Bake {
        const BakeOptions *opts;
        Template *t;
        Vars *vars;
        Plan *plan;
        Cache *cache;
        char *output_dir;
        char *work_dir;         /* scratch: guest disk, tar files; removed at the end */
        int work_fd;            /* work_dir, flocked while the bake runs: it is not debris */
        int output_fd;          /* output_dir, flocked: one bake at a time writes there */
        char **input_paths;     /* per template input: the host path of its bytes (cache blob or dir) */
        Tree *tree;
        BakeManifest *manifest; /* filled as the bake goes: steps, then the rest */
        char *fresh_cache;      /* verify: a private, empty cache */
        RemoteCache *remote;    /* --cache-from/--cache-to, NULL without */
        Lock *moved_lock;       /* --refresh: the lock moved on, written once the bake succeeded */
} Bake;

/* identity.c: os-release, the stamp and fstab written into the tree. */
int bake_stamp_tree(Bake *b, const Assembly *a, int64_t epoch);
/* The input digests: the stamp's name → digest object; added to m too when it is not NULL. */
json_t *bake_inputs_json(const Bake *b, BakeManifest *m);

/* results.c */
ImageOutputSpec *bake_output_specs(const Template *t, size_t *ret_n);
/* Fills b->manifest with everything but the steps (added as they run) and the test. */
void bake_build_manifest(Bake *b, const Assembly *a, const uint8_t image_digest[DIGEST_SIZE], uint64_t image_size,
                         const ImageOutput *outs, size_t n_outs, int64_t epoch);
/* -EBADE when the image booted and failed the test (reported), other < 0 when it could not run. */
int bake_boot_test(Bake *b, const char *raw);
int bake_publish(Bake *b, const char *manifest_path);
/* --refresh into an output folder without this template's last bake: 1 when the first channel of
 * every publish target (registries only) names the same image, with the same bake key under its
 * version (reported as unchanged, ret->in_registry set: nothing to bake or publish), 0 to bake
 * (a channel missing somewhere, other content, a Glance target, nothing to ask), < 0 (reported)
 * when a registry cannot be asked. */
int bake_published_unchanged(Bake *b, const char *manifest_path, BakeResult *ret);
