#include "inspect.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "digest.h"
#include "fsprobe.h"
#include "image-file.h"
#include "log.h"
#include "manifest.h"
#include "partition.h"
#include "stamp.h"
#include "util.h"

#define STAMP_MAX (1u << 20)

bool inspect_is_manifest(const char *path) {
        if (endswith(path, ".json"))
                return true;
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return false;
        int c;
        while ((c = fgetc(f)) != EOF && strchr(" \t\r\n", c))
                ;
        return c == '{';
}

static char **os_release_field(InspectOsRelease *o, size_t i) {
        char **fields[] = { &o->id, &o->version_id, &o->pretty_name, &o->image_id, &o->image_version };
        return fields[i];
}

static InspectOsRelease *parse_os_release(const char *text) {
        static const char *const keys[] = { "ID", "VERSION_ID", "PRETTY_NAME", "IMAGE_ID", "IMAGE_VERSION" };
        InspectOsRelease *o = xcalloc(1, sizeof *o);
        for (const char *line = text; line && *line;) {
                const char *eol = strchrnul(line, '\n');
                for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                        size_t kl = strlen(keys[i]);
                        if ((size_t) (eol - line) <= kl || strncmp(line, keys[i], kl) != 0 || line[kl] != '=')
                                continue;
                        /* shell-style value: drop quotes, undo backslash escapes */
                        const char *v = line + kl + 1;
                        char quote = *v == '"' || *v == '\'' ? *v++ : 0;
                        char *val = xmalloc((size_t) (eol - v) + 1), *p = val;
                        for (; v < eol && *v != quote; v++) {
                                if (*v == '\\' && quote != '\'' && v + 1 < eol)
                                        v++;
                                *p++ = *v;
                        }
                        *p = 0;
                        free(*os_release_field(o, i));
                        *os_release_field(o, i) = val;
                }
                line = *eol ? eol + 1 : eol;
        }
        return o;
}

static const char *stamp_field(json_t *doc, const char *key) {
        return json_string_value(json_object_get(doc, key));
}

/* The stamp (and the os-release beside it) of partition `index` at offset: 1 found, 0 none there. */
static int read_stamp_at(ImageInspection *x, const char *raw, unsigned index, uint64_t offset) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r = fsprobe_ext4_read_file(raw, offset, STAMP_PATH, STAMP_MAX, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                log_warning("partition %u: cannot read '/%s': %s", index, STAMP_PATH, strerror(-r));
                return 0;
        }
        json_error_t e;
        json_t *doc = json_loadb(data, size, 0, &e);
        if (!doc) {
                log_warning("'/%s' is not json: %s", STAMP_PATH, e.text);
                doc = json_pack("{s:s%}", "unparsed", data, size);
        }
        x->stamp = xcalloc(1, sizeof *x->stamp);
        *x->stamp = (InspectStamp) { .partition = index, .document = doc, .name = stamp_field(doc, "name"),
                                     .version = stamp_field(doc, "version"), .bake_key = stamp_field(doc, "bake_key"),
                                     .baker_version = stamp_field(doc, "baker_version") };
        _cleanup_free_ char *osr = NULL;
        if (fsprobe_ext4_read_file(raw, offset, "etc/os-release", STAMP_MAX, &osr, &size) >= 0 ||
            fsprobe_ext4_read_file(raw, offset, "usr/lib/os-release", STAMP_MAX, &osr, &size) >= 0)
                x->os_release = parse_os_release(osr);
        return 1;
}

/* The stamp and os-release of the first ext* partition that has a stamp (the root's first). */
static void read_identity(ImageInspection *x, const char *raw) {
        if (!x->layout) {
                if (x->filesystems[0].type && startswith(x->filesystems[0].type, "ext"))
                        (void) read_stamp_at(x, raw, 0, 0);
                return;
        }
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < x->layout->n_partitions; i++) {
                        const Partition *p = x->layout->partitions + i;
                        const char *fs = x->filesystems[i].type;
                        bool root = streq_ptr(partition_type_to_string(p->type), "root");
                        if (!fs || !startswith(fs, "ext") || (pass == 0) != root)
                                continue;
                        if (read_stamp_at(x, raw, (unsigned) i + 1, p->offset) > 0)
                                return;
                }
}

