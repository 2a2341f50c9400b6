#pragma once
/* The lock file: NAME.lock beside the template NAME.yaml, meant to be committed. For every
 * package input it records what the template asked for (the canonical request) and the exact
 * package set apt resolved: name, version, architecture, source package, the .deb's sha256 and
 * size, and where it came from (repository, filename). Sorted, one package per line, so a diff
 * of the file reads as the list of changed packages:
 *
 *   {
 *     "lockVersion": 1,
 *     "inputs": {
 *       "base": {
 *         "request": {"architecture":"amd64",...},
 *         "digest": "sha256:…",
 *         "packages": [
 *           {"name": "adduser", "version": "3.134", "architecture": "all", ...},
 *           ...
 *         ]
 *       }
 *     }
 *   }
 *
 * An input's digest is deb_package_set_digest() of its packages: the input's identity in the
 * bake key. Reading checks it, so a hand edit that changes a package without relocking is caught. */
#include <stddef.h>

#include "debpkg.h"
#include "digest.h"

#define LOCK_VERSION 1

typedef struct LockInput {
        char *name;
        char *request; /* canonical JSON (debian_request_canonical) */
        DebPackageSet packages;
        uint8_t digest[DIGEST_SIZE];
} LockInput;

typedef struct Lock {
        LockInput *inputs; /* sorted by name */
        size_t n_inputs;
} Lock;

Lock *lock_new(void);
Lock *lock_free(Lock *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Lock *, lock_free);

/* "DIR/NAME.lock" for "DIR/NAME.yaml" (or .yml, or any other name + ".lock"); new string. */
char *lock_path_for_template(const char *template_path);

/* Parses a lock file's bytes; path names it in messages. Invalid JSON is reported as
 * "PATH:LINE:COL: error: …", a wrong structure or digest naming the input and package. Logs;
 * -EBADMSG. */
int lock_parse(const char *path, const char *data, size_t size, Lock **ret);
/* lock_parse() of a file; -ENOENT silently when there is none. */
int lock_load(const char *path, Lock **ret);

/* The file's text (deterministic); new string. */
char *lock_format(const Lock *l);
/* Writes atomically (temporary sibling, then rename). Logs. */
int lock_save(const Lock *l, const char *path);

const LockInput *lock_find(const Lock *l, const char *name);
/* Sets (replaces) an input: request copied, packages sorted and copied, digest computed. */
void lock_set(Lock *l, const char *name, const char *request, const DebPackageSet *packages);
/* Drops inputs whose names are not in names[0..n). */
void lock_retain(Lock *l, char *const *names, size_t n);

/* NULL when the locked request equals request; otherwise what differs, for a message:
 * "the template adds package 'nginx' and removes 'vim'", "suite changed from 'bookworm' to
 * 'trixie'". New string. */
char *lock_input_mismatch(const LockInput *in, const char *request);
