/* Many bakes at once: see fleet.h. One child process per target keeps each bake exactly what a
 * single `baker bake` is (its own appliance, its own clean-up on SIGTERM), and the parent small:
 * spawn, poll the pipes, prefix lines, reap, summarise. */
#include "fleet.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "strv.h"
#include "time-util.h"

#define EVENTS_FD 3
#define LINE_MAX_BYTES (64 * 1024)

extern char **environ;

typedef enum TargetState {
        TARGET_PENDING,
        TARGET_RUNNING,
        TARGET_DONE,
} TargetState;

typedef struct Stream {
        int fd;
        char *buf;
        size_t len;
} Stream;

enum { STREAM_OUT, STREAM_ERR, STREAM_EVENTS, _STREAM_MAX };

typedef struct Target {
        const BakeTarget *def;
        TargetState state;
        pid_t pid;
        Stream streams[_STREAM_MAX];
        double started, seconds;
        int exit_status;         /* 0-255, 128+N for a signal */
        bool stopped;            /* we sent SIGTERM */
        char *status;            /* "baked", "unchanged" from the events; set at the end otherwise */
        char *image_digest;
} Target;

typedef struct Fleet {
        const FleetOptions *o;
        Target *targets;
        size_t n, next, running;
        bool stopping;
        int first_failure;       /* exit status of the first target that failed, 0 if none */
} Fleet;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
        interrupted = 1;
}

char **fleet_child_args(const FleetOptions *o, const BakeTarget *t) {
        const BakeOptions *b = o->bake;
        char **a = NULL;
        size_t n = 0;
        /* Every option of `baker bake` that applies to each target (keep in step with verb-bake.c). */
        strv_push(&a, &n, xstrdup("bake"));
        if (b->json)
                strv_push(&a, &n, xstrdup("--json"));
        if (b->template.allow_unpinned)
                strv_push(&a, &n, xstrdup("--allow-unpinned"));
        if (b->cache_dir)
                strv_push(&a, &n, xasprintf("--cache=%s", b->cache_dir));
        if (b->rebuild)
                strv_push(&a, &n, xstrdup("--rebuild"));
        if (b->refresh)
                strv_push(&a, &n, xstrdup("--refresh"));
        if (b->skip_test)
                strv_push(&a, &n, xstrdup("--skip-test"));
        if (b->no_publish)
                strv_push(&a, &n, xstrdup("--no-publish"));
        for (char **r = b->cache_from; r && *r; r++)
                strv_push(&a, &n, xasprintf("--cache-from=%s", *r));
        for (char **r = b->cache_to; r && *r; r++)
                strv_push(&a, &n, xasprintf("--cache-to=%s", *r));
        /* The target's own variables first, the command line's after: the last --var wins. */
        for (char **f = t->var_files; f && *f; f++)
                strv_push(&a, &n, xasprintf("--var-file=%s", *f));
        for (size_t i = 0; i < b->vars.n_files; i++)
                strv_push(&a, &n, xasprintf("--var-file=%s", b->vars.files[i]));
        for (char **v = t->vars; v && *v; v++)
                strv_push(&a, &n, xasprintf("--var=%s", *v));
        for (size_t i = 0; i < b->vars.n_assignments; i++)
                strv_push(&a, &n, xasprintf("--var=%s", b->vars.assignments[i]));
        if (t->output_dir)
                strv_push(&a, &n, xasprintf("--output=%s", t->output_dir));
        else
                strv_push(&a, &n, xasprintf("--output=%s/%s", b->output_dir ? b->output_dir : "output", t->name));
        strv_push(&a, &n, xstrdup("--"));
        strv_push(&a, &n, xstrdup(t->template_path));
        return a;
}

