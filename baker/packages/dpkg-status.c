/* dpkg status and os-release, read offline; see dpkg-status.h. */
#include "dpkg-status.h"

#include "control.h"

static bool status_on_disk(const char *status) {
        /* "want flag state": the files are there in every state but these two. */
        const char *state = status ? strrchr(status, ' ') : NULL;
        if (!state)
                return false;
        state++;
        return !streq(state, "not-installed") && !streq(state, "config-files");
}

int dpkg_status_parse(const char *data, size_t size, DebPackageSet *ret, unsigned *ret_line) {
        _cleanup_(control_file_freep) ControlFile *f = NULL;
        int r = control_parse(data, size, &f, ret_line);
        if (r < 0)
                return r;
        DebPackageSet set = {};
        for (size_t i = 0; i < f->n_paragraphs; i++) {
                const ControlParagraph *p = &f->paragraphs[i];
                const char *name = control_get(p, "Package"), *version = control_get(p, "Version");
                if (!status_on_disk(control_get(p, "Status")))
                        continue;
                if (!name || !version) {
                        deb_package_set_done(&set);
                        if (ret_line)
                                *ret_line = p->line;
                        return -EBADMSG;
                }
                DebPackage pkg = {
                        .name = (char *) name,
                        .version = (char *) version,
                        .architecture = (char *) control_get(p, "Architecture"),
                };
                deb_package_set_add(&set, &pkg);
                deb_package_set_source(&set.packages[set.n - 1], control_get(p, "Source"));
        }
        /* A multi-arch system lists libc6:amd64 and libc6:i386 apart, which sort keeps apart too. */
        r = deb_package_set_sort(&set);
        if (r < 0) {
                deb_package_set_done(&set);
                if (ret_line)
                        *ret_line = 0;
                return -EBADMSG;
        }
        *ret = set;
        return 0;
}

void os_release_done(OsRelease *o) {
        free(o->id);
        free(o->version_id);
        free(o->version_codename);
        *o = (OsRelease) {};
}

static char *unquote(const char *s, size_t n) {
        if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0])
                return xstrndup(s + 1, n - 2);
        return xstrndup(s, n);
}

void os_release_parse(const char *data, size_t size, OsRelease *ret) {
        OsRelease o = {};
        for (size_t pos = 0; pos < size;) {
                const char *s = data + pos;
                const char *nl = memchr(s, '\n', size - pos);
                size_t n = nl ? (size_t) (nl - s) : size - pos;
                pos += n + (nl ? 1 : 0);
                const char *eq = memchr(s, '=', n);
                if (!eq)
                        continue;
                size_t klen = (size_t) (eq - s);
                char **slot = klen == 2 && strncmp(s, "ID", 2) == 0                 ? &o.id
                              : klen == 10 && strncmp(s, "VERSION_ID", 10) == 0       ? &o.version_id
                              : klen == 16 && strncmp(s, "VERSION_CODENAME", 16) == 0 ? &o.version_codename
                                                                                       : NULL;
                if (!slot)
                        continue;
                free(*slot);
                *slot = unquote(eq + 1, n - klen - 1);
        }
        *ret = o;
}

char *os_release_distro(const OsRelease *o) {
        if (!o->id)
                return NULL;
        if (o->version_id && *o->version_id)
                return xasprintf("%s-%s", o->id, o->version_id);
        if (o->version_codename && *o->version_codename)
                return xasprintf("%s-%s", o->id, o->version_codename);
        return NULL;
}
