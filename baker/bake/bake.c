#include "bake.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "assemble.h"
#include "bake-sbom.h"
#include "boot.h"
#include "cache.h"
#include "events.h"
#include "ext4.h"
#include "ext4-read.h"
#include "fetch.h"
#include "guest.h"
#include "image.h"
#include "interrupt.h"
#include "log.h"
#include "manifest.h"
#include "output-dir.h"
#include "plan.h"
#include "progress.h"
#include "publish.h"
#include "remote-cache.h"
#include "stamp.h"
#include "sysprep.h"
#include "tree.h"
#include "version.h"

#define STEP_STATE_FILE "tree.tar"
#define STEP_NS "steps"
#define BAKE_NS "bakes"
#define WORK_PREFIX "baker-work"

/* Everything one bake holds while it runs. */
typedef struct Bake {
        const BakeOptions *opts;
        Template *t;
        Vars *vars;
        Plan *plan;
        Cache *cache;
        char *output_dir;
        char *work_dir;         /* scratch: guest disk, tar-outs; removed at the end */
        int work_fd;            /* work_dir, flocked while the bake runs: it is not debris */
        int output_fd;          /* output_dir, flocked: one bake at a time writes there */
        char **input_paths;     /* per template input: the host path of its bytes (cache blob or dir) */
        Tree *tree;
        GuestSession *guest;
        char *guest_disk;
        BakeManifest *manifest; /* filled as the bake goes: steps, then the rest */
        unsigned tar_outs;
        char *fresh_cache;      /* verify: a private, empty cache */
        RemoteCache *remote;    /* --cache-from/--cache-to, NULL without */
        bool prefix_pulled;     /* the cached prefix came from the remote cache */
} Bake;

void bake_result_done(BakeResult *r) {
        free(r->manifest_path);
        free(r->raw_path);
        *r = (BakeResult) {};
}

static void bake_done(Bake *b) {
        b->guest = guest_close(b->guest);
        if (b->guest_disk)
                unlink(b->guest_disk);
        free(b->guest_disk);
        tree_free(b->tree);
        if (b->work_dir) {
                rm_rf(b->work_dir);
                interrupt_unregister(b->work_dir);
        }
        free(b->work_dir);
        closep(&b->work_fd);
        closep(&b->output_fd);
        if (b->input_paths)
                for (size_t i = 0; i < b->t->n_inputs; i++)
                        free(b->input_paths[i]);
        free(b->input_paths);
        manifest_free(b->manifest);
        remote_cache_free(b->remote);
        cache_free(b->cache);
        if (b->fresh_cache)
                rm_rf(b->fresh_cache);
        free(b->fresh_cache);
        plan_free(b->plan);
        vars_free(b->vars);
        template_free(b->t);
        free(b->output_dir);
}

/* The epoch every timestamp is clamped to: the template's `epoch:`, else the newest mtime that
 * the inputs' archives brought into the tree. Files that steps add are never newer than the
 * epoch at that point (file steps use it, run steps are clamped to it), so the newest mtime in the
 * tree is a function of the inputs' content alone, and a resumed bake finds the same value. */
static int64_t bake_epoch(const Bake *b) {
        if (b->t->has_epoch)
                return (int64_t) b->t->epoch;
        int64_t e = 1; /* libext2fs reads 0 as "now" */
        for (size_t i = 0; b->tree && i < tree_size(b->tree); i++)
                e = MAX(e, tree_entry(b->tree, i)->mtime_sec);
        return e;
}

static const char *step_label(const PlanStep *s) {
        return s->step->name ? s->step->name : s->display;
}

static void on_run_output(const char *step_name, const char *line, void *userdata) {
        if (events_json())
                event_emit("log", json_pack("{s:s, s:s}", "step", step_name, "line", line), NULL);
        else
                log_notice("[%s] %s", step_name, line);
}

/* ---- inputs ------------------------------------------------------------------------------- */

