/* The appliance for run steps (appliance.h): launched on the current tree when a step needs it,
 * kept up while run steps follow one another, and read back offline. */
#include "appliance.h"

#include "digest.h"
#include "events.h"
#include "ext4-read.h"
#include "ext4.h"
#include "guest.h"
#include "log.h"
#include "tree.h"

int appliance_start(Appliance *a, Tree *tree, int64_t epoch, bool network) {
        /* The current tree as an ext4 image with room for what the steps install. */
        uint64_t need = ext4_estimate_size(tree, "", NULL, 4096, true);
        uint64_t size = ((need * 2 + (UINT64_C(2) << 30)) + 0xfffff) & ~UINT64_C(0xfffff);
        a->disk = path_join(a->work_dir, "guest.ext4");
        Ext4Params ep = { .label = "root", .epoch = epoch, .size_bytes = size, .journal = true };
        uint8_t scratch[DIGEST_SIZE]; /* the scratch disk's ids: never part of the output */
        digest_buffer("baker-guest-scratch", 19, scratch);
        memcpy(ep.uuid, scratch, 16);
        memcpy(ep.hash_seed, scratch + 16, 16);
        int r = ext4_write(tree, "", NULL, a->disk, 0, &ep);
        if (r < 0)
                return log_error_errno(r, "failed to write the tree for the appliance: %m");
        double t0 = now_seconds();
        event_emit("appliance-launch", NULL, "launching the appliance for run steps");
        GuestOptions go = { .network = network, .memory_mb = 1024 };
        r = guest_open(a->disk, &go, &a->guest);
        if (r < 0)
                return r;
        _cleanup_free_ char *dev = guest_device(a->guest, 0, 0);
        r = guest_mount(a->guest, dev, "/");
        if (r < 0)
                return r;
        event_emit("appliance-ready", json_pack("{s:f}", "seconds", now_seconds() - t0), NULL);
        return 0;
}

void appliance_stop(Appliance *a) {
        a->guest = guest_close(a->guest);
        if (a->disk) {
                unlink(a->disk);
                a->disk = mfree(a->disk);
        }
}

/* Brings the tree up to date with the appliance's root through a tar-out. */
static int appliance_tar_out(Appliance *a, int64_t epoch, Tree **tree) {
        _cleanup_free_ char *tar = xasprintf("%s/state-%u.tar", a->work_dir, a->tar_outs++);
        int r = guest_tar_out(a->guest, "/", tar);
        if (r < 0)
                return r;
        Tree *n = NULL;
        r = tree_load(tar, &n);
        if (r < 0)
                return log_error_errno(r, "failed to read the tree back from the appliance: %m");
        /* Files a script wrote carry the build's wall clock; clamp them to the epoch. */
        tree_clamp_times(n, epoch);
        (void) tree_remove(n, "lost+found", true);
        tree_free(*tree);
        *tree = n;
        return 0;
}

int appliance_read_back(Appliance *a, int64_t epoch, Tree **tree) {
        double t0 = now_seconds();
        int r = guest_shutdown(a->guest);
        if (r < 0)
                return r;
        Tree *n = NULL;
        r = ext4_read_tree(a->disk, 0, &n);
        if (r < 0)
                return log_error_errno(r, "failed to read the tree back from the appliance's disk: %m");
        tree_clamp_times(n, epoch);
        tree_free(*tree);
        *tree = n;
        appliance_stop(a);
        log_debug("shutdown and read-back of the appliance's disk took %.1f s", now_seconds() - t0);
        return 0;
}

int appliance_peek(Appliance *a, int64_t epoch, Tree **tree) {
        if (guest_freeze(a->guest, "/", true) < 0)
                return appliance_tar_out(a, epoch, tree);
        Tree *n = NULL;
        int r = ext4_read_tree(a->disk, 0, &n);
        int k = guest_freeze(a->guest, "/", false);
        if (r < 0) {
                if (k < 0)
                        return log_error_errno(k, "failed to thaw the appliance's root filesystem");
                log_debug("reading the frozen disk failed, falling back to a tar-out");
                return appliance_tar_out(a, epoch, tree);
        }
        if (k < 0) {
                tree_free(n);
                return log_error_errno(k, "failed to thaw the appliance's root filesystem");
        }
        tree_clamp_times(n, epoch);
        tree_free(*tree);
        *tree = n;
        return 0;
}

int appliance_push(Appliance *a, const Tree *delta, int64_t epoch) {
        _cleanup_free_ char *tar = xasprintf("%s/delta-%u.tar", a->work_dir, a->tar_outs++);
        int r = tree_write(delta, tar, epoch);
        if (r < 0)
                return log_error_errno(r, "failed to write '%s': %m", tar);
        r = guest_tar_in(a->guest, tar, "/");
        unlink(tar);
        return r;
}
