/* The libguestfs appliance session (see guest.h): launching it, its drives and mounts, files and
 * filesystems, metadata. Run steps are in guest-run.c. */
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "accel.h"
#include "guest-internal.h"
#include "log.h"
#include "strv.h"
#include "time-util.h"

const char *guest_last_error(GuestSession *s) {
        const char *e = guestfs_last_error(s->g);
        return e ? e : "unknown libguestfs error";
}

int guest_fail(GuestSession *s, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *what = NULL;
        if (vasprintf(&what, fmt, ap) < 0)
                abort();
        va_end(ap);
        log_error("%s: %s", what, guest_last_error(s));
        return -EIO;
}

const char *guest_appliance_path(void) {
        static bool done;
        static char *path;
        if (done)
                return path;
        done = true;
        const char *e = getenv("BAKER_APPLIANCE");
        if (e && *e) {
                path = xstrdup(e);
                return path;
        }
        /* A fixed appliance is recognised by the README.fixed that libguestfs-make-fixed-appliance
         * writes into it; libguestfs looks for the same file. */
        _cleanup_free_ char *xdg = xdg_cache_path("baker/appliance");
        const char *candidates[] = { "/var/cache/baker/appliance", xdg };
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                if (!candidates[i])
                        continue;
                _cleanup_free_ char *readme = path_join(candidates[i], "README.fixed");
                if (access(readme, R_OK) == 0) {
                        path = xstrdup(candidates[i]);
                        break;
                }
        }
        return path;
}

static void on_event(guestfs_h *g, void *opaque, uint64_t event, int event_handle, int flags, const char *buf,
                     size_t buf_len, const uint64_t *array, size_t array_len) {
        GuestSession *s = opaque;
        if (event != GUESTFS_EVENT_APPLIANCE) {
                /* Library and trace messages: only with -vv, as libguestfs' own verbose output. */
                log_debug("libguestfs: %.*s", (int) buf_len, buf);
                return;
        }
        for (size_t i = 0; i < buf_len; i++) {
                if (s->partial_len + 1 >= s->partial_alloc) {
                        s->partial_alloc = MAX(s->partial_alloc * 2, (size_t) 256);
                        s->partial = xrealloc(s->partial, s->partial_alloc);
                }
                /* A line longer than 64 KiB is cut rather than held forever. */
                if (buf[i] == '\n' || s->partial_len >= 65536) {
                        s->partial[s->partial_len] = 0;
                        guest_console_line(s, s->partial, s->partial_len);
                        s->partial_len = 0;
                        if (buf[i] == '\n')
                                continue;
                }
                s->partial[s->partial_len++] = buf[i];
        }
}

/* ---- session ------------------------------------------------------------------------------ */

/* Two names for each drive. The kernel names disks in the order their probes finish, the
 * appliance's own root among them, so on a loaded host drive 0 may be the kernel's /dev/sdc and
 * drive 1 its /dev/sda (libguestfs issue #69; seen in test-guest). libguestfs' API takes its own
 * names, /dev/sda for drive 0 always, and its daemon translates them to the kernel's; handing the API
 * a kernel name gets it translated again, to another drive. So API calls get guestfs_list_devices()'s
 * names, and commands run through the daemon's debug shell, which sees the kernel's names, get
 * those: libguestfs gives drive N the SCSI serial "hdN", resolved through its /dev/disk/by-id link. */
static int resolve_drives(GuestSession *s, size_t n) {
        s->devices = guestfs_list_devices(s->g);
        if (!s->devices)
                return guest_fail(s, "failed to list the appliance's drives");
        size_t listed = strv_length((const char *const *) s->devices);
        if (listed != n) {
                log_error("the appliance has %zu drives, not the %zu added", listed, n);
                return -ENODEV;
        }
        s->kernel_devices = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *cmd = xasprintf("readlink -f /dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_hd%zu", i);
                _cleanup_free_ char *out = guestfs_debug(s->g, "sh", (char *[]) { cmd, NULL });
                if (!out)
                        return guest_fail(s, "failed to find the appliance's device for drive %zu", i);
                out[strcspn(out, "\n")] = 0;
                /* readlink -f of a missing link prints the path itself */
                if (!startswith(out, "/dev/") || startswith(out, "/dev/disk/")) {
                        log_error("failed to find the appliance's device for drive %zu: '%s'", i, out);
                        return -ENODEV;
                }
                s->kernel_devices[i] = TAKE_PTR(out);
                log_debug("drive %zu is '%s', the kernel's '%s'", i, s->devices[i], s->kernel_devices[i]);
        }
        return 0;
}

