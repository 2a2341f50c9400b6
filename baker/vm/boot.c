#include "boot.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "accel.h"
#include "log.h"
#include "process.h"
#include "regex-bounded.h"
#include "strv.h"
#include "time-util.h"

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define QEMU "qemu-system-x86_64"
/* A kernel that panics never reaches the marker: fail at once instead of waiting for the timeout. */
#define PANIC_REGEX "Kernel panic - not syncing"

void boot_result_done(BootResult *r) {
        free(r->failure);
        free(r->matched);
        free(r->tail);
        *r = (BootResult) {};
}

static bool in_path(const char *name) {
        const char *path = getenv("PATH") ?: "/usr/bin:/bin";
        _cleanup_free_ char *copy = xstrdup(path);
        for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *p = path_join(dir, name);
                if (access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

static const char *detect_format(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        uint8_t magic[4] = {};
        if (fd >= 0 && read(fd, magic, 4) == 4 && memcmp(magic, "QFI\xfb", 4) == 0)
                return "qcow2";
        return "raw";
}

/* The console, line by line: a ring of the last lines for the failure report, the log file, and
 * the partial line (a prompt like "login: " has no newline yet). */
typedef struct Console {
        char *lines[BOOT_TAIL_LINES];
        size_t next;
        char partial[4096];
        size_t partial_len;
        FILE *log;
        char *log_line; /* the log file's current line, raw, written masked when complete */
        size_t log_len;
        bool echo;
} Console;

/* The console log is written line by line with sensitive values masked (a secret the image
 * prints must not land in the file beside the outputs). */
static void console_log_flush(Console *c, bool newline) {
        if (!c->log || (c->log_len == 0 && !newline))
                return;
        _cleanup_free_ char *line = xstrndup(c->log_line ? c->log_line : "", c->log_len);
        _cleanup_free_ char *masked = log_mask(line);
        fputs(masked, c->log);
        if (newline)
                fputc('\n', c->log);
        fflush(c->log);
        c->log_len = 0;
}

static void console_log_write(Console *c, const char *data, size_t size) {
        if (!c->log)
                return;
        for (size_t i = 0; i < size; i++) {
                if (data[i] == '\n') {
                        console_log_flush(c, true);
                        continue;
                }
                if (c->log_len % 4096 == 0)
                        c->log_line = xrealloc(c->log_line, c->log_len + 4096 + 1);
                c->log_line[c->log_len++] = data[i];
                if (c->log_len >= 1 << 20) /* no newline for 1 MiB: not a console line */
                        console_log_flush(c, false);
        }
}

static void console_done(Console *c) {
        for (size_t i = 0; i < BOOT_TAIL_LINES; i++)
                free(c->lines[i]);
        if (c->log) {
                console_log_flush(c, false);
                fclose(c->log);
        }
        free(c->log_line);
}

static char *console_tail(const Console *c) {
        size_t size = 0;
        char *buf = NULL;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                abort();
        for (size_t i = 0; i < BOOT_TAIL_LINES; i++) {
                const char *l = c->lines[(c->next + i) % BOOT_TAIL_LINES];
                if (l)
                        fprintf(f, "%s\n", l);
        }
        if (c->partial_len > 0)
                fprintf(f, "%.*s\n", (int) c->partial_len, c->partial);
        fclose(f);
        return buf;
}

/* Drops carriage returns, other control bytes and terminal escape sequences (colours, bash's
 * bracketed-paste "ESC[?2004h" before each prompt), so that "^IMAGE_ID=" matches the line the
 * guest printed. In place; returns the new length. */
static size_t console_clean(char *s, size_t n) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (ch == 0x1b) {
                        if (i + 1 < n && s[i + 1] == '[') /* CSI: parameters, then a final byte @..~ */
                                for (i += 2; i < n && !((unsigned char) s[i] >= 0x40 && (unsigned char) s[i] <= 0x7e); i++)
                                        ;
                        else
                                i++; /* a two-byte sequence */
                        continue;
                }
                if (ch >= 0x20 || ch == '\t')
                        s[k++] = (char) ch;
        }
        return k;
}

