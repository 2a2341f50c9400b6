/* Builds the OCI artifact for a baked image; see artifact.h for the layout. */
#include "artifact.h"

#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <sys/stat.h>
#include <time.h>

#include "digest.h"
#include "log.h"
#include "manifest.h"
#include "strv.h"
#include "tar-header.h"
#include "time-util.h"

static void layer_clear(ArtifactLayer *l) {
        if (l->temporary && l->path)
                (void) unlink(l->path);
        free(l->path);
        free(l->digest);
        free(l->media_type);
        free(l->title);
}

Artifact *artifact_free(Artifact *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < a->n_layers; i++)
                layer_clear(&a->layers[i]);
        free(a->layers);
        free(a->name);
        free(a->version);
        free(a->config);
        free(a->config_digest);
        free(a->config_media_type);
        free(a->manifest);
        free(a->manifest_digest);
        free(a);
        return NULL;
}

char *artifact_layer_media_type(const char *format, const char *compress) {
        if (compress && *compress && !streq(compress, "none"))
                return xasprintf(BAKER_LAYER_MEDIA_TYPE_PREFIX "%s+%s", format, compress);
        return xasprintf(BAKER_LAYER_MEDIA_TYPE_PREFIX "%s", format);
}

static char *digest_string_of(const void *data, size_t size) {
        uint8_t d[DIGEST_SIZE];
        char s[DIGEST_STRING_MAX];
        digest_buffer(data, size, d);
        digest_to_string(d, s);
        return xstrdup(s);
}

/* Bare image files: the format from the magic bytes. */
static const char *sniff_format(const char *path, const char **ret_compress) {
        unsigned char m[8] = {};
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        *ret_compress = NULL;
        if (fd < 0 || pread(fd, m, sizeof(m), 0) < 4)
                return "raw";
        if (!memcmp(m, "QFI\xfb", 4))
                return "qcow2";
        if (!memcmp(m, "KDMV", 4))
                return "vmdk";
        if (!memcmp(m, "vhdxfile", 8))
                return "vhdx";
        if (!memcmp(m, "\x28\xb5\x2f\xfd", 4)) {
                *ret_compress = "zstd";
                return "raw";
        }
        return "raw";
}

/* ---- containerDisk tar ---- */

/* Sizes of 8 GiB and more are written base-256, as GNU tar does: this tar has no pax headers. */
static void tar_header(uint8_t hdr[TAR_BLOCK_SIZE], const char *name, char type, unsigned mode, uint64_t size,
                       int64_t mtime) {
        tar_header_encode(&(TarHeader) { .name = name, .type = type, .mode = mode, .uid = CONTAINERDISK_UID,
                                         .gid = CONTAINERDISK_UID, .size = size, .mtime = mtime, .uname = "qemu",
                                         .gname = "qemu", .base256 = true },
                          hdr);
}

static int write_hashed(int fd, Digest *d, const void *data, size_t n) {
        digest_update(d, data, n);
        return write_all(fd, data, n);
}

int artifact_write_containerdisk_tar(const char *image, const char *file_name, int64_t mtime, int out_fd,
                                     char **ret_digest, uint64_t *ret_size) {
        _cleanup_close_ int fd = open(image, O_RDONLY | O_CLOEXEC);
        _cleanup_(digest_freep) Digest *d = digest_new();
        uint8_t hdr[TAR_BLOCK_SIZE];
        struct stat st;
        int k;

        if (fd < 0 || fstat(fd, &st) < 0)
                return log_error_errno(-errno, "failed to open '%s': %m", image);
        _cleanup_free_ char *name = xasprintf("disk/%s", file_name);
        if (strlen(name) >= 100)
                return log_error_errno(-ENAMETOOLONG, "containerdisk file name '%s' is too long", file_name);
        uint64_t size = (uint64_t) st.st_size, total = 0;

        tar_header(hdr, "disk/", '5', 0555, 0, mtime);
        if ((k = write_hashed(out_fd, d, hdr, 512)) < 0)
                return k;
        tar_header(hdr, name, '0', 0440, size, mtime);
        if ((k = write_hashed(out_fd, d, hdr, 512)) < 0)
                return k;
        total = 1024;

        const size_t bufsize = 1 << 20;
        _cleanup_free_ char *buf = xmalloc(bufsize);
        for (uint64_t pos = 0; pos < size;) {
                ssize_t n = pread(fd, buf, MIN(bufsize, size - pos), (off_t) pos);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return log_error_errno(n < 0 ? -errno : -EIO, "failed to read '%s': %m", image);
                if ((k = write_hashed(out_fd, d, buf, (size_t) n)) < 0)
                        return k;
                pos += (uint64_t) n;
        }
        total += size;
        /* Pad the file to a block, then two zero blocks end the archive. */
        size_t pad = (512 - size % 512) % 512 + 1024;
        memset(buf, 0, pad);
        if ((k = write_hashed(out_fd, d, buf, pad)) < 0)
                return k;
        total += pad;

        uint8_t raw[DIGEST_SIZE];
        char s[DIGEST_STRING_MAX];
        digest_final(d, raw);
        digest_to_string(raw, s);
        *ret_digest = xstrdup(s);
        *ret_size = total;
        return 0;
}

