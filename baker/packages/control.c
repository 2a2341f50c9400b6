/* Debian control data (deb822); see control.h. */
#include "control.h"

#include <strings.h>

static void paragraph_done(ControlParagraph *p) {
        for (size_t i = 0; i < p->n_fields; i++) {
                free(p->fields[i].name);
                free(p->fields[i].value);
        }
        free(p->fields);
}

ControlFile *control_file_free(ControlFile *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_paragraphs; i++)
                paragraph_done(&f->paragraphs[i]);
        free(f->paragraphs);
        free(f);
        return NULL;
}

const char *control_get(const ControlParagraph *p, const char *name) {
        for (size_t i = 0; i < p->n_fields; i++)
                if (strcasecmp(p->fields[i].name, name) == 0)
                        return p->fields[i].value;
        return NULL;
}

static char *trimmed(const char *s, size_t n) {
        while (n > 0 && (*s == ' ' || *s == '\t'))
                s++, n--;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                n--;
        return xstrndup(s, n);
}

static ControlParagraph *current(ControlFile *f, bool *open, unsigned line) {
        if (!*open) {
                f->paragraphs = xrealloc(f->paragraphs, (f->n_paragraphs + 1) * sizeof(ControlParagraph));
                f->paragraphs[f->n_paragraphs++] = (ControlParagraph) { .line = line };
                *open = true;
        }
        return &f->paragraphs[f->n_paragraphs - 1];
}

static int add_line(ControlFile *f, bool *open, const char *s, size_t n, unsigned line) {
        if (s[0] == ' ' || s[0] == '\t') {
                if (!*open || f->paragraphs[f->n_paragraphs - 1].n_fields == 0)
                        return -EBADMSG;
                ControlParagraph *p = &f->paragraphs[f->n_paragraphs - 1];
                ControlField *fl = &p->fields[p->n_fields - 1];
                _cleanup_free_ char *more = trimmed(s, n);
                char *joined = xasprintf("%s\n%s", fl->value, more);
                free(fl->value);
                fl->value = joined;
                return 0;
        }
        const char *colon = memchr(s, ':', n);
        if (!colon || colon == s)
                return -EBADMSG;
        for (const char *c = s; c < colon; c++)
                if (*c <= ' ' || *c > '~')
                        return -EBADMSG;
        ControlParagraph *p = current(f, open, line);
        p->fields = xrealloc(p->fields, (p->n_fields + 1) * sizeof(ControlField));
        p->fields[p->n_fields++] = (ControlField) {
                .name = xstrndup(s, (size_t) (colon - s)),
                .value = trimmed(colon + 1, n - (size_t) (colon + 1 - s)),
        };
        return 0;
}

static bool blank(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        return false;
        return true;
}

int control_parse(const char *data, size_t size, ControlFile **ret, unsigned *ret_line) {
        _cleanup_(control_file_freep) ControlFile *f = xcalloc(1, sizeof(ControlFile));
        bool open = false;
        unsigned line = 0;
        for (size_t pos = 0; pos < size;) {
                const char *s = data + pos;
                const char *nl = memchr(s, '\n', size - pos);
                size_t n = nl ? (size_t) (nl - s) : size - pos;
                pos += n + (nl ? 1 : 0);
                line++;
                if (n == 0 || blank(s, n)) {
                        open = false;
                        continue;
                }
                if (s[0] == '#')
                        continue;
                if (memchr(s, 0, n) || add_line(f, &open, s, n, line) < 0) {
                        if (ret_line)
                                *ret_line = line;
                        return -EBADMSG;
                }
        }
        *ret = TAKE_PTR(f);
        return 0;
}
