/* The registry interface: reference parsing, the operations every backend shares (skip what is
 * there, verify what is read, the referrers fallback index) and credentials lookup. */
#include "registry.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "base64.h"
#include "digest.h"
#include "http.h"
#include "log.h"
#include "sparse.h"
#include "registry-layout.h"
#include "registry-oci.h"
#include "registry-azure.h"
#include "registry-s3.h"

struct Registry {
        const RegistryBackend *backend;
        void *userdata;
        RegistryRef *ref;
        RegistryStats stats;
};

RegistryRef *registry_ref_free(RegistryRef *ref) {
        if (!ref)
                return NULL;
        free(ref->host);
        free(ref->repository);
        free(ref->tag);
        free(ref->digest);
        free(ref->region);
        free(ref);
        return NULL;
}

static RegistryRef *registry_ref_copy(const RegistryRef *ref) {
        RegistryRef *c = xcalloc(1, sizeof(*c));
        c->kind = ref->kind;
        c->plain_http = ref->plain_http;
        c->host = ref->host ? xstrdup(ref->host) : NULL;
        c->repository = xstrdup(ref->repository);
        c->tag = ref->tag ? xstrdup(ref->tag) : NULL;
        c->digest = ref->digest ? xstrdup(ref->digest) : NULL;
        c->region = ref->region ? xstrdup(ref->region) : NULL;
        return c;
}