/* ---- manifest building ---- */

/* The creation time: recorded by the bake, else $SOURCE_DATE_EPOCH, else the input's mtime; never
 * "now", which would change the manifest digest on every push. */
static int64_t created_time(const BakeManifest *bake, const char *input) {
        int64_t t;
        if (bake->created && rfc3339_parse(bake->created, &t) >= 0)
                return t;
        if (bake->has_epoch)
                return bake->epoch;
        const char *env = getenv("SOURCE_DATE_EPOCH");
        if (env && *env)
                return strtoll(env, NULL, 10);
        struct stat st;
        if (stat(input, &st) >= 0)
                return (int64_t) st.st_mtime;
        return 0;
}

static char *normalize_digest(const char *s) {
        uint8_t d[DIGEST_SIZE];
        char buf[DIGEST_STRING_MAX];
        if (!s || digest_from_string(s, d) < 0)
                return NULL;
        digest_to_string(d, buf);
        return xstrdup(buf);
}

static void set_annotation(json_t *ann, const char *key, const char *v) {
        if (v && *v)
                json_object_set_new(ann, key, json_string(v));
}

static int add_layer(Artifact *a, const char *path, const char *digest, uint64_t size, const char *media_type,
                     const char *title, bool temporary) {
        a->layers = xrealloc(a->layers, (a->n_layers + 1) * sizeof(ArtifactLayer));
        a->layers[a->n_layers++] = (ArtifactLayer){
                .path = xstrdup(path),
                .digest = xstrdup(digest),
                .size = size,
                .media_type = xstrdup(media_type),
                .title = xstrdup(title),
                .temporary = temporary,
        };
        return 0;
}

static int build_containerdisk(Artifact *a, const char *image, const char *format, const ArtifactOptions *opts,
                               int64_t created) {
        _cleanup_free_ char *dircopy = xstrdup(image);
        const char *dir = opts->tmpdir ?: dirname(dircopy);
        _cleanup_free_ char *base = path_join(dir, "containerdisk.tar");
        _cleanup_unlink_ char *tmp = tmp_sibling(base);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                int k = -errno;
                free(TAKE_PTR(tmp));
                return log_error_errno(k, "failed to create a temporary file in '%s': %m", dir);
        }
        _cleanup_free_ char *file_name = xasprintf("%s.%s", a->name, format);
        _cleanup_free_ char *digest = NULL;
        uint64_t size;
        int k = artifact_write_containerdisk_tar(image, file_name, created, fd, &digest, &size);
        if (k < 0)
                return log_error_errno(k, "failed to write containerdisk tar '%s': %m", tmp);
        /* The title names the blob (a tar), not the disk inside it. */
        _cleanup_free_ char *title = xasprintf("%s-containerdisk.tar", a->name);
        k = add_layer(a, tmp, digest, size, OCI_LAYER_TAR_MEDIA_TYPE, title, true);
        free(TAKE_PTR(tmp));
        _cleanup_free_ char *created_s = rfc3339_format(created);
        json_t *config = json_pack("{s:s, s:s, s:s, s:{}, s:{s:s, s:[s]}}", "architecture", "amd64", "os", "linux",
                                   "created", created_s, "config", "rootfs", "type", "layers", "diff_ids", digest);
        a->config = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(config);
        a->config_size = strlen(a->config);
        a->config_media_type = xstrdup(OCI_IMAGE_CONFIG_MEDIA_TYPE);
        return k;
}

