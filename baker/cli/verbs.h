#pragma once
/* The CLI's verb table: one verb-<name>.c per verb, each parsing its own options (getopt_long on
 * argv[0..argc), argv[0] being the verb name) and returning an Outcome exit code. */

typedef int (*VerbFunction)(int argc, char **argv);

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* positional arguments after the verb; -1 = any */
        VerbFunction fn;
        const char *summary;
        const char *usage; /* full help text for `baker help VERB` */
} Verb;

const Verb *verb_find(const char *name);
const Verb *verb_table(void);
/* Number of positional arguments left after getopt, checked against the table; prints usage. */
int verb_check_args(const char *name, int n_positional);

int verb_validate(int argc, char **argv);
int verb_plan(int argc, char **argv);
int verb_lock(int argc, char **argv);
int verb_diff(int argc, char **argv);
int verb_bake(int argc, char **argv);
int verb_verify(int argc, char **argv);
int verb_test(int argc, char **argv);
int verb_push(int argc, char **argv);
int verb_pull(int argc, char **argv);
int verb_promote(int argc, char **argv);
int verb_rollback(int argc, char **argv);
int verb_history(int argc, char **argv);
int verb_resolve(int argc, char **argv);
int verb_revoke(int argc, char **argv);
int verb_gc(int argc, char **argv);
int verb_login(int argc, char **argv);
int verb_cache(int argc, char **argv);
int verb_inspect(int argc, char **argv);
