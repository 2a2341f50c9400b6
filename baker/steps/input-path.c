/* `path: DIR`: a directory on the host, relative to the template's directory, used in place
 * (its digest covers every file's path, metadata and bytes). */
#include <sys/stat.h>

#include "log.h"
#include "steps.h"

static void path_parse(Template *t, TemplateInput *in, const Node *m, const TemplateOptions *opts) {
        if (!input_parse_location(t, in, m))
                return;
        const Node *sha = node_get(m, "sha256");
        if (sha)
                template_add_error(t, sha->pos, "'sha256' cannot pin a 'path' input (a directory)");
        input_check_not_empty(t, in);
}

static void path_check(Template *t, TemplateInput *in) {
        struct stat st;
        if (input_check_host_path(t, in, &st) >= 0 && !S_ISDIR(st.st_mode))
                template_add_error(t, in->location_pos, "input '%s': '%s' is not a directory", in->name, in->location);
}

/* A FIFO, socket or device in the folder is refused, named: the digest cannot cover it, and an
 * image's special files come from archives (unpack), not from a checkout. */
static int path_digest(const TemplateInput *in, FileDigestFn hash_file, void *userdata, uint8_t ret[DIGEST_SIZE]) {
        _cleanup_free_ char *special = NULL;
        int r = digest_directory(in->resolved_path, ret, &special);
        struct stat st;
        if (r == -EBADFD && special && lstat(special, &st) >= 0)
                log_error("input '%s': '%s' is a %s; a folder input holds only regular files, directories and symlinks",
                          in->name, special,
                          S_ISFIFO(st.st_mode) ? "FIFO" : S_ISSOCK(st.st_mode) ? "socket" : "device node");
        return r;
}

static int path_fetch(Cache *c, const TemplateInput *in, char **ret_path) {
        *ret_path = xstrdup(in->resolved_path);
        return 0;
}

const InputOps input_path = {
        .syntax = {
                .name = "path",
                .keys = (const char *const[]) { "sha256", NULL },
                .parse = path_parse,
                .check = path_check,
                .digest = path_digest,
        },
        .fetch = path_fetch,
};
