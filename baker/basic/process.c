#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include "log.h"

extern char **environ;

static char **environment_with(char *const extra[]) {
        size_t n = 0, m = 0;
        while (environ[n])
                n++;
        while (extra && extra[m])
                m++;
        char **env = xcalloc(n + m + 1, sizeof(char *));
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                bool overridden = false;
                for (size_t j = 0; j < m && !overridden; j++) {
                        const char *eq = strchr(extra[j], '=');
                        size_t len = eq ? (size_t) (eq - extra[j]) + 1 : strlen(extra[j]);
                        overridden = strncmp(environ[i], extra[j], len) == 0;
                }
                if (!overridden)
                        env[k++] = environ[i];
        }
        for (size_t j = 0; j < m; j++)
                env[k++] = extra[j];
        return env;
}

int process_run(char *const argv[], char *const env_extra[], char **ret_output) {
        return process_run_fds(argv, env_extra, -1, -1, ret_output);
}

int process_run_fds(char *const argv[], char *const env_extra[], int stdin_fd, int stdout_fd, char **ret_output) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        _cleanup_close_ int rfd = pipefd[0];
        _cleanup_close_ int wfd = pipefd[1];

        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        if (stdin_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO);
        else
                posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, stdout_fd >= 0 ? stdout_fd : wfd, STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, wfd, STDERR_FILENO);
        _cleanup_free_ char **env = environment_with(env_extra);
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        closep(&wfd);
        wfd = -1;

        size_t size = 0, allocated = 4096;
        _cleanup_free_ char *out = xmalloc(allocated);
        for (;;) {
                if (allocated - size < 2048)
                        out = xrealloc(out, allocated *= 2);
                ssize_t n = read(rfd, out + size, allocated - size - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                size += (size_t) n;
                /* Keep the tail only: a chatty tool must not eat memory. */
                if (size > (1u << 20)) {
                        memmove(out, out + size - (1u << 19), 1u << 19);
                        size = 1u << 19;
                }
        }
        out[size] = 0;

        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (ret_output)
                *ret_output = TAKE_PTR(out);
        if (WIFEXITED(status))
                return WEXITSTATUS(status) == 127 && size == 0 ? -ENOENT : WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

const char *process_last_lines(const char *text, unsigned n) {
        size_t len = strlen(text);
        while (len > 0 && text[len - 1] == '\n')
                len--;
        for (size_t i = len; i > 0; i--)
                if (text[i - 1] == '\n' && --n == 0)
                        return text + i;
        return text;
}

int process_run_checked(char *const argv[], char *const env_extra[], const char *what, const char *package) {
        _cleanup_free_ char *out = NULL;
        int r = process_run(argv, env_extra, &out);
        if (r == -ENOENT)
                return log_error_errno(r, "'%s' is not installed (Debian package '%s'), needed to %s", argv[0],
                                       package, what);
        if (r < 0)
                return log_error_errno(r, "failed to run '%s' to %s: %m", argv[0], what);
        if (r > 0) {
                log_error("'%s' failed to %s (exit status %d): %s", argv[0], what, r,
                          out ? process_last_lines(out, 5) : "");
                return -EPROTO;
        }
        return 0;
}
