/* What baker published under one Glance image name (glance.h): its versions, revoke and gc.
 *
 * A version is an image digest: the images baker made of it (qcow2, raw), newest first. Revoked
 * means deactivated (Glance then refuses downloads); the reason is the property
 * baker_revoked_reason, written before the deactivation. gc decides like baker gc on a registry
 * (versions.h: the newest keep and whatever a channel points at stay, the most recent push and
 * the last unchanneled version are not deleted without force) and also deletes leftovers, images
 * of baker's that never turned active (queued, killed), once older than the minimum age. */
#include <errno.h>
#include <time.h>

#include "glance.h"
#include "log.h"
#include "strv.h"
#include "time-util.h"
#include "versions.h"

#define GLANCE_PROP_REVOKED "baker_revoked_reason"

static const char *str(json_t *img, const char *key) {
        return json_string_value(json_object_get(img, key));
}

static bool is_baker_image(json_t *img) {
        json_t *t;
        size_t i;
        json_array_foreach(json_object_get(img, "tags"), i, t)
                if (streq_ptr(json_string_value(t), GLANCE_BAKER_TAG))
                        return str(img, GLANCE_PROP_DIGEST) != NULL;
        return false;
}

static bool is_version_image(json_t *img) {
        const char *status = str(img, "status");
        return is_baker_image(img) && (streq_ptr(status, "active") || streq_ptr(status, "deactivated"));
}

/* The version of digest in versions (a json array), or NULL. */
static json_t *version_find(json_t *versions, const char *digest) {
        json_t *v;
        size_t i;
        json_array_foreach(versions, i, v)
                if (streq_ptr(str(v, "digest"), digest))
                        return v;
        return NULL;
}

static json_t *versions_of(json_t *images) {
        json_t *versions = json_array(), *img;
        size_t i;
        json_array_foreach(images, i, img) {
                if (!is_version_image(img))
                        continue;
                json_t *v = version_find(versions, str(img, GLANCE_PROP_DIGEST));
                if (!v) {
                        v = json_pack("{s:s, s:s*, s:s*, s:[], s:[], s:b}", "digest", str(img, GLANCE_PROP_DIGEST), "version",
                                      str(img, GLANCE_PROP_VERSION), "created", str(img, "created_at"), "images",
                                      "channels", "revoked", true);
                        json_array_append_new(versions, v);
                }
                json_array_append_new(json_object_get(v, "images"),
                                      json_pack("{s:s, s:s*, s:s*}", "id", str(img, "id"), "disk_format",
                                                str(img, "disk_format"), "status", str(img, "status")));
                if (streq_ptr(str(img, "status"), "active"))
                        json_object_set_new(v, "revoked", json_false());
                else if (str(img, GLANCE_PROP_REVOKED) && !json_object_get(v, "reason"))
                        json_object_set_new(v, "reason", json_string(str(img, GLANCE_PROP_REVOKED)));
        }
        _cleanup_strv_free_ char **channels = glance_channel_names(images);
        for (char **c = channels; c && *c; c++) {
                json_t *cur = glance_channel_current(images, *c);
                json_t *v = cur ? version_find(versions, str(cur, GLANCE_PROP_DIGEST)) : NULL;
                if (v)
                        json_array_append_new(json_object_get(v, "channels"), json_string(*c));
        }
        json_array_foreach(versions, i, img)
                if (!json_boolean_value(json_object_get(img, "revoked")))
                        json_object_del(img, "reason");
        return versions;
}

int glance_versions(Glance *g, const char *name, json_t **ret) {
        _cleanup_(json_decrefp) json_t *images = NULL;
        int k = glance_list_images(g, name, &images);
        if (k < 0)
                return k;
        *ret = versions_of(images);
        return 0;
}

/* ---- revoke ---- */

static int set_property(Glance *g, json_t *img, const char *key, const char *value) {
        _cleanup_(json_decrefp) json_t *patch = json_pack("[{s:s, s:s, s:s}]", "op", json_object_get(img, key) ? "replace" : "add",
                                                          "path", key, "value", value);
        _cleanup_free_ char *path = xasprintf("/%s", key);
        json_object_set_new(json_array_get(patch, 0), "path", json_string(path));
        return glance_image_patch(g, str(img, "id"), patch);
}

int glance_revoke(Glance *g, const char *name, const char *digest, const char *reason, GlanceRevokeReport *ret) {
        _cleanup_(json_decrefp) json_t *images = NULL;
        int k = glance_list_images(g, name, &images);
        if (k < 0)
                return k;
        GlanceRevokeReport rep = {};
        json_t *img;
        size_t i;
        bool found = false;
        json_array_foreach(images, i, img) {
                if (!is_version_image(img) || !streq_ptr(str(img, GLANCE_PROP_DIGEST), digest))
                        continue;
                found = true;
                if (!streq_ptr(str(img, "status"), "active"))
                        continue;
                if ((k = set_property(g, img, GLANCE_PROP_REVOKED, reason)) < 0 ||
                    (k = glance_image_deactivate(g, str(img, "id"), true)) < 0) {
                        glance_revoke_report_done(&rep);
                        return k;
                }
                log_info("deactivated glance image %s (%s)", str(img, "id"), str(img, "disk_format"));
                strv_push(&rep.deactivated, NULL, xstrdup(str(img, "id")));
        }
        if (!found)
                return log_error_errno(-ENOENT, "no glance image '%s' with digest %s", name, digest);
        _cleanup_strv_free_ char **channels = glance_channel_names(images);
        for (char **c = channels; c && *c; c++) {
                json_t *cur = glance_channel_current(images, *c);
                if (!cur || !streq_ptr(str(cur, GLANCE_PROP_DIGEST), digest))
                        continue;
                log_warning("channel '%s' points at the revoked image and no longer resolves: roll it back (baker "
                            "rollback glance:[CLOUD/]%s %s)", *c, name, *c);
                strv_push(&rep.channels, NULL, xstrdup(*c));
        }
        *ret = rep;
        return 0;
}

