#pragma once
/* Sparse files: finding data and holes with SEEK_DATA/SEEK_HOLE, so that holes are never read.
 * Filesystems without them report the whole file as data. */
#include <stddef.h>
#include <stdint.h>

/* The next data of fd at or after pos, below end: [pos, *ret_data) is a hole and
 * [*ret_data, *ret_data_end) is data; *ret_data == end when only a hole is left. -errno on
 * failure. */
int sparse_next_data(int fd, uint64_t pos, uint64_t end, uint64_t *ret_data, uint64_t *ret_data_end);

/* Calls fn, in order, on each piece of fd's [0, size): a hole as (NULL, its length), without
 * reading it; data pread() in pieces of at most bufsize bytes. Stops at fn's first negative
 * return and returns it; -EIO when the file shrinks under us. */
typedef int (*SparseFunction)(const void *data, size_t size, void *userdata);
int sparse_walk(int fd, uint64_t size, size_t bufsize, SparseFunction fn, void *userdata);
