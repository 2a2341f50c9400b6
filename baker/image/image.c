#include "image.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <zstd.h>

#include "image-format.h"
#include "interrupt.h"
#include "log.h"
#include "process.h"
#include "sparse.h"

void image_outputs_free(ImageOutput *outputs, size_t n) {
        for (size_t i = 0; outputs && i < n; i++)
                free(outputs[i].path);
        free(outputs);
}

typedef struct ZstdSink {
        ZSTD_CCtx *cctx;
        int fd;
        Digest *digest;
        uint64_t written;
        uint8_t *out;
        size_t out_size;
        const uint8_t *zeros;
        size_t zeros_size;
} ZstdSink;

static int zstd_feed(ZstdSink *s, const void *data, size_t size, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in = { data, size, 0 };
        for (;;) {
                ZSTD_outBuffer out = { s->out, s->out_size, 0 };
                size_t remaining = ZSTD_compressStream2(s->cctx, &out, &in, mode);
                if (ZSTD_isError(remaining)) {
                        log_error("zstd compression failed: %s", ZSTD_getErrorName(remaining));
                        return -EIO;
                }
                if (out.pos > 0) {
                        int r = write_all(s->fd, s->out, out.pos);
                        if (r < 0)
                                return r;
                        digest_update(s->digest, s->out, out.pos);
                        s->written += out.pos;
                }
                bool done = mode == ZSTD_e_end ? remaining == 0 : in.pos == in.size;
                if (done)
                        return 0;
        }
}

static int zstd_chunk(const void *data, size_t size, void *userdata) {
        ZstdSink *s = userdata;
        if (data)
                return zstd_feed(s, data, size, ZSTD_e_continue);
        while (size > 0) { /* a hole: zeros, without reading the disk */
                size_t n = MIN(size, s->zeros_size);
                int r = zstd_feed(s, s->zeros, n, ZSTD_e_continue);
                if (r < 0)
                        return r;
                size -= n;
        }
        return 0;
}

static void zstd_cctxp(ZSTD_CCtx **p) {
        ZSTD_freeCCtx(*p);
}

int image_zstd_compress(const char *src_path, int dst_fd, int level, uint8_t ret_sha256[DIGEST_SIZE],
                        uint64_t *ret_size) {
        _cleanup_close_ int fd = open(src_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

        _cleanup_(zstd_cctxp) ZSTD_CCtx *cctx = ZSTD_createCCtx();
        if (!cctx)
                return -ENOMEM;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level ?: 3);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
        /* With nbWorkers >= 1 the output does not depend on the number of workers, so the bytes stay
         * reproducible across machines; a library built without threads refuses, and we go on with one. */
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, (int) MAX(cpus, 1));
        ZSTD_CCtx_setPledgedSrcSize(cctx, (unsigned long long) st.st_size);

        _cleanup_(digest_freep) Digest *digest = digest_new();
        _cleanup_free_ uint8_t *out = xmalloc(ZSTD_CStreamOutSize());
        _cleanup_free_ uint8_t *zeros = xcalloc(1, 1u << 20);
        ZstdSink sink = { .cctx = cctx, .fd = dst_fd, .digest = digest, .out = out,
                          .out_size = ZSTD_CStreamOutSize(), .zeros = zeros, .zeros_size = 1u << 20 };
        int r = sparse_walk(fd, (uint64_t) st.st_size, 4u << 20, zstd_chunk, &sink);
        if (r < 0)
                return r;
        r = zstd_feed(&sink, NULL, 0, ZSTD_e_end);
        if (r < 0)
                return r;
        digest_final(digest, ret_sha256);
        if (ret_size)
                *ret_size = sink.written;
        return 0;
}

typedef struct CopySink {
        int fd;
        uint64_t pos;
} CopySink;

static int copy_chunk(const void *data, size_t size, void *userdata) {
        CopySink *s = userdata;
        if (data) {
                int r = pwrite_all(s->fd, data, size, s->pos);
                if (r < 0)
                        return r;
        }
        s->pos += size; /* a hole stays a hole */
        return 0;
}

