/* Sparse files; see sparse.h. */
#include "sparse.h"

#include <fcntl.h>
#include <sys/stat.h>

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

bool memory_is_zero(const void *p, size_t size) {
        const uint8_t *b = p;
        /* the first byte is zero, and every byte equals the one before it */
        return size == 0 || (b[0] == 0 && memcmp(b, b + 1, size - 1) == 0);
}

#define HOLE_BLOCK 4096u
#define WRITEBACK_WINDOW ((off_t) 8 << 20)

int sparse_write(int fd, const void *data, size_t size) {
        off_t pos = lseek(fd, 0, SEEK_CUR);
        if (pos < 0)
                return -errno;
        const uint8_t *p = data;
        while (size > 0) {
                /* a run of whole zero blocks is seeked over, a run of anything else written at once */
                size_t n = 0;
                bool zero = false;
                while (n < size) {
                        size_t b = HOLE_BLOCK - (size_t) ((uint64_t) (pos + (off_t) n) % HOLE_BLOCK);
                        if (b > size - n)
                                b = size - n;
                        bool z = b == HOLE_BLOCK && memory_is_zero(p + n, b);
                        if (n > 0 && z != zero)
                                break;
                        zero = z;
                        n += b;
                }
                int r = zero ? (lseek(fd, (off_t) n, SEEK_CUR) < 0 ? -errno : 0) : write_all(fd, p, n);
                if (r < 0)
                        return r;
                /* Start writing back each window once it is complete, so that the fsync() before
                 * the rename waits for the last window only, not for the whole file. */
                off_t done = (pos + (off_t) n) / WRITEBACK_WINDOW * WRITEBACK_WINDOW;
                if (done > pos / WRITEBACK_WINDOW * WRITEBACK_WINDOW)
                        (void) sync_file_range(fd, done - WRITEBACK_WINDOW, WRITEBACK_WINDOW, SYNC_FILE_RANGE_WRITE);
                p += n;
                size -= n;
                pos += (off_t) n;
        }
        return 0;
}

int sparse_write_end(int fd) {
        struct stat st;
        off_t pos = lseek(fd, 0, SEEK_CUR);
        if (pos < 0 || fstat(fd, &st) < 0)
                return -errno;
        if (pos > st.st_size && ftruncate(fd, pos) < 0)
                return -errno;
        return 0;
}

#define RUN_WINDOW (4u << 20)

typedef struct RunState {
        SparseRunFunction fn;
        void *userdata;
        uint64_t start, end; /* the run being collected: [start, end) */
        bool data;
} RunState;

static int run_add(RunState *s, uint64_t offset, uint64_t length, bool data) {
        if (length == 0)
                return 0;
        if (s->end > s->start && s->data == data) {
                s->end = offset + length;
                return 0;
        }
        if (s->end > s->start) {
                int r = s->fn(s->start, s->end - s->start, s->data, s->userdata);
                if (r < 0)
                        return r;
        }
        *s = (RunState) { .fn = s->fn, .userdata = s->userdata, .start = offset, .end = offset + length, .data = data };
        return 0;
}

int sparse_runs(int fd, uint64_t size, size_t block, SparseRunFunction fn, void *userdata) {
        if (block == 0 || RUN_WINDOW % block != 0)
                return -EINVAL;
        _cleanup_free_ uint8_t *buf = xmalloc(RUN_WINDOW);
        RunState s = { .fn = fn, .userdata = userdata };
        int r;
        for (uint64_t pos = 0; pos < size; pos += RUN_WINDOW) {
                uint64_t end = MIN(pos + RUN_WINDOW, size), data, data_end;
                r = sparse_next_data(fd, pos, end, &data, &data_end);
                if (r < 0)
                        return r;
                if (data >= end) { /* a hole all through the window */
                        r = run_add(&s, pos, end - pos, false);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = pread_exact(fd, buf, (size_t) (end - pos), pos);
                if (r < 0)
                        return r == -ENODATA ? -EIO : r;
                for (uint64_t off = pos; off < end; off += block) {
                        size_t n = (size_t) MIN((uint64_t) block, end - off);
                        r = run_add(&s, off, n, !memory_is_zero(buf + (off - pos), n));
                        if (r < 0)
                                return r;
                }
        }
        if (s.end > s.start)
                return fn(s.start, s.end - s.start, s.data, userdata);
        return 0;
}
