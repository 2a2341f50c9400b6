/* baker cache ls|gc: what the cache holds, and keeping it bounded (least recently used first). */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <time.h>

#include "cache.h"
#include "digest-memo.h"
#include "events.h"
#include "log.h"
#include "outcome.h"
#include "remote-cache.h"
#include "units.h"
#include "verbs.h"

#define DEFAULT_MAX_SIZE (UINT64_C(10) << 30)

static json_t *items_json(const CacheItem *items, size_t n, uint64_t *ret_total) {
        json_t *arr = json_array();
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) {
                total += items[i].size;
                json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "namespace", items[i].ns, "key",
                                                     items[i].key, "size", (json_int_t) items[i].size, "last_use",
                                                     (json_int_t) items[i].last_use));
        }
        *ret_total = total;
        return arr;
}

static int cache_ls(Cache *c, bool json) {
        CacheItem *items;
        size_t n;
        int r = cache_list(c, &items, &n);
        if (r < 0)
                return OUTCOME_INTERNAL;
        uint64_t total;
        json_t *arr = items_json(items, n, &total);
        if (json) {
                json_t *doc = json_pack("{s:s, s:o, s:I, s:I}", "cache", cache_dir(c), "items", arr, "count",
                                        (json_int_t) n, "total_size", (json_int_t) total);
                events_print_document(doc);
        } else {
                json_decref(arr);
                printf("%-9s %-18s %10s  %s\n", "NAMESPACE", "KEY", "SIZE", "LAST USE");
                for (size_t i = 0; i < n; i++) {
                        char sz[32], when[32];
                        units_format_size_rounded((double) items[i].size, sz, sizeof sz);
                        struct tm tm;
                        strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime_r(&items[i].last_use, &tm));
                        printf("%-9s %-18.*s %10s  %s\n", items[i].ns, strlen(items[i].key) > 16 ? 16 : 18,
                               items[i].key, sz, when);
                }
                char t[32];
                units_format_size_rounded((double) total, t, sizeof t);
                printf("%zu item%s, %s in %s\n", n, n == 1 ? "" : "s", t, cache_dir(c));
        }
        cache_items_free(items, n);
        return OUTCOME_OK;
}

static int cache_gc_verb(Cache *c, uint64_t max_size, bool json) {
        uint64_t freed, remaining;
        int r = cache_gc(c, max_size, &freed, &remaining);
        if (r < 0)
                return OUTCOME_INTERNAL;
        unsigned memos = digest_memo_expire(c);
        if (json) {
                json_t *doc = json_pack("{s:s, s:I, s:I, s:I, s:I}", "cache", cache_dir(c), "max_size",
                                        (json_int_t) max_size, "freed", (json_int_t) freed, "remaining",
                                        (json_int_t) remaining, "memos_dropped", (json_int_t) memos);
                events_print_document(doc);
                return OUTCOME_OK;
        }
        char f[32], rem[32], m[32];
        units_format_size_rounded((double) freed, f, sizeof f);
        units_format_size_rounded((double) remaining, rem, sizeof rem);
        units_format_size_rounded((double) max_size, m, sizeof m);
        printf("freed %s, %s remain (limit %s)\n", f, rem, m);
        if (memos)
                printf("dropped %u file digest memo%s unused for %d days\n", memos, memos == 1 ? "" : "s",
                       DIGEST_MEMO_MAX_AGE_DAYS);
        if (remaining > max_size)
                log_warning("the cache is still above %s: the rest is in use by running bakes", m);
        return OUTCOME_OK;
}

static int remote_gc_verb(const char *ref, const char *keep_days, bool dry_run, bool json) {
        char *end = NULL;
        unsigned long days = keep_days ? strtoul(keep_days, &end, 10) : 0;
        if (!keep_days || !*keep_days || *end || days > 36500) {
                log_error("cache gc --remote needs --keep-days N (whole days)");
                return OUTCOME_USAGE;
        }
        RemoteCacheGcStats st = {};
        int r = remote_cache_gc(ref, (unsigned) days, dry_run, &st);
        if (r < 0)
                return r == -EINVAL ? OUTCOME_USAGE : OUTCOME_PUBLISH;
        if (json)
                events_print_document(json_pack("{s:s, s:I, s:I, s:I, s:b}", "remote", ref, "keep_days", (json_int_t) days,
                                                "removed", (json_int_t) st.removed, "kept", (json_int_t) st.kept,
                                                "dry_run", dry_run));
        else
                printf("%s %u entr%s, kept %u in %s\n", dry_run ? "would remove" : "removed", st.removed,
                       st.removed == 1 ? "y" : "ies", st.kept, ref);
        return OUTCOME_OK;
}

int verb_cache(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "max-size", required_argument, NULL, 'm' },
                { "cache", required_argument, NULL, 'c' },
                { "remote", required_argument, NULL, 'r' },
                { "keep-days", required_argument, NULL, 'k' },
                { "dry-run", no_argument, NULL, 'n' },
                {},
        };
        bool json = false, have_max = false, dry_run = false;
        const char *dir = NULL, *remote = NULL, *keep_days = NULL;
        uint64_t max_size = DEFAULT_MAX_SIZE;
        int opt;
        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'j':
                        json = true;
                        break;
                case 'm':
                        if (units_parse_size(optarg, &max_size) < 0) {
                                log_error("invalid size '%s' (e.g. 10GiB, 500M, 1048576)", optarg);
                                return OUTCOME_USAGE;
                        }
                        have_max = true;
                        break;
                case 'c':
                        dir = optarg;
                        break;
                case 'r':
                        remote = optarg;
                        break;
                case 'k':
                        keep_days = optarg;
                        break;
                case 'n':
                        dry_run = true;
                        break;
                default:
                        return OUTCOME_USAGE;
                }
        if (verb_check_args(argv[0], argc - optind) < 0)
                return OUTCOME_USAGE;
        const char *sub = argv[optind];
        if (!streq(sub, "ls") && !streq(sub, "gc")) {
                log_error("unknown cache command '%s'; expected 'ls' or 'gc'", sub);
                return OUTCOME_USAGE;
        }
        if (streq(sub, "ls") && have_max) {
                log_error("--max-size only applies to 'cache gc'");
                return OUTCOME_USAGE;
        }
        if (streq(sub, "gc") && (remote || keep_days))
                return remote_gc_verb(remote, keep_days, dry_run, json);
        _cleanup_(cache_freep) Cache *c = NULL;
        if (cache_open(dir, &c) < 0)
                return OUTCOME_INTERNAL;
        return streq(sub, "ls") ? cache_ls(c, json) : cache_gc_verb(c, max_size, json);
}