static void console_push_line(Console *c) {
        size_t k = console_clean(c->partial, c->partial_len);
        free(c->lines[c->next]);
        c->lines[c->next] = xstrndup(c->partial, k);
        c->next = (c->next + 1) % BOOT_TAIL_LINES;
        c->partial_len = 0;
}

static const char *console_last_line(const Console *c) {
        return c->lines[(c->next + BOOT_TAIL_LINES - 1) % BOOT_TAIL_LINES];
}

typedef struct Waiter {
        regex_t re;
        bool compiled;
} Waiter;

static bool matches(const regex_t *re, const char *s) {
        return regexec(re, s, 0, NULL, 0) == 0;
}

typedef enum Event {
        EVENT_NONE,
        EVENT_MATCH,
        EVENT_PANIC,
} Event;

/* Feeds bytes; returns EVENT_MATCH when `want` matched a completed line or the partial line. The
 * matched line is copied to *ret_line. */
static Event console_feed(Console *c, const char *data, size_t size, const regex_t *want, const regex_t *panic,
                          char **ret_line) {
        console_log_write(c, data, size);
        if (c->echo)
                fwrite(data, 1, size, stderr);
        Event ev = EVENT_NONE;
        for (size_t i = 0; i < size; i++) {
                if (data[i] == '\n' || c->partial_len == sizeof c->partial - 1) {
                        console_push_line(c);
                        const char *line = console_last_line(c);
                        if (ev == EVENT_NONE && want && matches(want, line)) {
                                *ret_line = xstrdup(line);
                                ev = EVENT_MATCH;
                        } else if (ev == EVENT_NONE && matches(panic, line))
                                ev = EVENT_PANIC;
                        if (data[i] == '\n')
                                continue;
                }
                c->partial[c->partial_len++] = data[i];
        }
        return ev;
}

/* A prompt ("login: ") never gets its newline, so the partial line is tried too, but only once
 * the console has been quiet for a moment: a marker arriving in pieces still matches whole. */
static bool console_match_partial(Console *c, const regex_t *want, char **ret_line) {
        if (!want || c->partial_len == 0)
                return false;
        char clean[sizeof c->partial];
        memcpy(clean, c->partial, c->partial_len);
        clean[console_clean(clean, c->partial_len)] = 0;
        if (!matches(want, clean))
                return false;
        *ret_line = xstrdup(clean);
        console_push_line(c); /* consumed: a prompt must not match twice */
        return true;
}

typedef struct Qemu {
        pid_t pid;
        int in_fd, out_fd;
} Qemu;

static void qemu_stop(Qemu *q) {
        if (q->pid > 0) {
                /* Ask first (qemu flushes the overlay and exits), then insist. */
                kill(q->pid, SIGTERM);
                for (int i = 0; i < 40; i++) {
                        if (waitpid(q->pid, NULL, WNOHANG) == q->pid) {
                                q->pid = 0;
                                break;
                        }
                        nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
                }
                if (q->pid > 0) {
                        kill(q->pid, SIGKILL);
                        waitpid(q->pid, NULL, 0);
                        q->pid = 0;
                }
        }
        closep(&q->in_fd);
        closep(&q->out_fd);
        q->in_fd = q->out_fd = -1;
}

static int qemu_start(char **argv, const char *stderr_path, const sigset_t *default_mask, Qemu *ret) {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(out, O_CLOEXEC) < 0) {
                close(in[0]), close(in[1]);
                return -errno;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        /* Its own process group: a Ctrl-C reaches baker, which stops qemu itself. */
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigmask(&attr, default_mask);
        extern char **environ;
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(in[0]);
        close(out[1]);
        if (r != 0) {
                close(in[1]);
                close(out[0]);
                return -r;
        }
        *ret = (Qemu) { .pid = pid, .in_fd = in[1], .out_fd = out[0] };
        return 0;
}

static void rm_rfp(char **dir) {
        if (*dir) {
                (void) rm_rf(*dir);
                free(*dir);
        }
}

static void sigmask_restorep(sigset_t **old) {
        if (*old)
                sigprocmask(SIG_SETMASK, *old, NULL);
}

