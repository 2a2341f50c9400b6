/* The Glance v2 API as baker uses it (glance.h): references, images, tags, the upload. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "glance.h"
#include "http.h"
#include "log.h"
#include "openstack.h"
#include "time-util.h"

struct Glance {
        OpenStackSession *session;
};

GlanceRef *glance_ref_free(GlanceRef *r) {
        if (!r)
                return NULL;
        free(r->cloud);
        free(r->name);
        free(r->channel);
        free(r->digest);
        free(r);
        return NULL;
}

static bool digest_valid(const char *d) {
        if (!startswith(d, "sha256:") || strlen(d) != 7 + 64)
                return false;
        for (const char *p = d + 7; *p; p++)
                if (unhexchar(*p) < 0)
                        return false;
        return true;
}

int glance_ref_parse(const char *s, GlanceRef **ret) {
        if (!glance_ref_is(s))
                return log_error_errno(-EINVAL, "'%s' is not a glance: reference", s);
        _cleanup_(glance_ref_freep) GlanceRef *r = xcalloc(1, sizeof *r);
        _cleanup_free_ char *rest = xstrdup(s + strlen(GLANCE_REF_PREFIX));
        char *at = strchr(rest, '@');
        if (at) {
                *at = 0;
                if (!digest_valid(at + 1))
                        return log_error_errno(-EINVAL, "'%s': '%s' is not a sha256:<64 hex digits> image digest", s, at + 1);
                r->digest = xstrdup(at + 1);
        }
        char *slash = strchr(rest, '/');
        char *name = rest;
        if (slash) {
                *slash = 0;
                if (*rest)
                        r->cloud = xstrdup(rest);
                name = slash + 1;
        }
        char *colon = strrchr(name, ':');
        if (colon) {
                *colon = 0;
                r->channel = xstrdup(colon + 1);
                if (!*r->channel)
                        return log_error_errno(-EINVAL, "'%s': empty channel after ':'", s);
        }
        if (!*name)
                return log_error_errno(-EINVAL, "'%s': no image name (glance:[CLOUD/]NAME[:CHANNEL][@sha256:HEX])", s);
        r->name = xstrdup(name);
        *ret = TAKE_PTR(r);
        return 0;
}

int glance_open(const char *cloud, Glance **ret) {
        _cleanup_(openstack_cloud_freep) OpenStackCloud *c = NULL;
        int k = openstack_cloud_load(cloud, &c);
        if (k < 0)
                return k;
        _cleanup_free_ Glance *g = xcalloc(1, sizeof *g);
        k = openstack_session_open(c, "image", &g->session);
        if (k < 0)
                return k;
        TAKE_PTR(c); /* the session owns it now */
        *ret = TAKE_PTR(g);
        return 0;
}

Glance *glance_free(Glance *g) {
        if (!g)
                return NULL;
        openstack_session_free(g->session);
        free(g);
        return NULL;
}

/* A query value, percent-encoded (names may hold spaces). */
static char *query_escape(const char *s) {
        size_t n = strlen(s);
        char *r = xmalloc(3 * n + 1), *p = r;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                    strchr("-._~", *c))
                        *p++ = (char) *c;
                else
                        p += sprintf(p, "%%%02X", *c);
        }
        *p = 0;
        return r;
}

int glance_list_images(Glance *g, const char *name, json_t **ret) {
        _cleanup_free_ char *q = query_escape(name);
        _cleanup_free_ char *path = xasprintf("/v2/images?name=%s&limit=100&sort=created_at:desc", q);
        json_t *all = json_array();
        for (unsigned page = 0; page < 1000; page++) {
                _cleanup_(json_decrefp) json_t *reply = NULL;
                int k = openstack_json(g->session, "GET", path, NULL, NULL, &reply);
                if (k < 0) {
                        json_decref(all);
                        return k == -ENOENT ? log_error_errno(k, "GET %s%s: status 404", openstack_session_endpoint(g->session), path) : k;
                }
                json_array_extend(all, json_object_get(reply, "images"));
                const char *next = json_string_value(json_object_get(reply, "next"));
                if (!next)
                        break;
                free(path);
                path = xstrdup(next);
        }
        *ret = all;
        return 0;
}

int glance_image_get(Glance *g, const char *id, json_t **ret) {
        _cleanup_free_ char *path = xasprintf("/v2/images/%s", id);
        return openstack_json(g->session, "GET", path, NULL, NULL, ret);
}

