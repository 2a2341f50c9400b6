/* Root filesystems from locked .debs with mmdebstrap; see debian-build.h. */
#include "debian-build.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "dpkg-status.h"
#include "fetch.h"
#include "http.h"
#include "interrupt.h"
#include "log.h"
#include "process.h"

#define BUILD_NS "debian-rootfs"
#define BUILDER_VERSION "baker-debian-rootfs-v1"

extern char **environ;

void debian_build_key(const DebianBuild *b, uint8_t ret[DIGEST_SIZE]) {
        uint8_t set[DIGEST_SIZE];
        deb_package_set_digest(b->packages, set);
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update_string(d, BUILDER_VERSION);
        digest_update(d, set, DIGEST_SIZE);
        digest_update_string(d, debian_variant_to_string(b->variant));
        char epoch[32];
        snprintf(epoch, sizeof epoch, "%" PRId64, b->epoch);
        digest_update_string(d, epoch);
        digest_update_string(d, b->image_sources ? b->image_sources : "");
        for (size_t i = 0; i < b->n_keyrings; i++) {
                uint8_t k[DIGEST_SIZE] = {};
                (void) digest_file(b->keyrings[i].host_path, k, NULL);
                digest_update_string(d, b->keyrings[i].image_path);
                digest_update(d, k, DIGEST_SIZE);
        }
        digest_final(d, ret);
}

static char *deb_url(const DebPackage *p) {
        return xasprintf("%s/%s", p->repository, p->filename);
}

/* Downloads at once: one connection each, as apt does. A .deb is small, so the time goes to round
 * trips, which overlap. */
#define FETCH_WORKERS 4

typedef struct FetchQueue {
        const char *cache_dir;
        const DebianBuild *b;
        size_t *missing; /* indexes into b->packages */
        size_t n_missing, next;
        pthread_mutex_t lock;
        int error;          /* the first failure, 0 if none */
        size_t failed;      /* its package */
} FetchQueue;

static int fetch_one(Cache *c, const DebPackage *p) {
        _cleanup_free_ char *url = deb_url(p), *path = NULL;
        uint8_t digest[DIGEST_SIZE];
        log_info("fetching %s %s", p->name, p->version);
        return fetch_url(c, url, p->sha256, &path, digest);
}

/* Takes the next missing package until none is left or one failed. Each worker has its own
 * Cache handle: a handle records the locks it holds and is not shared between threads. */
static void *fetch_worker(void *userdata) {
        FetchQueue *q = userdata;
        _cleanup_(cache_freep) Cache *c = NULL;
        int r = cache_open(q->cache_dir, &c);
        for (;;) {
                pthread_mutex_lock(&q->lock);
                size_t i = q->next < q->n_missing && q->error == 0 && r >= 0 ? q->missing[q->next++] : SIZE_MAX;
                if (r < 0 && q->error == 0)
                        q->error = r, q->failed = SIZE_MAX;
                pthread_mutex_unlock(&q->lock);
                if (i == SIZE_MAX)
                        return NULL;
                int k = fetch_one(c, &q->b->packages->packages[i]);
                if (k < 0) {
                        pthread_mutex_lock(&q->lock);
                        if (q->error == 0)
                                q->error = k, q->failed = i;
                        pthread_mutex_unlock(&q->lock);
                }
        }
}

static int fetch_failed(const DebianBuild *b, int r, size_t i) {
        if (i == SIZE_MAX)
                return log_error_errno(r, "%s: cannot open the cache: %m", b->what);
        const DebPackage *p = &b->packages->packages[i];
        if (r == -EBADMSG)
                return log_error_errno(r, "%s: package '%s' %s is corrupt (its sha256 differs from the lock's)", b->what,
                                       p->name, p->version);
        return log_error_errno(-ENOENT,
                               "%s: package '%s' version %s cannot be fetched and is not in the cache; "
                               "point the mirror at a snapshot that still serves it "
                               "(e.g. snapshot.debian.org), or bake with --refresh to move to "
                               "what the mirror serves now",
                               b->what, p->name, p->version);
}

