/* Image diff: cheap byte comparison first (region by region, holes skipped), structure only where
 * bytes differ. This is the driver: findings, the partition table, the regions, the output. */
#include "imagediff.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "imagediff-internal.h"
#include "log.h"

static const char *const kind_names[_IMAGE_DIFF_KIND_MAX] = {
        [IMAGE_DIFF_TABLE] = "table",     [IMAGE_DIFF_SUPERBLOCK] = "superblock", [IMAGE_DIFF_ONLY_A] = "only-in-a",
        [IMAGE_DIFF_ONLY_B] = "only-in-b", [IMAGE_DIFF_FILE] = "file",            [IMAGE_DIFF_BYTES] = "bytes",
};

const char *image_diff_kind_to_string(ImageDiffKind k) {
        return k < _IMAGE_DIFF_KIND_MAX ? kind_names[k] : NULL;
}

ImageDiff *image_diff_free(ImageDiff *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_entries; i++) {
                ImageDiffEntry *e = d->entries + i;
                free(e->where), free(e->path), free(e->field), free(e->a), free(e->b);
        }
        free(d->entries);
        free(d->a_path), free(d->b_path);
        free(d);
        return NULL;
}


ImageDiffEntry *diff_add_entry(Ctx *c, ImageDiffKind kind, unsigned partition, const char *where) {
        ImageDiff *d = c->d;
        d->entries = xrealloc(d->entries, (d->n_entries + 1) * sizeof *d->entries);
        ImageDiffEntry *e = d->entries + d->n_entries++;
        *e = (ImageDiffEntry) { .kind = kind, .partition = partition, .where = xstrdup(where) };
        return e;
}

void diff_add_field(Ctx *c, ImageDiffKind kind, unsigned partition, const char *where, const char *fs,
                    const char *field, const char *a, const char *b) {
        ImageDiffEntry *e = diff_add_entry(c, kind, partition, where);
        e->fs = fs;
        e->field = xstrdup(field);
        e->a = a ? xstrdup(a) : NULL;
        e->b = b ? xstrdup(b) : NULL;
}

/* Path findings are capped by distinct path: the first finding of a path decides whether it is
 * listed; the caller passes paths in order, so one comparison is enough. */
void diff_add_path(Ctx *c, ImageDiffKind kind, unsigned partition, const char *where, const char *path,
                   const char *field, const char *a, const char *b) {
        if (!c->last_path || !streq(c->last_path, path)) {
                c->last_path = path;
                c->last_path_listed = c->d->n_paths < IMAGE_DIFF_MAX_PATHS;
                if (c->last_path_listed)
                        c->d->n_paths++;
                else
                        c->d->paths_omitted++;
        }
        if (!c->last_path_listed)
                return;
        ImageDiffEntry *e = diff_add_entry(c, kind, partition, where);
        e->path = xstrdup(path);
        e->field = field ? xstrdup(field) : NULL;
        e->a = a ? xstrdup(a) : NULL;
        e->b = b ? xstrdup(b) : NULL;
}

static size_t entries_for(const Ctx *c, unsigned partition) {
        size_t n = 0;
        for (size_t i = 0; i < c->d->n_entries; i++)
                if (c->d->entries[i].partition == partition)
                        n++;
        return n;
}

/* ---- partition table ---- */

static char *partition_where(const DiskLayout *l, size_t i) {
        const char *label = l && i < l->n_partitions ? l->partitions[i].label : "";
        return label && *label ? xasprintf("partition %zu (%s)", i + 1, label) : xasprintf("partition %zu", i + 1);
}

static void cmp_u64(Ctx *c, unsigned part, const char *where, const char *field, uint64_t a, uint64_t b) {
        if (a == b)
                return;
        char sa[32], sb[32];
        snprintf(sa, sizeof sa, "%" PRIu64, a);
        snprintf(sb, sizeof sb, "%" PRIu64, b);
        diff_add_field(c, IMAGE_DIFF_TABLE, part, where, NULL, field, sa, sb);
}

void diff_cmp_str(Ctx *c, ImageDiffKind kind, unsigned part, const char *where, const char *fs, const char *field,
                  const char *a, const char *b) {
        if (!streq(a, b))
                diff_add_field(c, kind, part, where, fs, field, a, b);
}

