/* Channels over the registry interface; the storage design is described in channel.h. */
#include "channel.h"

#include <time.h>

#include "digest.h"
#include "log.h"
#include "time-util.h"

bool channel_name_valid(const char *name) {
        /* Lower-case tag-safe names that can't collide with baker's own tags. */
        if (!registry_tag_valid(name) || startswith(name, "baker.") || startswith(name, "sha256-"))
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                        return false;
        return name[0] >= 'a' && name[0] <= 'z';
}

static char *who(void) {
        char host[256] = "localhost";
        (void) gethostname(host, sizeof(host) - 1);
        const char *user = getenv("BAKER_USER") ?: getenv("USER") ?: getenv("LOGNAME") ?: "unknown";
        return xasprintf("%s@%s", user, host);
}

static char *digest_string_of(const char *data, size_t size) {
        uint8_t d[DIGEST_SIZE];
        char s[DIGEST_STRING_MAX];
        digest_buffer(data, size, d);
        digest_to_string(d, s);
        return xstrdup(s);
}

static int push_empty_blob(Registry *r) {
        return registry_blob_push(r, &(RegistryBlob){ .digest = OCI_EMPTY_DIGEST, .size = 2, .data = "{}", .label = "empty" },
                                  NULL);
}

static json_t *empty_descriptor(void) {
        return json_pack("{s:s, s:s, s:i}", "mediaType", OCI_EMPTY_MEDIA_TYPE, "digest", OCI_EMPTY_DIGEST, "size", 2);
}

int channel_history(Registry *r, const char *channel, json_t **ret) {
        _cleanup_free_ char *tag = xasprintf(CHANNEL_HISTORY_TAG_PREFIX "%s", channel);
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        int k = registry_manifest_get(r, tag, &m);
        if (k < 0)
                return k;
        json_t *manifest = json_loadb(m->data, m->size, 0, NULL);
        json_t *layer = json_array_get(json_object_get(manifest, "layers"), 0);
        const char *digest = json_string_value(json_object_get(layer, "digest"));
        if (!digest || !streq_ptr(json_string_value(json_object_get(manifest, "artifactType")), BAKER_CHANNEL_ARTIFACT_TYPE)) {
                json_decref(manifest);
                return log_error_errno(-EBADMSG, "'%s' is not a baker channel history", tag);
        }
        _cleanup_free_ char *data = NULL;
        size_t size;
        k = registry_blob_get_data(r, digest, &data, &size);
        json_decref(manifest);
        if (k < 0)
                return k;
        json_t *h = json_loadb(data, size, 0, NULL);
        if (!json_is_array(json_object_get(h, "entries"))) {
                json_decref(h);
                return log_error_errno(-EBADMSG, "history of channel '%s' is malformed", channel);
        }
        *ret = h;
        return 0;
}

/* Stores the history document: blob, then the manifest under baker.channel.C. */
static int history_store(Registry *r, const char *channel, json_t *history, const char *date) {
        _cleanup_free_ char *data = json_dumps(history, JSON_COMPACT | JSON_SORT_KEYS);
        size_t size = strlen(data);
        _cleanup_free_ char *digest = digest_string_of(data, size);
        int k;

        k = push_empty_blob(r);
        if (k < 0)
                return k;
        k = registry_blob_push(r, &(RegistryBlob){ .digest = digest, .size = size, .data = data, .label = "history" },
                               NULL);
        if (k < 0)
                return k;
        json_t *m = json_pack("{s:i, s:s, s:s, s:o, s:[{s:s, s:s, s:I}], s:{s:s, s:s}}", "schemaVersion", 2, "mediaType",
                              OCI_MANIFEST_MEDIA_TYPE, "artifactType", BAKER_CHANNEL_ARTIFACT_TYPE, "config",
                              empty_descriptor(), "layers", "mediaType", BAKER_CHANNEL_HISTORY_MEDIA_TYPE, "digest", digest,
                              "size", (json_int_t) size, "annotations", ANNOTATION_CHANNEL, channel,
                              "org.opencontainers.image.created", date);
        _cleanup_free_ char *mdata = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(m);
        _cleanup_free_ char *tag = xasprintf(CHANNEL_HISTORY_TAG_PREFIX "%s", channel);
        return registry_manifest_put(r, tag, OCI_MANIFEST_MEDIA_TYPE, mdata, strlen(mdata), NULL);
}

