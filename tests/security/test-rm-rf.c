/* Issue 13 item 2: the recursive remove (work-directory cleanup, cache gc) walked by path, so a
 * directory swapped for a symlink in the middle of the walk was followed and the remove went on in
 * the symlink's target. Here an attacker process watches the directory being emptied with inotify
 * and, at the first deletion, renames it away and puts a symlink to a victim directory (holding the
 * same names) in its place. A walk by path then deletes the victim's files (thousands of names
 * leave it ample time); a walk by descriptor never can, whatever the timing. Also: a symlink given
 * as the path is removed, not followed, and what is below a symlink is never touched. */
#include <assert.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util.h"

#define N_FILES 4000

static void make_files(const char *dir) {
        assert(mkdir(dir, 0755) == 0);
        for (int i = 0; i < N_FILES; i++) {
                char p[512];
                snprintf(p, sizeof(p), "%s/f%05d", dir, i);
                int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                assert(fd >= 0);
                close(fd);
        }
}

static int count_files(const char *dir) {
        int n = 0;
        for (int i = 0; i < N_FILES; i++) {
                char p[512];
                snprintf(p, sizeof(p), "%s/f%05d", dir, i);
                n += access(p, F_OK) == 0;
        }
        return n;
}

/* The attacker: at the first deletion in top/a, top/a becomes top/moved and top/a a symlink to victim. */
static pid_t start_attacker(const char *top, int *ready_fd) {
        int pfd[2];
        assert(pipe(pfd) == 0);
        pid_t pid = fork();
        assert(pid >= 0);
        if (pid > 0) {
                close(pfd[1]);
                *ready_fd = pfd[0];
                return pid;
        }
        close(pfd[0]);
        char a[512], moved[512], victim[512];
        snprintf(a, sizeof(a), "%s/a", top);
        snprintf(moved, sizeof(moved), "%s/moved", top);
        snprintf(victim, sizeof(victim), "%s/../victim", top);
        int in = inotify_init1(IN_CLOEXEC);
        if (in < 0 || inotify_add_watch(in, a, IN_DELETE) < 0)
                _exit(2);
        (void) !write(pfd[1], "x", 1);
        char buf[4096];
        if (read(in, buf, sizeof(buf)) <= 0)
                _exit(3);
        if (rename(a, moved) < 0 || symlink(victim, a) < 0)
                _exit(4);
        _exit(0);
}

int main(void) {
        const char *base = getenv("TMPDIR");
        _cleanup_free_ char *tmpl = xasprintf("%s/test-rm-rf-XXXXXX", base && *base ? base : "/tmp");
        char *dir = mkdtemp(tmpl);
        assert(dir);
        _cleanup_free_ char *top = path_join(dir, "top"), *a = path_join(top, "a"),
                            *victim = path_join(dir, "victim");
        assert(mkdir(top, 0755) == 0);
        make_files(a);
        make_files(victim);

        int ready;
        pid_t pid = start_attacker(top, &ready);
        char c;
        assert(read(ready, &c, 1) == 1);
        close(ready);
        int r = rm_rf(top);
        int status;
        assert(waitpid(pid, &status, 0) == pid);
        assert(WIFEXITED(status));
        printf("attacker exit %d, rm_rf %d, victim files left %d of %d\n", WEXITSTATUS(status), r,
               count_files(victim), N_FILES);
        assert(WEXITSTATUS(status) == 0); /* the swap happened */
        assert(count_files(victim) == N_FILES);

        /* A symlink as the path is removed as a symlink; its target stays whole. */
        _cleanup_free_ char *link = path_join(dir, "link");
        assert(symlink(victim, link) == 0);
        assert(rm_rf(link) == 0);
        assert(access(link, F_OK) < 0 && errno == ENOENT);
        assert(count_files(victim) == N_FILES);
        /* A trailing slash does not make it a directory to follow either. */
        assert(symlink(victim, link) == 0);
        _cleanup_free_ char *slashed = xasprintf("%s/", link);
        assert(rm_rf(slashed) == 0);
        assert(count_files(victim) == N_FILES);

        /* A plain tree goes entirely. */
        assert(rm_rf(dir) == 0);
        assert(access(dir, F_OK) < 0 && errno == ENOENT);
        assert(rm_rf(dir) == 0); /* gone already: fine */
        printf("ok\n");
        return 0;
}
