/* OCI image-layout directory backend (image-spec "image-layout.md"):
 *   DIR/oci-layout        {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json        an image index; tags are "org.opencontainers.image.ref.name" annotations,
 *                         untagged manifests (revocations, by-digest puts) are listed without one so
 *                         they stay reachable
 *   DIR/blobs/sha256/HEX  every blob and manifest
 * Every write is atomic: a blob goes to a temporary sibling and is renamed once its digest is
 * verified, and always before index.json changes; index.json is rewritten with write_file_atomic()
 * under an flock on DIR/oci-layout so concurrent bakers don't lose each other's tags. */
#include "registry-layout.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "digest.h"
#include "log.h"
#include "strv.h"
#include "sparse.h"

#define REF_NAME "org.opencontainers.image.ref.name"

typedef struct Layout {
        char *dir;
} Layout;

static void layout_free(void *userdata) {
        Layout *l = userdata;
        free(l->dir);
        free(l);
}

/* "sha256:" and 64 lower-case hex digits, nothing else: digests come from index.json and manifests,
 * which are input, and name files ("sha256:../../x" must not). */
static bool digest_ok(const char *digest) {
        if (!digest || !startswith(digest, "sha256:") || strlen(digest) != 7 + DIGEST_HEX_SIZE)
                return false;
        for (const char *c = digest + 7; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return false;
        return true;
}

static int blob_path(Layout *l, const char *digest, char **ret) {
        if (!digest_ok(digest))
                return log_error_errno(-EINVAL, "OCI layout '%s': invalid digest '%s'", l->dir, digest ?: "(none)");
        *ret = xasprintf("%s/blobs/sha256/%s", l->dir, digest + strlen("sha256:"));
        return 0;
}

static int layout_lock(Layout *l) {
        _cleanup_free_ char *p = path_join(l->dir, "oci-layout");
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "failed to open '%s': %m", p);
        if (flock(fd, LOCK_EX) < 0) {
                int k = -errno;
                close(fd);
                return log_error_errno(k, "failed to lock '%s': %m", p);
        }
        return fd; /* closing it unlocks */
}

static int index_load(Layout *l, json_t **ret) {
        _cleanup_free_ char *p = path_join(l->dir, "index.json");
        json_error_t err;
        json_t *j = json_load_file(p, 0, &err);
        if (!j || !json_is_array(json_object_get(j, "manifests"))) {
                json_decref(j);
                return log_error_errno(-EBADMSG, "invalid OCI layout index '%s': %s", p, err.text);
        }
        *ret = j;
        return 0;
}

static int index_save(Layout *l, json_t *index) {
        _cleanup_free_ char *p = path_join(l->dir, "index.json");
        _cleanup_free_ char *data = json_dumps(index, JSON_INDENT(2) | JSON_SORT_KEYS);
        int k = write_file_atomic(p, data, strlen(data), 0644);
        if (k < 0)
                return log_error_errno(k, "failed to write '%s': %m", p);
        return 0;
}

static const char *entry_tag(json_t *e) {
        return json_string_value(json_object_get(json_object_get(e, "annotations"), REF_NAME));
}

static const char *entry_digest(json_t *e) {
        return json_string_value(json_object_get(e, "digest"));
}

static int layout_blob_exists(void *userdata, const char *digest, uint64_t *ret_size) {
        _cleanup_free_ char *p = NULL;
        int k = blob_path(userdata, digest, &p);
        if (k < 0)
                return k;
        struct stat st;
        if (stat(p, &st) < 0)
                return errno == ENOENT ? 0 : log_error_errno(-errno, "failed to stat '%s': %m", p);
        if (ret_size)
                *ret_size = (uint64_t) st.st_size;
        return 1;
}

/* Copies src to dst keeping holes, hashing as it goes (holes as zeros). */
typedef struct SparseCopy {
        int dst;
        uint64_t pos;
        Digest *digest;
} SparseCopy;

