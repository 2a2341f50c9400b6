#pragma once
/* One interface to every place baker publishes to: an OCI Distribution registry over HTTP
 * (registry-oci) or an OCI image-layout directory (registry-layout). Backends implement the
 * primitive operations; this module adds what is the same for all of them: reference parsing,
 * skip-if-present blob uploads, digest verification of everything read, and the referrers
 * tag-schema fallback (a "sha256-<hex>" tagged index) for registries without a referrers API.
 *
 * Reference syntax (documented in README.md):
 *   [http://|https://]HOST[:PORT]/REPO/PATH[:TAG][@sha256:HEX]   OCI Distribution registry.
 *       Plain http when the ref says http:// or the host is localhost/127.0.0.1/[::1].
 *   oci-layout:DIR[:TAG][@sha256:HEX]                             OCI image-layout directory; one
 *       layout per repository, so "oci-layout:./registry/web:1.4.0" is the layout ./registry/web,
 *       which skopeo reads as "oci:./registry/web:1.4.0".
 *   s3://[REGION@]HOST[:PORT]/BUCKET[/PREFIX][:TAG][@sha256:HEX]    S3-compatible object storage
 *       (registry-s3.h), path-style; s3+http:// and s3+https:// name the scheme (plain http is the
 *       default for a loopback host, as for OCI).
 *   azure://ACCOUNT/CONTAINER[/PREFIX][:TAG][@sha256:HEX]        Azure Blob Storage
 *       (registry-azure.h); azure+http://HOST:PORT/ACCOUNT/… and azure+https://… name an endpoint
 *       with the account in the path (Azurite). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "strv.h"
#include "util.h"

#define OCI_MANIFEST_MEDIA_TYPE "application/vnd.oci.image.manifest.v1+json"
#define OCI_INDEX_MEDIA_TYPE "application/vnd.oci.image.index.v1+json"
#define OCI_EMPTY_MEDIA_TYPE "application/vnd.oci.empty.v1+json"
#define OCI_EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define DOCKER_MANIFEST_MEDIA_TYPE "application/vnd.docker.distribution.manifest.v2+json"

typedef enum RegistryKind {
        REGISTRY_OCI,
        REGISTRY_LAYOUT,
        REGISTRY_S3,
        REGISTRY_AZURE,
} RegistryKind;

typedef struct RegistryRef {
        RegistryKind kind;
        char *host;       /* OCI: "host[:port]"; NULL for a layout */
        bool plain_http;  /* OCI: talk http:// instead of https:// */
        char *repository; /* OCI: "images/web"; layout: the directory */
        char *tag;        /* or NULL */
        char *digest;     /* "sha256:<hex>" or NULL */
        char *region;     /* S3: the region to sign for, or NULL (found as the AWS CLI does) */
} RegistryRef;

int registry_ref_parse(const char *s, RegistryRef **ret);
RegistryRef *registry_ref_free(RegistryRef *ref);
DEFINE_TRIVIAL_CLEANUP_FUNC(RegistryRef *, registry_ref_free);
/* The repository as a user writes it, without tag or digest ("127.0.0.1:5000/images/web",
 * "oci-layout:./registry/web"). */
char *registry_ref_repository_string(const RegistryRef *ref);
/* A pull reference pinned to a digest: "host/repo@sha256:…" or "oci-layout:DIR@sha256:…". */
char *registry_ref_pinned_string(const RegistryRef *ref, const char *digest);

typedef struct Registry Registry;

/* A blob to upload: either a file (path, read from offset 0, size bytes) or bytes in memory. */
typedef struct RegistryBlob {
        const char *digest; /* "sha256:<hex>" */
        uint64_t size;
        const char *path;
        const void *data;
        const char *label; /* for progress and logs, e.g. the file name */
        /* "key=value" facts about the image a backend may keep with the blob (S3: object metadata),
         * NULL-terminated, or NULL. */
        char *const *metadata;
} RegistryBlob;

typedef struct RegistryManifest {
        char *data;
        size_t size;
        char *media_type;
        char *digest; /* verified against data */
} RegistryManifest;

RegistryManifest *registry_manifest_free(RegistryManifest *m);
/* For gc's sweeps: sets live[digest] = true for the config and every layer a manifest names. */
void registry_manifest_mark_blobs(const json_t *manifest, json_t *live);
DEFINE_TRIVIAL_CLEANUP_FUNC(RegistryManifest *, registry_manifest_free);

/* What a backend implements. Every function returns >= 0 or -errno; absent things are -ENOENT;
 * unsupported operations -EOPNOTSUPP. Backends log their own errors with full context. */
