#pragma once
/* The layout the object-store backends share (registry-s3, registry-azure): a registry kept as
 * plain objects under a prefix, so channels, history, promote, rollback and gc work the same over
 * any store that can put, get, list and delete an object.
 *
 *   PREFIX/blobs/sha256/HEX      every blob, content-addressed (uploads are the backend's own)
 *   PREFIX/manifests/sha256/HEX  every manifest, byte for byte, Content-Type its media type
 *   PREFIX/tags/TAG              a tag or channel: {"digest","mediaType","size"} of its manifest
 *
 * A backend embeds an ObjectStore as the FIRST member of its state (the registry's userdata) and
 * points its RegistryBackend at the object_layout_* functions below; it keeps blob_exists and
 * blob_push (multipart, page blobs, metadata) for itself. */
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "registry.h"

typedef struct ObjectListing {
        char **names;      /* without the listed prefix; a strv */
        int64_t *modified; /* last modified, epoch seconds (0: unknown) */
        uint64_t *sizes;
        size_t n;
} ObjectListing;

void object_listing_add(ObjectListing *l, const char *name, int64_t modified, uint64_t size);
void object_listing_done(ObjectListing *l);

/* How get reads an object. */
typedef struct ObjectRead {
        bool head_only; /* only whether it is there */
        HttpSink sink;  /* the body as it arrives (blobs); NULL: in memory, at most max_size bytes */
        void *userdata;
        size_t max_size;
        bool progress;  /* a progress bar on a terminal */
} ObjectRead;

typedef struct ObjectStore ObjectStore;

/* Names are below the prefix ("tags/stable"). Each returns >= 0 or -errno and logs its own
 * failures with the request and the server's words, except an absent object for get (-ENOENT,
 * silent: an answer, not a failure). */
typedef struct ObjectStoreOps {
        int (*put)(ObjectStore *o, const char *name, const char *content_type, const void *data, size_t size);
        /* ret_data (NUL-terminated), ret_size, ret_content_type: optional; not set with a sink. */
        int (*get)(ObjectStore *o, const char *name, const ObjectRead *r, char **ret_data, size_t *ret_size,
                   char **ret_content_type);
        /* Every object whose name starts with sub, sub removed, following the store's pagination. */
        int (*list)(ObjectStore *o, const char *sub, ObjectListing *ret);
        /* An absent object is deleted already: 0. */
        int (*delete)(ObjectStore *o, const char *name);
} ObjectStoreOps;

struct ObjectStore {
        const ObjectStoreOps *ops;
        const char *kind;    /* "S3", "azure-blob": how messages name the backend */
        const char *display; /* the reference ("s3://host/bucket/prefix"), borrowed */
};

/* "sha256:HEX" → "blobs/sha256/HEX" */
char *object_layout_blob_name(const char *digest);

/* RegistryBackend operations over the layout; b is the backend state, an ObjectStore first. */
int object_layout_blob_get(void *b, const char *digest, uint64_t max_size, int fd);
int object_layout_blob_delete(void *b, const char *digest);
int object_layout_manifest_put(void *b, const char *reference, const char *media_type, const char *data,
                               size_t size, bool *ret_subject_ok);
int object_layout_manifest_get(void *b, const char *reference, char **ret_data, size_t *ret_size,
                               char **ret_media_type);
int object_layout_manifest_head(void *b, const char *reference, char **ret_digest);
int object_layout_manifest_delete(void *b, const char *digest);
int object_layout_tags_list(void *b, char ***ret_tags, size_t *ret_n);
/* Deletes the blobs no stored manifest names, last modified more than min_age_s ago (a concurrent
 * push is younger): a store collects no garbage of its own. */
int object_layout_sweep(void *b, unsigned min_age_s, uint64_t *ret_blobs, uint64_t *ret_bytes);

/* For a backend's get: the answer's body and Content-Type into the optional ret_* (see get). */
void object_read_answer(const HttpResponse *resp, char **ret_data, size_t *ret_size, char **ret_content_type);
