/* Template model and validation: one good template read field by field, then a table of broken
 * snippets each with a message its errors must contain. */
#include <stdio.h>

#include "steps.h"
#include "template.h"
#include "test-lib.h"

static Template *parse(const char *yaml, bool allow_unpinned) {
        Template *t = NULL;
        TemplateOptions o = { .allow_unpinned = allow_unpinned, .kinds = steps_template_kinds() };
        assert_se(template_parse_buffer("t.yaml", TESTS_DIR, yaml, strlen(yaml), &o, &t) == 0);
        template_check(t);
        return t;
}

static bool has_error(const Template *t, const char *needle, unsigned line) {
        for (size_t i = 0; i < t->n_errors; i++)
                if (strstr(t->errors[i].message, needle) && (line == 0 || t->errors[i].pos.line == line))
                        return true;
        return false;
}

#define DISK \
        "disk:\n  size: 1GiB\n  partitions:\n    - { label: root, type: root, size: rest, fs: ext4, mount: / }\n"
#define HEAD "baker: 1\nname: t\n"

static void test_good(void) {
        const char *yaml =
                "baker: 1\n"
                "name: web\n"
                "version: \"1.4.0\"\n"
                "epoch: 1700000000\n"
                "variables:\n"
                "  motd: { default: \"hello\" }\n"
                "  token: { sensitive: true }\n"
                "inputs:\n"
                "  base: { url: \"https://example.org/x.tar.zst\", sha256: \"" "3b5f000000000000000000000000000000000000000000000000000000000000" "\" }\n"
                "  overlay: { path: . }\n"
                "disk:\n"
                "  size: 2GiB\n"
                "  table: gpt\n"
                "  partitions:\n"
                "    - { label: esp,  type: esp,  size: 64MiB, fs: vfat, mount: /boot/efi }\n"
                "    - { label: root, type: root, size: rest,  fs: ext4, mount: /, uuid: 0fc63daf-8483-4772-8e79-3d69d8477de4 }\n"
                "steps:\n"
                "  - unpack: base\n"
                "  - copy: { from: overlay, to: /srv, owner: \"33:33\" }\n"
                "  - file: { path: /etc/motd, content: \"${var.motd}\\n\", mode: \"0600\" }\n"
                "  - run: |\n"
                "      echo ${HOME} $${var.literal}\n"
                "    network: true\n"
                "    env: { B: \"2\", A: \"1\" }\n"
                "  - sysprep: default\n"
                "    keep: [machine-id]\n"
                "  - bootloader: { type: extlinux, cmdline: \"console=ttyS0\" }\n"
                "outputs:\n"
                "  - { format: qcow2 }\n"
                "  - { format: raw, compress: zstd }\n"
                "  - { format: vhd }\n"
                "test:\n"
                "  boot: { expect: \"login:\", timeout: 1h30m, commands: [ { send: \"root\\n\", expect: \"#\" } ] }\n"
                "publish:\n"
                "  - oci-layout: ./registry\n"
                "  - oci: \"localhost:5000/images/web\"\n"
                "    insecure: true\n"
                "  - s3: { endpoint: \"https://s3.example.com:9000\", bucket: images, prefix: team/web/, region: eu-west-1 }\n"
                "  - s3: { endpoint: \"http://127.0.0.1:8080\", bucket: images }\n"
                "  - glance: { cloud: prod, format: raw, properties: { os_distro: debian, os_version: \"12\" } }\n"
                "  - azure-blob: { account: acme, container: disks, prefix: team/web/ }\n"
                "  - azure-blob: { account: devstoreaccount1, container: images, endpoint: \"http://127.0.0.1:10000\" }\n"
                "channels: [nightly, stable]\n";
        Template *t = parse(yaml, false);
        for (size_t i = 0; i < t->n_errors; i++)
                fprintf(stderr, "unexpected: %u:%u %s\n", t->errors[i].pos.line, t->errors[i].pos.column,
                        t->errors[i].message);
        assert_se(t->n_errors == 0);
        assert_se(streq(t->name, "web") && t->name_pos.line == 2 && t->name_pos.column == 7);
        assert_se(streq(t->version, "1.4.0") && t->has_epoch && t->epoch == 1700000000);
        assert_se(t->n_variables == 2 && t->variables[1].sensitive && !t->variables[1].default_value);
        assert_se(t->n_inputs == 2 && t->inputs[0].kind == &input_kind_find("url")->syntax && t->inputs[0].has_sha256);
        assert_se(t->inputs[1].kind == &input_kind_find("path")->syntax && t->inputs[1].resolved_path);
        assert_se(t->disk.size == UINT64_C(2) << 30 && t->disk.table == PARTITION_TABLE_GPT);
        assert_se(t->disk.n_partitions == 2 && t->disk.partitions[0].fs == FS_VFAT);
        assert_se(t->disk.partitions[1].size_rest && streq(t->disk.partitions[1].uuid, "0fc63daf-8483-4772-8e79-3d69d8477de4"));
        assert_se(t->disk.partitions[1].label_pos.line == 16);
        assert_se(t->disk.partitions[1].grow && !t->disk.partitions[0].grow); /* a GPT ext4 root grows */
        assert_se(t->n_steps == 6);
        const TemplateStep *s = t->steps;
        assert_se(streq(s[0].kind->name, "unpack") && streq(s[0].unpack.input, "base") && streq(s[0].unpack.to, "/"));
        assert_se(streq(s[1].kind->name, "copy") && s[1].copy.owner.uid == 33 && s[1].copy.owner.set);
        assert_se(streq(s[2].kind->name, "file") && s[2].file.mode == 0600);
        assert_se(streq(s[3].kind->name, "run") && s[3].run.script && !s[3].run.script_path);
        assert_se(s[3].run.network && s[3].run.n_env == 2 && streq(s[3].run.env[0].name, "A"));
        assert_se(streq(s[4].kind->name, "sysprep") && s[4].sysprep.n_keep == 1);
        assert_se(s[4].sysprep.keep[1] == NULL); /* NULL-terminated for sysprep_apply() */
        assert_se(streq(s[5].kind->name, "bootloader") && s[5].bootloader.type == BOOTLOADER_SYSLINUX);
        assert_se(t->n_outputs == 3 && t->outputs[1].compress == IMAGE_COMPRESSION_ZSTD);
        assert_se(t->test.has_boot && t->test.timeout_usec == UINT64_C(5400) * 1000000 && t->test.n_commands == 1);
        assert_se(t->n_publish == 7 && t->publish[1].kind == PUBLISH_OCI && t->publish[1].insecure);
        assert_se(t->publish[2].kind == PUBLISH_S3 &&
                  streq(t->publish[2].target, "s3+https://eu-west-1@s3.example.com:9000/images/team/web"));
        assert_se(streq(t->publish[3].target, "s3+http://127.0.0.1:8080/images/")); /* the name is the prefix */
        assert_se(t->publish[4].kind == PUBLISH_GLANCE && streq(t->publish[4].target, "prod"));
        assert_se(streq(t->publish[4].glance->format, "raw") && streq(t->publish[4].glance->properties[1], "os_version=12"));
        assert_se(t->publish[5].kind == PUBLISH_AZURE_BLOB && streq(t->publish[5].target, "azure://acme/disks/team/web"));
        /* an endpoint names the account in the path (Azurite); no prefix: the image's name */
        assert_se(streq(t->publish[6].target, "azure+http://127.0.0.1:10000/devstoreaccount1/images/"));
        assert_se(t->n_channels == 2);
        template_free(t);
}

