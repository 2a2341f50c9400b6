/* manifest.json as a C struct: building, writing, reading and checking; see manifest.h. */
#include "manifest.h"

#include <inttypes.h>

#include "digest.h"
#include "log.h"
#include "time-util.h"

BakeManifest *manifest_new(void) {
        return xcalloc(1, sizeof(BakeManifest));
}

static void layout_free(ManifestLayout *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n_partitions; i++) {
                ManifestPartition *p = l->partitions + i;
                free(p->label);
                free(p->type);
                free(p->partuuid);
                free(p->fs);
                free(p->fs_uuid);
                free(p->mount);
        }
        free(l->partitions);
        free(l->table);
        free(l->disk_guid);
        free(l);
}

static void test_free(ManifestTest *t) {
        if (!t)
                return;
        free(t->firmware);
        free(t->accel);
        free(t);
}

static void packages_free(ManifestPackages *p) {
        if (!p)
                return;
        free(p->sbom);
        for (size_t i = 0; i < p->n_changes; i++) {
                free(p->changes[i].name);
                free(p->changes[i].old_version);
                free(p->changes[i].new_version);
        }
        free(p->changes);
        free(p);
}

BakeManifest *manifest_free(BakeManifest *m) {
        if (!m)
                return NULL;
        free(m->name);
        free(m->version);
        free(m->description);
        free(m->bake_key);
        free(m->image_digest);
        free(m->created);
        free(m->baker_version);
        for (size_t i = 0; i < m->n_inputs; i++) {
                free(m->inputs[i].name);
                free(m->inputs[i].kind);
                free(m->inputs[i].source);
                free(m->inputs[i].digest);
        }
        free(m->inputs);
        layout_free(m->layout);
        for (size_t i = 0; i < m->n_steps; i++) {
                free(m->steps[i].name);
                free(m->steps[i].kind);
                free(m->steps[i].key);
        }
        free(m->steps);
        for (size_t i = 0; i < m->n_outputs; i++) {
                free(m->outputs[i].file);
                free(m->outputs[i].format);
                free(m->outputs[i].compress);
                free(m->outputs[i].sha256);
        }
        free(m->outputs);
        test_free(m->test);
        packages_free(m->packages);
        free(m);
        return NULL;
}

static char *strdup_or_null(const char *s) {
        return s ? xstrdup(s) : NULL;
}

/* ---- building ----------------------------------------------------------------------------- */

void manifest_add_input(BakeManifest *m, const char *name, const char *kind, const char *source, const char *digest) {
        m->has_inputs = true;
        for (size_t i = 0; i < m->n_inputs; i++)
                if (streq(m->inputs[i].name, name))
                        return;
        m->inputs = xrealloc(m->inputs, (m->n_inputs + 1) * sizeof(ManifestInput));
        m->inputs[m->n_inputs++] = (ManifestInput) { .name = xstrdup(name), .kind = strdup_or_null(kind),
                                                     .source = strdup_or_null(source), .digest = strdup_or_null(digest) };
}

void manifest_add_step(BakeManifest *m, uint64_t index, const char *name, const char *kind, const char *key,
                       double seconds, bool cached) {
        m->has_steps = true;
        m->steps = xrealloc(m->steps, (m->n_steps + 1) * sizeof(ManifestStep));
        m->steps[m->n_steps++] = (ManifestStep) { .index = index, .name = strdup_or_null(name), .kind = strdup_or_null(kind),
                                                  .key = strdup_or_null(key), .seconds = seconds, .cached = cached };
}

void manifest_add_output(BakeManifest *m, const char *file, const char *format, const char *compress, uint64_t size,
                         const char *sha256) {
        m->outputs = xrealloc(m->outputs, (m->n_outputs + 1) * sizeof(ManifestOutput));
        m->outputs[m->n_outputs++] = (ManifestOutput) { .file = xstrdup(file), .format = strdup_or_null(format),
                                                        .compress = strdup_or_null(compress), .size = size,
                                                        .sha256 = strdup_or_null(sha256) };
}

void manifest_layout_free(ManifestLayout *l) {
        layout_free(l);
}

void manifest_set_layout(BakeManifest *m, ManifestLayout *l) {
        layout_free(m->layout);
        m->layout = l;
}

