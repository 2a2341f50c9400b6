#pragma once
/* AWS Signature Version 4 for S3 requests, computed with libcrypto (HMAC-SHA256). Pure: no I/O, no
 * clock (the caller passes the time), so the documented AWS examples are its unit test.
 *
 * What is signed (AWS "Create a canonical request"): the method; the path as sent, which the caller
 * encodes with s3_uri_encode() (S3 encodes keys once; '/' stays); the query with every name and
 * value decoded and re-encoded, sorted by name then value, "name=" for a bare name; every header
 * the caller passes plus host, x-amz-date, x-amz-content-sha256 (always, also for an empty body)
 * and x-amz-security-token with a session token, names lower-cased, values trimmed with inner runs
 * of spaces folded, sorted, repeated names joined with ','; the hex SHA-256 of the payload (or
 * "UNSIGNED-PAYLOAD"). */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util.h"

typedef struct S3Credentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token; /* or NULL */
        char *source;        /* where they came from, for messages: "environment", "~/.aws/credentials [ci]" */
} S3Credentials;

S3Credentials *s3_credentials_free(S3Credentials *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(S3Credentials *, s3_credentials_free);

#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct SigV4Request {
        const char *method;
        const char *host;  /* the Host header as sent: "bucket.s3.amazonaws.com", "127.0.0.1:8080" */
        const char *path;  /* as sent, already encoded: "/bucket/images/web/blobs/sha256/ab%24c" */
        const char *query; /* as sent without '?', or NULL: "uploadId=x&partNumber=3" */
        /* NULL-terminated "Name: value" headers that go with the request and are signed, or NULL */
        const char *const *headers;
        const char *payload_sha256; /* lower-case hex, or S3_UNSIGNED_PAYLOAD */
        const char *region;
        const char *service; /* "s3" */
        time_t when;
} SigV4Request;

/* RFC 3986 encoding as SigV4 wants it: unreserved A-Z a-z 0-9 - . _ ~ stay, everything else is
 * %XX (upper-case), '/' too unless keep_slash. */
char *s3_uri_encode(const char *s, bool keep_slash);

/* The canonical request and the string to sign (exposed for tests and debugging). */
char *sigv4_canonical_request(const SigV4Request *req, const char *amz_date, const char *session_token,
                              char **ret_signed_headers);

/* Signs req. ret_headers: a strv of the headers to add to the request ("Authorization: …",
 * "x-amz-date: …", "x-amz-content-sha256: …" and "x-amz-security-token: …" with a session token).
 * The secret itself goes nowhere but into the HMAC. */
int sigv4_sign(const SigV4Request *req, const S3Credentials *creds, char ***ret_headers);
