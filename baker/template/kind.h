#pragma once
/* What the template language needs to know of an input kind or a step kind: the syntax half of
 * its row. The rows themselves live in steps/ (one file per kind, with what executes them: see
 * steps/steps.h), which hands the tables to the parser in TemplateOptions.kinds; the parser,
 * the plan and the check pass call a kind only through these fields, never by its name. */
#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "template.h"

struct json_t;
typedef struct Vars Vars;

/* Hashes the whole file at path (e.g. digest_file()). */
typedef int (*FileDigestFn)(const char *path, uint8_t ret[DIGEST_SIZE], void *userdata);

struct InputSyntax {
        const char *name;        /* the key that gives the kind: "url" */
        const char *const *keys; /* its other keys ("sha256"), NULL-terminated */
        /* Reads mapping m (whose `name` key exists) into in; no file I/O. */
        void (*parse)(Template *t, TemplateInput *in, const Node *m, const TemplateOptions *opts);
        /* The check pass (may do file I/O); NULL = nothing to check. */
        void (*check)(Template *t, TemplateInput *in);
        void (*done)(TemplateInput *in); /* frees in->data; NULL = nothing of its own */
        /* The digest that stands for the input's content in step keys (plan.h); may read files,
         * hashing a whole host file through hash_file (which may remember it: digest-memo.h).
         * -EBADMSG when the content does not match its pin. */
        int (*digest)(const TemplateInput *in, FileDigestFn hash_file, void *userdata, uint8_t ret[DIGEST_SIZE]);
        /* false when the digest does not cover the content (an unpinned URL); NULL = always. */
        bool (*pinned)(const TemplateInput *in);
};

struct StepSyntax {
        const char *name;        /* the key that gives the kind: "unpack" */
        const char *const *keys; /* the step's other keys ("to"), NULL-terminated; "name" is common */
        /* Reads the kind's key's value (and the step's other keys) into its union member. */
        void (*parse)(Template *t, TemplateStep *s, const Node *step, const Node *value);
        void (*check)(Template *t, TemplateStep *s); /* the check pass; NULL = nothing */
        void (*done)(TemplateStep *s);               /* frees its union member */
        /* The input the step uses (NULL = none), and where it is named. */
        const char *(*input)(const TemplateStep *s, SourcePos *ret_pos);
        /* A host file the step references (NULL = none): as written, and where it is. */
        const char *(*file)(const TemplateStep *s, const char **ret_host_path, SourcePos *ret_pos);
        /* The canonical definition's fields besides "kind" (plan.h), added to o: non-sensitive
         * variables substituted, sensitive references kept. Byte-stable: step keys hang on it. */
        void (*define)(const TemplateStep *s, const Vars *vars, struct json_t *o);
        char *(*display)(const TemplateStep *s); /* "unpack base", "run setup.sh", ... */
};

struct TemplateKinds {
        const InputSyntax *const *inputs;
        size_t n_inputs;
        const StepSyntax *const *steps;
        size_t n_steps;
};
