#pragma once
/* Many bakes at once (`baker bake A.yaml B.yaml …`, `baker bake -f bakefile.yaml`): one child
 * `baker bake` process per target, at most `jobs` at a time, all sharing the local cache (whose
 * per-item locks make that safe). The parent reads each child's stdout and stderr through pipes and
 * prints every line prefixed with the target's name ("[name] …"; with --json, each event gets a
 * "template" field), reads the child's events ($BAKER_EVENTS_FD) for its result, and ends with a
 * summary table (name, status, image digest, time).
 *
 * A failed target stops the others with --fail-fast: the running children get SIGTERM (a bake
 * removes its temporary files and exits 130; nothing is left under a final name), the ones not yet
 * started are skipped. Without it, the others go on. SIGINT/SIGTERM/SIGHUP to the parent stop every
 * child the same way. The exit status is 0 when every target baked or was unchanged, 130 when
 * interrupted, else the exit status of the first target that failed. */
#include <stdbool.h>

#include "bake.h"
#include "bakefile.h"
#include "outcome.h"

typedef struct FleetOptions {
        const BakeOptions *bake;     /* the options every child gets; template_path unused; output_dir:
                                      * the parent of the targets' default output directories */
        const BakeTargets *targets;
        unsigned jobs;               /* >= 1 */
        bool fail_fast;
} FleetOptions;

Outcome fleet_run(const FleetOptions *o);

#define FLEET_DEFAULT_BAKEFILE "bakefile.yaml"

/* The build file to read: the one given, else ./bakefile.yaml when there is no template and it
 * exists, else NULL. */
const char *fleet_bakefile(const char *given, size_t n_templates);

/* The targets to bake: those of the build file (when not NULL) followed by one per template path,
 * restricted to `names` (strv; NULL = all). Logs its errors. */
int fleet_load_targets(const char *bakefile, char *const *templates, size_t n_templates, char *const *names,
                       BakeTargets **ret);

/* The child's command line for one target (strv), without the program: "bake" and its options. */
char **fleet_child_args(const FleetOptions *o, const BakeTarget *t);