static int load_or_new_history(Registry *r, const char *channel, json_t **ret) {
        int k = channel_history(r, channel, ret);
        if (k == -ENOENT) {
                *ret = json_pack("{s:s, s:[]}", "channel", channel, "entries");
                return 0;
        }
        return k;
}

static int append_and_move(Registry *r, const char *channel, json_t *history, const char *action, const char *digest) {
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        int k = registry_manifest_get(r, digest, &m);
        if (k == -ENOENT)
                return log_error_errno(k, "manifest '%s' is not in the registry", digest);
        if (k < 0)
                return k;
        json_t *manifest = json_loadb(m->data, m->size, 0, NULL);
        const char *version =
                json_string_value(json_object_get(json_object_get(manifest, "annotations"), "org.opencontainers.image.version"));
        _cleanup_free_ char *date = rfc3339_format(time(NULL)), *by = who();
        json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "action", action, "digest", digest, "date", date, "by", by);
        if (version)
                json_object_set_new(e, "version", json_string(version));
        json_decref(manifest);
        json_array_append_new(json_object_get(history, "entries"), e);
        k = history_store(r, channel, history, date);
        if (k < 0)
                return k;
        return registry_manifest_put(r, channel, m->media_type, m->data, m->size, NULL);
}

int channel_revocation(Registry *r, const char *digest, char **ret_reason) {
        json_t *refs;
        int k = registry_referrers(r, digest, BAKER_REVOCATION_ARTIFACT_TYPE, &refs);
        if (k < 0)
                return k;
        if (json_array_size(refs) == 0) {
                json_decref(refs);
                return 0;
        }
        if (ret_reason) {
                const char *reason = json_string_value(
                        json_object_get(json_object_get(json_array_get(refs, 0), "annotations"), ANNOTATION_REVOCATION_REASON));
                *ret_reason = xstrdup(reason ?: "");
        }
        json_decref(refs);
        return 1;
}

int channel_promote(Registry *r, const char *channel, const char *digest, char **ret_previous) {
        _cleanup_free_ char *current = NULL, *reason = NULL;
        json_t *history;
        int k;

        if (!channel_name_valid(channel))
                return log_error_errno(-EINVAL, "invalid channel name '%s'", channel);
        k = registry_manifest_head(r, digest, NULL);
        if (k < 0)
                return k;
        if (k == 0)
                return log_error_errno(-ENOENT, "manifest '%s' is not in the registry", digest);
        k = channel_revocation(r, digest, &reason);
        if (k < 0)
                return k;
        if (k > 0)
                return log_error_errno(-EKEYREVOKED, "'%s' is revoked (%s), not promoting it", digest, reason);
        k = registry_manifest_head(r, channel, &current);
        if (k < 0)
                return k;
        if (current && streq(current, digest)) {
                if (ret_previous)
                        *ret_previous = TAKE_PTR(current);
                return 0;
        }
        k = load_or_new_history(r, channel, &history);
        if (k < 0)
                return k;
        k = append_and_move(r, channel, history, "promote", digest);
        json_decref(history);
        if (k < 0)
                return k;
        if (ret_previous)
                *ret_previous = TAKE_PTR(current);
        return 1;
}

static void pop(char **stack, size_t *n) {
        free(stack[--*n]);
        stack[*n] = NULL;
}

/* Replays the history: promote pushes, rollback pops back to its digest. */
static void replay(json_t *history, char ***stack, size_t *n) {
        json_t *e;
        size_t i;
        json_array_foreach(json_object_get(history, "entries"), i, e) {
                const char *action = json_string_value(json_object_get(e, "action"));
                const char *digest = json_string_value(json_object_get(e, "digest"));
                if (!digest)
                        continue;
                if (streq_ptr(action, "rollback")) {
                        while (*n > 0 && !streq((*stack)[*n - 1], digest))
                                pop(*stack, n);
                        if (*n > 0)
                                continue;
                }
                strv_push(stack, n, xstrdup(digest));
        }
}

