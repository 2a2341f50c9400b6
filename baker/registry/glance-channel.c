/* Channels in Glance (glance.h), kept on the images themselves so that the cloud alone holds them:
 *
 *   history  one tag per promote or rollback on the image it moved the channel to:
 *            "baker:channel:C:NNNNNN:ACTION:DATE:BY" (NNNNNN the entry's number in the channel,
 *            ACTION promote|rollback, DATE RFC 3339 UTC, BY user@host); one tag PUT records it,
 *            so a promote is a single write
 *   current  replaying the history (promote pushes, rollback pops back to the image it names)
 *            gives it; the plain tag "C" on that image (and no other of the name) is a convenience
 *            for `openstack image list --tag C` and Terraform's image lookups, moved after the
 *            history tag; resolve reads the history
 *   revoked  a deactivated image: resolve refuses it, rollback skips it
 * An image deleted from Glance takes its tags with it: rollback never returns to it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "channel.h"
#include "glance.h"
#include "log.h"
#include "strv.h"
#include "time-util.h"

#define HISTORY_PREFIX "baker:channel:"

typedef struct Entry {
        unsigned long seq;
        bool rollback;
        json_t *image;   /* borrowed from the list */
        const char *tag; /* borrowed: the history tag */
} Entry;

typedef struct History {
        json_t *images; /* every image of the name */
        Entry *entries; /* by seq */
        size_t n;
        unsigned long max_seq;
        json_t **stack; /* the images the channel went through, replayed (history_stack) */
        size_t depth;   /* stack[depth - 1] is the current image */
} History;

static void history_done(History *h) {
        json_decref(h->images);
        free(h->entries);
        free(h->stack);
        *h = (History) {};
}

