#include "ext4.h"

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ext4-dir.h"
#include "ext4-format.h"
#include "log.h"

#define LPF_SIZE 16384 /* lost+found gets this many bytes of directory, like mke2fs */

/* Which entries go into the filesystem, and at which path inside it. */
typedef struct Scope {
        const char *subtree; /* normalised, "" = whole tree */
        size_t sublen;
        char **exclude; /* normalised tree paths */
} Scope;

static void scope_done(Scope *s) {
        for (char **x = s->exclude; x && *x; x++)
                free(*x);
        free(s->exclude);
}

static char *norm(const char *p) {
        while (*p == '/')
                p++;
        char *s = xstrdup(p);
        size_t n = strlen(s);
        while (n > 0 && s[n - 1] == '/')
                s[--n] = 0;
        return s;
}

static void scope_init(Scope *s, const char *subtree, const char *const *exclude) {
        size_t n = 0;
        while (exclude && exclude[n])
                n++;
        s->exclude = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                s->exclude[i] = norm(exclude[i]);
        s->subtree = subtree ? subtree : "";
        while (*s->subtree == '/')
                s->subtree++;
        s->sublen = strlen(s->subtree);
        while (s->sublen > 0 && s->subtree[s->sublen - 1] == '/')
                s->sublen--;
}

/* The path inside the filesystem ("" = its root), or NULL when the entry is not part of it. */
static const char *scope_path(const Scope *s, const char *path) {
        if (s->sublen > 0) {
                if (strncmp(path, s->subtree, s->sublen) != 0)
                        return NULL;
                if (path[s->sublen] == 0)
                        return "";
                if (path[s->sublen] != '/')
                        return NULL;
        }
        for (char **x = s->exclude; *x; x++) {
                size_t n = strlen(*x);
                if (n == 0 ? path[0] != 0 : (strncmp(path, *x, n) == 0 && path[n] == '/'))
                        return NULL;
        }
        return s->sublen > 0 ? path + s->sublen + 1 : path;
}

static uint64_t div_round_up(uint64_t a, uint64_t b) {
        return (a + b - 1) / b;
}

/* Blocks the entries need beyond the empty filesystem: data, extent index blocks, directories, long
 * symlinks, xattr blocks. An upper estimate, so "does not fit" is said before any write. */
static uint64_t content_blocks(const Tree *t, const Scope *s, uint32_t bs, uint64_t *ret_inodes) {
        uint64_t blocks = 0, inodes = 0;
        size_t n = tree_size(t);
        /* directory bytes, accumulated per parent in one pass: entries are sorted, but children of a
         * directory are not contiguous, so count name bytes per entry and give each directory one block
         * plus its share */
        uint64_t dirent_bytes = 0;
        for (size_t i = 0; i < n; i++) {
                const TreeEntry *e = tree_entry(t, i);
                const char *p = scope_path(s, e->path);
                if (!p)
                        continue;
                inodes++;
                const char *base = strrchr(p, '/');
                size_t namelen = strlen(base ? base + 1 : p);
                dirent_bytes += (8 + namelen + 3) / 4 * 4;
                switch (e->type) {
                case TREE_REG: {
                        uint64_t b = div_round_up(e->size, bs);
                        blocks += b + (b > 4 * 32768 ? div_round_up(b, 32768 * ((uint64_t) bs / 12)) + 1 : 0);
                        break;
                }
                case TREE_DIR:
                        blocks += 1;
                        break;
                case TREE_SYMLINK:
                        if (e->size >= 60)
                                blocks += 1;
                        break;
                default:
                        break;
                }
                size_t xs = 0;
                for (size_t k = 0; k < e->n_xattrs; k++)
                        xs += 16 + strlen(e->xattrs[k].name) + e->xattrs[k].size;
                if (xs > 80)
                        blocks += 1;
        }
        blocks += div_round_up(dirent_bytes * 5 / 4, bs); /* slack: names do not pack perfectly */
        *ret_inodes = inodes;
        return blocks;
}

#ifndef EXT4_LINK_MAX
#define EXT4_LINK_MAX 65000
#endif

