#pragma once
/* The S3-compatible object storage backend (AWS S3, Swift's s3api, GCS's XML API with HMAC keys,
 * MinIO, Ceph RGW …): path-style requests signed with SigV4 (s3-sigv4.h), credentials from the AWS
 * environment and files (s3-credentials.h).
 *
 * Object layout under s3://HOST/BUCKET/PREFIX (object-layout.h; README.md and DESIGN.md):
 *   PREFIX/blobs/sha256/HEX       every blob (the image files, config = manifest.json), content-
 *                                 addressed; metadata x-amz-meta-baker-digest and, for the image
 *                                 files, the image's facts (x-amz-meta-baker-manifest = the OCI
 *                                 manifest digest, -image-digest, -bake-key, -version, -title)
 *   PREFIX/manifests/sha256/HEX   every manifest, byte for byte, Content-Type its media type
 *   PREFIX/tags/TAG               a tag or channel: {"digest","mediaType","size"} of its manifest
 *   PREFIX/zeros/PART_SIZE        zeros, the source of parts that are all zeros (UploadPartCopy)
 * Blobs over BAKER_S3_PART_SIZE (default 16 MiB, raised to stay under 10000 parts) go as multipart
 * uploads: parts in parallel (BAKER_S3_PARALLEL, default 4), each with Content-MD5 and its SHA-256
 * signed; an interrupted upload is resumed (ListParts: parts already there with the same size and
 * ETag are not sent again) and older unfinished uploads of the same object are aborted. */
#include "registry.h"

int registry_s3_open(const RegistryRef *ref, Registry **ret);
