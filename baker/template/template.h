#pragma once
/* The template model: a YAML file parsed into plain typed C structures, every value carrying the
 * file:line:column it came from so that any later stage can point at it. The template is read in
 * three parts: yaml.c (bytes -> node tree, node.h), the sections (sections.c; steps and inputs
 * through their kinds' parse, kind.h) and a check pass (check.c, the only part doing file I/O:
 * the files and scripts a template names exist, and where).
 *
 * Strings are kept as written: "${var.NAME}" references are substituted later (vars.h), so the
 * model never holds a secret. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "diagnostics.h"
#include "digest.h"
#include "node.h"
#include "util.h"
#include "vocabulary.h"

#define TEMPLATE_FORMAT 1               /* the only "baker:" version understood */
#define TEMPLATE_SIZE_MAX (4U << 20)    /* bigger files are refused before parsing */
#define TEMPLATE_DEPTH_MAX 64           /* nesting of mappings/sequences */
#define TEMPLATE_NODES_MAX 200000       /* scalars + collections in one file */

typedef enum FsType {
        FS_EXT4,
        FS_VFAT,
        FS_XFS,
        FS_SWAP,
        FS_NONE,
        _FS_TYPE_MAX,
        _FS_TYPE_INVALID = -EINVAL,
} FsType;

typedef enum PublishKind {
        PUBLISH_OCI,        /* "host:port/repo" on an OCI Distribution registry */
        PUBLISH_OCI_LAYOUT, /* an OCI image-layout directory */
        PUBLISH_S3,         /* S3-compatible object storage: target "s3://[REGION@]HOST/BUCKET/PREFIX" */
        PUBLISH_AZURE_BLOB, /* Azure page blobs: target "azure://ACCOUNT/CONTAINER/PREFIX" (or azure+http(s)://) */
        PUBLISH_GLANCE,     /* OpenStack Glance: `glance: { cloud: NAME, … }` */
        _PUBLISH_KIND_MAX,
        _PUBLISH_KIND_INVALID = -EINVAL,
} PublishKind;

const char *fs_type_to_string(FsType t);
FsType fs_type_from_string(const char *s);
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

/* The kinds of inputs and steps (kind.h): rows of the tables in steps/. */
typedef struct InputSyntax InputSyntax;
typedef struct StepSyntax StepSyntax;

