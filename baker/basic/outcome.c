#include "outcome.h"

const char *outcome_to_string(Outcome o) {
        switch (o) {
        case OUTCOME_OK: return "ok";
        case OUTCOME_INTERNAL: return "internal-error";
        case OUTCOME_USAGE: return "usage-error";
        case OUTCOME_INPUT: return "input-error";
        case OUTCOME_BUILD: return "build-failed";
        case OUTCOME_TEST: return "test-failed";
        case OUTCOME_PUBLISH: return "publish-failed";
        case OUTCOME_MISMATCH: return "mismatch";
        case OUTCOME_INTERRUPTED: return "interrupted";
        }
        return "unknown";
}