int guest_open(const char *disk_image, const GuestOptions *o, GuestSession **ret) {
        static const GuestOptions defaults = {};
        if (!o)
                o = &defaults;

        _cleanup_(guest_closep) GuestSession *s = xcalloc(1, sizeof(GuestSession));
        s->g = guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);
        if (!s->g)
                return log_error_errno(-errno ?: -ENOMEM, "failed to create a libguestfs handle: %m");
        /* Errors are reported through baker's log, with context, not printed by libguestfs. */
        guestfs_set_error_handler(s->g, NULL, NULL);
        /* LIBGUESTFS_BACKEND, LIBGUESTFS_DEBUG, TMPDIR, … still apply; LIBGUESTFS_PATH is decided
         * below so that $BAKER_APPLIANCE wins. */
        if (guestfs_parse_environment(s->g) < 0)
                return guest_fail(s, "failed to read the libguestfs environment");

        uint64_t events = GUESTFS_EVENT_APPLIANCE;
        if (log_get_max_level() >= LOG_LEVEL_DEBUG) {
                guestfs_set_verbose(s->g, 1);
                events |= GUESTFS_EVENT_LIBRARY | GUESTFS_EVENT_WARNING | GUESTFS_EVENT_TRACE;
        }
        if (guestfs_set_event_callback(s->g, on_event, events, 0, s) < 0)
                return guest_fail(s, "failed to register the appliance output callback");

        const char *appliance = guest_appliance_path();
        if (appliance) {
                log_debug("using the fixed appliance in '%s'", appliance);
                if (guestfs_set_path(s->g, appliance) < 0)
                        return guest_fail(s, "failed to use the appliance in '%s'", appliance);
        }
        if (!accel_kvm_usable() &&
            guestfs_set_backend_settings(s->g, (char *[]) { (char *) "force_tcg", NULL }) < 0)
                return guest_fail(s, "failed to force TCG");
        if (o->memory_mb > 0 && guestfs_set_memsize(s->g, (int) MIN(o->memory_mb, (uint64_t) INT32_MAX)) < 0)
                return guest_fail(s, "failed to set the appliance memory to %" PRIu64 " MiB", o->memory_mb);
        if (o->network && guestfs_set_network(s->g, 1) < 0)
                return guest_fail(s, "failed to enable the appliance network");

        if (guestfs_add_drive_opts(s->g, disk_image, GUESTFS_ADD_DRIVE_OPTS_FORMAT, o->format ?: "raw",
                                   GUESTFS_ADD_DRIVE_OPTS_READONLY, (int) o->readonly, -1) < 0)
                return guest_fail(s, "failed to add disk image '%s'", disk_image);
        for (const char *const *d = o->extra_drives_readonly; d && *d; d++)
                if (guestfs_add_drive_opts(s->g, *d, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, -1) < 0)
                        return guest_fail(s, "failed to add disk image '%s'", *d);

        double t0 = now_seconds();
        if (guestfs_launch(s->g) < 0)
                return guest_fail(s, "failed to launch the appliance");
        log_info("appliance launched in %.1f s", now_seconds() - t0);

        size_t n_drives = 1;
        for (const char *const *d = o->extra_drives_readonly; d && *d; d++)
                n_drives++;
        int r = resolve_drives(s, n_drives);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int guest_shutdown(GuestSession *s) {
        if (!s->g)
                return 0;
        if (guestfs_umount_all(s->g) < 0)
                return guest_fail(s, "failed to unmount the filesystems");
        if (guestfs_shutdown(s->g) < 0)
                return guest_fail(s, "failed to shut the appliance down");
        return 0;
}