typedef struct TemplateInput {
        char *name;
        SourcePos pos;
        const InputSyntax *kind; /* NULL when the input has no valid kind */
        char *location; /* url, file, path: as written */
        SourcePos location_pos;
        char *resolved_path; /* file, path: where it is on the host (the check pass sets it) */
        bool has_sha256;
        uint8_t sha256[DIGEST_SIZE];
        SourcePos sha256_pos;
        void *data; /* a kind's own fields, freed by its done() */
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
        /* GPT attribute 59 (systemd's grow-file-system) and x-systemd.growfs in fstab: `grow:`, by
         * default on for a GPT `root` partition with ext4 or xfs. */
        bool grow;
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

/* The members of a step's union, one per kind (steps/<kind>.c reads and uses its own). Text fields
 * are kept as written: variables are substituted where they are used. */
typedef struct StepUnpack {
        char *input;
        SourcePos input_pos;
        char *to; /* target directory in the image ("/" by default) */
        SourcePos to_pos;
} StepUnpack;

typedef struct StepCopy {
        char *from; /* an input */
        SourcePos from_pos;
        char *to;
        SourcePos to_pos;
        TemplateOwner owner; /* 0:0 unless set */
} StepCopy;

typedef struct StepFile {
        char *path; /* absolute path in the image */
        SourcePos path_pos;
        char *content;
        SourcePos content_pos;
        unsigned mode; /* 0644 unless given */
        SourcePos mode_pos;
        TemplateOwner owner;
} StepFile;

typedef struct StepRun {
        char *script;          /* inline script text, or NULL when script_path is set */
        char *script_path;     /* script file as written */
        char *script_resolved; /* the script file on the host (the check pass sets it) */
        SourcePos script_pos;
        TemplateEnv *env;      /* `env:`, sorted by name */
        size_t n_env;
        bool network;          /* network access (off by default) */
        SourcePos network_pos;
} StepRun;

typedef struct StepSysprep {
        char *profile; /* "default" */
        char **keep;   /* operations to skip, NULL-terminated */
        size_t n_keep;
        SourcePos keep_pos;
} StepSysprep;

typedef struct StepBootloader {
        BootloaderType type;
        char *cmdline;
        SourcePos cmdline_pos;
} StepBootloader;

/* One step: a tagged union whose tag is its kind's row. */
typedef struct TemplateStep {
        const StepSyntax *kind; /* NULL when the step has no valid kind */
        SourcePos pos;          /* the step's mapping */
        char *name;             /* optional `name:` (display only, not part of the key) */
        SourcePos name_pos;
        /* `cache: local | shared` (a StepCacheMode; not part of the key), or -EINVAL when not given:
         * then a step that needs the network is local, any other shared (steps.h, steps_shared_until) */
        int cache;
        SourcePos cache_pos;
        union {
                StepUnpack unpack;
                StepCopy copy;
                StepFile file;
                StepRun run;
                StepSysprep sysprep;
                StepBootloader bootloader;
        };
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

/* `glance: { cloud, format, visibility, disk_bus, properties: {KEY: VALUE}, members: [PROJECT…] }` */
typedef struct TemplateGlance {
        char *format;     /* qcow2 | raw | NULL */
        char *visibility; /* public | private | shared | community | NULL ("shared" with members) */
        char *disk_bus;
        char **properties; /* strv of "KEY=VALUE" */
        char **members;    /* strv of project ids; NULL when not written */
        bool has_members;  /* written (an empty list removes every member) */
} TemplateGlance;

typedef struct TemplatePublish {
        SourcePos pos;
        PublishKind kind;
        char *target; /* "host:port/repo", a directory (as written, relative to the CWD), for s3 the
                       * reference made of endpoint, bucket, prefix and region ("…/BUCKET/" without a
                       * prefix: the image's name is appended), for azure-blob likewise the reference
                       * made of account, container, prefix and endpoint, for glance the cloud ("" for $OS_CLOUD
                       * or the OS_* variables) */
        bool insecure;
        TemplateGlance *glance; /* PUBLISH_GLANCE */
} TemplatePublish;

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

typedef struct TemplateKinds TemplateKinds;

typedef struct TemplateOptions {
        bool allow_unpinned; /* URL inputs without sha256 are accepted */
        /* The input and step kinds the parser knows. They are defined above this module, with
         * what executes them (steps/steps.h: steps_template_kinds()); NULL = the parser knows
         * none, and every input or step is an error. */
        const TemplateKinds *kinds;
} TemplateOptions;

/* Parses a template from a file: reads it, parses and validates it, and runs the check pass.
 * Always returns 0 and a Template, even when the file is missing or invalid: the problems are
 * in t->errors (sorted by position), for the caller to print or turn into JSON. (Out of memory
 * aborts.) */
int template_parse(const char *path, const TemplateOptions *opts, Template **ret);
/* Parses and validates a buffer without any file I/O (fuzzing, tests); `path` names it in
 * messages, `directory` is where relative paths will be resolved (NULL = "."). */
int template_parse_buffer(const char *path, const char *directory, const void *data, size_t size,
                          const TemplateOptions *opts, Template **ret);
/* The check pass: the files, directories and scripts the template names exist (errors recorded
 * in t), and their host paths (resolved_path, script_resolved). Sorts the errors again. */
void template_check(Template *t);
/* parse + print every error; -EINVAL if there was any. */
int template_load(const char *path, const TemplateOptions *opts, Template **ret);
Template *template_free(Template *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Template *, template_free);

const TemplateInput *template_find_input(const Template *t, const char *name);
const TemplateVariable *template_find_variable(const Template *t, const char *name);
/* A template-relative host path: absolute paths as they are, others below t->directory. */
char *template_resolve_path(const Template *t, const char *p);

/* Calls fn for each "${var.NAME}" reference in s (NAME not NUL-terminated: name/len). "$${"
 * escapes a literal "${". Any other "${...}" (shell syntax) is left alone. Returns the first
 * negative fn result, or -EINVAL on an unterminated "${var." reference. */
int template_foreach_var_ref(const char *s, int (*fn)(const char *name, size_t len, void *userdata),
                             void *userdata);
