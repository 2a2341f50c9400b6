/* Variables: precedence, undeclared and required ones, var files, single-pass substitution and
 * masking of sensitive values. */
#include <stdio.h>
#include <sys/stat.h>

#include "log.h"
#include "vars.h"
#include "test-lib.h"

static const char yaml[] =
        "baker: 1\nname: t\n"
        "variables:\n"
        "  a: { default: \"from-default\" }\n"
        "  b: { default: \"from-default\" }\n"
        "  c: { default: \"from-default\" }\n"
        "  d: { default: \"from-default\" }\n"
        "  token: { sensitive: true }\n"
        "  need: { required: true }\n"
        "  opt: {}\n"
        "disk:\n  size: 1GiB\n  partitions:\n    - { label: r, type: root, size: rest, fs: ext4, mount: / }\n";

static Template *parse(void) {
        Template *t = NULL;
        assert_se(template_parse_buffer("t.yaml", ".", yaml, strlen(yaml), NULL, &t) == 0);
        assert_se(t->n_errors == 0);
        return t;
}

static bool has_error(const Template *t, const char *needle) {
        for (size_t i = 0; i < t->n_errors; i++)
                if (strstr(t->errors[i].message, needle))
                        return true;
        return false;
}

/* The one scanner: every piece of a string, as "K:text" joined by '|'. */
static void check_pieces(const char *s, int want_r, const char *want) {
        char got[256] = "";
        const char *p = s;
        VarPiece piece;
        int r;
        while ((r = var_piece_next(&p, &piece)) > 0) {
                char one[64];
                if (piece.kind == VAR_PIECE_REF)
                        snprintf(one, sizeof one, "%sR:%.*s", *got ? "|" : "", (int) piece.name_len, piece.name);
                else
                        snprintf(one, sizeof one, "%s%c:%.*s", *got ? "|" : "", piece.kind == VAR_PIECE_TEXT ? 'T' : 'E',
                                 (int) piece.len, piece.start);
                strcat(got, one);
        }
        assert_se(r == want_r);
        assert_se(streq(got, want));
}

static void test_pieces(void) {
        check_pieces("", 0, "");
        check_pieces("plain", 0, "T:plain");
        check_pieces("a${var.x}b", 0, "T:a|R:x|T:b");
        check_pieces("$${var.x}", 0, "E:$${|T:var.x}");
        check_pieces("$$${var.x}", 0, "T:$|E:$${|T:var.x}");
        check_pieces("$x${var.a}${var.b}", 0, "T:$x|R:a|R:b");
        check_pieces("${HOME} ${var.", -EINVAL, "T:${HOME} ");
}

