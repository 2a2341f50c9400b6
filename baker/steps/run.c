/* `run: SCRIPT` (`env: {NAME: TEXT}`, `network: true`): a shell script run INSIDE the image, in the
 * appliance. SCRIPT is a script file when it is one word ending in .sh or holding a '/' (taken
 * as it is), else the script text itself (variables substituted; `set -e` unless it starts with
 * its own "#!"). */
#include <jansson.h>
#include <sys/stat.h>

#include "guest.h"
#include "steps.h"

static void run_parse_env(Template *t, StepRun *run, const Node *env) {
        run->env = xcalloc(env->n, sizeof(TemplateEnv));
        for (size_t i = 0; i < env->n; i++) {
                const Node *k = env->keys[i], *ev = env->items[i];
                if (!template_valid_identifier(k->value))
                        template_add_error(t, k->pos, "invalid environment variable name '%s'", k->value);
                if (ev->type != NODE_SCALAR) {
                        node_expect(t, ev, NODE_SCALAR, "an environment value");
                        continue;
                }
                /* insert sorted by name: the order in YAML means nothing */
                size_t j = run->n_env;
                while (j > 0 && strcmp(run->env[j - 1].name, k->value) > 0) {
                        run->env[j] = run->env[j - 1];
                        j--;
                }
                run->env[j] = (TemplateEnv) { .name = xstrdup(k->value), .value = xstrdup(ev->value), .pos = k->pos };
                run->n_env++;
        }
}

static void run_parse(Template *t, TemplateStep *s, const Node *step, const Node *value) {
        StepRun *run = &s->run;
        if (!node_expect(t, value, NODE_SCALAR, "'run'"))
                return;
        run->script_pos = value->pos;
        if (!strpbrk(value->value, " \t\n") && (endswith(value->value, ".sh") || strchr(value->value, '/')))
                run->script_path = xstrdup(value->value); /* found by the check pass */
        else if (!*value->value)
                template_add_error(t, value->pos, "'run' has an empty script");
        else
                run->script = xstrdup(value->value);
        const Node *env = node_get(step, "env");
        if (env && node_expect(t, env, NODE_MAPPING, "'env'"))
                run_parse_env(t, run, env);
        node_bool(t, step, "network", &run->network, &run->network_pos);
}

static bool regular_file(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void run_check(Template *t, TemplateStep *s) {
        StepRun *run = &s->run;
        if (!run->script_path)
                return;
        _cleanup_free_ char *a = template_resolve_path(t, run->script_path);
        if (regular_file(a)) {
                run->script_resolved = TAKE_PTR(a);
                return;
        }
        /* templates/x.yaml may name the project's provisioners/ */
        _cleanup_free_ char *up = path_join(t->directory, "..");
        _cleanup_free_ char *b = run->script_path[0] == '/' ? NULL : path_join(up, run->script_path);
        if (b && regular_file(b))
                run->script_resolved = TAKE_PTR(b);
        else
                template_add_error(t, run->script_pos, "script '%s' does not exist", run->script_path);
}

static void run_done(TemplateStep *s) {
        StepRun *run = &s->run;
        free(run->script);
        free(run->script_path);
        free(run->script_resolved);
        for (size_t j = 0; j < run->n_env; j++) {
                free(run->env[j].name);
                free(run->env[j].value);
        }
        free(run->env);
}

static const char *run_file(const TemplateStep *s, const char **ret_host_path, SourcePos *ret_pos) {
        *ret_host_path = s->run.script_resolved;
        *ret_pos = s->run.script_pos;
        return s->run.script_path;
}

static void run_define(const TemplateStep *s, const Vars *vars, json_t *o) {
        const StepRun *run = &s->run;
        if (run->script_path)
                json_object_set_new(o, "script_file", json_string(run->script_path));
        else
                json_object_set_new(o, "script", step_public_string(vars, run->script));
        json_t *env = json_object();
        for (size_t i = 0; i < run->n_env; i++)
                json_object_set_new(env, run->env[i].name, step_public_string(vars, run->env[i].value));
        json_object_set_new(o, "env", env);
        json_object_set_new(o, "network", json_boolean(run->network));
}

static char *run_display(const TemplateStep *s) {
        if (s->name)
                return xasprintf("run %s", s->name);
        if (s->run.script_path)
                return xasprintf("run %s", s->run.script_path);
        /* inline: its first non-empty line, shortened */
        const char *p = s->run.script;
        while (*p == '\n' || *p == ' ')
                p++;
        size_t n = strcspn(p, "\n");
        bool more = n > 40 || p[n] == '\n';
        return xasprintf("run: %.*s%s", (int) MIN(n, (size_t) 40), p, more ? " ..." : "");
}

static bool run_needs_network(const TemplateStep *s) {
        return s->run.network;
}

static int run_script_text(const StepContext *c, const StepRun *run, char **ret) {
        if (run->script_resolved) {
                int r = read_full_file(run->script_resolved, ret, NULL);
                if (r < 0)
                        return template_error_at(c->t, run->script_pos, "cannot read script '%s': %s", run->script_path,
                                                 strerror(-r));
                return 0;
        }
        _cleanup_free_ char *body = NULL;
        int r = step_substitute(c, run->script, run->script_pos, &body);
        if (r < 0)
                return r;
        /* Inline scripts stop at the first failing command, as Packer's inline shell does; one
         * with its own "#!" line decides for itself. */
        *ret = startswith(body, "#!") ? TAKE_PTR(body) : xasprintf("set -e\n%s", body);
        return 0;
}

static void strv_freep(char ***l) {
        for (char **p = *l; p && *p; p++)
                free(*p);
        free(*l);
}

static int run_execute(const StepContext *c, const TemplateStep *s) {
        const StepRun *run = &s->run;
        _cleanup_free_ char *text = NULL;
        int r = run_script_text(c, run, &text);
        if (r < 0)
                return r;
        _cleanup_(strv_freep) char **env = xcalloc(run->n_env + 2, sizeof(char *));
        size_t n = 0;
        env[n++] = xasprintf("SOURCE_DATE_EPOCH=%lld", (long long) c->epoch);
        for (size_t i = 0; i < run->n_env; i++) {
                _cleanup_free_ char *v = NULL;
                if (vars_substitute(c->vars, run->env[i].value, VARS_SUBSTITUTE_ALL, &v) < 0)
                        v = xstrdup("");
                env[n++] = xasprintf("%s=%s", run->env[i].name, v);
        }
        int status = 0;
        r = guest_run(c->guest, c->label, text, (const char *const *) env, c->on_output, c->userdata, &status);
        if (r == GUEST_STEP_FAILED) { /* reported here, once, with the template position */
                const char *tail = guest_output_tail(c->guest);
                return template_error_at(c->t, s->pos, "step '%s' failed with exit code %d%s%s", c->label, status,
                                         *tail ? "; last lines:\n" : " and printed nothing", tail);
        }
        if (r < 0)
                return template_error_at(c->t, s->pos, "step '%s' could not be run", c->label);
        return 0;
}

const StepOps step_run = {
        .syntax = {
                .name = "run",
                .keys = (const char *const[]) { "env", "network", NULL },
                .parse = run_parse,
                .check = run_check,
                .done = run_done,
                .file = run_file,
                .define = run_define,
                .display = run_display,
        },
        .flags = STEP_NEEDS_APPLIANCE,
        .execute = run_execute,
        .needs_network = run_needs_network,
};
