/* The bake pipeline (bake.h): template → plan → finished-bake check → fetch → steps (steps/) →
 * stamp (identity.c) → assembly → outputs → digest + manifest → boot test → publish (results.c). */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "bake-debian.h"
#include "bake-internal.h"
#include "bake-sbom.h"
#include "digest-memo.h"
#include "events.h"
#include "interrupt.h"
#include "log.h"
#include "manifest.h"
#include "output-dir.h"
#include "strv.h"

#define BAKE_NS "bakes"
#define WORK_PREFIX "baker-work"

void bake_result_done(BakeResult *r) {
        free(r->manifest_path);
        free(r->raw_path);
        *r = (BakeResult) {};
}

static void bake_done(Bake *b) {
        tree_free(b->tree);
        if (b->work_dir) {
                rm_rf(b->work_dir);
                interrupt_unregister(b->work_dir);
        }
        free(b->work_dir);
        closep(&b->work_fd);
        closep(&b->output_fd);
        if (b->t)
                steps_input_paths_free(b->input_paths, b->t->n_inputs);
        manifest_free(b->manifest);
        remote_cache_free(b->remote);
        lock_free(b->moved_lock);
        cache_free(b->cache);
        if (b->fresh_cache)
                rm_rf(b->fresh_cache);
        free(b->fresh_cache);
        plan_free(b->plan);
        vars_free(b->vars);
        template_free(b->t);
        free(b->output_dir);
}

/* ---- steps -------------------------------------------------------------------------------- */

/* The remote cache behind the local one, for the steps (StepsOptions). */
static int remote_fetch(void *userdata, Cache *cache, const char *ns, const char *key_hex) {
        return remote_cache_fetch(userdata, cache, ns, key_hex);
}

static void remote_stored(void *userdata, const char *ns, const char *key_hex, const char *dir) {
        remote_cache_store(userdata, ns, key_hex, dir);
}

static int run_steps(Bake *b) {
        StepsOptions so = { .t = b->t, .vars = b->vars, .plan = b->plan, .refresh = b->opts->refresh,
                            .cache = b->cache, .input_paths = b->input_paths, .work_dir = b->work_dir };
        if (b->remote) {
                so.cache_fetch = remote_fetch;
                so.cache_stored = remote_stored;
                so.cache_userdata = b->remote;
        }
        StepReport *reports = NULL;
        size_t n = 0;
        int r = steps_run(&so, &b->tree, &reports, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char key[DIGEST_STRING_MAX];
                digest_to_string(reports[i].key, key);
                manifest_add_step(b->manifest, reports[i].index, reports[i].name, reports[i].kind, key, reports[i].seconds,
                                  reports[i].cached);
        }
        step_reports_free(reports, n);
        return 0;
}

