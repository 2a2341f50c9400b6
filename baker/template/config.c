/* baker's configuration file: see config.h. Read with libyaml's document API, like the build file
 * (bakefile.c): small files whose nodes keep their positions for the error messages. */
#include "config.h"

#include <stdio.h>
#include <yaml.h>

#include "log.h"
#include "strv.h"

typedef struct Reader {
        const char *path;
        yaml_document_t doc;
        unsigned n_errors;
} Reader;

void baker_config_done(BakerConfig *c) {
        strv_free(c->cache_from);
        strv_free(c->cache_to);
        *c = (BakerConfig) {};
}

_printf_(3, 4) static void reader_error(Reader *r, const yaml_node_t *n, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        fprintf(stderr, "%s:%zu:%zu: error: %s\n", r->path, n ? n->start_mark.line + 1 : 1,
                n ? n->start_mark.column + 1 : 1, msg);
        r->n_errors++;
}

static const char *scalar(const yaml_node_t *n) {
        return n && n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : NULL;
}

/* One reference or a list of them; an empty list says "none" (and overrides the user's file). */
static void read_refs(Reader *r, const yaml_node_t *n, const char *key, char ***list, bool *has) {
        char **l = NULL;
        if (scalar(n)) {
                if (*scalar(n)) /* `to:` alone, or "", is an empty list */
                        strv_push(&l, NULL, xstrdup(scalar(n)));
        } else if (n->type == YAML_SEQUENCE_NODE)
                for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
                        const char *s = scalar(yaml_document_get_node(&r->doc, *i));
                        if (!s || !*s) {
                                reader_error(r, yaml_document_get_node(&r->doc, *i), "'cache.%s': expected a reference", key);
                                continue;
                        }
                        strv_push(&l, NULL, xstrdup(s));
                }
        else {
                reader_error(r, n, "'cache.%s' must be a reference or a list of references", key);
                return;
        }
        if (*has) { /* a file read before gave it */
                strv_free(l);
                return;
        }
        *list = l;
        *has = true;
}

static void read_cache(Reader *r, const yaml_node_t *n, BakerConfig *c) {
        if (n->type != YAML_MAPPING_NODE)
                return reader_error(r, n, "'cache' must be a mapping with 'from' and/or 'to'");
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                const yaml_node_t *kn = yaml_document_get_node(&r->doc, p->key);
                const yaml_node_t *v = yaml_document_get_node(&r->doc, p->value);
                const char *k = scalar(kn);
                if (streq_ptr(k, "from"))
                        read_refs(r, v, "from", &c->cache_from, &c->has_cache_from);
                else if (streq_ptr(k, "to"))
                        read_refs(r, v, "to", &c->cache_to, &c->has_cache_to);
                else
                        reader_error(r, kn, "unknown key '%s' in 'cache' (known: from, to)", k ? k : "?");
        }
}

static void read_root(Reader *r, const yaml_node_t *root, BakerConfig *c) {
        if (!root) /* an empty file */
                return;
        if (root->type != YAML_MAPPING_NODE)
                return reader_error(r, root, "a configuration file is a mapping (of 'cache')");
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
                const yaml_node_t *kn = yaml_document_get_node(&r->doc, p->key);
                const char *k = scalar(kn);
                if (streq_ptr(k, "cache"))
                        read_cache(r, yaml_document_get_node(&r->doc, p->value), c);
                else
                        reader_error(r, kn, "unknown key '%s' (known: cache)", k ? k : "?");
        }
}

int baker_config_load_file(const char *path, BakerConfig *c) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int k = read_full_file(path, &data, &size);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return log_error_errno(k, "failed to read the configuration file '%s': %m", path);
        Reader r = { .path = path };
        yaml_parser_t y;
        if (!yaml_parser_initialize(&y))
                abort();
        yaml_parser_set_input_string(&y, (const unsigned char *) data, size);
        if (!yaml_parser_load(&y, &r.doc)) {
                fprintf(stderr, "%s:%zu:%zu: error: %s\n", path, y.problem_mark.line + 1, y.problem_mark.column + 1,
                        y.problem ? y.problem : "invalid YAML");
                yaml_parser_delete(&y);
                return -EINVAL;
        }
        /* Nothing of a file with an error is used. */
        BakerConfig mine = *c;
        read_root(&r, yaml_document_get_root_node(&r.doc), &mine);
        yaml_document_delete(&r.doc);
        yaml_parser_delete(&y);
        if (r.n_errors > 0) {
                if (mine.cache_from != c->cache_from)
                        strv_free(mine.cache_from);
                if (mine.cache_to != c->cache_to)
                        strv_free(mine.cache_to);
                return -EINVAL;
        }
        *c = mine;
        return 0;
}

int baker_config_load(BakerConfig *ret) {
        BakerConfig c = {};
        _cleanup_free_ char *user = xdg_config_path(BAKER_CONFIG_USER);
        int r = baker_config_load_file(BAKER_CONFIG_PROJECT, &c);
        if (r >= 0)
                r = baker_config_load_file(user, &c);
        if (r < 0) {
                baker_config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}