void manifest_set_packages(BakeManifest *m, const char *sbom, uint64_t count) {
        packages_free(m->packages);
        m->packages = xcalloc(1, sizeof(ManifestPackages));
        *m->packages = (ManifestPackages) { .sbom = strdup_or_null(sbom), .count = count };
}

void manifest_add_package_change(BakeManifest *m, const char *name, const char *old_version, const char *new_version) {
        ManifestPackages *p = m->packages;
        p->changes = xrealloc(p->changes, (p->n_changes + 1) * sizeof(ManifestPackageChange));
        p->changes[p->n_changes++] = (ManifestPackageChange) { .name = xstrdup(name),
                                                               .old_version = strdup_or_null(old_version),
                                                               .new_version = strdup_or_null(new_version) };
}

void manifest_set_test(BakeManifest *m, const char *firmware, bool passed, double seconds, const char *accel) {
        test_free(m->test);
        m->test = xcalloc(1, sizeof(ManifestTest));
        *m->test = (ManifestTest) { .firmware = strdup_or_null(firmware), .passed = passed, .seconds = seconds,
                                    .accel = strdup_or_null(accel) };
}

char *manifest_time(long long epoch) {
        return rfc3339_format(epoch);
}

/* ---- to JSON ------------------------------------------------------------------------------ */

static void set_str(json_t *o, const char *key, const char *v) {
        if (v)
                json_object_set_new(o, key, json_string(v));
}

static void set_uint(json_t *o, const char *key, uint64_t v) {
        json_object_set_new(o, key, json_integer((json_int_t) v));
}

static json_t *layout_to_json(const ManifestLayout *l) {
        json_t *parts = json_array();
        for (size_t i = 0; i < l->n_partitions; i++) {
                const ManifestPartition *p = l->partitions + i;
                json_t *o = json_object();
                set_uint(o, "index", p->index);
                set_str(o, "label", p->label);
                set_str(o, "type", p->type);
                set_uint(o, "offset", p->offset);
                set_uint(o, "size", p->size);
                set_str(o, "partuuid", p->partuuid);
                set_str(o, "fs", p->fs);
                set_str(o, "fs_uuid", p->fs_uuid);
                set_str(o, "mount", p->mount);
                json_array_append_new(parts, o);
        }
        json_t *o = json_object();
        set_str(o, "table", l->table);
        set_uint(o, "size", l->size);
        set_str(o, "disk_guid", l->disk_guid);
        json_object_set_new(o, "partitions", parts);
        return o;
}

static json_t *lists_to_json(const BakeManifest *m, json_t *o, bool telemetry) {
        if (m->has_inputs) {
                json_t *a = json_array();
                for (size_t i = 0; i < m->n_inputs; i++) {
                        json_t *e = json_object();
                        set_str(e, "name", m->inputs[i].name);
                        set_str(e, "kind", m->inputs[i].kind);
                        set_str(e, "source", m->inputs[i].source);
                        set_str(e, "digest", m->inputs[i].digest);
                        json_array_append_new(a, e);
                }
                json_object_set_new(o, "inputs", a);
        }
        if (m->has_steps) {
                json_t *a = json_array();
                for (size_t i = 0; i < m->n_steps; i++) {
                        const ManifestStep *s = m->steps + i;
                        json_t *e = json_object();
                        set_uint(e, "index", s->index);
                        set_str(e, "name", s->name);
                        set_str(e, "kind", s->kind);
                        set_str(e, "key", s->key);
                        if (telemetry) {
                                json_object_set_new(e, "seconds", json_real(s->seconds));
                                json_object_set_new(e, "cached", json_boolean(s->cached));
                        }
                        json_array_append_new(a, e);
                }
                json_object_set_new(o, "steps", a);
        }
        json_t *a = json_array();
        for (size_t i = 0; i < m->n_outputs; i++) {
                const ManifestOutput *x = m->outputs + i;
                json_t *e = json_object();
                set_str(e, "file", x->file);
                set_str(e, "format", x->format);
                set_str(e, "compress", x->compress);
                set_uint(e, "size", x->size);
                set_str(e, "sha256", x->sha256);
                json_array_append_new(a, e);
        }
        json_object_set_new(o, "outputs", a);
        return o;
}

