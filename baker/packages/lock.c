/* The lock file; see lock.h. */
#include "lock.h"

#include <jansson.h>

#include "log.h"

Lock *lock_new(void) {
        return xcalloc(1, sizeof(Lock));
}

static void lock_input_done(LockInput *in) {
        free(in->name);
        free(in->request);
        deb_package_set_done(&in->packages);
}

Lock *lock_free(Lock *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_inputs; i++)
                lock_input_done(&l->inputs[i]);
        free(l->inputs);
        free(l);
        return NULL;
}

char *lock_path_for_template(const char *template_path) {
        size_t n = strlen(template_path);
        if (endswith(template_path, ".yaml"))
                n -= 5;
        else if (endswith(template_path, ".yml"))
                n -= 4;
        return xasprintf("%.*s.lock", (int) n, template_path);
}

const LockInput *lock_find(const Lock *l, const char *name) {
        for (size_t i = 0; i < l->n_inputs; i++)
                if (streq(l->inputs[i].name, name))
                        return &l->inputs[i];
        return NULL;
}

static int compare_inputs(const void *a, const void *b) {
        return strcmp(((const LockInput *) a)->name, ((const LockInput *) b)->name);
}

void lock_set(Lock *l, const char *name, const char *request, const DebPackageSet *packages) {
        /* Copied first: name and request may be the entry's own, which is freed below. */
        char *name_copy = xstrdup(name), *request_copy = xstrdup(request);
        LockInput *in = (LockInput *) lock_find(l, name);
        if (in)
                lock_input_done(in);
        else {
                l->inputs = xrealloc(l->inputs, (l->n_inputs + 1) * sizeof(LockInput));
                in = &l->inputs[l->n_inputs++];
        }
        *in = (LockInput) { .name = name_copy, .request = request_copy };
        for (size_t i = 0; i < packages->n; i++)
                deb_package_set_add(&in->packages, &packages->packages[i]);
        (void) deb_package_set_sort(&in->packages);
        deb_package_set_digest(&in->packages, in->digest);
        qsort(l->inputs, l->n_inputs, sizeof(LockInput), compare_inputs);
}

void lock_retain(Lock *l, char *const *names, size_t n) {
        size_t k = 0;
        for (size_t i = 0; i < l->n_inputs; i++) {
                bool keep = false;
                for (size_t j = 0; j < n && !keep; j++)
                        keep = streq(l->inputs[i].name, names[j]);
                if (keep)
                        l->inputs[k++] = l->inputs[i];
                else
                        lock_input_done(&l->inputs[i]);
        }
        l->n_inputs = k;
}

static json_t *package_json(const DebPackage *p) {
        char hex[DIGEST_HEX_SIZE + 1];
        digest_to_hex(p->sha256, hex);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", p->name, "version", p->version, "architecture",
                              p->architecture, "source", p->source ? p->source : p->name);
        if (p->source_version)
                json_object_set_new(o, "source_version", json_string(p->source_version));
        json_object_set_new(o, "sha256", json_string(hex));
        json_object_set_new(o, "size", json_integer((json_int_t) p->size));
        json_object_set_new(o, "repository", json_string(p->repository ? p->repository : ""));
        json_object_set_new(o, "filename", json_string(p->filename ? p->filename : ""));
        return o;
}

static void append(char **text, const char *s) {
        char *t = xasprintf("%s%s", *text, s);
        free(*text);
        *text = t;
}