static int spawn_target(Fleet *f, Target *t) {
        int fds[_STREAM_MAX][2];
        for (int i = 0; i < _STREAM_MAX; i++)
                if (pipe2(fds[i], O_CLOEXEC) < 0) {
                        int r = -errno;
                        for (int j = 0; j < i; j++)
                                close(fds[j][0]), close(fds[j][1]);
                        return log_error_errno(r, "failed to create a pipe: %m");
                }
        _cleanup_strv_free_ char **argv = NULL;
        size_t n = 0;
        strv_push(&argv, &n, xstrdup("baker"));
        LogLevel level = log_get_max_level();
        if (level < LOG_LEVEL_NOTICE)
                strv_push(&argv, &n, xstrdup("-q"));
        for (LogLevel l = LOG_LEVEL_NOTICE; l < level; l++)
                strv_push(&argv, &n, xstrdup("-v"));
        _cleanup_strv_free_ char **args = fleet_child_args(f->o, t->def);
        for (char **a = args; *a; a++)
                strv_push(&argv, &n, xstrdup(*a));
        _cleanup_strv_free_ char **env = NULL;
        size_t ne = 0;
        for (char **e = environ; *e; e++)
                if (!startswith(*e, "BAKER_EVENTS_FD="))
                        strv_push(&env, &ne, xstrdup(*e));
        strv_push(&env, &ne, xasprintf("BAKER_EVENTS_FD=%d", EVENTS_FD));

        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, fds[STREAM_OUT][1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, fds[STREAM_ERR][1], STDERR_FILENO);
        posix_spawn_file_actions_adddup2(&fa, fds[STREAM_EVENTS][1], EVENTS_FD);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none, dfl;
        sigemptyset(&none);
        sigemptyset(&dfl);
        sigaddset(&dfl, SIGINT);
        sigaddset(&dfl, SIGTERM);
        sigaddset(&dfl, SIGHUP);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &dfl);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        int r = posix_spawn(&t->pid, "/proc/self/exe", &fa, &attr, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        for (int i = 0; i < _STREAM_MAX; i++) {
                close(fds[i][1]);
                if (r != 0)
                        close(fds[i][0]);
                else {
                        (void) fcntl(fds[i][0], F_SETFL, O_NONBLOCK);
                        t->streams[i] = (Stream) { .fd = fds[i][0] };
                }
        }
        if (r != 0)
                return log_error_errno(-r, "failed to start the bake of '%s': %m", t->def->name);
        t->state = TARGET_RUNNING;
        t->started = now_seconds();
        f->running++;
        if (!events_json())
                log_notice("[%s] started: %s", t->def->name, t->def->template_path);
        return 0;
}

/* A result from the child's own events: the finished bake's status and digest. */
static void take_event(Target *t, const char *line) {
        json_t *e = json_loads(line, 0, NULL);
        const char *type = json_string_value(json_object_get(e, "event"));
        if (streq_ptr(type, "bake-end")) {
                const char *status = json_string_value(json_object_get(e, "status"));
                const char *dig = json_string_value(json_object_get(e, "image_digest"));
                free(t->status);
                t->status = xstrdup(streq_ptr(status, "unchanged") ? "unchanged" : "baked");
                free(t->image_digest);
                t->image_digest = dig ? xstrdup(dig) : NULL;
        }
        json_decref(e);
}

static void emit_line(Target *t, int which, const char *line) {
        if (which == STREAM_EVENTS)
                return take_event(t, line);
        if (which == STREAM_ERR && !*line)
                return;
        if (which == STREAM_OUT && events_json()) {
                json_t *e = json_loads(line, 0, NULL);
                if (json_is_object(e)) {
                        /* The child masked it already; adding the name keeps it masked. */
                        json_object_set_new(e, "template", json_string(t->def->name));
                        _cleanup_free_ char *s = json_dumps_masked(e, JSON_COMPACT);
                        json_decref(e);
                        printf("%s\n", s);
                        fflush(stdout);
                        return;
                }
                json_decref(e);
        }
        FILE *out = which == STREAM_OUT ? stdout : stderr;
        fprintf(out, "[%s] %s\n", t->def->name, line);
        fflush(out);
}

/* Reads what is there; emits complete lines (and, at EOF or when too long, the rest). Returns
 * false at EOF or on an error (the stream is then closed). */
static bool stream_read(Target *t, int which) {
        Stream *s = t->streams + which;
        for (;;) {
                s->buf = xrealloc(s->buf, s->len + 4096 + 1);
                ssize_t k = read(s->fd, s->buf + s->len, 4096);
                if (k < 0 && errno == EINTR)
                        continue;
                bool eof = k == 0 || (k < 0 && errno != EAGAIN);
                if (k > 0)
                        s->len += (size_t) k;
                size_t start = 0;
                for (size_t i = 0; i < s->len; i++)
                        if (s->buf[i] == '\n' || i - start >= LINE_MAX_BYTES) {
                                s->buf[i] = 0;
                                emit_line(t, which, s->buf + start);
                                start = i + 1;
                        }
                memmove(s->buf, s->buf + start, s->len - start);
                s->len -= start;
                if (eof) {
                        if (s->len > 0) {
                                s->buf[s->len] = 0;
                                emit_line(t, which, s->buf);
                        }
                        s->len = 0;
                        s->buf = mfree(s->buf);
                        closep(&s->fd);
                        s->fd = -1;
                        return false;
                }
                if (k < 0)
                        return true; /* EAGAIN */
        }
}