int channel_rollback(Registry *r, const char *channel, char **ret_digest) {
        _cleanup_free_ char *current = NULL;
        char **stack = NULL;
        size_t n = 0;
        json_t *history;
        int k;

        if (!channel_name_valid(channel))
                return log_error_errno(-EINVAL, "invalid channel name '%s'", channel);
        k = registry_manifest_head(r, channel, &current);
        if (k < 0)
                return k;
        if (k == 0)
                return log_error_errno(-ENOENT, "channel '%s' does not exist", channel);
        k = channel_history(r, channel, &history);
        if (k == -ENOENT)
                return log_error_errno(k, "channel '%s' has no history to roll back to", channel);
        if (k < 0)
                return k;
        replay(history, &stack, &n);
        if (n == 0 || !streq(stack[n - 1], current)) {
                /* The tag moved without history (an interrupted promote, or by hand). */
                strv_push(&stack, &n, xstrdup(current));
        }
        pop(stack, &n); /* the current one */
        const char *target = NULL;
        while (n > 0) {
                const char *cand = stack[n - 1];
                int present = registry_manifest_head(r, cand, NULL);
                int revoked = present > 0 ? channel_revocation(r, cand, NULL) : 0;
                if (present < 0 || revoked < 0) {
                        k = present < 0 ? present : revoked;
                        goto finish;
                }
                if (present > 0 && revoked == 0 && !streq(cand, current)) {
                        target = cand;
                        break;
                }
                log_info("skipping '%s' in the history of '%s': %s", cand, channel, present ? "revoked" : "deleted");
                pop(stack, &n);
        }
        if (!target) {
                k = log_error_errno(-ENOENT, "channel '%s' has nothing to roll back to", channel);
                goto finish;
        }
        k = append_and_move(r, channel, history, "rollback", target);
        if (k >= 0 && ret_digest)
                *ret_digest = xstrdup(target);
finish:
        strv_free(stack);
        json_decref(history);
        return k;
}

int channel_resolve(Registry *r, const char *channel, char **ret_digest) {
        _cleanup_free_ char *digest = NULL, *reason = NULL;
        int k = registry_manifest_head(r, channel, &digest);
        if (k < 0)
                return k;
        if (k == 0)
                return log_error_errno(-ENOENT, "channel '%s' does not exist", channel);
        k = channel_revocation(r, digest, &reason);
        if (k < 0)
                return k;
        if (k > 0)
                return log_error_errno(-EKEYREVOKED, "channel '%s' points at '%s', which is revoked: %s", channel, digest,
                                       reason);
        *ret_digest = TAKE_PTR(digest);
        return 0;
}

int channel_list(Registry *r, char ***ret, size_t *ret_n) {
        char **tags;
        size_t n, m = 0;
        int k = registry_tags_list(r, &tags, &n);
        if (k < 0)
                return k;
        char **out = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                if (startswith(tags[i], CHANNEL_HISTORY_TAG_PREFIX))
                        out[m++] = xstrdup(tags[i] + strlen(CHANNEL_HISTORY_TAG_PREFIX));
        strv_free(tags);
        *ret = out;
        *ret_n = m;
        return 0;
}

int channel_revoke(Registry *r, const char *digest, const char *reason, char **ret_revocation_digest) {
        _cleanup_(registry_manifest_freep) RegistryManifest *subject = NULL;
        int k;

        k = channel_revocation(r, digest, NULL);
        if (k < 0)
                return k;
        if (k > 0) {
                log_info("'%s' is already revoked", digest);
                return 0;
        }
        k = registry_manifest_get(r, digest, &subject);
        if (k == -ENOENT)
                return log_error_errno(k, "manifest '%s' is not in the registry", digest);
        if (k < 0)
                return k;
        k = push_empty_blob(r);
        if (k < 0)
                return k;
        _cleanup_free_ char *date = rfc3339_format(time(NULL)), *by = who();
        json_t *m = json_pack("{s:i, s:s, s:s, s:o, s:[o], s:{s:s, s:s, s:I}, s:{s:s, s:s, s:s}}", "schemaVersion", 2,
                              "mediaType", OCI_MANIFEST_MEDIA_TYPE, "artifactType", BAKER_REVOCATION_ARTIFACT_TYPE,
                              "config", empty_descriptor(), "layers", empty_descriptor(), "subject", "mediaType",
                              subject->media_type, "digest", digest, "size", (json_int_t) subject->size, "annotations",
                              ANNOTATION_REVOCATION_REASON, reason, ANNOTATION_REVOCATION_BY, by,
                              "org.opencontainers.image.created", date);
        _cleanup_free_ char *data = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(m);
        _cleanup_free_ char *rdigest = digest_string_of(data, strlen(data));
        k = registry_manifest_put(r, rdigest, OCI_MANIFEST_MEDIA_TYPE, data, strlen(data), NULL);
        if (k < 0)
                return k;
        if (ret_revocation_digest)
                *ret_revocation_digest = TAKE_PTR(rdigest);
        return 1;
}

