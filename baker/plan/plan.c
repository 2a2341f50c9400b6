#include "plan.h"

#include <jansson.h>

#include "log.h"
#include "units.h"
#include "version.h"

int plan_digest_input(const TemplateInput *in, uint8_t ret[DIGEST_SIZE], void *userdata) {
        uint8_t d[DIGEST_SIZE];
        int r;
        switch (in->kind) {
        case INPUT_URL:
                if (in->has_sha256)
                        memcpy(d, in->sha256, DIGEST_SIZE);
                else {
                        _cleanup_free_ char *s = xasprintf("unpinned:%s", in->location);
                        digest_buffer(s, strlen(s), d);
                }
                break;
        case INPUT_FILE:
                r = digest_file(in->resolved_path, d, NULL);
                if (r < 0)
                        return r;
                if (in->has_sha256 && memcmp(d, in->sha256, DIGEST_SIZE) != 0)
                        return -EBADMSG;
                break;
        case INPUT_PATH:
                r = digest_directory(in->resolved_path, d);
                if (r < 0)
                        return r;
                break;
        default:
                return -EINVAL;
        }
        memcpy(ret, d, DIGEST_SIZE);
        return 0;
}

int plan_digest_file(const char *path, uint8_t ret[DIGEST_SIZE], void *userdata) {
        return digest_file(path, ret, NULL);
}

static void plan_step_done(PlanStep *s) {
        free(s->display);
        free(s->definition);
        for (size_t i = 0; i < s->n_inputs; i++)
                free(s->inputs[i].name);
        free(s->inputs);
        for (size_t i = 0; i < s->n_files; i++)
                free(s->files[i].name);
        free(s->files);
}

Plan *plan_free(Plan *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_steps; i++)
                plan_step_done(&p->steps[i]);
        free(p->steps);
        free(p->layout);
        free(p);
        return NULL;
}

/* A template string as key material: non-sensitive variables substituted. */
static json_t *public_string(const Vars *vars, const char *s) {
        _cleanup_free_ char *out = NULL;
        if (vars_substitute(vars, s, VARS_SUBSTITUTE_PUBLIC, &out) < 0)
                return json_string(s); /* validation rejects these; keep the raw text */
        return json_string(out);
}

static char *owner_string(const TemplateStep *s) {
        return xasprintf("%u:%u", s->has_owner ? (unsigned) s->uid : 0, s->has_owner ? (unsigned) s->gid : 0);
}

static json_t *step_definition(const TemplateStep *s, const Vars *vars) {
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(step_kind_to_string(s->kind)));
        switch (s->kind) {
        case STEP_UNPACK:
                json_object_set_new(o, "input", json_string(s->input));
                json_object_set_new(o, "to", public_string(vars, s->to));
                break;
        case STEP_COPY: {
                _cleanup_free_ char *owner = owner_string(s);
                json_object_set_new(o, "from", json_string(s->input));
                json_object_set_new(o, "to", public_string(vars, s->to));
                json_object_set_new(o, "owner", json_string(owner));
                break;
        }
        case STEP_FILE: {
                _cleanup_free_ char *owner = owner_string(s), *mode = xasprintf("%04o", s->mode);
                json_object_set_new(o, "path", public_string(vars, s->path));
                json_object_set_new(o, "content", public_string(vars, s->content));
                json_object_set_new(o, "mode", json_string(mode));
                json_object_set_new(o, "owner", json_string(owner));
                break;
        }
        case STEP_RUN: {
                if (s->script_path)
                        json_object_set_new(o, "script_file", json_string(s->script_path));
                else
                        json_object_set_new(o, "script", public_string(vars, s->script));
                json_t *env = json_object();
                for (size_t i = 0; i < s->n_env; i++)
                        json_object_set_new(env, s->env[i].name, public_string(vars, s->env[i].value));
                json_object_set_new(o, "env", env);
                json_object_set_new(o, "network", json_boolean(s->network));
                break;
        }
        case STEP_SYSPREP: {
                json_object_set_new(o, "profile", json_string(s->sysprep));
                /* keep is a set: sorted, so its order in YAML does not matter */
                _cleanup_free_ const char **keep = xcalloc(s->n_keep + 1, sizeof(char *));
                for (size_t i = 0; i < s->n_keep; i++) {
                        size_t j = i;
                        while (j > 0 && strcmp(keep[j - 1], s->keep[i]) > 0) {
                                keep[j] = keep[j - 1];
                                j--;
                        }
                        keep[j] = s->keep[i];
                }
                json_t *a = json_array();
                for (size_t i = 0; i < s->n_keep; i++)
                        if (i == 0 || !streq(keep[i], keep[i - 1]))
                                json_array_append_new(a, json_string(keep[i]));
                json_object_set_new(o, "keep", a);
                break;
        }
        case STEP_BOOTLOADER:
                json_object_set_new(o, "type", json_string(bootloader_type_to_string(s->bootloader)));
                json_object_set_new(o, "cmdline", s->cmdline ? public_string(vars, s->cmdline) : json_null());
                break;
        default:
                break;
        }
        return o;
}

