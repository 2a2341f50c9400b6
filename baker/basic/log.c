#include "log.h"

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

static void add_secret(const char *value) {
        for (size_t i = 0; i < n_secrets; i++)
                if (streq(secrets[i], value))
                        return;
        secrets = xrealloc(secrets, (n_secrets + 1) * sizeof(char *));
        secrets[n_secrets++] = xstrdup(value);
}

/* A value with a single quote also travels shell-quoted ('it'\''s'), e.g. in the run-step wrapper
 * that debug logs show: mask that spelling too. */
static void add_shell_quoted_variant(const char *value) {
        if (!strchr(value, '\''))
                return;
        _cleanup_free_ char *q = shell_quote_inner(value);
        add_secret(q);
}

void log_add_secret(const char *value) {
        if (!value || strlen(value) < 3)
                return;
        add_secret(value);
        add_shell_quoted_variant(value);
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

static void log_va(LogLevel level, int r, const char *fmt, va_list ap) {
        if (level > max_level)
                return;
        int saved = errno;
        if (r < 0)
                errno = -r;
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
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