static bool special_tag(const char *tag, char **channels, size_t n_channels) {
        if (startswith(tag, CHANNEL_HISTORY_TAG_PREFIX) || startswith(tag, "sha256-"))
                return true;
        for (size_t i = 0; i < n_channels; i++)
                if (streq(tag, channels[i]))
                        return true;
        return false;
}

static int cmp_versions(const void *a, const void *b) {
        json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
        const char *cx = json_string_value(json_object_get(x, "created")) ?: "";
        const char *cy = json_string_value(json_object_get(y, "created")) ?: "";
        int c = strcmp(cy, cx); /* newest first */
        if (c != 0)
                return c;
        return strcmp(json_string_value(json_object_get(x, "digest")), json_string_value(json_object_get(y, "digest")));
}

int channel_versions(Registry *r, json_t **ret) {
        char **tags = NULL, **channels = NULL;
        size_t n_tags = 0, n_channels = 0;
        json_t *by_digest = json_object();
        int k;

        k = channel_list(r, &channels, &n_channels);
        if (k < 0)
                goto finish;
        k = registry_tags_list(r, &tags, &n_tags);
        if (k < 0)
                goto finish;
        for (size_t i = 0; i < n_tags; i++) {
                if (special_tag(tags[i], channels, n_channels))
                        continue;
                _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
                k = registry_manifest_get(r, tags[i], &m);
                if (k == -ENOENT)
                        continue;
                if (k < 0)
                        goto finish;
                json_t *v = json_object_get(by_digest, m->digest);
                if (!v) {
                        json_t *manifest = json_loadb(m->data, m->size, 0, NULL);
                        json_t *ann = json_object_get(manifest, "annotations");
                        v = json_pack("{s:s, s:[], s:[], s:b}", "digest", m->digest, "tags", "channels", "revoked", 0);
                        const char *ver = json_string_value(json_object_get(ann, "org.opencontainers.image.version"));
                        const char *created = json_string_value(json_object_get(ann, "org.opencontainers.image.created"));
                        json_object_set_new(v, "version", ver ? json_string(ver) : json_null());
                        json_object_set_new(v, "created", created ? json_string(created) : json_null());
                        json_decref(manifest);
                        _cleanup_free_ char *reason = NULL;
                        k = channel_revocation(r, m->digest, &reason);
                        if (k < 0) {
                                json_decref(v);
                                goto finish;
                        }
                        if (k > 0) {
                                json_object_set_new(v, "revoked", json_true());
                                json_object_set_new(v, "reason", json_string(reason));
                        }
                        json_object_set_new(by_digest, m->digest, v);
                }
                json_array_append_new(json_object_get(v, "tags"), json_string(tags[i]));
        }
        for (size_t i = 0; i < n_channels; i++) {
                _cleanup_free_ char *d = NULL;
                k = registry_manifest_head(r, channels[i], &d);
                if (k < 0)
                        goto finish;
                if (k == 0)
                        continue;
                json_t *v = json_object_get(by_digest, d);
                if (!v) {
                        /* A channel may point at a version whose tag was removed. */
                        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
                        if (registry_manifest_get(r, d, &m) < 0)
                                continue;
                        json_t *manifest = json_loadb(m->data, m->size, 0, NULL);
                        json_t *ann = json_object_get(manifest, "annotations");
                        const char *ver = json_string_value(json_object_get(ann, "org.opencontainers.image.version"));
                        const char *created = json_string_value(json_object_get(ann, "org.opencontainers.image.created"));
                        v = json_pack("{s:s, s:[], s:[], s:b, s:o, s:o}", "digest", d, "tags", "channels", "revoked", 0,
                                      "version", ver ? json_string(ver) : json_null(), "created",
                                      created ? json_string(created) : json_null());
                        json_decref(manifest);
                        json_object_set_new(by_digest, d, v);
                }
                json_array_append_new(json_object_get(v, "channels"), json_string(channels[i]));
        }
        k = 0;
finish:
        strv_free(tags);
        strv_free(channels);
        if (k < 0) {
                json_decref(by_digest);
                return k;
        }
        size_t n = json_object_size(by_digest), j = 0;
        json_t **arr = xcalloc(n + 1, sizeof(json_t *)), *v;
        const char *key;
        json_object_foreach(by_digest, key, v)
                arr[j++] = v;
        qsort(arr, n, sizeof(json_t *), cmp_versions);
        json_t *out = json_array();
        for (j = 0; j < n; j++)
                json_array_append(out, arr[j]);
        free(arr);
        json_decref(by_digest);
        *ret = out;
        return 0;
}

