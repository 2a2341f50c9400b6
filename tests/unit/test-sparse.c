#include <assert.h>
#include <fcntl.h>

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

int main(void) {
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
