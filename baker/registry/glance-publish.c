/* A bake into a Glance image (glance.h): reuse by image digest, create, stream, wait for active,
 * check Glance's sha512 against the bytes sent, then channels. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "glance.h"
#include "log.h"
#include "manifest.h"
#include "strv.h"
#include "time-util.h"

void glance_publish_report_done(GlancePublishReport *r) {
        free(r->image_id);
        free(r->name);
        free(r->digest);
        free(r->disk_format);
        free(r->cloud);
        strv_free(r->channels_moved);
        free(r->visibility);
        strv_free(r->members_added);
        strv_free(r->members_removed);
        *r = (GlancePublishReport) {};
}

json_t *glance_publish_report_to_json(const GlancePublishReport *r) {
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s*, s:I, s:o, s:s*, s:o, s:o}", "status",
                         r->reused ? "unchanged" : "uploaded", "backend", "glance", "image_id", r->image_id, "name",
                         r->name, "digest", r->digest, "disk_format", r->disk_format, "cloud", r->cloud, "bytes_sent",
                         (json_int_t) r->bytes_sent, "channels", strv_to_json(r->channels_moved), "visibility",
                         r->visibility, "members_added", strv_to_json(r->members_added), "members_removed",
                         strv_to_json(r->members_removed));
}

static const char *prop(json_t *img, const char *key) {
        return json_string_value(json_object_get(img, key));
}

int glance_find_by_digest(Glance *g, const char *name, const char *digest, json_t **ret) {
        _cleanup_(json_decrefp) json_t *all = NULL;
        int k = glance_list_images(g, name, &all);
        if (k < 0)
                return k;
        json_t *best = NULL, *img;
        size_t i;
        json_array_foreach(all, i, img) {
                if (!streq_ptr(prop(img, GLANCE_PROP_DIGEST), digest))
                        continue;
                if (!best || (streq_ptr(prop(img, "status"), "active") && !streq_ptr(prop(best, "status"), "active")))
                        best = img;
        }
        *ret = best ? json_incref(best) : NULL;
        return 0;
}

/* The image of this digest and disk format baker made before, if any (newest first). */
static int find_existing(Glance *g, const char *name, const char *digest, const char *format, json_t **ret) {
        _cleanup_(json_decrefp) json_t *all = NULL;
        int k = glance_list_images(g, name, &all);
        if (k < 0)
                return k;
        json_t *img;
        size_t i;
        *ret = NULL;
        json_array_foreach(all, i, img)
                if (streq_ptr(prop(img, GLANCE_PROP_DIGEST), digest) && streq_ptr(prop(img, "disk_format"), format)) {
                        *ret = json_incref(img);
                        break;
                }
        return 0;
}

/* The output Glance gets: uncompressed, of the format asked for (qcow2 first when not asked). */
static int pick_output(const BakeManifest *m, const char *input, const char *format, char **ret_path,
                       const ManifestOutput **ret) {
        const ManifestOutput *found = NULL;
        for (size_t pass = 0; pass < 2 && !found; pass++) {
                const char *want = format ?: pass == 0 ? "qcow2" : "raw";
                for (size_t i = 0; i < m->n_outputs && !found; i++)
                        if ((!m->outputs[i].compress || streq(m->outputs[i].compress, "none")) &&
                            streq_ptr(m->outputs[i].format, want))
                                found = m->outputs + i;
        }
        if (!found)
                return log_error_errno(-ENOENT, "'%s' has no uncompressed %s output for glance (add '{ format: %s }' "
                                       "to outputs:)", input, format ?: "qcow2 or raw", format ?: "qcow2");
        const char *slash = strrchr(input, '/');
        _cleanup_free_ char *dir = slash ? xstrndup(input, (size_t) (slash - input)) : xstrdup(".");
        _cleanup_free_ char *path = path_join(dir, found->file);
        struct stat st;
        if (stat(path, &st) < 0)
                return log_error_errno(-errno, "'%s': %m", path);
        if ((uint64_t) st.st_size != found->size)
                return log_error_errno(-EBADMSG, "'%s' is %lld bytes, the manifest says %" PRIu64, path,
                                       (long long) st.st_size, found->size);
        *ret_path = TAKE_PTR(path);
        *ret = found;
        return 0;
}