/* A bare image file described as a manifest of the same shape: name and its one output. */
static int describe_bare_image(const char *input, BakeManifest **ret) {
        _cleanup_free_ char *basecopy = xstrdup(input);
        const char *base = basename(basecopy);
        uint8_t d[DIGEST_SIZE];
        char hex[DIGEST_HEX_SIZE + 1];
        uint64_t fsize;
        const char *compress;
        const char *format = sniff_format(input, &compress);
        int k = digest_file(input, d, &fsize);
        if (k < 0)
                return log_error_errno(k, "failed to read '%s': %m", input);
        digest_to_hex(d, hex);
        _cleanup_(manifest_freep) BakeManifest *m = manifest_new();
        m->name = xstrdup(base);
        char *dot = strchr(m->name, '.');
        if (dot && dot != m->name)
                *dot = 0;
        m->outputs = xcalloc(2, sizeof(ManifestOutput));
        m->outputs[m->n_outputs++] = (ManifestOutput) { .file = xstrdup(base), .format = xstrdup(format),
                                                        .compress = compress ? xstrdup(compress) : NULL,
                                                        .size = fsize, .sha256 = xstrdup(hex) };
        if (!compress && streq(format, "raw"))
                m->image_digest = xstrdup(hex);
        *ret = TAKE_PTR(m);
        return 0;
}

/* One layer per output (of opts->format, if set), or the containerdisk tar of the best disk. */
static int add_output_layers(Artifact *a, const BakeManifest *bake, const char *input, const char *dir,
                             const ArtifactOptions *opts, int64_t created) {
        const ManifestOutput *cd = NULL;
        for (size_t i = 0; i < bake->n_outputs; i++) {
                const ManifestOutput *o = bake->outputs + i;
                const char *format = o->format ?: "raw";
                _cleanup_free_ char *digest = normalize_digest(o->sha256);
                if (!digest)
                        return log_error_errno(-EBADMSG, "'%s': output %zu has no valid sha256", input, i);
                if (opts->format && !streq(opts->format, format))
                        continue;
                _cleanup_free_ char *path = path_join(dir, o->file);
                struct stat st;
                if (stat(path, &st) < 0)
                        return log_error_errno(-errno, "output '%s' of '%s': %m", path, input);
                if ((uint64_t) st.st_size != o->size)
                        return log_error_errno(-EBADMSG, "output '%s' has %jd bytes, the manifest says %" PRIu64, path,
                                               (intmax_t) st.st_size, o->size);
                if (opts->containerdisk) {
                        /* KubeVirt wants one qcow2 or raw disk; prefer qcow2. */
                        if ((!cd || streq(format, "qcow2")) && (!o->compress || streq(o->compress, "none")) &&
                            (streq(format, "qcow2") || streq(format, "raw")))
                                cd = o;
                        continue;
                }
                _cleanup_free_ char *mt = artifact_layer_media_type(format, o->compress);
                add_layer(a, path, digest, o->size, mt, o->file, false);
        }
        if (opts->containerdisk) {
                if (!cd)
                        return log_error_errno(-EINVAL, "'%s' has no qcow2 or uncompressed raw output for a containerdisk",
                                               input);
                _cleanup_free_ char *path = path_join(dir, cd->file);
                return build_containerdisk(a, path, cd->format ?: "raw", opts, created);
        }
        if (a->n_layers == 0)
                return log_error_errno(-EINVAL, "'%s' has no output%s%s", input, opts->format ? " of format " : "",
                                       opts->format ?: "");
        a->config = manifest_config(bake, &a->config_size);
        a->config_media_type = xstrdup(BAKER_CONFIG_MEDIA_TYPE);
        return 0;
}

static int annotations(const Artifact *a, const BakeManifest *bake, const ArtifactOptions *opts, int64_t created,
                       json_t **ret) {
        _cleanup_free_ char *created_s = rfc3339_format(created);
        json_t *ann = json_pack("{s:s, s:s}", "org.opencontainers.image.created", created_s,
                                "org.opencontainers.image.title", a->name);
        set_annotation(ann, "org.opencontainers.image.version", bake->version);
        set_annotation(ann, "org.opencontainers.image.description", bake->description);
        set_annotation(ann, ANNOTATION_BAKE_KEY, bake->bake_key);
        _cleanup_free_ char *image_digest = normalize_digest(bake->image_digest);
        if (image_digest)
                json_object_set_new(ann, ANNOTATION_IMAGE_DIGEST, json_string(image_digest));
        for (size_t j = 0; j < opts->n_annotations; j++) {
                const char *eq = strchr(opts->annotations[j], '=');
                if (!eq || eq == opts->annotations[j]) {
                        json_decref(ann);
                        return log_error_errno(-EINVAL, "annotation '%s' is not KEY=VALUE", opts->annotations[j]);
                }
                _cleanup_free_ char *key = xstrndup(opts->annotations[j], eq - opts->annotations[j]);
                json_object_set_new(ann, key, json_string(eq + 1));
        }
        *ret = ann;
        return 0;
}