bool registry_tag_valid(const char *tag) {
        /* OCI distribution: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} */
        size_t n = strlen(tag);
        if (n == 0 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = tag[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                          (i > 0 && (c == '.' || c == '-'));
                if (!ok)
                        return false;
        }
        return true;
}

static bool repository_valid(const char *repo) {
        /* Lower-case path components of [a-z0-9] separated by . _ __ - or /. Kept simple. */
        if (!*repo || repo[0] == '/' || endswith(repo, "/") || strstr(repo, "//"))
                return false;
        for (const char *p = repo; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-/", *p)))
                        return false;
        return true;
}

/* Splits "NAME[:TAG][@DIGEST]" where NAME may contain ':' only before its last '/'. */
static int split_tag_digest(char *s, char **ret_tag, char **ret_digest) {
        char *at = strchr(s, '@');
        if (at) {
                uint8_t d[DIGEST_SIZE];
                if (digest_from_string(at + 1, d) < 0 || !startswith(at + 1, "sha256:"))
                        return -EINVAL;
                char buf[DIGEST_STRING_MAX];
                digest_to_string(d, buf);
                *ret_digest = xstrdup(buf);
                *at = 0;
        }
        char *slash = strrchr(s, '/');
        char *colon = strrchr(slash ? slash : s, ':');
        if (colon) {
                if (!registry_tag_valid(colon + 1))
                        return -EINVAL;
                *ret_tag = xstrdup(colon + 1);
                *colon = 0;
        }
        return 0;
}

/* s3://[REGION@]HOST[:PORT]/BUCKET[/PREFIX][:TAG][@DIGEST], s3+http://, s3+https:// */
static int s3_ref_parse(const char *s, RegistryRef **ret) {
        _cleanup_(registry_ref_freep) RegistryRef *ref = xcalloc(1, sizeof(*ref));
        bool explicit_scheme = !startswith(s, "s3://");
        ref->kind = REGISTRY_S3;
        ref->plain_http = startswith(s, "s3+http://");
        const char *p = strstr(s, "://") + 3, *slash = strchr(p, '/');
        if (!slash || slash == p)
                return -EINVAL;
        _cleanup_free_ char *authority = xstrndup(p, slash - p);
        char *at = strchr(authority, '@');
        if (at) {
                *at = 0;
                if (!*authority || authority[strspn(authority, "abcdefghijklmnopqrstuvwxyz0123456789-")])
                        return -EINVAL;
                ref->region = xstrdup(authority);
        }
        ref->host = xstrdup(at ? at + 1 : authority);
        if (!*ref->host)
                return -EINVAL;
        _cleanup_free_ char *copy = xstrdup(slash + 1);
        int r = split_tag_digest(copy, &ref->tag, &ref->digest);
        /* Bucket names are lower-case letters, digits, '.' and '-' (3-63); the prefix follows the
         * repository rules, so that it reads like one. */
        size_t blen = strcspn(copy, "/");
        if (r < 0 || !repository_valid(copy) || blen < 3 || blen > 63 || strcspn(copy, "_") < blen)
                return -EINVAL;
        ref->repository = xstrdup(copy);
        if (!explicit_scheme && http_host_is_loopback(ref->host))
                ref->plain_http = true;
        *ret = TAKE_PTR(ref);
        return 0;
}

static char *s3_ref_repository_string(const RegistryRef *ref) {
        bool loopback = http_host_is_loopback(ref->host);
        const char *scheme = ref->plain_http == loopback ? "s3" : ref->plain_http ? "s3+http" : "s3+https";
        return xasprintf("%s://%s%s%s/%s", scheme, ref->region ?: "", ref->region ? "@" : "", ref->host,
                         ref->repository);
}

/* azure://ACCOUNT/CONTAINER[/PREFIX][:TAG][@DIGEST]; azure+http(s)://HOST:PORT/ACCOUNT/CONTAINER/…
 * (host set: the account in the path). */
static int azure_ref_parse(const char *s, RegistryRef **ret) {
        _cleanup_(registry_ref_freep) RegistryRef *ref = xcalloc(1, sizeof(*ref));
        ref->kind = REGISTRY_AZURE;
        const char *p = strstr(s, "://") + 3;
        if (!startswith(s, "azure://")) {
                ref->plain_http = startswith(s, "azure+http://");
                const char *slash = strchr(p, '/');
                if (!slash || slash == p)
                        return -EINVAL;
                ref->host = xstrndup(p, slash - p);
                p = slash + 1;
        }
        _cleanup_free_ char *copy = xstrdup(p);
        int r = split_tag_digest(copy, &ref->tag, &ref->digest);
        size_t alen = strcspn(copy, "/");
        if (r < 0 || !repository_valid(copy) || alen == 0 || !copy[alen] || !copy[alen + 1])
                return -EINVAL;
        ref->repository = xstrdup(copy);
        *ret = TAKE_PTR(ref);
        return 0;
}

int registry_ref_parse(const char *s, RegistryRef **ret) {
        _cleanup_(registry_ref_freep) RegistryRef *ref = xcalloc(1, sizeof(*ref));
        _cleanup_free_ char *copy = NULL;
        int r;

        if (startswith(s, "oci-layout:")) {
                ref->kind = REGISTRY_LAYOUT;
                copy = xstrdup(s + strlen("oci-layout:"));
                r = split_tag_digest(copy, &ref->tag, &ref->digest);
                if (r < 0 || !*copy)
                        return -EINVAL;
                ref->repository = xstrdup(copy);
                *ret = TAKE_PTR(ref);
                return 0;
        }

        if (startswith(s, "s3://") || startswith(s, "s3+http://") || startswith(s, "s3+https://"))
                return s3_ref_parse(s, ret);
        if (startswith(s, "azure://") || startswith(s, "azure+http://") || startswith(s, "azure+https://"))
                return azure_ref_parse(s, ret);

        ref->kind = REGISTRY_OCI;
        const char *p = s;
        bool explicit_scheme = false;
        if (startswith(p, "http://")) {
                ref->plain_http = true;
                explicit_scheme = true;
                p += strlen("http://");
        } else if (startswith(p, "https://")) {
                explicit_scheme = true;
                p += strlen("https://");
        } else if (startswith(p, "oci://"))
                p += strlen("oci://");
        const char *slash = strchr(p, '/');
        if (!slash || slash == p)
                return -EINVAL;
        ref->host = xstrndup(p, slash - p);
        /* Like docker: the first component is a host only if it looks like one. No implicit
         * docker.io: baker names where it publishes. */
        if (!strchr(ref->host, '.') && !strchr(ref->host, ':') && !streq(ref->host, "localhost") &&
            !startswith(ref->host, "["))
                return -EINVAL;
        copy = xstrdup(slash + 1);
        r = split_tag_digest(copy, &ref->tag, &ref->digest);
        if (r < 0 || !repository_valid(copy))
                return -EINVAL;
        ref->repository = xstrdup(copy);
        /* Exact loopback names and addresses only: "localhost.attacker.example" is not local. */
        if (!explicit_scheme && http_host_is_loopback(ref->host))
                ref->plain_http = true;
        *ret = TAKE_PTR(ref);
        return 0;
}

char *registry_ref_repository_string(const RegistryRef *ref) {
        if (ref->kind == REGISTRY_LAYOUT)
                return xasprintf("oci-layout:%s", ref->repository);
        if (ref->kind == REGISTRY_S3)
                return s3_ref_repository_string(ref);
        if (ref->kind == REGISTRY_AZURE)
                return ref->host ? xasprintf("azure+%s://%s/%s", ref->plain_http ? "http" : "https", ref->host, ref->repository)
                                 : xasprintf("azure://%s", ref->repository);
        return xasprintf("%s/%s", ref->host, ref->repository);
}

char *registry_ref_pinned_string(const RegistryRef *ref, const char *digest) {
        _cleanup_free_ char *repo = registry_ref_repository_string(ref);
        return xasprintf("%s@%s", repo, digest);
}

RegistryManifest *registry_manifest_free(RegistryManifest *m) {
        if (!m)
                return NULL;
        free(m->data);
        free(m->media_type);
        free(m->digest);
        free(m);
        return NULL;
}

Registry *registry_new(const RegistryBackend *backend, void *userdata, const RegistryRef *ref) {
        Registry *r = xcalloc(1, sizeof(*r));
        r->backend = backend;
        r->userdata = userdata;
        r->ref = registry_ref_copy(ref);
        return r;
}

Registry *registry_free(Registry *r) {
        if (!r)
                return NULL;
        if (r->backend->free)
                r->backend->free(r->userdata);
        registry_ref_free(r->ref);
        free(r);
        return NULL;
}

int registry_open(const RegistryRef *ref, const RegistryOptions *opts, Registry **ret) {
        static const RegistryOptions defaults = {};
        if (!opts)
                opts = &defaults;
        switch (ref->kind) {
        case REGISTRY_LAYOUT:
                return registry_layout_open(ref, opts->create, ret);
        case REGISTRY_OCI:
                return registry_oci_open(ref, ret);
        case REGISTRY_S3:
                return registry_s3_open(ref, ret);
        case REGISTRY_AZURE:
                return registry_azure_open(ref, ret);
        }
        return -EINVAL;
}

const RegistryRef *registry_get_ref(const Registry *r) {
        return r->ref;
}

const RegistryStats *registry_stats(const Registry *r) {
        return &r->stats;
}

static bool digest_valid(const char *digest) {
        uint8_t d[DIGEST_SIZE];
        return startswith(digest, "sha256:") && strlen(digest) == 7 + DIGEST_HEX_SIZE &&
               digest_from_string(digest, d) >= 0;
}

int registry_blob_exists(Registry *r, const char *digest, uint64_t *ret_size) {
        if (!digest_valid(digest))
                return -EINVAL;
        return r->backend->blob_exists(r->userdata, digest, ret_size);
}

int registry_blob_push(Registry *r, const RegistryBlob *blob, const char *from_repository) {
        uint64_t size = 0;
        int k;

        if (!digest_valid(blob->digest))
                return log_error_errno(-EINVAL, "invalid digest '%s'", blob->digest);
        k = r->backend->blob_exists(r->userdata, blob->digest, &size);
        if (k < 0)
                return k;
        if (k > 0 && size == blob->size) {
                log_info("blob '%s' (%s) already present, not sent", blob->label ?: blob->digest, blob->digest);
                r->stats.blobs_skipped++;
                r->stats.bytes_skipped += blob->size;
                return 0;
        }
        if (from_repository && r->backend->blob_mount) {
                k = r->backend->blob_mount(r->userdata, blob->digest, from_repository);
                if (k < 0)
                        return k;
                if (k > 0) {
                        log_info("blob '%s' mounted from '%s'", blob->label ?: blob->digest, from_repository);
                        r->stats.blobs_mounted++;
                        return 0;
                }
        }
        uint64_t sent = 0;
        k = r->backend->blob_push(r->userdata, blob, &sent);
        if (k < 0)
                return k;
        r->stats.blobs_sent++;
        r->stats.bytes_sent += sent;
        return 0;
}

#define BLOB_DATA_MAX (16ULL << 20)

/* Fetches a blob into fd and checks what arrived against digest (and size unless 0). */
static int blob_get_fd(Registry *r, const char *digest, uint64_t expected_size, bool fd_is_memory, int fd) {
        if (!digest_valid(digest))
                return log_error_errno(-EINVAL, "invalid digest '%s'", digest);
        /* Never more than declared: a registry that keeps sending must not fill the disk or memory.
         * Blobs read into memory without a declared size are JSON documents. */
        uint64_t max_size = expected_size > 0 ? expected_size : fd_is_memory ? BLOB_DATA_MAX : UINT64_MAX;
        int k = r->backend->blob_get(r->userdata, digest, max_size, fd);
        if (k < 0)
                return k;
        /* The backend hashed the bytes as they arrived and returned -EBADMSG on a mismatch (one
         * pass over the data, not a second read of it); what is left is the length: zero blocks
         * at the end were seeked over (sparse_write()), and a short blob fails here. */
        struct stat st;
        k = sparse_write_end(fd);
        if (k < 0 || fstat(fd, &st) < 0)
                return log_error_errno(k < 0 ? k : -errno, "failed to write blob '%s': %m", digest);
        if (expected_size > 0 && (uint64_t) st.st_size != expected_size)
                return log_error_errno(-EBADMSG, "blob '%s' failed verification: %" PRIu64 " bytes, not %" PRIu64, digest,
                                       (uint64_t) st.st_size, expected_size);
        return 0;
}

int registry_blob_get(Registry *r, const char *digest, uint64_t expected_size, const char *path) {
        _cleanup_unlink_ char *tmp = tmp_sibling(path);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                int k = -errno;
                free(TAKE_PTR(tmp));
                return log_error_errno(k, "failed to create '%s': %m", path);
        }
        int k = blob_get_fd(r, digest, expected_size, false, fd);
        if (k < 0)
                return k;
        if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0)
                return log_error_errno(-errno, "failed to write '%s': %m", path);
        free(TAKE_PTR(tmp));
        return 0;
}