typedef struct Writer {
        ext2_filsys fs;
        const Tree *t;
        Scope scope;
        ext2_ino_t *inos;     /* per tree index */
        Ext4Dir **dirs;       /* per tree index: a directory's blocks, once a name was added to it */
        uint16_t *nlinks;     /* extra links of regular files (hardlinks in scope) */
        int64_t epoch;
        char *buf;
        size_t buf_size;
        const char *image;
} Writer;

static void set_time(uint32_t *lo, uint32_t *extra, int64_t sec, uint32_t nsec) {
        *lo = (uint32_t) sec;
        if (extra)
                *extra = ((uint32_t) (((uint64_t) (sec - (int32_t) (uint32_t) sec)) >> 32) & EXT4_EPOCH_MASK) |
                         (nsec << EXT4_EPOCH_BITS);
}

/* Sets owner, mode bits and times on an inode from a tree entry (times clamped to the epoch). */
static void inode_apply(Writer *w, struct ext2_inode_large *in, const TreeEntry *e) {
        in->i_mode = (uint16_t) ((in->i_mode & S_IFMT) | (e->mode & 07777));
        in->i_uid = (uint16_t) e->uid;
        ext2fs_set_i_uid_high(*in, e->uid >> 16);
        in->i_gid = (uint16_t) e->gid;
        ext2fs_set_i_gid_high(*in, e->gid >> 16);
        int64_t sec = e->mtime_sec;
        uint32_t nsec = e->mtime_nsec;
        if (sec > w->epoch || (sec == w->epoch && nsec > 0)) {
                sec = w->epoch;
                nsec = 0;
        }
        in->i_generation = 0;
        in->i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
        set_time(&in->i_mtime, &in->i_mtime_extra, sec, nsec);
        set_time(&in->i_atime, &in->i_atime_extra, sec, nsec);
        set_time(&in->i_ctime, &in->i_ctime_extra, sec, nsec);
        set_time(&in->i_crtime, &in->i_crtime_extra, sec, nsec);
}

static int read_inode(Writer *w, ext2_ino_t ino, struct ext2_inode_large *in) {
        memset(in, 0, sizeof(*in));
        errcode_t err = ext2fs_read_inode_full(w->fs, ino, (struct ext2_inode *) in, sizeof(*in));
        if (err)
                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot read inode %u: %s", w->image, ino,
                                       error_message(err));
        return 0;
}

static int write_inode(Writer *w, ext2_ino_t ino, struct ext2_inode_large *in) {
        errcode_t err = ext2fs_write_inode_full(w->fs, ino, (struct ext2_inode *) in, sizeof(*in));
        if (err)
                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot write inode %u: %s", w->image, ino,
                                       error_message(err));
        return 0;
}

static int set_xattrs(Writer *w, ext2_ino_t ino, const TreeEntry *e, const char *path) {
        if (e->n_xattrs == 0)
                return 0;
        struct ext2_xattr_handle *h = NULL;
        errcode_t err = ext2fs_xattrs_open(w->fs, ino, &h);
        if (!err)
                err = ext2fs_xattrs_read(h);
        for (size_t i = 0; !err && i < e->n_xattrs; i++)
                err = ext2fs_xattr_set(h, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].size);
        errcode_t err2 = h ? ext2fs_xattrs_close(&h) : 0;
        if (err || err2)
                return log_error_errno(ext4_errno(err ?: err2), "ext4 '%s': cannot set xattrs of '/%s': %s", w->image,
                                       path, error_message(err ?: err2));
        return 0;
}

