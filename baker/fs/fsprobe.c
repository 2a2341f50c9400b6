#include "fsprobe.h"

#include <ext2fs/ext2fs.h>
#include <inttypes.h>

#include "util.h"

static int pread_zero(int fd, void *buf, size_t size, uint64_t offset) {
        /* Short reads (the end of a small or truncated image) read as zeros. */
        memset(buf, 0, size);
        ssize_t n = pread_full(fd, buf, size, offset);
        return n < 0 ? (int) n : 0;
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void copy_label(char *dst, size_t dst_size, const uint8_t *src, size_t n) {
        size_t len = strnlen((const char *) src, n);
        while (len > 0 && src[len - 1] == ' ') /* FAT pads with spaces */
                len--;
        len = MIN(len, dst_size - 1);
        for (size_t i = 0; i < len; i++)
                dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char) src[i] : '?';
        dst[len] = 0;
}

int fsprobe(int fd, uint64_t offset, uint64_t size, FsInfo *ret) {
        uint8_t buf[4096];
        int r = pread_zero(fd, buf, sizeof buf, offset);
        if (r < 0)
                return r;
        FsInfo info = {};
        const uint8_t *sb = buf + 1024;
        if (size >= 2048 && sb[56] == 0x53 && sb[57] == 0xef) {
                uint32_t compat = le32(sb + 92), incompat = le32(sb + 96);
                info.type = incompat & (EXT3_FEATURE_INCOMPAT_EXTENTS | EXT4_FEATURE_INCOMPAT_FLEX_BG |
                                        EXT4_FEATURE_INCOMPAT_64BIT)
                                    ? "ext4"
                            : compat & EXT3_FEATURE_COMPAT_HAS_JOURNAL ? "ext3"
                                                                       : "ext2";
                snprintf(info.uuid, sizeof info.uuid,
                         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", sb[104], sb[105],
                         sb[106], sb[107], sb[108], sb[109], sb[110], sb[111], sb[112], sb[113], sb[114], sb[115],
                         sb[116], sb[117], sb[118], sb[119]);
                copy_label(info.label, sizeof info.label, sb + 120, 16);
        } else if (buf[510] == 0x55 && buf[511] == 0xaa &&
                   (memcmp(buf + 54, "FAT1", 4) == 0 || memcmp(buf + 82, "FAT32", 5) == 0)) {
                bool fat32 = memcmp(buf + 82, "FAT32", 5) == 0;
                const uint8_t *ext = buf + (fat32 ? 64 : 36); /* extended boot record */
                info.type = "vfat";
                info.fat_bits = fat32 ? 32 : buf[57] == '2' ? 12 : 16;
                uint32_t id = le32(ext + 3);
                snprintf(info.uuid, sizeof info.uuid, "%04X-%04X", id >> 16, id & 0xffff);
                copy_label(info.label, sizeof info.label, ext + 7, 11);
                if (streq(info.label, "NO NAME"))
                        info.label[0] = 0;
        } else if (size >= 4096 && memcmp(buf + 4096 - 10, "SWAPSPACE2", 10) == 0) {
                info.type = "swap";
                const uint8_t *u = buf + 1024 + 12;
                snprintf(info.uuid, sizeof info.uuid,
                         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                         u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
                copy_label(info.label, sizeof info.label, buf + 1024 + 28, 16);
        }
        *ret = info;
        return 0;
}

int fsprobe_ext4_read_file(const char *image, uint64_t offset, const char *path, size_t max_size, char **ret_data,
                           size_t *ret_size) {
        _cleanup_free_ char *opt = xasprintf("offset=%" PRIu64, offset);
        ext2_filsys fs = NULL;
        errcode_t err = ext2fs_open2(image, opt, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
                                     unix_io_manager, &fs);
        if (err)
                return -EBADMSG;
        int r = 0;
        char *data = NULL;
        size_t size = 0;
        ext2_file_t file = NULL;
        ext2_ino_t ino;
        while (*path == '/')
                path++;
        err = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);
        if (err) {
                r = -ENOENT;
                goto finish;
        }
        struct ext2_inode inode;
        if (ext2fs_read_inode(fs, ino, &inode)) {
                r = -EIO;
                goto finish;
        }
        if (LINUX_S_ISDIR(inode.i_mode)) {
                r = -EISDIR;
                goto finish;
        }
        if (!LINUX_S_ISREG(inode.i_mode)) {
                r = -ENOENT;
                goto finish;
        }
        uint64_t isize = EXT2_I_SIZE(&inode);
        if (isize > max_size) {
                r = -EFBIG;
                goto finish;
        }
        if (ext2fs_file_open(fs, ino, 0, &file)) {
                r = -EIO;
                goto finish;
        }
        data = xmalloc(isize + 1);
        while (size < isize) {
                unsigned int got = 0;
                if (ext2fs_file_read(file, data + size, (unsigned) MIN(isize - size, (uint64_t) 1 << 20), &got) || got == 0)
                        break;
                size += got;
        }
        data[size] = 0;
finish:
        if (file)
                ext2fs_file_close(file);
        ext2fs_close_free(&fs);
        if (r < 0) {
                free(data);
                return r;
        }
        *ret_data = data;
        *ret_size = size;
        return 0;
}