static int fetch_inputs(Bake *b) {
        const Template *t = b->t;
        b->input_paths = xcalloc(t->n_inputs + 1, sizeof(char *));
        for (size_t i = 0; i < t->n_inputs; i++) {
                const TemplateInput *in = t->inputs + i;
                uint8_t digest[DIGEST_SIZE];
                int r = 0;
                switch (in->kind) {
                case INPUT_URL:
                        r = fetch_url(b->cache, in->location, in->has_sha256 ? in->sha256 : NULL, &b->input_paths[i], digest);
                        break;
                case INPUT_FILE:
                        r = fetch_file(b->cache, in->resolved_path, in->has_sha256 ? in->sha256 : NULL, &b->input_paths[i],
                                       digest);
                        break;
                case INPUT_PATH:
                        b->input_paths[i] = xstrdup(in->resolved_path);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        return template_error_at(t, in->location_pos, "input '%s' could not be fetched", in->name);
        }
        return 0;
}

static const char *input_path(const Bake *b, const char *name) {
        for (size_t i = 0; i < b->t->n_inputs; i++)
                if (streq(b->t->inputs[i].name, name))
                        return b->input_paths[i];
        return NULL;
}

/* ---- the appliance, for run steps ----------------------------------------------------------- */

static int guest_start(Bake *b, bool network) {
        /* The current tree as an ext4 image with room for what the steps install. */
        uint64_t need = ext4_estimate_size(b->tree, "", NULL, 4096, true);
        uint64_t size = ((need * 2 + (UINT64_C(2) << 30)) + 0xfffff) & ~UINT64_C(0xfffff);
        b->guest_disk = path_join(b->work_dir, "guest.ext4");
        Ext4Params ep = { .label = "root", .epoch = bake_epoch(b), .size_bytes = size, .journal = true };
        uint8_t scratch[DIGEST_SIZE]; /* the scratch disk's ids: never part of the output */
        digest_buffer("baker-guest-scratch", 19, scratch);
        memcpy(ep.uuid, scratch, 16);
        memcpy(ep.hash_seed, scratch + 16, 16);
        int r = ext4_write(b->tree, "", NULL, b->guest_disk, 0, &ep);
        if (r < 0)
                return log_error_errno(r, "failed to write the tree for the appliance: %m");
        double t0 = now_seconds();
        event_emit("appliance-launch", NULL, "launching the appliance for run steps");
        GuestOptions go = { .network = network, .memory_mb = 1024 };
        r = guest_open(b->guest_disk, &go, &b->guest);
        if (r < 0)
                return r;
        _cleanup_free_ char *dev = guest_device(b->guest, 0, 0);
        r = guest_mount(b->guest, dev, "/");
        if (r < 0)
                return r;
        event_emit("appliance-ready", json_pack("{s:f}", "seconds", now_seconds() - t0), NULL);
        return 0;
}

static void guest_stop(Bake *b) {
        b->guest = guest_close(b->guest);
        if (b->guest_disk) {
                unlink(b->guest_disk);
                b->guest_disk = mfree(b->guest_disk);
        }
}

/* Brings the in-memory tree up to date with the appliance's root after a run step. */
static int guest_pull_tree(Bake *b, int64_t epoch) {
        _cleanup_free_ char *tar = xasprintf("%s/state-%u.tar", b->work_dir, b->tar_outs++);
        int r = guest_tar_out(b->guest, "/", tar);
        if (r < 0)
                return r;
        Tree *n = NULL;
        r = tree_load(tar, &n);
        if (r < 0)
                return log_error_errno(r, "failed to read the tree back from the appliance: %m");
        /* Files a script wrote carry the build's wall clock; clamp them to the epoch. */
        tree_clamp_times(n, epoch);
        (void) tree_remove(n, "lost+found", true);
        tree_free(b->tree);
        b->tree = n;
        return 0;
}

/* After the last run step: stop the appliance (its unmount leaves the scratch disk clean, journal
 * empty) and read the tree straight from the disk, far faster than a tar-out through the appliance.
 * Gives the same Tree as guest_pull_tree() (tests/unit/test-ext4-read.c compares the two). */
static int guest_read_back(Bake *b, int64_t epoch) {
        double t0 = now_seconds();
        int r = guest_shutdown(b->guest);
        if (r < 0)
                return r;
        Tree *n = NULL;
        r = ext4_read_tree(b->guest_disk, 0, &n);
        if (r < 0)
                return log_error_errno(r, "failed to read the tree back from the appliance's disk: %m");
        tree_clamp_times(n, epoch);
        tree_free(b->tree);
        b->tree = n;
        guest_stop(b);
        log_debug("shutdown and read-back of the appliance's disk took %.1f s", now_seconds() - t0);
        return 0;
}

/* Between run steps the appliance stays up: freeze the root (ext4 flushes its journal and marks
 * the disk clean) and read it offline as after the last step; a tar-out through the appliance is
 * the fallback, ten times slower. */
static int guest_peek_tree(Bake *b, int64_t epoch) {
        if (guest_freeze(b->guest, "/", true) < 0)
                return guest_pull_tree(b, epoch);
        Tree *n = NULL;
        int r = ext4_read_tree(b->guest_disk, 0, &n);
        int k = guest_freeze(b->guest, "/", false);
        if (r < 0) {
                if (k < 0)
                        return log_error_errno(k, "failed to thaw the appliance's root filesystem");
                log_debug("reading the frozen disk failed, falling back to a tar-out");
                return guest_pull_tree(b, epoch);
        }
        if (k < 0) {
                tree_free(n);
                return log_error_errno(k, "failed to thaw the appliance's root filesystem");
        }
        tree_clamp_times(n, epoch);
        tree_free(b->tree);
        b->tree = n;
        return 0;
}

/* An offline step while the appliance is up: apply it to a delta tree and copy that in too. */
static int guest_push_delta(Bake *b, Tree *delta) {
        _cleanup_free_ char *tar = xasprintf("%s/delta-%u.tar", b->work_dir, b->tar_outs++);
        int r = tree_write(delta, tar, bake_epoch(b));
        if (r < 0)
                return log_error_errno(r, "failed to write '%s': %m", tar);
        r = guest_tar_in(b->guest, tar, "/");
        unlink(tar);
        return r;
}

/* ---- steps -------------------------------------------------------------------------------- */

static int parse_owner(const TemplateStep *s, uint32_t *uid, uint32_t *gid) {
        *uid = s->has_owner ? s->uid : 0;
        *gid = s->has_owner ? s->gid : 0;
        return 0;
}

/* Applies one offline step (unpack, copy, file) to tree t. */
static int apply_offline(Bake *b, const PlanStep *ps, Tree *t, int64_t epoch) {
        const TemplateStep *s = ps->step;
        uint32_t uid, gid;
        int r;
        switch (s->kind) {
        case STEP_UNPACK:
                r = tree_add_archive(t, input_path(b, s->input), s->to ? s->to : "/");
                if (r < 0) {
                        /* the archive error above names the cache blob: say which file that is */
                        const char *loc = "";
                        for (size_t i = 0; i < b->t->n_inputs; i++)
                                if (streq(b->t->inputs[i].name, s->input))
                                        loc = b->t->inputs[i].location;
                        return template_error_at(b->t, s->input_pos, "failed to unpack input '%s' ('%s')", s->input, loc);
                }
                return 0;
        case STEP_COPY:
                parse_owner(s, &uid, &gid);
                const TemplateInput *in = NULL;
                for (size_t i = 0; i < b->t->n_inputs; i++)
                        if (streq(b->t->inputs[i].name, s->input))
                                in = b->t->inputs + i;
                if (in && in->kind != INPUT_PATH) {
                        /* A url/file input is a read-only blob named by its digest in the cache: name
                         * it after the input's location and give it a mode of its own. */
                        const char *to = s->to ? s->to : "/";
                        const TreeEntry *de = tree_lookup(t, to);
                        _cleanup_free_ char *loc = xstrdup(in->location);
                        char *q = strchr(loc, '?');
                        if (q)
                                *q = 0;
                        const char *base = strrchr(loc, '/') ? strrchr(loc, '/') + 1 : loc;
                        _cleanup_free_ char *dest = de && de->type == TREE_DIR ? path_join(to, base) : xstrdup(to);
                        struct stat st;
                        bool exec = in->kind == INPUT_FILE && stat(in->resolved_path, &st) >= 0 && (st.st_mode & S_IXUSR);
                        r = tree_add_host_path(t, input_path(b, s->input), dest, (int) uid, (int) gid);
                        if (r >= 0)
                                r = tree_set_mode(t, dest, exec ? 0755 : 0644);
                } else
                        r = tree_add_host_path(t, input_path(b, s->input), s->to ? s->to : "/", (int) uid, (int) gid);
                if (r < 0)
                        return template_error_at(b->t, s->input_pos, "failed to copy input '%s'", s->input);
                return 0;
        case STEP_FILE: {
                _cleanup_free_ char *content = NULL;
                r = vars_substitute(b->vars, s->content ? s->content : "", VARS_SUBSTITUTE_ALL, &content);
                if (r < 0)
                        return template_error_at(b->t, s->content_pos, "failed to substitute variables");
                parse_owner(s, &uid, &gid);
                r = tree_add_file(t, s->path, content, strlen(content), s->mode, uid, gid, epoch);
                if (r < 0)
                        return template_error_at(b->t, s->path_pos, "failed to add '%s': %s", s->path, strerror(-r));
                return 0;
        }
        default:
                return -EINVAL;
        }
}

static int run_script(Bake *b, const PlanStep *ps, int64_t epoch) {
        const TemplateStep *s = ps->step;
        _cleanup_free_ char *text = NULL;
        int r;
        if (s->script_resolved) {
                r = read_full_file(s->script_resolved, &text, NULL);
                if (r < 0)
                        return template_error_at(b->t, s->script_pos, "cannot read script '%s': %s", s->script_path,
                                                 strerror(-r));
        } else {
                _cleanup_free_ char *body = NULL;
                r = vars_substitute(b->vars, s->script, VARS_SUBSTITUTE_ALL, &body);
                if (r < 0)
                        return template_error_at(b->t, s->script_pos, "failed to substitute variables");
                /* Inline scripts stop at the first failing command, as Packer's inline shell does;
                 * one with its own "#!" line decides for itself. */
                text = startswith(body, "#!") ? TAKE_PTR(body) : xasprintf("set -e\n%s", body);
        }
        char **env = xcalloc(s->n_env + 2, sizeof(char *));
        size_t n = 0;
        env[n++] = xasprintf("SOURCE_DATE_EPOCH=%lld", (long long) epoch);
        for (size_t i = 0; i < s->n_env; i++) {
                _cleanup_free_ char *v = NULL;
                if (vars_substitute(b->vars, s->env[i].value, VARS_SUBSTITUTE_ALL, &v) < 0)
                        v = xstrdup("");
                env[n++] = xasprintf("%s=%s", s->env[i].name, v);
        }
        int status = 0;
        r = guest_run(b->guest, step_label(ps), text, (const char *const *) env, on_run_output, b, &status);
        for (size_t i = 0; i < n; i++)
                free(env[i]);
        free(env);
        if (r == GUEST_STEP_FAILED)
                return template_error_at(b->t, s->pos, "step '%s' failed with exit code %d", step_label(ps), status);
        if (r < 0)
                return template_error_at(b->t, s->pos, "step '%s' could not be run", step_label(ps));
        return 0;
}

static int apply_to_guest(Bake *b, const PlanStep *ps, int64_t epoch) {
        _cleanup_(tree_freep) Tree *delta = tree_new();
        int r = apply_offline(b, ps, delta, epoch);
        return r < 0 ? r : guest_push_delta(b, delta);
}

static bool plan_needs_network(const Plan *p, size_t from) {
        for (size_t i = from; i < p->n_steps; i++)
                if (p->steps[i].kind == STEP_RUN && p->steps[i].step->network)
                        return true;
        return false;
}

static bool plan_has_run_after(const Plan *p, size_t from) {
        for (size_t i = from; i < p->n_steps; i++)
                if (p->steps[i].kind == STEP_RUN)
                        return true;
        return false;
}

static int execute_step(Bake *b, size_t i) {
        const PlanStep *ps = b->plan->steps + i;
        const TemplateStep *s = ps->step;
        int64_t epoch = bake_epoch(b);
        int r;
        switch (s->kind) {
        case STEP_UNPACK:
        case STEP_COPY:
        case STEP_FILE:
                r = apply_offline(b, ps, b->tree, epoch);
                if (r < 0 || !b->guest)
                        return r;
                if (!plan_has_run_after(b->plan, i + 1)) {
                        guest_stop(b); /* nothing more to run: the in-memory tree is the truth */
                        return 0;
                }
                return apply_to_guest(b, ps, epoch);
        case STEP_RUN:
                if (!b->guest) {
                        r = guest_start(b, plan_needs_network(b->plan, i));
                        if (r < 0)
                                return r;
                }
                r = run_script(b, ps, epoch);
                if (r < 0)
                        return r;
                if (!plan_has_run_after(b->plan, i + 1))
                        return guest_read_back(b, epoch);
                return guest_peek_tree(b, epoch);
        case STEP_SYSPREP: {
                /* Removes files: the appliance's copy would be stale, so a later run step relaunches. */
                guest_stop(b);
                SysprepReport rep = {};
                r = sysprep_apply(b->tree, (const char *const *) s->keep, &rep);
                if (r < 0)
                        return template_error_at(b->t, s->pos, "sysprep failed");
                log_info("sysprep: %zu removed, %zu emptied, %zu rewritten", rep.removed, rep.emptied, rep.rewritten);
                return 0;
        }
        case STEP_BOOTLOADER:
                return 0; /* installed by assembly, onto the finished disk */
        default:
                return -EINVAL;
        }
}

static int save_step_state(Bake *b, size_t i) {
        char hex[DIGEST_HEX_SIZE + 1];
        digest_to_hex(b->plan->steps[i].key, hex);
        _cleanup_free_ char *tmpdir = NULL, *final = NULL;
        int r = cache_entry_begin(b->cache, STEP_NS, hex, &tmpdir);
        if (r < 0)
                return log_error_errno(r, "failed to store the state of step %zu in the cache: %m", i + 1);
        _cleanup_free_ char *tar = path_join(tmpdir, STEP_STATE_FILE);
        r = tree_write(b->tree, tar, bake_epoch(b));
        if (r < 0) {
                cache_entry_abort(b->cache, tmpdir);
                return log_error_errno(r, "failed to write the state of step %zu: %m", i + 1);
        }
        r = cache_entry_commit(b->cache, STEP_NS, hex, tmpdir, &final);
        if (r < 0) {
                cache_entry_abort(b->cache, tmpdir); /* else it stays, locked, until the next cache_open */
                return log_error_errno(r, "failed to commit the state of step %zu: %m", i + 1);
        }
        remote_cache_store(b->remote, STEP_NS, hex, final);
        return 0;
}

/* The last step whose state is cached: steps 0..k are skipped. -1 if none. */
static ssize_t find_cached_prefix(Bake *b) {
        for (ssize_t i = (ssize_t) b->plan->n_steps - 1; i >= 0; i--) {
                char hex[DIGEST_HEX_SIZE + 1];
                digest_to_hex(b->plan->steps[i].key, hex);
                _cleanup_free_ char *dir = NULL;
                bool pulled = false;
                if (cache_entry_lookup(b->cache, STEP_NS, hex, &dir) < 0) {
                        if (remote_cache_fetch(b->remote, b->cache, STEP_NS, hex) < 0 ||
                            cache_entry_lookup(b->cache, STEP_NS, hex, &dir) < 0)
                                continue;
                        pulled = true;
                }
                _cleanup_free_ char *tar = path_join(dir, STEP_STATE_FILE);
                Tree *t = NULL;
                if (tree_load(tar, &t) < 0) {
                        log_warning("cached state of step %zd is unreadable, rebuilding it", i + 1);
                        continue;
                }
                b->tree = t;
                b->prefix_pulled = pulled;
                if (pulled) /* refresh its use for `cache gc --remote` */
                        remote_cache_store(b->remote, STEP_NS, hex, dir);
                return i;
        }
        return -1;
}

static void step_report(Bake *b, const PlanStep *ps, double seconds, bool cached) {
        char key[DIGEST_STRING_MAX];
        digest_to_string(ps->key, key);
        _cleanup_free_ char *name = log_mask(step_label(ps));
        manifest_add_step(b->manifest, ps->index + 1, name, step_kind_to_string(ps->kind), key, seconds, cached);
}

static int run_steps(Bake *b) {
        size_t n = b->plan->n_steps;
        ssize_t cached = find_cached_prefix(b);
        if (!b->tree)
                b->tree = tree_new();
        for (size_t i = 0; i < n; i++) {
                const PlanStep *ps = b->plan->steps + i;
                _cleanup_free_ char *name = log_mask(step_label(ps));
                char key[DIGEST_STRING_MAX];
                digest_to_string(ps->key, key);
                if ((ssize_t) i <= cached) {
                        step_report(b, ps, 0, true);
                        const char *status = b->prefix_pulled ? "pulled" : "cached";
                        _cleanup_free_ char *human = xasprintf("[%zu/%zu] %s: %s", i + 1, n, name, status);
                        event_emit("step", json_pack("{s:I, s:s, s:s, s:s}", "index", (json_int_t) i + 1, "name", name,
                                                     "key", key, "status", status),
                                   human);
                        continue;
                }
                _cleanup_free_ char *begin = xasprintf("[%zu/%zu] %s", i + 1, n, name);
                /* On a terminal the live status line says it (progress.h). */
                event_emit("step-begin", json_pack("{s:I, s:s, s:s}", "index", (json_int_t) i + 1, "name", name, "key", key),
                           log_is_tty() ? NULL : begin);
                double t0 = now_seconds();
                progress_begin(begin);
                int r = execute_step(b, i);
                progress_end();
                if (r < 0) {
                        event_emit("step", json_pack("{s:I, s:s, s:s, s:s}", "index", (json_int_t) i + 1, "name", name,
                                                     "key", key, "status", "failed"),
                                   NULL);
                        return r;
                }
                r = save_step_state(b, i);
                if (r < 0)
                        return r;
                double secs = now_seconds() - t0;
                step_report(b, ps, secs, false);
                _cleanup_free_ char *human = xasprintf("[%zu/%zu] %s: done in %.1fs", i + 1, n, name, secs);
                event_emit("step", json_pack("{s:I, s:s, s:s, s:s, s:f}", "index", (json_int_t) i + 1, "name", name, "key",
                                             key, "status", "done", "seconds", secs),
                           human);
        }
        guest_stop(b);
        return 0;
}

/* ---- identity inside the image ------------------------------------------------------------ */

/* The input digests: into the stamp (json_t, a name → digest object) or the manifest. */
static json_t *inputs_json(const Bake *b, BakeManifest *m) {
        json_t *o = json_object();
        for (size_t i = 0; i < b->plan->n_steps; i++)
                for (size_t k = 0; k < b->plan->steps[i].n_inputs; k++) {
                        const PlanDigest *d = b->plan->steps[i].inputs + k;
                        char s[DIGEST_STRING_MAX];
                        digest_to_string(d->digest, s);
                        json_object_set_new(o, d->name, json_string(s));
                        const TemplateInput *in = template_find_input(b->t, d->name);
                        if (m && in)
                                manifest_add_input(m, d->name, input_kind_to_string(in->kind), in->location, s);
                }
        return o;
}

static int read_tree_file(const Tree *t, const TreeEntry *e, char **ret) {
        char *buf = xmalloc(e->size + 1);
        ssize_t n = tree_read(t, e, 0, buf, e->size);
        if (n < 0 || (uint64_t) n != e->size) {
                free(buf);
                return n < 0 ? (int) n : -EIO;
        }
        buf[e->size] = 0;
        *ret = buf;
        return 0;
}

static int stamp_tree(Bake *b, const Assembly *a, int64_t epoch) {
        const Template *t = b->t;
        char key[DIGEST_STRING_MAX];
        digest_to_string(b->plan->bake_key, key);

        /* os-release is usually a symlink to ../usr/lib/os-release: stamp the file it names. */
        const char *path = "etc/os-release";
        const TreeEntry *e = tree_lookup(b->tree, path);
        _cleanup_free_ char *target = NULL;
        if (e && e->type == TREE_SYMLINK) {
                target = e->link_target[0] == '/' ? xstrdup(e->link_target + 1) : path_join("etc", e->link_target);
                path = startswith(target, "etc/../") ? target + 7 : target;
                e = tree_lookup(b->tree, path);
        }
        _cleanup_free_ char *old = NULL;
        uint32_t mode = 0644, uid = 0, gid = 0;
        if (e && e->type == TREE_REG) {
                if (read_tree_file(b->tree, e, &old) < 0)
                        return log_error_errno(-EIO, "failed to read '/%s' from the tree", path);
                mode = e->mode, uid = e->uid, gid = e->gid;
        }
        _cleanup_free_ char *osr = stamp_os_release(old, t->name, t->version);
        int r = tree_add_file(b->tree, path, osr, strlen(osr), mode, uid, gid, epoch);
        if (r < 0)
                return log_error_errno(r, "failed to stamp '/%s': %m", path);

        json_t *inputs = inputs_json(b, NULL);
        _cleanup_free_ char *stamp = stamp_json(t->name, t->version, key, inputs);
        json_decref(inputs);
        r = tree_add_file(b->tree, STAMP_PATH, stamp, strlen(stamp), 0644, 0, 0, epoch);
        if (r < 0)
                return log_error_errno(r, "failed to write '/%s': %m", STAMP_PATH);

        _cleanup_free_ char *fstab = assembly_fstab(a);
        r = tree_add_file(b->tree, "etc/fstab", fstab, strlen(fstab), 0644, 0, 0, epoch);
        if (r < 0)
                return log_error_errno(r, "failed to write '/etc/fstab': %m");
        return tree_clamp_times(b->tree, epoch);
}

/* ---- outputs, manifest, test, publish ----------------------------------------------------- */

static ImageOutputSpec *output_specs(const Template *t, size_t *ret_n) {
        ImageOutputSpec *specs = xcalloc(t->n_outputs + 1, sizeof *specs);
        for (size_t i = 0; i < t->n_outputs; i++)
                specs[i] = (ImageOutputSpec) { .format = t->outputs[i].format, .compression = t->outputs[i].compress };
        *ret_n = t->n_outputs;
        return specs;
}

static void build_manifest(Bake *b, const Assembly *a, const uint8_t image_digest[DIGEST_SIZE], uint64_t image_size,
                           const ImageOutput *outs, size_t n_outs, int64_t epoch) {
        const Template *t = b->t;
        BakeManifest *m = b->manifest;
        char key[DIGEST_STRING_MAX], dig[DIGEST_STRING_MAX];
        digest_to_string(b->plan->bake_key, key);
        digest_to_string(image_digest, dig);
        m->manifest_version = MANIFEST_VERSION;
        m->name = xstrdup(t->name);
        m->version = t->version ? xstrdup(t->version) : NULL;
        m->description = t->description ? xstrdup(t->description) : NULL;
        m->bake_key = xstrdup(key);
        m->image_digest = xstrdup(dig);
        m->has_image_size = m->has_epoch = m->has_inputs = m->has_steps = true;
        m->image_size = image_size;
        m->epoch = epoch;
        m->created = manifest_time(epoch);
        m->baker_version = xstrdup(BAKER_VERSION);
        json_decref(inputs_json(b, m));
        manifest_set_layout(m, assembly_manifest_layout(a));
        for (size_t i = 0; i < n_outs; i++) {
                char s[DIGEST_STRING_MAX];
                digest_to_string(outs[i].sha256, s);
                const char *slash = strrchr(outs[i].path, '/');
                manifest_add_output(m, slash ? slash + 1 : outs[i].path, image_format_to_string(outs[i].format),
                                    image_compression_to_string(outs[i].compression), outs[i].size, s);
        }
}

static int boot_test(Bake *b, const char *raw) {
        const TemplateTest *tt = &b->t->test;
        _cleanup_free_ char *log_path = xasprintf("%s/%s.console.log", b->output_dir, b->t->name);
        BootCommand *cmds = xcalloc(tt->n_commands + 1, sizeof *cmds);
        for (size_t i = 0; i < tt->n_commands; i++)
                cmds[i] = (BootCommand) { .send = tt->commands[i].send, .expect = tt->commands[i].expect };
        BootOptions bo = { .image = raw, .firmware = tt->firmware, .expect = tt->expect, .timeout_usec = tt->timeout_usec,
                           .log_path = log_path, .commands = cmds, .n_commands = tt->n_commands };
        _cleanup_free_ char *human = xasprintf("boot test (%s): waiting for /%s/", boot_firmware_to_string(tt->firmware),
                                               tt->expect ? tt->expect : "login:");
        event_emit("test-begin", json_pack("{s:s}", "firmware", boot_firmware_to_string(tt->firmware)), human);
        BootResult res = {};
        progress_begin(human);
        int r = boot_run(&bo, &res);
        progress_end();
        free(cmds);
        if (r < 0) {
                boot_result_done(&res);
                return r;
        }
        double secs = (double) res.duration_usec / 1e6;
        manifest_set_test(b->manifest, boot_firmware_to_string(tt->firmware), res.passed, secs,
                          res.accel ? res.accel : "tcg");
        if (!res.passed) {
                log_error("boot test failed: %s; console log: %s; last lines:\n%s", res.failure ? res.failure : "unknown",
                          log_path, res.tail ? res.tail : "");
                event_emit("test", json_pack("{s:b, s:s*, s:s*}", "passed", false, "failure", res.failure, "tail", res.tail),
                           NULL);
                boot_result_done(&res);
                return -EBADE;
        }
        _cleanup_free_ char *ok = xasprintf("boot test passed in %.1fs: %s", secs, res.matched ? res.matched : "");
        event_emit("test", json_pack("{s:b, s:f, s:s*}", "passed", true, "seconds", secs, "matched", res.matched), ok);
        boot_result_done(&res);
        return 0;
}

static int publish_all(Bake *b, const char *manifest_path) {
        const Template *t = b->t;
        for (size_t i = 0; i < t->n_publish; i++) {
                const TemplatePublish *p = t->publish + i;
                _cleanup_free_ char *target = publish_target(publish_kind_to_string(p->kind), p->target, t->name);
                PublishOptions po = { .channels = t->channels, .n_channels = t->n_channels, .insecure = p->insecure };
                _cleanup_(publish_report_done) PublishReport report = {};
                int r = publish_image(manifest_path, target, &po, &report);
                if (r < 0)
                        return template_error_at(t, p->pos, "publishing to '%s' failed", target);
                _cleanup_free_ char *human = xasprintf("published %s: %s (%s, %" PRIu64 " bytes sent)", target, report.digest,
                                                       report.unchanged ? "unchanged" : "pushed", report.stats.bytes_sent);
                json_t *fields = publish_report_to_json(&report);
                json_object_set_new(fields, "target", json_string(target));
                event_emit("publish", fields, human);
        }
        return 0;
}

/* ---- the finished-bake check -------------------------------------------------------------- */

/* True when OUTPUT_DIR holds exactly what the finished bake with this key produced, and, when
 * need_test, that bake passed its boot test (a bake with --skip-test must not make a later bake
 * "unchanged" without ever testing what it then publishes). */
static bool outputs_current(const char *output_dir, const char *manifest_path, const char *bake_key, bool need_test,
                            uint8_t ret_image_digest[DIGEST_SIZE]) {
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        if (access(manifest_path, F_OK) < 0 || manifest_load(manifest_path, &m) < 0)
                return false;
        if (!streq(m->bake_key, bake_key) || (need_test && !(m->test && m->test->passed)))
                return false;
        if (digest_from_string(m->image_digest, ret_image_digest) < 0)
                return false;
        /* Digests, not sizes: another bake may have written files of the same size. */
        return manifest_outputs_intact(m, output_dir);
}

/* ---- the pipeline ------------------------------------------------------------------------- */

/* A bake killed by SIGKILL or a crash leaves its work directory behind, guest disk and all. Live
 * bakes hold an flock on theirs; one nobody holds and untouched for a minute (the grace covers a
 * bake between mkdtemp and flock) is debris, but only when it is ours: the temp directory is
 * shared, and another user's directory (or one made to look like a work directory) is left alone. */
static void remove_abandoned_work_dirs(void) {
        DIR *d = opendir(tmp_dir());
        if (!d)
                return;
        time_t now = time(NULL);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!startswith(de->d_name, WORK_PREFIX "-"))
                        continue;
                _cleanup_free_ char *p = path_join(tmp_dir(), de->d_name);
                _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() || now - st.st_mtime < 60 ||
                    flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                if (rm_rf_at(dirfd(d), de->d_name, st.st_dev) >= 0)
                        log_debug("removed the abandoned work directory '%s'", p);
        }
        closedir(d);
}

