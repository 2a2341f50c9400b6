#include "inspect.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "digest.h"
#include "fsprobe.h"
#include "log.h"
#include "manifest.h"
#include "partition.h"
#include "process.h"
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

static bool is_qcow2(int fd) {
        uint8_t magic[4];
        return pread(fd, magic, 4, 0) == 4 && memcmp(magic, "QFI\xfb", 4) == 0;
}

/* The canonical raw bytes of a qcow2: a sparse temporary raw beside the system's temp files. */
static int qcow2_to_raw(const char *path, char **ret_tmp) {
        const char *tmpdir = tmp_dir();
        _cleanup_free_ char *tmp = tmp_template("baker-inspect");
        int fd = mkstemp(tmp);
        if (fd < 0)
                return log_error_errno(-errno, "cannot create a temporary file in '%s': %m", tmpdir);
        close(fd);
        _cleanup_unlink_ char *owned = TAKE_PTR(tmp);
        char *argv[] = { (char *) "qemu-img", (char *) "convert", (char *) "-f", (char *) "qcow2", (char *) "-O",
                         (char *) "raw", (char *) path, owned, NULL };
        int r = process_run_checked(argv, NULL, "convert the qcow2 image to raw", "qemu-utils");
        if (r < 0)
                return r;
        *ret_tmp = TAKE_PTR(owned);
        return 0;
}

static json_t *parse_os_release(const char *text) {
        static const char *const keys[] = { "ID", "VERSION_ID", "PRETTY_NAME", "IMAGE_ID", "IMAGE_VERSION" };
        json_t *o = json_object();
        for (const char *line = text; line && *line;) {
                const char *eol = strchrnul(line, '\n');
                for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                        size_t kl = strlen(keys[i]);
                        if ((size_t) (eol - line) > kl && strncmp(line, keys[i], kl) == 0 && line[kl] == '=') {
                                /* shell-style value: drop quotes, undo backslash escapes */
                                const char *v = line + kl + 1;
                                char quote = *v == '"' || *v == '\'' ? *v++ : 0;
                                _cleanup_free_ char *val = xmalloc((size_t) (eol - v) + 1);
                                char *p = val;
                                for (; v < eol && *v != quote; v++) {
                                        if (*v == '\\' && quote != '\'' && v + 1 < eol)
                                                v++;
                                        *p++ = *v;
                                }
                                *p = 0;
                                json_object_set_new(o, keys[i], json_string(val));
                        }
                }
                line = *eol ? eol + 1 : eol;
        }
        return o;
}

/* The stamp and os-release of the first ext* partition that has a stamp (the root's first). */
static void read_identity(const char *raw, json_t *partitions, json_t *doc) {
        json_t *stamp = NULL, *os_release = NULL;
        for (int pass = 0; pass < 2 && !stamp; pass++) {
                size_t i;
                json_t *p;
                json_array_foreach(partitions, i, p) {
                        const char *fs = json_string_value(json_object_get(p, "fs"));
                        const char *type = json_string_value(json_object_get(p, "type"));
                        if (!fs || !startswith(fs, "ext") || (pass == 0) != streq_ptr(type, "root"))
                                continue;
                        uint64_t offset = (uint64_t) json_integer_value(json_object_get(p, "offset"));
                        _cleanup_free_ char *data = NULL;
                        size_t size;
                        int r = fsprobe_ext4_read_file(raw, offset, STAMP_PATH, STAMP_MAX, &data, &size);
                        if (r == -ENOENT)
                                continue;
                        if (r < 0) {
                                log_warning("partition %" JSON_INTEGER_FORMAT ": cannot read '/%s': %s",
                                            json_integer_value(json_object_get(p, "index")), STAMP_PATH, strerror(-r));
                                continue;
                        }
                        json_error_t e;
                        stamp = json_loadb(data, size, 0, &e);
                        if (!stamp) {
                                log_warning("'/%s' is not json: %s", STAMP_PATH, e.text);
                                stamp = json_pack("{s:s%}", "unparsed", data, size);
                        }
                        _cleanup_free_ char *osr = NULL;
                        if (fsprobe_ext4_read_file(raw, offset, "etc/os-release", STAMP_MAX, &osr, &size) >= 0 ||
                            fsprobe_ext4_read_file(raw, offset, "usr/lib/os-release", STAMP_MAX, &osr, &size) >= 0)
                                os_release = parse_os_release(osr);
                        json_object_set_new(doc, "stamp_partition", json_incref(json_object_get(p, "index")));
                        break;
                }
        }
        json_object_set_new(doc, "stamp", stamp ?: json_null());
        json_object_set_new(doc, "os_release", os_release ?: json_null());
}

