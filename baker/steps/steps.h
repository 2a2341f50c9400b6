#pragma once
/* Steps and inputs as tables. Every kind of step (unpack, copy, file, run, sysprep, bootloader)
 * and of input (url, file, path) is one row, defined in its own file here: its syntax (the
 * template half, template/kind.h: name, keys, parse, check, key definition, display) and what
 * executes it (below). The tables step_kinds[] and input_kinds[] (kinds.c) are the only place that
 * knows which kinds exist; everything else — the parser, the plan, the pipeline — goes through a
 * row's fields and flags.
 *
 * Adding a kind: write steps/<kind>.c (or input-<kind>.c) defining its `const StepOps step_<kind>`
 * (`const InputOps input_<kind>`), give a step kind its member in TemplateStep's union
 * (template.h; an input kind keeps its own fields in TemplateInput.data), and add one row to the
 * table in kinds.c. Nothing else changes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kind.h"
#include "template.h"
#include "vars.h"

typedef struct Cache Cache;
typedef struct GuestSession GuestSession;
typedef struct Tree Tree;

/* What a step runs with. */
typedef struct StepContext {
        const Template *t;
        const Vars *vars;
        char *const *input_paths; /* per template input (same index): the host path of its bytes */
        int64_t epoch;            /* every timestamp a step makes */
        GuestSession *guest;      /* the appliance, for execute() */
        const char *label;        /* the step's name in messages */
        void (*on_output)(const char *step_name, const char *line, void *userdata); /* run output */
        void *userdata;
} StepContext;

/* The host path of a template input's bytes, and the input itself. */
const char *step_input_path(const StepContext *c, const char *name, const TemplateInput **ret_input);

enum {
        STEP_NEEDS_APPLIANCE = 1 << 0, /* execute() runs it in the appliance (a kernel) */
        STEP_REMOVES_FILES = 1 << 1,   /* apply() may remove files: the appliance's copy goes stale */
};

typedef struct StepOps {
        StepSyntax syntax; /* first: a TemplateStep's kind points here */
        unsigned flags;
        /* Offline: applies the step to tree (NULL = nothing to do on the tree). */
        int (*apply)(const StepContext *c, const TemplateStep *s, Tree *tree);
        /* In the appliance, with STEP_NEEDS_APPLIANCE. */
        int (*execute)(const StepContext *c, const TemplateStep *s);
        /* Whether it needs the appliance's network (NULL = no). */
        bool (*needs_network)(const TemplateStep *s);
        /* A bootloader the assembly installs on the finished disk: type and command line
         * (variables substituted). 0 = none, 1 = one. */
        int (*bootloader)(const TemplateStep *s, const Vars *vars, BootloaderType *ret_type, char **ret_cmdline);
} StepOps;

typedef struct InputOps {
        InputSyntax syntax; /* first: a TemplateInput's kind points here */
        /* Makes the input's bytes available on the host: *ret_path is a file (an archive, a
         * blob) or a directory. Logs its errors. */
        int (*fetch)(Cache *c, const TemplateInput *in, char **ret_path);
        /* Before the plan, for an input whose digest is that of what it fetches (an unpinned URL):
         * fetches it unless the cache knows it already, and again with refresh. Logs its errors.
         * NULL = the digest needs no fetch. */
        int (*resolve)(Cache *c, TemplateInput *in, bool refresh);
        /* `copy:` of this input: the mode of the one file it is, named after its location; NULL
         * = a directory, copied as it is. */
        uint32_t (*copy_mode)(const TemplateInput *in);
} InputOps;

extern const StepOps *const step_kinds[];
extern const size_t n_step_kinds;
extern const InputOps *const input_kinds[];
extern const size_t n_input_kinds;

/* The tables for the parser (TemplateOptions.kinds). */
const TemplateKinds *steps_template_kinds(void);
const StepOps *step_ops(const TemplateStep *s);
const InputOps *input_ops(const TemplateInput *in);
/* The row named name, or NULL. */
const StepOps *step_kind_find(const char *name);
const InputOps *input_kind_find(const char *name);

/* Helpers the rows share (rows.c). */
/* A template string with real values: for running steps. Reports a failure at pos. */
int step_substitute(const StepContext *c, const char *s, SourcePos pos, char **ret);
/* A template string as key material (non-sensitive variables substituted), for define(). */
struct json_t *step_public_string(const Vars *vars, const char *s);
void step_define_owner(const TemplateOwner *o, struct json_t *def);
/* An absolute directory in the image ("to:"), checked at parse time. */
void step_check_absolute_dir(Template *t, const char *dir, SourcePos pos);