static void stop_running(Fleet *f) {
        for (size_t i = 0; i < f->n; i++)
                if (f->targets[i].state == TARGET_RUNNING && !f->targets[i].stopped) {
                        f->targets[i].stopped = true;
                        (void) kill(f->targets[i].pid, SIGTERM);
                }
}

static void finish_target(Fleet *f, Target *t, int wstatus) {
        /* What the child wrote before it exited; a pipe its own children still hold is closed. */
        for (int i = 0; i < _STREAM_MAX; i++)
                if (t->streams[i].fd >= 0 && stream_read(t, i)) {
                        close(t->streams[i].fd);
                        free(t->streams[i].buf);
                        t->streams[i] = (Stream) { .fd = -1 };
                }
        t->exit_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        t->seconds = now_seconds() - t->started;
        t->state = TARGET_DONE;
        f->running--;
        if (t->exit_status != 0 || !t->status) {
                free(t->status);
                t->status = xstrdup(t->stopped && t->exit_status == OUTCOME_INTERRUPTED ? "stopped" : "failed");
                if (t->exit_status == 0)
                        t->exit_status = OUTCOME_INTERNAL; /* exited 0 without finishing: a bug */
        }
        if (streq(t->status, "failed") && f->first_failure == 0) {
                f->first_failure = t->exit_status;
                if (f->o->fail_fast && !f->stopping) {
                        log_error("[%s] failed (exit status %d): stopping the other bakes (--fail-fast)", t->def->name,
                                  t->exit_status);
                        f->stopping = true;
                        stop_running(f);
                }
        }
        event_emit("target-end",
                   json_pack("{s:s, s:s, s:s*, s:f, s:i}", "template", t->def->name, "status", t->status, "image_digest",
                             t->image_digest, "seconds", t->seconds, "exit_status", t->exit_status),
                   NULL);
}

static void reap(Fleet *f) {
        for (size_t i = 0; i < f->n; i++) {
                Target *t = f->targets + i;
                int ws;
                if (t->state != TARGET_RUNNING || waitpid(t->pid, &ws, WNOHANG) != t->pid)
                        continue;
                finish_target(f, t, ws);
        }
}

static void poll_once(Fleet *f, const sigset_t *unblocked) {
        struct pollfd pfd[f->running * _STREAM_MAX + 1];
        struct { Target *t; int which; } who[f->running * _STREAM_MAX + 1];
        size_t k = 0;
        for (size_t i = 0; i < f->n; i++)
                for (int s = 0; f->targets[i].state == TARGET_RUNNING && s < _STREAM_MAX; s++)
                        if (f->targets[i].streams[s].fd >= 0) {
                                pfd[k] = (struct pollfd) { .fd = f->targets[i].streams[s].fd, .events = POLLIN };
                                who[k].t = f->targets + i;
                                who[k++].which = s;
                        }
        /* A bake's own children may hold its pipes open after it exited: wake up now and then to
         * reap by waitpid() rather than waiting for EOF. */
        struct timespec ts = { .tv_nsec = 200 * 1000 * 1000 };
        int r = ppoll(pfd, k, &ts, unblocked);
        for (size_t i = 0; r > 0 && i < k; i++)
                if (pfd[i].revents)
                        (void) stream_read(who[i].t, who[i].which);
}

static void print_summary(const Fleet *f) {
        json_t *results = json_array();
        for (size_t i = 0; i < f->n; i++) {
                const Target *t = f->targets + i;
                json_array_append_new(results, json_pack("{s:s, s:s, s:s*, s:f, s:i}", "template", t->def->name, "status",
                                                         t->status ? t->status : "skipped", "image_digest", t->image_digest,
                                                         "seconds", t->seconds, "exit_status", t->exit_status));
        }
        if (events_json()) {
                event_emit("fleet-end", json_pack("{s:o}", "results", results), NULL);
                return;
        }
        json_decref(results);
        size_t w = 8;
        for (size_t i = 0; i < f->n; i++)
                w = MAX(w, strlen(f->targets[i].def->name));
        printf("%-*s  %-11s  %-14s  %8s\n", (int) w, "TEMPLATE", "STATUS", "DIGEST", "TIME");
        for (size_t i = 0; i < f->n; i++) {
                const Target *t = f->targets + i;
                const char *dig = t->image_digest && startswith(t->image_digest, "sha256:") ? t->image_digest + 7 : "-";
                _cleanup_free_ char *status = t->status && streq(t->status, "failed")
                                                      ? xasprintf("failed (%d)", t->exit_status)
                                                      : xstrdup(t->status ? t->status : "skipped");
                _cleanup_free_ char *secs = t->state == TARGET_DONE ? xasprintf("%.1fs", t->seconds) : xstrdup("-");
                printf("%-*s  %-11s  %-14.12s  %8s\n", (int) w, t->def->name, status, dig, secs);
        }
        fflush(stdout);
}