static void diff_table(Ctx *c) {
        const DiskLayout *a = c->a.layout, *b = c->b.layout;
        cmp_u64(c, 0, "disk", "disk_size", c->a.size, c->b.size);
        if (!a || !b) {
                if (a || b)
                        diff_add_field(c, IMAGE_DIFF_TABLE, 0, "partition table", NULL, "table",
                                  a ? partition_table_type_to_string(a->table) : "none",
                                  b ? partition_table_type_to_string(b->table) : "none");
                return;
        }
        if (a->table != b->table) {
                diff_add_field(c, IMAGE_DIFF_TABLE, 0, "partition table", NULL, "table", partition_table_type_to_string(a->table),
                          partition_table_type_to_string(b->table));
                return;
        }
        if (a->table == PARTITION_TABLE_GPT)
                diff_cmp_str(c, IMAGE_DIFF_TABLE, 0, "partition table", NULL, "disk_guid", a->disk_guid_string,
                        b->disk_guid_string);
        else if (a->mbr_signature != b->mbr_signature) {
                char sa[16], sb[16];
                snprintf(sa, sizeof sa, "%08x", a->mbr_signature);
                snprintf(sb, sizeof sb, "%08x", b->mbr_signature);
                diff_add_field(c, IMAGE_DIFF_TABLE, 0, "partition table", NULL, "mbr_signature", sa, sb);
        }
        cmp_u64(c, 0, "partition table", "partitions", a->n_partitions, b->n_partitions);
        for (size_t i = 0; i < MIN(a->n_partitions, b->n_partitions); i++) {
                const Partition *pa = a->partitions + i, *pb = b->partitions + i;
                _cleanup_free_ char *where = partition_where(a, i);
                unsigned n = (unsigned) i + 1;
                diff_cmp_str(c, IMAGE_DIFF_TABLE, n, where, NULL, "type", pa->type_string, pb->type_string);
                if (a->table == PARTITION_TABLE_GPT)
                        diff_cmp_str(c, IMAGE_DIFF_TABLE, n, where, NULL, "partuuid", pa->uuid_string, pb->uuid_string);
                cmp_u64(c, n, where, "offset", pa->offset, pb->offset);
                cmp_u64(c, n, where, "size", pa->size, pb->size);
                diff_cmp_str(c, IMAGE_DIFF_TABLE, n, where, NULL, "name", pa->label, pb->label);
                if (pa->attributes != pb->attributes) {
                        char sa[32], sb[32];
                        snprintf(sa, sizeof sa, "0x%" PRIx64, pa->attributes);
                        snprintf(sb, sizeof sb, "0x%" PRIx64, pb->attributes);
                        diff_add_field(c, IMAGE_DIFF_TABLE, n, where, NULL, "attributes", sa, sb);
                }
        }
}

/* ---- regions ---- */

static const char *disk_region(const DiskLayout *l, uint64_t offset, bool after_last) {
        if (offset < 440)
                return "boot code";
        if (offset < 512)
                return l && l->table == PARTITION_TABLE_GPT ? "protective mbr" : "mbr";
        if (l && l->table == PARTITION_TABLE_GPT && offset < 1024)
                return "gpt header";
        if (l && l->table == PARTITION_TABLE_GPT && offset < 1024 + 128 * 128)
                return "gpt entries";
        if (after_last)
                return l && l->table == PARTITION_TABLE_GPT ? "end of disk (backup gpt)" : "end of disk";
        return "between partitions";
}

static int diff_partition(Ctx *c, size_t i) {
        const Partition *pa = c->a.layout->partitions + i, *pb = c->b.layout->partitions + i;
        unsigned part = (unsigned) i + 1;
        _cleanup_free_ char *where = partition_where(c->a.layout, i);
        RangeResult res;
        int r = range_compare(c, pa->offset, pb->offset, MIN(pa->size, pb->size), true, true, &res);
        if (r < 0 || !res.differ) {
                free(res.bitmap);
                return r;
        }
        size_t before = entries_for(c, part);
        FsInfo ia, ib;
        if (fsprobe(c->a.fd, pa->offset, pa->size, &ia) >= 0 && fsprobe(c->b.fd, pb->offset, pb->size, &ib) >= 0) {
                if (!streq_ptr(ia.type, ib.type))
                        diff_add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, "filesystem", "type", ia.type ?: "(none)",
                                  ib.type ?: "(none)");
                else if (ia.type && startswith(ia.type, "ext"))
                        diff_ext(c, part, where, ia.type, pa->offset, pb->offset, &res);
                else if (ia.type && streq(ia.type, "vfat"))
                        diff_vfat(c, part, where, &ia, &ib, pa->offset, pb->offset);
        }
        if (entries_for(c, part) == before)
                range_add_byte_runs(c, part, where, ia.type ? ia.type : "data", pa->offset, &res);
        free(res.bitmap);
        return 0;
}

