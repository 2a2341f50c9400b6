#include <fcntl.h>
#include <stdio.h>

#include "digest.h"
#include "test-lib.h"

static void check_hex(const uint8_t d[DIGEST_SIZE], const char *want) {
        char hex[DIGEST_HEX_SIZE + 1];
        digest_to_hex(d, hex);
        if (!streq(hex, want)) {
                fprintf(stderr, "got %s want %s\n", hex, want);
                exit(1);
        }
}

int main(void) {
        uint8_t d[DIGEST_SIZE];
        digest_buffer("", 0, d);
        check_hex(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        digest_buffer("abc", 3, d);
        check_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

        /* Round trip and rejects. */
        char s[DIGEST_STRING_MAX];
        uint8_t back[DIGEST_SIZE];
        digest_to_string(d, s);
        assert_se(startswith(s, "sha256:"));
        assert_se(digest_from_string(s, back) == 0 && memcmp(back, d, DIGEST_SIZE) == 0);
        assert_se(digest_from_string(s + 7, back) == 0);
        assert_se(digest_from_string("sha256:xyz", back) == -EINVAL);
        assert_se(digest_from_string("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", back) == 0);

        /* A sparse file hashes like its dense equivalent: 1 MiB hole, "x", 3 MiB hole. */
        _cleanup_free_ char *path = test_path("sparse");
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_se(fd >= 0);
        assert_se(pwrite(fd, "x", 1, 1 << 20) == 1);
        assert_se(ftruncate(fd, 4 << 20) == 0);
        close(fd);
        uint64_t size = 0;
        assert_se(digest_file(path, d, &size) == 0);
        assert_se(size == 4 << 20);
        uint8_t *dense = calloc(1, 4 << 20);
        dense[1 << 20] = 'x';
        uint8_t want[DIGEST_SIZE];
        digest_buffer(dense, 4 << 20, want);
        assert_se(memcmp(d, want, DIGEST_SIZE) == 0);
        free(dense);
        unlink(path);
        assert_se(digest_file("/nonexistent/file", d, NULL) == -ENOENT);
        printf("ok\n");
        return 0;
}
