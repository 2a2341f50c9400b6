/* Configuration YAML into JSON values (yaml-json.h). */
#include "yaml-json.h"

#include <errno.h>
#include <sys/stat.h>

#include "diagnostics.h"
#include "log.h"
#include "node.h"
#include "template.h"

static json_t *node_to_json(const Node *n) {
        switch (n->type) {
        case NODE_SCALAR:
                return n->null ? json_null() : json_string(n->value);
        case NODE_SEQUENCE: {
                json_t *a = json_array();
                for (size_t i = 0; i < n->n; i++)
                        json_array_append_new(a, node_to_json(n->items[i]));
                return a;
        }
        case NODE_MAPPING: {
                json_t *o = json_object();
                for (size_t i = 0; i < n->n; i++)
                        json_object_set_new(o, n->keys[i]->value, node_to_json(n->items[i]));
                return o;
        }
        }
        return json_null();
}

int yaml_file_to_json(const char *path, json_t **ret) {
        _cleanup_(template_freep) Template *t = xcalloc(1, sizeof *t);
        int k = read_full_file(path, &t->source, &t->source_size);
        if (k == -ENOENT)
                return k;
        if (k < 0)
                return log_error_errno(k, "failed to read '%s': %m", path);
        t->path = xstrdup(path);
        t->directory = xstrdup(".");
        _cleanup_(node_freep) Node *root = template_read_yaml(t);
        if (t->n_errors > 0 || !root) {
                template_sort_errors(t);
                template_print_errors(t);
                return -EBADMSG;
        }
        *ret = node_to_json(root);
        return 0;
}
