#pragma once
/* Publishing to OpenStack Glance, the image service of OpenStack clouds (glance.c: the API,
 * glance-publish.c: a bake into an image, glance-channel.c: channels).
 *
 * Glance is not an OCI registry: it stores one image per upload under a server-chosen id, with
 * properties and tags beside it and its own checksums, and has no blobs, manifests or tags that
 * name content. So it does not implement RegistryBackend (registry.h); it has this small interface
 * of its own and keeps baker's state in Glance itself:
 *   properties  baker_image_digest (sha256 of the raw disk: what "the same image" means),
 *               baker_bake_key, baker_version, plus os_distro, os_version, hw_firmware_type,
 *               hw_disk_bus and any from the template
 *   tag "baker" on every image baker made
 *   channels    history tags on the images themselves (glance-channel.c)
 *
 * Reference syntax (README.md): glance:[CLOUD/]NAME[:CHANNEL][@sha256:HEX]. CLOUD is a clouds.yaml
 * entry; without it $OS_CLOUD or the OS_* variables say which cloud (openstack.h). NAME is the
 * Glance image name (a bake's name). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pull.h"
#include "util.h"
#include "versions.h"

#define GLANCE_REF_PREFIX "glance:"
#define GLANCE_BAKER_TAG "baker"
#define GLANCE_PROP_DIGEST "baker_image_digest"
#define GLANCE_PROP_BAKE_KEY "baker_bake_key"
#define GLANCE_PROP_VERSION "baker_version"

typedef struct GlanceRef {
        char *cloud; /* NULL: $OS_CLOUD or the OS_* variables */
        char *name;
        char *channel; /* or NULL */
        char *digest;  /* "sha256:<hex>" or NULL */
} GlanceRef;

