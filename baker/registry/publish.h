#pragma once
/* Publishing a finished bake: what `baker push` does and what a bake's `publish:`/`channels:` run
 * after a successful build. Uploads every blob (skipping those present), then the manifest under
 * its tag, and only then moves channels. */
#include <jansson.h>
#include <stdbool.h>

#include "artifact.h"

/* The registry reference for a template's publish entry: kind "oci-layout" with a directory gives
 * "oci-layout:DIR/NAME" (one image layout per repository inside the registry directory); kind "oci"
 * gives the value as written ("localhost:5000/images/web"); kinds "s3" and "azure-blob" the reference
 * the template made (endpoint, bucket or account and container, prefix…), with NAME as the prefix
 * when it has none. */
char *publish_target(const char *kind, const char *value, const char *name);

typedef struct PublishOptions {
        ArtifactOptions artifact;
        const char *mount_from;
        char **channels; /* promoted after the push */
        size_t n_channels;
        bool insecure;   /* skip TLS verification for the target's host (a template's `insecure: true`) */
} PublishOptions;

typedef struct PublishChannel {
        char *name;
        bool moved; /* false: it pointed there already */
} PublishChannel;

typedef struct PublishReport {
        bool unchanged; /* the tag named this manifest already and nothing was uploaded */
        char *digest;   /* the image manifest's */
        char *repository, *tag;
        char *reference; /* pinned: "host/repo@sha256:…" */
        char *sbom;      /* the SBOM referrer's manifest digest, NULL without an SBOM */
        RegistryStats stats;
        PublishChannel *channels;
        size_t n_channels;
} PublishReport;

void publish_report_done(PublishReport *r);
/* {status ("pushed"|"unchanged"), digest, repository, tag, reference, blobs_sent, blobs_skipped,
 * blobs_mounted, bytes_sent, bytes_skipped, channels:[{name, moved}]} */
json_t *publish_report_to_json(const PublishReport *r);

/* input: manifest.json or an image file; target: a registry reference (tag optional: defaults to
 * the image's version, else "latest"). ret_report (optional) is filled on success. Errors: -EINVAL
 * usage, -ENOENT/-EBADMSG input, -EEXIST when the tag is the image's version and names other
 * content already (a version never moves; nothing is uploaded), others from the registry (already
 * logged). */
int publish_image(const char *input, const char *target, const PublishOptions *opts, PublishReport *ret_report);

/* What a channel names, as baker published it: the image manifest's digest and its annotations
 * (org.opencontainers.image.version, vnd.baker.bake-key, vnd.baker.image-digest). */
typedef struct PublishedImage {
        char *digest, *version, *bake_key, *image_digest; /* version: NULL when it had none */
} PublishedImage;

void published_image_done(PublishedImage *p);
/* The annotations of an image manifest (JSON, as the registry served it); -EBADMSG when it is not
 * JSON or has no bake key or image digest (not baker's, or older than the bake key). Pure. */
int published_image_parse(const char *data, size_t size, PublishedImage *ret);
/* The image channel of target names now: 1 and *ret; 0 when there is no such channel yet (a first
 * publish), the image it names is revoked or not baker's; < 0 (logged) when the registry cannot be
 * asked. insecure as in PublishOptions. */
int publish_channel_image(const char *target, const char *channel, bool insecure, PublishedImage *ret);