static int write_data(Writer *w, ext2_ino_t ino, const TreeEntry *e, const char *path) {
        ext2_file_t f;
        errcode_t err = ext2fs_file_open(w->fs, ino, EXT2_FILE_WRITE, &f);
        if (err)
                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot open '/%s': %s", w->image, path,
                                       error_message(err));
        uint64_t off = 0, bs = w->fs->blocksize;
        int r = 0;
        while (off < e->size) {
                /* Whole blocks of a hole would become holes below: skip them unread. */
                uint64_t data, data_end;
                r = tree_next_data(w->t, e, off, &data, &data_end);
                if (r < 0) {
                        log_error_errno(r, "cannot read the data of '/%s': %m", e->path);
                        break;
                }
                if (data / bs * bs > off) {
                        off = data / bs * bs;
                        continue;
                }
                ssize_t n = tree_read(w->t, e, off, w->buf, w->buf_size);
                if (n <= 0) {
                        r = log_error_errno(n < 0 ? (int) n : -EIO, "cannot read the data of '/%s': %m", e->path);
                        break;
                }
                /* All-zero blocks become holes, like mke2fs -d does for sparse files. */
                size_t pos = 0;
                while (pos < (size_t) n) {
                        size_t len = MIN(bs, (size_t) n - pos);
                        bool zero = len == bs;
                        for (size_t k = 0; zero && k < len; k += 8)
                                zero = *(uint64_t *) (w->buf + pos + k) == 0;
                        if (zero) {
                                pos += len;
                                continue;
                        }
                        size_t run = len;
                        while (pos + run < (size_t) n) {
                                size_t l2 = MIN(bs, (size_t) n - pos - run);
                                bool z2 = l2 == bs;
                                for (size_t k = 0; z2 && k < l2; k += 8)
                                        z2 = *(uint64_t *) (w->buf + pos + run + k) == 0;
                                if (z2)
                                        break;
                                run += l2;
                        }
                        err = ext2fs_file_llseek(f, off + pos, EXT2_SEEK_SET, NULL);
                        unsigned int written = 0;
                        if (!err)
                                err = ext2fs_file_write(f, w->buf + pos, (unsigned) run, &written);
                        if (!err && written != run)
                                err = EXT2_ET_SHORT_WRITE;
                        if (err)
                                break;
                        pos += run;
                }
                if (err)
                        break;
                off += (uint64_t) n;
        }
        if (!err && r >= 0)
                err = ext2fs_file_set_size2(f, e->size);
        errcode_t err2 = ext2fs_file_close(f);
        if (r < 0)
                return r;
        if (err || err2)
                return log_error_errno(ext4_errno(err ?: err2), "ext4 '%s': cannot write '/%s': %s", w->image, path,
                                       error_message(err ?: err2));
        return 0;
}

/* The filesystem's root takes the metadata of the tree's directory it is made from. */
static int write_root(Writer *w, size_t idx, const TreeEntry *e, const char *path) {
        struct ext2_inode_large in;
        w->inos[idx] = EXT2_ROOT_INO;
        int r = read_inode(w, EXT2_ROOT_INO, &in);
        if (r < 0)
                return r;
        inode_apply(w, &in, e);
        r = write_inode(w, EXT2_ROOT_INO, &in);
        return r < 0 ? r : set_xattrs(w, EXT2_ROOT_INO, e, path);
}

/* The inode and tree index of path's parent directory, written before it (entries are sorted). */
static int parent_inode(Writer *w, const TreeEntry *e, const char *path, ext2_ino_t *ret, size_t *ret_idx) {
        const char *slash = strrchr(e->path, '/');
        _cleanup_free_ char *parent_tree_path = xstrndup(e->path, slash ? (size_t) (slash - e->path) : 0);
        ssize_t pidx = tree_lookup_index(w->t, parent_tree_path);
        if (pidx < 0 || !w->inos[pidx])
                return log_error_errno(-ENOENT, "ext4 '%s': parent of '/%s' was not written", w->image, path);
        *ret = w->inos[pidx];
        *ret_idx = (size_t) pidx;
        return 0;
}

/* A directory or a symlink, made by the library and named by ext4-dir (the library's own naming
 * walks the whole parent twice). The parent gets its room first and the inode number is the one
 * the library will pick (it is deterministic; asking it for 0 keeps a long symlink's block where
 * it always went): blocks are allocated in the same order as when the library named it, so
 * images stay byte for byte the same. */
