#pragma once
/* Boots a disk image in qemu and watches its serial console: the boot test that gates publishing.
 * KVM when accel_kvm_usable(), TCG otherwise; SeaBIOS or OVMF; the image is attached through a
 * throw-away qcow2 overlay, so it is never modified. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "vocabulary.h" /* BootFirmware */

/* After `expect` matched: wait for `prompt` (when set), send `send` + "\n", wait for `expect`. */
typedef struct BootCommand {
        const char *send;
        const char *expect;     /* extended regex; NULL = do not wait */
} BootCommand;

typedef struct BootOptions {
        const char *image;      /* raw or qcow2 (detected) */
        BootFirmware firmware;
        const char *expect;     /* extended regex (regcomp REG_EXTENDED), matched line by line; NULL = "login:" */
        uint64_t timeout_usec;  /* for the whole test; 0 = 10 minutes */
        const char *log_path;   /* serial console log, written as it comes; NULL = none */
        const char *prompt;     /* regex awaited before each command; NULL = none */
        const BootCommand *commands;
        size_t n_commands;
        unsigned memory_mib;    /* 0 = 1024 */
        unsigned cpus;          /* 0 = 2 */
        bool echo;              /* copy the console to stderr as it comes */
} BootOptions;

typedef struct BootResult {
        bool passed;
        uint64_t duration_usec; /* from qemu's start to the last match, or to the failure */
        char *failure;          /* why it failed: timeout, kernel panic, qemu exited, ... (NULL when passed) */
        char *matched;          /* the console line that matched `expect` */
        char *tail;             /* the console's last lines (up to 20) */
        const char *accel;      /* "kvm" or "tcg" */
} BootResult;

void boot_result_done(BootResult *r);

#define BOOT_TAIL_LINES 20

/* Runs the test. Returns 0 when the test ran to a verdict (see ret->passed; *ret is filled either
 * way), or a negative errno when it could not run: -ENOENT with a message naming the Debian package
 * when qemu or OVMF is missing, -EINTR when SIGINT/SIGTERM arrived (qemu is killed on every path). */
int boot_run(const BootOptions *o, BootResult *ret);
