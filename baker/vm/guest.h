#pragma once
/* The libguestfs appliance session: the one place baker runs a Linux kernel during a bake.
 *
 * baker writes filesystems offline; the appliance is launched (once per bake at most) only for
 * what needs a kernel: `run` steps executed inside the image (chrooted, never on the host),
 * filesystems baker does not write itself, and checks. This module is the only one that includes
 * <guestfs.h>; callers see GuestSession and plain C types.
 *
 * Errors: every function returns >= 0 or -errno and has already logged the guestfs error text with
 * what baker was doing, so callers only map the return value to an outcome. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

typedef struct GuestSession GuestSession;

typedef struct GuestOptions {
        bool network;                /* qemu user networking; DNS inside run steps works too */
        uint64_t memory_mb;          /* 0: libguestfs' default */
        bool readonly;               /* the main disk is added read-only (inspection, checks) */
        const char *format;          /* format of the main disk; NULL: "raw" */
        const char *const *extra_drives_readonly; /* NULL-terminated; /dev/sdb, /dev/sdc, … */
} GuestOptions;

/* Adds the disk image (and the extra drives) and launches the appliance. Forces TCG when qemu
 * cannot use KVM here; uses the pinned appliance of guest_appliance_path() when there is one. */
int guest_open(const char *disk_image, const GuestOptions *o, GuestSession **ret);
/* Syncs, shuts the appliance down and frees the session; errors are only logged. Use
 * guest_shutdown() first when the disk image is an output that must be known complete. */
GuestSession *guest_close(GuestSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(GuestSession *, guest_close);
/* Unmounts everything, syncs and stops qemu, reporting any failure: only then is a written image
 * complete (the session must still be closed with guest_close()). */
int guest_shutdown(GuestSession *s);

/* The pinned appliance directory used by guest_open(): $BAKER_APPLIANCE if set (and non-empty),
 * else /var/cache/baker/appliance or $XDG_CACHE_HOME/baker/appliance when it holds a fixed
 * appliance (made by scripts/make-appliance); NULL: libguestfs' supermin appliance. Not freed. */
const char *guest_appliance_path(void);

/* "/dev/sda" for partition 0 (the whole device) of drive 0, "/dev/sda2" for partition 2, in the
 * order the drives were added (main disk first): libguestfs' names, whatever the appliance's kernel
 * called the disks. Returns NULL if there is no such drive. */
char *guest_device(GuestSession *s, unsigned drive, unsigned partition);

int guest_mount(GuestSession *s, const char *device, const char *mountpoint);
int guest_mount_ro(GuestSession *s, const char *device, const char *mountpoint);
int guest_umount_all(GuestSession *s);

/* Receives each line a run step prints (stdout and stderr merged, without the newline) as soon as
 * the appliance's console delivers it. Called from inside libguestfs' event loop: it must not call
 * back into guest_*(). */
typedef void (*GuestOutputFn)(const char *step_name, const char *line, void *userdata);

/* guest_run()'s return value when the script ran but exited non-zero: the exit status was written
 * to *ret_exit_status and guest_output_tail() holds its last lines. Nothing was logged: the caller
 * reports the failure, once, with what it knows of the step. */
#define GUEST_STEP_FAILED (-EBADE)
#define GUEST_TAIL_LINES 20

/* Runs script_text with /bin/sh inside the mounted root (chroot with /dev, /proc and /sys; DNS
 * when the session has a network), or directly when it starts with "#!". The environment is fixed
 * — PATH, HOME=/root, LANG=C.UTF-8, TZ=UTC, TERM=dumb — plus env ("K=V", overriding those),
 * nothing inherited from the appliance; stdin is /dev/null, cwd "/". out NULL: lines are logged
 * as "[NAME] line" at notice level. An empty script succeeds without running anything.
 * ret_exit_status (may be NULL) is written whenever the script ran (0 or GUEST_STEP_FAILED). */
int guest_run(GuestSession *s, const char *step_name, const char *script_text, const char *const *env,
              GuestOutputFn out, void *userdata, int *ret_exit_status);
/* The last GUEST_TAIL_LINES lines of the most recent guest_run(), "\n"-separated; "" before any. */
const char *guest_output_tail(GuestSession *s);

/* Writes dir as an uncompressed POSIX tar to out_tar_path with numeric owners, modes, xattrs
 * (security.capability included), POSIX ACLs, hardlinks, symlinks and device nodes. The file is
 * written under a temporary name and renamed when complete. */
int guest_tar_out(GuestSession *s, const char *dir, const char *out_tar_path);
/* Extracts an uncompressed tar into dir, keeping owners, modes and every xattr namespace. */
int guest_tar_in(GuestSession *s, const char *tar_path, const char *dir);

/* Freezes (or thaws) the filesystem mounted at mountpoint: ext4 then flushes its journal and
 * marks itself clean on disk, so the host can read the disk image consistently while the
 * appliance keeps running. Nothing may write to it until it is thawed. -EIO (logged at debug
 * level only) when the appliance cannot freeze; callers fall back to a tar-out. */
int guest_freeze(GuestSession *s, const char *mountpoint, bool freeze);

/* mkfs with an optional label and UUID (NULL: keep mkfs' own). */
int guest_mkfs(GuestSession *s, const char *fstype, const char *device, const char *label, const char *uuid);
/* Checks without repairing (ext*: e2fsck -fn, xfs: xfs_repair -n, others: fsck -a); 0 when clean,
 * -EUCLEAN (logged) when not. */
int guest_fsck(GuestSession *s, const char *fstype, const char *device);

int guest_upload(GuestSession *s, const char *host_path, const char *guest_path);
int guest_write_file(GuestSession *s, const char *path, const void *data, size_t size, unsigned mode);
int guest_read_file(GuestSession *s, const char *path, char **ret, size_t *ret_size);
/* 1 if path exists (without following a final symlink), 0 if not. */
int guest_exists(GuestSession *s, const char *path);

typedef struct GuestXattr {
        char *name;
        void *value;
        size_t size;
} GuestXattr;

/* One file's metadata as the kernel inside the appliance sees it. */
typedef struct GuestEntry {
        char *path; /* absolute inside the appliance, e.g. "/etc/passwd" */
        uint32_t mode; /* type and permission bits, as st_mode */
        uint32_t uid, gid;
        uint64_t size, nlink, ino, rdev;
        int64_t mtime_sec, mtime_nsec;
        char *link; /* symlink target, NULL otherwise */
        GuestXattr *xattrs;
        size_t n_xattrs;
} GuestEntry;

/* lstat + link target + xattrs of one path. */
int guest_stat(GuestSession *s, const char *path, GuestEntry *ret);
/* Every path below dir (dir itself first, then in the order `find` gives), in batched calls. */
int guest_list(GuestSession *s, const char *dir, GuestEntry **ret, size_t *ret_n);
void guest_entry_done(GuestEntry *e);
GuestEntry *guest_entries_free(GuestEntry *e, size_t n);
