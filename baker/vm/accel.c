#include "accel.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"

extern char **environ;

static bool probe(void) {
        if (access("/dev/kvm", R_OK | W_OK) < 0)
                return false;
        /* A paused VM (-S) with KVM either aborts at once (unusable) or waits forever (usable). */
        char *argv[] = { (char *) "qemu-system-x86_64", (char *) "-accel", (char *) "kvm", (char *) "-machine",
                         (char *) "pc", (char *) "-cpu", (char *) "host", (char *) "-display", (char *) "none",
                         (char *) "-nodefaults", (char *) "-S", (char *) "-monitor", (char *) "none", NULL };
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return false;
        for (int i = 0; i < 20; i++) { /* up to 1 s */
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid)
                        return false; /* exited: KVM not usable */
                nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return true;
}

bool accel_kvm_usable(void) {
        static int cached = -1;
        if (cached >= 0)
                return cached;
        const char *e = getenv("BAKER_ACCEL");
        if (e && streq(e, "kvm"))
                cached = 1;
        else if (e && streq(e, "tcg"))
                cached = 0;
        else
                cached = probe();
        log_debug("qemu acceleration: %s", cached ? "kvm" : "tcg");
        return cached;
}