ImageInspection *image_inspection_free(ImageInspection *x) {
        if (!x)
                return NULL;
        free(x->path);
        disk_layout_free(x->layout);
        free(x->filesystems);
        if (x->stamp)
                json_decref(x->stamp->document);
        free(x->stamp);
        if (x->os_release)
                for (size_t i = 0; i < 5; i++)
                        free(*os_release_field(x->os_release, i));
        free(x->os_release);
        free(x);
        return NULL;
}

/* The partition table and each partition's filesystem, or the one bare filesystem. */
static int read_layout(ImageInspection *x, int dfd) {
        int r = disk_layout_read(dfd, &x->layout);
        if (r < 0 && r != -ENOMEDIUM)
                return log_error_errno(r, "'%s': cannot read the partition table", x->path);
        if (x->layout) {
                x->n_filesystems = x->layout->n_partitions;
                x->filesystems = xcalloc(MAX(x->n_filesystems, 1u), sizeof(FsInfo));
                for (size_t i = 0; i < x->n_filesystems; i++) {
                        const Partition *p = x->layout->partitions + i;
                        r = fsprobe(dfd, p->offset, p->size, x->filesystems + i);
                        if (r < 0)
                                return log_error_errno(r, "cannot read '%s': %m", x->path);
                }
                return 0;
        }
        /* A bare filesystem image is fine too; anything else is not an image. */
        x->n_filesystems = 1;
        x->filesystems = xcalloc(1, sizeof(FsInfo));
        r = fsprobe(dfd, 0, x->file_size, x->filesystems);
        if (r < 0)
                return log_error_errno(r, "cannot read '%s': %m", x->path);
        if (!x->filesystems[0].type)
                return log_error_errno(-EMEDIUMTYPE, "'%s' is not a disk image: no partition table or filesystem found",
                                       x->path);
        return 0;
}

int inspect_image(const char *path, ImageInspection **ret) {
        _cleanup_(image_file_done) ImageFile img = {};
        int r = image_file_open(path, &img);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(img.raw, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", img.raw);
        _cleanup_(image_inspection_freep) ImageInspection *x = xcalloc(1, sizeof *x);
        *x = (ImageInspection) { .path = xstrdup(path), .format = img.format, .file_size = img.size };
        const char *raw = img.raw;
        r = read_layout(x, fd);
        if (r < 0)
                return r;
        uint8_t d[DIGEST_SIZE];
        r = digest_file(raw, d, &x->raw_size);
        if (r < 0)
                return log_error_errno(r, "cannot digest '%s': %m", path);
        digest_to_string(d, x->image_digest);
        read_identity(x, raw);
        *ret = TAKE_PTR(x);
        return 0;
}

static json_t *filesystem_json(const FsInfo *fi, json_t *o) {
        json_object_set_new(o, "fs", fi->type ? json_string(fi->type) : json_null());
        if (fi->type) {
                json_object_set_new(o, "fs_uuid", json_string(fi->uuid));
                json_object_set_new(o, "fs_label", json_string(fi->label));
        }
        return o;
}

static json_t *partition_json(const Partition *p, size_t i, const FsInfo *fi) {
        const char *tname = partition_type_to_string(p->type);
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:b}", "index", (json_int_t) i + 1, "label",
                              p->label, "type", tname ?: p->type_string, "type_id", p->type_string, "offset",
                              (json_int_t) p->offset, "size", (json_int_t) p->size, "partuuid", p->uuid_string,
                              "legacy_bios_bootable", p->legacy_bios_bootable, "grow_file_system", p->grow_file_system);
        return filesystem_json(fi, o);
}

static json_t *os_release_json(const InspectOsRelease *o) {
        static const char *const keys[] = { "ID", "VERSION_ID", "PRETTY_NAME", "IMAGE_ID", "IMAGE_VERSION" };
        json_t *j = json_object();
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *v = *os_release_field((InspectOsRelease *) o, i);
                if (v)
                        json_object_set_new(j, keys[i], json_string(v));
        }
        return j;
}