void glance_revoke_report_done(GlanceRevokeReport *r) {
        strv_free(r->deactivated);
        strv_free(r->channels);
        *r = (GlanceRevokeReport) {};
}

/* ---- gc ---- */

void glance_gc_report_done(GlanceGcReport *r) {
        gc_report_done(&r->versions);
        strv_free(r->images_deleted);
        strv_free(r->young);
        *r = (GlanceGcReport) {};
}

json_t *glance_gc_report_to_json(const GlanceGcReport *r) {
        json_t *o = gc_report_to_json(&r->versions);
        json_object_del(o, "blobs_deleted");
        json_object_set_new(o, "images_deleted", strv_to_json(r->images_deleted));
        json_object_set_new(o, "too_young", strv_to_json(r->young));
        return o;
}

static int64_t image_age(json_t *img, int64_t now) {
        int64_t t;
        const char *c = str(img, "updated_at") ?: str(img, "created_at");
        return c && rfc3339_parse(c, &t) >= 0 ? now - t : 0;
}

/* The versions as versions.h sees them: newest first, pushed = the order of creation. */
static ImageVersion *as_image_versions(json_t *versions, size_t *ret_n) {
        size_t n = json_array_size(versions), i;
        ImageVersion *v = xcalloc(n + 1, sizeof(ImageVersion));
        json_t *x, *c;
        json_array_foreach(versions, i, x) {
                size_t j;
                v[i].digest = xstrdup(str(x, "digest"));
                v[i].pushed = (ssize_t) (n - i);
                json_array_foreach(json_object_get(x, "channels"), j, c)
                        strv_push(&v[i].channels, NULL, xstrdup(json_string_value(c)));
        }
        *ret_n = n;
        return v;
}

/* Whether gc deletes img: a leftover that never turned active, or an image of a deleted version;
 * either only once older than min_age_s, and never what a channel points at. */
static bool doomed(json_t *img, char **deleted, char **current, int64_t now, unsigned min_age_s, GlanceGcReport *rep) {
        if (!is_baker_image(img) || strv_contains((const char *const *) current, str(img, "id")))
                return false;
        bool leftover = !is_version_image(img);
        if (!leftover && !strv_contains((const char *const *) deleted, str(img, GLANCE_PROP_DIGEST)))
                return false;
        if (image_age(img, now) < (int64_t) min_age_s) {
                strv_push(&rep->young, NULL, xstrdup(str(img, "id")));
                return false;
        }
        return true;
}

int glance_gc(Glance *g, const char *name, const GcOptions *opts, GlanceGcReport *ret) {
        _cleanup_(json_decrefp) json_t *images = NULL, *versions = NULL;
        int k = glance_list_images(g, name, &images);
        if (k < 0)
                return k;
        versions = versions_of(images);
        _cleanup_(glance_gc_report_done) GlanceGcReport rep = { .versions.dry_run = opts->dry_run };
        size_t n;
        ImageVersion *v = as_image_versions(versions, &n);
        const char *refused = versions_gc_decide(v, n, opts->keep, &rep.versions);
        image_versions_free(v, n);
        if (refused && !opts->force && !opts->dry_run)
                return log_error_errno(-EPERM, "not collecting garbage: %s (--force to do it anyway)", refused);
        if (refused && !opts->force)
                rep.versions.refused = refused;
        _cleanup_strv_free_ char **channels = glance_channel_names(images), **current = NULL;
        for (char **c = channels; c && *c; c++) {
                json_t *cur = glance_channel_current(images, *c);
                if (cur)
                        strv_push(&current, NULL, xstrdup(str(cur, "id")));
        }
        int64_t now = time(NULL);
        unsigned min_age = versions_gc_min_age();
        json_t *img;
        size_t i;
        json_array_foreach(images, i, img) {
                if (!doomed(img, rep.versions.deleted, current, now, min_age, &rep))
                        continue;
                if (!opts->dry_run) {
                        log_info("deleting glance image %s (%s, %s)", str(img, "id"), str(img, "status"),
                                 str(img, GLANCE_PROP_DIGEST));
                        k = glance_image_delete(g, str(img, "id"));
                        if (k < 0 && k != -ENOENT)
                                return k;
                }
                strv_push(&rep.images_deleted, NULL, xstrdup(str(img, "id")));
        }
        *ret = rep;
        rep = (GlanceGcReport) {};
        return 0;
}
