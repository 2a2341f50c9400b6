/* Run steps in the appliance (guest.h: guest_run).
 *
 * How a run step works: the script and a small wrapper (guest-run.sh, embedded at build time) are
 * written to /tmp inside the mounted root and the wrapper is run with guestfs_command(), which
 * chroots into the root after binding /dev, /proc and /sys (and, with a network, the appliance's
 * resolv.conf over the image's for the duration of the command). libguestfs calls are synchronous,
 * so to stream the output the wrapper copies each line to the appliance's console tagged with a
 * per-run marker; libguestfs reads the console while it waits for the daemon's reply and hands it
 * to GUESTFS_EVENT_APPLIANCE, where the tagged lines are picked out and delivered at once. The
 * wrapper also keeps the output in a log file, which makes up for anything the console had not
 * delivered when the command returned. The exit status comes back as the wrapper's stdout. */
#include <time.h>

#include "guest-internal.h"
#include "guest-run-sh.h"
#include "log.h"
#include "time-util.h"

/* ---- run step output ---------------------------------------------------------------------- */

static void tail_push(GuestSession *s, const char *line) {
        free(s->tail[s->tail_next]);
        s->tail[s->tail_next] = xstrdup(line);
        s->tail_next = (s->tail_next + 1) % GUEST_TAIL_LINES;
        if (s->tail_count < GUEST_TAIL_LINES)
                s->tail_count++;
}

static void tail_reset(GuestSession *s) {
        for (size_t i = 0; i < GUEST_TAIL_LINES; i++)
                s->tail[i] = mfree(s->tail[i]);
        s->tail_next = s->tail_count = 0;
        s->tail_text = mfree(s->tail_text);
}

const char *guest_output_tail(GuestSession *s) {
        if (!s->tail_text) {
                size_t start = (s->tail_next + GUEST_TAIL_LINES - s->tail_count) % GUEST_TAIL_LINES;
                char *t = xstrdup("");
                for (size_t i = 0; i < s->tail_count; i++) {
                        char *n = xasprintf("%s%s%s", t, i ? "\n" : "", s->tail[(start + i) % GUEST_TAIL_LINES]);
                        free(t);
                        t = n;
                }
                s->tail_text = t;
        }
        return s->tail_text;
}

static void deliver(GuestSession *s, const char *line) {
        s->delivered++;
        tail_push(s, line);
        s->tail_text = mfree(s->tail_text);
        if (s->out)
                s->out(s->step_name, line, s->userdata);
        else
                log_notice("[%s] %s", s->step_name, line);
}

void guest_console_line(GuestSession *s, char *line, size_t len) {
        /* The console's tty turns "\n" into "\r\n". */
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
                line[--len] = 0;
        if (s->running && s->marker_len > 0 && len > s->marker_len &&
            memcmp(line, s->marker, s->marker_len) == 0) {
                char kind = line[s->marker_len];
                if (kind == 'L')
                        deliver(s, line + s->marker_len + 1);
                else if (kind == 'E')
                        s->end_seen = true;
                return;
        }
        if (len > 0)
                log_debug("appliance: %s", line);
}

/* ---- run steps ---------------------------------------------------------------------------- */

/* The environment every run step starts from: nothing of the appliance's leaks in. */
static const char *const base_env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root",
        "LANG=C.UTF-8",
        "TZ=UTC",
        "TERM=dumb",
        "SHELL=/bin/sh",
        "USER=root",
        "LOGNAME=root",
};

/* What guestfsd's environment holds (libguestfs 1.48); unset where `env -i` is not available. */
static const char appliance_env[] =
        "HOME LC_ALL LANG LVM_SYSTEM_DIR PREVLEVEL RUNLEVEL SHELL SHLVL TERM PWD OLDPWD _ edd "
        "guestfs_network guestfs_verbose guestfs_boot_analysis guestfs_noreboot selinux udevtimeout "
        "udev_log udevtimeout";

static bool env_entry_valid(const char *e) {
        const char *eq = strchr(e, '=');
        if (!eq || eq == e)
                return false;
        for (const char *p = e; p < eq; p++)
                if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (p > e && *p >= '0' && *p <= '9')))
                        return false;
        return true;
}

static bool env_has_key(const char *const *env, const char *entry) {
        size_t k = strcspn(entry, "=");
        for (const char *const *e = env; e && *e; e++)
                if (strncmp(*e, entry, k) == 0 && (*e)[k] == '=')
                        return true;
        return false;
}

/* Appends s to buf as one single-quoted shell word. */
static void append_quoted(char **buf, const char *s) {
        _cleanup_free_ char *q = shell_quote(s);
        char *joined = xasprintf("%s %s", *buf, q);
        free(*buf);
        *buf = joined;
}

