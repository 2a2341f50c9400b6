/* fetch and http against a real HTTP server (tests/integration/http-server.py) on 127.0.0.1:
 * download and cache hit with the server gone, 404 and unreachable messages, pin mismatch,
 * retries on 503 and 429 (Retry-After), resume after a cut connection, redirects, and the raw
 * http_request() interface the registry client uses. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fetch.h"
#include "http.h"
#include "log.h"
#include "test-lib.h"

static const char *scratch;
static char *srv_root, *srv_log;
static pid_t server_pid;
static int port;

static void stop_server(void) {
        if (server_pid > 0) {
                kill(server_pid, SIGTERM);
                waitpid(server_pid, NULL, 0);
                server_pid = 0;
        }
}

static void start_server(void) {
        _cleanup_free_ char *portfile = path_join(scratch, "port");
        server_pid = fork();
        assert_se(server_pid >= 0);
        if (server_pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM); /* gone with us, even after a failed assert */
                execlp("python3", "python3", TESTS_DIR "/integration/http-server.py", "--root", srv_root,
                       "--port-file", portfile, "--log", srv_log, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 200; i++) {
                char *data;
                if (read_full_file(portfile, &data, NULL) >= 0) {
                        port = atoi(data);
                        free(data);
                        return;
                }
                usleep(50000);
        }
        fprintf(stderr, "http server did not start\n");
        stop_server();
        exit(1);
}

/* stderr captured into a file while a call runs, to check what the user would read. */
static int saved_stderr = -1;
static char *capture_path;
static void capture_begin(void) {
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        int fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_se(fd >= 0);
        dup2(fd, STDERR_FILENO);
        close(fd);
}
static char *capture_end(void) {
        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        char *data;
        assert_se(read_full_file(capture_path, &data, NULL) == 0);
        fprintf(stderr, "%s", data); /* visible in the test log too */
        return data;
}

static char *url(const char *path) {
        return xasprintf("http://127.0.0.1:%d%s", port, path);
}

static size_t log_count(const char *needle) {
        char *data;
        if (read_full_file(srv_log, &data, NULL) < 0)
                return 0;
        size_t n = 0;
        for (const char *p = data; (p = strstr(p, needle)); p++)
                n++;
        free(data);
        return n;
}

static void make_file(const char *name, size_t size, unsigned seed, uint8_t ret[DIGEST_SIZE]) {
        char *data = xmalloc(size);
        for (size_t i = 0; i < size; i++) {
                seed = seed * 1103515245u + 12345u;
                data[i] = (char) (seed >> 16);
        }
        _cleanup_free_ char *p = path_join(srv_root, name);
        assert_se(write_file_atomic(p, data, size, 0644) == 0);
        digest_buffer(data, size, ret);
        free(data);
}

static void check_blob(const char *path, const uint8_t want[DIGEST_SIZE]) {
        uint8_t d[DIGEST_SIZE];
        assert_se(digest_file(path, d, NULL) == 0);
        assert_se(memcmp(d, want, DIGEST_SIZE) == 0);
}