static int compile(Waiter *w, const char *regex, const char *what) {
        char msg[256];
        if (regex_compile_bounded(&w->re, regex, msg, sizeof msg) < 0) {
                log_error("invalid %s regular expression '%s': %s", what, regex, msg);
                return -EINVAL;
        }
        w->compiled = true;
        return 0;
}

static void waiter_done(Waiter *w) {
        if (w->compiled)
                regfree(&w->re);
}

typedef struct Waiters {
        Waiter *w;
        size_t n;
} Waiters;

static void waiters_done(Waiters *ws) {
        for (size_t i = 0; i < ws->n; i++)
                waiter_done(ws->w + i);
        free(ws->w);
}

static int boot_check_tools(const BootOptions *o) {
        if (!o->image)
                return log_error_errno(-EINVAL, "no image to boot");
        if (access(o->image, R_OK) < 0)
                return log_error_errno(-errno, "image '%s' is not readable: %m", o->image);
        if (!in_path(QEMU))
                return log_error_errno(-ENOENT, "'" QEMU "' is not installed (Debian package 'qemu-system-x86')");
        if (!in_path("qemu-img"))
                return log_error_errno(-ENOENT, "'qemu-img' is not installed (Debian package 'qemu-utils')");
        if (o->firmware == BOOT_FIRMWARE_UEFI && (access(OVMF_CODE, R_OK) < 0 || access(OVMF_VARS, R_OK) < 0))
                return log_error_errno(-ENOENT, "uefi firmware '%s' is not installed (Debian package 'ovmf')",
                                       OVMF_CODE);
        if (o->firmware < 0 || o->firmware >= _BOOT_FIRMWARE_MAX)
                return log_error_errno(-EINVAL, "unknown firmware");
        return 0;
}

/* Waiter 0 is the panic, 1 the first expect, then per command its prompt and its expect. Regular
 * expressions are compiled before anything starts: a typo is a usage error, not a failed boot. */
static int compile_waiters(const BootOptions *o, Waiters *ws) {
        ws->n = 2 + 2 * o->n_commands;
        ws->w = xcalloc(ws->n, sizeof(Waiter));
        int r = compile(ws->w, PANIC_REGEX, "panic");
        if (r >= 0)
                r = compile(ws->w + 1, o->expect ?: "login:", "expect");
        for (size_t i = 0; r >= 0 && i < o->n_commands; i++) {
                if (o->prompt)
                        r = compile(ws->w + 2 + 2 * i, o->prompt, "prompt");
                if (r >= 0 && o->commands[i].expect)
                        r = compile(ws->w + 3 + 2 * i, o->commands[i].expect, "command's expect");
        }
        return r;
}

/* The overlay takes every write, so the image stays as baked (and may be read-only); UEFI gets its
 * own copy of the variable store. */
static int boot_prepare_disk(const BootOptions *o, const char *dir, char **ret_overlay, char **ret_vars) {
        char image_abs[PATH_MAX];
        if (!realpath(o->image, image_abs))
                return log_error_errno(-errno, "failed to resolve '%s': %m", o->image);
        _cleanup_free_ char *overlay = path_join(dir, "overlay.qcow2");
        char *argv[] = { (char *) "qemu-img", (char *) "create", (char *) "-q", (char *) "-f", (char *) "qcow2",
                         (char *) "-b", image_abs, (char *) "-F", (char *) detect_format(image_abs), overlay, NULL };
        int r = process_run_checked(argv, NULL, "create the overlay of the image", "qemu-utils");
        if (r < 0)
                return r;
        _cleanup_free_ char *vars = path_join(dir, "OVMF_VARS.fd");
        if (o->firmware == BOOT_FIRMWARE_UEFI) {
                r = copy_file(OVMF_VARS, vars, O_TRUNC, 0600);
                if (r < 0)
                        return log_error_errno(r, "failed to copy '%s': %m", OVMF_VARS);
        }
        *ret_overlay = TAKE_PTR(overlay);
        *ret_vars = TAKE_PTR(vars);
        return 0;
}

