#pragma once
/* Logging: levels, errno-style error returns, and masking of sensitive values. Every line baker
 * prints to a human goes through here, so a secret registered with log_add_secret() can never
 * reach a terminal or a CI log. */
#include <stdarg.h>
#include <stdbool.h>

#include "util.h"

typedef enum LogLevel {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_NOTICE, /* default: what a user wants to see */
        LOG_LEVEL_INFO,   /* -v */
        LOG_LEVEL_DEBUG,  /* -vv */
} LogLevel;

void log_set_max_level(LogLevel level);
LogLevel log_get_max_level(void);
bool log_is_tty(void);

/* Registers a value that must never be printed; it is replaced by "***" in every log line and in
 * whatever passes through log_mask(). Values shorter than 3 bytes are ignored (they would mask
 * ordinary text). */
void log_add_secret(const char *value);
void log_clear_secrets(void);
/* Returns a newly allocated copy of s with every registered secret replaced by "***". */
char *log_mask(const char *s);

/* Called around every line written to stderr (a live status line clears and redraws itself). */
void log_set_line_hooks(void (*before)(void), void (*after)(void));

/* For a caller that reports a failure itself, once: between log_capture_begin() and
 * log_capture_end() this thread's errors and warnings are not printed (only at debug level, -vv),
 * and the last one is kept. log_capture_end() returns it (masked; NULL when there was none). */
void log_capture_begin(void);
char *log_capture_end(void);

/* Logs and returns r (a negative errno), so callers can write `return log_error_errno(r, ...)`.
 * "%m" in the format expands to strerror(-r). */
int log_full_errno(LogLevel level, int r, const char *fmt, ...) _printf_(3, 4);
void log_full(LogLevel level, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_full(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_full(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_full(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_full(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_full(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_error_errno(r, ...) log_full_errno(LOG_LEVEL_ERROR, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_LEVEL_WARNING, (r), __VA_ARGS__)
#define log_debug_errno(r, ...) log_full_errno(LOG_LEVEL_DEBUG, (r), __VA_ARGS__)
