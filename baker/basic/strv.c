/* String lists; see strv.h for the convention. */
#include <jansson.h>

#include "strv.h"

char **strv_free(char **l) {
        for (char **p = l; p && *p; p++)
                free(*p);
        free(l);
        return NULL;
}

void strv_push(char ***l, size_t *n, char *s) {
        size_t len = n ? *n : strv_length((const char *const *) *l);
        *l = xrealloc(*l, (len + 2) * sizeof(char *));
        (*l)[len++] = s;
        (*l)[len] = NULL;
        if (n)
                *n = len;
}

size_t strv_length(const char *const *l) {
        size_t n = 0;
        for (; l && l[n]; n++)
                ;
        return n;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void strv_sort(char **l, size_t n) {
        if (n == SIZE_MAX)
                n = strv_length((const char *const *) l);
        if (n > 1)
                qsort(l, n, sizeof(char *), compare_strings);
}

bool strv_contains(const char *const *l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

json_t *strv_to_json(char **l) {
        json_t *a = json_array();
        for (char **s = l; s && *s; s++)
                json_array_append_new(a, json_string(*s));
        return a;
}
