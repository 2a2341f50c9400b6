/* The bake's results: the outputs' specs, manifest.json's content, the boot test and publishing. */
#include <inttypes.h>

#include "bake-internal.h"
#include "boot.h"
#include "events.h"
#include "glance.h"
#include "kind.h"
#include "log.h"
#include "manifest.h"
#include "progress.h"
#include "publish.h"
#include "registry.h"
#include "version.h"

ImageOutputSpec *bake_output_specs(const Template *t, size_t *ret_n) {
        ImageOutputSpec *specs = xcalloc(t->n_outputs + 1, sizeof *specs);
        for (size_t i = 0; i < t->n_outputs; i++)
                specs[i] = (ImageOutputSpec) { .format = t->outputs[i].format, .compression = t->outputs[i].compress };
        *ret_n = t->n_outputs;
        return specs;
}

void bake_build_manifest(Bake *b, const Assembly *a, const uint8_t image_digest[DIGEST_SIZE], uint64_t image_size,
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
        json_decref(bake_inputs_json(b, m));
        manifest_set_layout(m, assembly_manifest_layout(a));
        for (size_t i = 0; i < n_outs; i++) {
                char s[DIGEST_STRING_MAX];
                digest_to_string(outs[i].sha256, s);
                const char *slash = strrchr(outs[i].path, '/');
                manifest_add_output(m, slash ? slash + 1 : outs[i].path, image_format_to_string(outs[i].format),
                                    image_compression_to_string(outs[i].compression), outs[i].size, s);
        }
}

int bake_boot_test(Bake *b, const char *raw) {
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

/* Nova's hw_firmware_type for the template's bootloader: a hybrid image boots either way, and
 * BIOS is what Nova gives when nothing is said. */
static const char *bake_firmware_type(const Template *t) {
        for (size_t i = 0; i < t->n_steps; i++) {
                const TemplateStep *s = t->steps + i;
                if (!s->kind || !streq(s->kind->name, "bootloader"))
                        continue;
                return s->bootloader.type == BOOTLOADER_SYSTEMD_BOOT ? "uefi" : "bios";
        }
        return NULL;
}

static int bake_publish_glance(Bake *b, const TemplatePublish *p, const char *manifest_path) {
        const Template *t = b->t;
        _cleanup_free_ char *target = xasprintf(GLANCE_REF_PREFIX "%s/%s", p->target, t->name);
        GlancePublishOptions go = { .format = p->glance->format, .firmware = bake_firmware_type(t),
                                    .disk_bus = p->glance->disk_bus, .visibility = p->glance->visibility,
                                    .properties = p->glance->properties, .channels = t->channels,
                                    .members = p->glance->members, .has_members = p->glance->has_members,
                                    .n_channels = t->n_channels };
        _cleanup_(glance_publish_report_done) GlancePublishReport report = {};
        int r = glance_publish(manifest_path, target, &go, &report);
        if (r < 0)
                return template_error_at(t, p->pos, "publishing to '%s' failed", target);
        _cleanup_free_ char *human = xasprintf("published %s: glance image %s (%s, %" PRIu64 " bytes sent)", target,
                                               report.image_id, report.reused ? "unchanged" : "uploaded",
                                               report.bytes_sent);
        json_t *fields = glance_publish_report_to_json(&report);
        json_object_set_new(fields, "target", json_string(target));
        event_emit("publish", fields, human);
        return 0;
}

int bake_publish(Bake *b, const char *manifest_path) {
        const Template *t = b->t;
        for (size_t i = 0; i < t->n_publish; i++) {
                const TemplatePublish *p = t->publish + i;
                if (p->kind == PUBLISH_GLANCE) {
                        int r = bake_publish_glance(b, p, manifest_path);
                        if (r < 0)
                                return r;
                        continue;
                }
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

/* Whether a refresh should ask the registries what their channel holds: the bake publishes, with a
 * channel, to registry targets only (Glance keeps no bake key to compare with), and the output
 * folder holds no last bake of this template (a CI runner that starts empty). */
static bool ask_channels(const Bake *b, const char *manifest_path) {
        const Template *t = b->t;
        const BakeOptions *o = b->opts;
        if (!o->refresh || o->no_publish || t->n_publish == 0 || t->n_channels == 0 ||
            b->plan->secret_from < b->plan->n_steps)
                return false;
        for (size_t i = 0; i < t->n_publish; i++)
                if (t->publish[i].kind == PUBLISH_GLANCE)
                        return false;
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        return !(access(manifest_path, F_OK) >= 0 && manifest_load(manifest_path, &m) >= 0 && streq_ptr(m->name, t->name));
}

/* 1 when target's channel names an image of this bake key (recomputed under that image's version),
 * with *ret; 0 when not; < 0 when the registry cannot be asked. */
static int channel_holds_bake(Bake *b, const TemplatePublish *p, const char *channel, PublishedImage *ret) {
        const Template *t = b->t;
        _cleanup_free_ char *target = publish_target(publish_kind_to_string(p->kind), p->target, t->name);
        int k = publish_channel_image(target, channel, p->insecure, ret);
        if (k < 0)
                return template_error_at(t, p->pos, "publishing to '%s' failed: cannot read channel '%s'", target, channel);
        uint8_t key[DIGEST_SIZE], image[DIGEST_SIZE];
        char s[DIGEST_STRING_MAX];
        if (k == 0 || digest_from_string(ret->image_digest, image) < 0)
                return 0;
        plan_bake_key_for_version(b->plan, ret->version, key);
        digest_to_string(key, s);
        return streq(s, ret->bake_key);
}

int bake_published_unchanged(Bake *b, const char *manifest_path, BakeResult *ret) {
        const Template *t = b->t;
        if (!ask_channels(b, manifest_path))
                return 0;
        /* Every target must hold it, the same image: a target added since, or one a publish
         * failed to reach, is published to. */
        const char *channel = t->channels[0];
        _cleanup_(published_image_done) PublishedImage first = {};
        for (size_t i = 0; i < t->n_publish; i++) {
                _cleanup_(published_image_done) PublishedImage img = {};
                int k = channel_holds_bake(b, t->publish + i, channel, &img);
                if (k <= 0)
                        return k;
                if (i == 0) {
                        first = img;
                        img = (PublishedImage) {};
                } else if (!streq(img.image_digest, first.image_digest))
                        return 0;
        }
        ret->unchanged = ret->in_registry = true;
        (void) digest_from_string(first.bake_key, ret->bake_key);
        (void) digest_from_string(first.image_digest, ret->image_digest);
        const char *version = first.version ?: "";
        _cleanup_free_ char *msg = xasprintf("unchanged: %s is already published as version '%s' (channel %s: %s)", t->name,
                                             version, channel, first.digest);
        event_emit("bake-unchanged", json_pack("{s:s, s:s, s:s}", "bake_key", first.bake_key, "image_digest",
                                               first.image_digest, "version", version),
                   msg);
        return 1;
}
