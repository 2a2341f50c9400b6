#pragma once
/* The OCI Distribution backend: a registry over HTTP(S), with basic and bearer-token auth. */
#include "registry.h"

int registry_oci_open(const RegistryRef *ref, Registry **ret);
void registry_oci_add_insecure_host(const char *host);
