#include "interrupt.h"

#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "outcome.h"
#include "util.h"

#define MAX_TEMPS 256

/* Fixed slots so the handler touches no allocator. */
static char *temps[MAX_TEMPS];
static volatile sig_atomic_t pending;

static void remove_signal_safe(const char *path) {
        if (unlink(path) == 0 || errno != EISDIR)
                return;
        /* A scratch directory: fork, execve and waitpid are async-signal-safe, rm -rf does the rest. */
        pid_t pid = fork();
        if (pid == 0) {
                char *const argv[] = { (char *) "rm", (char *) "-rf", (char *) path, NULL };
                execve("/bin/rm", argv, (char *const[]) { NULL });
                _exit(127);
        }
        if (pid > 0)
                (void) waitpid(pid, NULL, 0);
}

static void on_signal(int sig) {
        pending = 1;
        for (int i = 0; i < MAX_TEMPS; i++)
                if (temps[i])
                        remove_signal_safe(temps[i]);
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
