/* Azure SharedKey: the string to sign, field by field as the REST documentation lays it out (12
 * lines, the zero Content-Length empty, x-ms-* headers lower-cased and sorted, the resource with its
 * query parameters sorted), and the signature of a fixed request checked against one computed
 * independently (Python's hmac, tests/integration/azure-blob.py's rules); credentials from the
 * environment, and none is an error. */
#include "azure-auth.h"
#include "log.h"
#include "test-lib.h"

int main(void) {
        const char *headers[] = { "x-ms-version: 2021-08-06", "x-ms-date: Mon, 30 Nov 2026 04:16:32 GMT", "Content-Type:",
                                  "x-ms-range: bytes=0-511", "Content-MD5: abc==", NULL };
        AzureSignRequest r = { .method = "PUT", .path = "/devstoreaccount1/images/x", .query = "restype=container&comp=list&prefix=t/",
                               .headers = headers, .content_length = 512 };
        _cleanup_free_ char *sts = azure_string_to_sign(&r, "devstoreaccount1");
        const char *want = "PUT\n\n\n512\nabc==\n\n\n\n\n\n\n\n"
                           "x-ms-date:Mon, 30 Nov 2026 04:16:32 GMT\nx-ms-range:bytes=0-511\nx-ms-version:2021-08-06\n"
                           "/devstoreaccount1/devstoreaccount1/images/x\ncomp:list\nprefix:t/\nrestype:container";
        if (!streq(sts, want)) {
                fprintf(stderr, "got:  %s\nwant: %s\n", sts, want);
                assert_se(false);
        }
        r.content_length = 0;
        free(sts);
        sts = azure_string_to_sign(&r, "devstoreaccount1");
        assert_se(startswith(sts, "PUT\n\n\n\nabc==\n"));

        assert_se(setenv("AZURE_STORAGE_KEY", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==", 1) == 0);
        _cleanup_(azure_credentials_freep) AzureCredentials *c = NULL;
        assert_se(azure_credentials_load("devstoreaccount1", &c) == 0 && c->key_size == 64);
        r.content_length = 512;
        _cleanup_free_ char *auth = azure_sign(&r, c);
        _cleanup_free_ char *py = test_output(
                "python3 -c 'import base64,hashlib,hmac,sys; k=base64.b64decode(sys.argv[1]); "
                "print(base64.b64encode(hmac.new(k, sys.argv[2].encode(), hashlib.sha256).digest()).decode())' "
                "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw== "
                "\"$(printf 'PUT\\n\\n\\n512\\nabc==\\n\\n\\n\\n\\n\\n\\n\\nx-ms-date:Mon, 30 Nov 2026 04:16:32 GMT\\nx-ms-range:bytes=0-511\\n"
                "x-ms-version:2021-08-06\\n/devstoreaccount1/devstoreaccount1/images/x\\ncomp:list\\nprefix:t/\\nrestype:container')\"",
                NULL);
        py[strcspn(py, "\n")] = 0;
        _cleanup_free_ char *want_auth = xasprintf("Authorization: SharedKey devstoreaccount1:%s", py);
        if (!streq(auth, want_auth)) {
                fprintf(stderr, "got:  %s\nwant: %s\n", auth, want_auth);
                assert_se(false);
        }

        /* A connection string for another account, and nothing at all, are errors. */
        assert_se(unsetenv("AZURE_STORAGE_KEY") == 0);
        assert_se(setenv("AZURE_STORAGE_CONNECTION_STRING", "DefaultEndpointsProtocol=http;AccountName=other;AccountKey=AAAA", 1) == 0);
        AzureCredentials *bad = NULL;
        assert_se(azure_credentials_load("devstoreaccount1", &bad) == -ENOKEY && !bad);
        assert_se(unsetenv("AZURE_STORAGE_CONNECTION_STRING") == 0);
        assert_se(azure_credentials_load("devstoreaccount1", &bad) == -ENOKEY && !bad);

        /* A SAS (its '?' dropped) is masked whole, and so is its signature alone, as written and
         * percent-decoded. */
        assert_se(setenv("AZURE_STORAGE_SAS_TOKEN", "?sv=2021-08-06&ss=b&sp=rl&sig=ab%2Bcd%2Fef%3D&spr=https", 1) == 0);
        AzureCredentials *sas = NULL;
        assert_se(azure_credentials_load("devstoreaccount1", &sas) == 0 && !sas->key);
        assert_se(streq(sas->sas, "sv=2021-08-06&ss=b&sp=rl&sig=ab%2Bcd%2Fef%3D&spr=https"));
        static const struct {
                const char *in, *out;
        } masked[] = {
                { "GET /c?comp=list&sv=2021-08-06&ss=b&sp=rl&sig=ab%2Bcd%2Fef%3D&spr=https: reset", "GET /c?comp=list&***: reset" },
                { "signature ab%2Bcd%2Fef%3D refused", "signature *** refused" },
                { "signature ab+cd/ef= refused", "signature *** refused" },
        };
        for (size_t i = 0; i < ELEMENTSOF(masked); i++) {
                _cleanup_free_ char *m = log_mask(masked[i].in);
                if (!streq(m, masked[i].out)) {
                        fprintf(stderr, "got:  %s\nwant: %s\n", m, masked[i].out);
                        assert_se(false);
                }
        }
        azure_credentials_free(sas);
        assert_se(unsetenv("AZURE_STORAGE_SAS_TOKEN") == 0);
        printf("ok\n");
        return 0;
}
