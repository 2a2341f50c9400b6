#pragma once
/* What registry-s3*.c share: the backend state, one signed request, XML answers. Not for use
 * outside baker/registry/. */
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "object-layout.h"
#include "registry-s3.h"
#include "s3-sigv4.h"

typedef struct S3 {
        ObjectStore store; /* first: the registry's userdata is the S3 and its ObjectStore */
        char *endpoint;  /* "https://host[:port]" */
        char *host;      /* the Host header: "host[:port]" */
        char *bucket;
        char *prefix;    /* "" or "images/web/" (with the slash) */
        char *region;
        char *display;   /* "s3://host/bucket/prefix" for messages */
        S3Credentials *creds;
        uint64_t part_size;
        unsigned parallel;
} S3;

typedef struct S3Call {
        const char *method;
        const char *key;   /* object key without the prefix, or NULL for the bucket itself */
        const char *query; /* encoded, without '?', or NULL */
        const char *const *headers; /* signed extra headers, NULL-terminated, or NULL */
        HttpBodyKind body_kind;
        const void *body;
        size_t body_size;
        int body_fd;
        uint64_t body_offset, body_length;
        const char *payload_sha256; /* hex; NULL: computed for a memory body, empty otherwise */
        HttpSink sink;
        void *userdata;
        unsigned flags;
        size_t max_body;
        bool missing_ok; /* a 404 is an answer: -ENOENT without a log line */
} S3Call;

/* Signs and sends one request; returns the response whatever its status (see http_request()). */
int s3_call(S3 *s, const S3Call *call, HttpResponse **ret);
/* 2xx: 0. Otherwise logs "S3 'DISPLAY' (access key id 'ID'): METHOD URL: status N: CODE: message"
 * with the server's XML error and returns -ENOENT (404), -EACCES (401/403), -EAGAIN (429/503),
 * -EDQUOT (413/507, quota), -EIO else. A 200 whose body is an <Error> (CompleteMultipartUpload)
 * fails too. */
int s3_check(S3 *s, const S3Call *call, const HttpResponse *resp);
/* s3_call + s3_check. */
int s3_do(S3 *s, const S3Call *call, HttpResponse **ret);

/* The text of the first <NAME>…</NAME> at or after *pos (entities decoded); *pos moves past it.
 * NULL when there is none. */
char *s3_xml_next(const char *xml, const char *name, const char **pos);

/* registry-s3-upload.c */
int s3_blob_push(void *userdata, const RegistryBlob *blob, uint64_t *ret_sent);
/* Aborts unfinished multipart uploads under the prefix started more than min_age_s ago. */
int s3_abort_stale_uploads(S3 *s, unsigned min_age_s, uint64_t *ret_n);