static char *step_display(const TemplateStep *s) {
        switch (s->kind) {
        case STEP_UNPACK:
                if (s->to && !streq(s->to, "/"))
                        return xasprintf("unpack %s to %s", s->input, s->to);
                return xasprintf("unpack %s", s->input);
        case STEP_COPY:
                return xasprintf("copy %s to %s", s->input, s->to);
        case STEP_FILE:
                return xasprintf("file %s", s->path);
        case STEP_RUN: {
                if (s->name)
                        return xasprintf("run %s", s->name);
                if (s->script_path)
                        return xasprintf("run %s", s->script_path);
                /* inline: its first non-empty line, shortened */
                const char *p = s->script;
                while (*p == '\n' || *p == ' ')
                        p++;
                size_t n = strcspn(p, "\n");
                bool more = n > 40 || p[n] == '\n';
                return xasprintf("run: %.*s%s", (int) MIN(n, (size_t) 40), p, more ? " ..." : "");
        }
        case STEP_SYSPREP:
                return xasprintf("sysprep %s", s->sysprep);
        case STEP_BOOTLOADER:
                return xasprintf("bootloader %s", bootloader_type_to_string(s->bootloader));
        default:
                return xstrdup("?");
        }
}

static char *layout_json(const Template *t, const Vars *vars) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(t->name));
        json_object_set_new(o, "version", t->version ? public_string(vars, t->version) : json_null());
        json_object_set_new(o, "epoch", t->has_epoch ? json_integer((json_int_t) t->epoch) : json_null());
        json_t *disk = json_object();
        json_object_set_new(disk, "size", json_integer((json_int_t) t->disk.size));
        json_object_set_new(disk, "table", json_string(partition_table_type_to_string(t->disk.table)));
        json_t *parts = json_array();
        for (size_t i = 0; i < t->disk.n_partitions; i++) {
                const TemplatePartition *p = &t->disk.partitions[i];
                json_t *po = json_object();
                json_object_set_new(po, "label", json_string(p->label));
                json_object_set_new(po, "type", json_string(partition_type_to_string(p->type)));
                json_object_set_new(po, "size", p->size_rest ? json_string("rest") : json_integer((json_int_t) p->size));
                json_object_set_new(po, "fs", json_string(fs_type_to_string(p->fs)));
                json_object_set_new(po, "mount", p->mount ? json_string(p->mount) : json_null());
                json_object_set_new(po, "uuid", p->uuid ? json_string(p->uuid) : json_null());
                json_array_append_new(parts, po);
        }
        json_object_set_new(disk, "partitions", parts);
        json_object_set_new(o, "disk", disk);
        json_t *outs = json_array();
        for (size_t i = 0; i < t->n_outputs; i++) {
                json_t *oo = json_object();
                json_object_set_new(oo, "format", json_string(image_format_to_string(t->outputs[i].format)));
                json_object_set_new(oo, "compress", json_string(image_compression_to_string(t->outputs[i].compress)));
                json_array_append_new(outs, oo);
        }
        json_object_set_new(o, "outputs", outs);
        char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        if (!s)
                abort();
        return s;
}

