/* Reads a template's bytes into the node tree (node.h). libyaml is read through its event API so
 * that every node keeps its position. Besides the small build and configuration files (bakefile.c,
 * config.c, through the document API), the only file that includes <yaml.h>. Aliases are refused
 * outright: they are the only way a small YAML file can expand into a huge document ("billion
 * laughs"), and templates have no need for them. */
#include <yaml.h>

#include "node.h"
#include "template.h"

Node *node_free(Node *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n; i++) {
                if (n->keys)
                        node_free(n->keys[i]);
                node_free(n->items[i]);
        }
        free(n->keys);
        free(n->items);
        free(n->value);
        free(n);
        return NULL;
}

typedef struct Parser {
        yaml_parser_t yaml;
        Template *t;
        size_t n_nodes;
} Parser;

static SourcePos mark_pos(const Template *t, yaml_mark_t m) {
        return (SourcePos) { .file = t->path, .line = (unsigned) m.line + 1, .column = (unsigned) m.column + 1 };
}

static SourcePos offset_pos(const Template *t, size_t offset) {
        SourcePos pos = { .file = t->path, .line = 1, .column = 1 };
        for (size_t i = 0; i < offset && i < t->source_size; i++) {
                unsigned char c = (unsigned char) t->source[i];
                if (c == '\n') {
                        pos.line++;
                        pos.column = 1;
                } else if ((c & 0xC0) != 0x80)
                        pos.column++;
        }
        return pos;
}

static int parser_error(Parser *ps) {
        yaml_parser_t *y = &ps->yaml;
        SourcePos pos = y->error == YAML_READER_ERROR ? offset_pos(ps->t, y->problem_offset)
                                                      : mark_pos(ps->t, y->problem_mark);
        const char *problem = y->problem ?: "unknown problem";
        if (y->error == YAML_MEMORY_ERROR)
                abort();
        if (y->error == YAML_READER_ERROR)
                template_add_error(ps->t, pos, "not a text file: %s (byte 0x%02x)", problem,
                                   (unsigned) (y->problem_value & 0xff));
        else if (y->context)
                template_add_error(ps->t, pos, "invalid YAML: %s, %s", problem, y->context);
        else
                template_add_error(ps->t, pos, "invalid YAML: %s", problem);
        return -EINVAL;
}

static int next_event(Parser *ps, yaml_event_t *e) {
        if (!yaml_parser_parse(&ps->yaml, e))
                return parser_error(ps);
        return 0;
}

static Node *node_new(Parser *ps, NodeType type, yaml_mark_t m) {
        Node *n = xcalloc(1, sizeof *n);
        n->type = type;
        n->pos = mark_pos(ps->t, m);
        return n;
}

static void node_append(Node *parent, Node *key, Node *item) {
        if ((parent->n & (parent->n - 1)) == 0) { /* grow at powers of two */
                size_t cap = parent->n ? parent->n * 2 : 1;
                parent->items = xrealloc(parent->items, cap * sizeof(Node *));
                if (parent->type == NODE_MAPPING)
                        parent->keys = xrealloc(parent->keys, cap * sizeof(Node *));
        }
        if (parent->type == NODE_MAPPING)
                parent->keys[parent->n] = key;
        parent->items[parent->n++] = item;
}