int registry_blob_get_data(Registry *r, const char *digest, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = memfd_create("blob", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        int k = blob_get_fd(r, digest, 0, true, fd);
        if (k < 0)
                return k;
        _cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", fd);
        return read_full_file(path, ret_data, ret_size);
}

int registry_blob_delete(Registry *r, const char *digest) {
        if (!digest_valid(digest))
                return -EINVAL;
        if (!r->backend->blob_delete)
                return -EOPNOTSUPP;
        return r->backend->blob_delete(r->userdata, digest);
}

static void digest_of(const char *data, size_t size, char ret[DIGEST_STRING_MAX]) {
        uint8_t d[DIGEST_SIZE];
        digest_buffer(data, size, d);
        digest_to_string(d, ret);
}

char *registry_referrers_tag(const char *digest) {
        return xasprintf("sha256-%s", digest + strlen("sha256:"));
}

static json_t *descriptor_for_referrer(json_t *manifest, const char *media_type, const char *digest, size_t size) {
        json_t *desc = json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size", (json_int_t) size);
        const char *at = json_string_value(json_object_get(manifest, "artifactType"));
        if (!at)
                at = json_string_value(json_object_get(json_object_get(manifest, "config"), "mediaType"));
        if (at)
                json_object_set_new(desc, "artifactType", json_string(at));
        json_t *ann = json_object_get(manifest, "annotations");
        if (json_is_object(ann))
                json_object_set(desc, "annotations", ann);
        return desc;
}

/* Adds the descriptor to the "sha256-<subject>" index, the referrers tag-schema fallback. */
static int referrers_fallback_add(Registry *r, const char *subject, json_t *desc) {
        _cleanup_free_ char *tag = registry_referrers_tag(subject);
        _cleanup_(registry_manifest_freep) RegistryManifest *old = NULL;
        json_t *index = NULL;
        int k;

        k = registry_manifest_get(r, tag, &old);
        if (k >= 0)
                index = json_loadb(old->data, old->size, 0, NULL);
        else if (k != -ENOENT)
                return k;
        if (!json_is_object(index) || !json_is_array(json_object_get(index, "manifests"))) {
                json_decref(index);
                index = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", OCI_INDEX_MEDIA_TYPE,
                                  "manifests");
        }
        json_t *manifests = json_object_get(index, "manifests"), *e;
        size_t i;
        const char *digest = json_string_value(json_object_get(desc, "digest"));
        json_array_foreach(manifests, i, e)
                if (streq_ptr(json_string_value(json_object_get(e, "digest")), digest)) {
                        json_decref(index);
                        return 0;
                }
        json_array_append(manifests, desc);
        _cleanup_free_ char *data = json_dumps(index, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(index);
        return registry_manifest_put(r, tag, OCI_INDEX_MEDIA_TYPE, data, strlen(data), NULL);
}

void registry_manifest_mark_blobs(const json_t *m, json_t *live) {
        const char *c = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        if (c)
                json_object_set_new(live, c, json_true());
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(m, "layers"), i, e)
                if (json_string_value(json_object_get(e, "digest")))
                        json_object_set_new(live, json_string_value(json_object_get(e, "digest")), json_true());
}

