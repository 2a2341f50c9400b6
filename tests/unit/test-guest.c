/* The appliance session against a real libguestfs appliance: one launch for the whole test.
 * A busybox root filesystem is made into an ext4 image on the host; run steps change it inside
 * the appliance, and the tar it exports is checked with an independent reader (python's
 * tarfile). Prints the measured launch time, run-step overhead and tar-out throughput. */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "guest.h"
#include "log.h"
#include "test-lib.h"

typedef struct Line {
        char *step;
        char *text;
        double when;
} Line;

static Line lines[4096];
static size_t n_lines;

static void collect(const char *step, const char *line, void *userdata) {
        assert_se(n_lines < ELEMENTSOF(lines));
        lines[n_lines++] = (Line) { xstrdup(step), xstrdup(line), test_now() };
        printf("  [%s] %s\n", step, line);
}

static void reset_lines(void) {
        for (size_t i = 0; i < n_lines; i++) {
                free(lines[i].step);
                free(lines[i].text);
        }
        n_lines = 0;
}

static const Line *find_line(const char *text) {
        for (size_t i = 0; i < n_lines; i++)
                if (streq(lines[i].text, text))
                        return &lines[i];
        return NULL;
}

static bool any_line_starts(const char *prefix) {
        for (size_t i = 0; i < n_lines; i++)
                if (startswith(lines[i].text, prefix))
                        return true;
        return false;
}

static void expect_line(const char *text) {
        if (!find_line(text)) {
                fprintf(stderr, "missing output line '%s'\n", text);
                exit(1);
        }
}

static const GuestXattr *find_xattr(const GuestEntry *e, const char *name) {
        for (size_t i = 0; i < e->n_xattrs; i++)
                if (streq(e->xattrs[i].name, name))
                        return &e->xattrs[i];
        return NULL;
}

static int run_step(GuestSession *s, const char *name, const char *script, const char *const *env, int *status,
                    double *seconds) {
        reset_lines();
        double t0 = test_now();
        int r = guest_run(s, name, script, env, collect, NULL, status);
        if (seconds)
                *seconds = test_now() - t0;
        return r;
}

