/* The template's fixed sections: variables, disk, outputs, test, publish and channels (inputs and
 * steps are read through their kinds, in template.c). Each reads its node and records every
 * problem it finds; none does file I/O. */
#include "sections.h"

#include <ctype.h>
#include <regex.h>

#include "regex-bounded.h"
#include "strv.h"
#include "units.h"

void template_parse_variables(Template *t, const Node *m) {
        if (!node_expect(t, m, NODE_MAPPING, "'variables'"))
                return;
        t->variables = xcalloc(m->n, sizeof(TemplateVariable));
        for (size_t i = 0; i < m->n; i++) {
                const Node *k = m->keys[i], *v = m->items[i];
                TemplateVariable *var = &t->variables[t->n_variables++];
                var->name = xstrdup(k->value);
                var->pos = k->pos;
                if (!template_valid_identifier(k->value))
                        template_add_error(t, k->pos,
                                           "invalid variable name '%s' (letters, digits and '_', not starting with a digit)",
                                           k->value);
                if (v->type == NODE_SCALAR && v->null)
                        continue; /* "name:" alone declares an optional variable without default */
                char context[200];
                snprintf(context, sizeof context, "variable '%s'", k->value);
                if (!node_expect(t, v, NODE_MAPPING, context))
                        continue;
                node_check_keys(t, v, KEYS("default", "required", "sensitive", "description"), context);
                const Node *d = node_get(v, "default");
                if (d && node_expect(t, d, NODE_SCALAR, "'default'")) {
                        var->default_value = xstrdup(d->value);
                        var->default_pos = d->pos;
                }
                node_bool(t, v, "required", &var->required, NULL);
                node_bool(t, v, "sensitive", &var->sensitive, NULL);
                node_string(t, v, "description", &var->description, NULL);
                if (var->required && var->default_value)
                        template_add_error(t, d->pos, "variable '%s' is required and cannot have a default",
                                           var->name);
        }
}

static bool valid_uuid(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!isxdigit((unsigned char) s[i]))
                        return false;
        }
        return true;
}

/* What the partitions add up to, for the check that they fit the disk. */
typedef struct DiskSum {
        uint64_t total;
        bool sizes_ok, has_rest, has_root;
} DiskSum;

static void parse_partition_size(Template *t, const Node *pn, TemplatePartition *p, bool last, DiskSum *sum,
                                 const char *context) {
        const Node *sz = node_require(t, pn, "size", context);
        if (!sz) {
                sum->sizes_ok = false;
                return;
        }
        p->size_pos = sz->pos;
        if (sz->type == NODE_SCALAR && streq(sz->value, "rest")) {
                p->size_rest = true;
                if (!last)
                        template_add_error(t, sz->pos, "'rest' is only allowed on the last partition");
                sum->has_rest = true;
        } else if (node_size(t, sz, "partition size", &p->size)) {
                if (sum->total > UINT64_MAX - p->size)
                        sum->sizes_ok = false;
                else
                        sum->total += p->size;
        } else
                sum->sizes_ok = false;
}

static void parse_partition_mount(Template *t, const Node *pn, const TemplateDisk *d, size_t i, TemplatePartition *p,
                                  DiskSum *sum) {
        if (!node_string(t, pn, "mount", &p->mount, &p->mount_pos))
                return;
        if (p->mount[0] != '/')
                template_add_error(t, p->mount_pos, "mount point '%s' must be an absolute path", p->mount);
        else if (p->fs == FS_NONE || p->fs == FS_SWAP)
                template_add_error(t, p->mount_pos, "a partition with fs '%s' cannot be mounted",
                                   fs_type_to_string(p->fs));
        for (size_t j = 0; j < i; j++)
                if (streq_ptr(d->partitions[j].mount, p->mount))
                        template_add_error(t, p->mount_pos, "duplicate mount point '%s' (also partition %zu)", p->mount,
                                           j + 1);
        if (streq(p->mount, "/"))
                sum->has_root = true;
}

/* Whether the filesystem grows into a larger disk at boot (systemd-growfs, after cloud-init's
 * growpart or systemd-repart grew the partition): on by default for a GPT root partition with a
 * filesystem that grows while mounted. */