int registry_manifest_put(Registry *r, const char *reference, const char *media_type, const char *data,
                          size_t size, char **ret_digest) {
        char digest[DIGEST_STRING_MAX];
        bool subject_ok = false;
        int k;

        digest_of(data, size, digest);
        if (startswith(reference, "sha256:") ? !streq(reference, digest) : !registry_tag_valid(reference))
                return log_error_errno(-EINVAL, "invalid manifest reference '%s'", reference);
        k = r->backend->manifest_put(r->userdata, reference, media_type, data, size, &subject_ok);
        if (k < 0)
                return k;

        json_t *m = json_loadb(data, size, 0, NULL);
        const char *subject = json_string_value(json_object_get(json_object_get(m, "subject"), "digest"));
        if (subject && !subject_ok) {
                json_t *desc = descriptor_for_referrer(m, media_type, digest, size);
                k = referrers_fallback_add(r, subject, desc);
                json_decref(desc);
        }
        json_decref(m);
        if (k < 0)
                return k;
        if (ret_digest)
                *ret_digest = xstrdup(digest);
        return 0;
}

int registry_manifest_get(Registry *r, const char *reference, RegistryManifest **ret) {
        _cleanup_(registry_manifest_freep) RegistryManifest *m = xcalloc(1, sizeof(*m));
        char digest[DIGEST_STRING_MAX];
        int k;

        k = r->backend->manifest_get(r->userdata, reference, &m->data, &m->size, &m->media_type);
        if (k < 0)
                return k;
        digest_of(m->data, m->size, digest);
        if (startswith(reference, "sha256:") && !streq(reference, digest))
                return log_error_errno(-EBADMSG, "manifest '%s' failed verification: content has digest %s",
                                       reference, digest);
        if (!m->media_type) {
                json_t *j = json_loadb(m->data, m->size, 0, NULL);
                const char *mt = json_string_value(json_object_get(j, "mediaType"));
                m->media_type = xstrdup(mt ?: OCI_MANIFEST_MEDIA_TYPE);
                json_decref(j);
        }
        m->digest = xstrdup(digest);
        *ret = TAKE_PTR(m);
        return 0;
}