int main(void) {
        if (!test_have("python3"))
                test_skip("python3 missing");
        /* Quick backoff; Retry-After still decides where the server sends it. */
        setenv("BAKER_HTTP_BACKOFF_MS", "50", 1);
        scratch = test_scratch();
        srv_root = path_join(scratch, "www");
        srv_log = path_join(scratch, "requests.log");
        capture_path = path_join(scratch, "stderr");
        _cleanup_free_ char *cachedir = path_join(scratch, "cache");
        assert_se(mkdir_p(srv_root, 0755) == 0);

        uint8_t d_big[DIGEST_SIZE], d_other[DIGEST_SIZE], d_small[DIGEST_SIZE], d, wrong[DIGEST_SIZE];
        (void) d;
        make_file("big", 3 * 1024 * 1024 + 17, 1, d_big);
        make_file("other", 100000, 2, d_other);
        make_file("small", 5000, 3, d_small);
        memset(wrong, 0xab, sizeof wrong);
        start_server();

        _cleanup_(cache_freep) Cache *c = NULL;
        assert_se(cache_open(cachedir, &c) == 0);
        uint8_t got[DIGEST_SIZE];

        /* Download, pinned. */
        {
                _cleanup_free_ char *u = url("/files/big"), *p = NULL;
                assert_se(fetch_url(c, u, d_big, &p, got) == 0);
                assert_se(memcmp(got, d_big, DIGEST_SIZE) == 0);
                check_blob(p, d_big);
                assert_se(log_count("GET /files/big") == 1);
        }
        /* Redirect followed. */
        {
                _cleanup_free_ char *u = url("/redirect/small"), *p = NULL;
                assert_se(fetch_url(c, u, d_small, &p, got) == 0);
                check_blob(p, d_small);
                assert_se(log_count("GET /redirect/small") == 1 && log_count("GET /files/small") == 1);
        }
        /* 404: message names method, URL and status; nothing stored. */
        {
                _cleanup_free_ char *u = url("/status/404/nothing"), *p = NULL;
                capture_begin();
                int r = fetch_url(c, u, NULL, &p, got);
                _cleanup_free_ char *err = capture_end();
                assert_se(r == -ENOENT);
                _cleanup_free_ char *want = xasprintf("GET %s: status 404 Not Found", u);
                assert_se(strstr(err, want));
        }
        /* Unreachable: URL and curl's reason (after retries, which are quick here). */
        {
                _cleanup_free_ char *u = xasprintf("http://127.0.0.1:1/input.tar"), *p = NULL;
                capture_begin();
                int r = fetch_url(c, u, d_other, &p, got);
                _cleanup_free_ char *err = capture_end();
                assert_se(r == -ECONNREFUSED);
                assert_se(strstr(err, "GET http://127.0.0.1:1/input.tar: "));
                assert_se(strstr(err, "onnect"));
        }
        /* A name that does not resolve: retried like a refused connection (curl cannot tell a
         * missing name from a DNS server's passing failure), then the URL and curl's reason. */
        {
                _cleanup_free_ char *u = xstrdup("http://baker-test.invalid/input.tar"), *p = NULL;
                log_set_max_level(LOG_LEVEL_INFO);
                capture_begin();
                int r = fetch_url(c, u, d_other, &p, got);
                _cleanup_free_ char *err = capture_end();
                log_set_max_level(LOG_LEVEL_NOTICE);
                assert_se(r == -EHOSTUNREACH);
                assert_se(strstr(err, "GET http://baker-test.invalid/input.tar: could not resolve host"));
                assert_se(strstr(err, "retrying (attempt 5 of 5)"));
        }
        /* Userinfo never printed, password masked. */
        {
                _cleanup_free_ char *u = xasprintf("http://alice:s3cretpw@127.0.0.1:%d/status/404/x", port), *p = NULL;
                capture_begin();
                int r = fetch_url(c, u, NULL, &p, got);
                _cleanup_free_ char *err = capture_end();
                assert_se(r == -ENOENT);
                assert_se(!strstr(err, "s3cretpw") && !strstr(err, "alice"));
                assert_se(strstr(err, "/status/404/x: status 404"));
        }
        /* Pin mismatch: expected and actual named, nothing stored (no blob, no partial). */
        {
                _cleanup_free_ char *u = url("/files/other"), *p = NULL;
                capture_begin();
                int r = fetch_url(c, u, wrong, &p, got);
                _cleanup_free_ char *err = capture_end();
                assert_se(r == -EBADMSG);
                char e[DIGEST_STRING_MAX], a[DIGEST_STRING_MAX];
                digest_to_string(wrong, e);
                digest_to_string(d_other, a);
                _cleanup_free_ char *want = xasprintf("%s: sha256 mismatch: expected %s, got %s", u, e, a);
                assert_se(strstr(err, want));
                assert_se(!cache_blob_exists(c, d_other));
                _cleanup_free_ char *partial = path_join(cachedir, "partial");
                assert_se(test_count_entries(partial, false) == 0);
        }
        /* Retries: 503 twice then the file; 429 with Retry-After: 1 is honoured. */
        {
                _cleanup_free_ char *u = url("/flaky/503/2/other"), *p = NULL;
                assert_se(fetch_url(c, u, NULL, &p, got) == 0);
                assert_se(memcmp(got, d_other, DIGEST_SIZE) == 0);
                assert_se(log_count("GET /flaky/503/2/other") == 3);
        }
        {
                _cleanup_free_ char *u = url("/flaky/429/1/small"), *p = NULL;
                double t0 = test_now();
                assert_se(fetch_url(c, u, NULL, &p, got) == 0);
                double secs = test_now() - t0;
                assert_se(memcmp(got, d_small, DIGEST_SIZE) == 0);
                assert_se(log_count("GET /flaky/429/1/small") == 2);
                assert_se(secs >= 0.9);
        }
        /* A 500 that never heals: the final status is reported after the attempts. */
        {
                _cleanup_free_ char *u = url("/status/500/x"), *p = NULL;
                capture_begin();
                int r = fetch_url(c, u, NULL, &p, got);
                _cleanup_free_ char *err = capture_end();
                assert_se(r == -EIO && strstr(err, "status 500 Internal Server Error"));
                assert_se(log_count("GET /status/500/x") == 5);
        }
        /* Resume: the connection is cut after 1 MB; the second request asks for the rest. */
        {
                uint8_t d_cut[DIGEST_SIZE];
                make_file("cutme", 2 * 1024 * 1024 + 5, 4, d_cut);
                _cleanup_free_ char *u = url("/cut/1000000/cutme"), *p = NULL;
                assert_se(fetch_url(c, u, d_cut, &p, got) == 0);
                check_blob(p, d_cut);
                assert_se(log_count("GET /cut/1000000/cutme") == 2);
                assert_se(log_count("GET /cut/1000000/cutme bytes=1000000-") == 1);
        }
        /* Cut, and the server then ignores Range: the download restarts from zero. */
        {
                uint8_t d_nr[DIGEST_SIZE];
                make_file("norange", 300000, 5, d_nr);
                _cleanup_free_ char *u = url("/cutnorange/100000/norange"), *p = NULL;
                assert_se(fetch_url(c, u, d_nr, &p, got) == 0);
                check_blob(p, d_nr);
                assert_se(log_count("GET /cutnorange/100000/norange bytes=100000-") == 1);
        }

        /* The raw interface: no-follow sees the 302 and its Location (any case); HEAD 404 is an
         * answer, not an error; an in-memory body is capped. */
        {
                _cleanup_free_ char *u = url("/redirect/small");
                HttpRequest req = { .method = "GET", .url = u };
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                assert_se(http_request(&req, &resp) == 0);
                assert_se(http_response_status(resp) == 302);
                assert_se(streq(http_response_header(resp, "location"), "/files/small"));
                assert_se(streq(http_response_header(resp, "LOCATION"), "/files/small"));
                assert_se(!http_response_header(resp, "Docker-Content-Digest"));
        }
        {
                _cleanup_free_ char *u = url("/status/404/blob");
                HttpRequest req = { .method = "HEAD", .url = u };
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                assert_se(http_request(&req, &resp) == 0);
                assert_se(http_response_status(resp) == 404);
                assert_se(streq(http_response_reason(resp), "Not Found"));
        }
        {
                _cleanup_free_ char *u = url("/files/small");
                HttpRequest req = { .url = u };
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                assert_se(http_request(&req, &resp) == 0);
                size_t n;
                http_response_body(resp, &n);
                assert_se(n == 5000);
                assert_se(streq(http_response_header(resp, "content-length"), "5000"));
                HttpRequest capped = { .url = u, .max_body = 1000, .flags = HTTP_QUIET };
                _cleanup_(http_response_freep) HttpResponse *r2 = NULL;
                assert_se(http_request(&capped, &r2) == -EFBIG);
        }
        {
                _cleanup_free_ char *u = url("/flaky/503/9/small");
                HttpRequest req = { .method = "POST", .url = u, .body_kind = HTTP_BODY_MEMORY, .body = "x", .body_size = 1 };
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                /* POST is not idempotent: exactly one attempt, the 503 is the answer. (The test
                 * server answers POST with 501, which proves the same.) */
                assert_se(http_request(&req, &resp) == 0);
                assert_se(http_response_status(resp) >= 500);
                assert_se(log_count("/flaky/503/9/small") <= 1);
        }
        {
                _cleanup_free_ char *shown = http_url_display("https://u:p@h.example/x?y=1");
                assert_se(streq(shown, "https://h.example/x?y=1"));
        }

        /* A second bake: a new Cache, the server gone, no network needed. */
        stop_server();
        cache_free(TAKE_PTR(c));
        assert_se(cache_open(cachedir, &c) == 0);
        {
                _cleanup_free_ char *u = url("/files/big"), *p = NULL;
                assert_se(fetch_url(c, u, d_big, &p, got) == 0);
                check_blob(p, d_big);
        }

        /* Files: pinned, mismatch, hit. */
        {
                _cleanup_free_ char *f = path_join(srv_root, "other"), *p = NULL;
                capture_begin();
                int r = fetch_file(c, f, wrong, &p, got);
                _cleanup_free_ char *err = capture_end();
                assert_se(r == -EBADMSG && strstr(err, "sha256 mismatch"));
                assert_se(fetch_file(c, f, d_other, &p, got) == 0);
                check_blob(p, d_other);
                free(p);
                p = NULL;
                assert_se(fetch_file(c, f, NULL, &p, got) == 0 && memcmp(got, d_other, DIGEST_SIZE) == 0);
        }
        cache_free(TAKE_PTR(c));
        printf("ok\n");
        return 0;
}