int glance_image_create(Glance *g, json_t *body, json_t **ret) {
        return openstack_json(g->session, "POST", "/v2/images", NULL, body, ret);
}

int glance_image_delete(Glance *g, const char *id) {
        _cleanup_free_ char *path = xasprintf("/v2/images/%s", id);
        return openstack_json(g->session, "DELETE", path, NULL, NULL, NULL);
}

int glance_image_tag(Glance *g, const char *id, const char *tag, bool add) {
        _cleanup_free_ char *t = query_escape(tag);
        _cleanup_free_ char *path = xasprintf("/v2/images/%s/tags/%s", id, t);
        return openstack_json(g->session, add ? "PUT" : "DELETE", path, NULL, NULL, NULL);
}

int glance_image_deactivate(Glance *g, const char *id, bool deactivate) {
        _cleanup_free_ char *path = xasprintf("/v2/images/%s/actions/%s", id, deactivate ? "deactivate" : "reactivate");
        return openstack_json(g->session, "POST", path, NULL, NULL, NULL);
}

int glance_members_list(Glance *g, const char *id, char ***ret) {
        _cleanup_free_ char *path = xasprintf("/v2/images/%s/members", id);
        _cleanup_(json_decrefp) json_t *reply = NULL;
        int k = openstack_json(g->session, "GET", path, NULL, NULL, &reply);
        if (k < 0)
                return k == -ENOENT ? log_error_errno(k, "glance image %s has gone", id) : k;
        char **l = xcalloc(1, sizeof(char *));
        json_t *m;
        size_t i;
        json_array_foreach(json_object_get(reply, "members"), i, m)
                if (json_is_string(json_object_get(m, "member_id")))
                        strv_push(&l, NULL, xstrdup(json_string_value(json_object_get(m, "member_id"))));
        *ret = l;
        return 0;
}

int glance_member_set(Glance *g, const char *id, const char *member, bool add) {
        if (!add) {
                _cleanup_free_ char *m = query_escape(member);
                _cleanup_free_ char *path = xasprintf("/v2/images/%s/members/%s", id, m);
                return openstack_json(g->session, "DELETE", path, NULL, NULL, NULL);
        }
        _cleanup_free_ char *path = xasprintf("/v2/images/%s/members", id);
        _cleanup_(json_decrefp) json_t *body = json_pack("{s:s}", "member", member);
        int k = openstack_json(g->session, "POST", path, NULL, body, NULL);
        return k == -EEXIST ? 0 : k;
}

int glance_image_patch(Glance *g, const char *id, json_t *patch) {
        _cleanup_free_ char *path = xasprintf("/v2/images/%s", id);
        return openstack_json(g->session, "PATCH", path, "application/openstack-images-v2.1-json-patch", patch, NULL);
}

typedef struct DownloadSink {
        EVP_MD_CTX *ctx;
        int fd;
        uint64_t size;
} DownloadSink;

static int download_write(const void *data, size_t size, void *userdata) {
        DownloadSink *d = userdata;
        EVP_DigestUpdate(d->ctx, data, size);
        for (const uint8_t *p = data; size > 0;) {
                ssize_t w = write(d->fd, p, size);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return log_error_errno(-errno, "failed to write the image: %m");
                p += w;
                size -= (size_t) w;
                d->size += (uint64_t) w;
        }
        return 0;
}

static char *hex_final(EVP_MD_CTX *ctx) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        EVP_DigestFinal_ex(ctx, md, &n);
        char *hex = xmalloc(2 * n + 1);
        for (unsigned i = 0; i < n; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
        return hex;
}

int glance_image_download(Glance *g, const char *id, int fd, char **ret_sha512, uint64_t *ret_size) {
        DownloadSink d = { .ctx = EVP_MD_CTX_new(), .fd = fd };
        if (!d.ctx)
                return log_error_errno(-ENOMEM, "out of memory");
        EVP_DigestInit_ex(d.ctx, EVP_sha512(), NULL);
        _cleanup_free_ char *path = xasprintf("/v2/images/%s/file", id), *label = xasprintf("glance %s", id);
        HttpRequest req = { .sink = download_write, .userdata = &d, .flags = HTTP_PROGRESS | HTTP_FOLLOW_REDIRECTS,
                            .progress_label = label, .max_attempts = 1 };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = openstack_request(g->session, path, &req, NULL, &resp);
        if (k >= 0)
                k = openstack_response_check(g->session, "GET", path, resp, false);
        _cleanup_free_ char *hex = hex_final(d.ctx);
        EVP_MD_CTX_free(d.ctx);
        if (k < 0)
                return k;
        *ret_sha512 = TAKE_PTR(hex);
        *ret_size = d.size;
        return 0;
}