static void parse_partition_grow(Template *t, const TemplateDisk *d, const Node *pn, TemplatePartition *p) {
        bool growable = p->fs == FS_EXT4 || p->fs == FS_XFS;
        SourcePos pos;
        if (!node_bool(t, pn, "grow", &p->grow, &pos)) {
                p->grow = d->table == PARTITION_TABLE_GPT && p->type == PARTITION_ROOT && growable && p->mount;
                return;
        }
        if (!p->grow)
                return;
        if (d->table != PARTITION_TABLE_GPT)
                template_add_error(t, pos, "'grow' needs a 'gpt' partition table (it is a GPT partition attribute)");
        else if (!growable || !p->mount)
                template_add_error(t, pos, "'grow' needs a mounted ext4 or xfs filesystem (systemd-growfs grows those)");
}

static void parse_partition(Template *t, TemplateDisk *d, const Node *parts, size_t i, DiskSum *sum) {
        const Node *pn = parts->items[i];
        TemplatePartition *p = &d->partitions[d->n_partitions++];
        p->pos = pn->pos;
        p->type = _PARTITION_TYPE_INVALID;
        p->fs = _FS_TYPE_INVALID;
        char context[64];
        snprintf(context, sizeof context, "partition %zu", i + 1);
        if (!node_expect(t, pn, NODE_MAPPING, context)) {
                sum->sizes_ok = false;
                return;
        }
        node_check_keys(t, pn, KEYS("label", "type", "size", "fs", "mount", "uuid", "grow"), context);
        if (node_require(t, pn, "label", context) && node_string(t, pn, "label", &p->label, &p->label_pos)) {
                if (!template_valid_name(p->label, true) || strlen(p->label) > 36)
                        template_add_error(t, p->label_pos,
                                           "invalid partition label '%s' (at most 36 letters, digits, '.', '_', '-')",
                                           p->label);
                for (size_t j = 0; j < i; j++)
                        if (streq_ptr(d->partitions[j].label, p->label))
                                template_add_error(t, p->label_pos, "duplicate partition label '%s' (also partition %zu)",
                                                   p->label, j + 1);
        }
        if (node_require(t, pn, "type", context))
                p->type = NODE_ENUM(t, pn, "type", partition_type, _PARTITION_TYPE_MAX, _PARTITION_TYPE_INVALID,
                                    &p->type_pos);
        parse_partition_size(t, pn, p, i + 1 == parts->n, sum, context);
        p->fs = NODE_ENUM(t, pn, "fs", fs_type, _FS_TYPE_MAX, FS_NONE, &p->fs_pos);
        if (!node_get(pn, "fs"))
                p->fs_pos = pn->pos;
        parse_partition_mount(t, pn, d, i, p, sum);
        if (p->type == PARTITION_ESP && (int) p->fs >= 0 && p->fs != FS_VFAT)
                template_add_error(t, p->fs_pos, "an 'esp' partition needs fs 'vfat'");
        if (node_string(t, pn, "uuid", &p->uuid, &p->uuid_pos) && !valid_uuid(p->uuid))
                template_add_error(t, p->uuid_pos, "'%s' is not a UUID (like 0fc63daf-8483-4772-8e79-3d69d8477de4)",
                                   p->uuid);
        parse_partition_grow(t, d, pn, p);
}

static void check_disk_fits(Template *t, const TemplateDisk *d, bool have_size, const DiskSum *sum) {
        /* 1 MiB alignment before the first partition; GPT keeps its backup table in the last MiB. */
        uint64_t overhead = (UINT64_C(1) << 20) * (d->table == PARTITION_TABLE_GPT ? 2 : 1);
        if (sum->sizes_ok && sum->total <= UINT64_MAX - overhead - (UINT64_C(1) << 20)) {
                uint64_t need = sum->total + overhead + (sum->has_rest ? UINT64_C(1) << 20 : 0);
                if (need > d->size) {
                        _cleanup_free_ char *a = units_format_size(need), *b = units_format_size(d->size);
                        template_add_error(t, d->size_pos,
                                           "partitions need %s%s (with the partition table) but the disk is only %s",
                                           sum->has_rest ? "more than " : "", a, b);
                }
        } else if (have_size && sum->sizes_ok)
                template_add_error(t, d->size_pos, "partitions are larger than the disk");
}