static errcode_t make_dir_or_symlink(Writer *w, size_t pidx, ext2_ino_t parent, const char *name,
                                     const TreeEntry *data, ext2_ino_t *ret_ino) {
        ext2_filsys fs = w->fs;
        bool dir = data->type == TREE_DIR;
        ext2_ino_t ino = 0;
        errcode_t err = ext4_dir_make_room(fs, &w->dirs[pidx], parent, strlen(name));
        if (!err)
                err = ext2fs_new_inode(fs, parent, (dir ? LINUX_S_IFDIR : LINUX_S_IFLNK) | 0755, 0, &ino);
        if (!err)
                err = dir ? ext2fs_mkdir(fs, parent, 0, NULL) : ext2fs_symlink(fs, parent, 0, NULL, data->link_target);
        if (!err && !ext2fs_test_inode_bitmap2(fs->inode_map, ino))
                err = EXT2_ET_INODE_ALLOC_FAIL; /* the library chose another number after all */
        if (!err)
                err = ext4_dir_add(fs, &w->dirs[pidx], parent, name, ino, dir ? EXT2_FT_DIR : EXT2_FT_SYMLINK);
        if (!err)
                *ret_ino = ino;
        return err;
}

/* Any other inode (regular file, device, fifo, socket): allocated, linked into parent and written,
 * with the link count of all its names in this filesystem (links = 1 + hardlinks to it), then a
 * regular file's data. */
static int make_inode(Writer *w, const TreeEntry *data, size_t pidx, ext2_ino_t parent, const char *name,
                      uint16_t links, const char *path, ext2_ino_t *ret_ino) {
        static const struct { uint16_t mode; int ft; } kinds[_TREE_TYPE_MAX] = {
                [TREE_REG] = { S_IFREG, EXT2_FT_REG_FILE }, [TREE_HARDLINK] = { S_IFREG, EXT2_FT_REG_FILE },
                [TREE_CHR] = { S_IFCHR, EXT2_FT_CHRDEV },   [TREE_BLK] = { S_IFBLK, EXT2_FT_BLKDEV },
                [TREE_FIFO] = { S_IFIFO, EXT2_FT_FIFO },    [TREE_SOCK] = { S_IFSOCK, EXT2_FT_SOCK },
        };
        ext2_filsys fs = w->fs;
        uint16_t mode = kinds[data->type].mode;
        bool reg = data->type == TREE_REG || data->type == TREE_HARDLINK;
        ext2_ino_t ino;
        errcode_t err = ext2fs_new_inode(fs, parent, mode, NULL, &ino);
        if (!err)
                err = ext4_dir_add(fs, &w->dirs[pidx], parent, name, ino, kinds[data->type].ft);
        if (err)
                goto fail;
        ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
        struct ext2_inode_large in = { .i_mode = mode, .i_links_count = links };
        if (data->type == TREE_CHR || data->type == TREE_BLK) {
                unsigned ma = major(data->rdev), mi = minor(data->rdev);
                if (ma < 256 && mi < 256)
                        in.i_block[0] = ma * 256 + mi;
                else
                        in.i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
        }
        if (reg) {
                in.i_flags |= EXT4_EXTENTS_FL;
                ext2_extent_handle_t h;
                err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *) &in, &h);
                if (err)
                        goto fail;
                ext2fs_extent_free(h);
        }
        inode_apply(w, &in, data);
        int r = write_inode(w, ino, &in);
        if (r >= 0 && reg && data->size > 0)
                r = write_data(w, ino, data, path);
        if (r < 0)
                return r;
        *ret_ino = ino;
        return 0;
fail:
        return log_error_errno(ext4_errno(err), "ext4 '%s': cannot create '/%s': %s", w->image, path, error_message(err));
}