static char **qemu_argv(const BootOptions *o, bool kvm, const char *overlay, const char *vars) {
        char **argv = NULL;
        size_t n = 0;
        const char *fixed[] = { QEMU, "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
                                "-no-reboot", "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
                                "-device", "virtio-rng-pci", "-accel", kvm ? "kvm" : "tcg", "-cpu", kvm ? "host" : "max",
                                "-machine", o->firmware == BOOT_FIRMWARE_UEFI ? "q35" : "pc" };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                strv_push(&argv, &n, xstrdup(fixed[i]));
        strv_push(&argv, &n, xstrdup("-m"));
        strv_push(&argv, &n, xasprintf("%u", o->memory_mib ?: 1024));
        strv_push(&argv, &n, xstrdup("-smp"));
        strv_push(&argv, &n, xasprintf("%u", o->cpus ?: 2));
        strv_push(&argv, &n, xstrdup("-drive"));
        strv_push(&argv, &n, xasprintf("file=%s,format=qcow2,if=virtio,cache=unsafe", overlay));
        if (o->firmware == BOOT_FIRMWARE_UEFI) {
                strv_push(&argv, &n, xstrdup("-drive"));
                strv_push(&argv, &n, xstrdup("if=pflash,format=raw,unit=0,readonly=on,file=" OVMF_CODE));
                strv_push(&argv, &n, xstrdup("-drive"));
                strv_push(&argv, &n, xasprintf("if=pflash,format=raw,unit=1,file=%s", vars));
        }
        return argv;
}

/* One running boot: the console, qemu, and where the conversation is. */
typedef struct Session {
        const BootOptions *o;
        const Waiters *waiters;
        Console *console;
        Qemu q;
        const char *qemu_stderr;
        const regex_t *want;  /* NULL: every stage passed */
        size_t stage_command; /* the next command to send */
        bool waiting_prompt;
        char *failure;
} Session;

/* After a match: wait for the next command's prompt, or send it and wait for its expect. */
static void session_next_stage(Session *s) {
        const BootOptions *o = s->o;
        s->want = NULL;
        while (!s->want && s->stage_command < o->n_commands) {
                const BootCommand *c = o->commands + s->stage_command;
                Waiter *pw = s->waiters->w + 2 + 2 * s->stage_command, *ew = pw + 1;
                if (o->prompt && !s->waiting_prompt && pw->compiled) {
                        s->waiting_prompt = true;
                        s->want = &pw->re;
                        return;
                }
                s->waiting_prompt = false;
                _cleanup_free_ char *send = xasprintf("%s\n", c->send);
                if (write(s->q.in_fd, send, strlen(send)) < 0) {
                        s->failure = xasprintf("failed to send '%s' to the console: %m", c->send);
                        return;
                }
                s->stage_command++;
                if (ew->compiled)
                        s->want = &ew->re;
        }
}

/* qemu closed the console: collect its status and the last lines it wrote. */
static void session_qemu_exited(Session *s) {
        int status = 0;
        waitpid(s->q.pid, &status, 0);
        s->q.pid = 0;
        _cleanup_free_ char *err = NULL;
        (void) read_full_file(s->qemu_stderr, &err, NULL);
        const char *last = err ? process_last_lines(err, 3) : "";
        s->failure = xasprintf("qemu exited (status %d) before the console showed '%s'%s%s",
                               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                               s->o->expect ?: "login:", *last ? ": " : "", last);
}

/* Reads the console until every stage passed (ret->passed), a failure (s->failure), the timeout
 * or a signal on sfd (< 0). */