static inline bool glance_ref_is(const char *s) {
        return startswith(s, GLANCE_REF_PREFIX);
}
/* -EINVAL (logged) for a malformed reference. */
int glance_ref_parse(const char *s, GlanceRef **ret);
GlanceRef *glance_ref_free(GlanceRef *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(GlanceRef *, glance_ref_free);

typedef struct Glance Glance;

/* Loads the cloud (openstack.h), authenticates and finds the image endpoint. */
int glance_open(const char *cloud, Glance **ret);
Glance *glance_free(Glance *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(Glance *, glance_free);

/* ---- the API (glance.c) ---- */
/* Every image named name (all statuses Glance lists), newest first: a json array. */
int glance_list_images(Glance *g, const char *name, json_t **ret);
/* GET /v2/images/ID; -ENOENT (not logged) when there is none. */
int glance_image_get(Glance *g, const char *id, json_t **ret);
/* POST /v2/images with body (name, formats, properties, tags); ret: the new image. */
int glance_image_create(Glance *g, json_t *body, json_t **ret);
int glance_image_delete(Glance *g, const char *id);
int glance_image_tag(Glance *g, const char *id, const char *tag, bool add);
/* Streams path (size bytes) into the image; ret_sha512: hex of the bytes sent, hashed as they
 * went. */
int glance_image_upload(Glance *g, const char *id, const char *path, uint64_t size, char **ret_sha512);
/* Polls until the image leaves "saving"/"importing"/"queued": 0 when active (*ret the image),
 * -EIO (logged) when Glance killed it, -ETIMEDOUT after timeout_s. */
int glance_image_wait_active(Glance *g, const char *id, unsigned timeout_s, json_t **ret);
int glance_image_deactivate(Glance *g, const char *id, bool deactivate);
/* The image's members (GET /v2/images/ID/members): a strv of project ids. */
int glance_members_list(Glance *g, const char *id, char ***ret);
/* Shares the image with a project (POST …/members; one already there is 0) or stops sharing it. */
int glance_member_set(Glance *g, const char *id, const char *member, bool add);
/* PATCH /v2/images/ID with a json-patch array ([{op, path, value}]). */
int glance_image_patch(Glance *g, const char *id, json_t *patch);
/* GET /v2/images/ID/file into fd, hashed as it arrives; ret_sha512: hex, ret_size: the bytes. */
int glance_image_download(Glance *g, const char *id, int fd, char **ret_sha512, uint64_t *ret_size);

/* ---- publishing (glance-publish.c) ---- */
typedef struct GlancePublishOptions {
        const char *format;     /* "qcow2" or "raw"; NULL: qcow2 when the bake has one, else raw */
        const char *firmware;   /* hw_firmware_type: "bios", "uefi" or NULL (not set) */
        const char *disk_bus;   /* hw_disk_bus; NULL = virtio */
        const char *visibility; /* NULL = Glance's default (shared/private); set on a reused image too */
        char **members;         /* project ids the image is shared with (visibility shared) */
        bool has_members;       /* members is the whole list: others are removed; false: not touched */
        char **properties;      /* strv of "KEY=VALUE" (os_distro, os_version, …) */
        char **channels;        /* promoted after the upload */
        size_t n_channels;
        unsigned timeout_s;     /* waiting for active; 0 = 600 */
} GlancePublishOptions;

typedef struct GlancePublishReport {
        bool reused;   /* an active image with this digest was there: nothing uploaded */
        char *image_id, *name, *digest, *disk_format, *cloud;
        uint64_t bytes_sent;
        char **channels_moved; /* strv */
        char *visibility;      /* the image's, after publishing */
        char **members_added, **members_removed; /* strv */
} GlancePublishReport;

void glance_publish_report_done(GlancePublishReport *r);
/* {status ("uploaded"|"unchanged"), backend "glance", image_id, name, digest, disk_format,
 * bytes_sent, channels, visibility, members_added, members_removed} */
json_t *glance_publish_report_to_json(const GlancePublishReport *r);
/* input: a bake's manifest.json; target: a glance: reference without channel or digest. */
int glance_publish(const char *input, const char *target, const GlancePublishOptions *opts,
                   GlancePublishReport *ret_report);
/* The baker images named name with this image digest, newest first, active ones first: NULL if
 * none. ret: a new reference. */
int glance_find_by_digest(Glance *g, const char *name, const char *digest, json_t **ret);

/* ---- pull (glance-pull.c) ---- */
/* The image a reference names: @DIGEST (active first, newest first), else :CHANNEL (its current
 * image); -EINVAL (logged) for a bare name. */
int glance_ref_image(Glance *g, const GlanceRef *ref, const char *source, json_t **ret);
/* baker pull glance:[CLOUD/]NAME:CHANNEL|@DIGEST DEST: DEST/NAME.FORMAT, checked against Glance's
 * sha512 and size (and a raw image against its image digest) before it takes its name. A
 * deactivated (revoked) image is refused (-EKEYREVOKED). files[0].digest is "sha512:HEX". */
int glance_pull(const char *source, const char *dest, PullReport *ret);

/* ---- versions, revoke, gc (glance-versions.c) ---- */
/* What baker published under name, newest first: [{digest, version, created, images: [{id,
 * disk_format, status}], channels, revoked, reason?}]; revoked: every image of it deactivated. */
int glance_versions(Glance *g, const char *name, json_t **ret);

typedef struct GlanceRevokeReport {
        char **deactivated; /* strv: image ids deactivated now (none: revoked already) */
        char **channels;    /* strv: channels still pointing at it (they no longer resolve) */
} GlanceRevokeReport;
void glance_revoke_report_done(GlanceRevokeReport *r);
/* Deactivates every active image of digest, its reason in a property; -ENOENT (logged) when
 * baker published no such digest under name. */
int glance_revoke(Glance *g, const char *name, const char *digest, const char *reason, GlanceRevokeReport *ret);

typedef struct GlanceGcReport {
        GcReport versions;     /* digests deleted and kept (versions.h) */
        char **images_deleted; /* strv: the Glance images (versions' and leftovers') */
        char **young;          /* strv: images gc would delete but for the minimum age */
} GlanceGcReport;
void glance_gc_report_done(GlanceGcReport *r);
/* {deleted, kept, dry_run, images_deleted, too_young} */
json_t *glance_gc_report_to_json(const GlanceGcReport *r);
/* baker gc for a Glance name: versions_gc_decide() over its versions, then deletes their images and
 * the leftovers that never turned active, those older than versions_gc_min_age(); never what a
 * channel points at. -EPERM (logged) when it refuses (opts->force). */
int glance_gc(Glance *g, const char *name, const GcOptions *opts, GlanceGcReport *ret);

/* ---- channels (glance-channel.c) ---- */
/* image: a Glance image (json) of name. 1 moved, 0 already there. ret_previous: its image id. */
int glance_channel_promote(Glance *g, const char *name, const char *channel, json_t *image, char **ret_previous);
/* The image the channel points at; -ENOENT (logged) without such a channel, -EKEYREVOKED (logged)
 * when that image is deactivated. */
int glance_channel_resolve(Glance *g, const char *name, const char *channel, json_t **ret);
/* Back to what the channel pointed at before; ret: that image. */
int glance_channel_rollback(Glance *g, const char *name, const char *channel, json_t **ret);
/* Every channel with a history among images (the images of one name, as listed): a sorted strv. */
char **glance_channel_names(json_t *images);
/* The image the channel points at now among images (borrowed from them), or NULL. */
json_t *glance_channel_current(json_t *images, const char *channel);
/* The channel's moves, newest first: {channel, current (image id), entries: [{action, date, by,
 * image_id, digest, version, status, revoked}]}; -ENOENT (logged) for no such channel. An image
 * deleted from Glance took its entries with it. */
int glance_channel_report(Glance *g, const char *name, const char *channel, json_t **ret);