/* For url/file/path inputs: the location (the value of the kind's own key) and the sha256 pin. */
struct stat;
bool input_parse_location(Template *t, TemplateInput *in, const Node *m);
void input_parse_sha256(Template *t, TemplateInput *in, const Node *m);
/* file/path: the location must not be empty; the check pass: resolved_path set and stat'ed (an
 * error recorded when it does not exist). */
void input_check_not_empty(Template *t, TemplateInput *in);
int input_check_host_path(Template *t, TemplateInput *in, struct stat *ret_st);

/* ---- running a plan's steps (execute.c, appliance.c) ------------------------------------------ */

typedef struct Plan Plan;
typedef struct StepsRun StepsRun;

/* Fetches every input (InputOps.fetch); *ret_paths holds one host path per template input
 * (free with strv_free-like steps_input_paths_free()). Reports errors at the input. */
int steps_fetch_inputs(const Template *t, Cache *cache, char ***ret_paths);
void steps_input_paths_free(char **paths, size_t n);
/* InputOps.resolve of every input, before plan_build(). Reports errors at the input. */
int steps_resolve_inputs(Template *t, Cache *cache, bool refresh);

/* The epoch every timestamp is clamped to: the template's `epoch:`, else the newest mtime that the
 * inputs' archives brought into the tree. Files that steps add are never newer than the epoch at
 * that point (file steps use it, run steps are clamped to it), so the newest mtime in the tree is a
 * function of the inputs' content alone, and a resumed bake finds the same value. */
int64_t steps_epoch(const Template *t, const Tree *tree);

/* ---- results (step-results.c) --------------------------------------------------------------- */

/* A step whose result its key cannot predict: a `run` step with `network: true` (before
 * plan->secret_from; a secret's steps are never cached anyway). */
bool step_result_volatile(const Plan *p, size_t i);
bool steps_any_volatile(const Plan *p);
/* Gives each volatile step from `from` on the result it last gave (the cache's refs), re-keying
 * the plan from it: before the finished-bake check. */
void steps_apply_results(Plan *p, Cache *cache, size_t from);
/* After volatile step i ran and gave result: *ret_changed = false when that is the result its key
 * already covers (the later keys stand); else the ref is moved on and the plan re-keyed from i. */
int steps_record_result(Plan *p, Cache *cache, size_t i, const uint8_t result[DIGEST_SIZE], bool *ret_changed);

typedef struct StepsOptions {
        const Template *t;
        const Vars *vars;
        Plan *plan;             /* re-keyed as volatile steps give their results */
        bool refresh;           /* run volatile steps again instead of taking their cached states */
        Cache *cache;
        char *const *input_paths;
        const char *work_dir; /* scratch for the appliance's disk and tar files */
        /* A second cache behind the local one (the pipeline's remote cache), NULL = none: fetch()
         * brings an entry into the local cache (< 0 when it has none), stored() hands on an entry
         * the local cache holds (just committed, or just fetched: its use is refreshed). */
        int (*cache_fetch)(void *userdata, Cache *cache, const char *ns, const char *key_hex);
        void (*cache_stored)(void *userdata, const char *ns, const char *key_hex, const char *dir);
        void *cache_userdata;
} StepsOptions;

/* What became of one step (manifest.json "steps[]"). */
typedef struct StepReport {
        size_t index;      /* 1-based */
        char *name;        /* masked */
        const char *kind;
        uint8_t key[DIGEST_SIZE];
        double seconds;
        bool cached;       /* taken from the cache (local, or pulled from the second one) */
        bool pulled;       /* from the second cache (StepsOptions.cache_fetch) */
} StepReport;

void step_reports_free(StepReport *r, size_t n);

/* The first step whose state must stay out of the second cache (n_steps when none): one with
 * `cache: local`, one that needs the network without `cache: shared`, or one that uses a secret —
 * and every later step, whose state holds what that one made. A finished bake is shared only when
 * every step is. */
size_t steps_shared_until(const Plan *p);

/* Runs the plan's steps: the longest cached prefix is taken from the cache, every later step is
 * executed (run steps share one appliance launch) and its state stored under its key — except
 * from plan->secret_from on, which is never stored nor taken. With refresh the prefix ends before
 * the first volatile step, which runs again; after a volatile step ran, the later steps' cached
 * states are looked up again under the keys its result gave. *ret_tree is the final tree, and
 * ret_reports one report per step. Reports its errors. */
int steps_run(const StepsOptions *o, Tree **ret_tree, StepReport **ret_reports, size_t *ret_n_reports);
