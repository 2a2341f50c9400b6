/* Untrusted tarballs: both readers (libarchive's, and the in-place indexer of tree_load) must refuse
 * garbage cleanly, and whatever they accept must write out as a normalised tar that loads again. */
#include <fcntl.h>
#include <stdint.h>

#include "log.h"
#include "tree.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        log_set_max_level(LOG_LEVEL_ERROR);
        char in[] = "/var/tmp/fuzz-tarball-XXXXXX";
        int fd = mkstemp(in);
        if (fd < 0)
                return 0;
        if (write(fd, data, size) != (ssize_t) size) {
                close(fd);
                unlink(in);
                return 0;
        }
        close(fd);
        Tree *t = tree_new();
        if (tree_add_archive(t, in, "", 0) >= 0) {
                _cleanup_free_ char *out = xasprintf("%s.out", in);
                if (tree_write(t, out, 1600000000) >= 0) {
                        Tree *t2 = NULL;
                        if (tree_load(out, &t2) < 0 || tree_size(t2) > tree_size(t))
                                abort();
                        tree_free(t2);
                        unlink(out);
                }
        }
        tree_free(t);
        Tree *t3 = NULL;
        if (tree_load(in, &t3) >= 0)
                tree_free(t3);
        unlink(in);
        return 0;
}
