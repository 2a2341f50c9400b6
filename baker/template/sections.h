#pragma once
/* The template's fixed sections (sections.c), for template.c. */
#include "node.h"
#include "template.h"

void template_parse_variables(Template *t, const Node *m);
void template_parse_disk(Template *t, const Node *m);
void template_parse_outputs(Template *t, const Node *seq);
void template_parse_test(Template *t, const Node *m);
void template_parse_publish(Template *t, const Node *seq);
void template_glance_free(TemplateGlance *g);
void template_parse_channels(Template *t, const Node *seq);