json_t *manifest_to_json(const BakeManifest *m, bool telemetry) {
        json_t *o = json_object();
        if (m->manifest_version > 0)
                json_object_set_new(o, "manifest_version", json_integer(m->manifest_version));
        set_str(o, "name", m->name);
        set_str(o, "version", m->version);
        set_str(o, "description", m->description);
        set_str(o, "bake_key", m->bake_key);
        set_str(o, "image_digest", m->image_digest);
        if (m->has_image_size)
                set_uint(o, "image_size", m->image_size);
        if (m->has_epoch)
                json_object_set_new(o, "epoch", json_integer((json_int_t) m->epoch));
        set_str(o, "created", m->created);
        set_str(o, "baker_version", m->baker_version);
        if (m->layout)
                json_object_set_new(o, "layout", layout_to_json(m->layout));
        if (m->test) {
                json_t *t = json_object();
                set_str(t, "firmware", m->test->firmware);
                json_object_set_new(t, "passed", json_boolean(m->test->passed));
                if (telemetry) {
                        json_object_set_new(t, "seconds", json_real(m->test->seconds));
                        set_str(t, "accel", m->test->accel);
                }
                json_object_set_new(o, "test", t);
        }
        if (m->packages) {
                json_t *p = json_object();
                set_str(p, "sbom", m->packages->sbom);
                set_uint(p, "count", m->packages->count);
                json_t *c = json_array();
                for (size_t i = 0; telemetry && i < m->packages->n_changes; i++) {
                        const ManifestPackageChange *x = &m->packages->changes[i];
                        json_array_append_new(c, json_pack("{s:s, s:s?, s:s?}", "name", x->name, "old",
                                                           x->old_version, "new", x->new_version));
                }
                if (telemetry)
                        json_object_set_new(p, "changes", c);
                else
                        json_decref(c);
                json_object_set_new(o, "packages", p);
        }
        return lists_to_json(m, o, telemetry);
}

/* ---- from JSON ---------------------------------------------------------------------------- */

typedef struct Reader {
        const char *where;
        const char *context; /* "outputs[1]" … */
        int error;
} Reader;

static void bad(Reader *rd, const char *key, const char *want) {
        if (rd->error < 0)
                return;
        rd->error = log_error_errno(-EBADMSG, "%s: %s%s'%s' is not %s", rd->where, rd->context ? rd->context : "",
                                    rd->context ? ": " : "", key, want);
}

static char *get_str(Reader *rd, json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return NULL;
        if (!json_is_string(v)) {
                bad(rd, key, "a string");
                return NULL;
        }
        return xstrdup(json_string_value(v));
}

static bool get_int(Reader *rd, json_t *o, const char *key, int64_t *ret) {
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return false;
        if (!json_is_integer(v)) {
                bad(rd, key, "an integer");
                return false;
        }
        *ret = json_integer_value(v);
        return true;
}

static uint64_t get_uint(Reader *rd, json_t *o, const char *key) {
        int64_t v = 0;
        if (get_int(rd, o, key, &v) && v < 0)
                bad(rd, key, "a size");
        return v < 0 ? 0 : (uint64_t) v;
}

static double get_real(Reader *rd, json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        if (v && !json_is_number(v))
                bad(rd, key, "a number");
        return json_number_value(v);
}

static bool get_bool(Reader *rd, json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        if (v && !json_is_boolean(v))
                bad(rd, key, "true or false");
        return json_is_true(v);
}

/* The list under key, or NULL when absent; an error when present and not a list of objects. */
static json_t *get_list(Reader *rd, json_t *o, const char *key) {
        json_t *a = json_object_get(o, key), *e;
        size_t i;
        if (!a)
                return NULL;
        if (!json_is_array(a)) {
                bad(rd, key, "a list");
                return NULL;
        }
        json_array_foreach(a, i, e)
                if (!json_is_object(e)) {
                        bad(rd, key, "a list of objects");
                        return NULL;
                }
        return a;
}

