/* image-diff A.raw B.raw: prints what differs between two raw disk images (imagediff.c), for
 * integration tests that compare two bakes. Exit 0 identical, 1 different, 2 unreadable. */
#include <stdio.h>

#include "imagediff.h"

int main(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: %s A.raw B.raw\n", argv[0]);
                return 2;
        }
        _cleanup_(image_diff_freep) ImageDiff *d = NULL;
        if (image_diff(argv[1], argv[2], &d) < 0)
                return 2;
        image_diff_print(d, stdout);
        return d->identical ? 0 : 1;
}
