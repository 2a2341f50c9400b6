#pragma once
/* Offline sysprep on a Tree: removes what makes an instance unique or leaks the build. */
#include <stddef.h>
#include <stdint.h>

#include "tree.h"

typedef struct SysprepOperation {
        const char *name;
        const char *description;
} SysprepOperation;

/* The operations "sysprep: default" applies, NULL-terminated by a {NULL, NULL} row; for
 * `baker help sysprep`. */
const SysprepOperation *sysprep_operations(void);

typedef struct SysprepReport {
        size_t removed;   /* entries removed */
        size_t emptied;   /* files truncated to zero bytes */
        size_t rewritten; /* files given new content */
} SysprepReport;

/* Applies every operation except those named in keep (NULL-terminated, may be NULL). Unknown names in
 * keep are an error (-EINVAL, logged). report may be NULL. */
int sysprep_apply(Tree *t, const char *const *keep, SysprepReport *report);
