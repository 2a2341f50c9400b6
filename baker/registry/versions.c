/* Published versions and gc over the registry interface; see versions.h. */
#include "versions.h"

#include <ctype.h>

#include "channel.h"
#include "log.h"
#include "strv.h"

void image_versions_free(ImageVersion *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].digest);
                free(v[i].version);
                free(v[i].created);
                strv_free(v[i].tags);
                strv_free(v[i].channels);
                free(v[i].reason);
        }
        free(v);
}

json_t *image_versions_to_json(const ImageVersion *v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_pack("{s:s, s:o, s:o, s:b, s:o, s:o}", "digest", v[i].digest, "tags", strv_to_json(v[i].tags),
                                      "channels", strv_to_json(v[i].channels), "revoked", v[i].revoked, "version",
                                      v[i].version ? json_string(v[i].version) : json_null(), "created",
                                      v[i].created ? json_string(v[i].created) : json_null());
                if (v[i].revoked)
                        json_object_set_new(o, "reason", json_string(v[i].reason ?: ""));
                json_array_append_new(a, o);
        }
        return a;
}

int version_compare(const char *a, const char *b) {
        while (*a && *b) {
                if (isdigit((unsigned char) *a) && isdigit((unsigned char) *b)) {
                        while (*a == '0')
                                a++;
                        while (*b == '0')
                                b++;
                        size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
                        if (la != lb)
                                return la < lb ? -1 : 1;
                        int c = strncmp(a, b, la);
                        if (c != 0)
                                return c;
                        a += la;
                        b += lb;
                        continue;
                }
                if (*a != *b)
                        return (unsigned char) *a < (unsigned char) *b ? -1 : 1;
                a++;
                b++;
        }
        return *a ? 1 : *b ? -1 : 0;
}

/* Tags that name no version: channel histories and the push record ("baker."), referrer indexes,
 * and channels (their images are listed under the channel). */
static bool special_tag(const char *tag, char **channels) {
        return startswith(tag, "baker.") || startswith(tag, "sha256-") || strv_contains((const char *const *) channels, tag);
}

static ImageVersion *find_version(ImageVersion *v, size_t n, const char *digest) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i].digest, digest))
                        return v + i;
        return NULL;
}

/* Adds the version of manifest m (its annotations and revocation) to the list. */
static int add_version(Registry *r, const RegistryManifest *m, ImageVersion **v, size_t *n) {
        json_t *manifest = json_loadb(m->data, m->size, 0, NULL);
        json_t *ann = json_object_get(manifest, "annotations");
        const char *ver = json_string_value(json_object_get(ann, "org.opencontainers.image.version"));
        const char *created = json_string_value(json_object_get(ann, "org.opencontainers.image.created"));
        ImageVersion x = { .digest = xstrdup(m->digest), .version = ver ? xstrdup(ver) : NULL,
                           .created = created ? xstrdup(created) : NULL, .pushed = -1 };
        json_decref(manifest);
        int k = channel_revocation(r, m->digest, &x.reason);
        if (k < 0) {
                free(x.digest);
                free(x.version);
                free(x.created);
                return k;
        }
        x.revoked = k > 0;
        *v = xrealloc(*v, (*n + 1) * sizeof(ImageVersion));
        (*v)[(*n)++] = x;
        return 0;
}

static int cmp_versions(const void *pa, const void *pb) {
        const ImageVersion *a = pa, *b = pb;
        if (a->pushed != b->pushed)
                return a->pushed > b->pushed ? -1 : 1; /* latest push first; unrecorded (-1) last */
        int c = version_compare(b->version ?: "", a->version ?: "");
        if (c != 0)
                return c;
        c = strcmp(b->created ?: "", a->created ?: "");
        return c != 0 ? c : strcmp(a->digest, b->digest);
}

/* history and gc ask the registry about each tag, one request a tag: at most this many tags, so a
 * repository (or a hostile registry) cannot make them send 100,000 requests. */
#define VERSIONS_MAX_TAGS 10000u

