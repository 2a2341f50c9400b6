/* Fuzz target for the template parser and validator: any bytes must give a Template with or
 * without errors, never a crash, a leak or unbounded memory. Also formats every error (the
 * caret printer walks the source) and, for valid input, builds a plan with fake digests. */
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "plan.h"
#include "steps.h"
#include "template.h"

static int fake_input(const TemplateInput *in, uint8_t ret[DIGEST_SIZE], void *userdata) {
        digest_buffer(in->name, strlen(in->name), ret);
        return 0;
}

static int fake_file(const char *path, uint8_t ret[DIGEST_SIZE], void *userdata) {
        digest_buffer(path, strlen(path), ret);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool quiet;
        if (!quiet) {
                log_set_max_level(LOG_LEVEL_ERROR);
                quiet = true;
        }
        Template *t = NULL;
        TemplateOptions o = { .allow_unpinned = true, .kinds = steps_template_kinds() };
        if (template_parse_buffer("fuzz.yaml", "/nonexistent", data, size, &o, &t) < 0)
                return 0;
        FILE *saved = stderr;
        stderr = fopen("/dev/null", "w");
        if (stderr) {
                template_print_errors(t);
                fclose(stderr);
        }
        stderr = saved;
        if (t->n_errors == 0) {
                Vars *v = NULL;
                VarsSources src = { .no_environment = true };
                if (vars_resolve(t, &src, &v) >= 0) {
                        PlanDigester d = { .input = fake_input, .file = fake_file };
                        Plan *p = NULL;
                        if (plan_build(t, v, &d, &p) >= 0)
                                plan_free(p);
                        vars_free(v);
                }
        }
        template_free(t);
        return 0;
}
