#include "stamp.h"

#include "util.h"
#include "version.h"

static char *os_release_quote(const char *v) {
        /* os-release values are shell-style: double quotes, with \ " $ ` escaped. */
        size_t n = strlen(v);
        char *out = xmalloc(2 * n + 3), *p = out;
        *p++ = '"';
        for (; *v; v++) {
                if (*v == '\n')
                        continue;
                if (strchr("\\\"$`", *v))
                        *p++ = '\\';
                *p++ = *v;
        }
        *p++ = '"';
        *p = 0;
        return out;
}

char *stamp_os_release(const char *old, const char *image_id, const char *image_version) {
        _cleanup_free_ char *qid = os_release_quote(image_id), *qver = os_release_quote(image_version ? image_version : "");
        size_t cap = (old ? strlen(old) : 0) + strlen(qid) + strlen(qver) + 64;
        char *out = xmalloc(cap), *p = out;
        bool have_id = false, have_ver = false;
        const char *line = old ? old : "";
        while (*line) {
                const char *eol = strchr(line, '\n');
                size_t len = eol ? (size_t) (eol - line) : strlen(line);
                if (len >= 9 && startswith(line, "IMAGE_ID=")) {
                        if (!have_id)
                                p += sprintf(p, "IMAGE_ID=%s\n", qid);
                        have_id = true;
                } else if (len >= 14 && startswith(line, "IMAGE_VERSION=")) {
                        if (!have_ver && image_version)
                                p += sprintf(p, "IMAGE_VERSION=%s\n", qver);
                        have_ver = true;
                } else {
                        memcpy(p, line, len);
                        p += len;
                        *p++ = '\n';
                }
                line += len + (eol ? 1 : 0);
        }
        if (!have_id)
                p += sprintf(p, "IMAGE_ID=%s\n", qid);
        if (!have_ver && image_version)
                p += sprintf(p, "IMAGE_VERSION=%s\n", qver);
        *p = 0;
        return out;
}

char *stamp_json(const char *name, const char *version, const char *bake_key, json_t *inputs) {
        json_t *o = json_pack("{s:s, s:s*, s:s, s:o, s:s}", "name", name, "version", version, "bake_key", bake_key,
                              "inputs", inputs ? json_incref(inputs) : json_object(), "baker_version", BAKER_VERSION);
        char *s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2));
        json_decref(o);
        char *out = xasprintf("%s\n", s);
        free(s);
        return out;
}
