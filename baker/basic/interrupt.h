#pragma once
/* Ctrl-C and kill during a bake: every temporary output or cache file that is being written is
 * registered here, and the SIGINT/SIGTERM handler unlinks them before exiting 130. Together with
 * write-then-rename this means an interrupted bake leaves nothing that looks finished, and the
 * cache's temp directories are reclaimed by the next run. */
#include <stdbool.h>

void interrupt_install(void);
/* Remembers a temp path (file, or directory removed with rm -rf) to remove if interrupted; the
 * string is copied. */
void interrupt_register(const char *path);
void interrupt_unregister(const char *path);
/* Whether SIGINT/SIGTERM arrived while handlers were deferred (e.g. child processes running). */
bool interrupt_pending(void);
