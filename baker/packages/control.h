#pragma once
/* Debian control data (deb822): paragraphs of "Field: value" lines, continuation lines starting
 * with a space or tab, paragraphs separated by blank lines. The format of dpkg's status file, of
 * an archive's Packages index and of `apt-cache show`. Pure: parses a buffer, does no I/O. */
#include <stddef.h>

#include "util.h"

typedef struct ControlField {
        char *name;
        char *value; /* continuation lines joined with "\n", leading/trailing blanks trimmed */
} ControlField;

typedef struct ControlParagraph {
        ControlField *fields;
        size_t n_fields;
        unsigned line; /* 1-based line of its first field */
} ControlParagraph;

typedef struct ControlFile {
        ControlParagraph *paragraphs;
        size_t n_paragraphs;
} ControlFile;

/* Parses data (size bytes, need not be NUL-terminated). A line that is neither a field, a
 * continuation nor blank, or a continuation before any field, is -EBADMSG with *ret_line set to
 * it (when ret_line is non-NULL). Comment lines ("#") are skipped. */
int control_parse(const char *data, size_t size, ControlFile **ret, unsigned *ret_line);
ControlFile *control_file_free(ControlFile *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(ControlFile *, control_file_free);

/* The value of a field (names compare case-insensitively), or NULL. */
const char *control_get(const ControlParagraph *p, const char *name);
