/* Identity inside the image: os-release gains IMAGE_ID/IMAGE_VERSION, /usr/lib/baker/stamp.json
 * records the bake, and /etc/fstab comes from the layout. */
#include "bake-internal.h"
#include "log.h"
#include "stamp.h"

json_t *bake_inputs_json(const Bake *b, BakeManifest *m) {
        json_t *o = json_object();
        for (size_t i = 0; i < b->plan->n_steps; i++)
                for (size_t k = 0; k < b->plan->steps[i].n_inputs; k++) {
                        const PlanDigest *d = b->plan->steps[i].inputs + k;
                        char s[DIGEST_STRING_MAX];
                        digest_to_string(d->digest, s);
                        json_object_set_new(o, d->name, json_string(s));
                        const TemplateInput *in = template_find_input(b->t, d->name);
                        if (m && in)
                                manifest_add_input(m, d->name, in->kind->name, in->location, s);
                }
        return o;
}

static int read_tree_file(const Tree *t, const TreeEntry *e, char **ret) {
        char *buf = xmalloc(e->size + 1);
        ssize_t n = tree_read(t, e, 0, buf, e->size);
        if (n < 0 || (uint64_t) n != e->size) {
                free(buf);
                return n < 0 ? (int) n : -EIO;
        }
        buf[e->size] = 0;
        *ret = buf;
        return 0;
}

int bake_stamp_tree(Bake *b, const Assembly *a, int64_t epoch) {
        const Template *t = b->t;
        char key[DIGEST_STRING_MAX];
        digest_to_string(b->plan->bake_key, key);

        /* os-release is usually a symlink to ../usr/lib/os-release: stamp the file it names. */
        const char *path = "etc/os-release";
        const TreeEntry *e = tree_lookup(b->tree, path);
        _cleanup_free_ char *target = NULL;
        if (e && e->type == TREE_SYMLINK) {
                target = e->link_target[0] == '/' ? xstrdup(e->link_target + 1) : path_join("etc", e->link_target);
                path = startswith(target, "etc/../") ? target + 7 : target;
                e = tree_lookup(b->tree, path);
        }
        _cleanup_free_ char *old = NULL;
        uint32_t mode = 0644, uid = 0, gid = 0;
        if (e && e->type == TREE_REG) {
                if (read_tree_file(b->tree, e, &old) < 0)
                        return log_error_errno(-EIO, "failed to read '/%s' from the tree", path);
                mode = e->mode, uid = e->uid, gid = e->gid;
        }
        _cleanup_free_ char *osr = stamp_os_release(old, t->name, t->version);
        int r = tree_add_file(b->tree, path, osr, strlen(osr), mode, uid, gid, epoch);
        if (r < 0)
                return log_error_errno(r, "failed to stamp '/%s': %m", path);

        json_t *inputs = bake_inputs_json(b, NULL);
        _cleanup_free_ char *stamp = stamp_json(t->name, t->version, key, inputs);
        json_decref(inputs);
        r = tree_add_file(b->tree, STAMP_PATH, stamp, strlen(stamp), 0644, 0, 0, epoch);
        if (r < 0)
                return log_error_errno(r, "failed to write '/%s': %m", STAMP_PATH);

        _cleanup_free_ char *fstab = assembly_fstab(a);
        r = tree_add_file(b->tree, "etc/fstab", fstab, strlen(fstab), 0644, 0, 0, epoch);
        if (r < 0)
                return log_error_errno(r, "failed to write '/etc/fstab': %m");
        return tree_clamp_times(b->tree, epoch);
}