int registry_manifest_head(Registry *r, const char *reference, char **ret_digest) {
        char *digest = NULL;
        int k = r->backend->manifest_head(r->userdata, reference, &digest);
        if (k == -EOPNOTSUPP) {
                /* The registry gave no digest header: fetch and hash. */
                _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
                k = registry_manifest_get(r, reference, &m);
                if (k >= 0)
                        digest = xstrdup(m->digest);
        }
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        if (ret_digest)
                *ret_digest = digest;
        else
                free(digest);
        return 1;
}

int registry_manifest_delete(Registry *r, const char *digest) {
        if (!digest_valid(digest))
                return -EINVAL;
        return r->backend->manifest_delete(r->userdata, digest);
}

int registry_sweep(Registry *r, unsigned min_age_s, uint64_t *ret_blobs, uint64_t *ret_bytes) {
        if (!r->backend->sweep)
                return -EOPNOTSUPP;
        return r->backend->sweep(r->userdata, min_age_s, ret_blobs, ret_bytes);
}

int registry_tags_list(Registry *r, char ***ret_tags, size_t *ret_n) {
        return r->backend->tags_list(r->userdata, ret_tags, ret_n);
}

int registry_referrers(Registry *r, const char *digest, const char *artifact_type, json_t **ret_descriptors) {
        json_t *index = NULL;
        int k = -EOPNOTSUPP;

        if (!digest_valid(digest))
                return -EINVAL;
        if (r->backend->referrers)
                k = r->backend->referrers(r->userdata, digest, &index);
        if (k == -EOPNOTSUPP) {
                _cleanup_free_ char *tag = registry_referrers_tag(digest);
                _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
                k = registry_manifest_get(r, tag, &m);
                if (k == -ENOENT) {
                        *ret_descriptors = json_array();
                        return 0;
                }
                if (k >= 0) {
                        index = json_loadb(m->data, m->size, 0, NULL);
                        if (!index)
                                return log_error_errno(-EBADMSG, "referrers index '%s' is not JSON", tag);
                }
        }
        if (k < 0)
                return k;

        json_t *out = json_array(), *e;
        size_t i;
        json_array_foreach(json_object_get(index, "manifests"), i, e)
                if (!artifact_type || streq_ptr(json_string_value(json_object_get(e, "artifactType")), artifact_type))
                        json_array_append(out, e);
        json_decref(index);
        *ret_descriptors = out;
        return 0;
}

