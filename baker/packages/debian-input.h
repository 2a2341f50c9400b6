#pragma once
/* A `debian` input's package set, from the lock or from apt: the policy that `baker lock` and
 * `baker bake` share.
 *
 *   - the lock has the input, its request matches the template's, no refresh: the locked set,
 *     without touching the network;
 *   - the lock has the input but the template asks for something else: an error saying what
 *     differs (-EINVAL), unless refreshing (then it is resolved anew);
 *   - no lock entry, or refresh: apt resolves now; the lock (when given) is updated in memory and
 *     the changes against the previous entry are reported. */
#include <stdbool.h>

#include "debian-request.h"
#include "debpkg.h"
#include "lock.h"
#include "pkgdiff.h"

typedef struct DebianResolve {
        const char *input;     /* the input's name */
        const char *lock_path; /* for messages */
        Lock *lock;            /* NULL = none; updated when the set is resolved anew */
        bool refresh;          /* resolve even when the lock has a matching entry */
        bool relock;           /* resolve an entry that does not match (`baker lock`), not an error */
        const char *state_dir; /* apt lists kept between runs (NULL = scratch) */
} DebianResolve;

typedef struct DebianResolved {
        DebPackageSet packages;
        bool resolved;        /* apt ran (else: the lock's set) */
        bool had_lock_entry;  /* changes are against the lock's previous set */
        PackageDiff changes;
} DebianResolved;

void debian_resolved_done(DebianResolved *r);

/* Logs its errors: -EINVAL for a lock that does not match, apt_resolve()'s for the rest. */
int debian_input_resolve(const DebianRequest *req, const DebianResolve *o, DebianResolved *ret);
