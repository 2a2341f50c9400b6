#pragma once
/* A private apt root: its own configuration, sources, keyrings, lists and an empty dpkg status,
 * so that apt-get and apt-cache run against exactly the request's repositories and never read or
 * change the host's apt state. */
#include <stdbool.h>

#include "debian-request.h"
#include "util.h"

typedef struct AptRoot {
        char *dir;
        bool scratch;   /* made by apt_root_new(): removed by apt_root_free() */
        char *env[2];   /* APT_CONFIG=..., NULL */
        int lock_fd;    /* a kept state directory is flocked while in use */
} AptRoot;

/* dir NULL = a fresh scratch directory. Otherwise dir is created if needed and reused (its lists
 * make the next update cheaper); it is locked while this AptRoot lives. Writes apt.conf, the
 * sources (keyrings copied inside, readable by apt's sandbox user) and the empty status. */
int apt_root_new(const char *dir, const char *architecture, const AptSource *sources, size_t n, AptRoot **ret);
AptRoot *apt_root_free(AptRoot *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(AptRoot *, apt_root_free);

/* Runs an apt tool inside the root, stdout and stderr together into *ret_output (whole, however
 * long). Returns the exit status, or -errno (-ENOENT: not installed) when it could not run. */
int apt_root_run(AptRoot *r, char *const argv[], char **ret_output);

/* The names of every package in the root's downloaded indexes (for "did you mean"), sorted and
 * unique; NULL-terminated. */
char **apt_root_package_names(AptRoot *r, size_t *ret_n);