GuestSession *guest_close(GuestSession *s) {
        if (!s)
                return NULL;
        if (s->g) {
                /* guestfs_close() syncs and stops qemu too, but silently; report what went wrong. */
                if (guestfs_shutdown(s->g) < 0)
                        log_warning("failed to shut the appliance down: %s", guest_last_error(s));
                guestfs_close(s->g);
        }
        strv_free(s->devices);
        strv_free(s->kernel_devices);
        free(s->partial);
        guest_run_state_free(s);
        free(s);
        return NULL;
}

/* "/dev/sda" + 2 → "/dev/sda2", but "/dev/nvme0n1" + 2 → "/dev/nvme0n1p2". */
static char *partition_name(const char *disk, const char *partition) {
        bool digit = *disk && disk[strlen(disk) - 1] >= '0' && disk[strlen(disk) - 1] <= '9';
        return xasprintf("%s%s%s", disk, digit && *partition ? "p" : "", partition);
}

/* The kernel's name for a device named as guest_device() names it, for the debug shell. */
static char *kernel_device(GuestSession *s, const char *device) {
        for (size_t i = 0; s->devices && s->devices[i] && s->kernel_devices && s->kernel_devices[i]; i++) {
                size_t l = strlen(s->devices[i]);
                if (strncmp(device, s->devices[i], l) != 0)
                        continue;
                const char *partition = device + l + (device[l] == 'p');
                if (strspn(partition, "0123456789") == strlen(partition))
                        return partition_name(s->kernel_devices[i], partition);
        }
        return xstrdup(device);
}

char *guest_device(GuestSession *s, unsigned drive, unsigned partition) {
        size_t n = 0;
        while (s->devices[n])
                n++;
        if (drive >= n)
                return NULL;
        if (partition == 0)
                return xstrdup(s->devices[drive]);
        char number[16];
        snprintf(number, sizeof number, "%u", partition);
        return partition_name(s->devices[drive], number);
}

int guest_mount(GuestSession *s, const char *device, const char *mountpoint) {
        if (guestfs_mount(s->g, device, mountpoint) < 0)
                return guest_fail(s, "failed to mount '%s' on '%s'", device, mountpoint);
        return 0;
}

int guest_mount_ro(GuestSession *s, const char *device, const char *mountpoint) {
        if (guestfs_mount_ro(s->g, device, mountpoint) < 0)
                return guest_fail(s, "failed to mount '%s' read-only on '%s'", device, mountpoint);
        return 0;
}

int guest_umount_all(GuestSession *s) {
        if (guestfs_umount_all(s->g) < 0)
                return guest_fail(s, "failed to unmount the filesystems");
        return 0;
}
/* ---- files and filesystems ---------------------------------------------------------------- */

int guest_tar_out(GuestSession *s, const char *dir, const char *out_tar_path) {
        _cleanup_unlink_ char *tmp = tmp_sibling(out_tar_path);
        double t0 = now_seconds();
        if (guestfs_tar_out_opts(s->g, dir, tmp, GUESTFS_TAR_OUT_OPTS_NUMERICOWNER, 1,
                                 GUESTFS_TAR_OUT_OPTS_XATTRS, 1, GUESTFS_TAR_OUT_OPTS_ACLS, 1, -1) < 0)
                return guest_fail(s, "failed to write '%s' of the image as tar '%s'", dir, out_tar_path);
        if (rename(tmp, out_tar_path) < 0)
                return log_error_errno(-errno, "failed to rename '%s' to '%s': %m", tmp, out_tar_path);
        tmp = mfree(tmp);
        log_debug("tar-out of '%s' took %.1f s", dir, now_seconds() - t0);
        return 0;
}

