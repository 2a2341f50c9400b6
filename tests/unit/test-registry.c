/* Registry interface, artifact and channels over the image-layout backend (a real directory). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "artifact.h"
#include "channel.h"
#include "strv.h"
#include "versions.h"
#include "digest.h"
#include "publish.h"
#include "registry-oci.h"
#include "registry.h"
#include "test-lib.h"

static const struct {
        const char *in;
        int ok;
        RegistryKind kind;
        const char *host, *repo, *tag, *digest;
        bool plain;
} refs[] = {
        { "127.0.0.1:5000/images/web:1.4.0", 1, REGISTRY_OCI, "127.0.0.1:5000", "images/web", "1.4.0", NULL, true },
        { "ghcr.io/acme/web", 1, REGISTRY_OCI, "ghcr.io", "acme/web", NULL, NULL, false },
        { "http://reg.lan:5000/web:prod", 1, REGISTRY_OCI, "reg.lan:5000", "web", "prod", NULL, true },
        { "localhost:5000/a/b@sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", 1, REGISTRY_OCI,
          "localhost:5000", "a/b", NULL, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", true },
        { "oci-layout:./registry/web:1.4.0", 1, REGISTRY_LAYOUT, NULL, "./registry/web", "1.4.0", NULL, false },
        { "oci-layout:/srv/reg:8080/x", 1, REGISTRY_LAYOUT, NULL, "/srv/reg:8080/x", NULL, NULL, false },
        { .in = "web:1.0", .ok = 0 },
        { .in = "acme/web:1.0", .ok = 0 },
        { "localhost/web", 1, REGISTRY_OCI, "localhost", "web", NULL, NULL, true },
        { .in = "host/Upper", .ok = 0 },
        { .in = "host/web:bad/tag", .ok = 0 },
        { .in = "host/web@sha256:1234", .ok = 0 },
        { .in = "host/web:-x", .ok = 0 },
        { .in = "oci-layout:", .ok = 0 },
        { "s3://127.0.0.1:8080/images/team/web:1.0", 1, REGISTRY_S3, "127.0.0.1:8080", "images/team/web", "1.0", NULL, true },
        { "s3://s3.eu-west-1.amazonaws.com/acme-images/web", 1, REGISTRY_S3, "s3.eu-west-1.amazonaws.com", "acme-images/web",
          NULL, NULL, false },
        { "s3+http://minio.lan:9000/images:prod", 1, REGISTRY_S3, "minio.lan:9000", "images", "prod", NULL, true },
        { "s3+https://eu-west-1@127.0.0.1/images/web", 1, REGISTRY_S3, "127.0.0.1", "images/web", NULL, NULL, false },
        { .in = "s3://host/ab/web", .ok = 0 },         /* bucket names are 3-63 characters */
        { .in = "s3://host/my_bucket/web", .ok = 0 },  /* and have no '_' */
        { .in = "s3://Bad@host/images/web", .ok = 0 }, /* a region is lower-case */
        { .in = "s3:///images/web", .ok = 0 },
};

