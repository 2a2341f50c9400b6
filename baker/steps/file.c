/* `file: { path: /ABS, content: TEXT, mode: "0644", owner: "UID:GID" }`: one file written into the
 * tree, path and content with variables substituted, its mtime the epoch. */
#include <jansson.h>

#include "steps.h"
#include "tree.h"
#include "units.h"

static void file_parse(Template *t, TemplateStep *s, const Node *step, const Node *value) {
        StepFile *f = &s->file;
        if (!node_expect(t, value, NODE_MAPPING, "'file'"))
                return;
        node_check_keys(t, value, KEYS("path", "content", "mode", "owner"), "file step");
        if (node_require(t, value, "path", "file step") && node_string(t, value, "path", &f->path, &f->path_pos) &&
            f->path[0] != '/')
                template_add_error(t, f->path_pos, "file path '%s' must be absolute", f->path);
        if (node_require(t, value, "content", "file step")) {
                const Node *c = node_get(value, "content");
                if (c->type == NODE_SCALAR) { /* empty content is fine */
                        f->content = xstrdup(c->value);
                        f->content_pos = c->pos;
                } else
                        node_expect(t, c, NODE_SCALAR, "'content'");
        }
        f->mode = 0644;
        f->mode_pos = value->pos;
        _cleanup_free_ char *mode = NULL;
        if (node_string(t, value, "mode", &mode, &f->mode_pos) && units_parse_mode(mode, &f->mode) < 0)
                template_add_error(t, f->mode_pos, "mode '%s' is not an octal mode like \"0644\"", mode);
        node_owner(t, value, &f->owner);
}

static void file_done(TemplateStep *s) {
        free(s->file.path);
        free(s->file.content);
}

static void file_define(const TemplateStep *s, const Vars *vars, json_t *o) {
        _cleanup_free_ char *mode = xasprintf("%04o", s->file.mode);
        json_object_set_new(o, "path", step_public_string(vars, s->file.path));
        json_object_set_new(o, "content", step_public_string(vars, s->file.content));
        json_object_set_new(o, "mode", json_string(mode));
        step_define_owner(&s->file.owner, o);
}

static char *file_display(const TemplateStep *s) {
        return xasprintf("file %s", s->file.path);
}

static int file_apply(const StepContext *c, const TemplateStep *s, Tree *tree) {
        const StepFile *f = &s->file;
        _cleanup_free_ char *path = NULL, *content = NULL;
        int r = step_substitute(c, f->path, f->path_pos, &path);
        if (r < 0)
                return r;
        r = step_substitute(c, f->content, f->content_pos, &content);
        if (r < 0)
                return r;
        uint32_t uid = f->owner.set ? f->owner.uid : 0, gid = f->owner.set ? f->owner.gid : 0;
        r = tree_add_file(tree, path, content, strlen(content), f->mode, uid, gid, c->epoch);
        if (r < 0)
                return template_error_at(c->t, f->path_pos, "failed to add '%s': %s", path, strerror(-r));
        return 0;
}

const StepOps step_file = {
        .syntax = {
                .name = "file",
                .parse = file_parse,
                .done = file_done,
                .define = file_define,
                .display = file_display,
        },
        .apply = file_apply,
};