static int make_work_dir(Bake *b) {
        remove_abandoned_work_dirs();
        _cleanup_free_ char *dir = tmp_template(WORK_PREFIX);
        if (!mkdtemp(dir))
                return log_error_errno(-errno, "failed to create a work directory: %m");
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX) < 0) {
                int r = log_error_errno(-errno, "failed to lock '%s': %m", dir);
                closep(&fd);
                (void) rmdir(dir);
                return r;
        }
        b->work_fd = fd;
        b->work_dir = TAKE_PTR(dir);
        return 0;
}

/* Fetch, steps, stamp, assembly, outputs, boot test and manifest: everything but publishing. */
static Outcome bake_build(Bake *b, BakeResult *ret, bool keep_raw) {
        const BakeOptions *o = b->opts;
        const Template *t = b->t;
        char keyhex[DIGEST_HEX_SIZE + 1];
        digest_to_hex(b->plan->bake_key, keyhex);
        _cleanup_free_ char *manifest_path = path_join(b->output_dir, MANIFEST_FILE);
        int r;

        r = fetch_inputs(b);
        if (r < 0)
                return OUTCOME_INPUT;

        if (make_work_dir(b) < 0)
                return OUTCOME_INTERNAL;
        interrupt_register(b->work_dir);
        b->manifest = manifest_new();

        r = run_steps(b);
        if (r < 0)
                return OUTCOME_BUILD;

        /* Stamp, lay out and write the disk. */
        int64_t epoch = bake_epoch(b);
        _cleanup_(assembly_freep) Assembly *a = NULL;
        r = assembly_new(t, b->plan->bake_key, &a);
        if (r < 0)
                return OUTCOME_USAGE;
        r = stamp_tree(b, a, epoch);
        if (r < 0)
                return OUTCOME_BUILD;
        _cleanup_free_ char *final_raw = xasprintf("%s/%s.raw", b->output_dir, t->name);
        _cleanup_unlink_ char *raw = tmp_sibling(final_raw);
        {
                _cleanup_close_ int fd = mkostemp(raw, O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(-errno, "failed to create '%s': %m", raw), OUTCOME_BUILD;
        }
        interrupt_register(raw);
        double t0 = now_seconds();
        event_emit("assemble-begin", NULL, "assembling the disk image");
        r = assembly_write(a, b->tree, epoch, raw, b->work_dir);
        if (r < 0)
                return OUTCOME_BUILD;
        uint64_t image_size = 0;
        r = digest_file(raw, ret->image_digest, &image_size);
        if (r < 0)
                return log_error_errno(r, "failed to digest '%s': %m", raw), OUTCOME_BUILD;
        char dig[DIGEST_STRING_MAX];
        digest_to_string(ret->image_digest, dig);
        _cleanup_free_ char *img_msg = xasprintf("image %s (%.1fs)", dig, now_seconds() - t0);
        event_emit("image", json_pack("{s:s, s:I}", "image_digest", dig, "size", (json_int_t) image_size), img_msg);

        /* The outputs are about to be replaced: an older manifest must not vouch for them if this
         * bake stops before it writes its own (a Ctrl-C in the boot test, a failed write). */
        if (unlink(manifest_path) < 0 && errno != ENOENT)
                return log_error_errno(-errno, "failed to remove '%s': %m", manifest_path), OUTCOME_BUILD;
        size_t n_specs = 0, n_outs = 0;
        _cleanup_free_ ImageOutputSpec *specs = output_specs(t, &n_specs);
        ImageOutput *outs = NULL;
        r = image_write_outputs(raw, ret->image_digest, b->output_dir, t->name, specs, n_specs, &outs, &n_outs);
        if (r < 0)
                return log_error_errno(r, "failed to write the outputs: %m"), OUTCOME_BUILD;
        for (size_t i = 0; i < n_outs; i++) {
                char s[DIGEST_STRING_MAX];
                digest_to_string(outs[i].sha256, s);
                _cleanup_free_ char *m = xasprintf("output %s (%" PRIu64 " bytes, %s)", outs[i].path, outs[i].size, s);
                event_emit("output", json_pack("{s:s, s:I, s:s}", "file", outs[i].path, "size", (json_int_t) outs[i].size,
                                               "sha256", s),
                           m);
        }
        build_manifest(b, a, ret->image_digest, image_size, outs, n_outs, epoch);
        image_outputs_free(outs, n_outs);
        if (bake_write_sbom(b->tree, t, b->output_dir, ret->image_digest, epoch, b->manifest) < 0)
                return OUTCOME_BUILD;

        /* The boot test runs on the raw image through a throw-away overlay. */
        if (t->test.has_boot && !o->skip_test && !keep_raw) {
                r = boot_test(b, raw);
                if (r < 0) {
                        /* The outputs beside it are now the failed image's: an older manifest must
                         * not vouch for them. */
                        (void) unlink(manifest_path);
                        if (r == -EINTR)
                                return OUTCOME_INTERRUPTED;
                        return r == -EBADE ? OUTCOME_TEST : (log_error_errno(r, "boot test could not run: %m"), OUTCOME_TEST);
                }
        }
        r = manifest_write(manifest_path, b->manifest);
        if (r < 0)
                return OUTCOME_BUILD;
        /* Record the finished bake (its manifest) under the bake key. */
        _cleanup_free_ char *tmpdir = NULL, *done_dir = NULL;
        if (cache_entry_begin(b->cache, BAKE_NS, keyhex, &tmpdir) >= 0) {
                _cleanup_free_ char *p = path_join(tmpdir, MANIFEST_FILE);
                if (manifest_write(p, b->manifest) < 0 || cache_entry_commit(b->cache, BAKE_NS, keyhex, tmpdir, &done_dir) < 0)
                        cache_entry_abort(b->cache, tmpdir);
                else
                        remote_cache_store(b->remote, BAKE_NS, keyhex, done_dir);
        }
        interrupt_unregister(raw);
        if (keep_raw)
                ret->raw_path = TAKE_PTR(raw);
        return OUTCOME_OK;

}

static Outcome bake_pipeline(Bake *b, BakeResult *ret, bool keep_raw) {
        const BakeOptions *o = b->opts;
        int r;
        double t_start = now_seconds();

        template_args_load(o->args, o->template_path, &b->t, &b->vars);
        if (b->t->n_errors > 0) {
                template_args_report_errors(o->args, b->t);
                return OUTCOME_USAGE;
        }
        const Template *t = b->t;
        if (!t->has_disk)
                return template_error_at(t, t->name_pos, "the template has no disk"), OUTCOME_USAGE;
        if (plan_build(t, b->vars, NULL, &b->plan) < 0)
                return OUTCOME_INPUT;
        char key[DIGEST_STRING_MAX], keyhex[DIGEST_HEX_SIZE + 1];
        digest_to_string(b->plan->bake_key, key);
        digest_to_hex(b->plan->bake_key, keyhex);
        memcpy(ret->bake_key, b->plan->bake_key, DIGEST_SIZE);

        b->output_dir = xstrdup(o->output_dir ? o->output_dir : "output");
        r = mkdir_p(b->output_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "failed to create '%s': %m", b->output_dir), OUTCOME_BUILD;
        b->output_fd = output_dir_lock(b->output_dir, t->name);
        if (b->output_fd < 0)
                return OUTCOME_BUILD;
        _cleanup_free_ char *manifest_path = path_join(b->output_dir, MANIFEST_FILE);
        ret->manifest_path = xstrdup(manifest_path);

        r = cache_open(b->fresh_cache ? b->fresh_cache : o->cache_dir, &b->cache);
        if (r < 0)
                return log_error_errno(r, "failed to open the cache: %m"), OUTCOME_INTERNAL;
        if (!b->fresh_cache && (o->cache_from || o->cache_to))
                b->remote = remote_cache_new(o->cache_from, o->cache_to);
        _cleanup_free_ char *human = xasprintf("baking %s %s (bake key %.19s…)", t->name, t->version ? t->version : "", key);
        event_emit("bake-begin", json_pack("{s:s, s:s*, s:s, s:s}", "name", t->name, "version", t->version, "bake_key", key,
                                           "cache", cache_dir(b->cache)),
                   human);

        /* A finished bake with this key and its outputs in place: nothing to do. */
        _cleanup_free_ char *finished = NULL;
        if (!o->rebuild && !keep_raw && cache_entry_lookup(b->cache, BAKE_NS, keyhex, &finished) >= 0 &&
            outputs_current(b->output_dir, manifest_path, key, t->test.has_boot && !o->skip_test, ret->image_digest)) {
                ret->unchanged = true;
                char dig[DIGEST_STRING_MAX];
                digest_to_string(ret->image_digest, dig);
                _cleanup_free_ char *msg = xasprintf("unchanged: %s is already baked (image %s)", t->name, dig);
                event_emit("bake-unchanged", json_pack("{s:s, s:s}", "bake_key", key, "image_digest", dig), msg);
        } else {
                Outcome out = bake_build(b, ret, keep_raw);
                if (out != OUTCOME_OK)
                        return out;
        }

        if (t->n_publish > 0 && !o->no_publish && !keep_raw) {
                if (t->test.has_boot && o->skip_test)
                        log_warning("publishing without the boot test (--skip-test)");
                if (publish_all(b, manifest_path) < 0)
                        return OUTCOME_PUBLISH;
        }
        char dig2[DIGEST_STRING_MAX];
        digest_to_string(ret->image_digest, dig2);
        _cleanup_free_ char *end = xasprintf("%s %s in %.1fs: %s", ret->unchanged ? "unchanged" : "baked", t->name,
                                             now_seconds() - t_start, manifest_path);
        event_emit("bake-end", json_pack("{s:s, s:s, s:s, s:s, s:f}", "status", ret->unchanged ? "unchanged" : "built",
                                         "bake_key", key, "image_digest", dig2, "manifest", manifest_path, "seconds",
                                         now_seconds() - t_start),
                   end);
        return OUTCOME_OK;
}

Outcome bake_run(const BakeOptions *o, BakeResult *ret) {
        Bake b = { .opts = o, .work_fd = -1, .output_fd = -1 };
        *ret = (BakeResult) {};
        interrupt_install();
        Outcome out = bake_pipeline(&b, ret, false);
        bake_done(&b);
        return out;
}

Outcome bake_fresh(const BakeOptions *o, BakeResult *ret) {
        Bake b = { .opts = o, .work_fd = -1, .output_fd = -1 };
        *ret = (BakeResult) {};
        interrupt_install();
        b.fresh_cache = tmp_template("baker-verify-cache");
        if (!mkdtemp(b.fresh_cache)) {
                log_error_errno(-errno, "failed to create a private cache: %m");
                b.fresh_cache = mfree(b.fresh_cache);
                return OUTCOME_INTERNAL;
        }
        Outcome out = bake_pipeline(&b, ret, true);
        bake_done(&b);
        return out;
}
