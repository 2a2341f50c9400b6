/* Issue 13 item 7: which registries are talked to over plain http, and which URLs share an origin.
 * Plain http was chosen by name prefix, so "localhost.attacker.example" and
 * "127.0.0.1.attacker.example" got plain http (and the credentials with it). */
#include <assert.h>
#include <stdio.h>

#include "http.h"
#include "registry.h"

static bool plain(const char *ref) {
        RegistryRef *r = NULL;
        assert(registry_ref_parse(ref, &r) >= 0);
        bool p = r->plain_http;
        registry_ref_free(r);
        return p;
}

int main(void) {
        assert(plain("localhost:5000/x"));
        assert(plain("localhost/x:1"));
        assert(plain("127.0.0.1:5000/x"));
        assert(plain("127.3.4.5:5000/x"));
        assert(plain("[::1]:5000/x"));
        assert(!plain("localhost.attacker.example/x"));
        assert(!plain("localhost.attacker.example:5000/x"));
        assert(!plain("127.0.0.1.attacker.example/x"));
        assert(!plain("127.0.0.1.nip.io:5000/x"));
        assert(!plain("registry.example/x"));
        assert(plain("http://registry.example/x")); /* said explicitly */

        assert(http_host_is_loopback("localhost"));
        assert(http_host_is_loopback("LOCALHOST:80"));
        assert(http_host_is_loopback("127.255.0.1"));
        assert(http_host_is_loopback("::1"));
        assert(!http_host_is_loopback("localhostx"));
        assert(!http_host_is_loopback("128.0.0.1"));
        assert(!http_host_is_loopback("[::2]:80"));

        assert(http_url_same_origin("http://127.0.0.1:5000/v2/x", "http://127.0.0.1:5000"));
        assert(http_url_same_origin("HTTPS://Registry.Example/v2/", "https://registry.example:443/x"));
        assert(http_url_same_origin("http://u:p@h:80/a", "http://h/b"));
        assert(!http_url_same_origin("http://127.0.0.1:5000/x", "http://127.0.0.1:5001/x"));
        assert(!http_url_same_origin("http://h/x", "https://h/x"));
        assert(!http_url_same_origin("https://h.example/x", "https://h.example.evil/x"));
        assert(!http_url_same_origin("/relative", "http://h/"));

        assert(http_url_credentials_ok("https://registry.example/token"));
        assert(http_url_credentials_ok("http://127.0.0.1:9/token"));
        assert(!http_url_credentials_ok("http://registry.example/token"));
        assert(!http_url_credentials_ok("http://localhost.attacker.example/token"));
        http_add_insecure_host("registry.example");
        assert(http_url_credentials_ok("http://registry.example:8080/token"));
        assert(!http_url_credentials_ok("ftp://127.0.0.1/x"));
        printf("ok\n");
        return 0;
}