int debian_fetch(Cache *c, const DebianBuild *b) {
        FetchQueue q = { .cache_dir = cache_dir(c), .b = b, .missing = xcalloc(b->packages->n + 1, sizeof(size_t)),
                         .lock = PTHREAD_MUTEX_INITIALIZER };
        for (size_t i = 0; i < b->packages->n; i++) {
                const DebPackage *p = &b->packages->packages[i];
                if (cache_blob_exists(c, p->sha256))
                        continue;
                q.missing[q.n_missing++] = i;
                _cleanup_free_ char *url = deb_url(p);
                http_url_register_secret(url); /* before the threads: see http.h */
        }
        pthread_t threads[FETCH_WORKERS];
        size_t started = 0;
        for (; started < MIN((size_t) FETCH_WORKERS, q.n_missing); started++)
                if (pthread_create(&threads[started], NULL, fetch_worker, &q) != 0)
                        break;
        if (started == 0 && q.n_missing > 0)
                (void) fetch_worker(&q); /* no thread to be had: this one does the work */
        for (size_t i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        free(q.missing);
        return q.error < 0 ? fetch_failed(b, q.error, q.failed) : 0;
}

/* "name_version_arch.deb" as apt names it, the epoch's colon encoded. */
static char *deb_file_name(const DebPackage *p) {
        const char *colon = strchr(p->version, ':');
        if (!colon)
                return xasprintf("%s_%s_%s.deb", p->name, p->version, p->architecture);
        return xasprintf("%s_%.*s%%3a%s_%s.deb", p->name, (int) (colon - p->version), p->version, colon + 1,
                         p->architecture);
}

/* Hard links (or copies, across file systems) of the cached .debs in dir. */
static int populate_repository(Cache *c, const DebianBuild *b, const char *dir) {
        for (size_t i = 0; i < b->packages->n; i++) {
                const DebPackage *p = &b->packages->packages[i];
                _cleanup_free_ char *blob = NULL, *name = deb_file_name(p);
                int r = cache_blob_path(c, p->sha256, &blob);
                if (r < 0)
                        return log_error_errno(r, "%s: '%s' vanished from the cache", b->what, p->name);
                _cleanup_free_ char *dest = path_join(dir, name);
                if (link(blob, dest) < 0) {
                        r = copy_file(blob, dest, O_EXCL, 0644);
                        if (r < 0)
                                return log_error_errno(r, "failed to copy '%s' to '%s': %m", blob, dest);
                }
                (void) chmod(dest, 0644);
        }
        return 0;
}

/* Runs argv in dir with stdout to out_path (stderr too). Exit status or -errno. */
static int run_in(const char *dir, char *const argv[], const char *out_path) {
        _cleanup_close_ int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
        posix_spawn_file_actions_addchdir_np(&fa, dir);
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int make_index(const char *what, const char *repo) {
        char *argv[] = { (char *) "apt-ftparchive", (char *) "packages", (char *) ".", NULL };
        _cleanup_free_ char *out = path_join(repo, "Packages");
        int r = run_in(repo, argv, out);
        if (r == -ENOENT)
                return log_error_errno(r, "%s: apt-ftparchive is not installed (package apt-utils)", what);
        if (r != 0)
                return log_error_errno(r < 0 ? r : -EPROTO, "%s: apt-ftparchive failed", what);
        return 0;
}

/* dpkg's fsync of every file it unpacks buys nothing here (the tree becomes a tarball; a crash
 * loses the scratch directory anyway) and costs much of the build on a busy disk. The setting is
 * the build's, not the image's: the customize hook removes it (mmdebstrap's --dpkgopt would stay). */
#define UNSAFE_IO_CONF "etc/dpkg/dpkg.cfg.d/baker-unsafe-io"
#define UNSAFE_IO_HOOK \
        "--setup-hook=mkdir -p \"$1/etc/dpkg/dpkg.cfg.d\" && echo force-unsafe-io > \"$1/" UNSAFE_IO_CONF "\""

/* Debian builds a fresh kernel's initramfs twice: the kernel's postinst runs `update-initramfs -c`,
 * and initramfs-tools' trigger, activated earlier in the same run, regenerates it with `-u` once
 * every package is configured, overwriting the first. mkinitramfs is a few thousand small processes
 * (a minute or more on a busy builder), so the build skips the first (INITRD=No, which the kernel
 * hook honours) and the customize hook makes the one that counts, from the same finished tree the
 * trigger would have seen; the trigger, finding no initramfs, does nothing. Only the plain case
 * is taken: one kernel (the trigger regenerates only the newest), initramfs-tools and no other
 * generator. The tarball is byte for byte the one the usual order gives (checked by hand for
 * the bench's package set: the same sha256, and 82 s less on a quiet builder). */
bool debian_build_one_initramfs(const DebPackageSet *s) {
        size_t kernels = 0;
        bool tools = false;
        for (size_t i = 0; i < s->n; i++) {
                const char *n = s->packages[i].name;
                if (startswith(n, "linux-image-") && isdigit((unsigned char) n[strlen("linux-image-")]))
                        kernels++;
                else if (streq(n, "initramfs-tools"))
                        tools = true;
                else if (streq(n, "dracut") || streq(n, "dracut-core") || streq(n, "tiny-initramfs"))
                        return false;
        }
        return tools && kernels == 1;
}

/* INITRD=No also kept linux-update-symlinks from linking /initrd.img: the links are made again
 * now that the file is there, as the kernel's postinst would have made them. */
#define ONE_INITRAMFS_HOOK \
        "v=$(chroot \"$root\" linux-version list)\n" \
        "chroot \"$root\" env -u TMPDIR -u INITRD update-initramfs -c -k \"$v\"\n" \
        "chroot \"$root\" env -u INITRD linux-update-symlinks install \"$v\" \"/boot/vmlinuz-$v\"\n"

/* The customize hook: nothing of the building host stays in the tree, and the image's apt points
 * at the real archive (not at the local repository the build used). */
static int write_hook(const DebianBuild *b, const char *work, char **ret_hook) {
        _cleanup_free_ char *sources = path_join(work, "debian.sources");
        const char *text = b->image_sources ? b->image_sources : "";
        int r = write_file_atomic(sources, text, strlen(text), 0644);
        if (r < 0)
                return r;
        _cleanup_free_ char *qs = shell_quote(sources);
        char *script = xasprintf("#!/bin/sh\nset -e\nroot=\"$1\"\n"
                                 "%s"
                                 "rm -f \"$root/" UNSAFE_IO_CONF "\"\n"
                                 "rm -f \"$root/etc/resolv.conf\" \"$root\"/etc/ssh/ssh_host_*_key \"$root\"/etc/ssh/ssh_host_*_key.pub\n"
                                 "echo localhost > \"$root/etc/hostname\"\n"
                                 "if [ -e \"$root/etc/machine-id\" ]; then : > \"$root/etc/machine-id\"; fi\n"
                                 "rm -f \"$root/etc/apt/sources.list\"\n"
                                 "mkdir -p \"$root/etc/apt/sources.list.d\" \"$root/etc/apt/keyrings\"\n"
                                 "%s",
                                 debian_build_one_initramfs(b->packages) ? ONE_INITRAMFS_HOOK : "",
                                 *text ? "" : ": no sources\n");
        if (*text) {
                char *s = xasprintf("%scp %s \"$root/etc/apt/sources.list.d/debian.sources\"\n", script, qs);
                free(script);
                script = s;
        }
        for (size_t i = 0; i < b->n_keyrings; i++) {
                _cleanup_free_ char *from = shell_quote(b->keyrings[i].host_path);
                _cleanup_free_ char *to = shell_quote(b->keyrings[i].image_path);
                char *s = xasprintf("%scp %s \"$root\"/%s\nchmod 0644 \"$root\"/%s\n", script, from, to, to);
                free(script);
                script = s;
        }
        _cleanup_free_ char *hook = path_join(work, "customize.sh");
        r = write_file_atomic(hook, script, strlen(script), 0755);
        free(script);
        if (r < 0)
                return r;
        *ret_hook = TAKE_PTR(hook);
        return 0;
}

static char *include_list(const DebPackageSet *s) {
        char *list = xstrdup("");
        for (size_t i = 0; i < s->n; i++) {
                char *l = xasprintf("%s%s%s", list, i ? "," : "", s->packages[i].name);
                free(list);
                list = l;
        }
        return list;
}

static int run_mmdebstrap(const DebianBuild *b, const char *work, const char *hook, const char *tar) {
        const char *mode = getenv("BAKER_MMDEBSTRAP_MODE");
        if (!mode || !*mode)
                mode = geteuid() == 0 ? "root" : "unshare";
        _cleanup_free_ char *mode_arg = xasprintf("--mode=%s", mode);
        _cleanup_free_ char *variant = xasprintf("--variant=%s", debian_variant_to_string(b->variant));
        _cleanup_free_ char *names = include_list(b->packages);
        _cleanup_free_ char *include = xasprintf("--include=%s", names);
        _cleanup_free_ char *qhook = shell_quote(hook);
        _cleanup_free_ char *hook_arg = xasprintf("--customize-hook=sh %s \"$1\"", qhook);
        _cleanup_free_ char *mirror = xasprintf("deb [trusted=yes] copy://%s/repo ./", work);
        char *argv[] = { (char *) "mmdebstrap", (char *) "--quiet", mode_arg, variant, (char *) "--format=tar",
                         (char *) UNSAFE_IO_HOOK, include, hook_arg, (char *) "", (char *) tar, mirror, NULL };
        _cleanup_free_ char *epoch = xasprintf("SOURCE_DATE_EPOCH=%" PRId64, b->epoch);
        char *env[] = { epoch, (char *) "LC_ALL=C.UTF-8",
                        (char *) (debian_build_one_initramfs(b->packages) ? "INITRD=No" : NULL), NULL };
        _cleanup_free_ char *out = NULL;
        log_info("%s: installing %zu packages with mmdebstrap (mode %s)", b->what, b->packages->n, mode);
        int r = process_run(argv, env, &out);
        if (r == -ENOENT)
                return log_error_errno(r, "%s: mmdebstrap is not installed (package mmdebstrap)", b->what);
        if (r != 0)
                return log_error_errno(r < 0 ? r : -EPROTO, "%s: mmdebstrap failed: %s", b->what,
                                       out ? process_last_lines(out, 15) : "");
        return 0;
}

/* The tarball's dpkg status must list exactly the locked packages and versions. */
static int verify_installed(const DebianBuild *b, const char *work, const char *tar) {
        char *argv[] = { (char *) "tar", (char *) "-xOf", (char *) tar, (char *) "./var/lib/dpkg/status", NULL };
        _cleanup_free_ char *out_path = path_join(work, "status"), *data = NULL;
        int r = run_in(work, argv, out_path);
        size_t size;
        if (r == 0)
                r = read_full_file(out_path, &data, &size);
        if (r != 0)
                return log_error_errno(r < 0 ? r : -EPROTO, "%s: the built tree has no dpkg status", b->what);
        DebPackageSet installed = {};
        r = dpkg_status_parse(data, size, &installed, NULL);
        if (r < 0)
                return log_error_errno(r, "%s: cannot parse the built tree's dpkg status", b->what);
        int result = 0;
        for (size_t i = 0; i < b->packages->n && result == 0; i++) {
                const DebPackage *want = &b->packages->packages[i];
                const DebPackage *got = deb_package_set_find(&installed, want->name);
                if (!got || !streq(got->version, want->version))
                        result = log_error_errno(-EPROTO, "%s: mmdebstrap did not install '%s' %s", b->what,
                                                 want->name, want->version);
        }
        if (result == 0 && installed.n != b->packages->n)
                result = log_error_errno(-EPROTO, "%s: mmdebstrap installed %zu packages, the lock has %zu", b->what,
                                         installed.n, b->packages->n);
        deb_package_set_done(&installed);
        return result;
}

static int remember(Cache *c, const char *keyhex, const uint8_t digest[DIGEST_SIZE]) {
        _cleanup_free_ char *tmp = NULL;
        int r = cache_entry_begin(c, BUILD_NS, keyhex, &tmp);
        if (r < 0)
                return r;
        char d[DIGEST_STRING_MAX];
        digest_to_string(digest, d);
        _cleanup_free_ char *path = path_join(tmp, "tarball");
        r = write_file_atomic(path, d, strlen(d), 0644);
        if (r >= 0)
                r = cache_entry_commit(c, BUILD_NS, keyhex, tmp, NULL);
        if (r < 0)
                cache_entry_abort(c, tmp);
        return r;
}

static int lookup(Cache *c, const char *keyhex, char **ret_path, uint8_t ret_digest[DIGEST_SIZE]) {
        _cleanup_free_ char *dir = NULL, *file = NULL, *text = NULL;
        int r = cache_entry_lookup(c, BUILD_NS, keyhex, &dir);
        if (r < 0)
                return r;
        file = path_join(dir, "tarball");
        size_t size;
        uint8_t digest[DIGEST_SIZE];
        if (read_full_file(file, &text, &size) < 0 || digest_from_string(text, digest) < 0)
                return -ENOENT;
        r = cache_blob_path(c, digest, ret_path);
        if (r < 0)
                return r;
        memcpy(ret_digest, digest, DIGEST_SIZE);
        return 0;
}

static int build_in(Cache *c, const DebianBuild *b, const char *work, char **ret_path, uint8_t ret_digest[DIGEST_SIZE]) {
        _cleanup_free_ char *repo = path_join(work, "repo"), *hook = NULL;
        int r = mkdir_p(repo, 0755);
        if (r < 0)
                return log_error_errno(r, "failed to create '%s': %m", repo);
        r = populate_repository(c, b, repo);
        if (r >= 0)
                r = make_index(b->what, repo);
        if (r < 0)
                return r;
        r = write_hook(b, work, &hook);
        if (r < 0)
                return log_error_errno(r, "failed to write the build's hook in '%s': %m", work);
        _cleanup_free_ char *tar = path_join(work, "rootfs.tar");
        r = run_mmdebstrap(b, work, hook, tar);
        if (r >= 0)
                r = verify_installed(b, work, tar);
        if (r < 0)
                return r;
        /* The tarball is ours and large: moved into the cache, not copied, where the scratch
         * directory shares its file system. */
        r = cache_blob_adopt(c, tar, ret_digest, ret_path);
        if (r == -EXDEV)
                r = fetch_file(c, tar, NULL, ret_path, ret_digest);
        return r;
}

int debian_build(Cache *c, const DebianBuild *b, char **ret_path, uint8_t ret_digest[DIGEST_SIZE]) {
        uint8_t key[DIGEST_SIZE];
        char keyhex[DIGEST_HEX_SIZE + 1];
        debian_build_key(b, key);
        digest_to_hex(key, keyhex);
        if (lookup(c, keyhex, ret_path, ret_digest) >= 0) {
                log_debug("%s: root filesystem %s is in the cache", b->what, keyhex);
                return 0;
        }
        int r = debian_fetch(c, b);
        if (r < 0)
                return r;
        _cleanup_free_ char *work = tmp_template("baker-debian");
        if (!mkdtemp(work))
                return log_error_errno(-errno, "failed to create a scratch directory in '%s': %m", tmp_dir());
        /* Removed on every path: a failure, success, and Ctrl-C or SIGTERM (interrupt.h). */
        interrupt_register(work);
        (void) chmod(work, 0755); /* mmdebstrap's unshared user reads the repository and hook */
        _cleanup_free_ char *path = NULL;
        uint8_t digest[DIGEST_SIZE];
        r = build_in(c, b, work, &path, digest);
        (void) rm_rf(work);
        interrupt_unregister(work);
        if (r < 0)
                return r;
        r = remember(c, keyhex, digest);
        if (r < 0)
                log_warning_errno(r, "%s: cannot remember the root filesystem in the cache: %m", b->what);
        *ret_path = TAKE_PTR(path);
        memcpy(ret_digest, digest, DIGEST_SIZE);
        return 0;
}