static int tags_list_bounded(Registry *r, char ***ret_tags, size_t *ret_n) {
        _cleanup_strv_free_ char **tags = NULL;
        size_t n = 0;
        int k = registry_tags_list(r, &tags, &n);
        if (k < 0)
                return k;
        if (n > VERSIONS_MAX_TAGS)
                return log_error_errno(-E2BIG, "the repository has %zu tags, more than the %u baker looks up one by "
                                       "one; remove old tags with the registry's own tools first", n, VERSIONS_MAX_TAGS);
        *ret_tags = TAKE_PTR(tags);
        *ret_n = n;
        return 0;
}

/* The tagged versions, then the channels' targets (a channel may point at an untagged one). */
static int collect_versions(Registry *r, char **channels, ImageVersion **v, size_t *n) {
        _cleanup_strv_free_ char **tags = NULL;
        size_t n_tags = 0;
        int k = tags_list_bounded(r, &tags, &n_tags);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n_tags; i++) {
                if (special_tag(tags[i], channels))
                        continue;
                _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
                k = registry_manifest_get(r, tags[i], &m);
                if (k == -ENOENT)
                        continue;
                if (k < 0)
                        return k;
                if (!find_version(*v, *n, m->digest) && (k = add_version(r, m, v, n)) < 0)
                        return k;
                strv_push(&find_version(*v, *n, m->digest)->tags, NULL, xstrdup(tags[i]));
        }
        for (char **c = channels; c && *c; c++) {
                _cleanup_free_ char *d = NULL;
                k = registry_manifest_head(r, *c, &d);
                if (k < 0)
                        return k;
                if (k == 0)
                        continue;
                if (!find_version(*v, *n, d)) {
                        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
                        if (registry_manifest_get(r, d, &m) < 0 || add_version(r, m, v, n) < 0)
                                continue;
                }
                strv_push(&find_version(*v, *n, d)->channels, NULL, xstrdup(*c));
        }
        return 0;
}

