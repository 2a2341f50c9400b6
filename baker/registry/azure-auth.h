#pragma once
/* Azure Storage credentials and request signing: SharedKey (HMAC-SHA256 of the canonical request
 * with the account key, libcrypto) or a SAS token appended to the query. Credentials come from the
 * environment only, never the command line: AZURE_STORAGE_KEY (with the reference's account),
 * AZURE_STORAGE_CONNECTION_STRING (AccountName, AccountKey, SharedAccessSignature) or
 * AZURE_STORAGE_SAS_TOKEN. Keys are registered with log_add_secret(). */
#include <stdint.h>
#include <time.h>

#include "util.h"

typedef struct AzureCredentials {
        char *account;
        uint8_t *key;     /* the decoded account key, or NULL (SAS) */
        size_t key_size;
        char *sas;        /* "sv=…&sig=…" without '?', or NULL */
        const char *source; /* the variable it came from, for messages */
} AzureCredentials;

AzureCredentials *azure_credentials_free(AzureCredentials *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(AzureCredentials *, azure_credentials_free);

/* -ENOKEY (logged) when the environment has none for the account. */
int azure_credentials_load(const char *account, AzureCredentials **ret);

typedef struct AzureSignRequest {
        const char *method;
        const char *path;   /* the URL's path as sent, e.g. "/container/blob" or "/acct/container/blob" */
        const char *query;  /* encoded, without '?', or NULL */
        const char *const *headers; /* "Name: value" (x-ms-*, Content-MD5, Content-Type, Range …) */
        uint64_t content_length;
} AzureSignRequest;

/* The string SharedKey signs (the 2009-09-19+ rules) for account. Pure; for tests. */
char *azure_string_to_sign(const AzureSignRequest *r, const char *account);
/* "Authorization: SharedKey ACCOUNT:SIGNATURE" */
char *azure_sign(const AzureSignRequest *r, const AzureCredentials *c);
