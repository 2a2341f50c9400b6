/* `unpack: INPUT` (`to: DIR`, "/" by default): an archive input extracted into the tree. */
#include <jansson.h>

#include "steps.h"
#include "tree.h"

static void unpack_parse(Template *t, TemplateStep *s, const Node *step, const Node *value) {
        StepUnpack *u = &s->unpack;
        if (node_expect(t, value, NODE_SCALAR, "'unpack'")) {
                u->input = xstrdup(value->value);
                u->input_pos = value->pos;
        }
        u->to = xstrdup("/");
        u->to_pos = step->pos;
        node_string(t, step, "to", &u->to, &u->to_pos);
        step_check_absolute_dir(t, u->to, u->to_pos);
}

static void unpack_done(TemplateStep *s) {
        free(s->unpack.input);
        free(s->unpack.to);
}

static const char *unpack_input(const TemplateStep *s, SourcePos *ret_pos) {
        *ret_pos = s->unpack.input_pos;
        return s->unpack.input;
}

static void unpack_define(const TemplateStep *s, const Vars *vars, json_t *o) {
        json_object_set_new(o, "input", json_string(s->unpack.input));
        json_object_set_new(o, "to", step_public_string(vars, s->unpack.to));
}

static char *unpack_display(const TemplateStep *s) {
        if (s->unpack.to && !streq(s->unpack.to, "/"))
                return xasprintf("unpack %s to %s", s->unpack.input, s->unpack.to);
        return xasprintf("unpack %s", s->unpack.input);
}

static int unpack_apply(const StepContext *c, const TemplateStep *s, Tree *tree) {
        const StepUnpack *u = &s->unpack;
        _cleanup_free_ char *to = NULL;
        int r = step_substitute(c, u->to ? u->to : "/", u->to_pos, &to);
        if (r < 0)
                return r;
        const TemplateInput *in = NULL;
        const char *path = step_input_path(c, u->input, &in);
        /* No file can be bigger than the disk: refuse it before its data (a sparse member's apparent
         * size, say) is written anywhere. */
        r = tree_add_archive(tree, path, to, c->t->has_disk ? c->t->disk.size : 0);
        if (r < 0) /* the archive error above names the cache blob: say which file that is */
                return template_error_at(c->t, u->input_pos, "failed to unpack input '%s' ('%s')", u->input,
                                         in && in->location ? in->location : "");
        return 0;
}

const StepOps step_unpack = {
        .syntax = {
                .name = "unpack",
                .keys = (const char *const[]) { "to", NULL },
                .parse = unpack_parse,
                .done = unpack_done,
                .input = unpack_input,
                .define = unpack_define,
                .display = unpack_display,
        },
        .apply = unpack_apply,
};
