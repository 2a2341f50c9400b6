/* Sparse files; see sparse.h. */
#include "sparse.h"

#include "util.h"

int sparse_next_data(int fd, uint64_t pos, uint64_t end, uint64_t *ret_data, uint64_t *ret_data_end) {
        if (pos >= end) {
                *ret_data = *ret_data_end = end;
                return 0;
        }
        off_t data = lseek(fd, (off_t) pos, SEEK_DATA);
        if (data < 0 && errno == ENXIO) { /* only a hole is left */
                *ret_data = *ret_data_end = end;
                return 0;
        }
        if (data < 0 && (errno == EINVAL || errno == EOPNOTSUPP)) { /* no hole support: all data */
                *ret_data = pos;
                *ret_data_end = end;
                return 0;
        }
        if (data < 0)
                return -errno;
        if ((uint64_t) data >= end) {
                *ret_data = *ret_data_end = end;
                return 0;
        }
        off_t hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0)
                return -errno;
        *ret_data = (uint64_t) data;
        *ret_data_end = MIN((uint64_t) hole, end);
        return 0;
}

int sparse_walk(int fd, uint64_t size, size_t bufsize, SparseFunction fn, void *userdata) {
        _cleanup_free_ uint8_t *buf = xmalloc(bufsize);
        uint64_t pos = 0, data, data_end;
        int r;
        while (pos < size) {
                r = sparse_next_data(fd, pos, size, &data, &data_end);
                if (r < 0)
                        return r;
                if (data > pos) {
                        r = fn(NULL, data - pos, userdata);
                        if (r < 0)
                                return r;
                }
                for (pos = data; pos < data_end;) {
                        ssize_t n = pread_full(fd, buf, (size_t) MIN((uint64_t) bufsize, data_end - pos), pos);
                        if (n < 0)
                                return (int) n;
                        if (n == 0)
                                return -EIO; /* the file shrank under us */
                        r = fn(buf, (size_t) n, userdata);
                        if (r < 0)
                                return r;
                        pos += (uint64_t) n;
                }
        }
        return 0;
}