static json_t *fs_json(const FsInfo *fi, json_t *o) {
        json_object_set_new(o, "fs", fi->type ? json_string(fi->type) : json_null());
        if (fi->type) {
                json_object_set_new(o, "fs_uuid", json_string(fi->uuid));
                json_object_set_new(o, "fs_label", json_string(fi->label));
        }
        return o;
}

int inspect_image(const char *path, json_t **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "cannot stat '%s': %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EMEDIUMTYPE, "'%s' is not a regular file", path);

        const char *format = "raw", *raw = path;
        _cleanup_unlink_ char *tmp = NULL;
        _cleanup_close_ int rawfd = -1;
        if (is_qcow2(fd)) {
                format = "qcow2";
                int r = qcow2_to_raw(path, &tmp);
                if (r < 0)
                        return r;
                raw = tmp;
                rawfd = open(raw, O_RDONLY | O_CLOEXEC);
                if (rawfd < 0)
                        return log_error_errno(-errno, "cannot open '%s': %m", raw);
        }
        int dfd = rawfd >= 0 ? rawfd : fd;

        _cleanup_(disk_layout_freep) DiskLayout *l = NULL;
        int r = disk_layout_read(dfd, &l);
        if (r < 0 && r != -ENOMEDIUM)
                return log_error_errno(r, "'%s': cannot read the partition table", path);
        json_t *partitions = json_array();
        _cleanup_(json_decrefp) json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "kind", "image", "path", path, "format",
                                                       format, "size", (json_int_t) st.st_size);
        if (l) {
                json_t *table = json_pack("{s:s, s:I, s:o}", "type", partition_table_type_to_string(l->table), "size",
                                          (json_int_t) l->disk_size, "partitions", partitions);
                if (l->table == PARTITION_TABLE_GPT)
                        json_object_set_new(table, "disk_guid", json_string(l->disk_guid_string));
                else
                        json_object_set_new(table, "mbr_signature", json_sprintf("%08x", l->mbr_signature));
                json_object_set_new(doc, "table", table);
                for (size_t i = 0; i < l->n_partitions; i++) {
                        const Partition *p = l->partitions + i;
                        const char *tname = partition_type_to_string(p->type);
                        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:b}", "index", (json_int_t) i + 1,
                                              "label", p->label, "type", tname ?: p->type_string, "type_id",
                                              p->type_string, "offset", (json_int_t) p->offset, "size",
                                              (json_int_t) p->size, "partuuid", p->uuid_string, "legacy_bios_bootable",
                                              p->legacy_bios_bootable);
                        FsInfo fi;
                        r = fsprobe(dfd, p->offset, p->size, &fi);
                        if (r < 0)
                                return log_error_errno(r, "cannot read '%s': %m", path);
                        json_array_append_new(partitions, fs_json(&fi, o));
                }
        } else {
                /* A bare filesystem image is fine too; anything else is not an image. */
                FsInfo fi;
                r = fsprobe(dfd, 0, (uint64_t) st.st_size, &fi);
                if (r < 0 || !fi.type)
                        json_decref(partitions);
                if (r < 0)
                        return log_error_errno(r, "cannot read '%s': %m", path);
                if (!fi.type) {
                        return log_error_errno(-EMEDIUMTYPE, "'%s' is not a disk image: no partition table or filesystem found",
                                               path);
                }
                json_object_set_new(doc, "table", json_null());
                json_array_append_new(partitions,
                                      fs_json(&fi, json_pack("{s:I, s:s, s:I, s:I}", "index", (json_int_t) 0, "type",
                                                             "root", "offset", (json_int_t) 0, "size", (json_int_t) st.st_size)));
                json_object_set_new(doc, "filesystem", json_incref(json_array_get(partitions, 0)));
        }

        uint8_t d[DIGEST_SIZE];
        char ds[DIGEST_STRING_MAX];
        uint64_t raw_size;
        r = digest_file(raw, d, &raw_size);
        if (r < 0)
                return log_error_errno(r, "cannot digest '%s': %m", path);
        digest_to_string(d, ds);
        json_object_set_new(doc, "image_digest", json_string(ds));
        json_object_set_new(doc, "raw_size", json_integer((json_int_t) raw_size));

        read_identity(raw, partitions, doc);
        if (!l)
                json_decref(partitions);
        *ret = TAKE_PTR(doc);
        return 0;
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

