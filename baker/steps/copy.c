/* `copy: { from: INPUT, to: DIR, owner: "UID:GID" }`: an input's file or directory copied into
 * the tree. A one-file input (url, file) is a read-only blob named by its digest in the cache: it
 * is named after the input's location and given a mode of its own (InputOps.copy_mode). */
#include <jansson.h>

#include "steps.h"
#include "tree.h"

static void copy_parse(Template *t, TemplateStep *s, const Node *step, const Node *value) {
        StepCopy *c = &s->copy;
        if (!node_expect(t, value, NODE_MAPPING, "'copy'"))
                return;
        node_check_keys(t, value, KEYS("from", "to", "owner"), "copy step");
        if (node_require(t, value, "from", "copy step"))
                node_string(t, value, "from", &c->from, &c->from_pos);
        if (node_require(t, value, "to", "copy step"))
                node_string(t, value, "to", &c->to, &c->to_pos);
        node_owner(t, value, &c->owner);
        step_check_absolute_dir(t, c->to, c->to_pos);
}

static void copy_done(TemplateStep *s) {
        free(s->copy.from);
        free(s->copy.to);
}

static const char *copy_input(const TemplateStep *s, SourcePos *ret_pos) {
        *ret_pos = s->copy.from_pos;
        return s->copy.from;
}

static void copy_define(const TemplateStep *s, const Vars *vars, json_t *o) {
        json_object_set_new(o, "from", json_string(s->copy.from));
        json_object_set_new(o, "to", step_public_string(vars, s->copy.to));
        step_define_owner(&s->copy.owner, o);
}

static char *copy_display(const TemplateStep *s) {
        return xasprintf("copy %s to %s", s->copy.from, s->copy.to);
}

/* "https://host/dir/name.tar?x=y" -> "name.tar" */
static char *location_basename(const char *location) {
        _cleanup_free_ char *loc = xstrdup(location);
        char *q = strchr(loc, '?');
        if (q)
                *q = 0;
        const char *slash = strrchr(loc, '/');
        return xstrdup(slash ? slash + 1 : loc);
}

static int copy_apply(const StepContext *ctx, const TemplateStep *s, Tree *tree) {
        const StepCopy *c = &s->copy;
        int uid = c->owner.set ? (int) c->owner.uid : 0, gid = c->owner.set ? (int) c->owner.gid : 0;
        _cleanup_free_ char *to = NULL;
        int r = step_substitute(ctx, c->to ? c->to : "/", c->to_pos, &to);
        if (r < 0)
                return r;
        const TemplateInput *in = NULL;
        const char *path = step_input_path(ctx, c->from, &in);
        const InputOps *ops = in ? input_ops(in) : NULL;
        if (ops && ops->copy_mode) {
                const TreeEntry *de = tree_lookup(tree, to);
                _cleanup_free_ char *base = location_basename(in->location);
                _cleanup_free_ char *dest = de && de->type == TREE_DIR ? path_join(to, base) : xstrdup(to);
                r = tree_add_host_path(tree, path, dest, uid, gid);
                if (r >= 0)
                        r = tree_set_mode(tree, dest, ops->copy_mode(in));
        } else
                r = tree_add_host_path(tree, path, to, uid, gid);
        if (r < 0)
                return template_error_at(ctx->t, c->from_pos, "failed to copy input '%s'", c->from);
        return 0;
}

const StepOps step_copy = {
        .syntax = {
                .name = "copy",
                .parse = copy_parse,
                .done = copy_done,
                .input = copy_input,
                .define = copy_define,
                .display = copy_display,
        },
        .apply = copy_apply,
};