/* guest-run.sh with each "@NAME@" replaced by its value, in one pass (values are not scanned). */
static char *fill_wrapper(const char *const *names, const char *const *values, size_t n) {
        _cleanup_free_ char *out = xstrdup("");
        size_t len = 0;
        for (const char *p = guest_run_sh; *p;) {
                const char *piece = p, *next = p + 1;
                size_t plen = 1;
                for (size_t i = 0; i < n && *p == '@'; i++) {
                        size_t k = strlen(names[i]);
                        if (strncmp(p + 1, names[i], k) == 0 && p[k + 1] == '@') {
                                piece = values[i];
                                plen = strlen(values[i]);
                                next = p + k + 2;
                                break;
                        }
                }
                out = xrealloc(out, len + plen + 1);
                memcpy(out + len, piece, plen);
                out[len += plen] = 0;
                p = next;
        }
        return TAKE_PTR(out);
}

static char *make_wrapper(GuestSession *s, const char *base, bool shebang, const char *const *env) {
        /* The environment as words: the fixed base, unless the step overrides a key, then the step's. */
        _cleanup_free_ char *assign = xstrdup("");
        for (size_t i = 0; i < ELEMENTSOF(base_env); i++)
                if (!env_has_key(env, base_env[i]))
                        append_quoted(&assign, base_env[i]);
        for (const char *const *e = env; e && *e; e++)
                append_quoted(&assign, *e);
        _cleanup_free_ char *cmd = shebang ? xasprintf("'%s.sh'", base) : xasprintf("/bin/sh '%s.sh'", base);
        static const char *const names[] = { "BASE", "ENV", "COMMAND", "APPLIANCE_ENV", "MARKER" };
        const char *values[] = { base, assign, cmd, appliance_env, s->marker };
        return fill_wrapper(names, values, ELEMENTSOF(names));
}

/* libguestfs only reads the console while it waits for the daemon: after the command returned,
 * ask it for cheap round trips until the wrapper's end marker has come through. */
static void drain_console(GuestSession *s) {
        double deadline = now_seconds() + 3;
        while (!s->end_seen && now_seconds() < deadline) {
                if (guestfs_ping_daemon(s->g) < 0)
                        break;
                if (!s->end_seen)
                        nanosleep(&(struct timespec) { .tv_nsec = 20 * 1000 * 1000 }, NULL);
        }
}

static int guest_rm_f(GuestSession *s, const char *path) {
        if (guestfs_rm_f(s->g, path) < 0)
                return guest_fail(s, "failed to remove '%s'", path);
        return 0;
}

/* The chroot needs /dev, /proc and /sys to mount on (the wrapper uses /dev/null) and /tmp for the
 * script: make what the image lacks (made[k]), to be removed again afterwards. */
static const char *const needed_dirs[] = { "/tmp", "/dev", "/proc", "/sys" };

static int make_needed_dirs(GuestSession *s, const char *step_name, bool made[static ELEMENTSOF(needed_dirs)]) {
        for (size_t k = 0; k < ELEMENTSOF(needed_dirs); k++) {
                int r = guestfs_is_dir_opts(s->g, needed_dirs[k], GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1);
                if (r < 0)
                        return guest_fail(s, "step '%s': failed to look at '%s' in the image", step_name, needed_dirs[k]);
                if (r > 0)
                        continue;
                if (guestfs_mkdir(s->g, needed_dirs[k]) < 0 ||
                    guestfs_chmod(s->g, k == 0 ? 01777 : 0755, needed_dirs[k]) < 0)
                        return guest_fail(s, "step '%s': failed to create '%s' in the image", step_name, needed_dirs[k]);
                made[k] = true;
        }
        return 0;
}

/* The console fell behind: deliver the rest from the log the wrapper kept. */
static void deliver_from_log(GuestSession *s, const char *logf) {
        size_t size = 0;
        _cleanup_free_ char *log = NULL;
        if (guest_exists(s, logf) > 0 && guest_read_file(s, logf, &log, &size) < 0)
                log = NULL;
        size_t i = 0;
        for (char *p = log, *end = log ? log + size : NULL; p && p < end; i++) {
                char *nl = memchr(p, '\n', end - p);
                if (nl)
                        *nl = 0;
                if (i >= s->delivered)
                        deliver(s, p);
                p = nl ? nl + 1 : end;
        }
}

