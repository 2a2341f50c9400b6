/* baker test IMAGE: boots an image (BIOS or UEFI) in qemu and passes when the console shows a
 * regular expression before the timeout. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>

#include "boot.h"
#include "log.h"
#include "events.h"
#include "outcome.h"
#include "units.h"
#include "verbs.h"

static void commands_freep(BootCommand **c) {
        free(*c);
}

static void print_json(const BootOptions *o, const BootResult *res, double seconds) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:f}", "image", o->image, "firmware",
                                boot_firmware_to_string(o->firmware), "accel", res->accel, "status",
                                res->passed ? "passed" : "failed", "duration", seconds);
        if (o->log_path)
                json_object_set_new(doc, "log", json_string(o->log_path));
        if (res->matched)
                json_object_set_new(doc, "matched", json_string(res->matched));
        if (res->failure)
                json_object_set_new(doc, "failure", json_string(res->failure));
        if (res->tail) {
                json_t *lines = json_array();
                _cleanup_free_ char *copy = xstrdup(res->tail);
                for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                        json_array_append_new(lines, json_string(l));
                json_object_set_new(doc, "console_tail", lines);
        }
        events_print_document(doc);
}

/* "SEND" or "SEND=>EXPECT" (the argument is split in place). */
static void add_command(BootOptions *o, BootCommand **commands, char *arg) {
        *commands = xrealloc(*commands, (o->n_commands + 1) * sizeof(BootCommand));
        char *sep = strstr(arg, "=>");
        if (sep)
                *sep = 0;
        (*commands)[o->n_commands++] = (BootCommand) { .send = arg, .expect = sep ? sep + 2 : NULL };
}

static int parse_args(int argc, char **argv, BootOptions *o, BootCommand **commands, bool *json) {
        enum { ARG_FIRMWARE = 0x100, ARG_EXPECT, ARG_TIMEOUT, ARG_LOG, ARG_JSON, ARG_PROMPT, ARG_COMMAND,
               ARG_MEMORY, ARG_ECHO };
        static const struct option options[] = {
                { "firmware", required_argument, NULL, ARG_FIRMWARE },
                { "expect", required_argument, NULL, ARG_EXPECT },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "log", required_argument, NULL, ARG_LOG },
                { "json", no_argument, NULL, ARG_JSON },
                { "prompt", required_argument, NULL, ARG_PROMPT },
                { "command", required_argument, NULL, ARG_COMMAND },
                { "memory", required_argument, NULL, ARG_MEMORY },
                { "echo", no_argument, NULL, ARG_ECHO },
                {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case ARG_FIRMWARE:
                        o->firmware = boot_firmware_from_string(optarg);
                        if (o->firmware < 0)
                                return log_error_errno(-EINVAL, "unknown firmware '%s' (bios or uefi)", optarg);
                        break;
                case ARG_EXPECT:
                        o->expect = optarg;
                        break;
                case ARG_TIMEOUT:
                        /* the same durations as a template's `timeout:` */
                        if (units_parse_duration(optarg, &o->timeout_usec) < 0 || o->timeout_usec == 0)
                                return log_error_errno(-EINVAL, "invalid duration '%s' (e.g. 90s, 10m, 1h30m)", optarg);
                        break;
                case ARG_LOG:
                        o->log_path = optarg;
                        break;
                case ARG_JSON:
                        *json = true;
                        break;
                case ARG_PROMPT:
                        o->prompt = optarg;
                        break;
                case ARG_COMMAND:
                        add_command(o, commands, optarg);
                        break;
                case ARG_MEMORY:
                        o->memory_mib = (unsigned) strtoul(optarg, NULL, 10);
                        if (o->memory_mib < 64)
                                return log_error_errno(-EINVAL, "invalid memory size '%s' (MiB, at least 64)", optarg);
                        break;
                case ARG_ECHO:
                        o->echo = true;
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (verb_check_args("test", argc - optind) < 0)
                return -EINVAL;
        o->image = argv[optind];
        o->commands = *commands;
        return 0;
}

static int boot_outcome(const BootOptions *o, int r) {
        if (r == -EINTR)
                return OUTCOME_INTERRUPTED;
        if (r == -EINVAL)
                return OUTCOME_USAGE;
        if (r == -ENOENT || r == -EACCES)
                return access(o->image, R_OK) < 0 ? OUTCOME_INPUT : OUTCOME_TEST;
        return OUTCOME_INTERNAL;
}

int verb_test(int argc, char **argv) {
        BootOptions o = { .firmware = BOOT_FIRMWARE_BIOS, .timeout_usec = UINT64_C(600) * 1000000 };
        _cleanup_(commands_freep) BootCommand *commands = NULL;
        bool json = false;
        if (parse_args(argc, argv, &o, &commands, &json) < 0)
                return OUTCOME_USAGE;

        BootResult res = {};
        int r = boot_run(&o, &res);
        if (r < 0)
                return boot_outcome(&o, r);

        double seconds = (double) res.duration_usec / 1e6;
        if (json)
                print_json(&o, &res, seconds);
        if (res.passed) {
                if (!json)
                        printf("boot test passed: %s, %s, %.1f s: %s\n", boot_firmware_to_string(o.firmware), res.accel,
                               seconds, res.matched ?: "");
                boot_result_done(&res);
                return OUTCOME_OK;
        }
        log_error("boot test failed (%s, %s, after %.1f s): %s", boot_firmware_to_string(o.firmware), res.accel,
                  seconds, res.failure);
        if (res.tail)
                log_notice("last console lines:\n%s", res.tail);
        boot_result_done(&res);
        return OUTCOME_TEST;
}
