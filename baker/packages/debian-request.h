#pragma once
/* What a `debian` input asks for: a suite from a mirror, a variant's base set plus packages, from
 * the archive and extra apt repositories, each verified against its keyring. The template fills
 * it (variables substituted); apt-resolve turns it into a package set, the lock file records its
 * canonical form to notice when the template asks for something else than what was locked. */
#include <stdbool.h>
#include <stddef.h>

struct json_t;

typedef enum DebianVariant {
        DEBIAN_VARIANT_MINBASE,   /* Essential: yes, Priority: required, apt */
        DEBIAN_VARIANT_REQUIRED,  /* the same set (mmdebstrap's and debootstrap's names) */
        DEBIAN_VARIANT_IMPORTANT, /* + Priority: important */
        DEBIAN_VARIANT_STANDARD,  /* + Priority: standard */
        _DEBIAN_VARIANT_MAX,
        _DEBIAN_VARIANT_INVALID = -22,
} DebianVariant;

const char *debian_variant_to_string(DebianVariant v);
DebianVariant debian_variant_from_string(const char *s);

typedef struct AptSource {
        char *uri;
        char *suite;
        char **components;      /* strv (strv.h) */
        size_t n_components;
        char *key; /* keyring file (binary .gpg or armored .asc) on the host */
} AptSource;

typedef struct DebianRequest {
        char *suite;            /* "bookworm" */
        DebianVariant variant;
        char *architecture;     /* NULL = the host's (dpkg --print-architecture) */
        char **packages;        /* strv (strv.h), as written: names, "name=version" */
        size_t n_packages;
        char *mirror;           /* NULL = the host's configured mirror for the suite, else deb.debian.org */
        char **components;      /* strv; NULL = "main" */
        size_t n_components;
        bool security;          /* add SUITE-updates from the mirror and SUITE-security */
        char *security_mirror;  /* NULL = the host's, else deb.debian.org/debian-security */
        char *keyring;          /* NULL = /usr/share/keyrings/debian-archive-keyring.gpg */
        AptSource *sources;
        size_t n_sources;
} DebianRequest;

void debian_request_done(DebianRequest *r);

/* The apt sources the request stands for, mirrors filled in from the host's configuration
 * (/etc/apt/sources.list and sources.list.d) when not given: the archive first, then updates and
 * security, then the extra sources. */
int debian_request_sources(const DebianRequest *r, AptSource **ret, size_t *ret_n);
void apt_sources_free(AptSource *s, size_t n);

/* deb822 text for a sources file, Signed-By naming each source's keyring as given. */
char *apt_sources_to_deb822(const AptSource *s, size_t n);

/* The canonical request, compact JSON with sorted keys, without mirrors (the same packages from
 * another mirror are the same packages): suite, variant, architecture, packages (sorted),
 * components, security, sources (uri, suite, components). New string. */
char *debian_request_canonical(const DebianRequest *r, const char *architecture);

/* The host's dpkg architecture ("amd64"); new string. */
char *debian_host_architecture(void);
