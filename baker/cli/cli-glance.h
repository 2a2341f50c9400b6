#pragma once
/* The registry verbs on glance: references (glance.h): push, promote, resolve and rollback call
 * these when their reference starts with "glance:". Each returns an exit code (outcome.h). */
#include <stdbool.h>
#include <stddef.h>

int cli_glance_push(const char *input, const char *target, const char *format, char **channels, size_t n_channels,
                    bool json);
int cli_glance_promote(const char *source, const char *channel, bool json);
int cli_glance_resolve(const char *source, bool json);
int cli_glance_rollback(const char *source, const char *channel, bool json);
