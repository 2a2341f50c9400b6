/* SigV4 against the four examples AWS documents for S3 ("Signature Calculations for the
 * Authorization Header: Transferring Payload in a Single Chunk", AmazonS3/latest/API/
 * sig-v4-header-based-auth.html): the expected signatures are AWS's, reproduced here. */
#include "s3-sigv4.h"
#include "strv.h"

#include "test-lib.h"

#define EXAMPLE_HOST "examplebucket.s3.amazonaws.com"
#define EXAMPLE_TIME ((time_t) 1369353600) /* 20130524T000000Z */

static const S3Credentials example_creds = {
        .access_key_id = (char *) "AKIAIOSFODNN7EXAMPLE",
        .secret_access_key = (char *) "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

typedef struct Example {
        const char *name, *method, *path, *query;
        const char *headers[3];
        const char *payload_sha256;
        const char *signed_headers, *signature;
} Example;

static const Example examples[] = {
        { "GET object with Range", "GET", "/test.txt", NULL, { "Range: bytes=0-9", NULL }, S3_EMPTY_SHA256,
          "host;range;x-amz-content-sha256;x-amz-date",
          "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41" },
        { "PUT object", "PUT", "/test%24file.text", NULL,
          { "Date: Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class: REDUCED_REDUNDANCY", NULL },
          "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
          "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
          "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd" },
        { "GET bucket lifecycle", "GET", "/", "lifecycle", { NULL }, S3_EMPTY_SHA256,
          "host;x-amz-content-sha256;x-amz-date",
          "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543" },
        /* The query in the wrong order: the canonical form sorts it. */
        { "GET bucket (list objects)", "GET", "/", "prefix=J&max-keys=2", { NULL }, S3_EMPTY_SHA256,
          "host;x-amz-content-sha256;x-amz-date",
          "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7" },
};

static void test_examples(void) {
        for (size_t i = 0; i < ELEMENTSOF(examples); i++) {
                const Example *e = examples + i;
                SigV4Request req = { .method = e->method, .host = EXAMPLE_HOST, .path = e->path, .query = e->query,
                                     .headers = e->headers, .payload_sha256 = e->payload_sha256, .region = "us-east-1",
                                     .service = "s3", .when = EXAMPLE_TIME };
                _cleanup_strv_free_ char **h = NULL;
                assert_se(sigv4_sign(&req, &example_creds, &h) == 0);
                _cleanup_free_ char *want = xasprintf(
                        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=%s, Signature=%s",
                        e->signed_headers, e->signature);
                if (!streq(h[0], want))
                        fprintf(stderr, "%s:\n got %s\nwant %s\n", e->name, h[0], want);
                assert_se(streq(h[0], want));
                assert_se(streq(h[1], "x-amz-date: 20130524T000000Z"));
                _cleanup_free_ char *sha = xasprintf("x-amz-content-sha256: %s", e->payload_sha256);
                assert_se(streq(h[2], sha));
                assert_se(!h[3]);
        }
}

/* AWS's canonical request for the GET example, byte for byte. */
static void test_canonical_request(void) {
        const char *headers[] = { "Range:   bytes=0-9  ", NULL };
        SigV4Request req = { .method = "GET", .host = EXAMPLE_HOST, .path = "/test.txt", .headers = headers,
                             .payload_sha256 = S3_EMPTY_SHA256, .region = "us-east-1", .service = "s3" };
        _cleanup_free_ char *signed_headers = NULL;
        _cleanup_free_ char *c = sigv4_canonical_request(&req, "20130524T000000Z", NULL, &signed_headers);
        assert_se(streq(c, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                           "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
                           "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
                           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

static void test_query_and_headers(void) {
        /* Encoded once, sorted by name then value, a bare name gets '='; repeated headers joined. */
        const char *headers[] = { "X-Meta-A: two", "x-meta-a: one  and   more", "Content-MD5: abc==", NULL };
        SigV4Request req = { .method = "POST", .host = "127.0.0.1:8080", .path = "/b/k",
                             .query = "uploads&b=%7e&a=2&a=1&sp ace=x%2fy", .headers = headers,
                             .payload_sha256 = S3_UNSIGNED_PAYLOAD, .region = "r", .service = "s3" };
        _cleanup_free_ char *sh = NULL;
        _cleanup_free_ char *c = sigv4_canonical_request(&req, "20200101T000000Z", "TOKEN", &sh);
        assert_se(streq(c, "POST\n/b/k\na=1&a=2&b=~&sp%20ace=x%2Fy&uploads=\n"
                           "content-md5:abc==\nhost:127.0.0.1:8080\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"
                           "x-amz-date:20200101T000000Z\nx-amz-security-token:TOKEN\nx-meta-a:two,one and more\n\n"
                           "content-md5;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-meta-a\n"
                           "UNSIGNED-PAYLOAD"));
}

static void test_uri_encode(void) {
        static const struct {
                const char *in;
                bool keep_slash;
                const char *out;
        } t[] = {
                { "images/web/blobs", true, "images/web/blobs" },
                { "images/web", false, "images%2Fweb" },
                { "a b+c$d~e_f.g-h", true, "a%20b%2Bc%24d~e_f.g-h" },
                { "\xc3\xa9", true, "%C3%A9" },
                { "", true, "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *o = s3_uri_encode(t[i].in, t[i].keep_slash);
                assert_se(streq(o, t[i].out));
        }
}

static void test_session_token(void) {
        S3Credentials c = example_creds;
        c.session_token = (char *) "FQoGZXIvYXdzEXAMPLE";
        SigV4Request req = { .method = "GET", .host = EXAMPLE_HOST, .path = "/test.txt",
                             .payload_sha256 = S3_EMPTY_SHA256, .region = "us-east-1", .service = "s3",
                             .when = EXAMPLE_TIME };
        _cleanup_strv_free_ char **h = NULL;
        assert_se(sigv4_sign(&req, &c, &h) == 0);
        assert_se(strstr(h[0], "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"));
        assert_se(streq(h[3], "x-amz-security-token: FQoGZXIvYXdzEXAMPLE"));
        for (size_t i = 0; h[i]; i++)
                assert_se(!strstr(h[i], c.secret_access_key));
}

int main(void) {
        test_examples();
        test_canonical_request();
        test_query_and_headers();
        test_uri_encode();
        test_session_token();
        return 0;
}
