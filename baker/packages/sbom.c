/* CycloneDX 1.5 from a package set; see sbom.h. */
#include "sbom.h"

#include <jansson.h>
#include <time.h>

#include "version.h"

/* A name-based UUID (version 5 layout, SHA-256 instead of SHA-1 truncated the same way) from the
 * image digest, so that the same image always has the same serial number. */
static char *serial_number(const uint8_t *image_digest) {
        uint8_t d[DIGEST_SIZE];
        _cleanup_(digest_freep) Digest *h = digest_new();
        digest_update_string(h, "baker-sbom-serial-v1");
        if (image_digest)
                digest_update(h, image_digest, DIGEST_SIZE);
        digest_final(h, d);
        d[6] = (uint8_t) ((d[6] & 0x0f) | 0x50);
        d[8] = (uint8_t) ((d[8] & 0x3f) | 0x80);
        return xasprintf("urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0], d[1],
                         d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]);
}

static json_t *property(const char *name, const char *value) {
        return json_pack("{s:s, s:s}", "name", name, "value", value);
}

static json_t *component(const DebPackage *p, const char *vendor, const char *distro) {
        _cleanup_free_ char *purl = deb_package_purl(p, vendor, distro);
        json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "library", "bom-ref", purl, "name", p->name,
                              "version", p->version, "purl", purl);
        json_t *props = json_array();
        json_array_append_new(props, property("baker:deb:architecture", p->architecture ? p->architecture : "all"));
        json_array_append_new(props, property("baker:deb:source", p->source ? p->source : p->name));
        if (p->source_version)
                json_array_append_new(props, property("baker:deb:source-version", p->source_version));
        json_object_set_new(c, "properties", props);
        return c;
}

static json_t *metadata(const SbomSubject *s) {
        json_t *m = json_object();
        if (s->epoch >= 0) {
                time_t t = (time_t) s->epoch;
                struct tm tm;
                char buf[32];
                gmtime_r(&t, &tm);
                strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
                json_object_set_new(m, "timestamp", json_string(buf));
        }
        json_t *tool = json_pack("{s:s, s:s, s:s}", "type", "application", "name", "baker", "version", BAKER_VERSION);
        json_object_set_new(m, "tools", json_pack("{s:[o]}", "components", tool));
        json_t *subject = json_pack("{s:s, s:s, s:s}", "type", "operating-system", "bom-ref", "image", "name",
                                    s->name ? s->name : "image");
        if (s->version)
                json_object_set_new(subject, "version", json_string(s->version));
        if (s->image_digest) {
                char hex[DIGEST_HEX_SIZE + 1];
                digest_to_hex(s->image_digest, hex);
                json_object_set_new(subject, "hashes", json_pack("[{s:s, s:s}]", "alg", "SHA-256", "content", hex));
        }
        json_object_set_new(m, "component", subject);
        return m;
}

json_t *sbom_build(const DebPackageSet *s, const SbomSubject *subject) {
        const char *vendor = subject->vendor ? subject->vendor : "debian";
        _cleanup_free_ char *serial = serial_number(subject->image_digest);
        json_t *bom = json_pack("{s:s, s:s, s:s, s:i}", "$schema", "http://cyclonedx.org/schema/bom-1.5.schema.json",
                                "bomFormat", "CycloneDX", "specVersion", "1.5", "version", 1);
        json_object_set_new(bom, "serialNumber", json_string(serial));
        json_object_set_new(bom, "metadata", metadata(subject));
        json_t *components = json_array();
        json_t *depends = json_array();
        for (size_t i = 0; i < s->n; i++) {
                json_t *c = component(&s->packages[i], vendor, subject->distro);
                json_array_append(depends, json_object_get(c, "bom-ref"));
                json_array_append_new(components, c);
        }
        json_object_set_new(bom, "components", components);
        /* The image contains every package: one dependency entry says so without inventing
         * package-to-package edges that dpkg status does not resolve. */
        json_object_set_new(bom, "dependencies", json_pack("[{s:s, s:o}]", "ref", "image", "dependsOn", depends));
        return bom;
}

static const char *purl_qualifier(const char *purl, const char *key, char *buf, size_t size) {
        const char *q = strchr(purl, '?');
        size_t klen = strlen(key);
        for (const char *p = q; p; p = strchr(p + 1, '&')) {
                if (strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '=') {
                        const char *v = p + 2 + klen;
                        size_t n = strcspn(v, "&#");
                        if (n >= size)
                                return NULL;
                        memcpy(buf, v, n);
                        buf[n] = 0;
                        return buf;
                }
        }
        return NULL;
}

static const char *component_property(const json_t *c, const char *name) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(c, "properties"), i, p)
                if (json_is_string(json_object_get(p, "name")) &&
                    streq(json_string_value(json_object_get(p, "name")), name))
                        return json_string_value(json_object_get(p, "value"));
        return NULL;
}

int sbom_packages(const json_t *sbom, DebPackageSet *ret) {
        if (!json_is_object(sbom) || !json_is_string(json_object_get(sbom, "bomFormat")) ||
            !streq(json_string_value(json_object_get(sbom, "bomFormat")), "CycloneDX"))
                return -EBADMSG;
        DebPackageSet set = {};
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(sbom, "components"), i, c) {
                const char *purl = json_string_value(json_object_get(c, "purl"));
                const char *name = json_string_value(json_object_get(c, "name"));
                const char *version = json_string_value(json_object_get(c, "version"));
                if (!purl || !startswith(purl, "pkg:deb/") || !name || !version)
                        continue;
                char arch[64];
                DebPackage p = {
                        .name = (char *) name,
                        .version = (char *) version,
                        .architecture = (char *) purl_qualifier(purl, "arch", arch, sizeof arch),
                };
                deb_package_set_add(&set, &p);
                deb_package_set_source(&set.packages[set.n - 1], component_property(c, "baker:deb:source"));
                const char *sv = component_property(c, "baker:deb:source-version");
                if (sv)
                        set.packages[set.n - 1].source_version = xstrdup(sv);
        }
        if (deb_package_set_sort(&set) < 0) {
                deb_package_set_done(&set);
                return -EBADMSG;
        }
        *ret = set;
        return 0;
}