static int entry_cmp(const void *a, const void *b) {
        const Entry *x = a, *y = b;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* "baker:channel:C:NNNNNN:ACTION:…" of this channel: 1 and the fields, else 0. */
static int parse_tag(const char *tag, const char *channel, unsigned long *ret_seq, bool *ret_rollback) {
        size_t pl = strlen(HISTORY_PREFIX), cl = strlen(channel);
        if (!startswith(tag, HISTORY_PREFIX) || strncmp(tag + pl, channel, cl) != 0 || tag[pl + cl] != ':')
                return 0;
        char *end;
        errno = 0;
        unsigned long seq = strtoul(tag + pl + cl + 1, &end, 10);
        if (errno || *end != ':')
                return 0;
        end++;
        if (startswith(end, "promote:"))
                *ret_rollback = false;
        else if (startswith(end, "rollback:"))
                *ret_rollback = true;
        else
                return 0;
        *ret_seq = seq;
        return 1;
}

static const char *image_id(json_t *img) {
        return json_string_value(json_object_get(img, "id"));
}

/* The stack of images the channel went through, as replayed from the history; *ret_n its depth. */
static json_t **history_stack(const History *h, size_t *ret_n) {
        json_t **stack = xcalloc(h->n + 1, sizeof(json_t *));
        size_t n = 0;
        for (size_t i = 0; i < h->n; i++) {
                const Entry *e = h->entries + i;
                if (e->rollback) {
                        if (n > 0)
                                n--; /* a rollback leaves the current image */
                        while (n > 0 && stack[n - 1] != e->image)
                                n--;
                        if (n > 0)
                                continue;
                }
                stack[n++] = e->image;
        }
        *ret_n = n;
        return stack;
}

/* The history of channel among images (every image of one name; a reference is taken). */
static History history_build(json_t *images, const char *channel) {
        History h = { .images = json_incref(images) };
        json_t *img, *tag;
        size_t i, j;
        json_array_foreach(h.images, i, img)
                json_array_foreach(json_object_get(img, "tags"), j, tag) {
                        Entry e = { .image = img, .tag = json_string_value(tag) };
                        if (!e.tag || parse_tag(e.tag, channel, &e.seq, &e.rollback) <= 0)
                                continue;
                        h.entries = xrealloc(h.entries, (h.n + 1) * sizeof(Entry));
                        h.entries[h.n++] = e;
                        h.max_seq = MAX(h.max_seq, e.seq);
                }
        qsort(h.entries, h.n, sizeof(Entry), entry_cmp);
        h.stack = history_stack(&h, &h.depth);
        return h;
}

static int history_load(Glance *g, const char *name, const char *channel, History *ret) {
        _cleanup_(json_decrefp) json_t *images = NULL;
        int k = glance_list_images(g, name, &images);
        if (k < 0)
                return k;
        *ret = history_build(images, channel);
        return 0;
}

/* history_load(), and the image the channel points at now (borrowed from *h); -ENOENT (logged)
 * when the channel has no history. */
static int history_load_current(Glance *g, const char *name, const char *channel, History *h, json_t **ret) {
        int k = history_load(g, name, channel, h);
        if (k < 0)
                return k;
        if (h->depth == 0)
                return log_error_errno(-ENOENT, "no channel '%s' for glance image '%s'", channel, name);
        *ret = h->stack[h->depth - 1];
        return 0;
}

static bool image_active(json_t *img) {
        return streq_ptr(json_string_value(json_object_get(img, "status")), "active");
}

/* Records the entry on image, then moves the plain tag onto it. */
static int history_append(Glance *g, const History *h, const char *channel, json_t *image, const char *action) {
        _cleanup_free_ char *date = rfc3339_format(time(NULL)), *by = channel_who();
        _cleanup_free_ char *tag = xasprintf(HISTORY_PREFIX "%s:%06lu:%s:%s:%s", channel, h->max_seq + 1, action, date, by);
        if (strlen(tag) > 255)
                tag[255] = 0; /* glance's limit; only "by" is cut */
        int k = glance_image_tag(g, image_id(image), tag, true);
        if (k < 0)
                return k;
        k = glance_image_tag(g, image_id(image), channel, true);
        if (k < 0)
                return k;
        json_t *img, *t;
        size_t i, j;
        json_array_foreach(h->images, i, img) {
                if (streq_ptr(image_id(img), image_id(image)))
                        continue;
                json_array_foreach(json_object_get(img, "tags"), j, t)
                        if (streq_ptr(json_string_value(t), channel)) {
                                k = glance_image_tag(g, image_id(img), channel, false);
                                if (k < 0 && k != -ENOENT)
                                        return k;
                        }
        }
        return 0;
}

int glance_channel_promote(Glance *g, const char *name, const char *channel, json_t *image, char **ret_previous) {
        if (!channel_name_valid(channel) || streq(channel, GLANCE_BAKER_TAG))
                return log_error_errno(-EINVAL, "invalid channel name '%s'", channel);
        if (!image_active(image))
                return log_error_errno(-EKEYREVOKED, "glance image %s is '%s', not active: not promoting it",
                                       image_id(image), json_string_value(json_object_get(image, "status")));
        _cleanup_(history_done) History h = {};
        int k = history_load(g, name, channel, &h);
        if (k < 0)
                return k;
        json_t *current = h.depth > 0 ? h.stack[h.depth - 1] : NULL;
        if (ret_previous)
                *ret_previous = current ? xstrdup(image_id(current)) : NULL;
        if (current && streq_ptr(image_id(current), image_id(image)))
                return 0;
        k = history_append(g, &h, channel, image, "promote");
        if (k < 0)
                return k;
        return 1;
}

int glance_channel_resolve(Glance *g, const char *name, const char *channel, json_t **ret) {
        _cleanup_(history_done) History h = {};
        json_t *current = NULL;
        int k = history_load_current(g, name, channel, &h, &current);
        if (k < 0)
                return k;
        if (!image_active(current))
                return log_error_errno(-EKEYREVOKED, "channel '%s' points at glance image %s, which is '%s' (revoked); "
                                       "roll the channel back", channel, image_id(current),
                                       json_string_value(json_object_get(current, "status")));
        *ret = json_incref(current);
        return 0;
}

int glance_channel_rollback(Glance *g, const char *name, const char *channel, json_t **ret) {
        _cleanup_(history_done) History h = {};
        json_t *current = NULL;
        int k = history_load_current(g, name, channel, &h, &current);
        if (k < 0)
                return k;
        size_t n = h.depth - 1;
        while (n > 0 && (!image_active(h.stack[n - 1]) || h.stack[n - 1] == current))
                n--;
        if (n == 0)
                return log_error_errno(-ENOENT, "channel '%s' of '%s' has nothing active to roll back to", channel, name);
        k = history_append(g, &h, channel, h.stack[n - 1], "rollback");
        if (k < 0)
                return k;
        *ret = json_incref(h.stack[n - 1]);
        return 0;
}

char **glance_channel_names(json_t *images) {
        char **names = NULL;
        json_t *img, *tag;
        size_t i, j, pl = strlen(HISTORY_PREFIX);
        json_array_foreach(images, i, img)
                json_array_foreach(json_object_get(img, "tags"), j, tag) {
                        const char *t = json_string_value(tag), *colon;
                        if (!t || !startswith(t, HISTORY_PREFIX) || !(colon = strchr(t + pl, ':')))
                                continue;
                        _cleanup_free_ char *c = xstrndup(t + pl, (size_t) (colon - t - pl));
                        if (channel_name_valid(c) && !strv_contains((const char *const *) names, c))
                                strv_push(&names, NULL, TAKE_PTR(c));
                }
        strv_sort(names, strv_length((const char *const *) names));
        return names;
}

json_t *glance_channel_current(json_t *images, const char *channel) {
        _cleanup_(history_done) History h = history_build(images, channel);
        return h.depth > 0 ? h.stack[h.depth - 1] : NULL;
}

/* "ACTION:DATE:BY" after the sequence number: the fields as json (DATE is RFC 3339, 20 bytes). */
static json_t *entry_fields(const Entry *e) {
        const char *p = strchr(e->tag + strlen(HISTORY_PREFIX), ':') + 1; /* the sequence number */
        p = strchr(p, ':') + 1;                                            /* the action */
        const char *date = strchr(p, ':') + 1;
        bool dated = strlen(date) >= 20 && (date[20] == ':' || !date[20]);
        _cleanup_free_ char *d = dated ? xstrndup(date, 20) : NULL;
        return json_pack("{s:s, s:s*, s:s*}", "action", e->rollback ? "rollback" : "promote", "date", d, "by",
                         dated && date[20] ? date + 21 : NULL);
}

int glance_channel_report(Glance *g, const char *name, const char *channel, json_t **ret) {
        _cleanup_(history_done) History h = {};
        json_t *current = NULL;
        int k = history_load_current(g, name, channel, &h, &current);
        if (k < 0)
                return k;
        json_t *entries = json_array();
        for (size_t i = h.n; i > 0; i--) {
                const Entry *e = h.entries + i - 1;
                json_t *o = entry_fields(e);
                json_object_set_new(o, "image_id", json_string(image_id(e->image)));
                json_object_set(o, "digest", json_object_get(e->image, GLANCE_PROP_DIGEST) ?: json_null());
                json_object_set(o, "version", json_object_get(e->image, GLANCE_PROP_VERSION) ?: json_null());
                json_object_set(o, "status", json_object_get(e->image, "status") ?: json_null());
                json_object_set_new(o, "revoked", json_boolean(!image_active(e->image)));
                json_array_append_new(entries, o);
        }
        *ret = json_pack("{s:s, s:s, s:o}", "channel", channel, "current", image_id(current), "entries", entries);
        return 0;
}
