#pragma once
/* Exit codes: one per class of outcome (DESIGN.md, "Outcomes are data"), defined once here and
 * documented in README.md. "Unchanged, nothing rebuilt" is success (0) with status "unchanged". */
typedef enum Outcome {
        OUTCOME_OK = 0,
        OUTCOME_INTERNAL = 1,     /* a bug or an unexpected system failure */
        OUTCOME_USAGE = 2,        /* bad command line, or a template/variables that do not validate */
        OUTCOME_INPUT = 3,        /* an input could not be fetched or failed its pin */
        OUTCOME_BUILD = 4,        /* assembly or a provisioning step failed */
        OUTCOME_TEST = 5,         /* the boot test failed */
        OUTCOME_PUBLISH = 6,      /* a registry refused or failed the push, or a channel operation failed */
        OUTCOME_MISMATCH = 7,     /* baker verify: the rebuild differs from the original */
        OUTCOME_INTERRUPTED = 130 /* SIGINT/SIGTERM: everything half-done was removed */
} Outcome;

const char *outcome_to_string(Outcome o);
