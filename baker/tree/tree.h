#pragma once
/* The state of an image's root tree between steps: an index, sorted by path, of entries with their
 * full metadata, whose file data stays on disk (in a tar the Tree was loaded from, or in a spill file
 * the Tree owns). Saved as a normalised pax tar: same Tree, same bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

typedef enum TreeEntryType {
        TREE_REG,
        TREE_DIR,
        TREE_SYMLINK,
        TREE_HARDLINK, /* link_target = path of the regular file it shares an inode with */
        TREE_CHR,
        TREE_BLK,
        TREE_FIFO,
        TREE_SOCK,
        _TREE_TYPE_MAX,
} TreeEntryType;

const char *tree_entry_type_to_string(TreeEntryType t);

typedef struct TreeXattr {
        char *name; /* full name, "security.capability", "system.posix_acl_access", … */
        void *value;
        size_t size;
} TreeXattr;

typedef struct TreeEntry {
        const char *path;   /* "" = root dir, else relative without leading '/': "etc/passwd" */
        TreeEntryType type;
        uint32_t mode;      /* permission bits incl. setuid/setgid/sticky (07777), no type bits */
        uint32_t uid, gid;
        uint64_t size;      /* regular files: data size; hardlinks: the target's */
        int64_t mtime_sec;
        uint32_t mtime_nsec;
        uint64_t rdev;      /* makedev(major, minor) for TREE_CHR/TREE_BLK */
        const char *link_target; /* TREE_SYMLINK: the link text; TREE_HARDLINK: a tree path */
        size_t n_xattrs;
        const TreeXattr *xattrs; /* sorted by name */
} TreeEntry;

typedef struct Tree Tree;

Tree *tree_new(void);
Tree *tree_free(Tree *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tree *, tree_free);

/* Indexes a tar (one written by tree_write, or any uncompressed ustar/pax/GNU tar) without copying its
 * data: the Tree keeps it open and reads file data from it. Archives it cannot index in place
 * (compressed, sparse members) are read through tree_add_archive() instead. */
int tree_load(const char *tar_path, Tree **ret);

/* The unpack step: any tarball libarchive reads (tar, gz, xz, zst, bz2), under dest_dir ("" or "/" for
 * the root). Later entries replace earlier ones. Entries with ".." components or absolute names are
 * refused; errors name the archive and the entry. A regular member bigger than max_file_size bytes
 * (0 = no limit) is refused (-EFBIG) before its data is read; sparse members keep their holes. */
int tree_add_archive(Tree *t, const char *archive_path, const char *dest_dir, uint64_t max_file_size);

/* The copy step: a host file or directory (recursively) to dest (the copy of a directory's contents
 * lands in dest; a file lands at dest, or dest/NAME when dest is an existing directory in the tree).
 * Owned by uid:gid; uid/gid < 0 keep the host's owners. */
int tree_add_host_path(Tree *t, const char *host_path, const char *dest, int uid, int gid);

/* The file step; missing parents are created as 0755 root:root directories. */
int tree_add_file(Tree *t, const char *path, const void *data, size_t size, uint32_t mode, uint32_t uid,
                  uint32_t gid, int64_t mtime);
/* Directory and symlink entries (missing parents created as for tree_add_file). */
int tree_add_dir(Tree *t, const char *path, uint32_t mode, uint32_t uid, uint32_t gid, int64_t mtime);
int tree_add_symlink(Tree *t, const char *path, const char *target, uint32_t uid, uint32_t gid,
                     int64_t mtime);
/* Supplies a regular file's data for tree_add_entry(): up to size bytes at offset; returns the bytes given
 * (> 0; 0 only past the end) or -errno (already logged). */
