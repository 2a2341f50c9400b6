#include "events.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

/* $BAKER_EVENTS_FD: a descriptor that receives every event as a JSON line whatever the mode (a
 * parent `baker bake` running many bakes reads each child's results there). -1 when unset. */
static int events_fd(void) {
        static int fd = -2;
        if (fd == -2) {
                const char *e = getenv("BAKER_EVENTS_FD");
                char *end = NULL;
                long v = e ? strtol(e, &end, 10) : -1;
                fd = e && end && !*end && v > 2 && v < 1024 && fcntl((int) v, F_GETFD) >= 0 ? (int) v : -1;
                if (fd >= 0)
                        (void) fcntl(fd, F_SETFD, FD_CLOEXEC); /* not for the tools a bake runs */
        }
        return fd;
}

void event_emit(const char *type, json_t *fields, const char *human) {
        if (start_time < 0)
                start_time = now_seconds();
        if (!json_mode && human)
                log_notice("%s", human);
        if (!json_mode && events_fd() < 0) {
                json_decref(fields);
                return;
        }
        json_t *o = fields ? fields : json_object();
        json_object_set_new(o, "event", json_string(type));
        json_object_set_new(o, "time", json_real((double) (long) ((now_seconds() - start_time) * 1000) / 1000));
        _cleanup_free_ char *masked = json_dumps_masked(o, JSON_COMPACT);
        json_decref(o);
        if (events_fd() >= 0) {
                _cleanup_free_ char *line = xasprintf("%s\n", masked);
                (void) write_all(events_fd(), line, strlen(line));
        }
        if (!json_mode)
                return;
        fputs(masked, stdout);
        fputc('\n', stdout);
        fflush(stdout);
}