static int copy_piece(const void *data, size_t size, void *userdata) {
        SparseCopy *c = userdata;
        if (data) {
                digest_update(c->digest, data, size);
                int k = pwrite_all(c->dst, data, size, c->pos);
                if (k < 0)
                        return k;
        } else
                digest_update_zeros(c->digest, size);
        c->pos += size;
        return 0;
}

static int copy_sparse_digest(int src, int dst, uint64_t size, uint8_t ret[DIGEST_SIZE]) {
        _cleanup_(digest_freep) Digest *d = digest_new();
        SparseCopy c = { .dst = dst, .digest = d };
        int k = sparse_walk(src, size, 1 << 20, copy_piece, &c);
        if (k < 0)
                return k;
        if (ftruncate(dst, (off_t) size) < 0)
                return -errno;
        digest_final(d, ret);
        return 0;
}

static int layout_blob_push(void *userdata, const RegistryBlob *blob, uint64_t *ret_sent) {
        Layout *l = userdata;
        _cleanup_free_ char *p = NULL;
        int k = blob_path(l, blob->digest, &p);
        if (k < 0)
                return k;
        _cleanup_unlink_ char *tmp = tmp_sibling(p);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        uint8_t d[DIGEST_SIZE];

        if (fd < 0) {
                k = -errno;
                free(TAKE_PTR(tmp));
                return log_error_errno(k, "failed to create blob in '%s': %m", l->dir);
        }
        if (blob->path) {
                _cleanup_close_ int src = open(blob->path, O_RDONLY | O_CLOEXEC);
                if (src < 0)
                        return log_error_errno(-errno, "failed to open '%s': %m", blob->path);
                k = copy_sparse_digest(src, fd, blob->size, d);
                if (k < 0)
                        return log_error_errno(k, "failed to copy '%s' into '%s': %m", blob->path, l->dir);
        } else {
                k = write_all(fd, blob->data, blob->size);
                if (k < 0)
                        return log_error_errno(k, "failed to write blob into '%s': %m", l->dir);
                digest_buffer(blob->data, blob->size, d);
        }
        char got[DIGEST_STRING_MAX];
        digest_to_string(d, got);
        if (!streq(got, blob->digest))
                return log_error_errno(-EBADMSG, "'%s' has digest %s, expected %s", blob->label ?: "blob", got,
                                       blob->digest);
        if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, p) < 0)
                return log_error_errno(-errno, "failed to store blob '%s': %m", p);
        free(TAKE_PTR(tmp));
        *ret_sent = blob->size;
        return 0;
}