int guest_tar_in(GuestSession *s, const char *tar_path, const char *dir) {
        if (guestfs_tar_in_opts(s->g, tar_path, dir, GUESTFS_TAR_IN_OPTS_XATTRS, 1, GUESTFS_TAR_IN_OPTS_ACLS, 1,
                                -1) < 0)
                return guest_fail(s, "failed to extract '%s' into '%s' of the image", tar_path, dir);
        return 0;
}

int guest_mkfs(GuestSession *s, const char *fstype, const char *device, const char *label, const char *uuid) {
        int r = label ? guestfs_mkfs_opts(s->g, fstype, device, GUESTFS_MKFS_OPTS_LABEL, label, -1)
                      : guestfs_mkfs_opts(s->g, fstype, device, -1);
        if (r < 0)
                return guest_fail(s, "failed to make a '%s' filesystem on '%s'", fstype, device);
        if (uuid && guestfs_set_uuid(s->g, device, uuid) < 0)
                return guest_fail(s, "failed to set the UUID of '%s' to '%s'", device, uuid);
        return 0;
}

int guest_freeze(GuestSession *s, const char *mountpoint, bool freeze) {
        /* Only baker's own mount points reach here; refuse anything that would need quoting. */
        if (strspn(mountpoint, "/abcdefghijklmnopqrstuvwxyz0123456789") != strlen(mountpoint))
                return -EINVAL;
        if (guestfs_sync(s->g) < 0)
                return guest_fail(s, "failed to sync the appliance's disks");
        _cleanup_free_ char *cmd = xasprintf("fsfreeze %s /sysroot%s 2>&1", freeze ? "-f" : "-u",
                                             streq(mountpoint, "/") ? "" : mountpoint);
        _cleanup_free_ char *out = guestfs_debug(s->g, "sh", (char *[]) { cmd, NULL });
        if (!out) {
                log_debug("fsfreeze %s failed: %s", freeze ? "-f" : "-u", guest_last_error(s));
                return -EIO;
        }
        return 0;
}

int guest_fsck(GuestSession *s, const char *fstype, const char *device) {
        if (startswith(fstype, "ext")) {
                /* libguestfs' e2fsck call always repairs (-p or -y) or, with neither, refuses to run
                 * without a terminal; a check must not change what it checks, so run `e2fsck -fn`
                 * through the daemon's debug shell. The device name is quoted-safe by construction. */
                if (strspn(device, "/abcdefghijklmnopqrstuvwxyz0123456789") != strlen(device)) {
                        log_error("refusing to check device with unexpected name '%s'", device);
                        return -EINVAL;
                }
                _cleanup_free_ char *kernel = kernel_device(s, device);
                _cleanup_free_ char *cmd = xasprintf("e2fsck -fn %s 2>&1", kernel);
                _cleanup_free_ char *out = guestfs_debug(s->g, "sh", (char *[]) { cmd, NULL });
                if (!out) {
                        log_error("filesystem '%s' on '%s' is not clean: %s", fstype, device, guest_last_error(s));
                        return -EUCLEAN;
                }
                log_debug("%s", out);
                return 0;
        }
        if (streq(fstype, "xfs")) {
                int r = guestfs_xfs_repair(s->g, device, GUESTFS_XFS_REPAIR_NOMODIFY, 1, -1);
                if (r < 0)
                        return guest_fail(s, "failed to check '%s' filesystem on '%s'", fstype, device);
                if (r != 0) {
                        log_error("filesystem '%s' on '%s' is not clean (xfs_repair -n status %d)", fstype, device, r);
                        return -EUCLEAN;
                }
                return 0;
        }
        int status = guestfs_fsck(s->g, fstype, device);
        if (status < 0)
                return guest_fail(s, "failed to check '%s' filesystem on '%s'", fstype, device);
        if (status != 0) {
                log_error("filesystem '%s' on '%s' is not clean (fsck status %d)", fstype, device, status);
                return -EUCLEAN;
        }
        return 0;
}

int guest_upload(GuestSession *s, const char *host_path, const char *guest_path) {
        if (guestfs_upload(s->g, host_path, guest_path) < 0)
                return guest_fail(s, "failed to upload '%s' to '%s'", host_path, guest_path);
        return 0;
}