/* grow: off for an MBR root by default, and `grow: false` turns it off on a GPT root. */
static void test_grow(void) {
        Template *t = parse(HEAD "disk:\n  size: 1GiB\n  partitions:\n"
                            "    - { label: root, type: root, size: rest, fs: ext4, mount: /, grow: false }\n", false);
        assert_se(t->n_errors == 0 && !t->disk.partitions[0].grow);
        template_free(t);
        t = parse(HEAD "disk:\n  size: 1GiB\n  table: mbr\n  partitions:\n"
                  "    - { label: root, type: root, size: rest, fs: ext4, mount: / }\n", false);
        assert_se(t->n_errors == 0 && !t->disk.partitions[0].grow);
        template_free(t);
}

static void test_bad(void) {
        static const struct {
                const char *yaml;
                const char *needle;
                unsigned line;
        } cases[] = {
                { "", "template is empty", 0 },
                { "# only a comment\n", "template is empty", 0 },
                { "hello world\n", "must be a YAML mapping", 1 },
                { "a: [1, 2\n", "invalid YAML", 0 },
                { "\x01\x02\x03", "not a text file", 1 },
                { "a: &x [1]\nb: *x\n", "aliases are not supported", 2 },
                { "a: 1\n---\nb: 2\n", "more than one YAML document", 0 },
                { "a: 1\na: 2\n", "duplicate key 'a'", 2 },
                { HEAD "nmae: x\n" DISK, "did you mean 'name'?", 3 },
                { "name: t\n" DISK, "missing 'baker'", 1 },
                { "baker: 2\nname: t\n" DISK, "unsupported template format", 1 },
                { "baker: 1\n" DISK, "missing 'name'", 1 },
                { "baker: 1\nname: [x]\n" DISK, "'name' must be a string, not a list", 2 },
                { HEAD, "missing 'disk'", 1 },
                { HEAD "disk:\n  size: 2 GB\n  partitions:\n    - { label: r, type: root, size: rest, fs: ext4, mount: / }\n",
                  "is not a size", 4 },
                { HEAD "disk:\n  size: 1GiB\n  partitions:\n    - { label: r, type: root, size: rest, fs: ext4, mount: / }\n"
                       "    - { label: s, type: swap, size: 1MiB, fs: swap }\n",
                  "'rest' is only allowed on the last partition", 6 },
                { HEAD "disk:\n  size: 1GiB\n  partitions:\n    - { label: r, type: root, size: 2GiB, fs: ext4, mount: / }\n",
                  "but the disk is only 1GiB", 4 },
                { HEAD "disk:\n  size: 1GiB\n  partitions:\n    - { label: r, type: root, size: 1MiB, fs: ext4, mount: / }\n"
                       "    - { label: r, type: linux, size: 1MiB, fs: ext4, mount: / }\n",
                  "duplicate partition label 'r'", 7 },
                { HEAD "disk:\n  size: 1GiB\n  partitions:\n    - { label: r, type: root, size: 1MiB, fs: ext4, mount: / }\n"
                       "    - { label: s, type: linux, size: 1MiB, fs: ext4, mount: / }\n",
                  "duplicate mount point '/'", 7 },
                { HEAD "disk:\n  size: 1GiB\n  partitions:\n    - { label: r, type: root, size: rest, fs: ext9, mount: / }\n",
                  "unknown fs 'ext9'; did you mean 'ext4'?", 6 },
                { HEAD DISK "steps:\n  - unpack: nothing\n", "unknown input 'nothing'", 8 },
                { HEAD DISK "steps:\n  - run: scripts/missing.sh\n", "script 'scripts/missing.sh' does not exist", 8 },
                { HEAD DISK "steps:\n  - run: echo ${var.nope}\n", "undeclared variable 'nope'", 8 },
                { HEAD DISK "steps:\n  - run: echo ${var.nope\n", "unterminated", 8 },
                { HEAD DISK "steps:\n  - run: echo\n    netwrk: true\n", "did you mean 'network'?", 9 },
                { HEAD DISK "steps:\n  - unpak: base\n", "did you mean 'unpack'?", 8 },
                { HEAD DISK "steps:\n  - hello: x\n", "unknown key 'hello' in step", 8 },
                { HEAD DISK "steps:\n  - {}\n", "step has no kind", 8 },
                { HEAD DISK "steps:\n  - run: a\n    sysprep: default\n", "step has two kinds", 9 },
                { HEAD DISK "steps:\n  - file: { path: etc/x, content: x }\n", "must be absolute", 8 },
                { HEAD DISK "steps:\n  - file: { path: /x, content: x, mode: 644 }\n", "not an octal mode", 8 },
                { HEAD DISK "steps:\n  - file: { path: /x, content: x, owner: root }\n", "must be numeric", 8 },
                { HEAD DISK "steps:\n  - run: x\n    network: maybe\n", "must be true or false", 9 },
                { HEAD DISK "inputs:\n  base: { url: \"https://x/y\" }\n", "has no 'sha256' pin", 8 },
                { HEAD DISK "inputs:\n  base: { url: \"https://x/y\", sha256: abc }\n", "64 hexadecimal digits", 8 },
                { HEAD DISK "inputs:\n  base: { file: /nonexistent/file }\n", "does not exist", 8 },
                { HEAD DISK "inputs:\n  base: { url: \"https://x/y\", file: /x }\n", "exactly one of", 8 },
                { HEAD DISK "test:\n  boot: { expect: \"(\" }\n", "not a valid regular expression", 8 },
                { HEAD DISK "test:\n  boot: { expect: \"lo+g+++++\" }\n", "a quantifier follows a quantifier", 8 },
                { HEAD DISK "test:\n  boot:\n    expect: x\n    commands: [ { send: y, expect: \"a{2000}\" } ]\n",
                  "repeat more than 1000 times", 10 },
                { HEAD DISK "test:\n  boot: { expect: x, timeout: soon }\n", "is not a duration", 8 },
                { HEAD DISK "publish:\n  - oci: \"https://x/y\"\n", "is not a registry repository", 8 },
                { HEAD DISK "channels: [nightly]\n", "need a 'publish' target", 7 },
                { HEAD DISK "publish:\n  - s3: { endpoint: \"s3.example.com\", bucket: b }\n", "is not an S3 endpoint", 8 },
                { HEAD DISK "publish:\n  - s3: { endpoint: \"https://h\" }\n", "missing 'bucket'", 8 },
                { HEAD DISK "publish:\n  - s3: { endpoint: \"https://h\", bucket: b, acl: x }\n", "acl", 8 },
                { HEAD DISK "publish:\n  - glance: { cloud: c, format: vhd }\n", "glance format 'vhd'", 8 },
                { HEAD DISK "publish:\n  - glance: { properties: { baker_version: x } }\n", "is baker's own", 8 },
                { HEAD DISK "publish:\n  - glance: {}\n    oci: a/b\n", "exactly one of", 8 },
#define VHD "outputs:\n  - { format: vhd }\n"
                { HEAD DISK VHD "publish:\n  - azure-blob: { account: Dev_Store, container: images }\n",
                  "is not an Azure storage account", 10 },
                { HEAD DISK VHD "publish:\n  - azure-blob: { account: acme, container: -disks }\n", "is not an Azure container", 10 },
                { HEAD DISK VHD "publish:\n  - azure-blob: { account: acme, container: ab }\n", "is not an Azure container", 10 },
                { HEAD DISK VHD "publish:\n  - azure-blob: { account: acme }\n", "missing 'container'", 10 },
                { HEAD DISK VHD "publish:\n  - azure-blob: { account: acme, container: disks, endpoint: \"127.0.0.1:10000\" }\n",
                  "is not a blob endpoint", 10 },
                { HEAD DISK VHD "publish:\n  - azure-blob: { account: acme, container: disks, sas: \"sv=x\" }\n", "sas", 10 },
                { HEAD DISK "publish:\n  - azure-blob: { account: acme, container: disks }\n", "needs a 'vhd' output", 8 },
#undef VHD
                { HEAD DISK "variables:\n  x: { required: true, default: 1 }\n", "cannot have a default", 8 },
                { HEAD DISK "outputs:\n  - { format: vhdx }\n", "unknown format 'vhdx'", 8 },
                { HEAD "disk:\n  size: 1GiB\n  table: mbr\n  partitions:\n"
                       "    - { label: root, type: root, size: rest, fs: ext4, mount: /, grow: true }\n",
                  "'grow' needs a 'gpt' partition table", 7 },
                { HEAD "disk:\n  size: 1GiB\n  partitions:\n    - { label: e, type: esp, size: 64MiB, fs: vfat, "
                       "mount: /boot/efi, grow: true }\n    - { label: root, type: root, size: rest, fs: ext4, mount: / }\n",
                  "'grow' needs a mounted ext4 or xfs filesystem", 6 },
                { HEAD DISK "outputs:\n  - { format: vhd }\n  - format: gce\n    compress: zstd\n",
                  "output 'gce' is compressed already", 10 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Template *t = parse(cases[i].yaml, false);
                if (!has_error(t, cases[i].needle, cases[i].line)) {
                        fprintf(stderr, "case %zu: no error '%s' at line %u; got:\n", i, cases[i].needle, cases[i].line);
                        for (size_t j = 0; j < t->n_errors; j++)
                                fprintf(stderr, "  %u:%u %s\n", t->errors[j].pos.line, t->errors[j].pos.column,
                                        t->errors[j].message);
                        exit(1);
                }
                template_free(t);
        }

        /* every error, not only the first */
        Template *t = parse("baker: 1\nname: t\nfoo: 1\nbar: 2\n" DISK "steps:\n  - unpack: a\n  - unpack: b\n", false);
        assert_se(t->n_errors == 4);
        assert_se(t->errors[0].pos.line == 3 && t->errors[3].pos.line == 11); /* sorted */
        template_free(t);

        /* --allow-unpinned */
        t = parse(HEAD DISK "inputs:\n  base: { url: \"https://x/y\" }\n", true);
        assert_se(t->n_errors == 0);
        template_free(t);
}

static void test_limits(void) {
        /* deep nesting */
        size_t n = 10000;
        char *deep = xmalloc(2 * n + 1);
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        deep[2 * n] = 0;
        Template *t = parse(deep, false);
        assert_se(has_error(t, "nested too deeply", 1));
        template_free(t);
        free(deep);

        /* billion laughs: refused at the first alias */
        t = parse("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n",
                  false);
        assert_se(has_error(t, "aliases are not supported", 2));
        template_free(t);

        /* too large */
        size_t big = TEMPLATE_SIZE_MAX + 1;
        char *huge = xmalloc(big);
        memset(huge, '#', big);
        t = NULL;
        assert_se(template_parse_buffer("big.yaml", ".", huge, big, NULL, &t) == 0);
        assert_se(has_error(t, "too large", 0));
        template_free(t);
        free(huge);

        /* NUL inside a string */
        t = parse("baker: 1\nname: \"a\\0b\"\n" DISK, false);
        assert_se(has_error(t, "NUL", 2));
        template_free(t);
}

static void test_helpers(void) {
        assert_se(template_edit_distance("network", "netwrk") == 1);
        assert_se(template_edit_distance("bsae", "base") == 1);
        assert_se(template_edit_distance("", "abc") == 3);
        const char *c[] = { "unpack", "copy", "run" };
        assert_se(streq(template_suggest("unpak", c, 3), "unpack"));
        assert_se(template_suggest("xyz", c, 3) == NULL);
        assert_se(streq(step_kind_find("sysprep")->syntax.name, "sysprep"));
        assert_se(step_kind_find("nope") == NULL);
        assert_se(streq(partition_type_to_string(PARTITION_BIOS_BOOT), "bios-boot"));
        assert_se(bootloader_type_from_string("extlinux") == BOOTLOADER_SYSLINUX);
        assert_se(fs_type_to_string(_FS_TYPE_MAX) == NULL);
}

int main(void) {
        test_helpers();
        test_good();
        test_grow();
        test_bad();
        test_limits();
        printf("ok\n");
        return 0;
}