static int layout_blob_get(void *userdata, const char *digest, uint64_t max_size, int fd) {
        _cleanup_free_ char *p = NULL;
        int k = blob_path(userdata, digest, &p);
        if (k < 0)
                return k;
        _cleanup_close_ int src = open(p, O_RDONLY | O_CLOEXEC);
        if (src < 0)
                return errno == ENOENT ? log_error_errno(-ENOENT, "blob '%s' not found in layout", digest)
                                       : log_error_errno(-errno, "failed to open '%s': %m", p);
        struct stat st;
        if (fstat(src, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size > max_size)
                return log_error_errno(-EFBIG, "blob '%s' in layout '%s' is %" PRIu64 " bytes, more than the %" PRIu64 " declared",
                                       digest, ((Layout *) userdata)->dir, (uint64_t) st.st_size, max_size);
        uint8_t d[DIGEST_SIZE];
        k = copy_sparse_digest(src, fd, (uint64_t) st.st_size, d);
        if (k < 0)
                return log_error_errno(k, "failed to copy '%s': %m", p);
        char got[DIGEST_STRING_MAX];
        digest_to_string(d, got);
        if (!streq(got, digest))
                return log_error_errno(-EBADMSG, "blob '%s' in layout '%s' failed verification: content has digest %s",
                                       digest, ((Layout *) userdata)->dir, got);
        return 0;
}

static int layout_blob_delete(void *userdata, const char *digest) {
        _cleanup_free_ char *p = NULL;
        int k = blob_path(userdata, digest, &p);
        if (k < 0)
                return k;
        if (unlink(p) < 0 && errno != ENOENT)
                return log_error_errno(-errno, "failed to delete '%s': %m", p);
        return 0;
}

static int layout_manifest_put(void *userdata, const char *reference, const char *media_type, const char *data,
                               size_t size, bool *ret_subject_ok) {
        Layout *l = userdata;
        uint8_t d[DIGEST_SIZE];
        char digest[DIGEST_STRING_MAX];
        uint64_t sent;
        int k;

        digest_buffer(data, size, d);
        digest_to_string(d, digest);
        k = layout_blob_exists(l, digest, NULL);
        if (k < 0)
                return k;
        if (k == 0) {
                /* The manifest blob lands before index.json names it. */
                k = layout_blob_push(l, &(RegistryBlob){ .digest = digest, .size = size, .data = data }, &sent);
                if (k < 0)
                        return k;
        }

        _cleanup_close_ int lock = layout_lock(l);
        if (lock < 0)
                return lock;
        json_t *index;
        k = index_load(l, &index);
        if (k < 0)
                return k;
        json_t *manifests = json_object_get(index, "manifests"), *e;
        bool is_tag = !startswith(reference, "sha256:");
        size_t i;
        for (i = 0; i < json_array_size(manifests);) {
                e = json_array_get(manifests, i);
                if (is_tag ? streq_ptr(entry_tag(e), reference)
                           : (!entry_tag(e) && streq_ptr(entry_digest(e), digest))) {
                        json_array_remove(manifests, i);
                        continue;
                }
                i++;
        }
        json_t *desc = json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size", (json_int_t) size);
        json_t *m = json_loadb(data, size, 0, NULL);
        const char *at = json_string_value(json_object_get(m, "artifactType"));
        if (at)
                json_object_set_new(desc, "artifactType", json_string(at));
        json_decref(m);
        if (is_tag)
                json_object_set_new(desc, "annotations", json_pack("{s:s}", REF_NAME, reference));
        json_array_append_new(manifests, desc);
        k = index_save(l, index);
        json_decref(index);
        if (k < 0)
                return k;
        *ret_subject_ok = false; /* a layout has no referrers API: the caller keeps the fallback index */
        return 0;
}

/* Finds the digest a tag or digest reference names; -ENOENT if index.json does not list it. */
static int layout_resolve(Layout *l, const char *reference, char **ret_digest, char **ret_media_type) {
        json_t *index, *e;
        size_t i;
        int k = index_load(l, &index);
        if (k < 0)
                return k;
        bool is_digest = startswith(reference, "sha256:");
        k = -ENOENT;
        json_array_foreach(json_object_get(index, "manifests"), i, e)
                if (is_digest ? streq_ptr(entry_digest(e), reference) : streq_ptr(entry_tag(e), reference)) {
                        const char *mt = json_string_value(json_object_get(e, "mediaType"));
                        if (!digest_ok(entry_digest(e))) {
                                k = log_error_errno(-EBADMSG, "OCI layout '%s': index.json gives '%s' the invalid digest '%s'",
                                                    l->dir, reference, entry_digest(e) ?: "(none)");
                                break;
                        }
                        *ret_digest = xstrdup(entry_digest(e));
                        if (ret_media_type)
                                *ret_media_type = mt ? xstrdup(mt) : NULL;
                        k = 0;
                        break;
                }
        json_decref(index);
        if (k == -ENOENT && is_digest) {
                /* Not listed but present as a blob (e.g. referenced only from another index). */
                if (layout_blob_exists(l, reference, NULL) > 0) {
                        *ret_digest = xstrdup(reference);
                        if (ret_media_type)
                                *ret_media_type = NULL;
                        return 0;
                }
        }
        return k;
}

static int layout_manifest_get(void *userdata, const char *reference, char **ret_data, size_t *ret_size,
                               char **ret_media_type) {
        Layout *l = userdata;
        _cleanup_free_ char *digest = NULL, *mt = NULL;
        int k = layout_resolve(l, reference, &digest, &mt);
        if (k < 0)
                return k;
        _cleanup_free_ char *p = NULL, *data = NULL;
        size_t size;
        k = blob_path(l, digest, &p);
        if (k < 0)
                return k;
        k = read_full_file(p, &data, &size);
        if (k == -ENOENT)
                return k;
        if (k < 0)
                return log_error_errno(k, "failed to read '%s': %m", p);
        /* A tag names its manifest through index.json: the bytes must be what index.json says. */
        uint8_t d[DIGEST_SIZE];
        char got[DIGEST_STRING_MAX];
        digest_buffer(data, size, d);
        digest_to_string(d, got);
        if (!streq(got, digest))
                return log_error_errno(-EBADMSG, "manifest '%s' in layout '%s' failed verification: index.json names %s, content has digest %s",
                                       reference, l->dir, digest, got);
        *ret_data = TAKE_PTR(data);
        *ret_size = size;
        *ret_media_type = TAKE_PTR(mt);
        return 0;
}

static int layout_manifest_head(void *userdata, const char *reference, char **ret_digest) {
        Layout *l = userdata;
        _cleanup_free_ char *digest = NULL;
        int k = layout_resolve(l, reference, &digest, NULL);
        if (k < 0)
                return k;
        if (layout_blob_exists(l, digest, NULL) <= 0)
                return -ENOENT;
        *ret_digest = TAKE_PTR(digest);
        return 0;
}

static int layout_manifest_delete(void *userdata, const char *digest) {
        Layout *l = userdata;
        _cleanup_close_ int lock = layout_lock(l);
        if (lock < 0)
                return lock;
        json_t *index;
        int k = index_load(l, &index);
        if (k < 0)
                return k;
        json_t *manifests = json_object_get(index, "manifests");
        bool found = false;
        for (size_t i = 0; i < json_array_size(manifests);)
                if (streq_ptr(entry_digest(json_array_get(manifests, i)), digest)) {
                        json_array_remove(manifests, i);
                        found = true;
                } else
                        i++;
        /* index.json first: nothing may name a manifest whose blob is gone. */
        k = found ? index_save(l, index) : 0;
        json_decref(index);
        if (k < 0)
                return k;
        return layout_blob_delete(l, digest);
}

static int layout_tags_list(void *userdata, char ***ret_tags, size_t *ret_n) {
        json_t *index, *e;
        size_t i, n = 0;
        int k = index_load(userdata, &index);
        if (k < 0)
                return k;
        json_t *manifests = json_object_get(index, "manifests");
        char **tags = xcalloc(json_array_size(manifests) + 1, sizeof(char *));
        json_array_foreach(manifests, i, e)
                if (entry_tag(e))
                        tags[n++] = xstrdup(entry_tag(e));
        json_decref(index);
        strv_sort(tags, n);
        *ret_tags = tags;
        *ret_n = n;
        return 0;
}

/* Marks the blobs a manifest (or index) names, recursively. */
static void mark(Layout *l, const char *digest, json_t *live, unsigned depth) {
        if (json_object_get(live, digest) || depth > 8)
                return;
        json_object_set_new(live, digest, json_true());
        _cleanup_free_ char *p = NULL, *data = NULL;
        size_t size;
        if (blob_path(l, digest, &p) < 0 || read_full_file(p, &data, &size) < 0)
                return;
        json_t *m = json_loadb(data, size, 0, NULL), *e;
        size_t i;
        registry_manifest_mark_blobs(m, live);
        json_array_foreach(json_object_get(m, "manifests"), i, e)
                if (json_string_value(json_object_get(e, "digest")))
                        mark(l, json_string_value(json_object_get(e, "digest")), live, depth + 1);
        json_decref(m);
}

static int layout_sweep(void *userdata, unsigned min_age_s, uint64_t *ret_blobs, uint64_t *ret_bytes) {
        Layout *l = userdata;
        _cleanup_close_ int lock = layout_lock(l);
        if (lock < 0)
                return lock;
        json_t *index, *e, *live = json_object();
        size_t i;
        int k = index_load(l, &index);
        if (k < 0) {
                json_decref(live);
                return k;
        }
        json_array_foreach(json_object_get(index, "manifests"), i, e)
                if (entry_digest(e))
                        mark(l, entry_digest(e), live, 0);
        json_decref(index);

        _cleanup_free_ char *dir = path_join(l->dir, "blobs/sha256");
        DIR *d = opendir(dir);
        if (!d) {
                json_decref(live);
                return log_error_errno(-errno, "failed to open '%s': %m", dir);
        }
        uint64_t blobs = 0, bytes = 0;
        time_t now = time(NULL);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strlen(de->d_name) != 64)
                        continue; /* ".", "..", temporaries of a push in progress */
                _cleanup_free_ char *digest = xasprintf("sha256:%s", de->d_name);
                if (json_object_get(live, digest))
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || now - st.st_mtime < (time_t) min_age_s)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        continue;
                blobs++;
                bytes += (uint64_t) st.st_size;
        }
        closedir(d);
        json_decref(live);
        *ret_blobs = blobs;
        *ret_bytes = bytes;
        return 0;
}

