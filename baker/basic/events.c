#include "events.h"

#include <stdio.h>
#include <time.h>

#include "log.h"

static bool json_mode;
static double start_time = -1;

void events_set_json(bool json) {
        json_mode = json;
}

bool events_json(void) {
        return json_mode;
}

void event_emit(const char *type, json_t *fields, const char *human) {
        if (start_time < 0)
                start_time = now_seconds();
        if (!json_mode) {
                if (human)
                        log_notice("%s", human);
                json_decref(fields);
                return;
        }
        json_t *o = fields ? fields : json_object();
        json_object_set_new(o, "event", json_string(type));
        json_object_set_new(o, "time", json_real((double) (long) ((now_seconds() - start_time) * 1000) / 1000));
        char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
        _cleanup_free_ char *masked = log_mask(s);
        free(s);
        json_decref(o);
        fputs(masked, stdout);
        fputc('\n', stdout);
        fflush(stdout);
}
