/* Channels over the registry interface; the storage design is described in channel.h. */
#include "channel.h"

#include <time.h>

#include "digest.h"
#include "log.h"
#include "strv.h"
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

char *channel_who(void) {
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

/* A history document {"channel": NAME, "entries": […]} stored under tag; what channels and the
 * push record share. */
static int history_load(Registry *r, const char *tag, const char *name, json_t **ret) {
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        int k = registry_manifest_get(r, tag, &m);
        if (k < 0)
                return k;
        json_t *manifest = json_loadb(m->data, m->size, 0, NULL);
        json_t *layer = json_array_get(json_object_get(manifest, "layers"), 0);
        const char *digest = json_string_value(json_object_get(layer, "digest"));
        if (!digest || !streq_ptr(json_string_value(json_object_get(manifest, "artifactType")), BAKER_CHANNEL_ARTIFACT_TYPE)) {
                json_decref(manifest);
                return log_error_errno(-EBADMSG, "'%s' is not a baker history", tag);
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
                return log_error_errno(-EBADMSG, "history '%s' is malformed", name);
        }
        *ret = h;
        return 0;
}

/* The history as stored (json object {"channel", "entries":[…]}: the registry format, read only
 * here), -ENOENT if none. */
static int channel_history(Registry *r, const char *channel, json_t **ret) {
        _cleanup_free_ char *tag = xasprintf(CHANNEL_HISTORY_TAG_PREFIX "%s", channel);
        return history_load(r, tag, channel, ret);
}

/* Stores the history document: blob, then the manifest under tag. */
static int history_store(Registry *r, const char *tag, const char *name, json_t *history, const char *date) {
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
                              "size", (json_int_t) size, "annotations", ANNOTATION_CHANNEL, name,
                              "org.opencontainers.image.created", date);
        _cleanup_free_ char *mdata = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(m);
        return registry_manifest_put(r, tag, OCI_MANIFEST_MEDIA_TYPE, mdata, strlen(mdata), NULL);
}

int channel_record_push(Registry *r, const char *digest, const char *tag, const char *version) {
        json_t *h = NULL;
        int k = history_load(r, PUSH_RECORD_TAG, PUSH_RECORD_TAG, &h);
        if (k == -ENOENT)
                h = json_pack("{s:s, s:[]}", "channel", PUSH_RECORD_TAG, "entries");
        else if (k < 0)
                return k;
        json_t *entries = json_object_get(h, "entries");
        while (json_array_size(entries) >= PUSH_RECORD_MAX)
                json_array_remove(entries, 0);
        _cleanup_free_ char *date = rfc3339_format(time(NULL)), *by = channel_who();
        json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s}", "action", "push", "digest", digest, "tag", tag, "date", date,
                              "by", by);
        if (version)
                json_object_set_new(e, "version", json_string(version));
        json_array_append_new(entries, e);
        k = history_store(r, PUSH_RECORD_TAG, PUSH_RECORD_TAG, h, date);
        json_decref(h);
        return k;
}

int channel_pushes(Registry *r, char ***ret) {
        json_t *h = NULL, *e;
        size_t i;
        int k = history_load(r, PUSH_RECORD_TAG, PUSH_RECORD_TAG, &h);
        if (k == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (k < 0)
                return k;
        char **l = NULL;
        size_t n = 0;
        json_array_foreach(json_object_get(h, "entries"), i, e) {
                const char *d = json_string_value(json_object_get(e, "digest"));
                if (d)
                        strv_push(&l, &n, xstrdup(d));
        }
        json_decref(h);
        *ret = l;
        return 0;
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
        _cleanup_free_ char *date = rfc3339_format(time(NULL)), *by = channel_who();
        json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "action", action, "digest", digest, "date", date, "by", by);
        if (version)
                json_object_set_new(e, "version", json_string(version));
        json_decref(manifest);
        json_array_append_new(json_object_get(history, "entries"), e);
        _cleanup_free_ char *tag = xasprintf(CHANNEL_HISTORY_TAG_PREFIX "%s", channel);
        k = history_store(r, tag, channel, history, date);
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
        _cleanup_free_ char *date = rfc3339_format(time(NULL)), *by = channel_who();
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

/* ---- reports ------------------------------------------------------------------------------ */

void channel_report_done(ChannelReport *c) {
        for (size_t i = 0; i < c->n_entries; i++) {
                ChannelEntry *e = c->entries + i;
                free(e->action);
                free(e->digest);
                free(e->version);
                free(e->date);
                free(e->by);
                free(e->reason);
        }
        free(c->entries);
        free(c->channel);
        free(c->current);
        *c = (ChannelReport) {};
}

static char *field(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ? xstrdup(s) : NULL;
}

int channel_report(Registry *r, const char *channel, ChannelReport *ret) {
        json_t *h;
        int k = channel_history(r, channel, &h);
        if (k == -ENOENT)
                return log_error_errno(k, "channel '%s' does not exist", channel);
        if (k < 0)
                return k;
        ChannelReport c = { .channel = xstrdup(channel) };
        (void) registry_manifest_head(r, channel, &c.current);
        json_t *entries = json_object_get(h, "entries");
        c.entries = xcalloc(json_array_size(entries) + 1, sizeof(ChannelEntry));
        for (size_t i = json_array_size(entries); i-- > 0;) {
                json_t *j = json_array_get(entries, i);
                ChannelEntry *e = c.entries + c.n_entries++;
                *e = (ChannelEntry) { .action = field(j, "action"), .digest = field(j, "digest"), .version = field(j, "version"),
                                      .date = field(j, "date"), .by = field(j, "by") };
                if (!e->digest)
                        continue;
                e->revoked = channel_revocation(r, e->digest, &e->reason) > 0;
                e->present = registry_manifest_head(r, e->digest, NULL) > 0;
        }
        json_decref(h);
        *ret = c;
        return 0;
}

json_t *channel_report_to_json(const ChannelReport *c) {
        json_t *a = json_array();
        for (size_t i = 0; i < c->n_entries; i++) {
                const ChannelEntry *e = c->entries + i;
                json_t *o = json_pack("{s:s*, s:s*, s:s*, s:s*, s:s*, s:b, s:b}", "action", e->action, "digest", e->digest,
                                      "version", e->version, "date", e->date, "by", e->by, "revoked", e->revoked, "present",
                                      e->present);
                if (e->revoked)
                        json_object_set_new(o, "reason", json_string(e->reason ?: ""));
                json_array_append_new(a, o);
        }
        return json_pack("{s:s, s:o, s:o}", "channel", c->channel, "current",
                         c->current ? json_string(c->current) : json_null(), "entries", a);
}

void revoke_report_done(RevokeReport *v) {
        free(v->revocation);
        strv_free(v->channels);
        *v = (RevokeReport) {};
}

int channel_revoke_image(Registry *r, const char *digest, const char *reason, RevokeReport *ret) {
        RevokeReport v = {};
        int k = channel_revoke(r, digest, reason, &v.revocation);
        if (k < 0)
                return k;
        v.revoked = k > 0;
        _cleanup_strv_free_ char **channels = NULL;
        size_t n = 0;
        _cleanup_free_ char *repo = registry_ref_repository_string(registry_get_ref(r));
        if (channel_list(r, &channels, &n) >= 0)
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *d = NULL;
                        if (registry_manifest_head(r, channels[i], &d) <= 0 || !streq(d, digest))
                                continue;
                        log_warning("channel '%s' points at the revoked image; run 'baker rollback %s %s'", channels[i], repo,
                                    channels[i]);
                        strv_push(&v.channels, NULL, xstrdup(channels[i]));
                }
        *ret = v;
        return 0;
}
