#include "digest-memo.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MEMO_NS "filedigest"

static int64_t ts_ns(struct timespec t) {
        return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The memo's key: a hash of everything that must be unchanged for the digest to still hold. */
static void memo_key(const struct stat *st, char ret[DIGEST_HEX_SIZE + 1]) {
        _cleanup_(digest_freep) Digest *d = digest_new();
        char stamps[160];
        snprintf(stamps, sizeof stamps, "v1 %ju %ju %jd %jd %jd", (uintmax_t) st->st_dev, (uintmax_t) st->st_ino,
                 (intmax_t) st->st_size, (intmax_t) ts_ns(st->st_mtim), (intmax_t) ts_ns(st->st_ctim));
        digest_update_string(d, stamps);
        uint8_t k[DIGEST_SIZE];
        digest_final(d, k);
        digest_to_hex(k, ret);
}

/* True once the coarse clock (the one the kernel stamps ctime with) is past st's ctime, so that
 * any later change gets a different ctime. Waits up to wait_ms for that. */
static bool ctime_settled(const struct stat *st, int wait_ms) {
        for (int i = 0;; i++) {
                struct timespec now;
                if (clock_gettime(CLOCK_REALTIME_COARSE, &now) < 0)
                        return false;
                if (ts_ns(now) > ts_ns(st->st_ctim))
                        return true;
                if (i >= wait_ms)
                        return false;
                (void) usleep(1000);
        }
}

static void remember_stat(Cache *c, const char *path, const struct stat *st, const uint8_t digest[DIGEST_SIZE]) {
        char key[DIGEST_HEX_SIZE + 1];
        memo_key(st, key);
        if (cache_ref_set(c, MEMO_NS, key, digest) < 0)
                log_debug("failed to remember the digest of '%s'", path);
}

int digest_memo_file(Cache *c, const char *path, uint8_t ret[DIGEST_SIZE], uint64_t *ret_size) {
        struct stat before, after;
        if (!c)
                return digest_file(path, ret, ret_size);
        if (stat(path, &before) < 0)
                return -errno;
        char key[DIGEST_HEX_SIZE + 1], key_after[DIGEST_HEX_SIZE + 1];
        memo_key(&before, key);
        if (S_ISREG(before.st_mode) && cache_ref_get(c, MEMO_NS, key, ret) >= 0) {
                cache_ref_touch(c, MEMO_NS, key);
                if (ret_size)
                        *ret_size = (uint64_t) before.st_size;
                return 0;
        }
        /* Settled before reading: a write while we read then changes ctime, seen below. */
        bool settled = S_ISREG(before.st_mode) && ctime_settled(&before, 0);
        uint64_t size = 0;
        int r = digest_file(path, ret, &size);
        if (r < 0)
                return r;
        if (ret_size)
                *ret_size = size;
        if (!settled || stat(path, &after) < 0)
                return 0;
        memo_key(&after, key_after);
        if (streq(key, key_after)) /* else it changed while being read: the digest is of neither */
                remember_stat(c, path, &after, ret);
        return 0;
}

void digest_memo_remember(Cache *c, const char *path, const uint8_t digest[DIGEST_SIZE]) {
        struct stat st;
        if (!c)
                return;
        if (stat(path, &st) < 0) {
                log_debug("failed to stat '%s': %m", path);
                return;
        }
        if (!S_ISREG(st.st_mode) || !ctime_settled(&st, 50)) {
                log_debug("not remembering the digest of '%s': too new to tell later changes apart", path);
                return;
        }
        remember_stat(c, path, &st, digest);
}

unsigned digest_memo_expire(Cache *c) {
        return cache_refs_expire(c, MEMO_NS, (int64_t) DIGEST_MEMO_MAX_AGE_DAYS * 24 * 3600);
}