int guest_write_file(GuestSession *s, const char *path, const void *data, size_t size, unsigned mode) {
        if (guestfs_write(s->g, path, data, size) < 0 || guestfs_chmod(s->g, (int) mode, path) < 0)
                return guest_fail(s, "failed to write '%s' in the image", path);
        return 0;
}

int guest_read_file(GuestSession *s, const char *path, char **ret, size_t *ret_size) {
        size_t size = 0;
        _cleanup_free_ char *data = guestfs_read_file(s->g, path, &size);
        if (!data)
                return guest_fail(s, "failed to read '%s' from the image", path);
        /* libguestfs does not promise a terminating NUL. */
        char *copy = xmalloc(size + 1);
        memcpy(copy, data, size);
        copy[size] = 0;
        *ret = copy;
        if (ret_size)
                *ret_size = size;
        return 0;
}

int guest_exists(GuestSession *s, const char *path) {
        /* lstat, not access(): a dangling symlink exists too. */
        struct guestfs_statns *st = guestfs_lstatns(s->g, path);
        if (st) {
                guestfs_free_statns(st);
                return 1;
        }
        if (guestfs_last_errno(s->g) == ENOENT || guestfs_last_errno(s->g) == ENOTDIR)
                return 0;
        return guest_fail(s, "failed to look for '%s' in the image", path);
}
/* ---- metadata ----------------------------------------------------------------------------- */

void guest_entry_done(GuestEntry *e) {
        free(e->path);
        free(e->link);
        for (size_t i = 0; i < e->n_xattrs; i++) {
                free(e->xattrs[i].name);
                free(e->xattrs[i].value);
        }
        free(e->xattrs);
        *e = (GuestEntry) {};
}

GuestEntry *guest_entries_free(GuestEntry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++)
                guest_entry_done(&e[i]);
        free(e);
        return NULL;
}

static void entry_from_statns(GuestEntry *e, const struct guestfs_statns *st) {
        e->mode = (uint32_t) st->st_mode;
        e->uid = (uint32_t) st->st_uid;
        e->gid = (uint32_t) st->st_gid;
        e->size = (uint64_t) st->st_size;
        e->nlink = (uint64_t) st->st_nlink;
        e->ino = (uint64_t) st->st_ino;
        e->rdev = (uint64_t) st->st_rdev;
        e->mtime_sec = st->st_mtime_sec;
        e->mtime_nsec = st->st_mtime_nsec;
}

static void entry_add_xattr(GuestEntry *e, const struct guestfs_xattr *x) {
        e->xattrs = xrealloc(e->xattrs, (e->n_xattrs + 1) * sizeof(GuestXattr));
        GuestXattr *n = &e->xattrs[e->n_xattrs++];
        n->name = xstrdup(x->attrname);
        n->size = x->attrval_len;
        n->value = xmalloc(x->attrval_len + 1);
        memcpy(n->value, x->attrval, x->attrval_len);
        ((char *) n->value)[x->attrval_len] = 0;
}

int guest_stat(GuestSession *s, const char *path, GuestEntry *ret) {
        struct guestfs_statns *st = guestfs_lstatns(s->g, path);
        if (!st)
                return guest_fail(s, "failed to stat '%s' in the image", path);
        GuestEntry e = { .path = xstrdup(path) };
        entry_from_statns(&e, st);
        guestfs_free_statns(st);
        if (S_ISLNK(e.mode)) {
                e.link = guestfs_readlink(s->g, path);
                if (!e.link) {
                        guest_entry_done(&e);
                        return guest_fail(s, "failed to read link '%s' in the image", path);
                }
        }
        struct guestfs_xattr_list *xl = guestfs_lgetxattrs(s->g, path);
        if (!xl) {
                guest_entry_done(&e);
                return guest_fail(s, "failed to read the xattrs of '%s' in the image", path);
        }
        for (uint32_t i = 0; i < xl->len; i++)
                entry_add_xattr(&e, &xl->val[i]);
        guestfs_free_xattr_list(xl);
        *ret = e;
        return 0;
}