int image_copy_sparse(const char *src_path, int dst_fd) {
        _cleanup_close_ int fd = open(src_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (ioctl(dst_fd, FICLONE, fd) == 0)
                return 0;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        CopySink sink = { .fd = dst_fd };
        int r = sparse_walk(fd, (uint64_t) st.st_size, 4u << 20, copy_chunk, &sink);
        if (r < 0)
                return r;
        if (ftruncate(dst_fd, st.st_size) < 0)
                return -errno;
        return 0;
}

static int write_raw(const ImageSource *src, const char *tmp_path, int fd, const char *final_name) {
        int r = image_copy_sparse(src->path, fd);
        if (r < 0)
                return log_error_errno(r, "failed to copy '%s' to '%s': %m", src->path, tmp_path);
        return 0;
}

static int write_qcow2(const ImageSource *src, const char *tmp_path, int fd, const char *final_name) {
        /* qemu-img's qcow2 writer is deterministic for a given input and version: same raw, same
         * bytes. */
        char *argv[] = { (char *) "qemu-img", (char *) "convert", (char *) "-f", (char *) "raw", (char *) "-O",
                         (char *) "qcow2", (char *) src->path, (char *) tmp_path, NULL };
        return process_run_checked(argv, NULL, "convert the image to qcow2", "qemu-utils");
}

/* The output formats, one row each: the file name's ending and the writer. */
typedef struct ImageFormatRow {
        const char *extension;
        ImageWriter write;
} ImageFormatRow;

static const ImageFormatRow image_formats[_IMAGE_FORMAT_MAX] = {
        [IMAGE_FORMAT_RAW] = { ".raw", write_raw },
        [IMAGE_FORMAT_QCOW2] = { ".qcow2", write_qcow2 },
        [IMAGE_FORMAT_VHD] = { ".vhd", image_write_vhd },
        [IMAGE_FORMAT_VMDK] = { ".vmdk", image_write_vmdk },
        [IMAGE_FORMAT_GCE] = { ".gce.tar.gz", image_write_gce },
};

char *image_output_filename(const char *basename, const ImageOutputSpec *spec) {
        return xasprintf("%s%s%s", basename, image_formats[spec->format].extension,
                         spec->compression == IMAGE_COMPRESSION_ZSTD ? ".zst" : "");
}

static int write_output_tmp(const ImageSource *src, const char *tmp, int fd, const char *final_path,
                            const ImageOutputSpec *spec, ImageOutput *ret);

static void unregister_unlinkp(char **p) {
        if (*p) {
                interrupt_unregister(*p);
                (void) unlink(*p);
                free(*p);
        }
}

/* Makes one output under a temporary name and renames it into place. */
static int write_output(const ImageSource *src, const char *final_path, const ImageOutputSpec *spec,
                        ImageOutput *ret) {
        _cleanup_unlink_ char *tmp = tmp_sibling(final_path);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                free(TAKE_PTR(tmp));
                return log_error_errno(-errno, "failed to create a temporary file beside '%s': %m", final_path);
        }
        /* A Ctrl-C exits from the signal handler, which runs no cleanups: it removes these itself. */
        interrupt_register(tmp);
        int r = write_output_tmp(src, tmp, fd, final_path, spec, ret);
        interrupt_unregister(tmp);
        if (r < 0)
                return r;
        free(TAKE_PTR(tmp));
        ret->path = xstrdup(final_path);
        ret->format = spec->format;
        ret->compression = spec->compression;
        return 0;
}

/* The format's writer into fd; for a compressed output into an intermediate file (also under a
 * temporary name), which is then compressed into fd. */