static int session_run(Session *s, int sfd, uint64_t timeout, BootResult *ret) {
        uint64_t start = now_usec();
        char buf[4096];
        for (;;) {
                uint64_t elapsed = now_usec() - start;
                if (elapsed >= timeout) {
                        s->failure = xasprintf("timed out after %" PRIu64 " s", timeout / 1000000);
                        return 0;
                }
                struct pollfd pfd[] = { { .fd = s->q.out_fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
                uint64_t wait_ms = s->console->partial_len > 0 ? 200 : 1000;
                int k = poll(pfd, 2, (int) MIN((timeout - elapsed) / 1000 + 1, wait_ms));
                if (k < 0 && errno != EINTR)
                        return log_error_errno(-errno, "poll failed: %m");
                if (pfd[1].revents & POLLIN) {
                        log_error("interrupted: stopping qemu");
                        return -EINTR;
                }
                _cleanup_free_ char *line = NULL;
                Event ev = EVENT_NONE;
                if (k == 0 && console_match_partial(s->console, s->want, &line))
                        ev = EVENT_MATCH;
                else if (pfd[0].revents & (POLLIN | POLLHUP)) {
                        ssize_t got = read(s->q.out_fd, buf, sizeof buf);
                        if (got < 0 && errno == EINTR)
                                continue;
                        if (got <= 0) {
                                session_qemu_exited(s);
                                return 0;
                        }
                        ev = console_feed(s->console, buf, (size_t) got, s->want, &s->waiters->w[0].re, &line);
                }
                if (ev == EVENT_PANIC) {
                        /* The lines before the panic say why (no root, no init): they are the tail. */
                        s->failure = xasprintf("kernel panic: %s", console_last_line(s->console));
                        return 0;
                }
                if (ev != EVENT_MATCH)
                        continue;
                if (s->want == &s->waiters->w[1].re)
                        ret->matched = xstrdup(line);
                log_debug("console matched: %s", line);
                session_next_stage(s);
                if (s->failure)
                        return 0;
                if (!s->want) {
                        ret->passed = true;
                        return 0;
                }
        }
}

int boot_run(const BootOptions *o, BootResult *ret) {
        int r = boot_check_tools(o);
        if (r < 0)
                return r;
        _cleanup_(waiters_done) Waiters waiters = {};
        r = compile_waiters(o, &waiters);
        if (r < 0)
                return r;

        _cleanup_(rm_rfp) char *dir = tmp_template("baker-boot");
        if (!mkdtemp(dir)) {
                r = log_error_errno(-errno, "failed to create a temporary directory: %m");
                free(TAKE_PTR(dir));
                return r;
        }
        _cleanup_free_ char *overlay = NULL, *vars = NULL;
        r = boot_prepare_disk(o, dir, &overlay, &vars);
        if (r < 0)
                return r;
        bool kvm = accel_kvm_usable();
        ret->accel = kvm ? "kvm" : "tcg";
        _cleanup_(strv_freep) char **argv = qemu_argv(o, kvm, overlay, vars);

        /* SIGINT/SIGTERM arrive through a signalfd, so the session stops qemu before returning. */
        sigset_t mask, old;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, &old);
        _cleanup_(sigmask_restorep) sigset_t *restore = &old;
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return log_error_errno(-errno, "failed to create signalfd: %m");

        _cleanup_free_ char *qemu_stderr = path_join(dir, "qemu.stderr");
        _cleanup_(console_done) Console console = { .echo = o->echo };
        if (o->log_path) {
                console.log = fopen(o->log_path, "we");
                if (!console.log)
                        return log_error_errno(-errno, "failed to open console log '%s': %m", o->log_path);
        }
        log_info("booting '%s' with %s firmware under %s", o->image, boot_firmware_to_string(o->firmware),
                 ret->accel);
        uint64_t start = now_usec();
        Session s = { .o = o, .waiters = &waiters, .console = &console, .qemu_stderr = qemu_stderr,
                      .want = &waiters.w[1].re, .q = { .pid = 0, .in_fd = -1, .out_fd = -1 } };
        r = qemu_start(argv, qemu_stderr, &old, &s.q);
        if (r < 0)
                return log_error_errno(r, "failed to start '" QEMU "': %m");
        r = session_run(&s, sfd, o->timeout_usec ?: UINT64_C(600) * 1000000, ret);
        ret->duration_usec = now_usec() - start;
        qemu_stop(&s.q);
        if (r >= 0 && !ret->passed) {
                ret->failure = TAKE_PTR(s.failure);
                ret->tail = console_tail(&console);
        }
        free(s.failure);
        return r < 0 ? r : 0;
}
