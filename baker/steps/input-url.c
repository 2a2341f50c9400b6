/* `url: https://...` (`sha256: HEX`, required unless --allow-unpinned): a file downloaded into the
 * content-addressed cache, verified against its pin while streaming. */
#include "fetch.h"
#include "steps.h"

static void url_parse(Template *t, TemplateInput *in, const Node *m, const TemplateOptions *opts) {
        if (!input_parse_location(t, in, m))
                return;
        input_parse_sha256(t, in, m);
        if (!startswith(in->location, "http://") && !startswith(in->location, "https://"))
                template_add_error(t, in->location_pos, "input '%s': 'url' must start with http:// or https://", in->name);
        if (!node_get(m, "sha256") && !opts->allow_unpinned)
                template_add_error(t, in->location_pos, "input '%s' has no 'sha256' pin (use --allow-unpinned to accept it)",
                                   in->name);
}

/* An unpinned URL stands for SHA-256("unpinned:" URL): the key does not cover its content. */
static int url_digest(const TemplateInput *in, uint8_t ret[DIGEST_SIZE]) {
        if (in->has_sha256) {
                memcpy(ret, in->sha256, DIGEST_SIZE);
                return 0;
        }
        _cleanup_free_ char *s = xasprintf("unpinned:%s", in->location);
        digest_buffer(s, strlen(s), ret);
        return 0;
}

static bool url_pinned(const TemplateInput *in) {
        return in->has_sha256;
}

static int url_fetch(Cache *c, const TemplateInput *in, char **ret_path) {
        uint8_t digest[DIGEST_SIZE];
        return fetch_url(c, in->location, in->has_sha256 ? in->sha256 : NULL, ret_path, digest);
}

static uint32_t url_copy_mode(const TemplateInput *in) {
        return 0644;
}

const InputOps input_url = {
        .syntax = {
                .name = "url",
                .keys = (const char *const[]) { "sha256", NULL },
                .parse = url_parse,
                .digest = url_digest,
                .pinned = url_pinned,
        },
        .fetch = url_fetch,
        .copy_mode = url_copy_mode,
};
