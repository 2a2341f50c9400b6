/* The checked accessors of node.h. */
#include "node.h"

#include <ctype.h>

#include "template.h"
#include "units.h"

const Node *node_get(const Node *m, const char *key) {
        if (!m || m->type != NODE_MAPPING)
                return NULL;
        for (size_t i = 0; i < m->n; i++)
                if (streq(m->keys[i]->value, key))
                        return m->items[i];
        return NULL;
}

const char *node_kind(const Node *n) {
        if (n->type == NODE_MAPPING)
                return "a mapping";
        if (n->type == NODE_SEQUENCE)
                return "a list";
        return n->null ? "empty" : "a string";
}

bool node_expect(Template *t, const Node *n, NodeType type, const char *what) {
        if (n->type == type && !(type == NODE_SCALAR && n->null))
                return true;
        static const char *const names[] = {
                [NODE_SCALAR] = "a string",
                [NODE_MAPPING] = "a mapping",
                [NODE_SEQUENCE] = "a list",
        };
        if (n->null)
                template_add_error(t, n->pos, "%s has no value, expected %s", what, names[type]);
        else
                template_add_error(t, n->pos, "%s must be %s, not %s", what, names[type], node_kind(n));
        return false;
}

/* Unknown keys, each with a suggestion from `allowed` when one is close. Returns how many. */
unsigned node_check_keys(Template *t, const Node *m, const char *const *allowed, size_t n_allowed,
                           const char *context) {
        unsigned unknown = 0;
        for (size_t i = 0; i < m->n; i++) {
                const char *k = m->keys[i]->value;
                bool ok = false;
                for (size_t j = 0; j < n_allowed && !ok; j++)
                        ok = streq(k, allowed[j]);
                if (ok)
                        continue;
                unknown++;
                const char *s = template_suggest(k, allowed, n_allowed);
                if (s)
                        template_add_error(t, m->keys[i]->pos, "unknown key '%s' in %s; did you mean '%s'?", k,
                                           context, s);
                else
                        template_add_error(t, m->keys[i]->pos, "unknown key '%s' in %s", k, context);
        }
        return unknown;
}

const Node *node_require(Template *t, const Node *m, const char *key, const char *context) {
        const Node *v = node_get(m, key);
        if (!v)
                template_add_error(t, m->pos, "missing '%s' in %s", key, context);
        return v;
}

/* String value of key in m, if present and a string; *ret stays untouched otherwise. */
bool node_string(Template *t, const Node *m, const char *key, char **ret, SourcePos *ret_pos) {
        const Node *v = node_get(m, key);
        char what[160];
        snprintf(what, sizeof what, "'%s'", key);
        if (!v || !node_expect(t, v, NODE_SCALAR, what))
                return false;
        free(*ret);
        *ret = xstrdup(v->value);
        if (ret_pos)
                *ret_pos = v->pos;
        return true;
}

bool node_bool(Template *t, const Node *m, const char *key, bool *ret, SourcePos *ret_pos) {
        const Node *v = node_get(m, key);
        if (!v)
                return false;
        if (v->type == NODE_SCALAR && !v->null) {
                if (streq(v->value, "true") || streq(v->value, "false")) {
                        *ret = streq(v->value, "true");
                        if (ret_pos)
                                *ret_pos = v->pos;
                        return true;
                }
        }
        template_add_error(t, v->pos, "'%s' must be true or false", key);
        return false;
}

bool template_valid_name(const char *s, bool allow_upper) {
        if (!s || !*s || strlen(s) > 128)
                return false;
        if (!(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0]) ||
              (allow_upper && isupper((unsigned char) s[0]))))
                return false;
        for (const char *p = s; *p; p++)
                if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || strchr("._-", *p) ||
                      (allow_upper && isupper((unsigned char) *p))))
                        return false;
        return true;
}

bool template_valid_identifier(const char *s) {
        if (!s || !*s || strlen(s) > 128 || isdigit((unsigned char) s[0]))
                return false;
        for (const char *p = s; *p; p++)
                if (!(isalnum((unsigned char) *p) || *p == '_'))
                        return false;
        return true;
}

int node_enum(Template *t, const Node *m, const char *key, const char *(*to_string)(int), int max,
                    int (*from_string)(const char *), int def, SourcePos *ret_pos) {
        const Node *v = node_get(m, key);
        if (!v)
                return def;
        char what[160];
        snprintf(what, sizeof what, "'%s'", key);
        if (!node_expect(t, v, NODE_SCALAR, what))
                return -EINVAL;
        if (ret_pos)
                *ret_pos = v->pos;
        int r = from_string(v->value);
        if (r >= 0)
                return r;
        const char *names[16];
        char list[400] = "";
        for (int i = 0; i < max && i < 16; i++) {
                names[i] = to_string(i);
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
        }
        const char *s = template_suggest(v->value, names, (size_t) MIN(max, 16));
        if (s)
                template_add_error(t, v->pos, "unknown %s '%s'; did you mean '%s'?", key, v->value, s);
        else
                template_add_error(t, v->pos, "unknown %s '%s' (expected one of: %s)", key, v->value, list);
        return -EINVAL;
}

bool node_size(Template *t, const Node *v, const char *what, uint64_t *ret) {
        if (!node_expect(t, v, NODE_SCALAR, what))
                return false;
        int r = units_parse_size(v->value, ret);
        if (r == -ERANGE)
                template_add_error(t, v->pos, "%s '%s' is too large", what, v->value);
        else if (r < 0)
                template_add_error(t, v->pos, "%s '%s' is not a size (like 512K, 64MiB, 2GiB or bytes)", what,
                                   v->value);
        else if (*ret == 0)
                template_add_error(t, v->pos, "%s must be greater than zero", what);
        return r >= 0 && *ret > 0;
}

static bool parse_owner(const char *s, uid_t *ret_uid, gid_t *ret_gid) {
        unsigned long u, g;
        char *end;
        if (!isdigit((unsigned char) s[0]))
                return false;
        errno = 0;
        u = strtoul(s, &end, 10);
        if (errno || *end != ':' || !isdigit((unsigned char) end[1]) || u > 0xfffffffeUL)
                return false;
        g = strtoul(end + 1, &end, 10);
        if (errno || *end || g > 0xfffffffeUL)
                return false;
        *ret_uid = (uid_t) u;
        *ret_gid = (gid_t) g;
        return true;
}

void node_owner(Template *t, const Node *m, TemplateOwner *ret) {
        _cleanup_free_ char *owner = NULL;
        if (m->type != NODE_MAPPING || !node_string(t, m, "owner", &owner, &ret->pos))
                return;
        if (parse_owner(owner, &ret->uid, &ret->gid))
                ret->set = true;
        else
                template_add_error(t, ret->pos, "owner '%s' must be numeric \"UID:GID\"", owner);
}
