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

json_t *json_mask(json_t *j) {
        switch (json_typeof(j)) {
        case JSON_STRING: {
                _cleanup_free_ char *m = log_mask(json_string_value(j));
                return json_string(m);
        }
        case JSON_ARRAY: {
                json_t *a = json_array(), *v;
                size_t i;
                json_array_foreach(j, i, v)
                        json_array_append_new(a, json_mask(v));
                return a;
        }
        case JSON_OBJECT: {
                json_t *o = json_object(), *v;
                const char *k;
                json_object_foreach(j, k, v) {
                        _cleanup_free_ char *mk = log_mask(k);
                        json_object_set_new(o, mk, json_mask(v));
                }
                return o;
        }
        default:
                return json_incref(j);
        }
}

char *json_dumps_masked(json_t *j, size_t flags) {
        json_t *m = json_mask(j);
        char *s = json_dumps(m, flags | JSON_SORT_KEYS | JSON_REAL_PRECISION(6) | JSON_ENCODE_ANY);
        json_decref(m);
        if (!s)
                abort();
        return s;
}

void events_print_document(json_t *doc) {
        _cleanup_free_ char *s = json_dumps_masked(doc ? doc : json_null(), JSON_INDENT(2));
        json_decref(doc);
        puts(s);
        fflush(stdout);
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
        _cleanup_free_ char *masked = json_dumps_masked(o, JSON_COMPACT);
        json_decref(o);
        fputs(masked, stdout);
        fputc('\n', stdout);
        fflush(stdout);
}
