#pragma once
/* Whether a kept apt root's lists still describe what the mirrors serve, so that a refresh whose
 * archive has not moved skips `apt-get update` (a second or more of signature checks and package
 * cache rebuilding, for the same bytes).
 *
 * After a successful update, a stamp records the digest of what apt verified the lists with: the
 * sources file, each source's keyring, and the InRelease files apt kept. Before the next update,
 * baker fetches each source's InRelease itself (in parallel, bounded); when the stamp still
 * matches with the fetched bytes in place of the kept ones, the lists are those apt would produce
 * again, already verified with the same keys. Anything else (a changed byte, another keyring, a
 * passed Valid-Until, a repository without InRelease, a failed fetch, a scratch root) means "run
 * the update". A fetched body is only compared, never used.
 *
 * While the lists stay current, what apt resolved for a request is kept beside the stamp (apt is
 * deterministic: the same lists, configuration, command line and apt give the same answer) and
 * dropped with it, so a refresh whose archive has not moved runs no apt at all. */
#include <stdbool.h>

#include "apt-root.h"
#include "debian-request.h"
#include "debpkg.h"

/* The InRelease URL of a source ("URI/dists/SUITE/InRelease", or "URI/SUITE/InRelease" for a flat
 * repository whose suite ends in '/'); NULL for a scheme baker does not fetch (only http, https).
 * New string. */
char *apt_inrelease_url(const AptSource *s);

/* true when Valid-Until in an InRelease/Release text exists and is before now (epoch seconds). A
 * Valid-Until that cannot be read counts as passed. */
bool apt_release_expired(const char *text, size_t size, int64_t now);

/* Whether the root's lists are current (see above). Never fails: false when unsure. */
bool apt_lists_current(AptRoot *root, const AptSource *sources, size_t n);
/* Records the stamp after a successful update (no stamp when the lists do not hold one InRelease
 * per distinct source), or removes it before an update that may change the lists. */
void apt_lists_mark_verified(AptRoot *root, const AptSource *sources, size_t n);
void apt_lists_forget(AptRoot *root);

/* The package set remembered under key (any text naming the whole question: command line,
 * request) for the current lists and the installed apt; false when there is none. */
bool apt_lists_recall(AptRoot *root, const char *key, DebPackageSet *ret);
void apt_lists_remember(AptRoot *root, const char *key, const DebPackageSet *set);