/* Adds the blobs a manifest references to set (json object used as a set). */
static int collect_blobs(Registry *r, const char *digest, json_t *set) {
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        int k = registry_manifest_get(r, digest, &m);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        json_t *manifest = json_loadb(m->data, m->size, 0, NULL), *l;
        size_t i;
        const char *c = json_string_value(json_object_get(json_object_get(manifest, "config"), "digest"));
        if (c)
                json_object_set_new(set, c, json_true());
        json_array_foreach(json_object_get(manifest, "layers"), i, l) {
                const char *d = json_string_value(json_object_get(l, "digest"));
                if (d)
                        json_object_set_new(set, d, json_true());
        }
        json_decref(manifest);
        return 0;
}

/* Unreferenced layout blobs younger than this may belong to a push in progress. */
static unsigned channel_gc_min_age(void) {
        const char *e = getenv("BAKER_GC_MIN_AGE");
        return e ? (unsigned) strtoul(e, NULL, 10) : 3600;
}

int channel_gc(Registry *r, unsigned keep, bool dry_run, json_t **ret_report) {
        json_t *versions = NULL, *deleted = json_array(), *kept = json_array();
        json_t *doomed_blobs = json_object(), *live_blobs = json_object();
        char **tags = NULL;
        size_t n_tags = 0, i;
        uint64_t blobs_deleted = 0;
        json_t *v;
        int k;

        k = channel_versions(r, &versions);
        if (k < 0)
                goto finish;
        json_array_foreach(versions, i, v) {
                const char *digest = json_string_value(json_object_get(v, "digest"));
                bool keep_it = i < keep || json_array_size(json_object_get(v, "channels")) > 0;
                json_array_append_new(keep_it ? kept : deleted, json_string(digest));
                k = collect_blobs(r, digest, keep_it ? live_blobs : doomed_blobs);
                if (k < 0)
                        goto finish;
        }
        /* Everything still tagged after the deletions keeps its blobs: histories, other manifests. */
        k = registry_tags_list(r, &tags, &n_tags);
        if (k < 0)
                goto finish;
        for (size_t t = 0; t < n_tags; t++) {
                _cleanup_free_ char *d = NULL;
                if (registry_manifest_head(r, tags[t], &d) <= 0)
                        continue;
                bool doomed = false;
                json_array_foreach(deleted, i, v)
                        doomed = doomed || streq(json_string_value(v), d);
                if (!doomed && (k = collect_blobs(r, d, live_blobs)) < 0)
                        goto finish;
        }
        if (dry_run)
                goto finish;

        json_array_foreach(deleted, i, v) {
                const char *digest = json_string_value(v);
                json_t *refs = NULL;
                /* Its revocations and referrers index go with it. */
                if (registry_referrers(r, digest, NULL, &refs) >= 0) {
                        json_t *ref;
                        size_t j;
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
                k = registry_manifest_delete(r, digest);
                if (k < 0)
                        goto finish;
        }
        const char *blob;
        json_object_foreach(doomed_blobs, blob, v) {
                if (json_object_get(live_blobs, blob))
                        continue;
                k = registry_blob_delete(r, blob);
                if (k == -EOPNOTSUPP || k == -ENOENT) {
                        k = 0;
                        continue;
                }
                if (k < 0)
                        goto finish;
                blobs_deleted++;
        }
        /* A layout also drops what earlier history/referrer manifests left behind. */
        uint64_t swept = 0, swept_bytes = 0;
        k = registry_sweep(r, channel_gc_min_age(), &swept, &swept_bytes);
        if (k >= 0)
                blobs_deleted += swept;
        k = 0;
finish:
        strv_free(tags);
        json_decref(versions);
        json_decref(doomed_blobs);
        json_decref(live_blobs);
        if (k < 0) {
                json_decref(deleted);
                json_decref(kept);
                return k;
        }
        *ret_report = json_pack("{s:o, s:o, s:I, s:b}", "deleted", deleted, "kept", kept, "blobs_deleted",
                                (json_int_t) blobs_deleted, "dry_run", dry_run);
        return 0;
}
