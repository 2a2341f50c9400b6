#pragma once
/* String lists (strv): `char **` ending in a NULL entry, like argv and what libguestfs returns.
 *
 * The one array convention in baker:
 *   - a list of strings is a strv: always NULL-terminated, so it can go to exec*() or to any
 *     function that walks it to the NULL; it may carry its length beside it (`char **names;
 *     size_t n_names;`) for callers that want it, but the NULL is always there. Build it with
 *     strv_push() (which keeps the NULL) and free it with strv_free(), which needs no count.
 *   - an array of anything else is pointer + count (`Thing *things; size_t n_things;`), freed by
 *     the owner's things_free(things, n).
 * A strv's strings are owned by it; a `const char *const *` parameter borrows one. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Frees every string up to the NULL and the list itself; NULL is fine. Returns NULL. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Appends s (taking ownership) and keeps the NULL after it. n, when not NULL, is the list's length
 * and is kept up to date (saves strv_push() counting); *l may be NULL (an empty list). */
void strv_push(char ***l, size_t *n, char *s);

size_t strv_length(const char *const *l);
/* Sorts the first n strings (all of them, up to the NULL, when n is SIZE_MAX) by strcmp(). Works on
 * pointer + count string arrays too. */
void strv_sort(char **l, size_t n);
bool strv_contains(const char *const *l, const char *s);
/* A new json array of the strings (jansson's json_t). */
struct json_t;
struct json_t *strv_to_json(char **l);
