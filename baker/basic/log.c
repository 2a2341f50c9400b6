#include "log.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static LogLevel max_level = LOG_LEVEL_NOTICE;
static void (*line_before)(void), (*line_after)(void);
static char **secrets;
static size_t n_secrets;

void log_set_line_hooks(void (*before)(void), void (*after)(void)) {
        line_before = before;
        line_after = after;
}

void log_set_max_level(LogLevel level) {
        max_level = level;
}

LogLevel log_get_max_level(void) {
        return max_level;
}

bool log_is_tty(void) {
        return isatty(STDERR_FILENO) == 1;
}

/* Longest first, so that a secret is masked whole before any of its lines or a shorter secret
 * inside it is. */
static void add_secret(const char *value) {
        size_t len = strlen(value), at = n_secrets;
        if (len < 3)
                return;
        for (size_t i = 0; i < n_secrets; i++) {
                if (streq(secrets[i], value))
                        return;
                if (at == n_secrets && strlen(secrets[i]) < len)
                        at = i;
        }
        secrets = xrealloc(secrets, (n_secrets + 1) * sizeof(char *));
        memmove(secrets + at + 1, secrets + at, (n_secrets - at) * sizeof(char *));
        secrets[at] = xstrdup(value);
        n_secrets++;
}

/* value with every character in `special` replaced by its escape (from escape(), which writes
 * at most 6 bytes and returns how many): NULL when nothing needed escaping. */
static char *escaped(const char *value, const char *special, size_t (*escape)(char c, char out[8])) {
        if (!strpbrk(value, special))
                return NULL;
        char *q = xmalloc(strlen(value) * 6 + 1), *o = q;
        for (const char *p = value; *p; p++) {
                char e[8];
                size_t n = strchr(special, *p) ? escape(*p, e) : (e[0] = *p, 1);
                memcpy(o, e, n);
                o += n;
        }
        *o = 0;
        return q;
}

/* In double quotes, or printed by a shell's printf %q: a backslash before " \ $ ` */
static size_t escape_backslash(char c, char out[8]) {
        out[0] = '\\';
        out[1] = c;
        return 2;
}

/* Inside a JSON string, as another program's JSON output (a step printing it) spells it. */
static size_t escape_json(char c, char out[8]) {
        static const char named[] = { ['"'] = '"', ['\\'] = '\\', ['\n'] = 'n', ['\t'] = 't', ['\r'] = 'r',
                                      ['\b'] = 'b', ['\f'] = 'f' };
        if ((unsigned char) c < sizeof named && named[(unsigned char) c]) {
                out[0] = '\\';
                out[1] = named[(unsigned char) c];
                return 2;
        }
        return (size_t) snprintf(out, 8, "\\u%04x", (unsigned char) c);
}

static const char json_special[] = "\"\\\n\t\r\b\f\x01\x02\x03\x04\x05\x06\x07\x0b\x0e\x0f\x10\x11\x12"
                                   "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f";

static void add_with_spellings(const char *value) {
        add_secret(value);
        /* Single-quoted as the run-step wrapper that debug logs show quotes it: 'it'\''s'. */
        char *v[] = { strchr(value, '\'') ? shell_quote_inner(value) : NULL, escaped(value, "\"\\$`", escape_backslash),
                      escaped(value, json_special, escape_json) };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                if (v[i])
                        add_secret(v[i]);
                free(v[i]);
        }
}

void log_add_secret(const char *value) {
        if (!value || strlen(value) < 3)
                return;
        add_with_spellings(value);
        /* Output is masked line by line (a run step's output, the console log): a multi-line value
         * (a PEM key) is masked in each of its lines too. */
        if (!strchr(value, '\n'))
                return;
        _cleanup_free_ char *copy = xstrdup(value);
        for (char *save = NULL, *l = strtok_r(copy, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save))
                if (strspn(l, " \t") < strlen(l))
                        add_with_spellings(l);
}

void log_clear_secrets(void) {
        for (size_t i = 0; i < n_secrets; i++)
                free(secrets[i]);
        free(secrets);
        secrets = NULL;
        n_secrets = 0;
}

char *log_mask(const char *s) {
        char *out = xstrdup(s ? s : "");
        for (size_t i = 0; i < n_secrets; i++) {
                const char *secret = secrets[i];
                size_t ls = strlen(secret);
                char *hit;
                while ((hit = strstr(out, secret))) {
                        char *n = xasprintf("%.*s***%s", (int) (hit - out), out, hit + ls);
                        free(out);
                        out = n;
                }
        }
        return out;
}

static void log_write(LogLevel level, const char *msg) {
        static const char *const prefix[] = {
                [LOG_LEVEL_ERROR] = "error: ",
                [LOG_LEVEL_WARNING] = "warning: ",
        };
        _cleanup_free_ char *masked = log_mask(msg);
        const char *p = level <= LOG_LEVEL_WARNING ? prefix[level] : "";
        bool color = log_is_tty() && level <= LOG_LEVEL_WARNING && !getenv("NO_COLOR");
        void (*before)(void) = line_before, (*after)(void) = line_after;
        if (before)
                before();
        if (color)
                fprintf(stderr, "%s%s\033[0m%s\n", level == LOG_LEVEL_ERROR ? "\033[1;31m" : "\033[1;33m", p,
                        masked);
        else
                fprintf(stderr, "%s%s\n", p, masked);
        if (after)
                after();
}

static _Thread_local unsigned capturing;
static _Thread_local char *captured;

void log_capture_begin(void) {
        capturing++;
}

char *log_capture_end(void) {
        assert(capturing > 0);
        if (--capturing > 0)
                return NULL;
        char *c = captured;
        captured = NULL;
        return c;
}

static void log_va(LogLevel level, int r, const char *fmt, va_list ap) {
        bool capture = capturing > 0 && level <= LOG_LEVEL_WARNING;
        if (!capture && level > max_level)
                return;
        int saved = errno;
        if (r < 0)
                errno = -r;
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        if (capture) {
                free(captured);
                captured = log_mask(msg);
                if (LOG_LEVEL_DEBUG <= max_level)
                        log_write(LOG_LEVEL_DEBUG, msg);
        } else
                log_write(level, msg);
        free(msg);
        errno = saved;
}

int log_full_errno(LogLevel level, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_va(level, r, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -r;
}

void log_full(LogLevel level, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_va(level, 0, fmt, ap);
        va_end(ap);
}