static const char *str(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ? s : "-";
}

static void print_stamp(json_t *doc, FILE *f) {
        json_t *stamp = json_object_get(doc, "stamp");
        if (!json_is_object(stamp)) {
                fprintf(f, "stamp:        none found\n");
        } else {
                fprintf(f, "stamp:        partition %" JSON_INTEGER_FORMAT ", /%s\n",
                        json_integer_value(json_object_get(doc, "stamp_partition")), STAMP_PATH);
                fprintf(f, "  name:       %s\n  version:    %s\n  bake key:   %s\n  baker:      %s\n", str(stamp, "name"),
                        str(stamp, "version"), str(stamp, "bake_key"), str(stamp, "baker_version"));
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(stamp, "inputs"), k, v)
                        fprintf(f, "  input:      %s %s\n", k, json_string_value(v) ?: "-");
        }
        json_t *osr = json_object_get(doc, "os_release");
        if (json_is_object(osr))
                fprintf(f, "os-release:   IMAGE_ID=%s IMAGE_VERSION=%s (%s)\n", str(osr, "IMAGE_ID"),
                        str(osr, "IMAGE_VERSION"), str(osr, "PRETTY_NAME"));
}

static void print_partition(json_t *p, FILE *f) {
        fprintf(f, "  %-3" JSON_INTEGER_FORMAT " %-10s %-10s offset %-12" JSON_INTEGER_FORMAT " size %-12" JSON_INTEGER_FORMAT,
                json_integer_value(json_object_get(p, "index")), str(p, "label"), str(p, "type"),
                json_integer_value(json_object_get(p, "offset")), json_integer_value(json_object_get(p, "size")));
        if (json_object_get(p, "partuuid"))
                fprintf(f, " partuuid %s", str(p, "partuuid"));
        if (json_is_string(json_object_get(p, "fs")))
                fprintf(f, " %s %s%s%s%s", str(p, "fs"), str(p, "fs_uuid"), *str(p, "fs_label") ? " '" : "",
                        *str(p, "fs_label") ? str(p, "fs_label") : "", *str(p, "fs_label") ? "'" : "");
        else if (json_object_get(p, "fs"))
                fprintf(f, " (no known filesystem)");
        fprintf(f, "\n");
}

void inspect_print(json_t *doc, FILE *f) {
        size_t i;
        json_t *p;
        fprintf(f, "image:        %s (%s, %" JSON_INTEGER_FORMAT " bytes)\n", str(doc, "path"), str(doc, "format"),
                json_integer_value(json_object_get(doc, "size")));
        fprintf(f, "image digest: %s (raw, %" JSON_INTEGER_FORMAT " bytes)\n", str(doc, "image_digest"),
                json_integer_value(json_object_get(doc, "raw_size")));
        json_t *table = json_object_get(doc, "table");
        if (json_is_object(table)) {
                fprintf(f, "table:        %s, %s %s\npartitions:\n", str(table, "type"),
                        json_object_get(table, "disk_guid") ? "disk guid" : "signature",
                        json_object_get(table, "disk_guid") ? str(table, "disk_guid") : str(table, "mbr_signature"));
                json_array_foreach(json_object_get(table, "partitions"), i, p)
                        print_partition(p, f);
        } else {
                fprintf(f, "table:        none (a bare filesystem)\n");
                print_partition(json_object_get(doc, "filesystem"), f);
        }
        print_stamp(doc, f);
}