int main(void) {
        test_pieces();
        const char *dir = test_scratch();
        _cleanup_free_ char *file1 = path_join(dir, "one.vars"), *file2 = path_join(dir, "two.vars");
        const char *f1 = "# comment\n\nb = from-file1\nc=from-file1\nneed=x\ntoken=s3cret-value\n";
        const char *f2 = "c=from-file2=with-equals\n";
        assert_se(write_file_atomic(file1, f1, strlen(f1), 0600) == 0);
        assert_se(write_file_atomic(file2, f2, strlen(f2), 0600) == 0);

        /* precedence: --var > --var-file (later file wins) > BAKER_VAR_* > default */
        setenv("BAKER_VAR_a", "from-env", 1);
        setenv("BAKER_VAR_b", "from-env", 1);
        setenv("BAKER_VAR_d", "from-env", 1);
        const char *assign[] = { "d=from-cli", "d=from-cli-last", "opt=${var.a}" };
        const char *files[] = { file1, file2 };
        VarsSources src = { .assignments = assign, .n_assignments = 3, .files = files, .n_files = 2 };
        Template *t = parse();
        Vars *v = NULL;
        assert_se(vars_resolve(t, &src, &v) == 0);
        assert_se(streq(vars_find(v, "a")->value, "from-env") && vars_find(v, "a")->source == VAR_SOURCE_ENVIRONMENT);
        assert_se(streq(vars_find(v, "b")->value, "from-file1") && vars_find(v, "b")->source == VAR_SOURCE_FILE);
        assert_se(streq(vars_find(v, "c")->value, "from-file2=with-equals"));
        assert_se(streq(vars_find(v, "d")->value, "from-cli-last") && vars_find(v, "d")->source == VAR_SOURCE_COMMAND_LINE);
        assert_se(vars_find(v, "token")->sensitive);

        /* single pass: a value holding "${var.a}" is inserted as is */
        char *s = NULL;
        assert_se(vars_substitute(v, "[${var.opt}]", VARS_SUBSTITUTE_ALL, &s) == 0);
        assert_se(streq(s, "[${var.a}]"));
        free(s);
        /* sensitive: real, kept as reference, or masked; "$${" escapes; shell "${X}" untouched */
        assert_se(vars_substitute(v, "t=${var.token} ${HOME} $${var.a}", VARS_SUBSTITUTE_ALL, &s) == 0);
        assert_se(streq(s, "t=s3cret-value ${HOME} ${var.a}"));
        free(s);
        assert_se(vars_substitute(v, "t=${var.token} $${var.a}", VARS_SUBSTITUTE_PUBLIC, &s) == 0);
        assert_se(streq(s, "t=${var.token} $${var.a}"));
        free(s);
        assert_se(vars_substitute(v, "t=${var.token}", VARS_SUBSTITUTE_MASKED, &s) == 0);
        assert_se(streq(s, "t=***"));
        free(s);
        assert_se(vars_substitute(v, "${var.nope}", VARS_SUBSTITUTE_ALL, &s) == -EINVAL);
        assert_se(vars_substitute(v, "${var.a", VARS_SUBSTITUTE_ALL, &s) == -EINVAL);
        /* the secret was registered for masking */
        s = log_mask("value is s3cret-value!");
        assert_se(streq(s, "value is ***!"));
        free(s);
        vars_free(v);
        template_free(t);

        /* errors: undeclared --var (with suggestion), undeclared in file (with position), missing
         * file, required unset; env only warns */
        setenv("BAKER_VAR_unknown", "x", 1);
        const char *f3 = "a=1\nbogus line\ntokn=2\n";
        _cleanup_free_ char *file3 = path_join(dir, "three.vars"), *missing = path_join(dir, "missing.vars");
        assert_se(write_file_atomic(file3, f3, strlen(f3), 0600) == 0);
        const char *assign2[] = { "tokne=1", "novalue" };
        const char *files2[] = { file3, missing };
        VarsSources bad = { .assignments = assign2, .n_assignments = 2, .files = files2, .n_files = 2 };
        t = parse();
        v = NULL;
        assert_se(vars_resolve(t, &bad, &v) == -EINVAL && !v);
        for (size_t i = 0; i < t->n_errors; i++)
                fprintf(stderr, "  %s:%u %s\n", t->errors[i].pos.file, t->errors[i].pos.line, t->errors[i].message);
        assert_se(has_error(t, "--var sets undeclared variable 'tokne'; did you mean 'token'?"));
        assert_se(has_error(t, "--var expects NAME=VALUE"));
        assert_se(has_error(t, "expected NAME=VALUE"));
        assert_se(has_error(t, "variable file sets undeclared variable 'tokn'"));
        assert_se(has_error(t, "cannot read variable file: No such file or directory"));
        assert_se(has_error(t, "variable 'need' is required"));
        assert_se(t->n_errors == 6);
        template_free(t);

        /* not UTF-8 text */
        const char *assign3[] = { "need=\xff\xfe" };
        VarsSources bin = { .assignments = assign3, .n_assignments = 1, .no_environment = true };
        t = parse();
        assert_se(vars_resolve(t, &bin, &v) == -EINVAL);
        assert_se(has_error(t, "not UTF-8 text"));
        template_free(t);

        log_clear_secrets();
        printf("ok\n");
        return 0;
}