static int write_entry(Writer *w, size_t idx, const TreeEntry *e, const char *path) {
        if (!path[0])
                return write_root(w, idx, e, path);

        const char *slash = strrchr(path, '/');
        const char *name = slash ? slash + 1 : path;
        if (strlen(name) > EXT2_NAME_LEN) /* the Tree refuses these; ext2fs_link would overflow */
                return log_error_errno(-ENAMETOOLONG, "ext4 '%s': name of '/%s' is longer than %d bytes", w->image,
                                       path, EXT2_NAME_LEN);
        ext2_ino_t parent = 0, ino = 0;
        size_t pidx = 0;
        int r = parent_inode(w, e, path, &parent, &pidx);
        if (r < 0)
                return r;

        const TreeEntry *data = e;
        if (e->type == TREE_HARDLINK) {
                ssize_t tidx = tree_lookup_index(w->t, e->link_target);
                if (tidx >= 0 && w->inos[tidx]) {
                        errcode_t err = ext4_dir_add(w->fs, &w->dirs[pidx], parent, name, w->inos[tidx], EXT2_FT_REG_FILE);
                        if (err)
                                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot link '/%s': %s", w->image,
                                                       path, error_message(err));
                        w->inos[idx] = w->inos[tidx];
                        return 0;
                }
                /* The target is outside this filesystem: the link becomes a copy. */
                data = tree_lookup(w->t, e->link_target);
                if (!data)
                        return log_error_errno(-ENOENT, "hardlink '/%s' points to missing '%s'", e->path, e->link_target);
        }

        if (data->type == TREE_DIR || data->type == TREE_SYMLINK) {
                errcode_t err = make_dir_or_symlink(w, pidx, parent, name, data, &ino);
                if (err)
                        return log_error_errno(ext4_errno(err), "ext4 '%s': cannot create '/%s': %s", w->image, path,
                                               error_message(err));
                struct ext2_inode_large in;
                r = read_inode(w, ino, &in);
                if (r < 0)
                        return r;
                inode_apply(w, &in, data);
                r = write_inode(w, ino, &in);
        } else
                r = make_inode(w, data, pidx, parent, name, (uint16_t) (1 + (e == data ? w->nlinks[idx] : 0)), path, &ino);
        if (r < 0)
                return r;
        w->inos[idx] = ino;
        return set_xattrs(w, ino, data, path);
}

static void writer_done(Writer *w) {
        if (w->fs)
                ext2fs_free(w->fs);
        scope_done(&w->scope);
        for (size_t i = 0; w->dirs && i < tree_size(w->t); i++)
                ext4_dir_free(w->dirs[i]);
        free(w->dirs);
        free(w->inos);
        free(w->nlinks);
        free(w->buf);
}

static int zero_range(const char *image, uint64_t offset, uint64_t size) {
        _cleanup_close_ int fd = open(image, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", image);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "cannot stat '%s': %m", image);
        if (S_ISREG(st.st_mode) && (uint64_t) st.st_size < offset + size && ftruncate(fd, (off_t) (offset + size)) < 0)
                return log_error_errno(-errno, "cannot extend '%s': %m", image);
        /* Free blocks must read as zeros whatever was there before: punch the range out. */
        if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t) offset, (off_t) size) < 0) {
                _cleanup_free_ char *zeros = xcalloc(1, 1 << 20);
                for (uint64_t done = 0; done < size;) {
                        size_t n = (size_t) MIN(size - done, (uint64_t) 1 << 20);
                        int r = pwrite_all(fd, zeros, n, offset + done);
                        if (r < 0)
                                return log_error_errno(r, "cannot zero '%s': %m", image);
                        done += n;
                }
        }
        return 0;
}

static uint64_t journal_blocks_for(uint64_t blocks) {
        /* ext2fs_default_journal_size(), in blocks of the fs */
        if (blocks < 2048)
                return 0;
        if (blocks < 32768)
                return 1024;
        if (blocks < 256 * 1024)
                return 4096;
        if (blocks < 512 * 1024)
                return 8192;
        if (blocks < 4096 * 1024)
                return 16384;
        if (blocks < 8192 * 1024)
                return 32768;
        if (blocks < 16384 * 1024)
                return 65536;
        if (blocks < 32768 * 1024)
                return 131072;
        return 262144;
}

