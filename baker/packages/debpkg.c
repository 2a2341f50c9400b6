/* Sets of Debian packages; see debpkg.h. */
#include "debpkg.h"

#include <ctype.h>

void deb_package_done(DebPackage *p) {
        free(p->name);
        free(p->version);
        free(p->architecture);
        free(p->source);
        free(p->source_version);
        free(p->repository);
        free(p->filename);
        *p = (DebPackage) {};
}

void deb_package_set_done(DebPackageSet *s) {
        for (size_t i = 0; i < s->n; i++)
                deb_package_done(&s->packages[i]);
        free(s->packages);
        *s = (DebPackageSet) {};
}

static char *dup_or_null(const char *s) {
        return s ? xstrdup(s) : NULL;
}

void deb_package_set_add(DebPackageSet *s, const DebPackage *p) {
        s->packages = xrealloc(s->packages, (s->n + 1) * sizeof(DebPackage));
        DebPackage *q = &s->packages[s->n++];
        *q = *p;
        q->name = dup_or_null(p->name);
        q->version = dup_or_null(p->version);
        q->architecture = dup_or_null(p->architecture);
        q->source = dup_or_null(p->source);
        q->source_version = dup_or_null(p->source_version);
        q->repository = dup_or_null(p->repository);
        q->filename = dup_or_null(p->filename);
}

static int compare(const void *a, const void *b) {
        const DebPackage *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        if (c != 0)
                return c;
        return strcmp(x->architecture ? x->architecture : "", y->architecture ? y->architecture : "");
}

int deb_package_set_sort(DebPackageSet *s) {
        if (s->n > 1)
                qsort(s->packages, s->n, sizeof(DebPackage), compare);
        for (size_t i = 1; i < s->n; i++)
                if (compare(&s->packages[i - 1], &s->packages[i]) == 0)
                        return -EEXIST;
        return 0;
}

const DebPackage *deb_package_set_find(const DebPackageSet *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->packages[i].name, name))
                        return &s->packages[i];
        return NULL;
}

void deb_package_set_digest(const DebPackageSet *s, uint8_t ret[DIGEST_SIZE]) {
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update_string(d, "baker-debs-v1");
        for (size_t i = 0; i < s->n; i++) {
                const DebPackage *p = &s->packages[i];
                digest_update_string(d, p->name);
                digest_update_string(d, p->architecture ? p->architecture : "");
                digest_update_string(d, p->version ? p->version : "");
                static const uint8_t none[DIGEST_SIZE];
                digest_update(d, p->has_sha256 ? p->sha256 : none, DIGEST_SIZE);
        }
        digest_final(d, ret);
}

void deb_package_set_source(DebPackage *p, const char *field) {
        free(p->source);
        free(p->source_version);
        p->source = p->source_version = NULL;
        if (!field || !*field)
                return;
        const char *sp = strchr(field, ' ');
        if (!sp) {
                p->source = xstrdup(field);
                return;
        }
        p->source = xstrndup(field, (size_t) (sp - field));
        const char *open = strchr(sp, '('), *close = open ? strchr(open, ')') : NULL;
        if (open && close && close > open + 1)
                p->source_version = xstrndup(open + 1, (size_t) (close - open - 1));
}

/* purl-spec: percent-encode everything but unreserved characters. */
static void append_encoded(char **buf, size_t *len, const char *s) {
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                bool keep = isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
                *buf = xrealloc(*buf, *len + 4);
                if (keep)
                        (*buf)[(*len)++] = (char) c;
                else
                        *len += (size_t) snprintf(*buf + *len, 4, "%%%02X", c);
        }
        (*buf)[*len] = 0;
}

char *deb_package_purl(const DebPackage *p, const char *vendor, const char *distro) {
        char *buf = xstrdup("pkg:deb/");
        size_t len = strlen(buf);
        append_encoded(&buf, &len, vendor);
        buf = xrealloc(buf, len + 2), buf[len++] = '/', buf[len] = 0;
        append_encoded(&buf, &len, p->name);
        buf = xrealloc(buf, len + 2), buf[len++] = '@', buf[len] = 0;
        append_encoded(&buf, &len, p->version);
        char *r = xasprintf("%s?arch=%s%s%s", buf, p->architecture ? p->architecture : "all",
                            distro ? "&distro=" : "", distro ? distro : "");
        free(buf);
        return r;
}
