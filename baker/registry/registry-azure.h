#pragma once
/* The Azure Blob Storage backend: SharedKey or SAS (azure-auth.h), blobs of one container.
 *
 * References: azure://ACCOUNT/CONTAINER[/PREFIX][:TAG] (https://ACCOUNT.blob.core.windows.net),
 * azure+http://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX] and azure+https://… for an endpoint that names
 * the account in the path (Azurite, Azure Stack).
 *
 * Blob layout under CONTAINER/PREFIX, the S3 backend's (object-layout.h: channels, history,
 * promote, gc work unchanged over it):
 *   PREFIX/blobs/sha256/HEX      every blob, content-addressed. An image file whose size is a
 *                                multiple of 512 and at least 4 MiB (the fixed VHD always is) is a
 *                                PAGE blob: only its non-zero 4 MiB ranges are written (Put Page,
 *                                Content-MD5 each); an interrupted upload is resumed from Get Page
 *                                Ranges. It counts as present only once metadata bakerdigest names
 *                                its digest (set last); the image's facts are metadata too
 *                                (baker_manifest, baker_image_digest, …). Smaller blobs are block
 *                                blobs (one Put Blob).
 *   PREFIX/manifests/sha256/HEX  every manifest, byte for byte, Content-Type its media type
 *   PREFIX/tags/TAG              a tag or channel: {"digest","mediaType","size"} of its manifest */
#include "registry.h"

int registry_azure_open(const RegistryRef *ref, Registry **ret);
