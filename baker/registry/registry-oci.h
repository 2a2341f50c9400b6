#pragma once
/* The OCI Distribution backend: a registry over HTTP(S), with basic and bearer-token auth. */
#include "registry.h"

int registry_oci_open(const RegistryRef *ref, Registry **ret);
void registry_oci_add_insecure_host(const char *host);

/* Parsers of registry responses, exposed for tests and fuzzing. */
/* 'Bearer realm="…",service="…",scope="…"' → {"realm":…, …} (keys lower-cased); *ret_scheme = "Bearer". */
json_t *registry_oci_parse_challenge(const char *header, char **ret_scheme);
/* '</v2/x/tags/list?last=a&n=2>; rel="next"' → "/v2/x/tags/list?last=a&n=2", or NULL. */
char *registry_oci_link_next(const char *link);
