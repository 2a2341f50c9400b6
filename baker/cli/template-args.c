#include "template-args.h"

#include "steps.h"

bool template_args_parse_option(TemplateArgs *a, int c, const char *arg) {
        switch (c) {
        case TEMPLATE_ARG_ALLOW_UNPINNED:
                a->options.allow_unpinned = true;
                return true;
        case TEMPLATE_ARG_VAR:
                a->vars.assignments = xrealloc(a->vars.assignments, (a->vars.n_assignments + 1) * sizeof(char *));
                a->vars.assignments[a->vars.n_assignments++] = xstrdup(arg);
                return true;
        case TEMPLATE_ARG_VAR_FILE:
                a->vars.files = xrealloc(a->vars.files, (a->vars.n_files + 1) * sizeof(char *));
                a->vars.files[a->vars.n_files++] = xstrdup(arg);
                return true;
        case TEMPLATE_ARG_JSON:
                a->json = true;
                return true;
        default:
                return false;
        }
}

void template_args_done(TemplateArgs *a) {
        for (size_t i = 0; i < a->vars.n_assignments; i++)
                free((char *) a->vars.assignments[i]);
        free(a->vars.assignments);
        for (size_t i = 0; i < a->vars.n_files; i++)
                free((char *) a->vars.files[i]);
        free(a->vars.files);
        *a = (TemplateArgs) {};
}

void template_args_load(const TemplateArgs *a, const char *path, Template **ret_template, Vars **ret_vars) {
        TemplateOptions o = a->options;
        o.kinds = steps_template_kinds();
        vars_load_template(path, &o, &a->vars, ret_template, ret_vars);
}

void template_args_report_errors(const TemplateArgs *a, const Template *t) {
        template_report_errors(t, a->json);
}

void template_args_to_bake(const TemplateArgs *a, BakeOptions *o) {
        o->template = a->options;
        o->vars = a->vars;
        o->json = a->json;
}
