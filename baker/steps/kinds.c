/* The tables of step and input kinds (steps.h): one row each, in the order the template language
 * lists them in messages ("one of unpack, copy, ..."). Adding a kind is one file and one row. */
#include "steps.h"

#include <stddef.h>

extern const StepOps step_unpack, step_copy, step_file, step_run, step_sysprep, step_bootloader;
extern const InputOps input_url, input_file, input_path, input_debian;

const StepOps *const step_kinds[] = {
        &step_unpack, &step_copy, &step_file, &step_run, &step_sysprep, &step_bootloader,
};
const size_t n_step_kinds = ELEMENTSOF(step_kinds);

const InputOps *const input_kinds[] = {
        &input_url, &input_file, &input_path, &input_debian,
};
const size_t n_input_kinds = ELEMENTSOF(input_kinds);

const TemplateKinds *steps_template_kinds(void) {
        static const StepSyntax *steps[ELEMENTSOF(step_kinds)];
        static const InputSyntax *inputs[ELEMENTSOF(input_kinds)];
        static const TemplateKinds kinds = {
                .inputs = inputs, .n_inputs = ELEMENTSOF(inputs), .steps = steps, .n_steps = ELEMENTSOF(steps),
        };
        for (size_t i = 0; i < ELEMENTSOF(step_kinds); i++)
                steps[i] = &step_kinds[i]->syntax;
        for (size_t i = 0; i < ELEMENTSOF(input_kinds); i++)
                inputs[i] = &input_kinds[i]->syntax;
        return &kinds;
}

/* A row's syntax is its first member: the syntax a Template points to is the row. */
_Static_assert(offsetof(StepOps, syntax) == 0, "StepOps.syntax must come first");
_Static_assert(offsetof(InputOps, syntax) == 0, "InputOps.syntax must come first");

const StepOps *step_ops(const TemplateStep *s) {
        return (const StepOps *) s->kind;
}

const InputOps *input_ops(const TemplateInput *in) {
        return (const InputOps *) in->kind;
}

const StepOps *step_kind_find(const char *name) {
        for (size_t i = 0; i < n_step_kinds; i++)
                if (streq(step_kinds[i]->syntax.name, name))
                        return step_kinds[i];
        return NULL;
}

const InputOps *input_kind_find(const char *name) {
        for (size_t i = 0; i < n_input_kinds; i++)
                if (streq(input_kinds[i]->syntax.name, name))
                        return input_kinds[i];
        return NULL;
}
