#pragma once
/* A live status line on a terminal: "[4/7] run provisioners/hello.sh  12s", redrawn twice a second
 * while a long operation runs, so a user sees which step is busy and for how long. Every line
 * logged meanwhile clears it first and redraws it after, so output never mixes with it. Nothing
 * at all happens when stderr is not a terminal (CI logs stay plain lines) or in --json mode. */

void progress_begin(const char *label);
void progress_end(void);