json_t *image_inspection_to_json(const ImageInspection *x) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "kind", "image", "path", x->path, "format", x->format, "size",
                                (json_int_t) x->file_size);
        const DiskLayout *l = x->layout;
        if (l) {
                json_t *partitions = json_array();
                for (size_t i = 0; i < l->n_partitions; i++)
                        json_array_append_new(partitions, partition_json(l->partitions + i, i, x->filesystems + i));
                json_t *table = json_pack("{s:s, s:I, s:o}", "type", partition_table_type_to_string(l->table), "size",
                                          (json_int_t) l->disk_size, "partitions", partitions);
                if (l->table == PARTITION_TABLE_GPT)
                        json_object_set_new(table, "disk_guid", json_string(l->disk_guid_string));
                else
                        json_object_set_new(table, "mbr_signature", json_sprintf("%08x", l->mbr_signature));
                json_object_set_new(doc, "table", table);
        } else {
                json_object_set_new(doc, "table", json_null());
                json_object_set_new(doc, "filesystem",
                                    filesystem_json(x->filesystems, json_pack("{s:I, s:s, s:I, s:I}", "index", (json_int_t) 0,
                                                                              "type", "root", "offset", (json_int_t) 0,
                                                                              "size", (json_int_t) x->file_size)));
        }
        json_object_set_new(doc, "image_digest", json_string(x->image_digest));
        json_object_set_new(doc, "raw_size", json_integer((json_int_t) x->raw_size));
        if (x->stamp)
                json_object_set_new(doc, "stamp_partition", json_integer(x->stamp->partition));
        json_object_set_new(doc, "stamp", x->stamp ? json_incref(x->stamp->document) : json_null());
        json_object_set_new(doc, "os_release", x->os_release ? os_release_json(x->os_release) : json_null());
        return doc;
}

int inspect_manifest(const char *path, BakeManifest **ret) {
        return manifest_load(path, ret);
}

json_t *inspect_manifest_to_json(const char *path, const BakeManifest *m) {
        return json_pack("{s:s, s:s, s:o}", "kind", "manifest", "path", path, "manifest", manifest_to_json(m, true));
}

static const char *dash(const char *s) {
        return s ? s : "-";
}

void inspect_print_manifest(const char *path, const BakeManifest *m, FILE *f) {
        fprintf(f, "manifest:     %s\nname:         %s\nversion:      %s\nbake key:     %s\nimage digest: %s\n", path,
                dash(m->name), dash(m->version), dash(m->bake_key), dash(m->image_digest));
        if (m->has_image_size)
                fprintf(f, "image size:   %" PRIu64 "\n", m->image_size);
        if (m->created)
                fprintf(f, "created:      %s\n", m->created);
        if (m->baker_version)
                fprintf(f, "baker:        %s\n", m->baker_version);
        fprintf(f, "outputs:\n");
        for (size_t i = 0; i < m->n_outputs; i++) {
                const ManifestOutput *o = m->outputs + i;
                fprintf(f, "  %s (%s%s%s) %" PRIu64 " bytes %s\n", dash(o->file), dash(o->format), o->compress ? ", " : "",
                        o->compress ?: "", o->size, dash(o->sha256));
        }
        if (m->layout) {
                const ManifestLayout *l = m->layout;
                fprintf(f, "layout:       %s, %" PRIu64 " bytes, disk guid %s\n", dash(l->table), l->size, dash(l->disk_guid));
                for (size_t i = 0; i < l->n_partitions; i++) {
                        const ManifestPartition *p = l->partitions + i;
                        fprintf(f, "  %-3" PRIu64 " %-10s %-10s offset %-12" PRIu64 " size %-12" PRIu64 " partuuid %s %s %s %s\n",
                                p->index, dash(p->label), dash(p->type), p->offset, p->size, dash(p->partuuid), dash(p->fs),
                                dash(p->fs_uuid), dash(p->mount));
                }
        }
        if (m->packages) {
                fprintf(f, "packages:     %" PRIu64 " installed, SBOM %s\n", m->packages->count, dash(m->packages->sbom));
                for (size_t i = 0; i < m->packages->n_changes; i++) {
                        const ManifestPackageChange *c = m->packages->changes + i;
                        if (c->old_version && c->new_version)
                                fprintf(f, "  %s %s -> %s\n", c->name, c->old_version, c->new_version);
                        else
                                fprintf(f, "  %c %s %s\n", c->old_version ? '-' : '+', c->name,
                                        c->old_version ? c->old_version : dash(c->new_version));
                }
        }
        if (m->n_steps > 0) {
                fprintf(f, "steps:\n");
                for (size_t i = 0; i < m->n_steps; i++)
                        fprintf(f, "  %-3" PRIu64 " %-24s %s%s\n", m->steps[i].index, dash(m->steps[i].name),
                                dash(m->steps[i].key), m->steps[i].cached ? " (cached)" : "");
        }
}