void template_parse_disk(Template *t, const Node *m) {
        if (!node_expect(t, m, NODE_MAPPING, "'disk'"))
                return;
        TemplateDisk *d = &t->disk;
        t->has_disk = true;
        d->pos = m->pos;
        node_check_keys(t, m, KEYS("size", "table", "partitions"), "disk");
        const Node *size = node_require(t, m, "size", "disk");
        bool have_size = size && node_size(t, size, "disk size", &d->size);
        if (size)
                d->size_pos = size->pos;
        d->table = NODE_ENUM(t, m, "table", partition_table_type, _PARTITION_TABLE_TYPE_MAX, PARTITION_TABLE_GPT,
                             &d->table_pos);
        if (!node_get(m, "table"))
                d->table_pos = m->pos;
        const Node *parts = node_require(t, m, "partitions", "disk");
        if (!parts || !node_expect(t, parts, NODE_SEQUENCE, "'partitions'"))
                return;
        if (parts->n == 0) {
                template_add_error(t, parts->pos, "disk has no partitions");
                return;
        }
        d->partitions = xcalloc(parts->n, sizeof(TemplatePartition));
        DiskSum sum = { .sizes_ok = have_size };
        for (size_t i = 0; i < parts->n; i++)
                parse_partition(t, d, parts, i, &sum);
        if (!sum.has_root)
                template_add_error(t, parts->pos, "no partition is mounted at '/'");
        if (d->table == PARTITION_TABLE_MBR && parts->n > 4)
                template_add_error(t, parts->pos, "an 'mbr' table holds at most 4 partitions, not %zu", parts->n);
        check_disk_fits(t, d, have_size, &sum);
}

void template_parse_outputs(Template *t, const Node *seq) {
        if (!node_expect(t, seq, NODE_SEQUENCE, "'outputs'"))
                return;
        t->outputs = xcalloc(seq->n + 1, sizeof(TemplateOutput));
        for (size_t i = 0; i < seq->n; i++) {
                const Node *o = seq->items[i];
                if (!node_expect(t, o, NODE_MAPPING, "an output"))
                        continue;
                node_check_keys(t, o, KEYS("format", "compress"), "output");
                TemplateOutput *out = &t->outputs[t->n_outputs];
                out->pos = o->pos;
                if (!node_require(t, o, "format", "output"))
                        continue;
                out->format = NODE_ENUM(t, o, "format", image_format, _IMAGE_FORMAT_MAX, _IMAGE_FORMAT_INVALID, NULL);
                out->compress = NODE_ENUM(t, o, "compress", image_compression, _IMAGE_COMPRESSION_MAX, IMAGE_COMPRESSION_NONE, NULL);
                if ((int) out->format < 0 || (int) out->compress < 0)
                        continue;
                if ((out->format == IMAGE_FORMAT_VMDK || out->format == IMAGE_FORMAT_GCE) &&
                    out->compress != IMAGE_COMPRESSION_NONE) {
                        template_add_error(t, node_get(o, "compress")->pos, "output '%s' is compressed already; "
                                           "it takes no 'compress'", image_format_to_string(out->format));
                        continue;
                }
                bool dup = false;
                for (size_t j = 0; j < t->n_outputs; j++)
                        dup = dup || (t->outputs[j].format == out->format && t->outputs[j].compress == out->compress);
                if (dup) {
                        template_add_error(t, o->pos, "duplicate output '%s' (compress '%s')",
                                           image_format_to_string(out->format), image_compression_to_string(out->compress));
                        continue;
                }
                t->n_outputs++;
        }
}

/* A boot test's regular expression compiles, within bounds (regex-bounded.h). */
static void check_expect(Template *t, const char *pattern, SourcePos pos) {
        regex_t re;
        char buf[200];
        if (regex_compile_bounded(&re, pattern, buf, sizeof buf) < 0)
                template_add_error(t, pos, "'expect' is not a valid regular expression: %s", buf);
        else
                regfree(&re);
}

