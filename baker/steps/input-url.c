/* `url: https://...` (`sha256: HEX`, required unless --allow-unpinned): a file downloaded into the
 * content-addressed cache, verified against its pin while streaming. An unpinned URL is keyed by
 * the content it served: fetched before the plan, its digest kept in the cache's ref
 * "urls"/SHA-256(URL), so later bakes use the same bytes until a refresh fetches it again. */
#include "fetch.h"
#include "http.h"
#include "log.h"
#include "steps.h"

#define URLS_NS "urls"

/* in->data of an unpinned URL, once resolved: the digest of the content it stands for. */
typedef struct UrlResolved {
        uint8_t digest[DIGEST_SIZE];
} UrlResolved;

static const UrlResolved *resolved(const TemplateInput *in) {
        return in->kind && streq(in->kind->name, "url") ? in->data : NULL;
}

static void url_done(TemplateInput *in) {
        in->data = mfree(in->data);
}

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

/* An unpinned URL stands for its content once resolved (bakes); before (plan) for
 * SHA-256("unpinned:" URL), and the key does not cover its content. */
static int url_digest(const TemplateInput *in, FileDigestFn hash_file, void *userdata, uint8_t ret[DIGEST_SIZE]) {
        if (in->has_sha256 || resolved(in)) {
                memcpy(ret, in->has_sha256 ? in->sha256 : resolved(in)->digest, DIGEST_SIZE);
                return 0;
        }
        _cleanup_free_ char *s = xasprintf("unpinned:%s", in->location);
        digest_buffer(s, strlen(s), ret);
        return 0;
}

static bool url_pinned(const TemplateInput *in) {
        return in->has_sha256 || resolved(in);
}

static int url_fetch(Cache *c, const TemplateInput *in, char **ret_path) {
        uint8_t digest[DIGEST_SIZE];
        const uint8_t *pin = in->has_sha256 ? in->sha256 : resolved(in) ? resolved(in)->digest : NULL;
        return fetch_url(c, in->location, pin, ret_path, digest);
}

/* An unpinned URL: the content its ref names when that is in the cache, else (and on refresh)
 * what it serves now, which moves the ref on. */
static int url_resolve(Cache *c, TemplateInput *in, bool refresh) {
        if (in->has_sha256)
                return 0;
        uint8_t id[DIGEST_SIZE], old[DIGEST_SIZE], now[DIGEST_SIZE];
        _cleanup_free_ char *s = xasprintf("url:%s", in->location), *shown = http_url_display(in->location);
        digest_buffer(s, strlen(s), id);
        char hex[DIGEST_HEX_SIZE + 1];
        digest_to_hex(id, hex);
        bool had = cache_ref_get(c, URLS_NS, hex, old) >= 0;
        _cleanup_free_ char *blob = NULL;
        if (had && !refresh && cache_blob_path(c, old, &blob) >= 0) {
                memcpy(now, old, DIGEST_SIZE);
        } else {
                int r = fetch_url(c, in->location, NULL, &blob, now);
                if (r < 0)
                        return r;
                r = cache_ref_set(c, URLS_NS, hex, now);
                if (r < 0)
                        return r;
                char d[DIGEST_STRING_MAX];
                digest_to_string(now, d);
                if (had && memcmp(old, now, DIGEST_SIZE) != 0)
                        log_notice("input '%s': '%s' serves new content (%s)", in->name, shown, d);
                else if (!had)
                        log_info("input '%s': '%s' is unpinned, keyed by its content (%s)", in->name, shown, d);
        }
        UrlResolved *u = in->data ?: xcalloc(1, sizeof(UrlResolved));
        memcpy(u->digest, now, DIGEST_SIZE);
        in->data = u;
        return 0;
}

static uint32_t url_copy_mode(const TemplateInput *in) {
        return 0644;
}

const InputOps input_url = {
        .syntax = {
                .name = "url",
                .keys = (const char *const[]) { "sha256", NULL },
                .parse = url_parse,
                .done = url_done,
                .digest = url_digest,
                .pinned = url_pinned,
        },
        .fetch = url_fetch,
        .resolve = url_resolve,
        .copy_mode = url_copy_mode,
};