static int write_format(const ImageSource *src, const char *tmp, int fd, const char *final_path,
                        const ImageOutputSpec *spec, ImageOutput *ret) {
        const char *final_name = strrchr(final_path, '/') ? strrchr(final_path, '/') + 1 : final_path;
        ImageWriter writer = image_formats[spec->format].write;
        if (spec->compression == IMAGE_COMPRESSION_NONE)
                return writer(src, tmp, fd, final_name);
        _cleanup_(unregister_unlinkp) char *intermediate = NULL;
        const char *source = src->path;
        if (spec->format != IMAGE_FORMAT_RAW) {
                intermediate = tmp_sibling(final_path);
                _cleanup_close_ int ifd = mkostemp(intermediate, O_CLOEXEC);
                if (ifd < 0) {
                        free(TAKE_PTR(intermediate));
                        return log_error_errno(-errno, "failed to create a temporary file: %m");
                }
                interrupt_register(intermediate);
                _cleanup_free_ char *plain_name = strndup(final_name, strlen(final_name) - strlen(".zst"));
                int r = writer(src, intermediate, ifd, plain_name);
                if (r < 0)
                        return r;
                source = intermediate;
        }
        int r = image_zstd_compress(source, fd, spec->level, ret->sha256, &ret->size);
        if (r < 0)
                return log_error_errno(r, "failed to compress '%s' with zstd: %m", source);
        return 0;
}

static int write_output_tmp(const ImageSource *src, const char *tmp, int fd, const char *final_path,
                            const ImageOutputSpec *spec, ImageOutput *ret) {
        int r = write_format(src, tmp, fd, final_path, spec, ret);
        if (r < 0)
                return r;
        if (fchmod(fd, 0644) < 0 || fsync(fd) < 0)
                return log_error_errno(-errno, "failed to finish '%s': %m", final_path);
        if (spec->format == IMAGE_FORMAT_RAW && spec->compression == IMAGE_COMPRESSION_NONE) {
                /* A byte-for-byte copy: hashing it again would cost a full pass over the apparent
                 * size (holes included) for nothing. */
                memcpy(ret->sha256, src->sha256, DIGEST_SIZE);
                ret->size = src->size;
        } else if (spec->compression == IMAGE_COMPRESSION_NONE) {
                r = digest_file(tmp, ret->sha256, &ret->size);
                if (r < 0)
                        return log_error_errno(r, "failed to hash '%s': %m", tmp);
        }
        if (rename(tmp, final_path) < 0)
                return log_error_errno(-errno, "failed to rename '%s' to '%s': %m", tmp, final_path);
        return 0;
}

int image_write_outputs(const char *raw_path, const uint8_t *raw_sha256, int64_t epoch, const char *output_dir,
                        const char *basename, const ImageOutputSpec *specs, size_t n_specs, ImageOutput **ret_outputs,
                        size_t *ret_n) {
        int r = mkdir_p(output_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "failed to create output directory '%s': %m", output_dir);
        ImageSource src = { .path = raw_path, .sha256 = raw_sha256, .epoch = epoch };
        uint8_t computed[DIGEST_SIZE];
        if (!raw_sha256) {
                r = digest_file(raw_path, computed, &src.size);
                if (r < 0)
                        return log_error_errno(r, "failed to hash '%s': %m", raw_path);
                src.sha256 = computed;
        } else {
                struct stat st;
                if (stat(raw_path, &st) < 0)
                        return log_error_errno(-errno, "failed to stat '%s': %m", raw_path);
                src.size = (uint64_t) st.st_size;
        }
        ImageOutput *outputs = xcalloc(n_specs ?: 1, sizeof(ImageOutput));
        size_t n = 0;
        for (; n < n_specs; n++) {
                const ImageOutputSpec *s = specs + n;
                if (!image_format_to_string(s->format) || !image_compression_to_string(s->compression)) {
                        r = log_error_errno(-EINVAL, "unknown output format or compression");
                        break;
                }
                _cleanup_free_ char *name = image_output_filename(basename, s);
                _cleanup_free_ char *path = path_join(output_dir, name);
                for (size_t k = 0; k < n; k++)
                        if (streq(outputs[k].path, path)) {
                                r = log_error_errno(-EEXIST, "output '%s' is listed twice", name);
                                goto fail;
                        }
                r = write_output(&src, path, s, outputs + n);
                if (r < 0)
                        break;
                log_info("wrote '%s' (%" PRIu64 " bytes)", path, outputs[n].size);
        }
fail:
        if (r < 0) {
                /* All or nothing: a half set of outputs must not look like a finished bake. */
                for (size_t k = 0; k < n; k++)
                        (void) unlink(outputs[k].path);
                image_outputs_free(outputs, n);
                return r;
        }
        *ret_outputs = outputs;
        *ret_n = n;
        return 0;
}
