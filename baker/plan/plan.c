#include "plan.h"

#include <jansson.h>

#include "kind.h"
#include "log.h"
#include "units.h"
#include "version.h"

int plan_digest_input(const TemplateInput *in, uint8_t ret[DIGEST_SIZE], void *userdata) {
        if (!in->kind || !in->kind->digest)
                return -EINVAL;
        return in->kind->digest(in, plan_digest_file, NULL, ret);
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

static char *step_definition(const TemplateStep *s, const Vars *vars) {
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(s->kind->name));
        s->kind->define(s, vars, o);
        char *d = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        if (!d)
                abort();
        return d;
}

typedef struct SecretCheck {
        const Vars *vars;
        bool found;
} SecretCheck;

static int check_secret(const char *name, size_t len, void *userdata) {
        SecretCheck *c = userdata;
        _cleanup_free_ char *n = xstrndup(name, len);
        const Var *v = vars_find(c->vars, n);
        c->found = c->found || (v && v->sensitive);
        return 0;
}

/* The definition keeps every sensitive reference as "${var.NAME}" (and "$${" escapes as they are):
 * a step uses a secret exactly when one is left in it. */
static bool definition_uses_secret(const char *definition, const Vars *vars) {
        SecretCheck c = { .vars = vars };
        (void) template_foreach_var_ref(definition, check_secret, &c);
        return c.found;
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

/* Digests each input once, even when several steps use it. */
typedef struct InputDigests {
        uint8_t (*digest)[DIGEST_SIZE];
        bool *have;
} InputDigests;

static int plan_step_input(const Template *t, const PlanDigester *digester, InputDigests *cache, Plan *p,
                           PlanStep *s) {
        SourcePos pos = {};
        const char *name = s->step->kind->input ? s->step->kind->input(s->step, &pos) : NULL;
        if (!name)
                return 0;
        const TemplateInput *in = template_find_input(t, name);
        if (!in)
                return template_error_at(t, pos, "unknown input '%s'", name);
        size_t k = (size_t) (in - t->inputs);
        if (!cache->have[k]) {
                int r = digester->input(in, cache->digest[k], digester->userdata);
                if (r == -EBADMSG)
                        return template_error_at(t, in->sha256_pos, "input '%s': '%s' does not match its sha256 pin",
                                                 in->name, in->location);
                if (r == -EBADFD)
                        return template_error_at(t, in->location_pos, "cannot digest input '%s': it holds a file that "
                                                 "is not a regular file, directory or symlink (see above)", in->name);
                if (r < 0)
                        return template_error_at(t, in->location_pos, "cannot digest input '%s': %s", in->name,
                                                 strerror(-r));
                cache->have[k] = true;
        }
        if (in->kind->pinned && !in->kind->pinned(in))
                p->unpinned = true;
        s->inputs = xcalloc(1, sizeof(PlanDigest));
        s->inputs[0].name = xstrdup(in->name);
        memcpy(s->inputs[0].digest, cache->digest[k], DIGEST_SIZE);
        s->n_inputs = 1;
        return 0;
}

static int plan_step_file(const Template *t, const PlanDigester *digester, PlanStep *s) {
        const char *host = NULL;
        SourcePos pos = {};
        const char *name = s->step->kind->file ? s->step->kind->file(s->step, &host, &pos) : NULL;
        if (!name)
                return 0;
        if (!host)
                return template_error_at(t, pos, "script '%s' does not exist", name);
        s->files = xcalloc(1, sizeof(PlanDigest));
        s->files[0].name = xstrdup(name);
        int r = digester->file(host, s->files[0].digest, digester->userdata);
        if (r < 0)
                return template_error_at(t, pos, "cannot read script '%s': %s", name, strerror(-r));
        s->n_files = 1;
        return 0;
}

static void plan_step_key(const Template *t, const uint8_t prev[DIGEST_SIZE], PlanStep *s) {
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update_string(d, "baker-step");
        digest_update(d, prev, DIGEST_SIZE);
        digest_update_string(d, s->definition);
        for (size_t j = 0; j < s->n_inputs; j++) {
                const TemplateInput *in = template_find_input(t, s->inputs[j].name);
                digest_update_string(d, s->inputs[j].name);
                digest_update_string(d, in->kind->name);
                digest_update(d, s->inputs[j].digest, DIGEST_SIZE);
        }
        digest_update_string(d, "files");
        for (size_t j = 0; j < s->n_files; j++) {
                digest_update_string(d, s->files[j].name);
                digest_update(d, s->files[j].digest, DIGEST_SIZE);
        }
        digest_final(d, s->base_key);
        if (!s->has_result) {
                memcpy(s->key, s->base_key, DIGEST_SIZE);
                return;
        }
        _cleanup_(digest_freep) Digest *r = digest_new();
        digest_update_string(r, "baker-step-result");
        digest_update(r, s->base_key, DIGEST_SIZE);
        digest_update(r, s->result, DIGEST_SIZE);
        digest_final(r, s->key);
}

static void bake_key_of(const Plan *p, const char *layout, uint8_t ret[DIGEST_SIZE]) {
        _cleanup_(digest_freep) Digest *b = digest_new();
        digest_update_string(b, "baker-bake");
        digest_update(b, p->n_steps > 0 ? p->steps[p->n_steps - 1].key : p->header_key, DIGEST_SIZE);
        digest_update_string(b, layout);
        digest_final(b, ret);
}

static void plan_bake_key(Plan *p) {
        bake_key_of(p, p->layout, p->bake_key);
}

void plan_bake_key_for_version(const Plan *p, const char *version, uint8_t ret[DIGEST_SIZE]) {
        json_t *o = json_loads(p->layout, 0, NULL);
        if (!o)
                abort();
        json_object_set_new(o, "version", version ? json_string(version) : json_null());
        _cleanup_free_ char *layout = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        if (!layout)
                abort();
        bake_key_of(p, layout, ret);
}

void plan_set_result(Plan *p, size_t i, const uint8_t result[DIGEST_SIZE]) {
        if (i >= p->n_steps)
                return;
        PlanStep *s = &p->steps[i];
        s->has_result = true;
        memcpy(s->result, result, DIGEST_SIZE);
        for (size_t j = i; j < p->n_steps; j++) {
                if (j > i)
                        p->steps[j].has_result = false;
                plan_step_key(p->t, j > 0 ? p->steps[j - 1].key : p->header_key, &p->steps[j]);
        }
        plan_bake_key(p);
}

int plan_build(const Template *t, const Vars *vars, const PlanDigester *digester, Plan **ret) {
        static const PlanDigester defaults = { .input = plan_digest_input, .file = plan_digest_file };
        if (!digester)
                digester = &defaults;
        int r;
        _cleanup_(plan_freep) Plan *p = xcalloc(1, sizeof *p);
        p->t = t;

        _cleanup_(digest_freep) Digest *h = digest_new();
        _cleanup_free_ char *format = xasprintf("%d", BAKER_FORMAT_VERSION);
        digest_update_string(h, "baker-plan");
        digest_update_string(h, format);
        digest_final(h, p->header_key);

        _cleanup_free_ uint8_t(*input_digests)[DIGEST_SIZE] = xcalloc(t->n_inputs + 1, DIGEST_SIZE);
        _cleanup_free_ bool *have = xcalloc(t->n_inputs + 1, sizeof(bool));
        InputDigests cache = { .digest = input_digests, .have = have };

        const uint8_t *prev = p->header_key;
        p->steps = xcalloc(t->n_steps + 1, sizeof(PlanStep));
        p->secret_from = t->n_steps;
        for (size_t i = 0; i < t->n_steps; i++) {
                const TemplateStep *ts = &t->steps[i];
                PlanStep *s = &p->steps[p->n_steps++];
                s->index = i;
                s->kind = ts->kind;
                s->step = ts;
                s->display = ts->kind->display(ts);
                s->definition = step_definition(ts, vars);
                s->uses_secret = definition_uses_secret(s->definition, vars);
                if (s->uses_secret && p->secret_from == t->n_steps)
                        p->secret_from = i;
                r = plan_step_input(t, digester, &cache, p, s);
                if (r < 0)
                        return r;
                r = plan_step_file(t, digester, s);
                if (r < 0)
                        return r;
                plan_step_key(t, prev, s);
                prev = s->key;
        }

        p->layout = layout_json(t, vars);
        plan_bake_key(p);

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
                json_object_set_new(so, "kind", json_string(s->kind->name));
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
