#include "progress.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "events.h"
#include "log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t ticker;
static char *label; /* non-NULL while a status line is active */
static double started;
static bool shown;

/* Both called with lock held. */
static void draw(void) {
        fprintf(stderr, "\r\033[K%s  %.0fs", label, now_seconds() - started);
        fflush(stderr);
        shown = true;
}

static void clear(void) {
        if (!shown)
                return;
        fputs("\r\033[K", stderr);
        fflush(stderr);
        shown = false;
}

static void hook_before(void) {
        pthread_mutex_lock(&lock);
        clear();
}

static void hook_after(void) {
        if (label)
                draw();
        pthread_mutex_unlock(&lock);
}

static void *tick(void *arg) {
        pthread_mutex_lock(&lock);
        while (label) {
                draw();
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 500 * 1000 * 1000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&wake, &lock, &ts);
        }
        clear();
        pthread_mutex_unlock(&lock);
        return NULL;
}

void progress_begin(const char *text) {
        if (!log_is_tty() || events_json() || log_get_max_level() < LOG_LEVEL_NOTICE)
                return;
        progress_end();
        _cleanup_free_ char *masked = log_mask(text);
        pthread_mutex_lock(&lock);
        label = TAKE_PTR(masked);
        started = now_seconds();
        pthread_mutex_unlock(&lock);
        log_set_line_hooks(hook_before, hook_after);
        if (pthread_create(&ticker, NULL, tick, NULL) != 0) {
                pthread_mutex_lock(&lock);
                label = mfree(label);
                pthread_mutex_unlock(&lock);
                log_set_line_hooks(NULL, NULL);
        }
}

void progress_end(void) {
        pthread_mutex_lock(&lock);
        if (!label) {
                pthread_mutex_unlock(&lock);
                return;
        }
        label = mfree(label);
        pthread_cond_signal(&wake);
        pthread_mutex_unlock(&lock);
        pthread_join(ticker, NULL);
        log_set_line_hooks(NULL, NULL);
}
