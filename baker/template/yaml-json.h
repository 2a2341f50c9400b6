#pragma once
/* A YAML file that is configuration, not a template (an OpenStack clouds.yaml), read into JSON
 * values through the same reader as templates (yaml.c): positions in errors, aliases refused.
 * Scalars become JSON strings (callers convert "true" or "8774" themselves), mappings objects,
 * sequences arrays. */
#include <jansson.h>

/* 0 and *ret on success; -ENOENT (not logged) when path does not exist; -EBADMSG after printing
 * FILE:LINE:COL errors; other -errno (logged) when it cannot be read. */
int yaml_file_to_json(const char *path, json_t **ret);