uint64_t ext4_estimate_size(const Tree *t, const char *subtree, const char *const *exclude, uint32_t block_size,
                            bool journal) {
        uint32_t bs = block_size ? block_size : 4096;
        Scope s = {};
        scope_init(&s, subtree, exclude);
        uint64_t inodes;
        uint64_t blocks = content_blocks(t, &s, bs, &inodes);
        scope_done(&s);
        /* inode tables (256 bytes an inode, a quarter spare), bitmaps and descriptors per 32768 blocks,
         * lost+found, reserved 5% */
        uint64_t itable = div_round_up((inodes + inodes / 4 + 64) * 256, bs);
        uint64_t total = blocks + itable + LPF_SIZE / bs + 16;
        total += div_round_up(total, 32768) * 4;
        total = total * 100 / 94;
        if (journal)
                total += journal_blocks_for(total);
        return total * bs;
}

/* Extra names of each regular file in scope, refused past ext4's 16-bit link count. */
static int count_links(Writer *w) {
        const Tree *t = w->t;
        size_t n = tree_size(t);
        for (size_t i = 0; i < n; i++) {
                const TreeEntry *e = tree_entry(t, i);
                if (e->type != TREE_HARDLINK || !scope_path(&w->scope, e->path))
                        continue;
                const TreeEntry *target = tree_lookup(t, e->link_target);
                ssize_t tidx = tree_lookup_index(t, e->link_target);
                if (!target || tidx < 0 || !scope_path(&w->scope, target->path))
                        continue;
                /* ext4 counts links in 16 bits and stops at 65000: more would be a wrong count */
                if (w->nlinks[tidx] + 2 > EXT4_LINK_MAX)
                        return log_error_errno(-EMLINK, "ext4 '%s': '/%s' has more than %d links (names), ext4's limit",
                                               w->image, target->path, EXT4_LINK_MAX);
                w->nlinks[tidx]++;
        }
        return 0;
}

/* lost+found, LPF_SIZE big as mke2fs makes it, when the tree has none. */
static int make_lost_found(Writer *w, uint32_t bs) {
        ext2_filsys fs = w->fs;
        ext2_ino_t ino;
        errcode_t err = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found");
        if (err == EXT2_ET_DIR_NO_SPACE) {
                err = ext2fs_expand_dir(fs, EXT2_ROOT_INO);
                if (!err)
                        err = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found");
        }
        if (!err)
                err = ext2fs_lookup(fs, EXT2_ROOT_INO, "lost+found", 10, NULL, &ino);
        for (unsigned k = 1; !err && k < LPF_SIZE / bs; k++)
                err = ext2fs_expand_dir(fs, ino);
        if (err)
                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot create lost+found: %s", w->image,
                                       error_message(err));
        struct ext2_inode_large in;
        int r = read_inode(w, ino, &in);
        if (r < 0)
                return r;
        TreeEntry lpf = { .path = "lost+found", .type = TREE_DIR, .mode = 0700, .mtime_sec = w->epoch };
        inode_apply(w, &in, &lpf);
        return write_inode(w, ino, &in);
}

/* Directories got entries (and link counts) after their own inode was written; set their times
 * again so nothing the library stamped survives. */
