#pragma once
/* The OCI image-layout directory backend (the embedded default registry: no server needed). */
#include <stdbool.h>

#include "registry.h"

/* Opens the layout at ref->repository; creates it (oci-layout, index.json, blobs/sha256) when
 * create is set, otherwise a missing layout is -ENOENT. */
int registry_layout_open(const RegistryRef *ref, bool create, Registry **ret);
