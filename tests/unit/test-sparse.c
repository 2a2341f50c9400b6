#include <assert.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "sparse.h"
#include "util.h"

typedef struct Seen {
        uint64_t holes, data, pieces;
        uint8_t first;
} Seen;

static int record(const void *data, size_t size, void *userdata) {
        Seen *s = userdata;
        if (data) {
                if (s->data == 0)
                        s->first = *(const uint8_t *) data;
                s->data += size;
        } else
                s->holes += size;
        s->pieces++;
        return 0;
}

static int fail(const void *data, size_t size, void *userdata) {
        return -ECANCELED;
}

typedef struct Runs {
        uint64_t offset[16], length[16];
        bool data[16];
        size_t n;
} Runs;

static int record_run(uint64_t offset, uint64_t length, bool data, void *userdata) {
        Runs *r = userdata;
        assert(r->n < 16);
        r->offset[r->n] = offset, r->length[r->n] = length, r->data[r->n] = data;
        r->n++;
        return 0;
}

/* sparse_runs(): content-defined runs. Written zeros count as a hole, a hole between data inside one
 * window is found, a window that is a hole is not read, the short last block is a run of its own
 * kind, and two files with the same bytes but other holes give the same runs. */
static void test_runs(void) {
        _cleanup_free_ char *path = tmp_template("test-sparse-runs");
        _cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
        assert(fd >= 0);
        (void) unlink(path);
        uint64_t size = (9u << 20) + 1024; /* 2 windows and a bit */
        assert(ftruncate(fd, (off_t) size) == 0);
        uint8_t block[4096], zeros[8192] = {};
        memset(block, 0x5a, sizeof block);
        assert(pwrite_all(fd, block, sizeof block, 4096) == 0);            /* data: [4K, 8K) */
        assert(pwrite_all(fd, zeros, sizeof zeros, 16384) == 0);           /* written zeros */
        assert(pwrite_all(fd, block, 100, 65536 + 10) == 0);               /* data: [64K, 68K) */
        assert(pwrite_all(fd, block, 1, size - 1) == 0);                   /* the short last block */
        Runs r = {};
        assert(sparse_runs(fd, size, 4096, record_run, &r) == 0);
        assert(r.n == 6);
        assert(!r.data[0] && r.offset[0] == 0 && r.length[0] == 4096);
        assert(r.data[1] && r.offset[1] == 4096 && r.length[1] == 4096);
        assert(!r.data[2] && r.offset[2] == 8192 && r.length[2] == 65536 - 8192);
        assert(r.data[3] && r.offset[3] == 65536 && r.length[3] == 4096);
        assert(!r.data[4] && r.offset[4] == 69632 && r.length[4] == (9u << 20) - 69632);
        assert(r.data[5] && r.offset[5] == 9u << 20 && r.length[5] == 1024);

        /* Written zeros where the first file had a hole: the same runs. */
        assert(pwrite_all(fd, zeros, sizeof zeros, (5u << 20)) == 0);
        Runs r2 = {};
        assert(sparse_runs(fd, size, 4096, record_run, &r2) == 0);
        assert(memcmp(&r, &r2, sizeof r) == 0);
        assert(sparse_runs(fd, size, 3000, record_run, &r2) == -EINVAL);
        assert(memory_is_zero(zeros, sizeof zeros) && !memory_is_zero(block, 1) && memory_is_zero(block, 0));
}

/* sparse_write(): chunks cut anywhere (as a download arrives) give the same bytes as written
 * densely; whole zero blocks, the last ones included, become holes. */
static void test_write(void) {
        _cleanup_free_ char *path = tmp_template("test-sparse-write");
        _cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
        assert(fd >= 0);
        (void) unlink(path);
        const size_t size = (10u << 20) + 100; /* ends in zeros, not on a block boundary */
        _cleanup_free_ uint8_t *want = xmalloc(size), *got = xmalloc(size);
        memset(want, 0, size);
        memset(want + 5000, 0x11, 3000);       /* straddles the first block boundary */
        memset(want + (1u << 20), 0x22, 4096); /* one aligned block */
        want[(9u << 20) + 1] = 0x33;            /* one byte in the 8 MiB window after the first */
        const size_t cuts[] = { 1, 4095, 4097, 16384, 1000, 3u << 20 };
        size_t off = 0;
        for (size_t i = 0; off < size; i = (i + 1) % (sizeof cuts / sizeof cuts[0])) {
                size_t n = cuts[i] < size - off ? cuts[i] : size - off;
                assert(sparse_write(fd, want + off, n) == 0);
                off += n;
        }
        assert(sparse_write_end(fd) == 0);
        struct stat st;
        assert(fstat(fd, &st) == 0 && (size_t) st.st_size == size);
        assert(pread_exact(fd, got, size, 0) == 0 && memcmp(got, want, size) == 0);
        uint64_t data, end;
        assert(sparse_next_data(fd, 0, size, &data, &end) == 0);
        if (data == 0 && end == size)
                return; /* a filesystem without holes */
        assert((uint64_t) st.st_blocks * 512 < 1u << 20); /* far less than the 10 MiB written */
}

int main(void) {
        test_runs();
        test_write();
        _cleanup_free_ char *path = tmp_template("test-sparse");
        _cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
        assert(fd >= 0);
        (void) unlink(path);

        /* 8 MiB: a hole, 1 MiB of 0xab at 4 MiB, a hole to the end. */
        const uint64_t size = 8 << 20, at = 4 << 20, len = 1 << 20;
        assert(ftruncate(fd, (off_t) size) == 0);
        _cleanup_free_ uint8_t *buf = xmalloc(len);
        memset(buf, 0xab, len);
        assert(pwrite_all(fd, buf, len, at) == 0);

        uint64_t data, end;
        assert(sparse_next_data(fd, 0, size, &data, &end) == 0);
        /* A filesystem without holes reports everything as data. */
        bool holes = data == at;
        assert(holes ? end == at + len : data == 0 && end == size);
        assert(sparse_next_data(fd, size, size, &data, &end) == 0 && data == size && end == size);

        Seen s = {};
        assert(sparse_walk(fd, size, 64 << 10, record, &s) == 0);
        assert(s.holes + s.data == size);
        if (holes) {
                assert(s.data == len && s.holes == size - len && s.first == 0xab);
                assert(s.pieces == 2 + len / (64 << 10));
        }
        assert(sparse_walk(fd, size, 64 << 10, fail, NULL) == -ECANCELED);
        return 0;
}
