#pragma once
/* baker pull: an image artifact into a directory, every blob verified against its digest. The
 * config blob is written as manifest.json (a baker image) or config.json, each layer under its
 * title annotation (refused when the title could leave the directory: "layer-N" instead). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct PulledFile {
        char *file; /* a name inside the destination */
        char *digest;
        uint64_t size;
        bool config; /* the config blob (its size is not reported) */
} PulledFile;

typedef struct PullReport {
        char *digest;      /* the image manifest's */
        char *reference;   /* pinned: "host/repo@sha256:…" */
        char *destination;
        PulledFile *files;
        size_t n_files;
        uint64_t bytes;    /* of the layers */
        bool local_failure; /* the error was creating the destination, not the registry */
} PullReport;

void pull_report_done(PullReport *p);
/* {digest, reference, destination, files: [{file, digest, size?}], bytes} */
json_t *pull_report_to_json(const PullReport *p);

/* source: REF[:TAG][@DIGEST] (a tag "latest" when neither). Warns when the tag moved away from the
 * digest asked for, or the image is revoked. Errors are logged; ret->local_failure tells a
 * destination that could not be created from a registry or verification failure (-EBADMSG). */
int registry_pull(const char *source, const char *dest, PullReport *ret);