static void read_layout(Reader *rd, json_t *j, BakeManifest *m) {
        json_t *lj = json_object_get(j, "layout");
        if (!lj)
                return;
        if (!json_is_object(lj))
                return bad(rd, "layout", "an object");
        ManifestLayout *l = m->layout = xcalloc(1, sizeof(ManifestLayout));
        l->table = get_str(rd, lj, "table");
        l->size = get_uint(rd, lj, "size");
        l->disk_guid = get_str(rd, lj, "disk_guid");
        json_t *parts = get_list(rd, lj, "partitions"), *p;
        size_t i;
        l->partitions = xcalloc(json_array_size(parts) + 1, sizeof(ManifestPartition));
        json_array_foreach(parts, i, p)
                l->partitions[l->n_partitions++] = (ManifestPartition) {
                        .index = get_uint(rd, p, "index"),
                        .label = get_str(rd, p, "label"),
                        .type = get_str(rd, p, "type"),
                        .offset = get_uint(rd, p, "offset"),
                        .size = get_uint(rd, p, "size"),
                        .partuuid = get_str(rd, p, "partuuid"),
                        .fs = get_str(rd, p, "fs"),
                        .fs_uuid = get_str(rd, p, "fs_uuid"),
                        .mount = get_str(rd, p, "mount"),
                };
}

static void read_lists(Reader *rd, json_t *j, BakeManifest *m) {
        json_t *a, *e;
        size_t i;
        if ((a = get_list(rd, j, "inputs"))) {
                m->has_inputs = true;
                m->inputs = xcalloc(json_array_size(a) + 1, sizeof(ManifestInput));
                json_array_foreach(a, i, e)
                        m->inputs[m->n_inputs++] = (ManifestInput) { .name = get_str(rd, e, "name"),
                                                                     .kind = get_str(rd, e, "kind"),
                                                                     .source = get_str(rd, e, "source"),
                                                                     .digest = get_str(rd, e, "digest") };
        }
        if ((a = get_list(rd, j, "steps"))) {
                m->has_steps = true;
                m->steps = xcalloc(json_array_size(a) + 1, sizeof(ManifestStep));
                json_array_foreach(a, i, e)
                        m->steps[m->n_steps++] = (ManifestStep) { .index = get_uint(rd, e, "index"),
                                                                  .name = get_str(rd, e, "name"),
                                                                  .kind = get_str(rd, e, "kind"),
                                                                  .key = get_str(rd, e, "key"),
                                                                  .seconds = get_real(rd, e, "seconds"),
                                                                  .cached = get_bool(rd, e, "cached") };
        }
        a = get_list(rd, j, "outputs");
        if (!a)
                return; /* the readers below say whether that is allowed */
        m->outputs = xcalloc(json_array_size(a) + 1, sizeof(ManifestOutput));
        json_array_foreach(a, i, e) {
                ManifestOutput *o = m->outputs + m->n_outputs++;
                _cleanup_free_ char *ctx = xasprintf("outputs[%zu]", i);
                rd->context = ctx;
                *o = (ManifestOutput) { .file = get_str(rd, e, "file"),
                                        .format = get_str(rd, e, "format"),
                                        .compress = get_str(rd, e, "compress"),
                                        .size = get_uint(rd, e, "size"),
                                        .sha256 = get_str(rd, e, "sha256") };
                if (!o->file || strchr(o->file, '/') || !o->sha256 || !json_is_integer(json_object_get(e, "size")))
                        bad(rd, "file', 'size' or 'sha256", "set, or 'file' is not a plain name");
                rd->context = NULL;
        }
}

static void read_packages(Reader *rd, json_t *j, BakeManifest *m) {
        json_t *p = json_object_get(j, "packages"), *e;
        size_t i;
        if (!p)
                return;
        if (!json_is_object(p))
                return bad(rd, "packages", "an object");
        _cleanup_free_ char *sbom = get_str(rd, p, "sbom");
        manifest_set_packages(m, sbom, get_uint(rd, p, "count"));
        json_array_foreach(get_list(rd, p, "changes"), i, e) {
                _cleanup_free_ char *name = get_str(rd, e, "name"), *old = get_str(rd, e, "old"), *new = get_str(rd, e, "new");
                if (name)
                        manifest_add_package_change(m, name, old, new);
        }
}

