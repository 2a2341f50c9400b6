#pragma once
/* The template model: a YAML file parsed (libyaml, only here) into plain typed C structures, every
 * value carrying the file:line:column it came from so that any later stage can point at it.
 *
 * Strings are kept as written: "${var.NAME}" references are substituted later (vars.h), so the
 * model never holds a secret. Paths of `file:`/`path:` inputs and script files are also resolved
 * against the template's directory (resolved_path), since the directory is not the CWD in general. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest.h"
#include "util.h"
#include "vocabulary.h"

#define TEMPLATE_FORMAT 1               /* the only "baker:" version understood */
#define TEMPLATE_SIZE_MAX (4U << 20)    /* bigger files are refused before parsing */
#define TEMPLATE_DEPTH_MAX 64           /* nesting of mappings/sequences */
#define TEMPLATE_NODES_MAX 200000       /* scalars + collections in one file */

typedef struct SourcePos {
        const char *file; /* borrowed from the Template (or a static string); NULL = nowhere */
        unsigned line, column; /* 1-based; 0 = no position inside the file */
} SourcePos;

typedef enum InputKind {
        INPUT_URL,
        INPUT_FILE,
        INPUT_PATH,
        _INPUT_KIND_MAX,
        _INPUT_KIND_INVALID = -EINVAL,
} InputKind;

typedef enum FsType {
        FS_EXT4,
        FS_VFAT,
        FS_XFS,
        FS_SWAP,
        FS_NONE,
        _FS_TYPE_MAX,
        _FS_TYPE_INVALID = -EINVAL,
} FsType;

typedef enum StepKind {
        STEP_UNPACK,
        STEP_COPY,
        STEP_FILE,
        STEP_RUN,
        STEP_SYSPREP,
        STEP_BOOTLOADER,
        _STEP_KIND_MAX,
        _STEP_KIND_INVALID = -EINVAL,
} StepKind;

typedef enum PublishKind {
        PUBLISH_OCI,        /* "host:port/repo" on an OCI Distribution registry */
        PUBLISH_OCI_LAYOUT, /* an OCI image-layout directory */
        _PUBLISH_KIND_MAX,
        _PUBLISH_KIND_INVALID = -EINVAL,
} PublishKind;

const char *input_kind_to_string(InputKind k);
InputKind input_kind_from_string(const char *s);
const char *fs_type_to_string(FsType t);
FsType fs_type_from_string(const char *s);
const char *step_kind_to_string(StepKind k);
StepKind step_kind_from_string(const char *s);
const char *publish_kind_to_string(PublishKind k);
PublishKind publish_kind_from_string(const char *s);

typedef struct TemplateVariable {
        char *name;
        SourcePos pos;
        char *default_value; /* NULL when there is none */
        SourcePos default_pos;
        bool required;
        bool sensitive;
        char *description;
} TemplateVariable;

typedef struct TemplateInput {
        char *name;
        SourcePos pos;
        InputKind kind;
        char *location; /* the url, file or path as written */
        SourcePos location_pos;
        char *resolved_path; /* file/path: absolute or CWD-relative path on the host; NULL for url */
        bool has_sha256;
        uint8_t sha256[DIGEST_SIZE];
        SourcePos sha256_pos;
} TemplateInput;

typedef struct TemplatePartition {
        SourcePos pos;
        char *label;
        SourcePos label_pos;
        PartitionType type;
        SourcePos type_pos;
        uint64_t size; /* bytes; 0 when size_rest */
        bool size_rest;
        SourcePos size_pos;
        FsType fs;
        SourcePos fs_pos;
        char *mount; /* NULL = not mounted */
        SourcePos mount_pos;
        char *uuid; /* NULL = derived from the bake key */
        SourcePos uuid_pos;
} TemplatePartition;

typedef struct TemplateDisk {
        SourcePos pos;
        uint64_t size;
        SourcePos size_pos;
        PartitionTableType table;
        SourcePos table_pos;
        TemplatePartition *partitions;
        size_t n_partitions;
} TemplateDisk;

typedef struct TemplateEnv {
        char *name;
        char *value;
        SourcePos pos;
} TemplateEnv;

/* One step. Which fields are meaningful depends on kind (see the comments); the rest are
 * zero/NULL. */
typedef struct TemplateStep {
        StepKind kind;
        SourcePos pos;          /* the step's mapping */
        char *name;             /* optional `name:` (display only, not part of the key) */
        SourcePos name_pos;

        char *input;            /* unpack: the input; copy: `from` */
        SourcePos input_pos;
        char *to;               /* unpack, copy: target directory in the image ("/" by default) */
        SourcePos to_pos;
        bool has_owner;         /* copy, file: "UID:GID" (default 0:0) */
        uid_t uid;
        gid_t gid;
        SourcePos owner_pos;

        char *path;             /* file: absolute path in the image */
        SourcePos path_pos;
        char *content;          /* file: the bytes to write, as written (variables unsubstituted) */
        SourcePos content_pos;
        unsigned mode;          /* file: 0644 unless given */
        SourcePos mode_pos;

        char *script;           /* run: inline script text, or NULL when script_path is set */
        char *script_path;      /* run: script path as written */
        char *script_resolved;  /* run: the script file on the host */
        SourcePos script_pos;
        TemplateEnv *env;       /* run: `env:`, sorted by name */
        size_t n_env;
        bool network;           /* run: network access (off by default) */
        SourcePos network_pos;

        char *sysprep;          /* sysprep: the profile ("default") */
        char **keep;            /* sysprep: operations to skip */
        size_t n_keep;
        SourcePos keep_pos;

        BootloaderType bootloader; /* bootloader */
        char *cmdline;
        SourcePos cmdline_pos;
} TemplateStep;

