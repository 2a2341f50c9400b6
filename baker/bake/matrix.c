/* baker plan --matrix: one entry per target (template × variable set) with its bake key and
 * whether the cache already holds the finished bake; see matrix.h. */
#include "matrix.h"

#include "cache.h"
#include "log.h"
#include "plan.h"
#include "remote-cache.h"
#include "steps.h"
#include "strv.h"

#define BAKE_NS "bakes" /* bake.c's namespace of finished bakes */

static void push_all(const char ***list, size_t *n, char *const *add, const char *const *more, size_t n_more) {
        size_t k = strv_length((const char *const *) add) + n_more;
        *list = xrealloc(*list, (*n + k + 1) * sizeof(char *));
        for (char *const *a = add; a && *a; a++)
                (*list)[(*n)++] = *a;
        for (size_t i = 0; i < n_more; i++)
                (*list)[(*n)++] = more[i];
}

/* The target's key, as `baker bake` for it would compute it: its own variables, then the
 * command line's. */
static int target_key(const MatrixOptions *o, const BakeTarget *bt, uint8_t ret_key[DIGEST_SIZE]) {
        VarsSources src = { .no_environment = o->vars.no_environment };
        push_all(&src.files, &src.n_files, bt->var_files, o->vars.files, o->vars.n_files);
        push_all(&src.assignments, &src.n_assignments, bt->vars, o->vars.assignments, o->vars.n_assignments);
        TemplateOptions to = o->template;
        to.kinds = steps_template_kinds();
        _cleanup_(template_freep) Template *t = NULL;
        _cleanup_(vars_freep) Vars *vars = NULL;
        vars_load_template(bt->template_path, &to, &src, &t, &vars);
        free(src.files);
        free(src.assignments);
        if (t->n_errors > 0) {
                template_print_errors(t);
                return -EINVAL;
        }
        _cleanup_(plan_freep) Plan *plan = NULL;
        int r = plan_build(t, vars, NULL, &plan);
        if (r < 0)
                return r;
        memcpy(ret_key, plan->bake_key, DIGEST_SIZE);
        return 0;
}

int matrix_build(const MatrixOptions *o, json_t **ret) {
        _cleanup_(cache_freep) Cache *cache = NULL;
        int r = cache_open(o->cache_dir, &cache);
        if (r < 0)
                return log_error_errno(r, "failed to open the cache: %m");
        _cleanup_(remote_cache_freep) RemoteCache *remote = o->cache_from ? remote_cache_new(o->cache_from, NULL) : NULL;
        json_t *include = json_array();
        for (size_t i = 0; i < o->targets->n; i++) {
                const BakeTarget *bt = o->targets->targets + i;
                uint8_t key[DIGEST_SIZE];
                r = target_key(o, bt, key);
                if (r < 0) {
                        json_decref(include);
                        return log_error_errno(r, "target '%s': no bake key", bt->name);
                }
                char s[DIGEST_STRING_MAX], hex[DIGEST_HEX_SIZE + 1];
                digest_to_string(key, s);
                digest_to_hex(key, hex);
                _cleanup_free_ char *dir = NULL;
                bool shared = remote_cache_has(remote, BAKE_NS, hex);
                bool cached = shared || cache_entry_lookup(cache, BAKE_NS, hex, &dir) >= 0;
                _cleanup_free_ char *command = o->bakefile ? xasprintf("baker bake -f %s --target %s", o->bakefile, bt->name)
                                                           : xasprintf("baker bake %s", bt->template_path);
                json_t *vars = json_object();
                for (char **v = bt->vars; v && *v; v++) {
                        _cleanup_free_ char *name = xstrndup(*v, strcspn(*v, "="));
                        json_object_set_new(vars, name, json_string(*v + strlen(name) + 1));
                }
                json_array_append_new(include, json_pack("{s:s, s:s, s:o, s:s, s:b, s:b, s:s}", "name", bt->name, "template",
                                                         bt->template_path, "vars", vars, "bake_key", s, "cached", cached,
                                                         "shared", shared, "command", command));
        }
        *ret = json_pack("{s:o}", "include", include);
        return 0;
}