/* Bytes of the disk outside a's partitions, compared at the same offsets. */
static int diff_gaps(Ctx *c) {
        const DiskLayout *l = c->a.layout;
        uint64_t size = MAX(c->a.size, c->b.size), pos = 0;
        bool table_explains = false; /* a table that differs differs in its own bytes */
        for (size_t i = 0; i < c->d->n_entries; i++)
                if (c->d->entries[i].kind == IMAGE_DIFF_TABLE)
                        table_explains = true;
        for (size_t i = 0; i <= (l ? l->n_partitions : 0); i++) {
                uint64_t end = l && i < l->n_partitions ? l->partitions[i].offset : size;
                if (end > pos) {
                        RangeResult res;
                        int r = range_compare(c, pos, pos, end - pos, !table_explains, false, &res);
                        if (r < 0)
                                return r;
                        if (res.differ && !table_explains)
                                for (size_t k = 0; k < res.n_runs; k++) {
                                        ImageDiffEntry *e = diff_add_entry(c, IMAGE_DIFF_BYTES, 0, "disk");
                                        e->offset = pos + res.runs[k].offset;
                                        e->length = res.runs[k].length;
                                        e->field = xstrdup(disk_region(l, e->offset, l && i == l->n_partitions));
                                }
                        if (res.differ)
                                c->d->identical = false;
                }
                if (l && i < l->n_partitions)
                        pos = MAX(pos, l->partitions[i].offset + l->partitions[i].size);
        }
        return 0;
}

