/* The archive Google Compute Engine imports: a gzip'd tar holding one file, disk.raw, in GNU's
 * oldgnu format, its size rounded up to a GiB. disk.raw is a GNU sparse member ('S'): the tar holds
 * only the runs of 4 KiB blocks that are not all zeros, so a 10 GiB disk with 1 GiB of data costs
 * 1 GiB of tar, not 10. The runs come from the content (basic/sparse.c), owner and time are fixed
 * (root, the bake's epoch), and `gzip -n` writes no name and no time: the same image gives the same
 * bytes. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "image-format.h"
#include "log.h"
#include "process.h"
#include "sparse.h"
#include "tar-header.h"

#define GCE_SIZE_ALIGNMENT (UINT64_C(1) << 30)
#define GCE_BLOCK 4096
#define TAR_RECORD (20 * TAR_BLOCK_SIZE) /* tar's default blocking factor */
#define SPARSE_IN_HEADER 4
#define SPARSE_IN_EXTENSION 21

typedef struct SparseEntry {
        uint64_t offset, length;
} SparseEntry;

typedef struct SparseMap {
        SparseEntry *entries;
        size_t n, allocated;
        uint64_t data; /* the sum of the lengths: the bytes the member stores */
} SparseMap;

static void sparse_map_add(SparseMap *m, uint64_t offset, uint64_t length) {
        if (m->n == m->allocated)
                m->entries = xrealloc(m->entries, (m->allocated = MAX(m->allocated * 2, (size_t) 64)) * sizeof(SparseEntry));
        m->entries[m->n++] = (SparseEntry) { offset, length };
        m->data += length;
}

static int collect_data(uint64_t offset, uint64_t length, bool data, void *userdata) {
        if (data)
                sparse_map_add(userdata, offset, length);
        return 0;
}

static void put_entry(uint8_t *p, const SparseEntry *e) {
        tar_put_number((char *) p, 12, e->offset, true);
        tar_put_number((char *) p + 12, 12, e->length, true);
}

/* The member's header and the extension blocks its map needs beyond the header's 4 entries. */
static int write_headers(int fd, const SparseMap *m, uint64_t real_size, int64_t epoch) {
        uint8_t block[TAR_BLOCK_SIZE];
        TarHeader h = { .name = "disk.raw", .type = 'S', .mode = 0644, .size = m->data, .mtime = epoch,
                        .uname = "root", .gname = "root", .base256 = true, .oldgnu = true };
        tar_header_encode(&h, block);
        size_t i = 0;
        for (; i < m->n && i < SPARSE_IN_HEADER; i++)
                put_entry(block + 386 + 24 * i, m->entries + i);
        block[482] = i < m->n;
        tar_put_number((char *) block + 483, 12, real_size, true);
        tar_header_checksum(block);
        int r = write_all(fd, block, sizeof block);
        while (r >= 0 && i < m->n) {
                memset(block, 0, sizeof block);
                for (size_t k = 0; k < SPARSE_IN_EXTENSION && i < m->n; k++, i++)
                        put_entry(block + 24 * k, m->entries + i);
                block[504] = i < m->n;
                r = write_all(fd, block, sizeof block);
        }
        return r;
}

/* The data runs, then the padding to a block, the end-of-archive blocks and the last record. */
static int write_data(int fd, int raw_fd, const SparseMap *m) {
        _cleanup_free_ uint8_t *buf = xmalloc(4u << 20);
        uint64_t total = 0;
        for (size_t i = 0; i < m->n; i++)
                for (uint64_t pos = m->entries[i].offset, end = pos + m->entries[i].length; pos < end;) {
                        size_t n = (size_t) MIN((uint64_t) (4u << 20), end - pos);
                        int r = pread_exact(raw_fd, buf, n, pos);
                        if (r < 0 || (r = write_all(fd, buf, n)) < 0)
                                return r;
                        pos += n, total += n;
                }
        total += TAR_BLOCK_SIZE * (1 + (m->n + SPARSE_IN_EXTENSION - 1 - MIN(m->n, SPARSE_IN_HEADER)) / SPARSE_IN_EXTENSION);
        uint64_t padded = (total + TAR_BLOCK_SIZE - 1) / TAR_BLOCK_SIZE * TAR_BLOCK_SIZE + 2 * TAR_BLOCK_SIZE;
        padded = (padded + TAR_RECORD - 1) / TAR_RECORD * TAR_RECORD;
        memset(buf, 0, padded - total);
        return write_all(fd, buf, padded - total);
}

static int write_tar(int fd, const ImageSource *src) {
        _cleanup_close_ int raw_fd = open(src->path, O_RDONLY | O_CLOEXEC);
        if (raw_fd < 0)
                return -errno;
        SparseMap m = {};
        int r = sparse_runs(raw_fd, src->size, GCE_BLOCK, collect_data, &m);
        uint64_t real_size = (src->size + GCE_SIZE_ALIGNMENT - 1) / GCE_SIZE_ALIGNMENT * GCE_SIZE_ALIGNMENT;
        /* As GNU tar does, the map ends at the end of the file: an empty run there if it ends in a hole. */
        if (r >= 0 && (m.n == 0 || m.entries[m.n - 1].offset + m.entries[m.n - 1].length < real_size))
                sparse_map_add(&m, real_size, 0);
        if (r >= 0)
                r = write_headers(fd, &m, real_size, src->epoch);
        if (r >= 0)
                r = write_data(fd, raw_fd, &m);
        free(m.entries);
        return r;
}

/* An unnamed file beside path, for the tar on its way to gzip. */
static int open_anonymous(const char *path) {
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash)
                *slash = 0;
        int fd = open(slash ? dir : ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
        if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
                return fd < 0 ? -errno : fd;
        _cleanup_free_ char *tmp = tmp_sibling(path);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        (void) unlink(tmp);
        return fd;
}

int image_write_gce(const ImageSource *src, const char *tmp_path, int fd, const char *final_name) {
        _cleanup_close_ int tar_fd = open_anonymous(tmp_path);
        if (tar_fd < 0)
                return log_error_errno(tar_fd, "failed to create a temporary file beside '%s': %m", tmp_path);
        int r = write_tar(tar_fd, src);
        if (r < 0)
                return log_error_errno(r, "failed to write the tar of '%s': %m", final_name);
        if (lseek(tar_fd, 0, SEEK_SET) < 0)
                return log_error_errno(-errno, "failed to rewind the tar of '%s': %m", final_name);
        char *argv[] = { (char *) "gzip", (char *) "-n", (char *) "-c", NULL };
        _cleanup_free_ char *err = NULL;
        r = process_run_fds(argv, NULL, tar_fd, fd, &err);
        if (r < 0)
                return log_error_errno(r, "failed to run 'gzip' (Debian package 'gzip'): %m");
        if (r > 0) {
                log_error("'gzip' failed to compress '%s' (exit status %d): %s", final_name, r,
                          err ? process_last_lines(err, 5) : "");
                return -EPROTO;
        }
        return 0;
}
