/* Image files read offline; see image-file.h. */
#include "image-file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "fsprobe.h"
#include "interrupt.h"
#include "log.h"
#include "partition.h"
#include "process.h"
#include "util.h"

static bool is_qcow2(int fd) {
        uint8_t magic[4];
        return pread(fd, magic, 4, 0) == 4 && memcmp(magic, "QFI\xfb", 4) == 0;
}

/* The canonical raw bytes of a qcow2: a sparse temporary raw beside the system's temp files. */
static int qcow2_to_raw(const char *path, char **ret_tmp) {
        _cleanup_free_ char *tmp = tmp_template("baker-image");
        int fd = mkstemp(tmp);
        if (fd < 0)
                return log_error_errno(-errno, "cannot create a temporary file in '%s': %m", tmp_dir());
        close(fd);
        interrupt_register(tmp);
        char *argv[] = { (char *) "qemu-img", (char *) "convert", (char *) "-f", (char *) "qcow2", (char *) "-O",
                         (char *) "raw", (char *) path, tmp, NULL };
        int r = process_run_checked(argv, NULL, "convert the qcow2 image to raw", "qemu-utils");
        if (r < 0) {
                (void) unlink(tmp);
                interrupt_unregister(tmp);
                return r;
        }
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

int image_file_open(const char *path, ImageFile *ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "cannot stat '%s': %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EMEDIUMTYPE, "'%s' is not a regular file", path);
        ImageFile f = { .format = "raw", .size = (uint64_t) st.st_size };
        if (is_qcow2(fd)) {
                int r = qcow2_to_raw(path, &f.tmp);
                if (r < 0)
                        return r;
                f.format = "qcow2";
                f.raw = xstrdup(f.tmp);
        } else
                f.raw = xstrdup(path);
        *ret = f;
        return 0;
}

void image_file_done(ImageFile *f) {
        if (f->tmp) {
                (void) unlink(f->tmp);
                interrupt_unregister(f->tmp);
        }
        free(f->tmp);
        free(f->raw);
        *f = (ImageFile) {};
}

/* -EMEDIUMTYPE: no filesystem there; -ENOENT: not an ext* one, or the file is not in it. */
static int read_ext(int fd, const char *raw, uint64_t offset, uint64_t size, const char *path, size_t max_size,
                    char **ret_data, size_t *ret_size) {
        FsInfo fi;
        int r = fsprobe(fd, offset, size, &fi);
        if (r < 0)
                return r;
        if (!fi.type)
                return -EMEDIUMTYPE;
        if (!startswith(fi.type, "ext"))
                return -ENOENT;
        return fsprobe_ext4_read_file(raw, offset, path, max_size, ret_data, ret_size);
}

int image_file_read(const char *raw, const char *path, size_t max_size, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = open(raw, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        _cleanup_(disk_layout_freep) DiskLayout *l = NULL;
        int r = disk_layout_read(fd, &l);
        if (r == -ENOMEDIUM) /* a bare filesystem, or no image at all */
                return read_ext(fd, raw, 0, (uint64_t) st.st_size, path, max_size, ret_data, ret_size);
        if (r < 0)
                return r;
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < l->n_partitions; i++) {
                        const Partition *p = l->partitions + i;
                        bool root = streq_ptr(partition_type_to_string(p->type), "root");
                        if ((pass == 0) != root)
                                continue;
                        r = read_ext(fd, raw, p->offset, p->size, path, max_size, ret_data, ret_size);
                        if (r >= 0 || (r != -ENOENT && r != -EMEDIUMTYPE))
                                return r;
                }
        return -ENOENT;
}
