/* streamOptimized VMDK (vSphere, AWS import), written by qemu-img. Its output is the same for the
 * same input but for two fields: the descriptor names the extent after the file qemu-img wrote
 * (so it writes under the final name, in a private folder) and carries a random content id, CID
 * (printed with 1 to 8 hex digits), which is replaced by 8 digits derived from the image digest. Measured with qemu-img 7.2: two
 * conversions then differ in no byte. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "image-format.h"
#include "interrupt.h"
#include "log.h"
#include "process.h"

#define SECTOR 512
#define VMDK_MAX_DESCRIPTOR (1u << 20)

static uint32_t get_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p) {
        return (uint64_t) get_le32(p) | (uint64_t) get_le32(p + 4) << 32;
}

/* The descriptor's content id, from the image digest; never ffffffff ("no parent"). */
static uint32_t vmdk_cid(const uint8_t image_digest[DIGEST_SIZE]) {
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update_string(d, "baker vmdk cid");
        digest_update(d, image_digest, DIGEST_SIZE);
        uint8_t h[DIGEST_SIZE];
        digest_final(d, h);
        uint32_t cid = get_le32(h);
        return cid == UINT32_MAX ? cid - 1 : cid;
}

int image_vmdk_set_cid(const char *path, uint32_t cid) {
        _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", path);
        uint8_t hdr[SECTOR];
        int r = pread_exact(fd, hdr, sizeof hdr, 0);
        if (r < 0 || memcmp(hdr, "KDMV", 4) != 0)
                return log_error_errno(r < 0 ? r : -EBADMSG, "'%s' is not a VMDK sparse extent", path);
        uint64_t desc_offset = get_le64(hdr + 28) * SECTOR, desc_size = get_le64(hdr + 36) * SECTOR;
        if (desc_offset == 0 || desc_size == 0 || desc_size > VMDK_MAX_DESCRIPTOR)
                return log_error_errno(-EBADMSG, "'%s' has no embedded descriptor", path);
        _cleanup_free_ char *desc = xmalloc(desc_size + 1);
        r = pread_exact(fd, desc, desc_size, desc_offset);
        if (r < 0)
                return log_error_errno(r, "cannot read the descriptor of '%s': %m", path);
        desc[desc_size] = 0;
        /* qemu-img prints the CID with %x: 1 to 8 digits. The text is rewritten with 8, the rest of
         * the descriptor area (zeros) absorbing the difference. */
        char *p = strstr(desc, "\nCID=");
        size_t digits = p ? strspn(p + 5, "0123456789abcdef") : 0;
        if (!p || digits == 0 || digits > 8 || p[5 + digits] != '\n')
                return log_error_errno(-EBADMSG, "the descriptor of '%s' has no CID line; this qemu-img writes "
                                       "what baker cannot make reproducible", path);
        _cleanup_free_ char *text = xasprintf("%.*sCID=%08" PRIx32 "%s", (int) (p + 1 - desc), desc, cid, p + 5 + digits);
        size_t len = strlen(text);
        if (len >= desc_size)
                return log_error_errno(-EBADMSG, "the descriptor of '%s' has no room for an 8-digit CID", path);
        memset(desc, 0, desc_size);
        memcpy(desc, text, len);
        r = pwrite_all(fd, desc, desc_size, desc_offset);
        if (r < 0 || fsync(fd) < 0)
                return log_error_errno(r < 0 ? r : -errno, "cannot write the descriptor of '%s': %m", path);
        return 0;
}

static void rm_rf_unregisterp(char **p) {
        if (*p) {
                (void) rm_rf(*p);
                interrupt_unregister(*p);
                free(*p);
        }
}

int image_write_vmdk(const ImageSource *src, const char *tmp_path, int fd, const char *final_name) {
        _cleanup_(rm_rf_unregisterp) char *dir = tmp_template("baker-vmdk");
        if (!mkdtemp(dir)) {
                free(TAKE_PTR(dir));
                return log_error_errno(-errno, "failed to create a temporary folder: %m");
        }
        interrupt_register(dir);
        _cleanup_free_ char *out = path_join(dir, final_name);
        char *argv[] = { (char *) "qemu-img", (char *) "convert", (char *) "-f", (char *) "raw", (char *) "-O",
                         (char *) "vmdk", (char *) "-o", (char *) "subformat=streamOptimized", (char *) src->path,
                         out, NULL };
        int r = process_run_checked(argv, NULL, "convert the image to a streamOptimized vmdk", "qemu-utils");
        if (r < 0)
                return r;
        r = image_vmdk_set_cid(out, vmdk_cid(src->sha256));
        if (r < 0)
                return r;
        r = copy_file(out, tmp_path, O_TRUNC, 0600);
        if (r < 0)
                return log_error_errno(r, "failed to copy '%s' to '%s': %m", out, tmp_path);
        return 0;
}
