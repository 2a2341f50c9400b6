/* baker pull of a glance: reference (glance.h): the image's file into a directory, checked against
 * Glance's own sha512 and size, and a raw image also against baker's image digest. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "digest.h"
#include "glance.h"
#include "log.h"

static const char *str(json_t *img, const char *key) {
        return json_string_value(json_object_get(img, key));
}

int glance_ref_image(Glance *g, const GlanceRef *ref, const char *source, json_t **ret) {
        int k;
        if (ref->digest) {
                k = glance_find_by_digest(g, ref->name, ref->digest, ret);
                if (k >= 0 && !*ret)
                        return log_error_errno(-ENOENT, "no glance image '%s' with digest %s", ref->name, ref->digest);
                return k;
        }
        if (!ref->channel)
                return log_error_errno(-EINVAL, "'%s': name the image as glance:[CLOUD/]NAME@sha256:HEX or :CHANNEL",
                                       source);
        return glance_channel_resolve(g, ref->name, ref->channel, ret);
}

/* What Glance says it holds against what came: its sha512 and size; a raw image's sha256 is
 * baker's image digest. */
static int verify(json_t *img, const char *path, const char *sha512, uint64_t size) {
        const char *id = str(img, "id");
        if (!streq_ptr(str(img, "os_hash_algo"), "sha512") || !streq_ptr(str(img, "os_hash_value"), sha512) ||
            (uint64_t) json_integer_value(json_object_get(img, "size")) != size)
                return log_error_errno(-EBADMSG, "glance image %s: got %" PRIu64 " bytes with sha512 %.16s…, glance "
                                       "says %lld bytes, %s %.16s…", id, size, sha512,
                                       (long long) json_integer_value(json_object_get(img, "size")),
                                       str(img, "os_hash_algo") ?: "no hash", str(img, "os_hash_value") ?: "");
        if (!streq_ptr(str(img, "disk_format"), "raw"))
                return 0;
        uint8_t d[DIGEST_SIZE];
        char s[DIGEST_STRING_MAX];
        int k = digest_file(path, d, NULL);
        if (k < 0)
                return log_error_errno(k, "failed to read '%s': %m", path);
        digest_to_string(d, s);
        if (!streq_ptr(s, str(img, GLANCE_PROP_DIGEST)))
                return log_error_errno(-EBADMSG, "glance image %s: the raw image's digest is %s, not %s", id, s,
                                       str(img, GLANCE_PROP_DIGEST));
        return 0;
}

/* The image's file as dest/NAME.FORMAT, written under a temporary name and renamed once verified. */
static int fetch(Glance *g, json_t *img, const char *dest, PullReport *p) {
        _cleanup_free_ char *file = xasprintf("%s.%s", str(img, "name"), str(img, "disk_format") ?: "img");
        for (char *c = file; *c; c++)
                if (*c == '/' || (c == file && *c == '.'))
                        *c = '_';
        _cleanup_free_ char *path = path_join(dest, file), *tmp = xasprintf("%s.partial", path);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                p->local_failure = true;
                return log_error_errno(-errno, "failed to create '%s': %m", tmp);
        }
        _cleanup_free_ char *sha512 = NULL;
        uint64_t size = 0;
        log_info("fetching glance image %s (%s) into '%s'", str(img, "id"), str(img, "disk_format"), path);
        int k = glance_image_download(g, str(img, "id"), fd, &sha512, &size);
        if (k >= 0 && fsync(fd) < 0)
                k = log_error_errno(-errno, "failed to write '%s': %m", tmp);
        if (k >= 0)
                k = verify(img, tmp, sha512, size);
        if (k >= 0 && rename(tmp, path) < 0)
                k = log_error_errno(-errno, "failed to rename '%s': %m", tmp);
        if (k < 0) {
                (void) unlink(tmp);
                return k;
        }
        p->files = xcalloc(1, sizeof(PulledFile));
        p->files[0] = (PulledFile) { .file = TAKE_PTR(file), .digest = xasprintf("sha512:%s", sha512), .size = size };
        p->n_files = 1;
        p->bytes = size;
        return 0;
}

int glance_pull(const char *source, const char *dest, PullReport *ret) {
        _cleanup_(glance_ref_freep) GlanceRef *ref = NULL;
        _cleanup_(glance_freep) Glance *g = NULL;
        _cleanup_(json_decrefp) json_t *img = NULL;
        _cleanup_(pull_report_done) PullReport p = {};
        *ret = (PullReport) {};
        int k = glance_ref_parse(source, &ref);
        if (k >= 0)
                k = glance_open(ref->cloud, &g);
        if (k >= 0)
                k = glance_ref_image(g, ref, source, &img);
        if (k < 0)
                return k;
        if (!streq_ptr(str(img, "status"), "active"))
                return log_error_errno(-EKEYREVOKED, "glance image %s is '%s' (revoked: %s): not pulling it", str(img, "id"),
                                       str(img, "status"), str(img, "baker_revoked_reason") ?: "no reason recorded");
        k = mkdir_p(dest, 0755);
        if (k < 0) {
                ret->local_failure = true;
                return log_error_errno(k, "failed to create '%s': %m", dest);
        }
        k = fetch(g, img, dest, &p);
        if (k < 0) {
                ret->local_failure = p.local_failure;
                return k;
        }
        p.digest = xstrdup(str(img, GLANCE_PROP_DIGEST) ?: "");
        p.reference = ref->cloud ? xasprintf(GLANCE_REF_PREFIX "%s/%s@%s", ref->cloud, ref->name, p.digest)
                                 : xasprintf(GLANCE_REF_PREFIX "%s@%s", ref->name, p.digest);
        p.destination = xstrdup(dest);
        *ret = p;
        p = (PullReport) {};
        return 0;
}