static int properties_add(json_t *body, char **properties) {
        for (char **p = properties; p && *p; p++) {
                const char *eq = strchr(*p, '=');
                if (!eq || eq == *p)
                        return log_error_errno(-EINVAL, "glance property '%s' is not KEY=VALUE", *p);
                _cleanup_free_ char *key = xstrndup(*p, (size_t) (eq - *p));
                if (startswith(key, "baker_"))
                        return log_error_errno(-EINVAL, "glance property '%s' is baker's own", key);
                json_object_set_new(body, key, json_string(eq + 1));
        }
        return 0;
}

static json_t *create_body(const BakeManifest *m, const char *format, const GlancePublishOptions *o) {
        uint64_t gib = 1ULL << 30;
        json_t *body = json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s, s:s}", "name", m->name, "disk_format", format,
                                 "container_format", "bare", "tags", GLANCE_BAKER_TAG, GLANCE_PROP_DIGEST,
                                 m->image_digest, GLANCE_PROP_BAKE_KEY, m->bake_key, "hw_disk_bus",
                                 o->disk_bus ?: "virtio");
        if (m->version)
                json_object_set_new(body, GLANCE_PROP_VERSION, json_string(m->version));
        if (o->firmware)
                json_object_set_new(body, "hw_firmware_type", json_string(o->firmware));
        if (o->visibility)
                json_object_set_new(body, "visibility", json_string(o->visibility));
        if (m->has_image_size)
                json_object_set_new(body, "min_disk", json_integer((json_int_t) ((m->image_size + gib - 1) / gib)));
        return body;
}

/* A failure another try in the same run may get past: the connection broke (the server is
 * reachable again), or Glance failed to store the bytes (it kills the image: a new one is made). */
static bool upload_retryable(int k) {
        return k == -ECONNRESET || k == -ETIMEDOUT || k == -ECONNREFUSED || k == -EPROTO || k == -EIO;
}

/* Glance answers 409 ("transition from saving to saving") to an upload that arrives while it still
 * handles the one that broke off: it may read the image as queued before it has even begun that
 * one. Waiting for queued again and uploading once more is the way on. */
static bool still_saving(int k) {
        return k == -EEXIST;
}

/* Uploads into *image (queued), waits for active and checks Glance's hash of what it stored;
 * *image becomes the active image. A retryable failure that is not the last try is returned
 * without a word (the caller says it tries again). */
static int upload_and_verify(Glance *g, json_t **image, const char *path, uint64_t size, const GlancePublishOptions *o,
                             bool after_break, bool last_try, uint64_t *ret_sent) {
        const char *id = prop(*image, "id");
        _cleanup_free_ char *sha512 = NULL;
        int k = glance_image_upload(g, id, path, size, &sha512);
        if (k < 0 && !last_try && (upload_retryable(k) || (after_break && still_saving(k))))
                return k;
        if (k == -EDQUOT)
                return log_error_errno(k, "upload of '%s' into glance image %s refused: over Glance's image size cap or "
                                       "the project's storage quota; raise it or free space and run again (the image "
                                       "stays queued, never active, and the re-run uploads into it)", path, id);
        if (k < 0)
                return log_error_errno(k, "upload of '%s' into glance image %s failed; a re-run uploads again", path, id);
        *ret_sent = size;
        _cleanup_(json_decrefp) json_t *active = NULL;
        k = glance_image_wait_active(g, id, o->timeout_s, &active);
        if (k < 0) {
                if (k == -EIO)
                        (void) glance_image_delete(g, id);
                return k;
        }
        const char *algo = prop(active, "os_hash_algo"), *value = prop(active, "os_hash_value");
        json_int_t stored = json_integer_value(json_object_get(active, "size"));
        if (!streq_ptr(algo, "sha512") || !value || !streq(value, sha512) || (uint64_t) stored != size) {
                log_error("glance image %s holds other bytes than were sent (%s %s, %lld bytes; sent sha512 %s, "
                          "%" PRIu64 " bytes): deleting it", id, algo ?: "no hash", value ?: "", (long long) stored,
                          sha512, size);
                (void) glance_image_delete(g, id);
                return -EBADMSG;
        }
        log_info("glance image %s is active, sha512 %.16s… matches the %" PRIu64 " bytes sent", id, sha512, size);
        json_decref(*image);
        *image = TAKE_PTR(active);
        return 0;
}

static unsigned upload_tries(void) {
        const char *e = getenv("BAKER_HTTP_ATTEMPTS");
        unsigned long n = e ? strtoul(e, NULL, 10) : 3;
        return (unsigned) MAX(1ul, MIN(n, 10ul));
}