typedef struct TemplateOutput {
        SourcePos pos;
        ImageFormat format;
        ImageCompression compress;
} TemplateOutput;

typedef struct TemplateBootCommand {
        SourcePos pos;
        char *send;   /* NULL = only wait */
        char *expect; /* NULL = do not wait */
} TemplateBootCommand;

typedef struct TemplateTest {
        bool has_boot;
        SourcePos pos;
        BootFirmware firmware;
        char *expect; /* POSIX extended regex matched against the serial console */
        SourcePos expect_pos;
        uint64_t timeout_usec; /* 10 min unless given */
        TemplateBootCommand *commands;
        size_t n_commands;
} TemplateTest;

typedef struct TemplatePublish {
        SourcePos pos;
        PublishKind kind;
        char *target; /* "host:port/repo" or a directory (as written, relative to the CWD) */
        bool insecure;
} TemplatePublish;

typedef struct TemplateError {
        SourcePos pos;
        char *message;
} TemplateError;

typedef struct Template {
        char *path;        /* as given; SourcePos.file of every node points here */
        char *directory;   /* the template's directory, base of relative file/path/script paths */
        char *source;      /* the file's bytes, for printing source lines */
        size_t source_size;

        unsigned format;   /* "baker:" */
        char *name;
        SourcePos name_pos;
        char *version;     /* NULL if not given */
        char *description;
        bool has_epoch;
        uint64_t epoch;    /* SOURCE_DATE_EPOCH */
        SourcePos epoch_pos;

        TemplateVariable *variables;
        size_t n_variables;
        TemplateInput *inputs;
        size_t n_inputs;
        TemplateDisk disk;
        bool has_disk;
        TemplateStep *steps;
        size_t n_steps;
        TemplateOutput *outputs;
        size_t n_outputs;
        TemplateTest test;
        TemplatePublish *publish;
        size_t n_publish;
        char **channels;
        size_t n_channels;
        SourcePos *channel_pos;

        /* Every problem found, in source order after template_sort_errors(). */
        TemplateError *errors;
        size_t n_errors;
} Template;

typedef struct TemplateOptions {
        bool allow_unpinned; /* URL inputs without sha256 are accepted */
} TemplateOptions;

/* Parses and validates a template. Always returns 0 and a Template, even when the file is missing
 * or invalid: the problems are in t->errors (sorted by position), for the caller to print or turn
 * into JSON. (Out of memory aborts.) */
int template_parse(const char *path, const TemplateOptions *opts, Template **ret);
/* Same from a buffer (fuzzing, tests); `path` names it in messages, `directory` resolves relative
 * paths (NULL = "."). */
int template_parse_buffer(const char *path, const char *directory, const void *data, size_t size,
                          const TemplateOptions *opts, Template **ret);
/* parse + print every error; -EINVAL if there was any. What later stages call. */
int template_load(const char *path, const TemplateOptions *opts, Template **ret);
Template *template_free(Template *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Template *, template_free);

/* Records an error (printed later by template_print_errors). For checks done outside this module
 * on the model, e.g. by vars.c. */
void template_add_error(Template *t, SourcePos pos, const char *fmt, ...) _printf_(3, 4);
void template_sort_errors(Template *t);
void template_print_errors(const Template *t);

/* Prints one error right away as "FILE:LINE:COL: error: MESSAGE", then the source line and a
 * caret under the column (like a compiler), masked through log_mask(). For stages after
 * validation (fetch, steps) that find a problem with a template value. Returns -EINVAL. */
int template_error_at(const Template *t, SourcePos pos, const char *fmt, ...) _printf_(3, 4);
void template_warning_at(const Template *t, SourcePos pos, const char *fmt, ...) _printf_(3, 4);

const TemplateInput *template_find_input(const Template *t, const char *name);
const TemplateVariable *template_find_variable(const Template *t, const char *name);

/* Levenshtein distance, capped; used for "did you mean" (exposed for vars.c and tests). */
unsigned template_edit_distance(const char *a, const char *b);
/* The candidate closest to `word` if it is close enough to be a likely typo, or NULL. */
const char *template_suggest(const char *word, const char *const *candidates, size_t n);

/* Calls fn for each "${var.NAME}" reference in s (NAME not NUL-terminated: name/len). "$${"
 * escapes a literal "${". Any other "${...}" (shell syntax) is left alone. Returns the first
 * negative fn result, or -EINVAL on an unterminated "${var." reference. */
int template_foreach_var_ref(const char *s, int (*fn)(const char *name, size_t len, void *userdata),
                             void *userdata);
