#include <stdio.h>

#include "assemble.h"
#include "template.h"
#include "util.h"
#include "test-lib.h"

/* fstab lines for mount points far longer than a typical line: the buffer must grow with them. */
static void test_fstab_long_mounts(void) {
        char m1[401], m2[401];
        memset(m1, 'a', sizeof m1 - 1), m1[0] = '/', m1[sizeof m1 - 1] = 0;
        memset(m2, 'b', sizeof m2 - 1), m2[0] = '/', m2[sizeof m2 - 1] = 0;
        _cleanup_free_ char *yaml = xasprintf("baker: 1\nname: t\nversion: \"1\"\n"
                                              "disk:\n  size: 64MiB\n  table: gpt\n  partitions:\n"
                                              "    - { label: a, type: linux, size: 8MiB, fs: ext4, mount: %s }\n"
                                              "    - { label: b, type: linux, size: 8MiB, fs: ext4, mount: %s }\n"
                                              "    - { label: root, type: root, size: rest, fs: ext4, mount: / }\n"
                                              "steps: []\noutputs:\n  - { format: raw }\n",
                                              m1, m2);
        Template *t = NULL;
        assert_se(template_parse_buffer("t.yaml", ".", yaml, strlen(yaml), NULL, &t) == 0);
        assert_se(t->n_errors == 0);
        uint8_t seed[32] = { 1 };
        Assembly *a = NULL;
        assert_se(assembly_new(t, NULL, 0, seed, &a) >= 0);
        _cleanup_free_ char *fstab = assembly_fstab(a);
        assert_se(strstr(fstab, m1) && strstr(fstab, m2));
        /* "/" first, then the others, each on one complete line */
        /* the root grows into a larger disk (x-systemd.growfs: a GPT root partition by default) */
        assert_se(strstr(fstab, " / ext4 errors=remount-ro,x-systemd.growfs 0 1\n") < strstr(fstab, m1));
        _cleanup_free_ char *l2 = xasprintf("%s ext4 defaults 0 2\n", m2);
        assert_se(strstr(fstab, l2));
        assembly_free(a);
        template_free(t);
}

int main(void) {
        test_fstab_long_mounts();
        printf("ok\n");
        return 0;
}