/* After an upload that broke off, Glance notices the broken body a moment later and puts the image
 * back to queued (1: upload into it again) or kills it (deleted; 0 with *image NULL: make anew). */
static int after_broken_upload(Glance *g, json_t **image, unsigned timeout_s) {
        _cleanup_free_ char *id = xstrdup(prop(*image, "id"));
        uint64_t deadline = now_usec() + (uint64_t) (timeout_s ?: 60) * 1000000;
        for (;;) {
                _cleanup_(json_decrefp) json_t *img = NULL;
                int k = glance_image_get(g, id, &img);
                if (k < 0 && k != -ENOENT)
                        return k;
                const char *status = k == -ENOENT ? "deleted" : prop(img, "status") ?: "";
                if (streq(status, "queued"))
                        return 1;
                if (streq(status, "killed") || streq(status, "deleted")) {
                        log_info("glance image %s is %s: making a new one", id, status);
                        if (k >= 0 && (k = glance_image_delete(g, id)) < 0 && k != -ENOENT)
                                return k;
                        json_decref(*image);
                        *image = NULL;
                        return 0;
                }
                if (!streq(status, "saving") && !streq(status, "uploading"))
                        return log_error_errno(-EIO, "glance image %s is '%s' after its upload broke off; a re-run "
                                               "checks it", id, status);
                if (now_usec() > deadline)
                        return log_error_errno(-ETIMEDOUT, "glance image %s still '%s' %u s after its upload broke off",
                                               id, status, timeout_s ?: 60);
                struct timespec ts = { .tv_nsec = 200 * 1000000 };
                nanosleep(&ts, NULL);
        }
}

/* Creates the image when there is none, uploads and verifies; a broken upload is tried again
 * (BAKER_HTTP_ATTEMPTS tries, default 3) once Glance has settled the image. */
static int upload_with_retries(Glance *g, json_t **image, json_t *body, const char *path, uint64_t size,
                               const GlancePublishOptions *o, uint64_t *ret_sent) {
        unsigned tries = upload_tries();
        for (unsigned i = 1;; i++) {
                int k;
                if (!*image) {
                        if ((k = glance_image_create(g, body, image)) < 0)
                                return k;
                        log_info("created glance image %s for '%s'", prop(*image, "id"), path);
                }
                k = upload_and_verify(g, image, path, size, o, i > 1, i >= tries, ret_sent);
                if (k >= 0 || i >= tries || !(upload_retryable(k) || (i > 1 && still_saving(k))))
                        return k;
                if (still_saving(k))
                        log_warning("glance image %s still handles the upload that broke off: try %u of %u",
                                    prop(*image, "id") ?: "?", i + 1, tries);
                else
                        log_warning("upload into glance image %s broke off (%s): try %u of %u", prop(*image, "id") ?: "?",
                                    strerror(-k), i + 1, tries);
                if (*image && (k = after_broken_upload(g, image, o->timeout_s)) < 0)
                        return k;
        }
}

/* An image of this digest from before: reused when active, uploaded into when an earlier run
 * stopped before its bytes, replaced when Glance killed it. Returns 1 when *image is usable as is
 * (active), 0 when it still needs bytes (or is NULL: create one). */
static int settle_existing(Glance *g, json_t **image, const GlancePublishOptions *o) {
        if (!*image)
                return 0;
        const char *id = prop(*image, "id"), *status = prop(*image, "status") ?: "";
        if (streq(status, "active"))
                return 1;
        if (streq(status, "queued"))
                return 0;
        if (streq(status, "deactivated"))
                return log_error_errno(-EKEYREVOKED, "glance image %s of this digest is deactivated (revoked); "
                                       "reactivate it or change the image", id);
        if (streq(status, "saving") || streq(status, "importing") || streq(status, "uploading")) {
                log_info("glance image %s of this digest is '%s' (another upload): waiting for it", id, status);
                json_t *active = NULL;
                int k = glance_image_wait_active(g, id, o->timeout_s, &active);
                if (k < 0)
                        return k;
                json_decref(*image);
                *image = active;
                return 1;
        }
        log_info("glance image %s of this digest is '%s': deleting it and uploading anew", id, status);
        int k = glance_image_delete(g, id);
        if (k < 0)
                return k;
        json_decref(*image);
        *image = NULL;
        return 0;
}