static const RegistryBackend layout_backend = {
        .sweep = layout_sweep,
        .name = "oci-layout",
        .blob_exists = layout_blob_exists,
        .blob_push = layout_blob_push,
        .blob_get = layout_blob_get,
        .blob_delete = layout_blob_delete,
        .manifest_put = layout_manifest_put,
        .manifest_get = layout_manifest_get,
        .manifest_head = layout_manifest_head,
        .manifest_delete = layout_manifest_delete,
        .tags_list = layout_tags_list,
        .free = layout_free,
};

int registry_layout_open(const RegistryRef *ref, bool create, Registry **ret) {
        _cleanup_free_ char *layout_file = path_join(ref->repository, "oci-layout");
        _cleanup_free_ char *index_file = path_join(ref->repository, "index.json");
        _cleanup_free_ char *blobs = path_join(ref->repository, "blobs/sha256");
        int k;

        if (access(layout_file, F_OK) < 0) {
                if (!create)
                        return log_error_errno(-ENOENT, "'%s' is not an OCI image layout", ref->repository);
                k = mkdir_p(blobs, 0755);
                if (k < 0)
                        return log_error_errno(k, "failed to create '%s': %m", blobs);
                /* index.json before oci-layout: the marker file appears only on a complete layout. */
                if (access(index_file, F_OK) < 0) {
                        const char *empty = "{\n  \"manifests\": [],\n  \"schemaVersion\": 2\n}";
                        k = write_file_atomic(index_file, empty, strlen(empty), 0644);
                        if (k < 0)
                                return log_error_errno(k, "failed to write '%s': %m", index_file);
                }
                const char *marker = "{\"imageLayoutVersion\":\"1.0.0\"}";
                k = write_file_atomic(layout_file, marker, strlen(marker), 0644);
                if (k < 0)
                        return log_error_errno(k, "failed to write '%s': %m", layout_file);
        } else if (create) {
                k = mkdir_p(blobs, 0755);
                if (k < 0)
                        return log_error_errno(k, "failed to create '%s': %m", blobs);
        }
        Layout *l = xcalloc(1, sizeof(*l));
        l->dir = xstrdup(ref->repository);
        *ret = registry_new(&layout_backend, l, ref);
        return 0;
}