static int restamp_directories(Writer *w) {
        size_t n = tree_size(w->t);
        for (size_t i = 0; i < n; i++) {
                const TreeEntry *e = tree_entry(w->t, i);
                if (e->type != TREE_DIR || !w->inos[i])
                        continue;
                struct ext2_inode_large in;
                int r = read_inode(w, w->inos[i], &in);
                if (r < 0)
                        return r;
                inode_apply(w, &in, e);
                r = write_inode(w, w->inos[i], &in);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Every entry in scope, then lost+found if the tree had none. estimate: the bytes the tree was
 * thought to need, for the out-of-space message. */
static int write_entries(Writer *w, const Ext4Params *p, uint32_t bs, uint64_t estimate) {
        bool have_lpf = false;
        size_t n = tree_size(w->t);
        for (size_t i = 0; i < n; i++) {
                const TreeEntry *e = tree_entry(w->t, i);
                const char *path = scope_path(&w->scope, e->path);
                if (!path)
                        continue;
                if (streq(path, "lost+found"))
                        have_lpf = true;
                int r = write_entry(w, i, e, path);
                if (r == -ENOSPC)
                        return log_error_errno(r, "ext4 '%s': out of space writing '/%s': the tree needs more than the "
                                               "partition's %" PRIu64 " bytes (estimate: %" PRIu64 " bytes)",
                                               w->image, path, p->size_bytes, estimate);
                if (r < 0)
                        return r;
        }
        return have_lpf ? 0 : make_lost_found(w, bs);
}

int ext4_write(const Tree *t, const char *subtree, const char *const *exclude, const char *image_path,
               uint64_t offset, const Ext4Params *p) {
        uint32_t bs = p->block_size ? p->block_size : 4096;
        if (bs != 1024 && bs != 2048 && bs != 4096)
                return log_error_errno(-EINVAL, "ext4 '%s': unsupported block size %u", image_path, bs);
        uint64_t blocks = p->size_bytes / bs;
        if (blocks < 64)
                return log_error_errno(-EINVAL, "ext4 '%s': size %" PRIu64 " bytes is too small", image_path, p->size_bytes);

        static bool error_table_added = false;
        if (!error_table_added) {
                initialize_ext2_error_table();
                error_table_added = true;
        }

        _cleanup_(writer_done) Writer w = { .t = t, .epoch = p->epoch, .image = image_path };
        scope_init(&w.scope, subtree, exclude);
        _cleanup_free_ char *subpath = xstrndup(w.scope.subtree, w.scope.sublen);
        const TreeEntry *top = tree_lookup(t, subpath);
        if (!top || top->type != TREE_DIR)
                return log_error_errno(-ENOENT, "ext4 '%s': '/%s' is not a directory in the tree", image_path, subpath);

        uint64_t n_inodes;
        uint64_t content = content_blocks(t, &w.scope, bs, &n_inodes);
        int r = zero_range(image_path, offset, p->size_bytes);
        if (r < 0)
                return r;
        struct ext2_super_block param = {};
        ext4_super_params(p, blocks, bs, n_inodes, &param);
        r = ext4_fs_create(image_path, p, offset, &param, &w.fs);
        if (r < 0)
                return r;
        struct ext2_super_block *sb = w.fs->super;
        uint64_t max_blocks = ext2fs_blocks_count(sb);
        r = ext4_fs_lay_out(w.fs, image_path);
        if (r >= 0 && p->journal)
                r = ext4_fs_add_journal(w.fs, image_path);
        if (r < 0)
                return r;

        /* Does it fit? Say so before writing a single file. */
        uint64_t free_blocks = ext2fs_free_blocks_count(sb);
        uint64_t used = max_blocks - free_blocks;
        if (content + LPF_SIZE / bs > free_blocks) {
                uint64_t need = (used + content + LPF_SIZE / bs) * bs;
                return log_error_errno(-ENOSPC,
                                       "ext4 '%s': the tree ('/%s', %" PRIu64 " bytes of file data) needs about %" PRIu64
                                       " bytes but the partition is %" PRIu64 " bytes (%" PRIu64 " bytes short)",
                                       image_path, subpath, tree_data_bytes(t, subpath), need, p->size_bytes,
                                       need - p->size_bytes);
        }
        if (n_inodes + 16 > sb->s_free_inodes_count)
                return log_error_errno(-ENOSPC, "ext4 '%s': the tree has %" PRIu64 " entries but the filesystem only %u inodes",
                                       image_path, n_inodes, sb->s_inodes_count);

        size_t n = tree_size(t);
        w.inos = xcalloc(n, sizeof(ext2_ino_t));
        w.dirs = xcalloc(n, sizeof(Ext4Dir *));
        w.nlinks = xcalloc(n, sizeof(uint16_t));
        w.buf_size = 1 << 20;
        w.buf = xmalloc(w.buf_size);
        r = count_links(&w);
        if (r >= 0)
                r = write_entries(&w, p, bs, (used + content) * bs);
        if (r >= 0)
                r = restamp_directories(&w);
        if (r < 0)
                return r;

        sb->s_wtime = (uint32_t) p->epoch;
        errcode_t err = ext2fs_set_gdt_csum(w.fs);
        if (!err)
                err = ext2fs_close_free(&w.fs);
        if (err)
                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot write the filesystem: %s", image_path,
                                       error_message(err));
        return 0;
}
