#include "interrupt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>

#include "outcome.h"
#include "util.h"

#define MAX_TEMPS 256

/* Fixed slots so the handler touches no allocator. */
static char *temps[MAX_TEMPS];
static volatile sig_atomic_t pending;

/* Empties the directory dirfd with system calls only (no allocator, no stdio), depth-limited. */
static void empty_dir_signal_safe(int dirfd, int depth) {
        char buf[4096];
        for (;;) {
                ssize_t n = getdents64(dirfd, buf, sizeof buf);
                if (n <= 0)
                        return;
                for (ssize_t off = 0; off < n;) {
                        struct dirent64 *d = (struct dirent64 *) (buf + off);
                        off += d->d_reclen;
                        if (streq(d->d_name, ".") || streq(d->d_name, ".."))
                                continue;
                        if (unlinkat(dirfd, d->d_name, 0) == 0 || errno != EISDIR || depth <= 0)
                                continue;
                        int sub = openat(dirfd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0) {
                                empty_dir_signal_safe(sub, depth - 1);
                                (void) close(sub);
                        }
                        (void) unlinkat(dirfd, d->d_name, AT_REMOVEDIR);
                }
        }
}

static void remove_tree_signal_safe(const char *path) {
        /* Files, and directories such as a bake's work dir with its multi-GB scratch disk. */
        if (unlink(path) == 0 || errno != EISDIR)
                return;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        empty_dir_signal_safe(fd, 8);
        (void) close(fd);
        (void) rmdir(path);
}

static void on_signal(int sig) {
        pending = 1;
        for (int i = 0; i < MAX_TEMPS; i++)
                if (temps[i])
                        remove_tree_signal_safe(temps[i]);
        static const char msg[] = "\nbaker: interrupted, temporary files removed\n";
        (void) !write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(OUTCOME_INTERRUPTED);
}

void interrupt_install(void) {
        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
}

static void block(sigset_t *old) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        sigprocmask(SIG_BLOCK, &set, old);
}

void interrupt_register(const char *path) {
        char *copy = xstrdup(path);
        sigset_t old;
        block(&old);
        for (int i = 0; i < MAX_TEMPS; i++)
                if (!temps[i]) {
                        temps[i] = copy;
                        copy = NULL;
                        break;
                }
        sigprocmask(SIG_SETMASK, &old, NULL);
        free(copy); /* table full: the file is still under a temp name, just not removed early */
}

void interrupt_unregister(const char *path) {
        sigset_t old;
        block(&old);
        for (int i = 0; i < MAX_TEMPS; i++)
                if (temps[i] && streq(temps[i], path)) {
                        free(temps[i]);
                        temps[i] = NULL;
                }
        sigprocmask(SIG_SETMASK, &old, NULL);
}

bool interrupt_pending(void) {
        return pending;
}
