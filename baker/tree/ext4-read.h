#pragma once
/* Reads an ext4 filesystem back into a Tree, offline and read-only, through libext2fs: what the
 * appliance left in the scratch disk after run steps, without a tar-out through the appliance.
 * The result is the Tree that tar-out (GNU tar --numeric-owner --xattrs --acls) + tree_load() give for
 * the same filesystem: sockets are left out (tar cannot hold them), hardlinks become hardlinks, POSIX
 * ACLs become system.posix_acl_* xattrs in the kernel's format (as tree.c keeps them). */
#include <stdint.h>

#include "tree.h"

/* The filesystem at byte offset of image_path, which must be clean (unmounted, journal empty):
 * -EUCLEAN (logged) when it still needs journal recovery. The root's lost+found is left out (mkfs' own,
 * not the image's). */
int ext4_read_tree(const char *image_path, uint64_t offset, Tree **ret);