typedef ssize_t (*TreeDataFn)(void *userdata, uint64_t offset, void *buf, size_t size);
/* Adds an entry with every field of e as given: path, type, mode, owners, mtime (with nanoseconds),
 * rdev, link_target (a symlink's text, or for TREE_HARDLINK the path of a regular file already in the
 * tree) and xattrs. A regular file's e->size bytes are pulled from data in chunks into the spill file,
 * never held in memory (data NULL: zeros). Parents are created as for tree_add_file; the root ("")
 * takes e's metadata. */
int tree_add_entry(Tree *t, const TreeEntry *e, TreeDataFn data, void *userdata);
/* Replaces the xattr (value NULL: removes it) of an entry. */
int tree_set_xattr(Tree *t, const char *path, const char *name, const void *value, size_t size);

/* Removes path (and, when recursive, what is below it). -ENOENT when it does not exist, -ENOTEMPTY for a
 * non-empty directory without recursive. Removing the target of hardlinks keeps the data reachable
 * through the remaining links. */
int tree_remove(Tree *t, const char *path, bool recursive);
/* Replaces the permission bits (07777) of an entry (of a hardlink's target). */
int tree_set_mode(Tree *t, const char *path, uint32_t mode);
/* Empties a regular file (keeps its metadata). */
int tree_truncate(Tree *t, const char *path);

/* Symlinks followed inside the tree, never out of it (a merged-/usr image's "lib -> usr/lib"): path
 * with every symlink among its components replaced by its target, read in the tree (an absolute
 * target starts at the tree's root, ".." stops at it), the last component too when follow_last.
 * *ret is a normalised tree path ("usr/lib/x"); what does not exist stays as given. -ELOOP after
 * 40 links, -EINVAL/-ENAMETOOLONG for a path path_normalize refuses. */
int tree_resolve(const Tree *t, const char *path, bool follow_last, char **ret);
/* The same for the parents only: the last component is kept, even when it is a symlink. */
int tree_resolve_parent(const Tree *t, const char *path, char **ret);

/* Paths may be given with or without a leading '/' here; "/" and "" are the root. */
const TreeEntry *tree_lookup(const Tree *t, const char *path);
/* Index of path in sorted order, or -ENOENT. */
ssize_t tree_lookup_index(const Tree *t, const char *path);
size_t tree_size(const Tree *t);
const TreeEntry *tree_entry(const Tree *t, size_t i); /* sorted by path (strcmp order) */

/* Reads file data of a regular file (or hardlink); returns the bytes read (short only at end of file). */
ssize_t tree_read(const Tree *t, const TreeEntry *e, uint64_t offset, void *buf, size_t size);
/* Where a regular file's (or hardlink's) data is, at or after offset: [offset, *ret_data) is a hole
 * (reads as zeros, never stored) and [*ret_data, *ret_data_end) may hold data; *ret_data == e->size
 * when only a hole is left. Holes come from sparse archive members and from entries added without
 * data; a backing file without hole support reports everything as data. */
int tree_next_data(const Tree *t, const TreeEntry *e, uint64_t offset, uint64_t *ret_data, uint64_t *ret_data_end);
/* Sum of the data sizes of regular files at or below prefix ("" = all), hardlinks counted once. */
uint64_t tree_data_bytes(const Tree *t, const char *prefix);

/* Writes the normalised tar (sorted paths, numeric owners, mtimes clamped to epoch, xattrs as
 * SCHILY.xattr pax records, hardlinks as hardlinks) atomically (temporary name, then rename). */
int tree_write(const Tree *t, const char *out_tar, int64_t epoch);
/* The same for the part of the tree below prefix ("usr/local"; "" = all), with paths relative to it
 * (prefix itself becomes "./"), leaving out what is below excludes (relative to prefix; the
 * directories themselves stay): one filesystem's share of the tree. */
int tree_write_subtree(const Tree *t, const char *prefix, const char *const *excludes, const char *out_tar,
                       int64_t epoch);
/* Clamps every mtime newer than epoch to epoch. */
int tree_clamp_times(Tree *t, int64_t epoch);