void template_parse_test(Template *t, const Node *m) {
        if (!node_expect(t, m, NODE_MAPPING, "'test'"))
                return;
        node_check_keys(t, m, KEYS("boot"), "test");
        const Node *b = node_get(m, "boot");
        if (!b || !node_expect(t, b, NODE_MAPPING, "'boot'"))
                return;
        TemplateTest *tt = &t->test;
        tt->has_boot = true;
        tt->pos = b->pos;
        node_check_keys(t, b, KEYS("firmware", "expect", "timeout", "commands"), "boot test");
        tt->firmware = NODE_ENUM(t, b, "firmware", boot_firmware, _BOOT_FIRMWARE_MAX, BOOT_FIRMWARE_BIOS, NULL);
        if (node_require(t, b, "expect", "boot test") && node_string(t, b, "expect", &tt->expect, &tt->expect_pos))
                check_expect(t, tt->expect, tt->expect_pos);
        tt->timeout_usec = 600 * USEC_PER_SEC;
        _cleanup_free_ char *timeout = NULL;
        SourcePos tpos = {};
        if (node_string(t, b, "timeout", &timeout, &tpos)) {
                int r = units_parse_duration(timeout, &tt->timeout_usec);
                if (r < 0 || tt->timeout_usec == 0)
                        template_add_error(t, tpos, "timeout '%s' is not a duration (like 90s, 10m or 1h30m)", timeout);
        }
        const Node *cmds = node_get(b, "commands");
        if (cmds && node_expect(t, cmds, NODE_SEQUENCE, "'commands'")) {
                tt->commands = xcalloc(cmds->n, sizeof(TemplateBootCommand));
                for (size_t i = 0; i < cmds->n; i++) {
                        const Node *c = cmds->items[i];
                        if (!node_expect(t, c, NODE_MAPPING, "a boot command"))
                                continue;
                        node_check_keys(t, c, KEYS("send", "expect"), "boot command");
                        TemplateBootCommand *bc = &tt->commands[tt->n_commands++];
                        bc->pos = c->pos;
                        node_string(t, c, "send", &bc->send, NULL);
                        SourcePos epos = {};
                        if (node_string(t, c, "expect", &bc->expect, &epos))
                                check_expect(t, bc->expect, epos);
                        if (!bc->send && !bc->expect)
                                template_add_error(t, c->pos, "a boot command needs 'send' or 'expect'");
                }
        }
}

/* s3: { endpoint: https://host[:port], bucket: NAME, prefix: images/web, region: eu-west-1 } as the
 * reference registry-s3 reads: "s3+https://[REGION@]HOST/BUCKET/PREFIX" (s3+http:// for http). */
static bool publish_s3_target(Template *t, const Node *m, char **ret) {
        if (!node_expect(t, m, NODE_MAPPING, "'s3'"))
                return false;
        node_check_keys(t, m, KEYS("endpoint", "bucket", "prefix", "region"), "s3 publish target");
        _cleanup_free_ char *endpoint = NULL, *bucket = NULL, *prefix = NULL, *region = NULL;
        SourcePos epos = m->pos, bpos = m->pos;
        if (!node_require(t, m, "endpoint", "s3 publish target") || !node_require(t, m, "bucket", "s3 publish target") ||
            !node_string(t, m, "endpoint", &endpoint, &epos) || !node_string(t, m, "bucket", &bucket, &bpos))
                return false;
        node_string(t, m, "prefix", &prefix, NULL);
        node_string(t, m, "region", &region, NULL);
        bool http = startswith(endpoint, "http://");
        const char *host = http ? endpoint + 7 : startswith(endpoint, "https://") ? endpoint + 8 : NULL;
        if (!host || !*host || strchr(host, '/') || strchr(host, '@')) {
                template_add_error(t, epos, "'%s' is not an S3 endpoint like 'https://host[:port]'", endpoint);
                return false;
        }
        size_t n = prefix ? strlen(prefix) : 0;
        while (n > 0 && prefix[n - 1] == '/')
                n--;
        *ret = xasprintf("%s://%s%s%s/%s/%.*s", http ? "s3+http" : "s3+https", region ?: "",
                         region ? "@" : "", host, bucket, (int) n, prefix ?: "");
        return true;
}

static bool chars_in(const char *s, const char *set) {
        return s[strspn(s, set)] == 0;
}

/* azure-blob: { account: NAME, container: NAME, prefix: images/web, endpoint: http://host:port } as
 * the reference registry-azure reads: "azure://ACCOUNT/CONTAINER/PREFIX", or with an endpoint (the
 * account in the path: Azurite, Azure Stack) "azure+http(s)://HOST[:PORT]/ACCOUNT/CONTAINER/PREFIX".
 * Azure makes disks of fixed VHDs only, so the template must have a vhd output. */
