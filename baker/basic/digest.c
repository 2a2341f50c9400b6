#include "digest.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "sparse.h"
#include "strv.h"
#include "util.h"

struct Digest {
        EVP_MD_CTX *ctx;
};

Digest *digest_new(void) {
        Digest *d = xcalloc(1, sizeof *d);
        d->ctx = EVP_MD_CTX_new();
        if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
                abort();
        return d;
}

Digest *digest_free(Digest *d) {
        if (!d)
                return NULL;
        EVP_MD_CTX_free(d->ctx);
        free(d);
        return NULL;
}

void digest_update(Digest *d, const void *data, size_t size) {
        if (size > 0 && EVP_DigestUpdate(d->ctx, data, size) != 1)
                abort();
}

void digest_update_zeros(Digest *d, uint64_t n) {
        static const uint8_t zeros[64 * 1024];
        while (n > 0) {
                size_t k = n > sizeof zeros ? sizeof zeros : (size_t) n;
                digest_update(d, zeros, k);
                n -= k;
        }
}

void digest_update_string(Digest *d, const char *s) {
        uint64_t len = s ? strlen(s) : UINT64_MAX; /* NULL and "" hash differently */
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
                le[i] = (uint8_t) (len >> (8 * i));
        digest_update(d, le, sizeof le);
        if (s)
                digest_update(d, s, strlen(s));
}

void digest_final(Digest *d, uint8_t ret[DIGEST_SIZE]) {
        unsigned n = 0;
        if (EVP_DigestFinal_ex(d->ctx, ret, &n) != 1 || n != DIGEST_SIZE)
                abort();
}

void digest_to_hex(const uint8_t d[DIGEST_SIZE], char ret[DIGEST_HEX_SIZE + 1]) {
        static const char hex[] = "0123456789abcdef";
        for (int i = 0; i < DIGEST_SIZE; i++) {
                ret[2 * i] = hex[d[i] >> 4];
                ret[2 * i + 1] = hex[d[i] & 15];
        }
        ret[DIGEST_HEX_SIZE] = 0;
}

void digest_to_string(const uint8_t d[DIGEST_SIZE], char ret[DIGEST_STRING_MAX]) {
        memcpy(ret, "sha256:", 7);
        digest_to_hex(d, ret + 7);
}

int digest_from_string(const char *s, uint8_t ret[DIGEST_SIZE]) {
        if (!s)
                return -EINVAL;
        if (startswith(s, "sha256:"))
                s += 7;
        if (strlen(s) != DIGEST_HEX_SIZE)
                return -EINVAL;
        uint8_t out[DIGEST_SIZE];
        for (int i = 0; i < DIGEST_SIZE; i++) {
                int hi = unhexchar(s[2 * i]), lo = unhexchar(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        memcpy(ret, out, DIGEST_SIZE);
        return 0;
}

void digest_buffer(const void *data, size_t size, uint8_t ret[DIGEST_SIZE]) {
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update(d, data, size);
        digest_final(d, ret);
}

static int digest_piece(const void *data, size_t size, void *userdata) {
        if (data)
                digest_update(userdata, data, size);
        else
                digest_update_zeros(userdata, size);
        return 0;
}

int digest_file(const char *path, uint8_t ret[DIGEST_SIZE], uint64_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

        _cleanup_(digest_freep) Digest *d = digest_new();
        uint64_t size = (uint64_t) st.st_size;
        int r = sparse_walk(fd, size, 1024 * 1024, digest_piece, d);
        if (r < 0)
                return r;
        digest_final(d, ret);
        if (ret_size)
                *ret_size = (uint64_t) size;
        return 0;
}

static void digest_update_u64(Digest *d, uint64_t v) {
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
                le[i] = (uint8_t) (v >> (8 * i));
        digest_update(d, le, sizeof le);
}

static int digest_tree(Digest *d, const char *path, unsigned depth, char **ret_special) {
        if (depth > 256)
                return -ELOOP;
        DIR *dir = opendir(path);
        if (!dir)
                return -errno;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                strv_push(&names, &n, xstrdup(de->d_name));
        }
        closedir(dir);
        strv_sort(names, n);
        int r = 0;
        digest_update_u64(d, n);
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *p = path_join(path, names[i]);
                struct stat st;
                if (lstat(p, &st) < 0) {
                        r = -errno;
                        break;
                }
                digest_update_string(d, names[i]);
                digest_update_u64(d, st.st_mode & 07777);
                if (S_ISDIR(st.st_mode)) {
                        digest_update_string(d, "d");
                        r = digest_tree(d, p, depth + 1, ret_special);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t k = readlink(p, target, sizeof target - 1);
                        if (k < 0) {
                                r = -errno;
                                break;
                        }
                        target[k] = 0;
                        digest_update_string(d, "l");
                        digest_update_string(d, target);
                } else if (S_ISREG(st.st_mode)) {
                        uint8_t fd_digest[DIGEST_SIZE];
                        uint64_t size;
                        r = digest_file(p, fd_digest, &size);
                        if (r < 0)
                                break;
                        digest_update_string(d, "f");
                        digest_update_u64(d, size);
                        digest_update(d, fd_digest, DIGEST_SIZE);
                } else {
                        if (ret_special)
                                *ret_special = TAKE_PTR(p);
                        r = -EBADFD;
                }
        }
        return r;
}

int digest_directory(const char *path, uint8_t ret[DIGEST_SIZE], char **ret_special) {
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update_string(d, "baker-directory-v1");
        int r = digest_tree(d, path, 0, ret_special);
        if (r < 0)
                return r;
        digest_final(d, ret);
        return 0;
}