/* The template's visibility on the image (a reused one too), then exactly its members. */
static int settle_sharing(Glance *g, json_t *image, const GlancePublishOptions *o, GlancePublishReport *rep) {
        const char *id = prop(image, "id"), *vis = prop(image, "visibility");
        if (o->visibility && !streq_ptr(vis, o->visibility)) {
                _cleanup_(json_decrefp) json_t *patch = json_pack("[{s:s, s:s, s:s}]", "op", "replace", "path",
                                                                  "/visibility", "value", o->visibility);
                int k = glance_image_patch(g, id, patch);
                if (k < 0)
                        return k;
                log_info("glance image %s: visibility %s (was %s)", id, o->visibility, vis ?: "unset");
                vis = o->visibility;
        }
        rep->visibility = vis ? xstrdup(vis) : NULL;
        if (!o->has_members)
                return 0;
        _cleanup_strv_free_ char **now = NULL;
        int k = glance_members_list(g, id, &now);
        if (k < 0)
                return k;
        for (char **m = o->members; m && *m; m++)
                if (!strv_contains((const char *const *) now, *m)) {
                        if ((k = glance_member_set(g, id, *m, true)) < 0)
                                return k;
                        strv_push(&rep->members_added, NULL, xstrdup(*m));
                }
        for (char **m = now; m && *m; m++)
                if (!strv_contains((const char *const *) o->members, *m)) {
                        if ((k = glance_member_set(g, id, *m, false)) < 0 && k != -ENOENT)
                                return k;
                        strv_push(&rep->members_removed, NULL, xstrdup(*m));
                }
        return 0;
}

static int move_channels(Glance *g, const char *name, json_t *image, const GlancePublishOptions *o,
                         GlancePublishReport *rep) {
        for (size_t i = 0; i < o->n_channels; i++) {
                int k = glance_channel_promote(g, name, o->channels[i], image, NULL);
                if (k < 0)
                        return k;
                if (k > 0)
                        strv_push(&rep->channels_moved, NULL, xstrdup(o->channels[i]));
        }
        return 0;
}

int glance_publish(const char *input, const char *target, const GlancePublishOptions *opts,
                   GlancePublishReport *ret_report) {
        static const GlancePublishOptions defaults = {};
        _cleanup_(glance_ref_freep) GlanceRef *ref = NULL;
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        _cleanup_(glance_freep) Glance *g = NULL;
        _cleanup_(json_decrefp) json_t *image = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_(glance_publish_report_done) GlancePublishReport rep = {};
        const ManifestOutput *out = NULL;

        if (!opts)
                opts = &defaults;
        int k = glance_ref_parse(target, &ref);
        if (k < 0)
                return k;
        if (ref->channel || ref->digest)
                return log_error_errno(-EINVAL, "'%s': publish to glance:[CLOUD/]NAME, without channel or digest", target);
        if (opts->format && !streq(opts->format, "qcow2") && !streq(opts->format, "raw"))
                return log_error_errno(-EINVAL, "glance format '%s': qcow2 or raw", opts->format);
        k = manifest_load(input, &m);
        if (k < 0)
                return k;
        k = pick_output(m, input, opts->format, &path, &out);
        if (k < 0)
                return k;
        _cleanup_(json_decrefp) json_t *body = create_body(m, out->format, opts);
        json_object_set_new(body, "name", json_string(ref->name));
        k = properties_add(body, opts->properties);
        if (k < 0)
                return k;
        k = glance_open(ref->cloud, &g);
        if (k < 0)
                return k;
        k = find_existing(g, ref->name, m->image_digest, out->format, &image);
        if (k >= 0)
                k = settle_existing(g, &image, opts);
        if (k < 0)
                return k;
        rep.reused = k > 0;
        if (!rep.reused) {
                k = upload_with_retries(g, &image, body, path, out->size, opts, &rep.bytes_sent);
                if (k < 0)
                        return k;
        } else
                log_info("glance image %s has digest %s already, nothing uploaded", prop(image, "id"), m->image_digest);
        k = settle_sharing(g, image, opts, &rep);
        if (k >= 0)
                k = move_channels(g, ref->name, image, opts, &rep);
        if (k < 0)
                return k;
        rep.image_id = xstrdup(prop(image, "id"));
        rep.name = xstrdup(ref->name);
        rep.digest = xstrdup(m->image_digest);
        rep.disk_format = xstrdup(out->format);
        rep.cloud = ref->cloud ? xstrdup(ref->cloud) : NULL;
        if (ret_report) {
                *ret_report = rep;
                rep = (GlancePublishReport) {};
        }
        return 0;
}