static bool publish_azure_target(Template *t, const Node *m, char **ret) {
        if (!node_expect(t, m, NODE_MAPPING, "'azure-blob'"))
                return false;
        node_check_keys(t, m, KEYS("account", "container", "prefix", "endpoint"), "azure-blob publish target");
        _cleanup_free_ char *account = NULL, *container = NULL, *prefix = NULL, *endpoint = NULL;
        SourcePos apos = m->pos, cpos = m->pos, epos = m->pos;
        if (!node_require(t, m, "account", "azure-blob publish target") ||
            !node_require(t, m, "container", "azure-blob publish target") ||
            !node_string(t, m, "account", &account, &apos) || !node_string(t, m, "container", &container, &cpos))
                return false;
        node_string(t, m, "prefix", &prefix, NULL);
        bool ok = true;
        if (strlen(account) < 3 || strlen(account) > 24 || !chars_in(account, "abcdefghijklmnopqrstuvwxyz0123456789")) {
                template_add_error(t, apos, "'%s' is not an Azure storage account (3-24 lower-case letters and digits)", account);
                ok = false;
        }
        if (strlen(container) < 3 || strlen(container) > 63 ||
            !chars_in(container, "abcdefghijklmnopqrstuvwxyz0123456789-") || container[0] == '-') {
                template_add_error(t, cpos, "'%s' is not an Azure container (3-63 lower-case letters, digits and '-')",
                                   container);
                ok = false;
        }
        const char *host = NULL;
        bool http = false;
        if (node_string(t, m, "endpoint", &endpoint, &epos)) {
                http = startswith(endpoint, "http://");
                host = http ? endpoint + 7 : startswith(endpoint, "https://") ? endpoint + 8 : NULL;
                if (!host || !*host || strchr(host, '/') || strchr(host, '@')) {
                        template_add_error(t, epos, "'%s' is not a blob endpoint like 'http://127.0.0.1:10000'", endpoint);
                        ok = false;
                }
        }
        bool vhd = false;
        for (size_t i = 0; i < t->n_outputs; i++)
                vhd = vhd || t->outputs[i].format == IMAGE_FORMAT_VHD;
        if (!vhd) {
                template_add_error(t, m->pos, "azure-blob publishing needs a 'vhd' output (Azure makes disks of fixed VHDs)");
                ok = false;
        }
        if (!ok)
                return false;
        size_t n = prefix ? strlen(prefix) : 0;
        while (n > 0 && prefix[n - 1] == '/')
                n--;
        if (host)
                *ret = xasprintf("azure+%s://%s/%s/%s/%.*s", http ? "http" : "https", host, account, container, (int) n,
                                 prefix ?: "");
        else
                *ret = xasprintf("azure://%s/%s/%.*s", account, container, (int) n, prefix ?: "");
        return true;
}

void template_glance_free(TemplateGlance *g) {
        if (!g)
                return;
        free(g->format);
        free(g->visibility);
        free(g->disk_bus);
        strv_free(g->properties);
        strv_free(g->members);
        free(g);
}

/* `members: [PROJECT-ID, …]`: the projects the image is shared with; visibility shared. */
static void parse_glance_members(Template *t, const Node *v, TemplateGlance *g) {
        const Node *m = node_get(v, "members");
        if (!m || !node_expect(t, m, NODE_SEQUENCE, "glance 'members'"))
                return;
        g->has_members = true;
        g->members = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < m->n; i++) {
                const Node *p = m->items[i];
                if (!node_expect(t, p, NODE_SCALAR, "a project id"))
                        continue;
                if (!*p->value || strchr(p->value, '/'))
                        template_add_error(t, p->pos, "glance member '%s' is not a project id", p->value);
                else if (strv_contains((const char *const *) g->members, p->value))
                        template_add_error(t, p->pos, "duplicate glance member '%s'", p->value);
                else
                        strv_push(&g->members, NULL, xstrdup(p->value));
        }
        if (!g->visibility)
                g->visibility = xstrdup("shared");
        else if (!streq(g->visibility, "shared"))
                template_add_error(t, m->pos, "glance members need visibility 'shared', not '%s'", g->visibility);
}

/* `glance: { cloud: NAME, format: qcow2|raw, visibility: …, disk_bus: …, properties: {K: V},
 * members: [PROJECT-ID…] }` */