int main(void) {
        if (access("/bin/busybox", X_OK) < 0 || !test_have("mke2fs setcap python3"))
                test_skip("busybox-static, mke2fs, setcap or python3 missing");
        setenv("LIBGUESTFS_BACKEND", "direct", 0);
        if (getenv("V"))
                log_set_max_level(LOG_LEVEL_DEBUG);

        const char *dir = test_scratch();
        _cleanup_free_ char *setup = xasprintf(
                "set -e; cd %s; mkdir -p root/bin root/etc root/dev root/proc root/sys root/root root/var root/big "
                "caps/opt\n"
                "cp /bin/busybox root/bin/busybox\n"
                "for a in $(root/bin/busybox --list-full); do [ -e root/$a ] || { mkdir -p root/${a%%/*}; "
                "ln -s /bin/busybox root/$a; }; done\n"
                "printf 'root:x:0:0:root:/root:/bin/sh\\n' >root/etc/passwd\n"
                "printf 'root:x:0:\\nsudo:x:27:\\n' >root/etc/group\n"
                "printf 'root:*:0:0:99999:7:::\\n' >root/etc/shadow\n"
                "printf 'nameserver 192.0.2.1\\n' >root/etc/resolv.conf\n"
                "head -c 48M /dev/urandom >root/big/blob\n"
                "printf 'not really ping\\n' >caps/opt/ping && chmod 0755 caps/opt/ping\n"
                "setcap cap_net_raw+ep caps/opt/ping\n"
                "tar --xattrs --xattrs-include='*' --numeric-owner -C caps -cf caps.tar opt\n"
                "mke2fs -q -t ext4 -d root -F root.img 128M\n"
                /* a filesystem with a wrong link count on its root: only a full check sees it */
                "mke2fs -q -t ext4 -F extra.img 320M\n" /* xfs wants 300 MB */
                "debugfs -w -R 'sif / links_count 7' extra.img 2>/dev/null\n",
                dir);
        test_sh("%s", setup);
        _cleanup_free_ char *image = xasprintf("%s/root.img", dir), *extra = xasprintf("%s/extra.img", dir),
                            *caps = xasprintf("%s/caps.tar", dir), *tar = xasprintf("%s/out.tar", dir);

        /* One launch for everything below. */
        double t0 = test_now();
        _cleanup_(guest_closep) GuestSession *s = NULL;
        const char *const extras[] = { extra, NULL };
        int r = guest_open(image, &(GuestOptions) { .network = true, .extra_drives_readonly = extras }, &s);
        if (r < 0)
                test_skip("the appliance could not be launched");
        double launch = test_now() - t0;
        printf("launch: %.1f s (appliance: %s)\n", launch, guest_appliance_path() ?: "supermin");

        _cleanup_free_ char *sda = guest_device(s, 0, 0), *sda2 = guest_device(s, 0, 2), *sdb = guest_device(s, 1, 0);
        /* libguestfs' names, whatever the kernel called the disks: on a loaded host it often names
         * them out of order, the appliance's root among them (drive 0 as /dev/sdc, drive 1 as
         * /dev/sda). The mount, mkfs (API) and fsck (debug shell) below then reach the right drive
         * only if each gets the name it understands. */
        assert_se(streq(sda, "/dev/sda") && streq(sda2, "/dev/sda2") && streq(sdb, "/dev/sdb"));
        assert_se(!guest_device(s, 2, 0));
        assert_se(guest_mount(s, sda, "/") == 0);

        /* Environment, quoting, stdout and stderr, chroot with /dev /proc, the network's DNS. */
        const char *env[] = { "GREETING=hi there 'quoted' $HOME \"x\"", "SOURCE_DATE_EPOCH=1700000000",
                              "TZ=Europe/Paris", NULL };
        int status = -1;
        double secs;
        r = run_step(s, "run write", "echo \"greeting=$GREETING\"\n"
                                     "echo 'to stderr' >&2\n"
                                     "env | sort | sed 's/^/env: /'\n"
                                     "printf '%s\\n' \"$GREETING\" >/etc/baker-test\n"
                                     "chown 1234:5678 /etc/baker-test && chmod 0640 /etc/baker-test\n"
                                     "ln /etc/baker-test /etc/baker-hardlink\n"
                                     "ln -s baker-test /etc/baker-symlink\n"
                                     "mknod /var/baker-null c 1 3\n"
                                     "sed 's/^/resolv: /' /etc/resolv.conf\n"
                                     "echo \"pwd: $(pwd)\"\n"
                                     "[ -c /dev/null ] && [ -d /proc/self ] && echo 'dev proc ok'\n"
                                     "printf 'no newline at the end'",
                     env, &status, &secs);
        assert_se(r == 0 && status == 0);
        expect_line("greeting=hi there 'quoted' $HOME \"x\"");
        expect_line("to stderr");
        expect_line("env: TZ=Europe/Paris");
        expect_line("env: LANG=C.UTF-8");
        expect_line("env: HOME=/root");
        expect_line("env: SOURCE_DATE_EPOCH=1700000000");
        expect_line("env: PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        expect_line("pwd: /");
        expect_line("dev proc ok");
        expect_line("no newline at the end");
        assert_se(!any_line_starts("env: LVM_SYSTEM_DIR") && !any_line_starts("env: guestfs_network") &&
               !any_line_starts("env: LC_ALL") && !any_line_starts("env: TZ=UTC"));
        assert_se(any_line_starts("resolv: nameserver 169.254."));
        for (size_t i = 0; i < n_lines; i++)
                assert_se(streq(lines[i].step, "run write"));
        assert_se(streq(lines[0].text, "greeting=hi there 'quoted' $HOME \"x\"") && streq(lines[1].text, "to stderr"));

        /* Overhead of a step that does nothing. */
        double overhead;
        assert_se(run_step(s, "run true", "true\n", NULL, &status, &overhead) == 0 && status == 0 && n_lines == 0);
        printf("run-step overhead: %.2f s\n", overhead);

        /* Lines arrive while the script still runs. */
        r = run_step(s, "run slow", "echo first\nsleep 3\necho second\n", NULL, &status, NULL);
        double returned = test_now();
        assert_se(r == 0 && status == 0);
        expect_line("first");
        expect_line("second");
        printf("streaming: 'first' delivered %.1f s before the step returned\n", returned - find_line("first")->when);
        assert_se(find_line("first")->when < returned - 2.0);

        /* A failing script: exit status and the tail of its output. */
        r = run_step(s, "run fail", "i=1; while [ $i -le 25 ]; do echo line$i; i=$((i+1)); done\nexit 3\n", NULL,
                     &status, NULL);
        assert_se(r == GUEST_STEP_FAILED && status == 3 && n_lines == 25);
        {
                char want[512] = "";
                for (int i = 6; i <= 25; i++)
                        snprintf(want + strlen(want), sizeof want - strlen(want), "%sline%d", i > 6 ? "\n" : "", i);
                assert_se(streq(guest_output_tail(s), want));
        }
        /* Invalid shell, an empty script, a script with its own interpreter line, a bad env entry. */
        r = run_step(s, "run syntax", "if then fi (\n", NULL, &status, NULL);
        assert_se(r == GUEST_STEP_FAILED && status == 2 && *guest_output_tail(s));
        status = -1;
        assert_se(run_step(s, "run empty", "  \n", NULL, &status, NULL) == 0 && status == 0 && n_lines == 0);
        assert_se(run_step(s, "run shebang", "#!/bin/sh -e\necho \"shebang $0\"\n", NULL, &status, NULL) == 0);
        assert_se(n_lines == 1 && startswith(lines[0].text, "shebang /tmp/.baker-step-"));
        assert_se(run_step(s, "run badenv", "true", (const char *[]) { "1X=2", NULL }, &status, NULL) == -EINVAL);
        assert_se(run_step(s, "run badenv", "true", (const char *[]) { "NOEQUALS", NULL }, &status, NULL) == -EINVAL);

        /* The add-user provisioner on a busybox system without adduser, twice (idempotent). */
        _cleanup_free_ char *add_user = NULL;
        assert_se(read_full_file(TESTS_DIR "/../provisioners/add-user.sh", &add_user, NULL) == 0);
        const char *user_env[] = { "USER_NAME=alice", "USER_SSH_KEY=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 alice@baker",
                                   "USER_SUDO=1", NULL };
        assert_se(run_step(s, "run provisioners/add-user.sh", add_user, user_env, &status, NULL) == 0);
        expect_line("add-user: added user 'alice' (1000)");
        assert_se(run_step(s, "run provisioners/add-user.sh", add_user, user_env, &status, NULL) == 0);
        expect_line("add-user: user 'alice' exists already");
        _cleanup_free_ char *passwd = NULL, *group = NULL, *keys = NULL;
        assert_se(guest_read_file(s, "/etc/passwd", &passwd, NULL) == 0);
        assert_se(streq(passwd, "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"));
        assert_se(guest_read_file(s, "/etc/group", &group, NULL) == 0);
        assert_se(streq(group, "root:x:0:\nsudo:x:27:alice\nalice:x:1000:\n"));
        assert_se(guest_read_file(s, "/home/alice/.ssh/authorized_keys", &keys, NULL) == 0);
        assert_se(streq(keys, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 alice@baker\n"));

        /* baker's files are gone, /tmp (absent in this image) too, the image's resolv.conf is back. */
        assert_se(guest_exists(s, "/tmp") == 0);
        _cleanup_free_ char *resolv = NULL;
        assert_se(guest_read_file(s, "/etc/resolv.conf", &resolv, NULL) == 0 && streq(resolv, "nameserver 192.0.2.1\n"));

        /* tar-in keeps security.capability. */
        assert_se(guest_tar_in(s, caps, "/") == 0);
        GuestEntry e = {};
        assert_se(guest_stat(s, "/opt/ping", &e) == 0);
        assert_se(find_xattr(&e, "security.capability") && S_ISREG(e.mode) && (e.mode & 07777) == 0755);
        guest_entry_done(&e);

        /* Metadata as the appliance's kernel sees it. */
        GuestEntry *list = NULL;
        size_t n = 0;
        assert_se(guest_list(s, "/", &list, &n) == 0);
        bool saw_test = false, saw_link = false, saw_dev = false, saw_key = false, saw_cap = false;
        for (size_t i = 0; i < n; i++) {
                const GuestEntry *x = &list[i];
                assert_se(x->path[0] == '/');
                if (streq(x->path, "/etc/baker-test")) {
                        assert_se(x->uid == 1234 && x->gid == 5678 && (x->mode & 07777) == 0640 && x->nlink == 2);
                        saw_test = true;
                } else if (streq(x->path, "/etc/baker-symlink")) {
                        assert_se(S_ISLNK(x->mode) && streq(x->link, "baker-test"));
                        saw_link = true;
                } else if (streq(x->path, "/var/baker-null")) {
                        assert_se(S_ISCHR(x->mode) && x->rdev == makedev(1, 3));
                        saw_dev = true;
                } else if (streq(x->path, "/home/alice/.ssh/authorized_keys")) {
                        assert_se(x->uid == 1000 && (x->mode & 07777) == 0600);
                        saw_key = true;
                } else if (streq(x->path, "/opt/ping")) {
                        const GuestXattr *cap = find_xattr(x, "security.capability");
                        assert_se(cap && cap->size == 20);
                        saw_cap = true;
                }
                assert_se(!strstr(x->path, ".baker-step"));
        }
        assert_se(saw_test && saw_link && saw_dev && saw_key && saw_cap && n > 100);
        list = guest_entries_free(list, n);

        /* tar-out, checked by an independent reader. */
        t0 = test_now();
        assert_se(guest_tar_out(s, "/", tar) == 0);
        double tar_secs = test_now() - t0;
        struct stat st;
        assert_se(stat(tar, &st) == 0);
        printf("tar-out: %.1f MB in %.1f s = %.1f MB/s\n", st.st_size / 1e6, tar_secs, st.st_size / 1e6 / tar_secs);
        _cleanup_free_ char *check = xasprintf("python3 %s/unit/guest-check-tar.py %s", TESTS_DIR, tar);
        test_sh("%s", check);

        /* Checks and mkfs on the second drive (read-only underneath: writes go to an overlay). */
        assert_se(guest_fsck(s, "ext4", sdb) == -EUCLEAN);
        assert_se(guest_mkfs(s, "ext4", sdb, "scratch", "0e6f1a6c-43a2-4b5c-9d7e-2f3a4b5c6d7e") == 0);
        assert_se(guest_fsck(s, "ext4", sdb) == 0);
        assert_se(guest_mkfs(s, "xfs", sdb, "data", "5a0c2b1e-6d4f-4e3a-8b9c-0d1e2f3a4b5c") == 0);
        assert_se(guest_fsck(s, "xfs", sdb) == 0);

        assert_se(guest_shutdown(s) == 0);
        s = guest_close(s);

        /* The image is a clean filesystem that still holds the step's file. */
        _cleanup_free_ char *fsck = xasprintf("e2fsck -fn %s >/dev/null && debugfs -R 'cat /etc/baker-test' %s "
                                              "2>/dev/null | grep -q quoted",
                                              image, image);
        test_sh("%s", fsck);

        reset_lines();
        printf("ok\n");
        return 0;
}
