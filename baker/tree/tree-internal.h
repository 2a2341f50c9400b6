#pragma once
/* What the tree-*.c files share: the entry and tree structures and the index primitives. Not for
 * use outside baker/tree/. */
#include <stdbool.h>
#include <stdint.h>

#include "tree.h"

/* One entry: the public view first, so a TreeEntry* is an Entry*. File data lives in a backing file
 * (data_fd index) at data_offset; nothing but metadata is held in memory. */
typedef struct Entry {
        TreeEntry pub;
        char *path;
        char *link;
        TreeXattr *xattrs;
        int backing; /* index into Tree.backings, -1 = no data (empty) */
        uint64_t data_offset;
        size_t n_hardlinks; /* REG: how many TREE_HARDLINK entries point here */
        size_t idx;         /* position in Tree.entries */
        struct Entry *hnext;
} Entry;

struct Tree {
        Entry **entries; /* NULL slots are removed entries until the next sort */
        size_t n_entries, n_allocated, n_live;
        bool sorted;

        Entry **buckets;
        size_t n_buckets;

        int *backings; /* file descriptors holding data; backings[0] is the spill file once made */
        size_t n_backings;
        int spill; /* index of the spill file in backings, -1 until needed */
        uint64_t spill_end;
};

/* Entries (tree.c). */
Entry *entry_free(Entry *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Entry *, entry_free);
Entry *entry_new(const char *path, TreeEntryType type, uint32_t mode);
void entry_set_link(Entry *e, const char *link);
void entry_set_xattr(Entry *e, const char *name, const void *value, size_t size);

/* The longest name component ext4 (and every Linux filesystem baker writes) holds. */
#define TREE_NAME_MAX 255

/* Makes "./a//b/./c/" into "a/b/c". Refuses ".." components, and absolute names unless allowed
 * (-EINVAL); a component over TREE_NAME_MAX bytes or a path over PATH_MAX (-ENAMETOOLONG). */
int path_normalize(const char *in, bool allow_absolute, char **ret);
/* A uid or gid a filesystem holds: 32 bits, and not (uid_t) -1, which means "no owner". */
static inline bool tree_id_valid(uint64_t id) {
        return id < UINT32_MAX;
}

/* Why path_normalize(name) refused it (r is what it returned), for messages. */
const char *path_refusal(int r, const char *name);

/* The index (tree.c). */
Entry *hash_find(const Tree *t, const char *path);
void tree_sort(Tree *t);
int tree_put(Tree *t, Entry *e_in);
int add_backing(Tree *t, int fd);
int spill_fd(Tree *t);
int spill_append(Tree *t, const void *data, size_t size, uint64_t *ret_off);

/* Edits (tree-edit.c): path_normalize for library callers, logging what fails; tree_put, logged as
 * what + path. */
int normalize_arg(const char *path, char **ret);
int put_logged(Tree *t, Entry *e, const char *what);
/* tree_resolve (follow_last) or tree_resolve_parent, logging what fails; *ret (a path path_normalize
 * made, owned) is replaced by the result. */
int resolve_logged(Tree *t, const char *path, bool follow_last, char **ret);