/* Runs the uploaded wrapper, streaming its output; the exit status in *ret_code. */
static int run_wrapper(GuestSession *s, const char *step_name, const char *wrapper, const char *logf,
                       GuestOutputFn out, void *userdata, long *ret_code) {
        s->step_name = step_name;
        s->out = out;
        s->userdata = userdata;
        s->delivered = 0;
        s->end_seen = false;
        s->running = true;
        double t0 = now_seconds();
        _cleanup_free_ char *result = guestfs_command(s->g, (char *[]) { (char *) "/bin/sh", (char *) wrapper, NULL });
        if (!result) {
                s->running = false;
                return guest_fail(s, "step '%s': failed to run the script", step_name);
        }
        drain_console(s);
        s->running = false;
        if (!s->end_seen)
                deliver_from_log(s, logf);
        log_debug("step '%s' ran in %.1f s", step_name, now_seconds() - t0);
        char *endp;
        errno = 0;
        long code = strtol(result, &endp, 10);
        if (errno != 0 || endp == result || (*endp && *endp != '\n') || code < 0 || code > 255) {
                log_error("step '%s': the script's exit status could not be read: '%s'", step_name, result);
                return -EIO;
        }
        *ret_code = code;
        return 0;
}

static int check_env(const char *step_name, const char *const *env) {
        for (const char *const *e = env; e && *e; e++)
                if (!env_entry_valid(*e)) {
                        _cleanup_free_ char *key = xstrndup(*e, strcspn(*e, "="));
                        log_error("step '%s': invalid environment entry '%s' (want NAME=value)", step_name, key);
                        return -EINVAL;
                }
        return 0;
}

static int check_shell(GuestSession *s, const char *step_name) {
        int r = guestfs_exists(s->g, "/bin/sh");
        if (r < 0)
                return guest_fail(s, "step '%s': failed to look for '/bin/sh' in the image", step_name);
        if (r == 0) {
                log_error("step '%s': the image has no '/bin/sh' to run the script with", step_name);
                return -ENOENT;
        }
        return 0;
}

int guest_run(GuestSession *s, const char *step_name, const char *script_text, const char *const *env,
              GuestOutputFn out, void *userdata, int *ret_exit_status) {
        int r = check_env(step_name, env);
        if (r < 0)
                return r;
        tail_reset(s);
        if (strspn(script_text, " \t\r\n") == strlen(script_text)) {
                log_debug("step '%s': empty script, nothing to run", step_name);
                if (ret_exit_status)
                        *ret_exit_status = 0;
                return 0;
        }
        r = check_shell(s, step_name);
        if (r < 0)
                return r;
        bool made[ELEMENTSOF(needed_dirs)] = {};
        r = make_needed_dirs(s, step_name, made);
        if (r < 0)
                return r;

        unsigned n = ++s->n_runs;
        _cleanup_free_ char *base = xasprintf("/tmp/.baker-step-%u", n);
        _cleanup_free_ char *script = xasprintf("%s.sh", base), *wrapper = xasprintf("%s.run", base),
                            *logf = xasprintf("%s.log", base), *status = xasprintf("%s.status", base);
        snprintf(s->marker, sizeof s->marker, "@baker-%ld-%u@", (long) getpid(), n);
        s->marker_len = strlen(s->marker);
        _cleanup_free_ char *wrapper_text = make_wrapper(s, base, startswith(script_text, "#!"), env);
        long code = 0;
        if (guestfs_write(s->g, script, script_text, strlen(script_text)) < 0 || guestfs_chmod(s->g, 0700, script) < 0 ||
            guestfs_write(s->g, wrapper, wrapper_text, strlen(wrapper_text)) < 0)
                r = guest_fail(s, "step '%s': failed to upload the script", step_name);
        else
                r = run_wrapper(s, step_name, wrapper, logf, out, userdata, &code);
        if (r >= 0 && ret_exit_status)
                *ret_exit_status = (int) code;
        /* A non-zero exit is the caller's to report (once, with the step's position). */
        if (r >= 0)
                r = code != 0 ? GUEST_STEP_FAILED : 0;

        /* Leave the tree as the script left it: remove baker's files, and /tmp if baker made it. */
        (void) guest_rm_f(s, script);
        (void) guest_rm_f(s, wrapper);
        (void) guest_rm_f(s, logf);
        (void) guest_rm_f(s, status);
        for (size_t k = 0; k < ELEMENTSOF(needed_dirs); k++)
                if (made[k] && guestfs_rmdir(s->g, needed_dirs[k]) < 0)
                        log_debug("failed to remove the '%s' baker made: %s", needed_dirs[k], guest_last_error(s));
        return r;
}

void guest_run_state_free(GuestSession *s) {
        tail_reset(s);
}
