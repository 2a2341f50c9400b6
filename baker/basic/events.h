#pragma once
/* What a long-running verb tells its user: human lines on stderr (a live line on a terminal), or,
 * with --json, one JSON object per line on stdout ("JSON lines"), each with "event" and "time".
 * Every string goes through log_mask(), so sensitive values never appear in either form. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "time-util.h" /* now_seconds() */

void events_set_json(bool json);
bool events_json(void);

/* Emits one event; takes ownership of fields (may be NULL). In human mode, `human` (may be NULL)
 * is printed as a line instead. */
void event_emit(const char *type, json_t *fields, const char *human);

/* A copy of j in which every string, keys included, has the registered secrets masked
 * (log_mask()). Masking happens before encoding, so a secret holding '"' or '\\' cannot slip
 * through in its JSON-escaped spelling. */
json_t *json_mask(json_t *j);
/* The one encoder of JSON that baker prints: masked, sorted keys, reals with 6 significant digits;
 * flags adds JSON_INDENT(n) or JSON_COMPACT. */
char *json_dumps_masked(json_t *j, size_t flags);
/* Prints one JSON document (2-space indent) and a newline on stdout; consumes doc. Every verb's
 * --json output goes through here. */
void events_print_document(json_t *doc);
