#include "template-args.h"

#include <jansson.h>

#include "log.h"
#include "events.h"

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
        Template *t = NULL;
        (void) template_parse(path, &a->options, &t);
        *ret_vars = NULL;
        /* Variables are resolved even when the template has errors, so their problems show in the
         * same run (the declarations are still known). */
        Vars *v = NULL;
        if (vars_resolve(t, &a->vars, &v) >= 0 && t->n_errors == 0)
                *ret_vars = v;
        else
                vars_free(v);
        *ret_template = t;
}

void template_args_report_errors(const TemplateArgs *a, const Template *t) {
        if (!a->json) {
                template_print_errors(t);
                return;
        }
        json_t *o = json_object(), *errors = json_array();
        for (size_t i = 0; i < t->n_errors; i++) {
                const TemplateError *e = &t->errors[i];
                json_t *eo = json_object();
                json_object_set_new(eo, "file", e->pos.file ? json_string(e->pos.file) : json_null());
                json_object_set_new(eo, "line", json_integer(e->pos.line));
                json_object_set_new(eo, "column", json_integer(e->pos.column));
                json_object_set_new(eo, "message", json_string(e->message));
                json_array_append_new(errors, eo);
        }
        json_object_set_new(o, "valid", json_false());
        json_object_set_new(o, "errors", errors);
        events_print_document(o);
}
