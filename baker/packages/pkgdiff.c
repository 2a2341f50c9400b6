/* Package set differences; see pkgdiff.h. */
#include "pkgdiff.h"

#include <jansson.h>

static int cmp(const DebPackage *x, const DebPackage *y) {
        int c = strcmp(x->name, y->name);
        if (c != 0)
                return c;
        return strcmp(x->architecture ? x->architecture : "", y->architecture ? y->architecture : "");
}

static void add(PackageDiff *d, const DebPackage *p, const char *old_version, const char *new_version) {
        d->changes = xrealloc(d->changes, (d->n + 1) * sizeof(PackageChange));
        d->changes[d->n++] = (PackageChange) {
                .name = xstrdup(p->name),
                .old_version = old_version ? xstrdup(old_version) : NULL,
                .new_version = new_version ? xstrdup(new_version) : NULL,
        };
        if (!old_version)
                d->n_added++;
        else if (!new_version)
                d->n_removed++;
        else
                d->n_changed++;
}

static bool content_differs(const DebPackage *x, const DebPackage *y) {
        if (!streq_ptr(x->version, y->version))
                return true;
        return x->has_sha256 && y->has_sha256 && memcmp(x->sha256, y->sha256, DIGEST_SIZE) != 0;
}

void package_diff(const DebPackageSet *a, const DebPackageSet *b, PackageDiff *ret) {
        PackageDiff d = {};
        size_t i = 0, j = 0;
        while (i < a->n || j < b->n) {
                int c = i >= a->n ? 1 : j >= b->n ? -1 : cmp(&a->packages[i], &b->packages[j]);
                if (c < 0) {
                        add(&d, &a->packages[i], a->packages[i].version, NULL);
                        i++;
                } else if (c > 0) {
                        add(&d, &b->packages[j], NULL, b->packages[j].version);
                        j++;
                } else {
                        if (content_differs(&a->packages[i], &b->packages[j]))
                                add(&d, &a->packages[i], a->packages[i].version, b->packages[j].version);
                        i++, j++;
                }
        }
        *ret = d;
}

void package_diff_done(PackageDiff *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->changes[i].name);
                free(d->changes[i].old_version);
                free(d->changes[i].new_version);
        }
        free(d->changes);
        *d = (PackageDiff) {};
}

char *package_change_to_string(const PackageChange *c) {
        if (!c->old_version)
                return xasprintf("+ %s %s", c->name, c->new_version);
        if (!c->new_version)
                return xasprintf("- %s %s", c->name, c->old_version);
        if (streq(c->old_version, c->new_version))
                return xasprintf("%s %s (rebuilt)", c->name, c->new_version);
        return xasprintf("%s %s -> %s", c->name, c->old_version, c->new_version);
}

static json_t *string_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

json_t *package_diff_to_json(const PackageDiff *d) {
        json_t *a = json_array();
        for (size_t i = 0; i < d->n; i++)
                json_array_append_new(a, json_pack("{s:s, s:o, s:o}", "name", d->changes[i].name, "old",
                                                   string_or_null(d->changes[i].old_version), "new",
                                                   string_or_null(d->changes[i].new_version)));
        return a;
}

int package_diff_from_json(const json_t *j, PackageDiff *ret) {
        if (!json_is_array(j))
                return -EBADMSG;
        PackageDiff d = {};
        size_t i;
        json_t *c;
        json_array_foreach(j, i, c) {
                const char *name = json_string_value(json_object_get(c, "name"));
                json_t *o = json_object_get(c, "old"), *n = json_object_get(c, "new");
                if (!name || !(json_is_string(o) || json_is_null(o)) || !(json_is_string(n) || json_is_null(n)) ||
                    (json_is_null(o) && json_is_null(n))) {
                        package_diff_done(&d);
                        return -EBADMSG;
                }
                DebPackage p = { .name = (char *) name };
                add(&d, &p, json_string_value(o), json_string_value(n));
        }
        *ret = d;
        return 0;
}