/* The bootloaders the steps ask the assembly for (StepOps.bootloader). */
static int bake_bootloaders(const Bake *b, AssemblyBootloader **ret, size_t *ret_n) {
        AssemblyBootloader *l = xcalloc(b->t->n_steps + 1, sizeof *l);
        size_t n = 0;
        for (size_t i = 0; i < b->t->n_steps; i++) {
                const TemplateStep *s = &b->t->steps[i];
                const StepOps *ops = step_ops(s);
                if (!ops->bootloader)
                        continue;
                int r = ops->bootloader(s, b->vars, &l[n].type, &l[n].cmdline);
                if (r < 0) {
                        assembly_bootloaders_free(l, n);
                        return template_error_at(b->t, s->pos, "failed to substitute variables");
                }
                if (r > 0)
                        l[n++].pos = s->pos;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

/* ---- the finished-bake check -------------------------------------------------------------- */

/* True when OUTPUT_DIR holds exactly what the finished bake with this key produced, and, when
 * need_test, that bake passed its boot test (a bake with --skip-test must not make a later bake
 * "unchanged" without ever testing what it then publishes). */
/* Digests, not sizes: another bake may have written files of the same size. Through the digest
 * memo, so an output untouched since it was hashed is not read again. */
static bool outputs_intact(Cache *c, const BakeManifest *m, const char *dir) {
        for (size_t i = 0; i < m->n_outputs; i++) {
                const ManifestOutput *o = m->outputs + i;
                _cleanup_free_ char *p = path_join(dir, o->file);
                uint8_t d[DIGEST_SIZE], want[DIGEST_SIZE];
                uint64_t size = 0;
                if (digest_from_string(o->sha256, want) < 0 || digest_memo_file(c, p, d, &size) < 0) {
                        log_debug("'%s' is missing or unreadable", p);
                        return false;
                }
                if (size != o->size || memcmp(d, want, DIGEST_SIZE) != 0) {
                        log_debug("'%s' is not the file the manifest describes", p);
                        return false;
                }
        }
        return true;
}

static bool outputs_current(Cache *c, const char *output_dir, const char *manifest_path, const char *bake_key,
                            bool need_test, uint8_t ret_image_digest[DIGEST_SIZE]) {
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        if (access(manifest_path, F_OK) < 0 || manifest_load(manifest_path, &m) < 0)
                return false;
        if (!streq(m->bake_key, bake_key) || (need_test && !(m->test && m->test->passed)))
                return false;
        if (digest_from_string(m->image_digest, ret_image_digest) < 0)
                return false;
        return outputs_intact(c, m, output_dir);
}

/* The plan's digests of host files (file inputs, scripts) through the digest memo: an unchanged
 * re-bake does not read a large input again. */
static int memo_digest_file(const char *path, uint8_t ret[DIGEST_SIZE], void *userdata) {
        return digest_memo_file(userdata, path, ret, NULL);
}

static int memo_digest_input(const TemplateInput *in, uint8_t ret[DIGEST_SIZE], void *userdata) {
        if (!in->kind || !in->kind->digest)
                return -EINVAL;
        return in->kind->digest(in, memo_digest_file, userdata, ret);
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

/* The raw image from the final tree: stamp, lay out, write the disk, digest it. */
static Outcome bake_assemble(Bake *b, const char *raw, int64_t epoch, Assembly **ret_a, BakeResult *ret,
                             uint64_t *ret_size) {
        const Template *t = b->t;
        AssemblyBootloader *boots = NULL;
        size_t n_boots = 0;
        if (bake_bootloaders(b, &boots, &n_boots) < 0)
                return OUTCOME_USAGE;
        _cleanup_(assembly_freep) Assembly *a = NULL;
        int r = assembly_new(t, boots, n_boots, b->plan->bake_key, &a);
        assembly_bootloaders_free(boots, n_boots);
        if (r < 0)
                return OUTCOME_USAGE;
        r = bake_stamp_tree(b, a, epoch);
        if (r < 0)
                return OUTCOME_BUILD;
        double t0 = now_seconds();
        event_emit("assemble-begin", NULL, "assembling the disk image");
        r = assembly_write(a, b->tree, epoch, raw, b->work_dir);
        if (r < 0)
                return OUTCOME_BUILD;
        r = digest_file(raw, ret->image_digest, ret_size);
        if (r < 0)
                return log_error_errno(r, "failed to digest '%s': %m", raw), OUTCOME_BUILD;
        char dig[DIGEST_STRING_MAX];
        digest_to_string(ret->image_digest, dig);
        _cleanup_free_ char *img_msg = xasprintf("image %s (%.1fs)", dig, now_seconds() - t0);
        event_emit("image", json_pack("{s:s, s:I}", "image_digest", dig, "size", (json_int_t) *ret_size), img_msg);
        *ret_a = TAKE_PTR(a);
        return OUTCOME_OK;
}

/* The outputs beside the raw image, and the manifest that describes them (not yet written). */
static Outcome bake_outputs(Bake *b, const char *raw, const Assembly *a, int64_t epoch, uint64_t image_size,
                            const BakeResult *ret) {
        const Template *t = b->t;
        size_t n_specs = 0, n_outs = 0;
        _cleanup_free_ ImageOutputSpec *specs = bake_output_specs(t, &n_specs);
        ImageOutput *outs = NULL;
        int r = image_write_outputs(raw, ret->image_digest, epoch, b->output_dir, t->name, specs, n_specs, &outs, &n_outs);
        if (r < 0)
                return log_error_errno(r, "failed to write the outputs: %m"), OUTCOME_BUILD;
        for (size_t i = 0; i < n_outs; i++) {
                char s[DIGEST_STRING_MAX];
                digest_to_string(outs[i].sha256, s);
                digest_memo_remember(b->cache, outs[i].path, outs[i].sha256);
                _cleanup_free_ char *m = xasprintf("output %s (%" PRIu64 " bytes, %s)", outs[i].path, outs[i].size, s);
                event_emit("output", json_pack("{s:s, s:I, s:s}", "file", outs[i].path, "size", (json_int_t) outs[i].size,
                                               "sha256", s),
                           m);
        }
        bake_build_manifest(b, a, ret->image_digest, image_size, outs, n_outs, epoch);
        image_outputs_free(outs, n_outs);
        if (bake_write_sbom(b->tree, t, b->output_dir, ret->image_digest, epoch, b->manifest) < 0)
                return OUTCOME_BUILD;
        return OUTCOME_OK;
}

/* The finished bake in the remote cache: its manifest and the outputs it names, so that a cold
 * runner with the same bake key downloads just these. */
static void bake_share(Bake *b, const char *keyhex, const char *done_dir) {
        if (!b->remote)
                return;
        _cleanup_strv_free_ char **paths = NULL;
        strv_push(&paths, NULL, path_join(done_dir, MANIFEST_FILE));
        for (size_t i = 0; i < b->manifest->n_outputs; i++)
                strv_push(&paths, NULL, path_join(b->output_dir, b->manifest->outputs[i].file));
        if (b->manifest->packages && b->manifest->packages->sbom)
                strv_push(&paths, NULL, path_join(b->output_dir, b->manifest->packages->sbom));
        remote_cache_store_files(b->remote, BAKE_NS, keyhex, paths);
}

/* Records the finished bake (its manifest) under the bake key — unless a step uses a secret,
 * which the key does not cover. */
static void bake_record(Bake *b) {
        if (b->plan->secret_from < b->plan->n_steps)
                return;
        char keyhex[DIGEST_HEX_SIZE + 1];
        digest_to_hex(b->plan->bake_key, keyhex);
        _cleanup_free_ char *tmpdir = NULL, *done_dir = NULL;
        if (cache_entry_begin(b->cache, BAKE_NS, keyhex, &tmpdir) < 0)
                return;
        _cleanup_free_ char *p = path_join(tmpdir, MANIFEST_FILE);
        if (manifest_write(p, b->manifest) < 0 || cache_entry_commit(b->cache, BAKE_NS, keyhex, tmpdir, &done_dir) < 0)
                cache_entry_abort(b->cache, tmpdir);
        else if (steps_shared_until(b->plan) == b->plan->n_steps) /* no step keeps its result local */
                bake_share(b, keyhex, done_dir);
}

static Outcome bake_test(Bake *b, const char *raw, const char *manifest_path) {
        int r = bake_boot_test(b, raw);
        if (r >= 0)
                return OUTCOME_OK;
        /* The outputs beside it are now the failed image's: an older manifest must not vouch for
         * them. */
        (void) unlink(manifest_path);
        if (r == -EINTR)
                return OUTCOME_INTERRUPTED;
        if (r != -EBADE)
                log_error_errno(r, "boot test could not run: %m");
        return OUTCOME_TEST;
}

/* A finished bake with this key and its outputs in place: nothing to do. Never when a step uses
 * a secret: the key does not cover it, so a rotated secret must bake again. */
typedef struct PullCheck {
        const char *bake_key;
        bool need_test;
        uint8_t image_digest[DIGEST_SIZE]; /* out */
        bool rehash;                       /* out: an output's digest is not in the entry */
} PullCheck;

/* A pulled manifest.json is this bake's, passed its boot test when this bake needs one, and the
 * entry's files are its outputs, digest for digest: as each is verified on arrival, the outputs
 * are then what the manifest describes without reading them again (a file whose digest the entry
 * does not give is hashed once it is in place). */
static bool pull_accept(const char *manifest_path, const RemoteCacheFile *files, size_t n_files, void *userdata) {
        PullCheck *c = userdata;
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        if (manifest_load(manifest_path, &m) < 0 || !streq_ptr(m->bake_key, c->bake_key) || !m->outputs ||
            m->n_outputs == 0 || (c->need_test && !(m->test && m->test->passed)) ||
            digest_from_string(m->image_digest, c->image_digest) < 0)
                return false;
        c->rehash = false;
        for (size_t i = 0; i < m->n_outputs; i++) {
                const ManifestOutput *o = m->outputs + i;
                const RemoteCacheFile *f = NULL;
                for (size_t j = 0; j < n_files && !f; j++)
                        if (streq(files[j].name, o->file))
                                f = files + j;
                if (!f || f->size != o->size || (f->digest && !streq(f->digest, o->sha256)))
                        return false;
                c->rehash = c->rehash || !f->digest;
        }
        return true;
}

static void report_pulled_steps(const Plan *p) {
        for (size_t i = 0; i < p->n_steps; i++) {
                const PlanStep *ps = &p->steps[i];
                _cleanup_free_ char *name = log_mask(ps->step->name ? ps->step->name : ps->display);
                char sk[DIGEST_STRING_MAX];
                digest_to_string(ps->key, sk);
                _cleanup_free_ char *human = xasprintf("[%zu/%zu] %s: pulled", i + 1, p->n_steps, name);
                event_emit("step", json_pack("{s:I, s:s, s:s, s:s}", "index", (json_int_t) i + 1, "name", name, "key", sk,
                                             "status", "pulled"),
                           human);
        }
}

/* A cold runner: the finished bake from the remote cache, its outputs and nothing else (no input,
 * no step state), verified; every step is then reported as pulled. */
static bool bake_pull_finished(Bake *b, const char *manifest_path, BakeResult *ret) {
        const BakeOptions *o = b->opts;
        const Plan *p = b->plan;
        if (!b->remote || o->rebuild || steps_shared_until(p) < p->n_steps)
                return false;
        char key[DIGEST_STRING_MAX], keyhex[DIGEST_HEX_SIZE + 1];
        digest_to_string(p->bake_key, key);
        digest_to_hex(p->bake_key, keyhex);
        bool need_test = b->t->test.has_boot && !o->skip_test;
        PullCheck c = { .bake_key = key, .need_test = need_test };
        if (remote_cache_fetch_files(b->remote, BAKE_NS, keyhex, b->output_dir, pull_accept, &c) < 0)
                return false;
        if (c.rehash && !outputs_current(b->cache, b->output_dir, manifest_path, key, need_test, c.image_digest)) {
                log_warning("the finished bake pulled from the remote cache does not match its manifest; baking");
                (void) unlink(manifest_path);
                return false;
        }
        memcpy(ret->image_digest, c.image_digest, DIGEST_SIZE);
        /* Recorded locally too, like a bake that ran here. */
        _cleanup_free_ char *tmpdir = NULL;
        if (cache_entry_begin(b->cache, BAKE_NS, keyhex, &tmpdir) >= 0) {
                _cleanup_free_ char *dst = path_join(tmpdir, MANIFEST_FILE);
                if (copy_file(manifest_path, dst, O_EXCL, 0600) < 0 ||
                    cache_entry_commit(b->cache, BAKE_NS, keyhex, tmpdir, NULL) < 0)
                        cache_entry_abort(b->cache, tmpdir);
        }
        report_pulled_steps(p);
        return true;
}

/* The finished bake that stands for this one: the plan's key, or on --refresh the output folder's
 * last bake when it had the same content under another version (a CI build number in `version`),
 * so that a nightly refresh that finds nothing new neither bakes nor publishes a new version. Its
 * version in *ret_version then (NULL for the plan's own). */
static void standing_bake(const Bake *b, const char *manifest_path, uint8_t ret_key[DIGEST_SIZE], char **ret_version) {
        memcpy(ret_key, b->plan->bake_key, DIGEST_SIZE);
        *ret_version = NULL;
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        if (!b->opts->refresh || access(manifest_path, F_OK) < 0 || manifest_load(manifest_path, &m) < 0 ||
            streq_ptr(m->version, b->t->version))
                return;
        uint8_t k[DIGEST_SIZE];
        char s[DIGEST_STRING_MAX];
        plan_bake_key_for_version(b->plan, m->version, k);
        digest_to_string(k, s);
        if (!streq(s, m->bake_key))
                return;
        memcpy(ret_key, k, DIGEST_SIZE);
        *ret_version = m->version ? xstrdup(m->version) : xstrdup("");
}

static bool bake_unchanged(Bake *b, const char *manifest_path, bool keep_raw, BakeResult *ret) {
        const BakeOptions *o = b->opts;
        uint8_t k[DIGEST_SIZE];
        _cleanup_free_ char *version = NULL;
        standing_bake(b, manifest_path, k, &version);
        char key[DIGEST_STRING_MAX], keyhex[DIGEST_HEX_SIZE + 1];
        digest_to_string(k, key);
        digest_to_hex(k, keyhex);
        _cleanup_free_ char *finished = NULL;
        if (o->rebuild || keep_raw || b->plan->secret_from < b->plan->n_steps ||
            cache_entry_lookup(b->cache, BAKE_NS, keyhex, &finished) < 0 ||
            !outputs_current(b->cache, b->output_dir, manifest_path, key, b->t->test.has_boot && !o->skip_test, ret->image_digest))
                return false;
        ret->unchanged = true;
        memcpy(ret->bake_key, k, DIGEST_SIZE);
        char dig[DIGEST_STRING_MAX];
        digest_to_string(ret->image_digest, dig);
        _cleanup_free_ char *as = version ? xasprintf(" as version '%s'", version) : xstrdup("");
        _cleanup_free_ char *msg = xasprintf("unchanged: %s is already baked%s (image %s)", b->t->name, as, dig);
        event_emit("bake-unchanged", json_pack("{s:s, s:s, s:s*}", "bake_key", key, "image_digest", dig, "version", version),
                   msg);
        return true;
}

/* Fetch, steps, stamp, assembly, outputs, boot test and manifest: everything but publishing. */
static Outcome bake_build(Bake *b, BakeResult *ret, bool keep_raw) {
        const Template *t = b->t;
        _cleanup_free_ char *manifest_path = path_join(b->output_dir, MANIFEST_FILE);
        if (steps_fetch_inputs(t, b->cache, &b->input_paths) < 0)
                return OUTCOME_INPUT;
        if (make_work_dir(b) < 0)
                return OUTCOME_INTERNAL;
        interrupt_register(b->work_dir);
        b->manifest = manifest_new();
        if (run_steps(b) < 0)
                return OUTCOME_BUILD;
        /* A refreshed step's result re-keys the rest: the same result as before finds the bake
         * finished already (early cut-off), a new one bakes. */
        memcpy(ret->bake_key, b->plan->bake_key, DIGEST_SIZE);
        if (b->opts->refresh && bake_unchanged(b, manifest_path, keep_raw, ret))
                return OUTCOME_OK;
        if (b->opts->refresh && !keep_raw && steps_any_volatile(b->plan)) {
                int r = bake_published_unchanged(b, manifest_path, ret);
                if (r != 0)
                        return r < 0 ? OUTCOME_PUBLISH : OUTCOME_OK;
        }

        int64_t epoch = steps_epoch(t, b->tree);
        _cleanup_free_ char *final_raw = xasprintf("%s/%s.raw", b->output_dir, t->name);
        _cleanup_unlink_ char *raw = tmp_sibling(final_raw);
        {
                _cleanup_close_ int fd = mkostemp(raw, O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(-errno, "failed to create '%s': %m", raw), OUTCOME_BUILD;
        }
        interrupt_register(raw);
        _cleanup_(assembly_freep) Assembly *a = NULL;
        uint64_t image_size = 0;
        Outcome out = bake_assemble(b, raw, epoch, &a, ret, &image_size);
        if (out != OUTCOME_OK)
                return out;
        /* The outputs are about to be replaced: an older manifest must not vouch for them if this
         * bake stops before it writes its own (a Ctrl-C in the boot test, a failed write). */
        if (unlink(manifest_path) < 0 && errno != ENOENT)
                return log_error_errno(-errno, "failed to remove '%s': %m", manifest_path), OUTCOME_BUILD;
        out = bake_outputs(b, raw, a, epoch, image_size, ret);
        if (out != OUTCOME_OK)
                return out;
        /* The boot test runs on the raw image through a throw-away overlay. */
        if (t->test.has_boot && !b->opts->skip_test && !keep_raw)
                out = bake_test(b, raw, manifest_path);
        if (out != OUTCOME_OK)
                return out;
        if (manifest_write(manifest_path, b->manifest) < 0)
                return OUTCOME_BUILD;
        bake_record(b);
        interrupt_unregister(raw);
        if (keep_raw)
                ret->raw_path = TAKE_PTR(raw);
        return OUTCOME_OK;
}

/* The version as it is stamped, recorded and published: its variables substituted (a sensitive one
 * stays a reference). After the plan, whose layout substitutes it itself. */
static void bake_substitute_version(Template *t, const Vars *vars) {
        char *v = NULL;
        if (t->version && vars_substitute(vars, t->version, VARS_SUBSTITUTE_PUBLIC, &v) >= 0) {
                free(t->version);
                t->version = v;
        }
}

/* Template, variables and plan. */
static Outcome bake_load(Bake *b) {
        const BakeOptions *o = b->opts;
        TemplateOptions to = o->template;
        to.kinds = steps_template_kinds();
        vars_load_template(o->template_path, &to, &o->vars, &b->t, &b->vars);
        if (b->t->n_errors > 0) {
                template_report_errors(b->t, o->json);
                return OUTCOME_USAGE;
        }
        if (!b->t->has_disk)
                return template_error_at(b->t, b->t->name_pos, "the template has no disk"), OUTCOME_USAGE;
        Outcome out = bake_debian_prepare(b->t, b->vars, b->fresh_cache ? b->fresh_cache : o->cache_dir, o->refresh,
                                          &b->moved_lock);
        if (out != OUTCOME_OK)
                return out;
        int r = cache_open(b->fresh_cache ? b->fresh_cache : o->cache_dir, &b->cache);
        if (r < 0)
                return log_error_errno(r, "failed to open the cache: %m"), OUTCOME_INTERNAL;
        /* Unpinned URLs are keyed by their content: fetched now when it is not known yet, or on
         * refresh. */
        if (steps_resolve_inputs(b->t, b->cache, o->refresh) < 0)
                return OUTCOME_INPUT;
        PlanDigester digester = { .input = memo_digest_input, .file = memo_digest_file, .userdata = b->cache };
        if (plan_build(b->t, b->vars, &digester, &b->plan) < 0)
                return OUTCOME_INPUT;
        steps_apply_results(b->plan, b->cache, 0);
        bake_substitute_version(b->t, b->vars);
        return OUTCOME_OK;
}

static Outcome bake_pipeline(Bake *b, BakeResult *ret, bool keep_raw) {
        const BakeOptions *o = b->opts;
        double t_start = now_seconds();
        Outcome out = bake_load(b);
        if (out != OUTCOME_OK)
                return out;
        const Template *t = b->t;
        char key[DIGEST_STRING_MAX];
        digest_to_string(b->plan->bake_key, key);
        memcpy(ret->bake_key, b->plan->bake_key, DIGEST_SIZE);
        int r;

        b->output_dir = xstrdup(o->output_dir ? o->output_dir : "output");
        r = mkdir_p(b->output_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "failed to create '%s': %m", b->output_dir), OUTCOME_BUILD;
        b->output_fd = output_dir_lock(b->output_dir, t->name);
        if (b->output_fd < 0)
                return OUTCOME_BUILD;
        _cleanup_free_ char *manifest_path = path_join(b->output_dir, MANIFEST_FILE);
        ret->manifest_path = xstrdup(manifest_path);

        if (!b->fresh_cache && (o->cache_from || o->cache_to))
                b->remote = remote_cache_new(o->cache_from, o->cache_to);
        _cleanup_free_ char *human = xasprintf("baking %s %s (bake key %.19s…)", t->name, t->version ? t->version : "", key);
        event_emit("bake-begin", json_pack("{s:s, s:s*, s:s, s:s}", "name", t->name, "version", t->version, "bake_key", key,
                                           "cache", cache_dir(b->cache)),
                   human);
        /* A refresh runs the volatile steps before it can know the bake key (bake_build). */
        bool rerun = o->refresh && steps_any_volatile(b->plan);
        bool done = !rerun && bake_unchanged(b, manifest_path, keep_raw, ret);
        if (!done && !rerun && !keep_raw) {
                /* An empty output folder on --refresh: the publish channel's image may stand for it. */
                r = bake_published_unchanged(b, manifest_path, ret);
                if (r < 0)
                        return OUTCOME_PUBLISH;
                done = r > 0;
        }
        if (!done && (rerun || keep_raw || !bake_pull_finished(b, manifest_path, ret))) {
                out = bake_build(b, ret, keep_raw);
                if (out != OUTCOME_OK)
                        return out;
                digest_to_string(b->plan->bake_key, key);
        }
        if (t->n_publish > 0 && !o->no_publish && !keep_raw && !ret->in_registry) {
                if (t->test.has_boot && o->skip_test)
                        log_warning("publishing without the boot test (--skip-test)");
                if (bake_publish(b, manifest_path) < 0)
                        return OUTCOME_PUBLISH;
        }
        out = bake_debian_commit(t, b->moved_lock);
        if (out != OUTCOME_OK)
                return out;
        char dig[DIGEST_STRING_MAX];
        digest_to_string(ret->image_digest, dig);
        digest_to_string(ret->bake_key, key);
        _cleanup_free_ char *end = xasprintf("%s %s in %.1fs: %s", ret->unchanged ? "unchanged" : "baked", t->name,
                                             now_seconds() - t_start, manifest_path);
        event_emit("bake-end", json_pack("{s:s, s:s, s:s, s:s, s:f}", "status", ret->unchanged ? "unchanged" : "built",
                                         "bake_key", key, "image_digest", dig, "manifest", manifest_path, "seconds",
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
