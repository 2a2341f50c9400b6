#pragma once
/* The YAML node tree a template is read into (yaml.c, the only user of libyaml), and the checked
 * accessors that the template's sections and the step and input kinds (steps/) read it with.
 * Every accessor that finds something wrong records an error in the Template, at the node's
 * position, and returns false (or an invalid value): parsing goes on, so one run shows every
 * problem. Nothing here does file I/O. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "diagnostics.h"

typedef enum NodeType {
        NODE_SCALAR,
        NODE_MAPPING,
        NODE_SEQUENCE,
} NodeType;

typedef struct Node Node;
struct Node {
        NodeType type;
        SourcePos pos;
        char *value;  /* scalar */
        bool null;    /* plain "", "~" or "null" */
        Node **keys;  /* mapping: scalar key nodes */
        Node **items; /* mapping values, sequence items */
        size_t n;
};

Node *node_free(Node *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Node *, node_free);

/* Parses t->source into a node tree; NULL (with errors recorded in t) when there is none. */
Node *template_read_yaml(Template *t);

/* The value of key in mapping m, or NULL (also when m is not a mapping). */
const Node *node_get(const Node *m, const char *key);
/* "a mapping", "a list", "a string" or "empty", for messages. */
const char *node_kind(const Node *n);

/* A list of allowed keys for node_check_keys(): KEYS("from", "to"). */
#define KEYS(...) (const char *const[]) { __VA_ARGS__ }, ELEMENTSOF(((const char *const[]) { __VA_ARGS__ }))

/* n is of type (a scalar must not be null); else "WHAT must be a list, not a string". */
bool node_expect(Template *t, const Node *n, NodeType type, const char *what);
/* Unknown keys of m, each with a suggestion from allowed when one is close. Returns how many. */
unsigned node_check_keys(Template *t, const Node *m, const char *const *allowed, size_t n_allowed,
                         const char *context);
/* key's value in m, or NULL after "missing 'KEY' in CONTEXT". */
const Node *node_require(Template *t, const Node *m, const char *key, const char *context);
/* String value of key in m, if present and a string; *ret (freed first) and *ret_pos are set
 * only then. */
bool node_string(Template *t, const Node *m, const char *key, char **ret, SourcePos *ret_pos);
bool node_bool(Template *t, const Node *m, const char *key, bool *ret, SourcePos *ret_pos);
/* A size ("64MiB") greater than zero; what names it in messages. */
bool node_size(Template *t, const Node *v, const char *what, uint64_t *ret);
/* An enum-valued key: def when absent; unknown values are reported with the valid ones (or a
 * suggestion) and give -EINVAL. */
int node_enum(Template *t, const Node *m, const char *key, const char *(*to_string)(int), int max,
              int (*from_string)(const char *), int def, SourcePos *ret_pos);
#define NODE_ENUM(t, m, key, prefix, max, def, pos)                                                          \
        node_enum(t, m, key, (const char *(*)(int)) prefix##_to_string, max,                                \
                  (int (*)(const char *)) prefix##_from_string, def, pos)

/* "owner: UID:GID" of mapping m, when present: numeric only. */
typedef struct TemplateOwner {
        bool set;
        uid_t uid;
        gid_t gid;
        SourcePos pos;
} TemplateOwner;
void node_owner(Template *t, const Node *m, TemplateOwner *ret);

/* Lower-case names (letters, digits, '.', '_', '-', starting with a letter or digit), upper case
 * too when allow_upper; at most 128 bytes. */
bool template_valid_name(const char *s, bool allow_upper);
/* Shell-style identifiers: letters, digits and '_', not starting with a digit. */
bool template_valid_identifier(const char *s);