static int side_open(Side *s, const char *path) {
        s->path = path;
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", path);
        struct stat st;
        if (fstat(s->fd, &st) < 0)
                return log_error_errno(-errno, "cannot stat '%s': %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EINVAL, "'%s' is not a regular file", path);
        s->size = (uint64_t) st.st_size;
        s->ext_end = 0;
        s->buf = xmalloc(CHUNK);
        int r = disk_layout_read(s->fd, &s->layout);
        if (r < 0 && r != -ENOMEDIUM)
                log_warning("'%s': cannot read the partition table, comparing bytes only", path);
        return 0;
}

static void side_close(Side *s) {
        if (s->fd >= 0)
                close(s->fd);
        disk_layout_free(s->layout);
        free(s->buf);
}

int image_diff(const char *a_raw, const char *b_raw, ImageDiff **ret) {
        _cleanup_(image_diff_freep) ImageDiff *d = xcalloc(1, sizeof *d);
        d->a_path = xstrdup(a_raw);
        d->b_path = xstrdup(b_raw);
        Ctx c = { .d = d, .a = { .fd = -1 }, .b = { .fd = -1 } };
        int r = side_open(&c.a, a_raw);
        if (r >= 0)
                r = side_open(&c.b, b_raw);
        if (r < 0)
                goto finish;

        diff_table(&c);
        d->identical = d->n_entries == 0;
        if (c.a.layout && c.b.layout) {
                size_t n = MIN(c.a.layout->n_partitions, c.b.layout->n_partitions);
                for (size_t i = 0; i < n && r >= 0; i++) {
                        size_t before = d->n_entries + d->paths_omitted;
                        r = diff_partition(&c, i);
                        if (d->n_entries + d->paths_omitted != before)
                                d->identical = false;
                }
                if (r >= 0)
                        r = diff_gaps(&c);
        } else if (!c.a.layout && !c.b.layout) {
                /* No tables: maybe bare filesystems, compared as one region. */
                RangeResult res;
                r = range_compare(&c, 0, 0, MAX(c.a.size, c.b.size), true, true, &res);
                if (r >= 0 && res.differ) {
                        d->identical = false;
                        FsInfo ia = {}, ib = {};
                        (void) fsprobe(c.a.fd, 0, c.a.size, &ia);
                        (void) fsprobe(c.b.fd, 0, c.b.size, &ib);
                        size_t before = d->n_entries;
                        if (ia.type && ib.type && streq(ia.type, ib.type) && startswith(ia.type, "ext"))
                                diff_ext(&c, 0, "filesystem", ia.type, 0, 0, &res);
                        if (d->n_entries == before || (d->n_entries == 1 && streq(d->entries[0].field, "disk_size")))
                                range_add_byte_runs(&c, 0, "disk", "data", 0, &res);
                }
                free(res.bitmap);
        }
finish:
        side_close(&c.a);
        side_close(&c.b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

void image_diff_print(const ImageDiff *d, FILE *f) {
        if (d->identical) {
                fprintf(f, "images are identical\n");
                return;
        }
        for (size_t i = 0; i < d->n_entries; i++) {
                const ImageDiffEntry *e = d->entries + i;
                switch (e->kind) {
                case IMAGE_DIFF_TABLE:
                        fprintf(f, "%s: %s %s != %s\n", e->where, e->field, e->a, e->b);
                        break;
                case IMAGE_DIFF_SUPERBLOCK:
                        fprintf(f, "%s: %s superblock: %s %s != %s\n", e->where, e->fs, e->field, e->a, e->b);
                        break;
                case IMAGE_DIFF_ONLY_A:
                        fprintf(f, "%s: %s: only in '%s'\n", e->where, e->path, d->a_path);
                        break;
                case IMAGE_DIFF_ONLY_B:
                        fprintf(f, "%s: %s: only in '%s'\n", e->where, e->path, d->b_path);
                        break;
                case IMAGE_DIFF_FILE:
                        if (streq(e->field, "content"))
                                fprintf(f, "%s: %s: content differs (%s vs %s)\n", e->where, e->path, e->a, e->b);
                        else
                                fprintf(f, "%s: %s: %s %s != %s\n", e->where, e->path, e->field, e->a, e->b);
                        break;
                case IMAGE_DIFF_BYTES:
                        fprintf(f, "%s: bytes differ in %s at offset %" PRIu64 " (0x%" PRIx64 "), %" PRIu64 " bytes\n",
                                e->where, e->field, e->offset, e->offset, e->length);
                        break;
                default:
                        break;
                }
        }
        if (d->paths_omitted > 0)
                fprintf(f, "… and %zu more paths differ\n", d->paths_omitted);
        if (d->n_entries == 0 && d->paths_omitted == 0)
                fprintf(f, "images differ\n");
}

json_t *image_diff_to_json(const ImageDiff *d) {
        json_t *list = json_array();
        for (size_t i = 0; i < d->n_entries; i++) {
                const ImageDiffEntry *e = d->entries + i;
                json_t *o = json_pack("{s:s, s:I, s:s}", "kind", image_diff_kind_to_string(e->kind), "partition",
                                      (json_int_t) e->partition, "where", e->where);
                if (e->fs)
                        json_object_set_new(o, "fs", json_string(e->fs));
                if (e->path)
                        json_object_set_new(o, "path", json_string(e->path));
                if (e->field)
                        json_object_set_new(o, e->kind == IMAGE_DIFF_BYTES ? "region" : "field", json_string(e->field));
                if (e->a)
                        json_object_set_new(o, "a", json_string(e->a));
                if (e->b)
                        json_object_set_new(o, "b", json_string(e->b));
                if (e->kind == IMAGE_DIFF_BYTES) {
                        json_object_set_new(o, "offset", json_integer((json_int_t) e->offset));
                        json_object_set_new(o, "length", json_integer((json_int_t) e->length));
                }
                json_array_append_new(list, o);
        }
        return json_pack("{s:b, s:s, s:s, s:o, s:I}", "identical", d->identical, "a", d->a_path, "b", d->b_path,
                         "differences", list, "paths_omitted", (json_int_t) d->paths_omitted);
}

const ImageDiffEntry *image_diff_find(const ImageDiff *d, ImageDiffKind kind, const char *path, const char *field) {
        for (size_t i = 0; i < d->n_entries; i++) {
                const ImageDiffEntry *e = d->entries + i;
                if (e->kind == kind && (!path || streq_ptr(e->path, path)) && (!field || streq_ptr(e->field, field)))
                        return e;
        }
        return NULL;
}