static char *write_image(const char *dir, const char *name, const char *content) {
        char *p = path_join(dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_se(fd >= 0);
        assert_se(ftruncate(fd, 1 << 20) == 0);
        assert_se(pwrite(fd, content, strlen(content), 4096) == (ssize_t) strlen(content));
        close(fd);
        return p;
}

static char *push(Registry *r, const char *image, const char *tag) {
        Artifact *a = NULL;
        assert_se(artifact_build(image, NULL, &a) == 0);
        assert_se(artifact_push(r, a, tag, NULL) == 0);
        char *d = xstrdup(a->manifest_digest);
        artifact_free(a);
        return d;
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(refs); i++) {
                RegistryRef *ref = NULL;
                int k = registry_ref_parse(refs[i].in, &ref);
                if ((k >= 0) != refs[i].ok) {
                        fprintf(stderr, "%s: got %d\n", refs[i].in, k);
                        return 1;
                }
                if (k < 0)
                        continue;
                assert_se(ref->kind == refs[i].kind);
                assert_se(streq_ptr(ref->host, refs[i].host));
                assert_se(streq_ptr(ref->repository, refs[i].repo));
                assert_se(streq_ptr(ref->tag, refs[i].tag));
                assert_se(streq_ptr(ref->digest, refs[i].digest));
                assert_se(ref->plain_http == refs[i].plain);
                registry_ref_free(ref);
        }
        assert_se(channel_name_valid("prod") && channel_name_valid("nightly-2"));
        assert_se(!channel_name_valid("sha256-abc") && !channel_name_valid("baker.x") && !channel_name_valid("1.0") &&
               !channel_name_valid("Prod"));

        _cleanup_free_ char *t1 = publish_target("oci-layout", "./registry/", "web"), *t2 = publish_target("oci", "localhost:5000/images/web", "web");
        assert_se(streq(t1, "oci-layout:./registry/web") && streq(t2, "localhost:5000/images/web"));
        _cleanup_free_ char *t3 = publish_target("s3", "s3+http://127.0.0.1:8080/images/", "web");
        _cleanup_free_ char *t4 = publish_target("s3", "s3+https://r1@h/images/team/x", "web");
        assert_se(streq(t3, "s3+http://127.0.0.1:8080/images/web") && streq(t4, "s3+https://r1@h/images/team/x"));
        /* The repository as printed: the scheme only where it is not the default, the region kept. */
        static const struct {
                const char *in, *out;
        } s3_strings[] = {
                { "s3+http://127.0.0.1:8080/images/web:1", "s3://127.0.0.1:8080/images/web" },
                { "s3://eu-west-1@s3.amazonaws.com/images/web", "s3://eu-west-1@s3.amazonaws.com/images/web" },
                { "s3+http://minio.lan/images", "s3+http://minio.lan/images" },
                { "s3+https://127.0.0.1/images", "s3+https://127.0.0.1/images" },
        };
        for (size_t i = 0; i < ELEMENTSOF(s3_strings); i++) {
                RegistryRef *ref = NULL;
                assert_se(registry_ref_parse(s3_strings[i].in, &ref) == 0);
                _cleanup_free_ char *str = registry_ref_repository_string(ref);
                assert_se(streq(str, s3_strings[i].out));
                registry_ref_free(ref);
        }

        char *scheme = NULL;
        json_t *ch = registry_oci_parse_challenge(
                "Bearer realm=\"https://auth.example/token\",service=\"reg\",scope=\"repository:a/b:pull,push\",error=\"insufficient_scope\"",
                &scheme);
        assert_se(streq(scheme, "Bearer"));
        assert_se(streq(json_string_value(json_object_get(ch, "realm")), "https://auth.example/token"));
        assert_se(streq(json_string_value(json_object_get(ch, "scope")), "repository:a/b:pull,push"));
        assert_se(streq(json_string_value(json_object_get(ch, "error")), "insufficient_scope"));
        json_decref(ch);
        free(scheme);
        char *next = registry_oci_link_next("</v2/a/tags/list?last=x&n=2>; rel=\"next\"");
        assert_se(streq(next, "/v2/a/tags/list?last=x&n=2"));
        free(next);
        assert_se(!registry_oci_link_next("</v2/a>; rel=\"prev\""));

        const char *dir = test_scratch();
        setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
        _cleanup_free_ char *img1 = write_image(dir, "web.raw", "one");
        _cleanup_free_ char *img2 = write_image(dir, "web2.raw", "two");

        /* Deterministic: two builds of the same image give the same manifest. */
        Artifact *a = NULL, *b = NULL;
        assert_se(artifact_build(img1, NULL, &a) == 0 && artifact_build(img1, NULL, &b) == 0);
        assert_se(streq(a->manifest_digest, b->manifest_digest));
        assert_se(strstr(a->manifest, "\"artifactType\":\"application/vnd.baker.image.v1\""));
        assert_se(strstr(a->manifest, "\"org.opencontainers.image.created\":\"2023-11-14T22:13:20Z\""));
        assert_se(strstr(a->manifest, BAKER_LAYER_MEDIA_TYPE_PREFIX "raw"));
        artifact_free(a);
        artifact_free(b);

        /* containerdisk tar: deterministic, ustar headers with uid 107, size a multiple of 512. */
        ArtifactOptions cd = { .containerdisk = true, .tmpdir = dir };
        assert_se(artifact_build(img1, &cd, &a) == 0 && artifact_build(img1, &cd, &b) == 0);
        assert_se(streq(a->manifest_digest, b->manifest_digest) && a->n_layers == 1);
        assert_se(a->layers[0].size % 512 == 0 && a->layers[0].size == 512 * 2 + (1 << 20) + 1024);
        char hdr[512];
        int fd = open(a->layers[0].path, O_RDONLY);
        assert_se(fd >= 0 && pread(fd, hdr, 512, 512) == 512);
        close(fd);
        assert_se(streq(hdr, "disk/web.raw") && !memcmp(hdr + 257, "ustar", 5) && !strncmp(hdr + 108, "0000153", 7));
        assert_se(strstr(a->config, "\"diff_ids\":[\"sha256:"));
        _cleanup_free_ char *tar = xstrdup(a->layers[0].path);
        artifact_free(a);
        artifact_free(b);
        assert_se(access(tar, F_OK) < 0); /* temporary layer removed */

        /* The facts a channel's image gives a refresh: its annotations, or nothing to compare. */
        static const struct {
                const char *manifest, *version, *key;
                int r;
        } published[] = {
                { "{\"annotations\":{\"org.opencontainers.image.version\":\"7\",\"vnd.baker.bake-key\":\"sha256:k\","
                  "\"vnd.baker.image-digest\":\"sha256:i\"}}", "7", "sha256:k", 0 },
                { "{\"annotations\":{\"vnd.baker.bake-key\":\"sha256:k\",\"vnd.baker.image-digest\":\"sha256:i\"}}",
                  NULL, "sha256:k", 0 },
                { "{\"annotations\":{\"org.opencontainers.image.version\":\"7\",\"vnd.baker.image-digest\":\"sha256:i\"}}",
                  .r = -EBADMSG },
                { "{\"annotations\":{\"vnd.baker.bake-key\":\"sha256:k\"}}", .r = -EBADMSG },
                { "{\"annotations\":", .r = -EBADMSG },
                { "[]", .r = -EBADMSG },
        };
        for (size_t i = 0; i < ELEMENTSOF(published); i++) {
                PublishedImage p = {};
                assert_se(published_image_parse(published[i].manifest, strlen(published[i].manifest), &p) == published[i].r);
                assert_se(streq_ptr(p.version, published[i].version) && streq_ptr(p.bake_key, published[i].key));
                assert_se(published[i].r < 0 || streq(p.image_digest, "sha256:i"));
                published_image_done(&p);
        }
        /* A registry that cannot be reached is an error, not "nothing published yet". */
        PublishedImage none = {};
        setenv("BAKER_HTTP_ATTEMPTS", "1", 1);
        assert_se(publish_channel_image("127.0.0.1:1/images/web", "nightly", false, &none) < 0);
        unsetenv("BAKER_HTTP_ATTEMPTS");

        /* Layout backend + channels. */
        _cleanup_free_ char *layout = xasprintf("oci-layout:%s/reg/web", dir);
        Registry *r = NULL;
        assert_se(registry_open_string(layout, true, NULL, &r) == 0);
        _cleanup_free_ char *d1 = push(r, img1, "1.0"), *d2 = push(r, img2, "2.0");
        const RegistryStats *st = registry_stats(r);
        assert_se(st->blobs_sent == 4 && st->blobs_skipped == 0);
        _cleanup_free_ char *again = push(r, img1, "1.0");
        assert_se(streq(again, d1) && st->blobs_skipped == 2 && st->blobs_sent == 4);

        char *got = NULL;
        assert_se(channel_promote(r, "prod", d1, NULL) == 1);
        assert_se(channel_promote(r, "prod", d1, NULL) == 0);
        assert_se(channel_promote(r, "prod", d2, NULL) == 1);
        assert_se(channel_resolve(r, "prod", &got) == 0 && streq(got, d2));
        free(got);
        /* rollback pops: d2 -> d1; a second rollback has nothing left. */
        assert_se(channel_rollback(r, "prod", &got) == 0 && streq(got, d1));
        free(got);
        assert_se(channel_rollback(r, "prod", &got) == -ENOENT);
        /* promote d2 again, revoke it: resolve refuses, rollback skips to d1. */
        assert_se(channel_promote(r, "prod", d2, NULL) == 1);
        assert_se(channel_revoke(r, d2, "broken", NULL) == 1);
        assert_se(channel_revoke(r, d2, "broken", NULL) == 0);
        assert_se(channel_resolve(r, "prod", &got) == -EKEYREVOKED);
        /* What a refresh asks: a channel not made yet is a first publish (bake), not an error. */
        PublishedImage img = {};
        assert_se(publish_channel_image(layout, "nightly", false, &img) == 0);
        assert_se(channel_promote(r, "staging", d2, NULL) == -EKEYREVOKED);
        json_t *refs_found = NULL;
        assert_se(registry_referrers(r, d2, BAKER_REVOCATION_ARTIFACT_TYPE, &refs_found) == 0);
        assert_se(json_array_size(refs_found) == 1);
        json_decref(refs_found);
        assert_se(channel_rollback(r, "prod", &got) == 0 && streq(got, d1));
        free(got);
        /* A bare image file published: no bake key, so nothing to compare (a refresh bakes). */
        assert_se(publish_channel_image(layout, "prod", false, &img) == 0 && !img.digest);
        ChannelReport history = {};
        assert_se(channel_report(r, "prod", &history) == 0 && history.n_entries == 5);
        assert_se(streq(history.current, d1) && streq(history.entries[0].action, "rollback"));
        channel_report_done(&history);

        /* gc --keep 0: only prod's target stays. */
        GcReport report = {};
        assert_se(versions_gc(r, &(GcOptions) { .keep = 0 }, &report) == -EPERM); /* every unchanneled version */
        assert_se(versions_gc(r, &(GcOptions) { .keep = 0, .force = true }, &report) == 0);
        assert_se(strv_length((const char *const *) report.deleted) == 1);
        assert_se(streq(report.deleted[0], d2));
        gc_report_done(&report);
        assert_se(registry_manifest_head(r, d2, NULL) == 0 && registry_manifest_head(r, d1, NULL) == 1);
        assert_se(channel_resolve(r, "prod", &got) == 0 && streq(got, d1));
        free(got);

        /* Blob verification: a corrupted blob is refused. */
        RegistryManifest *m = NULL;
        assert_se(registry_manifest_get(r, d1, &m) == 0);
        json_t *mj = json_loadb(m->data, m->size, 0, NULL);
        const char *layer = json_string_value(json_object_get(json_array_get(json_object_get(mj, "layers"), 0), "digest"));
        _cleanup_free_ char *blob = xasprintf("%s/reg/web/blobs/sha256/%s", dir, layer + 7);
        fd = open(blob, O_WRONLY);
        assert_se(fd >= 0 && pwrite(fd, "X", 1, 0) == 1);
        close(fd);
        _cleanup_free_ char *out = path_join(dir, "out.raw");
        assert_se(registry_blob_get(r, layer, 0, out) == -EBADMSG);
        assert_se(access(out, F_OK) < 0);
        json_decref(mj);
        registry_manifest_free(m);

        registry_free(r);
        return 0;
}