static void print_stamp(const ImageInspection *x, FILE *f) {
        const InspectStamp *st = x->stamp;
        if (!st) {
                fprintf(f, "stamp:        none found\n");
        } else {
                fprintf(f, "stamp:        partition %u, /%s\n", st->partition, STAMP_PATH);
                fprintf(f, "  name:       %s\n  version:    %s\n  bake key:   %s\n  baker:      %s\n", dash(st->name),
                        dash(st->version), dash(st->bake_key), dash(st->baker_version));
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(st->document, "inputs"), k, v)
                        fprintf(f, "  input:      %s %s\n", k, json_string_value(v) ?: "-");
        }
        const InspectOsRelease *osr = x->os_release;
        if (osr)
                fprintf(f, "os-release:   IMAGE_ID=%s IMAGE_VERSION=%s (%s)\n", dash(osr->image_id),
                        dash(osr->image_version), dash(osr->pretty_name));
}

static void print_filesystem(const FsInfo *fi, FILE *f) {
        if (fi->type)
                fprintf(f, " %s %s%s%s%s", fi->type, fi->uuid, *fi->label ? " '" : "", fi->label, *fi->label ? "'" : "");
        else
                fprintf(f, " (no known filesystem)");
}

void image_inspection_print(const ImageInspection *x, FILE *f) {
        fprintf(f, "image:        %s (%s, %" PRIu64 " bytes)\n", x->path, x->format, x->file_size);
        fprintf(f, "image digest: %s (raw, %" PRIu64 " bytes)\n", x->image_digest, x->raw_size);
        const DiskLayout *l = x->layout;
        if (l) {
                bool gpt = l->table == PARTITION_TABLE_GPT;
                char sig[9];
                snprintf(sig, sizeof sig, "%08x", l->mbr_signature);
                fprintf(f, "table:        %s, %s %s\npartitions:\n", partition_table_type_to_string(l->table),
                        gpt ? "disk guid" : "signature", gpt ? l->disk_guid_string : sig);
                for (size_t i = 0; i < l->n_partitions; i++) {
                        const Partition *p = l->partitions + i;
                        const char *tname = partition_type_to_string(p->type);
                        fprintf(f, "  %-3zu %-10s %-10s offset %-12" PRIu64 " size %-12" PRIu64 " partuuid %s", i + 1,
                                *p->label ? p->label : "-", tname ?: p->type_string, p->offset, p->size, p->uuid_string);
                        print_filesystem(x->filesystems + i, f);
                        fprintf(f, "%s%s\n", p->legacy_bios_bootable ? " legacy-bios-bootable" : "",
                                p->grow_file_system ? " grow-file-system" : "");
                }
        } else {
                fprintf(f, "table:        none (a bare filesystem)\n");
                fprintf(f, "  %-3d %-10s %-10s offset %-12d size %-12" PRIu64, 0, "-", "root", 0, x->file_size);
                print_filesystem(x->filesystems, f);
                fprintf(f, "\n");
        }
        print_stamp(x, f);
}
