#pragma once
/* Resolves a `debian` input into the exact package set, without installing anything: apt in a
 * private root (APT_CONFIG naming its own Dir, an empty dpkg status, the request's sources with
 * Signed-By keyrings) runs `apt-get update` (apt verifies every Release file's signature and every
 * index's hash), `apt-get install --simulate` of the variant's base set plus the packages (apt is
 * the dependency solver), and `apt-cache show` for each chosen version's sha256, size, file name
 * and source package. The host's apt configuration and state are never read or touched.
 *
 * Errors are logged here, with apt's own words: -EBADMSG for a Release file that fails its
 * signature or an index that fails its hash (naming the file), -EHOSTUNREACH for a mirror that
 * cannot be reached (naming it), -ENOENT for an unknown package (with "did you mean"), -ENXIO
 * for a set that cannot be installed (apt's explanation). */
#include "debian-request.h"
#include "debpkg.h"

typedef struct AptResolveOptions {
        const char *state_dir; /* NULL = a scratch directory; else a base directory under which each set
                                * of sources keeps its apt lists between runs (a faster update) */
        const char *what;      /* "input 'base'", for messages */
} AptResolveOptions;

int apt_resolve(const DebianRequest *req, const AptResolveOptions *opts, DebPackageSet *ret);

/* The apt-get install arguments of a variant (patterns), NULL-terminated static array. */
const char *const *debian_variant_patterns(DebianVariant v);
