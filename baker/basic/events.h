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