static void fleet_loop(Fleet *f, const sigset_t *unblocked) {
        while (f->running > 0 || (f->next < f->n && !f->stopping)) {
                if (interrupted && !f->stopping) {
                        log_error("interrupted: stopping every bake");
                        f->stopping = true;
                        stop_running(f);
                }
                while (!f->stopping && f->running < f->o->jobs && f->next < f->n) {
                        Target *t = f->targets + f->next++;
                        if (spawn_target(f, t) < 0) {
                                t->state = TARGET_DONE;
                                t->status = xstrdup("failed");
                                t->exit_status = OUTCOME_INTERNAL;
                                if (f->first_failure == 0)
                                        f->first_failure = OUTCOME_INTERNAL;
                                f->stopping = f->stopping || f->o->fail_fast;
                        }
                }
                if (f->running > 0)
                        poll_once(f, unblocked);
                reap(f);
        }
}

Outcome fleet_run(const FleetOptions *o) {
        Fleet f = { .o = o, .n = o->targets->n };
        f.targets = xcalloc(f.n + 1, sizeof(Target));
        for (size_t i = 0; i < f.n; i++) {
                f.targets[i].def = o->targets->targets + i;
                for (int s = 0; s < _STREAM_MAX; s++)
                        f.targets[i].streams[s].fd = -1;
        }
        /* Signals are blocked except inside ppoll(), so one cannot slip in between the check of
         * `interrupted` and the wait. */
        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGHUP);
        sigprocmask(SIG_BLOCK, &block, &old);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        sigset_t unblocked = old;
        sigdelset(&unblocked, SIGINT);
        sigdelset(&unblocked, SIGTERM);
        sigdelset(&unblocked, SIGHUP);

        event_emit("fleet-begin", json_pack("{s:I, s:I, s:b}", "targets", (json_int_t) f.n, "jobs", (json_int_t) o->jobs,
                                            "fail_fast", o->fail_fast),
                   NULL);
        fleet_loop(&f, &unblocked);
        print_summary(&f);
        sigprocmask(SIG_SETMASK, &old, NULL);

        Outcome out = interrupted ? OUTCOME_INTERRUPTED : (Outcome) f.first_failure;
        for (size_t i = 0; i < f.n; i++) {
                free(f.targets[i].status);
                free(f.targets[i].image_digest);
        }
        free(f.targets);
        return out;
}

const char *fleet_bakefile(const char *given, size_t n_templates) {
        if (given || n_templates > 0)
                return given;
        return access(FLEET_DEFAULT_BAKEFILE, F_OK) == 0 ? FLEET_DEFAULT_BAKEFILE : NULL;
}

int fleet_load_targets(const char *bakefile, char *const *templates, size_t n_templates, char *const *names,
                       BakeTargets **ret) {
        _cleanup_(bake_targets_freep) BakeTargets *t = NULL, *more = NULL;
        int r = bakefile ? bakefile_load(bakefile, &t) : bake_targets_from_templates(NULL, 0, &t);
        if (r < 0)
                return r;
        r = bake_targets_from_templates(templates, n_templates, &more);
        if (r < 0)
                return r;
        for (size_t i = 0; i < more->n; i++) {
                for (size_t j = 0; j < t->n; j++)
                        if (streq(t->targets[j].name, more->targets[i].name))
                                return log_error_errno(-EEXIST, "target name '%s' is used twice", more->targets[i].name);
                t->targets = xrealloc(t->targets, (t->n + 1) * sizeof(BakeTarget));
                t->targets[t->n++] = more->targets[i];
                more->targets[i] = (BakeTarget) {};
        }
        if (names) {
                r = bake_targets_select(t, names);
                if (r < 0)
                        return r;
        }
        if (t->n == 0)
                return log_error_errno(-EINVAL, "nothing to bake: no template and no target");
        *ret = TAKE_PTR(t);
        return 0;
}
