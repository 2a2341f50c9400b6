/* bench-digest: the image digest exactly as baker computes it (digest_file: sparse-aware, holes
 * hashed as zeros without being read), for scripts/bench to time against `openssl dgst -sha256`.
 *
 * usage: bench-digest FILE
 * Prints "sha256:<hex> SIZE" on stdout. */
#include <stdio.h>

#include "digest.h"
#include "log.h"

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: bench-digest FILE\n");
                return 2;
        }
        uint8_t d[DIGEST_SIZE];
        uint64_t size;
        int r = digest_file(argv[1], d, &size);
        if (r < 0) {
                log_error_errno(r, "cannot hash '%s': %m", argv[1]);
                return 1;
        }
        char s[DIGEST_STRING_MAX];
        digest_to_string(d, s);
        printf("%s %llu\n", s, (unsigned long long) size);
        return 0;
}
