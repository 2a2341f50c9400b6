#include <assert.h>

#include "base64.h"
#include "util.h"

int main(void) {
        /* RFC 4648 section 10 */
        static const struct {
                const char *plain, *encoded;
        } vectors[] = {
                { "", "" },         { "f", "Zg==" },        { "fo", "Zm8=" },         { "foo", "Zm9v" },
                { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
                { "user:p@ss:w0rd", "dXNlcjpwQHNzOncwcmQ=" },
        };
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                _cleanup_free_ char *e = base64_encode(vectors[i].plain, strlen(vectors[i].plain));
                assert(streq(e, vectors[i].encoded));
                _cleanup_free_ uint8_t *d = NULL;
                size_t n;
                assert(base64_decode(e, strlen(e), &d, &n) == 0);
                assert(n == strlen(vectors[i].plain) && streq((char *) d, vectors[i].plain));
        }
        _cleanup_free_ char *bin = base64_encode("\0\xff\x80", 3);
        assert(streq(bin, "AP+A"));

        uint8_t *d;
        size_t n;
        /* Unpadded, and whitespace (a wrapped line) skipped. */
        assert(base64_decode("Zm9vYg", 6, &d, &n) == 0 && n == 4 && memcmp(d, "foob", 4) == 0);
        free(d);
        assert(base64_decode(" Zm9v\nYmFy\r\n", 12, &d, &n) == 0 && n == 6 && streq((char *) d, "foobar"));
        free(d);
        /* Only len characters count. */
        assert(base64_decode("Zm9vYmFy", 4, &d, &n) == 0 && n == 3 && streq((char *) d, "foo"));
        free(d);
        assert(base64_decode("Zm9v!", 5, &d, &n) == -EBADMSG);
        assert(base64_decode("Zm\0v", 4, &d, &n) == -EBADMSG);
        assert(base64_decode("Zm-_", 4, &d, &n) == -EBADMSG); /* not the URL alphabet */
        return 0;
}
