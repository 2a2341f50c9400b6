#pragma once
/* The published versions of a repository, newest first, and garbage collection of old ones.
 *
 * "Newest" follows the order of publishing: the push record (channel.h, tag "baker.pushes") puts
 * the most recently pushed first; versions it does not name (pushed by other tools or an older
 * baker) come after, highest version first (compared like `sort -V`: runs of digits as numbers),
 * then by creation time and digest. Never the creation time alone: reproducible builds give every
 * version the same one. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "registry.h"

typedef struct ImageVersion {
        char *digest;
        char *version, *created; /* annotations; NULL when absent */
        char **tags, **channels; /* strv: the tags naming it, the channels pointing at it */
        bool revoked;
        char *reason;
        ssize_t pushed; /* position in the push record (later pushes higher); -1 when not recorded */
} ImageVersion;

void image_versions_free(ImageVersion *v, size_t n);
/* Every image manifest a tag or a channel names; skips channel, history and referrer tags. */
int versions_list(Registry *r, ImageVersion **ret, size_t *ret_n);
/* [{digest, tags, channels, version, created, revoked, reason?}] */
json_t *image_versions_to_json(const ImageVersion *v, size_t n);
/* <0, 0, >0 like strcmp, comparing runs of digits as numbers ("1.0.10" > "1.0.9"). */
int version_compare(const char *a, const char *b);

typedef struct GcOptions {
        unsigned keep; /* the newest N stay, besides what a channel points at */
        bool dry_run;  /* decide and report, delete nothing */
        bool force;    /* delete even the most recent push, or every version no channel names */
} GcOptions;

typedef struct GcReport {
        char **deleted, **kept; /* strv of digests; on a dry run what would be */
        uint64_t blobs_deleted;
        bool dry_run;
        const char *refused; /* why gc would refuse without --force (dry run), else NULL */
} GcReport;

void gc_report_done(GcReport *g);
/* {deleted, kept, blobs_deleted, dry_run} */
json_t *gc_report_to_json(const GcReport *g);

/* Which versions go (into g->deleted, the rest into g->kept): neither among the newest keep nor
 * named by a channel. Returns why gc would refuse (the most recent push goes, or every version no
 * channel names does), or NULL. */
const char *versions_gc_decide(const ImageVersion *v, size_t n, unsigned keep, GcReport *g);
/* Seconds: what is younger may belong to a push in progress and is left alone ($BAKER_GC_MIN_AGE,
 * default 3600). */
unsigned versions_gc_min_age(void);

/* Deletes image manifests that no channel points at and that are not among the newest keep,
 * with their revocations and the blobs no kept manifest uses. Refuses (-EPERM, logged) to delete
 * the most recent push or every version no channel names, unless opts->force. */
int versions_gc(Registry *r, const GcOptions *opts, GcReport *ret);
