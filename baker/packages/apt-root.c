/* A private apt root; see apt-root.h. */
#include "apt-root.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "interrupt.h"
#include "log.h"
#include "strv.h"

extern char **environ;

AptRoot *apt_root_free(AptRoot *r) {
        if (!r)
                return NULL;
        if (r->scratch && r->dir) {
                (void) rm_rf(r->dir);
                interrupt_unregister(r->dir);
        }
        if (r->lock_fd >= 0)
                close(r->lock_fd);
        free(r->dir);
        free(r->env[0]);
        free(r);
        return NULL;
}

static int make_dirs(const char *root) {
        static const char *const dirs[] = {
                "etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d", "etc/apt/trusted.gpg.d",
                "etc/apt/keyrings",   "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg",
                "var/log/apt",
        };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = path_join(root, dirs[i]);
                int r = mkdir_p(p, 0755);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Copies each keyring into etc/apt/keyrings (readable by apt's _apt sandbox user, whatever the
 * original's directory allows) and points the source at the copy. */
static int copy_keyrings(const char *root, AptSource *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *data = NULL;
                size_t size;
                int r = read_full_file(s[i].key, &data, &size);
                if (r < 0)
                        return log_error_errno(r, "failed to read keyring '%s': %m", s[i].key);
                bool armored = size > 10 && memmem(data, size, "-----BEGIN PGP", 14);
                _cleanup_free_ char *name = xasprintf("etc/apt/keyrings/source-%zu.%s", i, armored ? "asc" : "gpg");
                _cleanup_free_ char *path = path_join(root, name);
                r = write_file_atomic(path, data, size, 0644);
                if (r < 0)
                        return log_error_errno(r, "failed to write '%s': %m", path);
                free(s[i].key);
                s[i].key = TAKE_PTR(path);
        }
        return 0;
}

static int write_config(const char *root, const char *arch) {
        _cleanup_free_ char *conf = xasprintf(
                "Dir \"%s/\";\n"
                "Dir::State::status \"%s/var/lib/dpkg/status\";\n"
                "Dir::Etc::TrustedParts \"%s/etc/apt/trusted.gpg.d\";\n"
                "Dir::Etc::Trusted \"%s/etc/apt/trusted.gpg\";\n"
                "APT::Architecture \"%s\";\n"
                "APT::Architectures { \"%s\"; };\n"
                "APT::Install-Recommends \"false\";\n"
                "APT::Get::AllowUnauthenticated \"false\";\n"
                "Acquire::AllowInsecureRepositories \"false\";\n"
                "Acquire::Languages \"none\";\n"
                "Acquire::Retries \"2\";\n"
                "Debug::NoLocking \"true\";\n",
                root, root, root, root, arch, arch);
        _cleanup_free_ char *path = path_join(root, "apt.conf");
        int r = write_file_atomic(path, conf, strlen(conf), 0644);
        if (r < 0)
                return r;
        /* Written once: apt keeps its parsed package cache (pkgcache.bin) only while the status
         * file's size and time are those it was built with, and parsing every index again costs
         * each apt run of a kept root a second or two. */
        _cleanup_free_ char *status = path_join(root, "var/lib/dpkg/status");
        if (access(status, F_OK) == 0)
                return 0;
        return write_file_atomic(status, "", 0, 0644);
}

int apt_root_new(const char *dir, const char *arch, const AptSource *sources, size_t n, AptRoot **ret) {
        _cleanup_(apt_root_freep) AptRoot *a = xcalloc(1, sizeof(AptRoot));
        a->lock_fd = -1;
        int r;
        /* The root is named by its absolute path: apt reads a relative Signed-By as a key
         * fingerprint, so a relative cache or TMPDIR would break every update. */
        if (dir) {
                r = mkdir_p(dir, 0755);
                if (r < 0)
                        return log_error_errno(r, "failed to create '%s': %m", dir);
                a->dir = realpath(dir, NULL);
                if (!a->dir)
                        return log_error_errno(-errno, "failed to resolve '%s': %m", dir);
                a->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (a->lock_fd < 0 || flock(a->lock_fd, LOCK_EX) < 0)
                        return log_error_errno(-errno, "failed to lock '%s': %m", dir);
        } else {
                _cleanup_free_ char *t = tmp_template("baker-apt");
                if (!mkdtemp(t))
                        return log_error_errno(-errno, "failed to create a scratch directory in '%s': %m", tmp_dir());
                a->dir = realpath(t, NULL);
                if (!a->dir) {
                        r = -errno;
                        (void) rmdir(t);
                        return log_error_errno(r, "failed to resolve '%s': %m", t);
                }
                a->scratch = true;
                interrupt_register(a->dir);
        }
        /* apt downloads as its _apt user, which must reach the lists directory. */
        (void) chmod(a->dir, 0755);
        r = make_dirs(a->dir);
        if (r < 0)
                return log_error_errno(r, "failed to set up apt root '%s': %m", a->dir);

        AptSource *copy = xcalloc(n, sizeof(AptSource));
        for (size_t i = 0; i < n; i++)
                copy[i] = (AptSource) { .uri = sources[i].uri, .suite = sources[i].suite,
                                        .components = sources[i].components, .n_components = sources[i].n_components,
                                        .key = xstrdup(sources[i].key) };
        r = copy_keyrings(a->dir, copy, n);
        _cleanup_free_ char *text = r >= 0 ? apt_sources_to_deb822(copy, n) : NULL;
        for (size_t i = 0; i < n; i++)
                free(copy[i].key);
        free(copy);
        if (r < 0)
                return r;
        _cleanup_free_ char *sources_path = path_join(a->dir, "etc/apt/sources.list.d/baker.sources");
        r = write_file_atomic(sources_path, text, strlen(text), 0644);
        if (r >= 0)
                r = write_config(a->dir, arch);
        if (r < 0)
                return log_error_errno(r, "failed to set up apt root '%s': %m", a->dir);
        a->env[0] = xasprintf("APT_CONFIG=%s/apt.conf", a->dir);
        *ret = TAKE_PTR(a);
        return 0;
}

static char **environment_with(const char *extra) {
        size_t n = 0;
        while (environ[n])
                n++;
        char **env = xcalloc(n + 2, sizeof(char *));
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (!startswith(environ[i], "APT_CONFIG=") && !startswith(environ[i], "LANG=") &&
                    !startswith(environ[i], "LC_ALL="))
                        env[k++] = environ[i];
        env[k++] = (char *) extra;
        return env;
}

int apt_root_run(AptRoot *a, char *const argv[], char **ret_output) {
        _cleanup_free_ char *out_path = path_join(a->dir, "output.log");
        _cleanup_close_ int fd = open(out_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
        _cleanup_free_ char **env = environment_with(a->env[0]);
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        size_t size;
        r = read_full_file(out_path, ret_output, &size);
        if (r < 0)
                return r;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void add_names(const char *data, size_t size, char ***names, size_t *n) {
        for (const char *p = data; p && p < data + size;) {
                if (strncmp(p, "Package: ", 9) == 0) {
                        const char *e = memchr(p + 9, '\n', (size_t) (data + size - p - 9));
                        *names = xrealloc(*names, (*n + 2) * sizeof(char *));
                        (*names)[(*n)++] = xstrndup(p + 9, e ? (size_t) (e - p - 9) : strlen(p + 9));
                }
                p = memchr(p, '\n', (size_t) (data + size - p));
                if (p)
                        p++;
        }
}

char **apt_root_package_names(AptRoot *a, size_t *ret_n) {
        _cleanup_free_ char *lists = path_join(a->dir, "var/lib/apt/lists");
        char **names = xcalloc(1, sizeof(char *));
        size_t n = 0;
        DIR *d = opendir(lists);
        for (struct dirent *de; d && (de = readdir(d));) {
                if (!endswith(de->d_name, "_Packages"))
                        continue;
                _cleanup_free_ char *p = path_join(lists, de->d_name), *data = NULL;
                size_t size;
                if (read_full_file(p, &data, &size) >= 0)
                        add_names(data, size, &names, &n);
        }
        if (d)
                closedir(d);
        strv_sort(names, n);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (k > 0 && streq(names[k - 1], names[i]))
                        free(names[i]);
                else
                        names[k++] = names[i];
        }
        names[k] = NULL;
        *ret_n = k;
        return names;
}