int artifact_build(const char *input, const ArtifactOptions *opts, Artifact **ret) {
        static const ArtifactOptions defaults = {};
        _cleanup_(artifact_freep) Artifact *a = xcalloc(1, sizeof(*a));
        _cleanup_(manifest_freep) BakeManifest *bake = NULL;
        _cleanup_free_ char *dircopy = xstrdup(input);
        const char *dir = dirname(dircopy);
        int k;

        if (!opts)
                opts = &defaults;
        k = endswith(input, ".json") ? manifest_read(input, &bake) : describe_bare_image(input, &bake);
        if (k < 0)
                return k;
        a->name = xstrdup(bake->name && *bake->name ? bake->name : "image");
        a->version = bake->version && *bake->version ? xstrdup(bake->version) : NULL;
        int64_t created = created_time(bake, input);
        k = add_output_layers(a, bake, input, dir, opts, created);
        if (k < 0)
                return k;
        a->config_digest = digest_string_of(a->config, a->config_size);

        json_t *ann = NULL;
        k = annotations(a, bake, opts, created, &ann);
        if (k < 0)
                return k;
        json_t *layers = json_array();
        for (size_t j = 0; j < a->n_layers; j++)
                json_array_append_new(layers,
                                      json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", a->layers[j].media_type, "digest",
                                                a->layers[j].digest, "size", (json_int_t) a->layers[j].size, "annotations",
                                                "org.opencontainers.image.title", a->layers[j].title));
        json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o, s:o}", "schemaVersion", 2, "mediaType",
                              OCI_MANIFEST_MEDIA_TYPE, "config", "mediaType", a->config_media_type, "digest",
                              a->config_digest, "size", (json_int_t) a->config_size, "layers", layers, "annotations", ann);
        if (!opts->containerdisk)
                json_object_set_new(m, "artifactType", json_string(BAKER_ARTIFACT_TYPE));
        a->manifest = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(m);
        a->manifest_size = strlen(a->manifest);
        a->manifest_digest = digest_string_of(a->manifest, a->manifest_size);
        *ret = TAKE_PTR(a);
        return 0;
}

/* What a backend may keep with an image file (S3 object metadata): which image it belongs to, so the
 * object alone says what it is. */
static char **layer_metadata(const Artifact *a, const ArtifactLayer *layer) {
        static const struct {
                const char *annotation, *name;
        } facts[] = {
                { ANNOTATION_IMAGE_DIGEST, "image-digest" },
                { ANNOTATION_BAKE_KEY, "bake-key" },
                { "org.opencontainers.image.version", "version" },
                { "org.opencontainers.image.created", "created" },
        };
        char **l = NULL;
        size_t n = 0;
        strv_push(&l, &n, xasprintf("manifest=%s", a->manifest_digest));
        if (a->name)
                strv_push(&l, &n, xasprintf("name=%s", a->name));
        strv_push(&l, &n, xasprintf("title=%s", layer->title));
        strv_push(&l, &n, xasprintf("media-type=%s", layer->media_type));
        json_t *m = json_loadb(a->manifest, a->manifest_size, 0, NULL);
        json_t *ann = json_object_get(m, "annotations");
        for (size_t i = 0; i < ELEMENTSOF(facts); i++) {
                const char *v = json_string_value(json_object_get(ann, facts[i].annotation));
                if (v)
                        strv_push(&l, &n, xasprintf("%s=%s", facts[i].name, v));
        }
        json_decref(m);
        return l;
}

int artifact_push(Registry *r, const Artifact *a, const char *tag, const char *mount_from) {
        int k;

        /* Blobs first, manifest after, tag with it: never a tag on a manifest with missing blobs. */
        k = registry_blob_push(r,
                               &(RegistryBlob){ .digest = a->config_digest, .size = a->config_size, .data = a->config,
                                                .label = "config" },
                               mount_from);
        if (k < 0)
                return k;
        for (size_t i = 0; i < a->n_layers; i++) {
                _cleanup_strv_free_ char **metadata = layer_metadata(a, a->layers + i);
                k = registry_blob_push(r,
                                       &(RegistryBlob){ .digest = a->layers[i].digest, .size = a->layers[i].size,
                                                        .path = a->layers[i].path, .label = a->layers[i].title,
                                                        .metadata = metadata },
                                       mount_from);
                if (k < 0)
                        return k;
        }
        return registry_manifest_put(r, tag ?: a->manifest_digest, OCI_MANIFEST_MEDIA_TYPE, a->manifest,
                                     a->manifest_size, NULL);
}
