/* Helpers the step and input rows share (steps.h). */
#include <jansson.h>
#include <sys/stat.h>

#include "steps.h"

const char *step_input_path(const StepContext *c, const char *name, const TemplateInput **ret_input) {
        for (size_t i = 0; i < c->t->n_inputs; i++)
                if (streq(c->t->inputs[i].name, name)) {
                        if (ret_input)
                                *ret_input = &c->t->inputs[i];
                        return c->input_paths[i];
                }
        return NULL;
}

int step_substitute(const StepContext *c, const char *s, SourcePos pos, char **ret) {
        int r = vars_substitute(c->vars, s ? s : "", VARS_SUBSTITUTE_ALL, ret);
        if (r < 0)
                return template_error_at(c->t, pos, "failed to substitute variables");
        return 0;
}

json_t *step_public_string(const Vars *vars, const char *s) {
        _cleanup_free_ char *out = NULL;
        if (vars_substitute(vars, s, VARS_SUBSTITUTE_PUBLIC, &out) < 0)
                return json_string(s); /* validation rejects these; keep the raw text */
        return json_string(out);
}

void step_define_owner(const TemplateOwner *o, json_t *def) {
        _cleanup_free_ char *owner = xasprintf("%u:%u", o->set ? (unsigned) o->uid : 0, o->set ? (unsigned) o->gid : 0);
        json_object_set_new(def, "owner", json_string(owner));
}

void step_check_absolute_dir(Template *t, const char *dir, SourcePos pos) {
        if (dir && dir[0] != '/')
                template_add_error(t, pos, "target directory '%s' must be absolute", dir);
}

bool input_parse_location(Template *t, TemplateInput *in, const Node *m) {
        return node_string(t, m, in->kind->name, &in->location, &in->location_pos);
}

void input_parse_sha256(Template *t, TemplateInput *in, const Node *m) {
        const Node *sha = node_get(m, "sha256");
        if (!sha || !node_expect(t, sha, NODE_SCALAR, "'sha256'"))
                return;
        in->sha256_pos = sha->pos;
        if (digest_from_string(sha->value, in->sha256) < 0)
                template_add_error(t, sha->pos, "'sha256' must be 64 hexadecimal digits, got '%s'", sha->value);
        else
                in->has_sha256 = true;
}

void input_check_not_empty(Template *t, TemplateInput *in) {
        if (!*in->location)
                template_add_error(t, in->location_pos, "input '%s': empty path", in->name);
}

int input_check_host_path(Template *t, TemplateInput *in, struct stat *ret_st) {
        if (!in->location || !*in->location)
                return -EINVAL;
        in->resolved_path = template_resolve_path(t, in->location);
        if (stat(in->resolved_path, ret_st) >= 0)
                return 0;
        if (streq(t->directory, "."))
                template_add_error(t, in->location_pos, "input '%s': '%s' does not exist", in->name, in->location);
        else /* say where it was looked for */
                template_add_error(t, in->location_pos, "input '%s': '%s' does not exist (%s)", in->name, in->location,
                                   in->resolved_path);
        return -ENOENT;
}
