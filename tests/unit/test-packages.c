/* The pure parts of baker/packages: control parsing, dpkg status, the lock file, package diffs,
 * purls and the SBOM writer; the private apt root's files (no apt run); and the kept lists'
 * stamp and remembered package sets (no network). */
#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/stat.h>

#include "apt-lists.h"
#include "apt-root.h"
#include "control.h"
#include "debian-build.h"
#include "debian-request.h"
#include "dpkg-status.h"
#include "lock.h"
#include "pkgdiff.h"
#include "sbom.h"
#include "test-lib.h"

static void test_control(void) {
        static const char text[] = "Package: a\nDescription: short\n long line\n .\n more\n\n\n# comment\nPackage: b\n"
                                   "Version: 1\n";
        ControlFile *f = NULL;
        assert(control_parse(text, strlen(text), &f, NULL) == 0);
        assert(f->n_paragraphs == 2);
        assert(streq(control_get(&f->paragraphs[0], "package"), "a"));
        assert(streq(control_get(&f->paragraphs[0], "Description"), "short\nlong line\n.\nmore"));
        assert(f->paragraphs[1].line == 9);
        assert(streq(control_get(&f->paragraphs[1], "Version"), "1"));
        assert(!control_get(&f->paragraphs[1], "Description"));
        control_file_free(f);

        static const struct {
                const char *text;
                unsigned line;
        } bad[] = {
                { " continuation first\n", 1 },
                { "Package: a\nno colon here\n", 2 },
                { "Package: a\n\n continuation after blank\n", 3 },
                { ": empty name\n", 1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                unsigned line = 0;
                f = NULL;
                assert(control_parse(bad[i].text, strlen(bad[i].text), &f, &line) == -EBADMSG);
                assert(line == bad[i].line);
                assert(!f);
        }
}

static const char status_text[] =
        "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.15-1~deb12u1\n\n"
        "Package: old-conf\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1\n\n"
        "Package: adduser\nStatus: install ok installed\nArchitecture: all\nVersion: 3.134\n\n"
        "Package: libgcc-s1\nStatus: install ok unpacked\nArchitecture: amd64\nSource: gcc-12 (12.2.0-14)\n"
        "Version: 12.2.0-14+deb12u1\n\n"
        "Package: vim\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2:9.0.1378-2\n";

static void test_dpkg_status(DebPackageSet *ret) {
        DebPackageSet s = {};
        assert(dpkg_status_parse(status_text, strlen(status_text), &s, NULL) == 0);
        assert(s.n == 4); /* config-files is left out */
        assert(streq(s.packages[0].name, "adduser"));
        assert(!s.packages[0].source);
        assert(streq(s.packages[1].name, "libgcc-s1"));
        assert(streq(s.packages[1].source, "gcc-12"));
        assert(streq(s.packages[1].source_version, "12.2.0-14"));
        assert(streq(s.packages[2].source, "openssl"));
        assert(!s.packages[2].source_version);

        unsigned line = 0;
        static const char no_version[] = "Package: a\nStatus: install ok installed\n\nPackage: b\n"
                                         "Status: install ok installed\n";
        DebPackageSet bad = {};
        assert(dpkg_status_parse(no_version, strlen(no_version), &bad, &line) == -EBADMSG);
        assert(line == 1);

        OsRelease o;
        static const char osr[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
                                  "VERSION_CODENAME=bookworm\n";
        os_release_parse(osr, strlen(osr), &o);
        char *distro = os_release_distro(&o);
        assert(streq(distro, "debian-12"));
        free(distro);
        os_release_done(&o);
        static const char sid[] = "ID=debian\nVERSION_CODENAME=trixie\n";
        os_release_parse(sid, strlen(sid), &o);
        distro = os_release_distro(&o);
        assert(streq(distro, "debian-trixie"));
        free(distro);
        os_release_done(&o);
        *ret = s;
}

static void test_purl(const DebPackageSet *s) {
        char *p = deb_package_purl(&s->packages[2], "debian", "debian-12");
        assert(streq(p, "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12"));
        free(p);
        p = deb_package_purl(&s->packages[3], "debian", NULL);
        assert(streq(p, "pkg:deb/debian/vim@2%3A9.0.1378-2?arch=amd64"));
        free(p);
        p = deb_package_purl(&s->packages[1], "debian", "debian-12");
        assert(streq(p, "pkg:deb/debian/libgcc-s1@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12"));
        free(p);
}

static DebPackage pkg(const char *name, const char *version, uint8_t fill) {
        DebPackage p = {
                .name = (char *) name, .version = (char *) version, .architecture = (char *) "amd64",
                .source = (char *) (streq(name, "libssl3") ? "openssl" : NULL), .has_sha256 = true,
                .size = 1000 + fill, .repository = (char *) "http://deb.debian.org/debian",
                .filename = (char *) "pool/main/x/x.deb",
        };
        memset(p.sha256, fill, DIGEST_SIZE);
        return p;
}

static void test_lock(void) {
        DebPackageSet s = {};
        DebPackage a = pkg("zlib1g", "1:1.2.13.dfsg-1", 1), b = pkg("libssl3", "3.0.15-1~deb12u1", 2);
        deb_package_set_add(&s, &a);
        deb_package_set_add(&s, &b);
        Lock *l = lock_new();
        lock_set(l, "base", "{\"packages\":[\"openssh-server\"],\"suite\":\"bookworm\"}", &s);
        assert(streq(l->inputs[0].packages.packages[0].name, "libssl3")); /* sorted */
        char *text = lock_format(l);
        /* One package per line: a version bump is a one-line diff. */
        assert(strstr(text, "\n        {\"name\": \"libssl3\", \"version\": \"3.0.15-1~deb12u1\", \"architecture\": "
                            "\"amd64\", \"source\": \"openssl\", \"sha256\": \"0202"));
        Lock *back = NULL;
        assert(lock_parse("t.lock", text, strlen(text), &back) == 0);
        char *again = lock_format(back);
        assert(streq(text, again));
        assert(memcmp(back->inputs[0].digest, l->inputs[0].digest, DIGEST_SIZE) == 0);
        assert(streq(back->inputs[0].packages.packages[1].version, "1:1.2.13.dfsg-1"));
        free(again);

        /* The digest is the package set's identity: another version, another digest. */
        DebPackageSet s2 = {};
        DebPackage b2 = pkg("libssl3", "3.0.16-1~deb12u1", 3);
        deb_package_set_add(&s2, &a);
        deb_package_set_add(&s2, &b2);
        lock_set(back, "base", back->inputs[0].request, &s2);
        assert(memcmp(back->inputs[0].digest, l->inputs[0].digest, DIGEST_SIZE) != 0);
        lock_free(back);

        /* A hand edit of a version without relocking is caught by the digest. */
        char *edited = xstrdup(text);
        char *v = strstr(edited, "3.0.15");
        v[5] = '6';
        back = NULL;
        assert(lock_parse("t.lock", edited, strlen(edited), &back) == -EBADMSG);
        free(edited);
        /* Invalid JSON, a wrong version, a missing field. */
        static const char *const bad[] = {
                "{\n  \"lockVersion\": 1,\n  \"inputs\": {,\n}",
                "{\"lockVersion\": 2, \"inputs\": {}}",
                "{\"lockVersion\": 1, \"inputs\": {\"base\": {\"request\": {}, \"digest\": \"sha256:00\", "
                "\"packages\": [{\"name\": \"a\"}]}}}",
                "[]",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert(lock_parse("t.lock", bad[i], strlen(bad[i]), &back) == -EBADMSG);

        char *m = lock_input_mismatch(&l->inputs[0], "{\"packages\":[\"openssh-server\"],\"suite\":\"bookworm\"}");
        assert(!m);
        m = lock_input_mismatch(&l->inputs[0], "{\"packages\":[\"nginx\"],\"suite\":\"trixie\"}");
        assert(strstr(m, "the template adds package 'nginx'"));
        assert(strstr(m, "removes 'openssh-server'"));
        assert(strstr(m, "suite changed from \"bookworm\" to \"trixie\""));
        free(m);

        char *p = lock_path_for_template("templates/debian12.yaml");
        assert(streq(p, "templates/debian12.lock"));
        free(p);
        p = lock_path_for_template("x.yml");
        assert(streq(p, "x.lock"));
        free(p);
        free(text);
        lock_free(l);
        deb_package_set_done(&s);
        deb_package_set_done(&s2);
}

static void test_diff(void) {
        DebPackageSet x = {}, y = {};
        DebPackage a = pkg("adduser", "3.134", 1), s1 = pkg("libssl3", "3.0.15-1~deb12u1", 2),
                   s2 = pkg("libssl3", "3.0.16-1~deb12u1", 3), v = pkg("vim", "2:9.0", 4), n = pkg("nginx", "1.22", 5),
                   a2 = pkg("adduser", "3.134", 9);
        deb_package_set_add(&x, &a);
        deb_package_set_add(&x, &s1);
        deb_package_set_add(&x, &v);
        deb_package_set_add(&y, &a2);
        deb_package_set_add(&y, &s2);
        deb_package_set_add(&y, &n);
        assert(deb_package_set_sort(&x) == 0 && deb_package_set_sort(&y) == 0);
        PackageDiff d;
        package_diff(&x, &y, &d);
        assert(d.n == 4 && d.n_added == 1 && d.n_removed == 1 && d.n_changed == 2);
        static const char *const want[] = { "adduser 3.134 (rebuilt)", "libssl3 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1",
                                            "+ nginx 1.22", "- vim 2:9.0" };
        for (size_t i = 0; i < d.n; i++) {
                char *s = package_change_to_string(&d.changes[i]);
                if (!streq(s, want[i])) {
                        fprintf(stderr, "change %zu: '%s'\n", i, s);
                        assert(false);
                }
                free(s);
        }
        json_t *j = package_diff_to_json(&d);
        PackageDiff back;
        assert(package_diff_from_json(j, &back) == 0);
        assert(back.n == 4 && back.n_added == 1 && back.n_removed == 1 && back.n_changed == 2);
        assert(streq(back.changes[1].new_version, "3.0.16-1~deb12u1"));
        package_diff_done(&back);
        json_decref(j);
        package_diff_done(&d);

        package_diff(&x, &x, &d);
        assert(d.n == 0);
        package_diff_done(&d);
        deb_package_set_done(&x);
        deb_package_set_done(&y);
}

static void test_sbom(const DebPackageSet *s) {
        uint8_t digest[DIGEST_SIZE];
        memset(digest, 0xab, sizeof digest);
        SbomSubject subject = { .name = "web", .version = "1.2", .image_digest = digest, .vendor = "debian",
                                .distro = "debian-12", .epoch = 1700000000 };
        json_t *bom = sbom_build(s, &subject);
        assert(streq(json_string_value(json_object_get(bom, "specVersion")), "1.5"));
        assert(streq(json_string_value(json_object_get(bom, "bomFormat")), "CycloneDX"));
        const char *serial = json_string_value(json_object_get(bom, "serialNumber"));
        assert(startswith(serial, "urn:uuid:") && strlen(serial) == 45 && serial[23] == '5');
        json_t *meta = json_object_get(bom, "metadata");
        assert(streq(json_string_value(json_object_get(meta, "timestamp")), "2023-11-14T22:13:20Z"));
        json_t *components = json_object_get(bom, "components");
        assert(json_array_size(components) == s->n);
        json_t *ssl = json_array_get(components, 2);
        assert(streq(json_string_value(json_object_get(ssl, "purl")),
                     "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12"));
        /* Same input, same bytes. */
        json_t *again = sbom_build(s, &subject);
        char *t1 = json_dumps(bom, JSON_SORT_KEYS), *t2 = json_dumps(again, JSON_SORT_KEYS);
        assert(streq(t1, t2));
        free(t1);
        free(t2);
        json_decref(again);

        DebPackageSet back = {};
        assert(sbom_packages(bom, &back) == 0);
        assert(back.n == s->n);
        for (size_t i = 0; i < s->n; i++) {
                assert(streq(back.packages[i].name, s->packages[i].name));
                assert(streq(back.packages[i].version, s->packages[i].version));
                assert(streq(back.packages[i].architecture, s->packages[i].architecture));
                assert(streq_ptr(back.packages[i].source_version, s->packages[i].source_version));
        }
        assert(streq(back.packages[2].source, "openssl"));
        deb_package_set_done(&back);
        json_decref(bom);
        json_t *other = json_pack("{s:s}", "bomFormat", "SPDX");
        assert(sbom_packages(other, &back) == -EBADMSG);
        json_decref(other);
}

static void test_request(void) {
        char *pk[] = { (char *) "nginx", (char *) "curl" };
        char *comps[] = { (char *) "main", (char *) "contrib" };
        DebianRequest r = { .suite = (char *) "bookworm", .variant = DEBIAN_VARIANT_STANDARD, .packages = pk,
                            .n_packages = 2, .components = comps, .n_components = 2, .security = true,
                            .mirror = (char *) "http://mirror.example/debian" };
        char *c = debian_request_canonical(&r, "amd64");
        assert(streq(c, "{\"architecture\":\"amd64\",\"components\":[\"main\",\"contrib\"],\"packages\":[\"curl\","
                        "\"nginx\"],\"security\":true,\"sources\":[],\"suite\":\"bookworm\",\"variant\":\"standard\"}"));
        free(c);
        AptSource *s;
        size_t n;
        assert(debian_request_sources(&r, &s, &n) == 0);
        assert(n == 3);
        assert(streq(s[0].uri, "http://mirror.example/debian") && streq(s[1].suite, "bookworm-updates"));
        assert(streq(s[2].suite, "bookworm-security"));
        char *text = apt_sources_to_deb822(s, 1);
        assert(streq(text, "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main contrib\n"
                           "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"));
        free(text);
        apt_sources_free(s, n);
        assert(debian_variant_from_string("minbase") == DEBIAN_VARIANT_MINBASE);
        assert(debian_variant_from_string("buildd") < 0);
}

/* A relative cache (its kept state) or TMPDIR (a scratch root): apt is given absolute paths, or
 * it would read the relative Signed-By as a key fingerprint and refuse every source. */
static void check_root_absolute(AptRoot *root) {
        assert(root->dir[0] == '/');
        _cleanup_free_ char *path = path_join(root->dir, "etc/apt/sources.list.d/baker.sources"), *text = NULL;
        size_t size;
        assert(read_full_file(path, &text, &size) == 0);
        _cleanup_free_ char *want = xasprintf("Signed-By: %s/etc/apt/keyrings/source-0.gpg\n", root->dir);
        assert(strstr(text, want));
        assert(strstr(root->env[0], "APT_CONFIG=/") == root->env[0]);
}

static void test_apt_root_relative(void) {
        assert(chdir(test_scratch()) == 0);
        assert(write_file_atomic("key.gpg", "not really a key", 16, 0644) == 0);
        char *comps[] = { (char *) "main", NULL };
        AptSource src = { .uri = (char *) "http://mirror.example/debian", .suite = (char *) "bookworm",
                          .components = comps, .n_components = 1, .key = (char *) "key.gpg" };
        AptRoot *root = NULL;
        assert(apt_root_new("cache/apt-state/x", "amd64", &src, 1, &root) == 0);
        check_root_absolute(root);
        root = apt_root_free(root);
        assert(mkdir("tmp", 0755) == 0);
        assert(setenv("TMPDIR", "tmp", 1) == 0);
        assert(apt_root_new(NULL, "amd64", &src, 1, &root) == 0);
        check_root_absolute(root);
        root = apt_root_free(root);
        assert(rmdir("tmp") == 0); /* the scratch root is gone */
        assert(unsetenv("TMPDIR") == 0);
}

static void test_inrelease_url(void) {
        static const struct { const char *uri, *suite, *url; } cases[] = {
                { "http://m.example/debian", "bookworm", "http://m.example/debian/dists/bookworm/InRelease" },
                { "https://m.example/debian/", "bookworm-security",
                  "https://m.example/debian/dists/bookworm-security/InRelease" },
                { "http://m.example/flat", "./", "http://m.example/flat/InRelease" },
                { "http://m.example/flat/", "sub/", "http://m.example/flat/sub/InRelease" },
                { "file:/srv/repo", "bookworm", NULL },
                { "mirror+file:/etc/apt/mirrors.txt", "bookworm", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                AptSource s = { .uri = (char *) cases[i].uri, .suite = (char *) cases[i].suite };
                char *url = apt_inrelease_url(&s);
                assert(streq_ptr(url, cases[i].url));
                free(url);
        }
}

static void test_release_expired(void) {
        static const char valid[] = "Origin: Debian\nValid-Until: Sat, 05 Dec 2026 02:53:00 UTC\nDate: x\n";
        int64_t until = 1796439180; /* 2026-12-05T02:53:00Z */
        assert(!apt_release_expired(valid, strlen(valid), until - 1));
        assert(apt_release_expired(valid, strlen(valid), until));
        static const char none[] = "Origin: Debian\nDate: Sat, 05 Dec 2026 02:53:00 UTC\n";
        assert(!apt_release_expired(none, strlen(none), INT64_MAX));
        static const char bad[] = "Origin: x\nValid-Until: soon\n";
        assert(apt_release_expired(bad, strlen(bad), 0));
        static const char last[] = "Origin: x\nValid-Until:Sat, 05 Dec 2026 02:53:00 UTC"; /* no newline */
        assert(!apt_release_expired(last, strlen(last), until - 1));
        static const char numeric[] = "Origin: x\nValid-Until: Sat, 05 Dec 2026 04:23:00 +0130\n"; /* apt-ftparchive's */
        assert(!apt_release_expired(numeric, strlen(numeric), until - 1));
        assert(apt_release_expired(numeric, strlen(numeric), until));
        static const char west[] = "Origin: x\nValid-Until: Fri, 04 Dec 2026 23:53:00 -0300\n";
        assert(!apt_release_expired(west, strlen(west), until - 1) && apt_release_expired(west, strlen(west), until));
        static const char zone[] = "Origin: x\nValid-Until: Sat, 05 Dec 2026 02:53:00 CET\n";
        assert(apt_release_expired(zone, strlen(zone), 0));
}

/* A stamp over a kept root's InRelease files; a package set remembered under it, recalled for the
 * same key only, and dropped with the stamp. */
static void test_lists_memo(void) {
        assert(write_file_atomic("key.gpg", "not really a key", 16, 0644) == 0);
        AptSource src[] = {
                { .uri = (char *) "http://m.example/debian", .suite = (char *) "bookworm", .key = (char *) "key.gpg" },
                { .uri = (char *) "http://m.example/debian", .suite = (char *) "bookworm", .key = (char *) "key.gpg" },
        };
        AptRoot *root = NULL;
        assert(apt_root_new("state/one", "amd64", src, 2, &root) == 0);
        DebPackageSet set = {}, got;
        DebPackage p = { .name = (char *) "hello", .version = (char *) "1.0", .architecture = (char *) "all",
                         .has_sha256 = true, .size = 42, .repository = (char *) "http://m.example/debian",
                         .filename = (char *) "pool/h/hello.deb" };
        deb_package_set_add(&set, &p);
        apt_lists_remember(root, "question", &set); /* no stamp yet: nothing kept */
        assert(!apt_lists_recall(root, "question", &got));
        apt_lists_mark_verified(root, src, 2); /* no InRelease kept: no stamp */
        assert(access("state/one/lists-verified", F_OK) < 0);
        assert(write_file_atomic("state/one/var/lib/apt/lists/m.example_debian_dists_bookworm_InRelease", "signed", 6,
                                 0644) == 0);
        apt_lists_mark_verified(root, src, 2); /* the two sources share one InRelease */
        assert(access("state/one/lists-verified", F_OK) == 0);
        apt_lists_remember(root, "question", &set);
        assert(apt_lists_recall(root, "question", &got));
        assert(got.n == 1 && streq(got.packages[0].name, "hello") && streq(got.packages[0].version, "1.0") &&
               got.packages[0].size == 42 && streq(got.packages[0].filename, "pool/h/hello.deb"));
        deb_package_set_done(&got);
        assert(!apt_lists_recall(root, "another question", &got));
        /* Another keyring under the same path makes another stamp: nothing recalled. */
        char *stamp = NULL;
        size_t size;
        assert(read_full_file("state/one/lists-verified", &stamp, &size) == 0);
        assert(write_file_atomic("key.gpg", "another key", 11, 0644) == 0);
        apt_lists_mark_verified(root, src, 2);
        char *stamp2 = NULL;
        assert(read_full_file("state/one/lists-verified", &stamp2, &size) == 0);
        assert(!streq(stamp, stamp2));
        assert(!apt_lists_recall(root, "question", &got));
        apt_lists_remember(root, "question", &set);
        apt_lists_forget(root);
        assert(access("state/one/lists-verified", F_OK) < 0 && access("state/one/resolved", F_OK) < 0);
        assert(!apt_lists_recall(root, "question", &got));
        free(stamp);
        free(stamp2);
        deb_package_set_done(&set);
        apt_root_free(root);
}

/* One initramfs build only in the plain case: one versioned kernel, initramfs-tools, nothing else
 * that makes an initramfs. */
static void test_one_initramfs(void) {
        DebPackageSet s = {};
        DebPackage tools = pkg("initramfs-tools", "0.142", 1), meta = pkg("linux-image-amd64", "6.1", 2),
                   k1 = pkg("linux-image-6.1.0-50-amd64", "6.1", 3), k2 = pkg("linux-image-6.1.0-57-cloud-amd64", "6.1", 4),
                   dracut = pkg("dracut-core", "059", 5);
        deb_package_set_add(&s, &meta);
        assert(!debian_build_one_initramfs(&s)); /* no kernel image, only the metapackage */
        deb_package_set_add(&s, &k1);
        assert(!debian_build_one_initramfs(&s)); /* no initramfs-tools: nothing to skip */
        deb_package_set_add(&s, &tools);
        assert(debian_build_one_initramfs(&s));
        deb_package_set_add(&s, &k2);
        assert(!debian_build_one_initramfs(&s)); /* two kernels: the trigger updates only the newest */
        deb_package_set_done(&s);
        s = (DebPackageSet) {};
        deb_package_set_add(&s, &k1);
        deb_package_set_add(&s, &tools);
        deb_package_set_add(&s, &dracut);
        assert(!debian_build_one_initramfs(&s));
        deb_package_set_done(&s);
}

int main(void) {
        DebPackageSet installed;
        test_control();
        test_dpkg_status(&installed);
        test_purl(&installed);
        test_lock();
        test_diff();
        test_sbom(&installed);
        test_request();
        test_apt_root_relative();
        test_inrelease_url();
        test_release_expired();
        test_lists_memo();
        test_one_initramfs();
        deb_package_set_done(&installed);
        return 0;
}
