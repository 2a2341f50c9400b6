/* The ext4 writer fed by untrusted tar entries: whatever tree a tarball makes (names of any length,
 * deep paths, hardlinks, devices, xattrs), writing it as ext4 must either succeed or fail cleanly,
 * never write outside its buffers (it would have found the 256-byte name overflow in ext2fs_link).
 * The input is a tar; the filesystem goes to a sparse 16 MiB scratch file. */
#include <fcntl.h>
#include <stdint.h>

#include "ext4.h"
#include "log.h"
#include "tree.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *scratch(const char *what) {
        char *p = tmp_template(what);
        int fd = mkstemp(p);
        if (fd < 0) {
                free(p);
                return NULL;
        }
        close(fd);
        return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        log_set_max_level(LOG_LEVEL_ERROR);
        _cleanup_free_ char *in = scratch("fuzz-ext4-tar"), *img = scratch("fuzz-ext4-img");
        if (!in || !img)
                return 0;
        int fd = open(in, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd >= 0 && write_all(fd, data, size) >= 0) {
                Tree *t = tree_new();
                if (tree_add_archive(t, in, "", 0) >= 0) {
                        Ext4Params p = { .epoch = 1600000000, .size_bytes = 16 << 20, .block_size = 1024,
                                         .label = "fuzz" };
                        (void) ext4_estimate_size(t, "", NULL, 1024, false);
                        (void) ext4_write(t, "", NULL, img, 0, &p);
                }
                tree_free(t);
        }
        if (fd >= 0)
                close(fd);
        unlink(in);
        unlink(img);
        return 0;
}