typedef struct UploadHash {
        EVP_MD_CTX *ctx;
        uint64_t next; /* the offset the next chunk must start at */
        bool broken;
} UploadHash;

/* Sees every chunk as it goes out; a rewind (a retry) starts the hash again. */
static void upload_observe(const void *data, size_t size, uint64_t offset, void *userdata) {
        UploadHash *h = userdata;
        if (offset == 0) {
                EVP_DigestInit_ex(h->ctx, EVP_sha512(), NULL);
                h->next = 0;
                h->broken = false;
        }
        if (offset != h->next)
                h->broken = true;
        EVP_DigestUpdate(h->ctx, data, size);
        h->next = offset + size;
}

int glance_image_upload(Glance *g, const char *id, const char *path, uint64_t size, char **ret_sha512) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "failed to open '%s': %m", path);
        UploadHash h = { .ctx = EVP_MD_CTX_new() };
        if (!h.ctx)
                return log_error_errno(-ENOMEM, "out of memory");
        EVP_DigestInit_ex(h.ctx, EVP_sha512(), NULL);
        _cleanup_free_ char *upath = xasprintf("/v2/images/%s/file", id);
        _cleanup_free_ char *label = xasprintf("glance %s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
        const char *headers[] = { "Content-Type: application/octet-stream", NULL };
        HttpRequest req = { .method = "PUT", .body_kind = HTTP_BODY_FD, .body_fd = fd, .body_length = size,
                            .body_observer = upload_observe, .userdata = &h,
                            /* retried by the publish, once Glance has put the image back to queued */
                            .flags = HTTP_PROGRESS | HTTP_NO_RETRY,
                            .progress_label = label };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = openstack_request(g->session, upath, &req, headers, &resp);
        if (k >= 0)
                k = openstack_response_check(g->session, "PUT", upath, resp, false);
        _cleanup_free_ char *hex = hex_final(h.ctx);
        EVP_MD_CTX_free(h.ctx);
        if (k < 0)
                return k;
        if (h.broken || h.next != size)
                return log_error_errno(-EIO, "PUT %s%s: %" PRIu64 " of %" PRIu64 " bytes went out in order",
                                       openstack_session_endpoint(g->session), upath, h.next, size);
        *ret_sha512 = TAKE_PTR(hex);
        return 0;
}

int glance_image_wait_active(Glance *g, const char *id, unsigned timeout_s, json_t **ret) {
        uint64_t deadline = now_usec() + (uint64_t) (timeout_s ?: 600) * 1000000;
        unsigned delay_ms = 100;
        for (;;) {
                _cleanup_(json_decrefp) json_t *img = NULL;
                int k = glance_image_get(g, id, &img);
                if (k == -ENOENT)
                        return log_error_errno(k, "image %s disappeared from glance while waiting for it", id);
                if (k < 0)
                        return k;
                const char *status = json_string_value(json_object_get(img, "status")) ?: "";
                if (streq(status, "active")) {
                        *ret = TAKE_PTR(img);
                        return 0;
                }
                if (streq(status, "killed"))
                        return log_error_errno(-EIO, "glance marked image %s 'killed': the server failed to store its "
                                               "data (see glance-api's log); it holds no bytes", id);
                if (!streq(status, "saving") && !streq(status, "importing") && !streq(status, "queued") &&
                    !streq(status, "uploading"))
                        return log_error_errno(-EIO, "image %s is '%s', not active", id, status);
                if (now_usec() > deadline)
                        return log_error_errno(-ETIMEDOUT, "image %s still '%s' after %u s", id, status, timeout_s ?: 600);
                struct timespec ts = { .tv_sec = delay_ms / 1000, .tv_nsec = (long) (delay_ms % 1000) * 1000000 };
                nanosleep(&ts, NULL);
                delay_ms = MIN(delay_ms * 2, 2000u);
        }
}