/* Credentials. */

char *registry_auth_file_path(void) {
        return xdg_config_path("baker/auth.json");
}

static int decode_auth(const char *b64, char **ret_user, char **ret_password) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t len;
        if (base64_decode(b64, strlen(b64), &out, &len) < 0 || memchr(out, 0, len))
                return -EINVAL;
        char *colon = strchr((char *) out, ':');
        if (!colon)
                return -EINVAL;
        *ret_user = xstrndup((char *) out, colon - (char *) out);
        *ret_password = xstrdup(colon + 1);
        return 0;
}

static int credentials_from_file(const char *path, const char *host, char **ret_user, char **ret_password) {
        json_t *j = json_load_file(path, 0, NULL);
        if (!j)
                return 0;
        json_t *auths = json_object_get(j, "auths");
        json_t *e = json_object_get(auths, host);
        if (!e) {
                /* docker writes "https://host" keys sometimes. */
                _cleanup_free_ char *k1 = xasprintf("https://%s", host), *k2 = xasprintf("http://%s", host);
                e = json_object_get(auths, k1) ?: json_object_get(auths, k2);
        }
        const char *auth = json_string_value(json_object_get(e, "auth"));
        int k = 0;
        if (auth && decode_auth(auth, ret_user, ret_password) >= 0)
                k = 1;
        json_decref(j);
        return k;
}

int registry_credentials_get(const char *host, char **ret_user, char **ret_password) {
        char *user = NULL, *password = NULL;
        const char *eu = getenv("BAKER_REGISTRY_USER"), *ep = getenv("BAKER_REGISTRY_PASSWORD");
        if (eu && ep) {
                user = xstrdup(eu);
                password = xstrdup(ep);
        } else {
                _cleanup_free_ char *mine = registry_auth_file_path();
                int k = credentials_from_file(mine, host, &user, &password);
                if (k == 0) {
                        const char *dc = getenv("DOCKER_CONFIG");
                        _cleanup_free_ char *docker =
                                dc ? xasprintf("%s/config.json", dc) : xasprintf("%s/.docker/config.json", getenv("HOME") ?: "/root");
                        k = credentials_from_file(docker, host, &user, &password);
                }
                if (k == 0)
                        return 0;
        }
        log_add_secret(password);
        *ret_user = user;
        *ret_password = password;
        return 1;
}

int registry_credentials_store(const char *host, const char *user, const char *password) {
        _cleanup_free_ char *path = registry_auth_file_path();
        _cleanup_free_ char *dir = xstrdup(path);
        *strrchr(dir, '/') = 0;
        int k = mkdir_p(dir, 0700);
        if (k < 0)
                return log_error_errno(k, "failed to create '%s': %m", dir);
        json_t *j = json_load_file(path, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                j = json_object();
        }
        if (!json_is_object(json_object_get(j, "auths")))
                json_object_set_new(j, "auths", json_object());
        _cleanup_free_ char *plain = xasprintf("%s:%s", user, password);
        size_t n = strlen(plain);
        _cleanup_free_ char *b64 = base64_encode(plain, n);
        log_add_secret(b64);
        json_object_set_new(json_object_get(j, "auths"), host, json_pack("{s:s}", "auth", b64));
        _cleanup_free_ char *data = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(j);
        explicit_bzero(plain, n);
        k = write_file_atomic(path, data, strlen(data), 0600);
        explicit_bzero(data, strlen(data));
        if (k < 0)
                return log_error_errno(k, "failed to write '%s': %m", path);
        return 0;
}

int registry_open_string(const char *s, bool create, RegistryRef **ret_ref, Registry **ret) {
        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        int k = registry_ref_parse(s, &ref);
        if (k < 0)
                return log_error_errno(k, "invalid registry reference '%s' (expected HOST[:PORT]/REPO[:TAG][@DIGEST] "
                                          "or oci-layout:DIR[:TAG][@DIGEST])", s);
        k = registry_open(ref, &(RegistryOptions){ .create = create }, ret);
        if (k < 0)
                return k == -EINVAL ? -EIO : k;
        if (ret_ref)
                *ret_ref = TAKE_PTR(ref);
        return 0;
}

void registry_add_insecure_host(const char *host) {
        registry_oci_add_insecure_host(host);
}
