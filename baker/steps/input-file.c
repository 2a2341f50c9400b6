/* `file: PATH` (`sha256: HEX` optional): one file on the host, relative to the template's
 * directory, copied into the content-addressed cache. */
#include <sys/stat.h>

#include "fetch.h"
#include "steps.h"

static void file_parse(Template *t, TemplateInput *in, const Node *m, const TemplateOptions *opts) {
        if (!input_parse_location(t, in, m))
                return;
        input_parse_sha256(t, in, m);
        input_check_not_empty(t, in);
}

static void file_check(Template *t, TemplateInput *in) {
        struct stat st;
        if (input_check_host_path(t, in, &st) >= 0 && !S_ISREG(st.st_mode))
                template_add_error(t, in->location_pos, "input '%s': '%s' is not a regular file", in->name, in->location);
}

static int file_digest(const TemplateInput *in, FileDigestFn hash_file, void *userdata, uint8_t ret[DIGEST_SIZE]) {
        uint8_t d[DIGEST_SIZE];
        int r = hash_file(in->resolved_path, d, userdata);
        if (r < 0)
                return r;
        if (in->has_sha256 && memcmp(d, in->sha256, DIGEST_SIZE) != 0)
                return -EBADMSG;
        memcpy(ret, d, DIGEST_SIZE);
        return 0;
}

static int file_fetch(Cache *c, const TemplateInput *in, char **ret_path) {
        uint8_t digest[DIGEST_SIZE];
        return fetch_file(c, in->resolved_path, in->has_sha256 ? in->sha256 : NULL, ret_path, digest);
}

/* Executable on the host, executable in the image. */
static uint32_t file_copy_mode(const TemplateInput *in) {
        struct stat st;
        return stat(in->resolved_path, &st) >= 0 && (st.st_mode & S_IXUSR) ? 0755 : 0644;
}

const InputOps input_file = {
        .syntax = {
                .name = "file",
                .keys = (const char *const[]) { "sha256", NULL },
                .parse = file_parse,
                .check = file_check,
                .digest = file_digest,
        },
        .fetch = file_fetch,
        .copy_mode = file_copy_mode,
};