int plan_build(const Template *t, const Vars *vars, const PlanDigester *digester, Plan **ret) {
        static const PlanDigester defaults = { .input = plan_digest_input, .file = plan_digest_file };
        if (!digester)
                digester = &defaults;
        int r;
        _cleanup_(plan_freep) Plan *p = xcalloc(1, sizeof *p);

        _cleanup_(digest_freep) Digest *h = digest_new();
        _cleanup_free_ char *format = xasprintf("%d", BAKER_FORMAT_VERSION);
        digest_update_string(h, "baker-plan");
        digest_update_string(h, format);
        digest_final(h, p->header_key);

        /* Each input is digested once, even when several steps use it. */
        _cleanup_free_ uint8_t(*input_digests)[DIGEST_SIZE] = xcalloc(t->n_inputs + 1, DIGEST_SIZE);
        _cleanup_free_ bool *have = xcalloc(t->n_inputs + 1, sizeof(bool));

        const uint8_t *prev = p->header_key;
        p->steps = xcalloc(t->n_steps + 1, sizeof(PlanStep));
        for (size_t i = 0; i < t->n_steps; i++) {
                const TemplateStep *ts = &t->steps[i];
                PlanStep *s = &p->steps[p->n_steps++];
                s->index = i;
                s->kind = ts->kind;
                s->step = ts;
                s->display = step_display(ts);
                json_t *def = step_definition(ts, vars);
                s->definition = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
                json_decref(def);
                if (!s->definition)
                        abort();

                if ((ts->kind == STEP_UNPACK || ts->kind == STEP_COPY) && ts->input) {
                        const TemplateInput *in = template_find_input(t, ts->input);
                        if (!in)
                                return template_error_at(t, ts->input_pos, "unknown input '%s'", ts->input);
                        size_t k = (size_t) (in - t->inputs);
                        if (!have[k]) {
                                r = digester->input(in, input_digests[k], digester->userdata);
                                if (r == -EBADMSG)
                                        return template_error_at(t, in->sha256_pos,
                                                                 "input '%s': '%s' does not match its sha256 pin",
                                                                 in->name, in->location);
                                if (r < 0)
                                        return template_error_at(t, in->location_pos, "cannot digest input '%s': %s",
                                                                 in->name, strerror(-r));
                                have[k] = true;
                        }
                        if (in->kind == INPUT_URL && !in->has_sha256)
                                p->unpinned = true;
                        s->inputs = xcalloc(1, sizeof(PlanDigest));
                        s->inputs[0].name = xstrdup(in->name);
                        memcpy(s->inputs[0].digest, input_digests[k], DIGEST_SIZE);
                        s->n_inputs = 1;
                }
                if (ts->kind == STEP_RUN && ts->script_path) {
                        if (!ts->script_resolved)
                                return template_error_at(t, ts->script_pos, "script '%s' does not exist",
                                                         ts->script_path);
                        s->files = xcalloc(1, sizeof(PlanDigest));
                        s->files[0].name = xstrdup(ts->script_path);
                        r = digester->file(ts->script_resolved, s->files[0].digest, digester->userdata);
                        if (r < 0)
                                return template_error_at(t, ts->script_pos, "cannot read script '%s': %s",
                                                         ts->script_path, strerror(-r));
                        s->n_files = 1;
                }

                _cleanup_(digest_freep) Digest *d = digest_new();
                digest_update_string(d, "baker-step");
                digest_update(d, prev, DIGEST_SIZE);
                digest_update_string(d, s->definition);
                for (size_t j = 0; j < s->n_inputs; j++) {
                        const TemplateInput *in = template_find_input(t, s->inputs[j].name);
                        digest_update_string(d, s->inputs[j].name);
                        digest_update_string(d, input_kind_to_string(in->kind));
                        digest_update(d, s->inputs[j].digest, DIGEST_SIZE);
                }
                digest_update_string(d, "files");
                for (size_t j = 0; j < s->n_files; j++) {
                        digest_update_string(d, s->files[j].name);
                        digest_update(d, s->files[j].digest, DIGEST_SIZE);
                }
                digest_final(d, s->key);
                prev = s->key;
        }

        p->layout = layout_json(t, vars);
        _cleanup_(digest_freep) Digest *b = digest_new();
        digest_update_string(b, "baker-bake");
        digest_update(b, prev, DIGEST_SIZE);
        digest_update_string(b, p->layout);
        digest_final(b, p->bake_key);

        *ret = TAKE_PTR(p);
        return 0;
}

static json_t *digest_json(const uint8_t d[DIGEST_SIZE]) {
        char s[DIGEST_STRING_MAX];
        digest_to_string(d, s);
        return json_string(s);
}

json_t *plan_to_json(const Plan *p) {
        json_t *o = json_object();
        json_object_set_new(o, "bake_key", digest_json(p->bake_key));
        json_object_set_new(o, "header_key", digest_json(p->header_key));
        json_object_set_new(o, "layout", json_loads(p->layout, 0, NULL));
        json_object_set_new(o, "unpinned", json_boolean(p->unpinned));
        json_t *steps = json_array();
        for (size_t i = 0; i < p->n_steps; i++) {
                const PlanStep *s = &p->steps[i];
                json_t *so = json_object();
                json_object_set_new(so, "index", json_integer((json_int_t) s->index));
                json_object_set_new(so, "kind", json_string(step_kind_to_string(s->kind)));
                json_object_set_new(so, "name", json_string(s->display));
                json_object_set_new(so, "key", digest_json(s->key));
                json_object_set_new(so, "definition", json_loads(s->definition, 0, NULL));
                json_t *ins = json_object(), *files = json_object();
                for (size_t j = 0; j < s->n_inputs; j++)
                        json_object_set_new(ins, s->inputs[j].name, digest_json(s->inputs[j].digest));
                for (size_t j = 0; j < s->n_files; j++)
                        json_object_set_new(files, s->files[j].name, digest_json(s->files[j].digest));
                json_object_set_new(so, "inputs", ins);
                json_object_set_new(so, "files", files);
                json_array_append_new(steps, so);
        }
        json_object_set_new(o, "steps", steps);
        return o;
}