static void parse_publish_glance(Template *t, const Node *v, TemplatePublish *pub) {
        static const char *const formats[] = { "qcow2", "raw", NULL };
        static const char *const visibilities[] = { "public", "private", "shared", "community", NULL };
        if (!node_expect(t, v, NODE_MAPPING, "'glance'"))
                return;
        node_check_keys(t, v, KEYS("cloud", "format", "visibility", "disk_bus", "properties", "members"),
                        "glance target");
        TemplateGlance *g = pub->glance = xcalloc(1, sizeof *g);
        SourcePos pos;
        if (!node_string(t, v, "cloud", &pub->target, NULL))
                pub->target = xstrdup("");
        if (node_string(t, v, "format", &g->format, &pos) && !strv_contains(formats, g->format))
                template_add_error(t, pos, "glance format '%s': qcow2 or raw", g->format);
        if (node_string(t, v, "visibility", &g->visibility, &pos) &&
            !strv_contains(visibilities, g->visibility))
                template_add_error(t, pos, "glance visibility '%s': public, private, shared or community", g->visibility);
        node_string(t, v, "disk_bus", &g->disk_bus, NULL);
        const Node *props = node_get(v, "properties");
        if (props && node_expect(t, props, NODE_MAPPING, "glance 'properties'"))
                for (size_t i = 0; i < props->n; i++) {
                        const Node *k = props->keys[i], *pv = props->items[i];
                        if (!node_expect(t, pv, NODE_SCALAR, "a glance property"))
                                continue;
                        if (startswith(k->value, "baker_"))
                                template_add_error(t, k->pos, "glance property '%s' is baker's own", k->value);
                        strv_push(&g->properties, NULL, xasprintf("%s=%s", k->value, pv->value));
                }
        parse_glance_members(t, v, g);
}

void template_parse_publish(Template *t, const Node *seq) {
        if (!node_expect(t, seq, NODE_SEQUENCE, "'publish'"))
                return;
        t->publish = xcalloc(seq->n, sizeof(TemplatePublish));
        for (size_t i = 0; i < seq->n; i++) {
                const Node *p = seq->items[i];
                if (!node_expect(t, p, NODE_MAPPING, "a publish target"))
                        continue;
                node_check_keys(t, p, KEYS("oci", "oci-layout", "s3", "azure-blob", "glance", "insecure"), "publish target");
                const Node *oci = node_get(p, "oci"), *layout = node_get(p, "oci-layout"), *s3 = node_get(p, "s3"),
                           *azure = node_get(p, "azure-blob"), *glance = node_get(p, "glance");
                if (!!oci + !!layout + !!s3 + !!azure + !!glance != 1) {
                        template_add_error(t, p->pos, "a publish target needs exactly one of 'oci', 'oci-layout', 's3', "
                                                      "'azure-blob' or 'glance'");
                        continue;
                }
                TemplatePublish *pub = &t->publish[t->n_publish];
                pub->pos = p->pos;
                if (glance) {
                        pub->kind = PUBLISH_GLANCE;
                        parse_publish_glance(t, glance, pub);
                        t->n_publish++;
                        continue;
                }
                pub->kind = oci ? PUBLISH_OCI : layout ? PUBLISH_OCI_LAYOUT : s3 ? PUBLISH_S3 : PUBLISH_AZURE_BLOB;
                node_bool(t, p, "insecure", &pub->insecure, NULL);
                if (s3 || azure) {
                        if (s3 ? publish_s3_target(t, s3, &pub->target) : publish_azure_target(t, azure, &pub->target))
                                t->n_publish++;
                        continue;
                }
                SourcePos tpos;
                if (!node_string(t, p, publish_kind_to_string(pub->kind), &pub->target, &tpos))
                        continue;
                if (pub->kind == PUBLISH_OCI &&
                    (strstr(pub->target, "://") || !strchr(pub->target, '/') || pub->target[0] == '/'))
                        template_add_error(t, tpos, "'%s' is not a registry repository like 'host:port/repository'",
                                           pub->target);
                else if (!*pub->target)
                        template_add_error(t, tpos, "empty 'oci-layout' directory");
                t->n_publish++;
        }
}

void template_parse_channels(Template *t, const Node *seq) {
        if (!node_expect(t, seq, NODE_SEQUENCE, "'channels'"))
                return;
        t->channels = xcalloc(seq->n, sizeof(char *));
        t->channel_pos = xcalloc(seq->n, sizeof(SourcePos));
        for (size_t i = 0; i < seq->n; i++) {
                const Node *c = seq->items[i];
                if (!node_expect(t, c, NODE_SCALAR, "a channel"))
                        continue;
                if (!template_valid_name(c->value, false)) {
                        template_add_error(t, c->pos, "invalid channel name '%s'", c->value);
                        continue;
                }
                bool dup = false;
                for (size_t j = 0; j < t->n_channels; j++)
                        dup = dup || streq(t->channels[j], c->value);
                if (dup) {
                        template_add_error(t, c->pos, "duplicate channel '%s'", c->value);
                        continue;
                }
                t->channel_pos[t->n_channels] = c->pos;
                t->channels[t->n_channels++] = xstrdup(c->value);
        }
}

