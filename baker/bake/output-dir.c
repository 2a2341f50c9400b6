/* Locking an output folder and removing a killed bake's debris from it; see output-dir.h. */
#include "output-dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "log.h"
#include "manifest.h"

/* ".NAME.….tmp-XXXXXX" (tmp_sibling() of an output) or ".manifest.json.tmp-XXXXXX". */
static bool is_debris_name(const char *f, const char *name) {
        size_t n = strlen(f), suffix = strlen(".tmp-XXXXXX");
        if (f[0] != '.' || n <= suffix || !startswith(f + n - suffix, ".tmp-"))
                return false;
        _cleanup_free_ char *output_prefix = xasprintf(".%s.", name), *manifest_prefix = xasprintf(".%s.", MANIFEST_FILE);
        return startswith(f, output_prefix) || startswith(f, manifest_prefix);
}

/* Only regular files of ours, by name within the directory we hold (never following a symlink). */
static void remove_debris(int dfd, const char *dir, const char *name) {
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                closep(&fd);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                struct stat st;
                if (!is_debris_name(de->d_name, name) || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
                        continue;
                if (unlinkat(dfd, de->d_name, 0) < 0)
                        log_warning_errno(-errno, "failed to remove '%s/%s', left by a killed bake: %m", dir, de->d_name);
                else
                        log_info("removed '%s/%s', left by a killed bake", dir, de->d_name);
        }
        closedir(d);
}

int output_dir_lock(const char *dir, const char *name) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "failed to open '%s': %m", dir);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = -errno;
                if (r == -EWOULDBLOCK) {
                        log_notice("waiting for another bake writing to '%s'", dir);
                        r = flock(fd, LOCK_EX) < 0 ? -errno : 0;
                }
                if (r < 0) {
                        closep(&fd);
                        return log_error_errno(r, "failed to lock '%s': %m", dir);
                }
        }
        remove_debris(fd, dir, name);
        return fd;
}