char *lock_format(const Lock *l) {
        char *text = xasprintf("{\n  \"lockVersion\": %d,\n  \"inputs\": {", LOCK_VERSION);
        for (size_t i = 0; i < l->n_inputs; i++) {
                const LockInput *in = &l->inputs[i];
                char d[DIGEST_STRING_MAX];
                digest_to_string(in->digest, d);
                json_t *name = json_string(in->name);
                _cleanup_free_ char *qname = json_dumps(name, JSON_ENCODE_ANY);
                json_decref(name);
                _cleanup_free_ char *head = xasprintf("%s\n    %s: {\n      \"request\": %s,\n      \"digest\": \"%s\",\n"
                                                      "      \"packages\": [",
                                                      i ? "," : "", qname, in->request, d);
                append(&text, head);
                for (size_t j = 0; j < in->packages.n; j++) {
                        json_t *p = package_json(&in->packages.packages[j]);
                        _cleanup_free_ char *line = json_dumps(p, JSON_PRESERVE_ORDER);
                        json_decref(p);
                        _cleanup_free_ char *s = xasprintf("%s\n        %s", j ? "," : "", line);
                        append(&text, s);
                }
                append(&text, "\n      ]\n    }");
        }
        append(&text, l->n_inputs ? "\n  }\n}\n" : "}\n}\n");
        return text;
}

int lock_save(const Lock *l, const char *path) {
        _cleanup_free_ char *text = lock_format(l);
        int r = write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return log_error_errno(r, "failed to write '%s': %m", path);
        return 0;
}

static const char *get_string(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static int parse_package(const char *path, const char *input, size_t index, const json_t *o, DebPackage *ret) {
        const char *name = get_string(o, "name"), *version = get_string(o, "version");
        const char *arch = get_string(o, "architecture"), *sha = get_string(o, "sha256");
        const char *repo = get_string(o, "repository"), *filename = get_string(o, "filename");
        json_t *size = json_object_get(o, "size");
        const char *missing = !json_is_object(o) ? "an object"
                              : !name           ? "\"name\""
                              : !version        ? "\"version\""
                              : !arch           ? "\"architecture\""
                              : !sha            ? "\"sha256\""
                              : !json_is_integer(size) || json_integer_value(size) < 0 ? "\"size\" (a number)"
                              : !repo           ? "\"repository\""
                              : !filename       ? "\"filename\""
                                                : NULL;
        if (missing)
                return log_error_errno(-EBADMSG, "%s: input '%s', package %zu: needs %s", path, input, index + 1, missing);
        DebPackage p = {
                .name = xstrdup(name), .version = xstrdup(version), .architecture = xstrdup(arch),
                .repository = xstrdup(repo), .filename = xstrdup(filename),
                .size = (uint64_t) json_integer_value(size), .has_sha256 = true,
        };
        deb_package_set_source(&p, get_string(o, "source"));
        const char *sv = get_string(o, "source_version");
        if (sv)
                p.source_version = xstrdup(sv);
        if (strlen(sha) != DIGEST_HEX_SIZE || digest_from_string(sha, p.sha256) < 0) {
                deb_package_done(&p);
                return log_error_errno(-EBADMSG, "%s: input '%s', package '%s': \"sha256\" is not 64 hex digits", path,
                                       input, name);
        }
        *ret = p;
        return 0;
}

static int parse_input(const char *path, const char *name, const json_t *o, LockInput *ret) {
        json_t *request = json_object_get(o, "request"), *packages = json_object_get(o, "packages");
        const char *digest = get_string(o, "digest");
        if (!json_is_object(o) || !json_is_object(request) || !json_is_array(packages) || !digest)
                return log_error_errno(-EBADMSG, "%s: input '%s' needs \"request\", \"digest\" and \"packages\"", path, name);
        LockInput in = { .name = xstrdup(name), .request = json_dumps(request, JSON_COMPACT | JSON_SORT_KEYS) };
        size_t i;
        json_t *p;
        json_array_foreach(packages, i, p) {
                DebPackage pkg;
                int r = parse_package(path, name, i, p, &pkg);
                if (r < 0) {
                        lock_input_done(&in);
                        return r;
                }
                deb_package_set_add(&in.packages, &pkg);
                deb_package_done(&pkg);
        }
        uint8_t want[DIGEST_SIZE];
        int r = deb_package_set_sort(&in.packages);
        if (r < 0) {
                lock_input_done(&in);
                return log_error_errno(-EBADMSG, "%s: input '%s' lists a package twice", path, name);
        }
        deb_package_set_digest(&in.packages, in.digest);
        if (digest_from_string(digest, want) < 0 || memcmp(want, in.digest, DIGEST_SIZE) != 0) {
                lock_input_done(&in);
                return log_error_errno(-EBADMSG,
                                       "%s: input '%s': \"digest\" does not match its packages (edited by hand?); "
                                       "run 'baker lock --update' to resolve it again",
                                       path, name);
        }
        *ret = in;
        return 0;
}

int lock_parse(const char *path, const char *data, size_t size, Lock **ret) {
        json_error_t err;
        json_t *root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &err);
        if (!root)
                return log_error_errno(-EBADMSG, "%s:%d:%d: %s", path, err.line, err.column, err.text);
        _cleanup_(lock_freep) Lock *l = lock_new();
        json_t *version = json_object_get(root, "lockVersion"), *inputs = json_object_get(root, "inputs");
        int r = 0;
        if (!json_is_integer(version) || json_integer_value(version) != LOCK_VERSION)
                r = log_error_errno(-EBADMSG, "%s: not a baker lock file of version %d (\"lockVersion\")", path,
                                    LOCK_VERSION);
        else if (!json_is_object(inputs))
                r = log_error_errno(-EBADMSG, "%s: \"inputs\" must be an object", path);
        const char *name;
        json_t *o;
        json_object_foreach(r < 0 ? NULL : inputs, name, o) {
                LockInput in;
                r = parse_input(path, name, o, &in);
                if (r < 0)
                        break;
                l->inputs = xrealloc(l->inputs, (l->n_inputs + 1) * sizeof(LockInput));
                l->inputs[l->n_inputs++] = in;
        }
        json_decref(root);
        if (r < 0)
                return r;
        qsort(l->inputs, l->n_inputs, sizeof(LockInput), compare_inputs);
        *ret = TAKE_PTR(l);
        return 0;
}

