/* `sysprep: default` (`keep: [OPERATION, ...]`): what makes an instance unique or leaks the build
 * removed from the tree offline (tree/sysprep.c). It removes files, so an appliance that holds a
 * copy of the tree is stopped first. */
#include <jansson.h>

#include "log.h"
#include "steps.h"
#include "sysprep.h"

static void sysprep_parse(Template *t, TemplateStep *s, const Node *step, const Node *value) {
        StepSysprep *p = &s->sysprep;
        if (!node_expect(t, value, NODE_SCALAR, "'sysprep'"))
                return;
        p->profile = xstrdup(value->value);
        if (!streq(value->value, "default"))
                template_add_error(t, value->pos, "unknown sysprep profile '%s' (the only one is 'default')", value->value);
        const Node *keep = node_get(step, "keep");
        if (!keep || !node_expect(t, keep, NODE_SEQUENCE, "'keep'"))
                return;
        p->keep_pos = keep->pos;
        p->keep = xcalloc(keep->n + 1, sizeof(char *)); /* NULL-terminated: sysprep_apply() reads it so */
        for (size_t i = 0; i < keep->n; i++)
                if (node_expect(t, keep->items[i], NODE_SCALAR, "a 'keep' entry"))
                        p->keep[p->n_keep++] = xstrdup(keep->items[i]->value);
}

static void sysprep_done(TemplateStep *s) {
        free(s->sysprep.profile);
        for (size_t j = 0; j < s->sysprep.n_keep; j++)
                free(s->sysprep.keep[j]);
        free(s->sysprep.keep);
}

static void sysprep_define(const TemplateStep *s, const Vars *vars, json_t *o) {
        const StepSysprep *p = &s->sysprep;
        json_object_set_new(o, "profile", json_string(p->profile));
        /* keep is a set: sorted, so its order in YAML does not matter */
        _cleanup_free_ const char **keep = xcalloc(p->n_keep + 1, sizeof(char *));
        for (size_t i = 0; i < p->n_keep; i++) {
                size_t j = i;
                while (j > 0 && strcmp(keep[j - 1], p->keep[i]) > 0) {
                        keep[j] = keep[j - 1];
                        j--;
                }
                keep[j] = p->keep[i];
        }
        json_t *a = json_array();
        for (size_t i = 0; i < p->n_keep; i++)
                if (i == 0 || !streq(keep[i], keep[i - 1]))
                        json_array_append_new(a, json_string(keep[i]));
        json_object_set_new(o, "keep", a);
}

static char *sysprep_display(const TemplateStep *s) {
        return xasprintf("sysprep %s", s->sysprep.profile);
}

static int sysprep_step_apply(const StepContext *c, const TemplateStep *s, Tree *tree) {
        int r = sysprep_apply(tree, (const char *const *) s->sysprep.keep, NULL);
        if (r < 0)
                return template_error_at(c->t, s->pos, "sysprep failed");
        return 0;
}

const StepOps step_sysprep = {
        .syntax = {
                .name = "sysprep",
                .keys = (const char *const[]) { "keep", NULL },
                .parse = sysprep_parse,
                .done = sysprep_done,
                .define = sysprep_define,
                .display = sysprep_display,
        },
        .flags = STEP_REMOVES_FILES,
        .apply = sysprep_step_apply,
};