typedef struct RegistryBackend {
        const char *name;
        /* 1 and *ret_size if present, 0 if not. */
        int (*blob_exists)(void *b, const char *digest, uint64_t *ret_size);
        /* Uploads a blob known to be absent. *ret_sent: bytes transferred. */
        int (*blob_push)(void *b, const RegistryBlob *blob, uint64_t *ret_sent);
        /* 1 if mounted from the other repository, 0 if the registry declined (upload instead). */
        int (*blob_mount)(void *b, const char *digest, const char *from_repository);
        /* Writes the blob's bytes to fd (a new file; sparse_write() leaves zero blocks as holes),
         * stopping with -EFBIG (logged) past max_size bytes (the size declared for it), hashing
         * them as they arrive: a digest mismatch is -EBADMSG (logged). The caller checks the
         * length, so the data is read once. */
        int (*blob_get)(void *b, const char *digest, uint64_t max_size, int fd);
        int (*blob_delete)(void *b, const char *digest);
        /* reference = tag or digest. ret_subject_ok: the registry indexed "subject" itself
         * (OCI-Subject header); when false the caller maintains the fallback index. */
        int (*manifest_put)(void *b, const char *reference, const char *media_type, const char *data,
                            size_t size, bool *ret_subject_ok);
        int (*manifest_get)(void *b, const char *reference, char **ret_data, size_t *ret_size,
                            char **ret_media_type);
        /* ret_digest: "sha256:<hex>" of the manifest reference points at. */
        int (*manifest_head)(void *b, const char *reference, char **ret_digest);
        int (*manifest_delete)(void *b, const char *digest);
        /* Every tag, sorted, as a strv (strv.h) and its length; backends follow pagination themselves. */
        int (*tags_list)(void *b, char ***ret_tags, size_t *ret_n);
        /* The referrers API: an image index (json) of manifests whose subject is digest.
         * -EOPNOTSUPP when the registry has none (the fallback tag is used). */
        int (*referrers)(void *b, const char *digest, json_t **ret_index);
        /* Removes blobs nothing references any more (layout only: a registry collects its own
         * garbage). Blobs younger than min_age_s are left alone, so a concurrent push whose blobs
         * are not yet named by a manifest loses nothing. */
        int (*sweep)(void *b, unsigned min_age_s, uint64_t *ret_blobs, uint64_t *ret_bytes);
        void (*free)(void *b);
} RegistryBackend;

Registry *registry_new(const RegistryBackend *backend, void *userdata, const RegistryRef *ref);

typedef struct RegistryOptions {
        bool create; /* layout: create the directory if missing */
} RegistryOptions;

int registry_open(const RegistryRef *ref, const RegistryOptions *opts, Registry **ret);
Registry *registry_free(Registry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Registry *, registry_free);
const RegistryRef *registry_get_ref(const Registry *r);

typedef struct RegistryStats {
        uint64_t blobs_sent, blobs_skipped, blobs_mounted;
        uint64_t bytes_sent, bytes_skipped;
} RegistryStats;
/* Counters over the registry's lifetime (push reports them). */
const RegistryStats *registry_stats(const Registry *r);

int registry_blob_exists(Registry *r, const char *digest, uint64_t *ret_size);
/* Uploads unless present (HEAD first): an existing blob is never sent again. If from_repository
 * is set, a cross-repository mount is tried before uploading. */
int registry_blob_push(Registry *r, const RegistryBlob *blob, const char *from_repository);
/* Downloads to path (temp + rename) and verifies digest and size; a mismatch is -EBADMSG. */
int registry_blob_get(Registry *r, const char *digest, uint64_t expected_size, const char *path);
/* Downloads into memory (small blobs: configs, history), verified. */
int registry_blob_get_data(Registry *r, const char *digest, char **ret_data, size_t *ret_size);
int registry_blob_delete(Registry *r, const char *digest);

/* Stores a manifest under a tag or its own digest. The manifest's blobs must be present already.
 * If it has a "subject" and the registry does not index it, the fallback index
 * "sha256-<subject hex>" is updated. ret_digest (optional): the manifest's digest. */
int registry_manifest_put(Registry *r, const char *reference, const char *media_type, const char *data,
                          size_t size, char **ret_digest);
/* reference = tag or digest; a manifest fetched by digest is verified against it. */
int registry_manifest_get(Registry *r, const char *reference, RegistryManifest **ret);
/* 1 + digest if present, 0 if not. */
int registry_manifest_head(Registry *r, const char *reference, char **ret_digest);
int registry_manifest_delete(Registry *r, const char *digest);
int registry_tags_list(Registry *r, char ***ret_tags, size_t *ret_n);
/* See RegistryBackend.sweep; -EOPNOTSUPP for registries. */
int registry_sweep(Registry *r, unsigned min_age_s, uint64_t *ret_blobs, uint64_t *ret_bytes);
/* Descriptors (json array, new reference) of manifests whose subject is digest, optionally only
 * those of artifact_type. Uses the referrers API, else the "sha256-<hex>" fallback tag. */
int registry_referrers(Registry *r, const char *digest, const char *artifact_type, json_t **ret_descriptors);

/* "sha256-<hex>": the referrers fallback tag of a digest. */
char *registry_referrers_tag(const char *digest);
bool registry_tag_valid(const char *tag);

/* Credentials for a registry host, from (in order) $BAKER_REGISTRY_USER/$BAKER_REGISTRY_PASSWORD,
 * baker's own auth file ($XDG_CONFIG_HOME/baker/auth.json, written by `baker login`), and
 * ~/.docker/config.json "auths". 0 and nothing set if none; the password is registered with
 * log_add_secret(). */
int registry_credentials_get(const char *host, char **ret_user, char **ret_password);
/* Stores credentials in baker's auth file (mode 0600, written atomically). */
int registry_credentials_store(const char *host, const char *user, const char *password);
char *registry_auth_file_path(void);

/* For the CLI: parses s, opens it (creating a layout when create is set) and logs what failed.
 * -EINVAL for a bad reference (a usage error), other errors from the backend. */
int registry_open_string(const char *s, bool create, RegistryRef **ret_ref, Registry **ret);
/* Hosts named with --insecure: TLS verification is skipped for them only. */
void registry_add_insecure_host(const char *host);