int versions_list(Registry *r, ImageVersion **ret, size_t *ret_n) {
        _cleanup_strv_free_ char **channels = NULL, **pushes = NULL;
        size_t n_channels = 0, n = 0;
        ImageVersion *v = NULL;
        int k = channel_list(r, &channels, &n_channels);
        if (k >= 0)
                k = channel_pushes(r, &pushes);
        if (k >= 0)
                k = collect_versions(r, channels, &v, &n);
        if (k < 0) {
                image_versions_free(v, n);
                return k;
        }
        for (size_t i = 0; pushes && pushes[i]; i++) {
                ImageVersion *x = find_version(v, n, pushes[i]);
                if (x)
                        x->pushed = (ssize_t) i;
        }
        qsort(v, n, sizeof(ImageVersion), cmp_versions);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- gc ----------------------------------------------------------------------------------- */

void gc_report_done(GcReport *g) {
        strv_free(g->deleted);
        strv_free(g->kept);
        *g = (GcReport) {};
}

json_t *gc_report_to_json(const GcReport *g) {
        return json_pack("{s:o, s:o, s:I, s:b}", "deleted", strv_to_json(g->deleted), "kept", strv_to_json(g->kept),
                         "blobs_deleted", (json_int_t) g->blobs_deleted, "dry_run", g->dry_run);
}

/* Adds the blobs a manifest references to set (a strv used as a set). */
static int collect_blobs(Registry *r, const char *digest, char ***set) {
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        int k = registry_manifest_get(r, digest, &m);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        json_t *manifest = json_loadb(m->data, m->size, 0, NULL), *l;
        size_t i;
        const char *c = json_string_value(json_object_get(json_object_get(manifest, "config"), "digest"));
        if (c && !strv_contains((const char *const *) *set, c))
                strv_push(set, NULL, xstrdup(c));
        json_array_foreach(json_object_get(manifest, "layers"), i, l) {
                const char *d = json_string_value(json_object_get(l, "digest"));
                if (d && !strv_contains((const char *const *) *set, d))
                        strv_push(set, NULL, xstrdup(d));
        }
        json_decref(manifest);
        return 0;
}

unsigned versions_gc_min_age(void) {
        const char *e = getenv("BAKER_GC_MIN_AGE");
        return e ? (unsigned) strtoul(e, NULL, 10) : 3600;
}

const char *versions_gc_decide(const ImageVersion *v, size_t n, unsigned keep, GcReport *g) {
        ssize_t latest = -1;
        size_t unchanneled = 0, unchanneled_deleted = 0;
        bool latest_deleted = false;
        for (size_t i = 0; i < n; i++) {
                bool channeled = v[i].channels && v[i].channels[0];
                bool keep_it = i < keep || channeled;
                strv_push(keep_it ? &g->kept : &g->deleted, NULL, xstrdup(v[i].digest));
                unchanneled += !channeled;
                unchanneled_deleted += !keep_it;
                if (v[i].pushed > latest) {
                        latest = v[i].pushed;
                        latest_deleted = !keep_it;
                }
        }
        if (latest_deleted)
                return "it would delete the most recent push";
        if (unchanneled > 0 && unchanneled_deleted == unchanneled)
                return "it would delete every version no channel points at";
        return NULL;
}

/* The blobs only deleted manifests use: those of the doomed, minus those of everything still
 * tagged afterwards (kept versions, histories, other manifests). */
static int doomed_blobs(Registry *r, char **deleted, char ***ret) {
        _cleanup_strv_free_ char **doomed = NULL, **live = NULL, **tags = NULL;
        size_t n_tags = 0;
        int k;
        for (char **d = deleted; d && *d; d++)
                if ((k = collect_blobs(r, *d, &doomed)) < 0)
                        return k;
        k = tags_list_bounded(r, &tags, &n_tags);
        if (k < 0)
                return k;
        for (size_t t = 0; t < n_tags; t++) {
                _cleanup_free_ char *d = NULL;
                if (registry_manifest_head(r, tags[t], &d) <= 0 || strv_contains((const char *const *) deleted, d))
                        continue;
                if ((k = collect_blobs(r, d, &live)) < 0)
                        return k;
        }
        char **out = NULL;
        for (char **b = doomed; b && *b; b++)
                if (!strv_contains((const char *const *) live, *b))
                        strv_push(&out, NULL, xstrdup(*b));
        *ret = out;
        return 0;
}

/* The manifest, its revocations and its referrers index. */
static int delete_version(Registry *r, const char *digest) {
        json_t *refs = NULL, *ref;
        size_t j;
        if (registry_referrers(r, digest, NULL, &refs) >= 0) {
                json_array_foreach(refs, j, ref) {
                        const char *rd = json_string_value(json_object_get(ref, "digest"));
                        if (rd)
                                (void) registry_manifest_delete(r, rd);
                }
                json_decref(refs);
        }
        _cleanup_free_ char *rtag = registry_referrers_tag(digest), *rtag_digest = NULL;
        if (registry_manifest_head(r, rtag, &rtag_digest) > 0)
                (void) registry_manifest_delete(r, rtag_digest);
        log_info("deleting '%s'", digest);
        return registry_manifest_delete(r, digest);
}

static int gc_delete(Registry *r, GcReport *g) {
        _cleanup_strv_free_ char **blobs = NULL;
        int k = doomed_blobs(r, g->deleted, &blobs);
        if (k < 0)
                return k;
        for (char **d = g->deleted; d && *d; d++)
                if ((k = delete_version(r, *d)) < 0)
                        return k;
        for (char **b = blobs; b && *b; b++) {
                k = registry_blob_delete(r, *b);
                if (k == -EOPNOTSUPP || k == -ENOENT)
                        continue;
                if (k < 0)
                        return k;
                g->blobs_deleted++;
        }
        /* A layout also drops what earlier history/referrer manifests left behind. */
        uint64_t swept = 0, swept_bytes = 0;
        if (registry_sweep(r, versions_gc_min_age(), &swept, &swept_bytes) >= 0)
                g->blobs_deleted += swept;
        return 0;
}

int versions_gc(Registry *r, const GcOptions *opts, GcReport *ret) {
        _cleanup_(gc_report_done) GcReport g = { .dry_run = opts->dry_run };
        ImageVersion *v = NULL;
        size_t n = 0;
        int k = versions_list(r, &v, &n);
        if (k < 0)
                return k;
        const char *refused = versions_gc_decide(v, n, opts->keep, &g);
        image_versions_free(v, n);
        if (refused && !opts->force && !opts->dry_run)
                return log_error_errno(-EPERM, "not collecting garbage: %s (--force to do it anyway)", refused);
        if (refused && !opts->force)
                g.refused = refused;
        if (!opts->dry_run && (k = gc_delete(r, &g)) < 0)
                return k;
        *ret = g;
        g = (GcReport) {};
        return 0;
}