/* lstatnslist/lxattrlist/readlinklist take one directory and names in it; group the paths that
 * find returned by parent directory. Batches stay small enough for the protocol's 4 MB limit. */
static int list_batch(GuestSession *s, const char *parent, char **names, GuestEntry *entries) {
        struct guestfs_statns_list *sl = guestfs_lstatnslist(s->g, parent, names);
        if (!sl)
                return guest_fail(s, "failed to stat files in '%s' of the image", parent);
        size_t n = 0;
        while (names[n])
                n++;
        bool any_link = false;
        for (size_t i = 0; i < n && i < sl->len; i++) {
                entry_from_statns(&entries[i], &sl->val[i]);
                any_link = any_link || S_ISLNK(entries[i].mode);
        }
        guestfs_free_statns_list(sl);

        if (any_link) {
                char **links = guestfs_readlinklist(s->g, parent, names);
                if (!links)
                        return guest_fail(s, "failed to read links in '%s' of the image", parent);
                for (size_t i = 0; i < n && links[i]; i++)
                        if (S_ISLNK(entries[i].mode))
                                entries[i].link = xstrdup(links[i]);
                strv_free(links);
        }

        struct guestfs_xattr_list *xl = guestfs_lxattrlist(s->g, parent, names);
        if (!xl)
                return guest_fail(s, "failed to read xattrs in '%s' of the image", parent);
        /* Per file: a record with an empty name whose value is the count, then that many xattrs. */
        size_t file = 0;
        for (uint32_t i = 0; i < xl->len && file <= n;) {
                if (xl->val[i].attrname[0] != 0)
                        break;
                _cleanup_free_ char *cnt = xstrndup(xl->val[i].attrval, xl->val[i].attrval_len);
                size_t k = (size_t) strtoul(cnt, NULL, 10);
                i++;
                for (size_t j = 0; j < k && i < xl->len; j++, i++)
                        if (file < n)
                                entry_add_xattr(&entries[file], &xl->val[i]);
                file++;
        }
        guestfs_free_xattr_list(xl);
        return 0;
}

int guest_list(GuestSession *s, const char *dir, GuestEntry **ret, size_t *ret_n) {
        char **found = guestfs_find(s->g, dir);
        if (!found)
                return guest_fail(s, "failed to list '%s' in the image", dir);
        size_t n = 0;
        while (found[n])
                n++;

        GuestEntry *entries = xcalloc(n + 1, sizeof(GuestEntry));
        int r = guest_stat(s, dir, &entries[0]);
        if (r < 0)
                goto fail;
        const char *d = streq(dir, "/") ? "" : dir;
        for (size_t i = 0; i < n; i++)
                entries[i + 1].path = xasprintf("%s/%s", d, found[i]);

        /* Runs of consecutive entries with the same parent directory go in one batch. */
        for (size_t i = 1; i <= n;) {
                const char *slash = strrchr(entries[i].path, '/');
                size_t plen = (size_t) (slash - entries[i].path);
                _cleanup_free_ char *parent = plen == 0 ? xstrdup("/") : xstrndup(entries[i].path, plen);
                size_t j = i;
                while (j <= n && j - i < 1000) {
                        const char *sl = strrchr(entries[j].path, '/');
                        if ((size_t) (sl - entries[j].path) != plen || strncmp(entries[j].path, entries[i].path, plen) != 0)
                                break;
                        j++;
                }
                char **names = xcalloc(j - i + 1, sizeof(char *));
                for (size_t k = i; k < j; k++)
                        names[k - i] = strrchr(entries[k].path, '/') + 1;
                r = list_batch(s, parent, names, &entries[i]);
                free(names);
                if (r < 0)
                        goto fail;
                i = j;
        }
        strv_free(found);
        *ret = entries;
        *ret_n = n + 1;
        return 0;
fail:
        strv_free(found);
        guest_entries_free(entries, n + 1);
        return r;
}
