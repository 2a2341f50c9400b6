#pragma once
/* The registry verbs on glance: references (glance.h): push, promote, resolve and rollback call
 * these when their reference starts with "glance:" (revoke, gc and history too; pull calls glance_pull). Each returns an exit code (outcome.h). */
#include <stdbool.h>
#include <stddef.h>

#include "versions.h"

struct GlancePublishOptions;
/* o: format, channels, visibility and members from the command line. */
int cli_glance_push(const char *input, const char *target, const struct GlancePublishOptions *o, bool json);
int cli_glance_promote(const char *source, const char *channel, bool json);
int cli_glance_resolve(const char *source, bool json);
int cli_glance_rollback(const char *source, const char *channel, bool json);
int cli_glance_revoke(const char *source, const char *reason, bool json);
int cli_glance_gc(const char *source, const GcOptions *opts, bool json);
int cli_glance_history(const char *source, const char *channel, bool json);
