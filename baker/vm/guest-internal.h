#pragma once
/* What guest.c (the session, files, metadata) and guest-run.c (run steps) share. Both include
 * <guestfs.h>: the vm/ folder's guest*.c are the only files that do. */
#include <guestfs.h>

#include "guest.h"

struct GuestSession {
        guestfs_h *g;
        char **devices;        /* libguestfs' name of each drive, in the order added: for API calls */
        char **kernel_devices; /* the appliance kernel's name of each: for the daemon's debug shell */
        unsigned n_runs;

        /* Console bytes not yet ending in a newline. */
        char *partial;
        size_t partial_len, partial_alloc;

        /* The run in progress: output lines carrying marker are its own. */
        const char *step_name;
        GuestOutputFn out;
        void *userdata;
        char marker[64];
        size_t marker_len;
        bool running, end_seen;
        size_t delivered;

        char *tail[GUEST_TAIL_LINES]; /* ring of the last lines */
        size_t tail_next, tail_count;
        char *tail_text;
};

const char *guest_last_error(GuestSession *s);
/* Logs what baker was doing and libguestfs' own error text, once, and returns -EIO. */
int guest_fail(GuestSession *s, const char *fmt, ...) _printf_(2, 3);

/* guest-run.c: one line of the appliance's console (marker lines belong to the run in progress),
 * and the run state freed with the session. */
void guest_console_line(GuestSession *s, char *line, size_t len);
void guest_run_state_free(GuestSession *s);