int manifest_from_json(json_t *j, const char *where, BakeManifest **ret) {
        Reader rd = { .where = where };
        if (!json_is_object(j))
                return log_error_errno(-EBADMSG, "%s: not a bake manifest (not a JSON object)", where);
        _cleanup_(manifest_freep) BakeManifest *m = manifest_new();
        int64_t v;
        if (get_int(&rd, j, "manifest_version", &v))
                m->manifest_version = (int) v;
        m->name = get_str(&rd, j, "name");
        m->version = get_str(&rd, j, "version");
        m->description = get_str(&rd, j, "description");
        m->bake_key = get_str(&rd, j, "bake_key");
        m->image_digest = get_str(&rd, j, "image_digest");
        m->has_image_size = json_object_get(j, "image_size") != NULL;
        m->image_size = get_uint(&rd, j, "image_size");
        m->has_epoch = get_int(&rd, j, "epoch", &m->epoch);
        m->created = get_str(&rd, j, "created");
        m->baker_version = get_str(&rd, j, "baker_version");
        read_layout(&rd, j, m);
        json_t *t = json_object_get(j, "test");
        if (t && !json_is_object(t))
                bad(&rd, "test", "an object");
        else if (t) {
                _cleanup_free_ char *fw = get_str(&rd, t, "firmware"), *accel = get_str(&rd, t, "accel");
                manifest_set_test(m, fw, get_bool(&rd, t, "passed"), get_real(&rd, t, "seconds"), accel);
        }
        read_packages(&rd, j, m);
        read_lists(&rd, j, m);
        if (rd.error < 0)
                return rd.error;
        *ret = TAKE_PTR(m);
        return 0;
}

int manifest_parse(const char *data, size_t size, const char *where, BakeManifest **ret) {
        json_error_t e;
        json_t *j = json_loadb(data, size, 0, &e);
        if (!j)
                return log_error_errno(-EBADMSG, "%s:%d:%d: %s", where, e.line, e.column, e.text);
        int r = manifest_from_json(j, where, ret);
        json_decref(j);
        return r;
}

/* ---- files -------------------------------------------------------------------------------- */

int manifest_write(const char *path, const BakeManifest *m) {
        json_t *j = manifest_to_json(m, true);
        _cleanup_free_ char *s = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        json_decref(j);
        if (!s)
                return log_error_errno(-ENOMEM, "failed to serialise '%s'", path);
        _cleanup_free_ char *text = xasprintf("%s\n", s);
        int r = write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return log_error_errno(r, "failed to write '%s': %m", path);
        return 0;
}

int manifest_read(const char *path, BakeManifest **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r = read_full_file(path, &data, &size);
        if (r < 0)
                return log_error_errno(r, "failed to read '%s': %m", path);
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        r = manifest_parse(data, size, path, &m);
        if (r < 0)
                return r;
        if (!m->outputs)
                return log_error_errno(-EBADMSG, "%s: not a bake manifest: no 'outputs' list", path);
        *ret = TAKE_PTR(m);
        return 0;
}

int manifest_load(const char *path, BakeManifest **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r = read_full_file(path, &data, &size);
        if (r < 0)
                return log_error_errno(r, "failed to read '%s': %m", path);
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        r = manifest_parse(data, size, path, &m);
        if (r < 0)
                return r;
        const char *missing = !m->name ? "name" : !m->bake_key ? "bake_key" : !m->image_digest ? "image_digest"
                            : !m->outputs ? "outputs" : NULL;
        if (missing)
                return log_error_errno(-EINVAL, "%s: not a baker manifest: no '%s'", path, missing);
        *ret = TAKE_PTR(m);
        return 0;
}

char *manifest_config(const BakeManifest *m, size_t *ret_size) {
        json_t *j = manifest_to_json(m, false);
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        if (!s)
                abort();
        *ret_size = strlen(s);
        return s;
}

/* raw, then qcow2, then the cloud formats (vhd, vmdk, gce: padded or archived); uncompressed first. */
static int output_rank(const ManifestOutput *o) {
        bool plain = streq_ptr(o->compress, "none");
        int kind = streq_ptr(o->format, "raw") ? 3 : streq_ptr(o->format, "qcow2") ? 2 : streq_ptr(o->format, "gce") ? 0 : 1;
        return kind * 2 + plain;
}

const ManifestOutput *manifest_best_output(const BakeManifest *m) {
        const ManifestOutput *best = NULL;
        for (size_t i = 0; i < m->n_outputs; i++)
                if (m->outputs[i].format && (!best || output_rank(m->outputs + i) > output_rank(best)))
                        best = m->outputs + i;
        return best;
}
