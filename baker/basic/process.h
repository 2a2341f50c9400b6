#pragma once
/* Running host tools (mkfs.vfat, mtools, syslinux, qemu-img): argv in, exit status and captured
 * output back, with no shell in between. */
#include <stdbool.h>
#include <sys/types.h>

/* Runs argv[0] (looked up in PATH) with `env_extra` ("NAME=value" strings, NULL-terminated, may
 * be NULL) added to the environment, stdin from /dev/null, stdout and stderr captured together.
 * Returns the exit status (0-255; 128+N for a signal) or -ENOENT when the program is not
 * installed / another -errno when it could not be started. The output (NUL-terminated, maybe
 * empty) is handed to *ret_output when that is non-NULL, also on a non-zero exit. Logs nothing. */
int process_run(char *const argv[], char *const env_extra[], char **ret_output);

/* process_run() with stdin read from stdin_fd and stdout written to stdout_fd (each -1: as
 * process_run() does; the descriptors may be O_CLOEXEC); *ret_output then holds stderr only when
 * stdout_fd is given. A filter such as `gzip -n` runs this way. */
int process_run_fds(char *const argv[], char *const env_extra[], int stdin_fd, int stdout_fd, char **ret_output);

/* process_run() that logs a failure as "'<argv[0]>' failed (<what>): <last output lines>" and
 * returns -ENOENT (tool missing, naming `package`) or -EPROTO (non-zero exit); 0 on success. */
int process_run_checked(char *const argv[], char *const env_extra[], const char *what, const char *package);

/* The last `n` lines of `text` (a pointer into it). */
const char *process_last_lines(const char *text, unsigned n);
