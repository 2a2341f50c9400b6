#pragma once
/* Sparse files: finding data and holes with SEEK_DATA/SEEK_HOLE, so that holes are never read.
 * Filesystems without them report the whole file as data. */
#include <stdbool.h>
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

/* Calls fn, in order, on each maximal run of `block`-sized pieces of fd's [0, size) that are all
 * zeros (data == false) or not (data == true); the last piece may be shorter. The runs depend on
 * the content only: a hole and written zeros are the same, so two copies of an image give the same
 * runs whatever their filesystems did with holes. Holes are not read (4 MiB windows that are a
 * hole entirely). `block` must divide 4 MiB. Stops at fn's first negative return. */
typedef int (*SparseRunFunction)(uint64_t offset, uint64_t length, bool data, void *userdata);
int sparse_runs(int fd, uint64_t size, size_t block, SparseRunFunction fn, void *userdata);

/* Whether size bytes at p are all zero. */
bool memory_is_zero(const void *p, size_t size);

/* write_all() at fd's offset into a file being written from its start (a download): 4 KiB blocks
 * of the file that are all zeros are seeked over, left as holes, not written. The file's length
 * is then the offset where the writing stopped, which sparse_write_end() sets. */
int sparse_write(int fd, const void *data, size_t size);
/* Extends fd to its offset when holes were left at its end; 0 or -errno. */
int sparse_write_end(int fd);
