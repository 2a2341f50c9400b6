/* `bootloader: { type: syslinux|systemd-boot|hybrid, cmdline: TEXT }`: nothing happens to the
 * tree; the assembly installs the bootloader onto the finished disk (StepOps.bootloader). */
#include <jansson.h>

#include "steps.h"

static void bootloader_parse(Template *t, TemplateStep *s, const Node *step, const Node *value) {
        StepBootloader *b = &s->bootloader;
        if (!node_expect(t, value, NODE_MAPPING, "'bootloader'"))
                return;
        node_check_keys(t, value, KEYS("type", "cmdline"), "bootloader step");
        if (node_require(t, value, "type", "bootloader step"))
                b->type = NODE_ENUM(t, value, "type", bootloader_type, _BOOTLOADER_TYPE_MAX, _BOOTLOADER_TYPE_INVALID,
                                    NULL);
        node_string(t, value, "cmdline", &b->cmdline, &b->cmdline_pos);
}

static void bootloader_done(TemplateStep *s) {
        free(s->bootloader.cmdline);
}

static void bootloader_define(const TemplateStep *s, const Vars *vars, json_t *o) {
        const StepBootloader *b = &s->bootloader;
        json_object_set_new(o, "type", json_string(bootloader_type_to_string(b->type)));
        json_object_set_new(o, "cmdline", b->cmdline ? step_public_string(vars, b->cmdline) : json_null());
}

static char *bootloader_display(const TemplateStep *s) {
        return xasprintf("bootloader %s", bootloader_type_to_string(s->bootloader.type));
}

static int bootloader_request(const TemplateStep *s, const Vars *vars, BootloaderType *ret_type, char **ret_cmdline) {
        const StepBootloader *b = &s->bootloader;
        _cleanup_free_ char *cmdline = NULL;
        if (b->cmdline) {
                int r = vars_substitute(vars, b->cmdline, VARS_SUBSTITUTE_ALL, &cmdline);
                if (r < 0)
                        return r;
        }
        *ret_type = b->type;
        *ret_cmdline = TAKE_PTR(cmdline);
        return 1;
}

const StepOps step_bootloader = {
        .syntax = {
                .name = "bootloader",
                .parse = bootloader_parse,
                .done = bootloader_done,
                .define = bootloader_define,
                .display = bootloader_display,
        },
        .bootloader = bootloader_request,
};
