/* baker login HOST --username USER: stores credentials for a registry. The password is read from
 * stdin (never the command line, where other users and shell history would see it). */
#include <getopt.h>

#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "verbs.h"

int verb_login(int argc, char **argv) {
        static const struct option options[] = {
                { "username", required_argument, NULL, 'u' },
                {},
        };
        const char *user = NULL;
        int c, k;

        while ((c = getopt_long(argc, argv, "u:", options, NULL)) >= 0)
                switch (c) {
                case 'u':
                        user = optarg;
                        break;
                default:
                        return OUTCOME_USAGE;
                }
        if (verb_check_args(argv[0], argc - optind) < 0)
                return OUTCOME_USAGE;
        const char *host = argv[optind];
        if (!user || !*user || strchr(user, ':')) {
                log_error("login needs --username USER (without ':')");
                return OUTCOME_USAGE;
        }
        if (isatty(STDIN_FILENO))
                fprintf(stderr, "password for %s@%s: ", user, host);
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (n <= 0) {
                free(line);
                log_error("no password on stdin");
                return OUTCOME_USAGE;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = 0;
        log_add_secret(line);
        k = registry_credentials_store(host, user, line);
        explicit_bzero(line, cap);
        free(line);
        if (k < 0)
                return OUTCOME_INTERNAL;
        _cleanup_free_ char *path = registry_auth_file_path();
        printf("credentials for %s stored in %s\n", host, path);
        return OUTCOME_OK;
}
