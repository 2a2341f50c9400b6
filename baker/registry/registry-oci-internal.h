#pragma once
/* What registry-oci*.c share: the backend state and the request helpers. Not for use outside
 * baker/registry/. */
#include <stdbool.h>

#include "http.h"
#include "registry-oci.h"

typedef struct Token {
        char *scope;
        char *header; /* "Authorization: Bearer …" */
} Token;

typedef struct Oci {
        char *host, *repository;
        char *origin; /* "https://host" */
        bool creds_loaded;
        char *user, *password;
        char *basic_header; /* "Authorization: Basic …" once the registry asked for basic */
        Token *tokens;
        size_t n_tokens;
        bool no_referrers_api;
        bool warned_plain_http;
} Oci;

typedef struct OciCall {
        const char *method;
        const char *url;
        const char *const *headers; /* extra, NULL-terminated */
        HttpBodyKind body_kind;
        const void *body;
        size_t body_size;
        int body_fd;
        uint64_t body_offset, body_length;
        HttpSink sink;
        void *userdata;
        unsigned flags;
        size_t max_body;
        const char *mount_from; /* adds a pull scope on another repository */
} OciCall;

/* registry-oci.c */
char *url_escape(const char *s);
/* "Location" may be absolute or relative to the registry. */
char *resolve_location(Oci *o, const char *loc);
char *url_with_query(const char *url, const char *query);
char *repo_url(Oci *o, const char *fmt_tail);
/* Logs "METHOD URL: status N Reason: CODE: message" with the registry's JSON error and returns an
 * errno for the status. */
int oci_fail(const char *method, const char *url, const HttpResponse *resp, const char *hint);

/* registry-oci-auth.c */
void load_credentials(Oci *o);
/* One request with the auth dance around it. Returns the response whatever its status. */
int oci_call(Oci *o, const OciCall *call, HttpResponse **ret);

/* registry-oci-upload.c */
int oci_blob_push(void *userdata, const RegistryBlob *blob, uint64_t *ret_sent);
int oci_blob_mount(void *userdata, const char *digest, const char *from);
