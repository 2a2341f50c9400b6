#pragma once
/* The `debian` input (input-debian.c): a root filesystem that baker builds itself from a Debian
 * suite's packages, pinned by the template's lock file (NAME.lock). Its package set must be known
 * before the plan is made, since the set's digest is the input's key: debian_inputs_prepare()
 * takes it from the lock, or resolves it with apt (no lock entry, or refresh), for every debian
 * input of the template. */
#include <stdbool.h>

#include "pkgdiff.h"
#include "template.h"
#include "vars.h"

typedef struct Cache Cache;
typedef struct Lock Lock;

typedef struct DebianPrepare {
        Lock *lock;             /* the template's lock (NULL = none); entries resolved anew are set in it */
        const char *lock_path;  /* for messages */
        bool refresh;           /* resolve even what the lock pins */
        bool relock;            /* resolve what no longer matches its lock entry (else an error) */
        const char *state_dir;  /* apt lists kept between runs (NULL = scratch) */
} DebianPrepare;

bool template_has_debian_inputs(const Template *t);
/* Logs its errors (at the input's position for template values). */
int debian_inputs_prepare(const Template *t, const Vars *vars, const DebianPrepare *o);

/* After prepare: the input's package set, whether apt resolved it (else the lock gave it), and
 * what changed against the lock's previous entry. NULL/false for other inputs. */
const DebPackageSet *debian_input_packages(const TemplateInput *in);
bool debian_input_resolved(const TemplateInput *in);
const PackageDiff *debian_input_changes(const TemplateInput *in);
/* The request's canonical JSON (after prepare), NULL for other inputs. */
const char *debian_input_request(const TemplateInput *in);
