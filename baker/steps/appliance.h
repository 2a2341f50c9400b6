#pragma once
/* The appliance that run steps execute in (steps/execute.c): one launch for consecutive run steps,
 * on an ext4 scratch disk made from the tree in the bake's work directory. Between run steps the
 * root is frozen and read offline (a tar-out is the fallback, ten times slower); after the last
 * one the appliance is shut down and its disk read back (the same Tree: tests/unit/
 * test-ext4-read.c compares the two). Offline steps between run steps are copied in as deltas. */
#include <stdbool.h>
#include <stdint.h>

typedef struct GuestSession GuestSession;
typedef struct Tree Tree;

typedef struct Appliance {
        const char *work_dir;
        GuestSession *guest; /* NULL while it is not running */
        char *disk;
        unsigned tar_outs;
} Appliance;

int appliance_start(Appliance *a, Tree *tree, int64_t epoch, bool network);
/* Stops it (errors only logged) and removes its disk; accepts a stopped one. */
void appliance_stop(Appliance *a);
/* After a run step, while more follow: *tree becomes the appliance's root. */
int appliance_peek(Appliance *a, int64_t epoch, Tree **tree);
/* After the last run step: shuts down, reads the disk back into *tree, and stops. */
int appliance_read_back(Appliance *a, int64_t epoch, Tree **tree);
/* An offline step's changes (delta) copied into the running appliance. */
int appliance_push(Appliance *a, const Tree *delta, int64_t epoch);
