#include "manifest.h"

#include <time.h>

#include "log.h"
#include "util.h"

int manifest_write(const char *path, json_t *m) {
        _cleanup_free_ char *s = json_dumps(m, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        if (!s)
                return log_error_errno(-ENOMEM, "failed to serialise '%s'", path);
        _cleanup_free_ char *text = xasprintf("%s\n", s);
        int r = write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return log_error_errno(r, "failed to write '%s': %m", path);
        return 0;
}

int manifest_load(const char *path, json_t **ret) {
        json_error_t e;
        json_t *m = json_load_file(path, 0, &e);
        if (!m)
                return log_error_errno(-EINVAL, "%s:%d:%d: %s", path, e.line, e.column, e.text);
        static const char *const required[] = { "name", "bake_key", "image_digest", "outputs" };
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!json_object_get(m, required[i])) {
                        json_decref(m);
                        return log_error_errno(-EINVAL, "%s: not a baker manifest: no '%s'", path, required[i]);
                }
        if (!json_is_array(json_object_get(m, "outputs"))) {
                json_decref(m);
                return log_error_errno(-EINVAL, "%s: 'outputs' is not a list", path);
        }
        *ret = m;
        return 0;
}

char *manifest_time(long long epoch) {
        time_t t = (time_t) epoch;
        struct tm tm;
        gmtime_r(&t, &tm);
        char buf[32];
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(buf);
}