int lock_load(const char *path, Lock **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r = read_full_file(path, &data, &size);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return log_error_errno(r, "failed to read '%s': %m", path);
        return lock_parse(path, data, size, ret);
}

/* Appends "what 'a', 'b'" for the strings of x not in y. */
static void describe_missing(char **text, const char *what, const json_t *x, const json_t *y) {
        size_t i, j;
        json_t *a, *b;
        bool first = true;
        json_array_foreach(x, i, a) {
                bool found = false;
                json_array_foreach(y, j, b)
                        found = found || json_equal(a, b);
                if (found || !json_is_string(a))
                        continue;
                char *t = xasprintf("%s%s%s '%s'", *text, first ? (**text ? " and " : "") : ",", first ? what : "",
                                    json_string_value(a));
                free(*text);
                *text = t;
                first = false;
        }
}

char *lock_input_mismatch(const LockInput *in, const char *request) {
        json_t *a = json_loads(in->request, 0, NULL), *b = json_loads(request, 0, NULL);
        char *text = NULL;
        if (!a || !b)
                text = xstrdup("the lock's request cannot be read");
        else if (!json_equal(a, b)) {
                text = xstrdup("");
                const char *key;
                json_t *va;
                json_object_foreach(b, key, va) {
                        json_t *vb = json_object_get(a, key);
                        if (vb && json_equal(va, vb))
                                continue;
                        if (streq(key, "packages")) {
                                describe_missing(&text, "the template adds package", va, vb);
                                describe_missing(&text, "removes", vb, va);
                                continue;
                        }
                        _cleanup_free_ char *was = vb ? json_dumps(vb, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("nothing");
                        _cleanup_free_ char *now = json_dumps(va, JSON_COMPACT | JSON_ENCODE_ANY);
                        char *t = xasprintf("%s%s%s changed from %s to %s", text, *text ? " and " : "", key, was, now);
                        free(text);
                        text = t;
                }
                if (!*text)
                        text = (free(text), xstrdup("the request differs"));
        }
        json_decref(a);
        json_decref(b);
        return text;
}
