/* Image diff: byte ranges of the two images compared chunk by chunk, holes on both sides skipped
 * unread; differences recorded as up to MAX_BYTE_RUNS runs and a bitmap of differing 4 KiB blocks. */
#include "imagediff-internal.h"

#include "log.h"
#include "sparse.h"

static int side_extent(Side *s, uint64_t pos) {
        if (pos >= s->ext_start && pos < s->ext_end)
                return 0;
        if (pos >= s->size) {
                s->ext_start = pos, s->ext_end = UINT64_MAX, s->ext_hole = true; /* past the end: zeros */
                return 0;
        }
        uint64_t data, data_end;
        int r = sparse_next_data(s->fd, pos, s->size, &data, &data_end);
        if (r < 0)
                return log_error_errno(r, "failed to read '%s': %m", s->path);
        s->ext_start = pos;
        s->ext_hole = data > pos;
        s->ext_end = s->ext_hole ? data : data_end;
        return 0;
}

static int side_read(Side *s, uint64_t pos, size_t n) {
        uint8_t *p = s->buf;
        memset(p, 0, n);
        if (pos >= s->size)
                return 0;
        ssize_t k = pread_full(s->fd, p, (size_t) MIN((uint64_t) n, s->size - pos), pos);
        if (k < 0)
                return log_error_errno((int) k, "failed to read '%s': %m", s->path);
        return 0;
}

static void note_difference(RangeResult *res, uint64_t start, uint64_t end) {
        res->differ = true;
        if (res->bitmap)
                for (uint64_t blk = start >> BITMAP_SHIFT; blk <= (end - 1) >> BITMAP_SHIFT; blk++)
                        res->bitmap[blk >> 3] |= (uint8_t) (1u << (blk & 7));
        /* differences less than a block apart make one run */
        if (res->n_runs > 0 && res->runs[res->n_runs - 1].offset + res->runs[res->n_runs - 1].length + (1u << BITMAP_SHIFT) > start) {
                res->runs[res->n_runs - 1].length = end - res->runs[res->n_runs - 1].offset;
                return;
        }
        if (res->n_runs < MAX_BYTE_RUNS)
                res->runs[res->n_runs++] = (Run) { start, end - start };
}

/* Compares size bytes of a from a_off with b from b_off. Holes on both sides are skipped unread;
 * with want_all false it stops at the first difference. */
int range_compare(Ctx *c, uint64_t a_off, uint64_t b_off, uint64_t size, bool want_all, bool want_bitmap,
                  RangeResult *res) {
        *res = (RangeResult) {};
        if (want_bitmap)
                res->bitmap = xcalloc(((size >> BITMAP_SHIFT) + 8) / 8 + 1, 1);
        uint64_t pos = 0;
        while (pos < size) {
                int r = side_extent(&c->a, a_off + pos);
                if (r >= 0)
                        r = side_extent(&c->b, b_off + pos);
                if (r < 0)
                        return r;
                uint64_t step = MIN(size - pos, CHUNK);
                step = MIN(step, c->a.ext_end - (a_off + pos));
                step = MIN(step, c->b.ext_end - (b_off + pos));
                if (c->a.ext_hole && c->b.ext_hole) {
                        pos += step;
                        continue;
                }
                r = side_read(&c->a, a_off + pos, step);
                if (r >= 0)
                        r = side_read(&c->b, b_off + pos, step);
                if (r < 0)
                        return r;
                if (memcmp(c->a.buf, c->b.buf, step) != 0) {
                        /* exact start, then 4 KiB granularity */
                        for (uint64_t i = 0; i < step;) {
                                uint64_t blk_end = MIN(step, ((((pos + i) >> BITMAP_SHIFT) + 1) << BITMAP_SHIFT) - pos);
                                if (memcmp(c->a.buf + i, c->b.buf + i, blk_end - i) != 0) {
                                        uint64_t first = i, last = blk_end - 1;
                                        while (c->a.buf[first] == c->b.buf[first])
                                                first++;
                                        while (c->a.buf[last] == c->b.buf[last])
                                                last--;
                                        note_difference(res, pos + first, pos + last + 1);
                                        if (!want_all)
                                                return 0;
                                }
                                i = blk_end;
                        }
                }
                pos += step;
        }
        return 0;
}

bool range_bitmap_test(const RangeResult *res, uint64_t byte_offset) {
        uint64_t blk = byte_offset >> BITMAP_SHIFT;
        return res->bitmap[blk >> 3] & (1u << (blk & 7));
}

void range_add_byte_runs(Ctx *c, unsigned partition, const char *where, const char *region, uint64_t a_off,
                         const RangeResult *res) {
        for (size_t i = 0; i < res->n_runs; i++) {
                ImageDiffEntry *e = diff_add_entry(c, IMAGE_DIFF_BYTES, partition, where);
                e->field = xstrdup(region);
                e->offset = a_off + res->runs[i].offset;
                e->length = res->runs[i].length;
        }
}