/* Builds the node starting with event e (which this takes over). */
static int parse_node(Parser *ps, yaml_event_t *e, unsigned depth, Node **ret) {
        int r;
        if (++ps->n_nodes > TEMPLATE_NODES_MAX) {
                template_add_error(ps->t, mark_pos(ps->t, e->start_mark),
                                   "template has too many nodes (more than %u)", TEMPLATE_NODES_MAX);
                yaml_event_delete(e);
                return -EINVAL;
        }
        switch (e->type) {
        case YAML_ALIAS_EVENT:
                template_add_error(ps->t, mark_pos(ps->t, e->start_mark), "YAML aliases are not supported");
                yaml_event_delete(e);
                return -EINVAL;
        case YAML_SCALAR_EVENT: {
                Node *n = node_new(ps, NODE_SCALAR, e->start_mark);
                size_t len = e->data.scalar.length;
                const char *v = (const char *) e->data.scalar.value;
                n->value = xstrndup(v, len);
                if (strlen(n->value) != len) {
                        template_add_error(ps->t, n->pos, "string contains a NUL character");
                        n->value[0] = 0; /* keep going: other errors may follow */
                }
                n->null = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                          (len == 0 || streq(n->value, "~") || streq(n->value, "null") ||
                           streq(n->value, "Null") || streq(n->value, "NULL"));
                yaml_event_delete(e);
                *ret = n;
                return 0;
        }
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
                bool mapping = e->type == YAML_MAPPING_START_EVENT;
                _cleanup_(node_freep) Node *n = node_new(ps, mapping ? NODE_MAPPING : NODE_SEQUENCE, e->start_mark);
                yaml_event_delete(e);
                if (depth >= TEMPLATE_DEPTH_MAX) {
                        template_add_error(ps->t, n->pos, "template nested too deeply (more than %u levels)",
                                           TEMPLATE_DEPTH_MAX);
                        return -EINVAL;
                }
                for (;;) {
                        yaml_event_t ev;
                        r = next_event(ps, &ev);
                        if (r < 0)
                                return r;
                        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
                                yaml_event_delete(&ev);
                                break;
                        }
                        _cleanup_(node_freep) Node *key = NULL;
                        if (mapping) {
                                r = parse_node(ps, &ev, depth + 1, &key);
                                if (r < 0)
                                        return r;
                                r = next_event(ps, &ev);
                                if (r < 0)
                                        return r;
                        }
                        _cleanup_(node_freep) Node *item = NULL;
                        r = parse_node(ps, &ev, depth + 1, &item);
                        if (r < 0)
                                return r;
                        if (mapping && key->type != NODE_SCALAR) {
                                template_add_error(ps->t, key->pos, "mapping keys must be strings");
                                continue;
                        }
                        if (mapping && node_get(n, key->value)) {
                                template_add_error(ps->t, key->pos, "duplicate key '%s'", key->value);
                                continue;
                        }
                        node_append(n, TAKE_PTR(key), TAKE_PTR(item));
                }
                *ret = TAKE_PTR(n);
                return 0;
        }
        default:
                template_add_error(ps->t, mark_pos(ps->t, e->start_mark), "unexpected YAML event");
                yaml_event_delete(e);
                return -EINVAL;
        }
}

/* Parses t->source into a node tree; NULL (with errors recorded) when there is none. */
Node *template_read_yaml(Template *t) {
        Parser ps = { .t = t };
        SourcePos file_pos = { .file = t->path };
        if (t->source_size == 0) {
                template_add_error(t, file_pos, "template is empty");
                return NULL;
        }
        if (!yaml_parser_initialize(&ps.yaml))
                abort();
        yaml_parser_set_input_string(&ps.yaml, (const unsigned char *) t->source, t->source_size);
        Node *root = NULL;
        yaml_event_t e;
        bool done = false;
        if (next_event(&ps, &e) < 0) /* STREAM_START */
                goto finish;
        yaml_event_delete(&e);
        if (next_event(&ps, &e) < 0)
                goto finish;
        if (e.type == YAML_STREAM_END_EVENT) {
                yaml_event_delete(&e);
                template_add_error(t, file_pos, "template is empty");
                goto finish;
        }
        yaml_event_delete(&e); /* DOCUMENT_START */
        if (next_event(&ps, &e) < 0)
                goto finish;
        if (parse_node(&ps, &e, 0, &root) < 0)
                goto finish;
        if (next_event(&ps, &e) < 0) /* DOCUMENT_END */
                goto finish;
        yaml_event_delete(&e);
        if (next_event(&ps, &e) < 0)
                goto finish;
        if (e.type != YAML_STREAM_END_EVENT)
                template_add_error(t, mark_pos(t, e.start_mark), "more than one YAML document in template");
        else
                done = true;
        yaml_event_delete(&e);
finish:
        yaml_parser_delete(&ps.yaml);
        if (!done)
                root = node_free(root);
        return root;
}

