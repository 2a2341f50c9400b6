/* The check pass (template.h): the only part of reading a template that looks at the host's
 * files. Each input and step kind checks what it names (kind.h). */
#include "kind.h"
#include "template.h"

void template_check(Template *t) {
        for (size_t i = 0; i < t->n_inputs; i++)
                if (t->inputs[i].kind && t->inputs[i].kind->check)
                        t->inputs[i].kind->check(t, &t->inputs[i]);
        for (size_t i = 0; i < t->n_steps; i++)
                if (t->steps[i].kind && t->steps[i].kind->check)
                        t->steps[i].kind->check(t, &t->steps[i]);
        template_sort_errors(t);
}
