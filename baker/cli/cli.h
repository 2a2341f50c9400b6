#pragma once
/* Small pieces every registry verb shares: the --json and --insecure HOST options, and printing
 * one JSON document on stdout. */
#include <jansson.h>
#include <stdbool.h>

#define CLI_REGISTRY_OPTIONS                                  \
        { "json", no_argument, NULL, 'j' },                   \
        { "insecure", required_argument, NULL, 'k' }

/* Takes c if it is one of CLI_REGISTRY_OPTIONS: true when taken. */
bool cli_registry_option(int c, const char *arg, bool *json);
/* The whole option parse of a verb that takes only CLI_REGISTRY_OPTIONS, then its argument count
 * checked (verb_check_args): < 0 = usage error, already reported. */
int cli_parse_registry_verb(int argc, char **argv, bool *json);

/* The exit code for an error from the registry library: -EINVAL is a usage error (a bad
 * reference, tag or channel name), anything else a registry failure. */
int cli_registry_outcome(int r);

/* Prints o (indented, secrets masked) and a newline on stdout; consumes the reference. */
void cli_print_json(json_t *o);

/* The remote caches a verb uses (README, "A shared step cache in a registry"), per direction, the
 * first that gives them: the --cache-from/--cache-to options (*from, *to as parsed: NULL when none),
 * $BAKER_CACHE_FROM / $BAKER_CACHE_TO (references separated by blanks or commas; set but empty
 * means none), `cache:` in ./.baker.yaml, then in $XDG_CONFIG_HOME/baker/config.yaml. < 0 when a
 * configuration file has an error (reported). */
int cli_remote_caches(char ***from, char ***to);
