#pragma once
/* The output folder of a bake (outputs, manifest.json, console log) is one bake's at a time: it is
 * locked (flock on the directory) from before the finished-bake check until the bake has
 * published, so two bakes into one folder never mix their files, and a manifest always describes
 * the files beside it. Under the lock, what a killed bake left there (".NAME.*.tmp-XXXXXX" files
 * of its outputs and manifest) is removed: no live bake can own it. */

/* Locks dir (waiting, with a notice, while another bake holds it) and removes stale temporary
 * files of the outputs of name. Returns the descriptor that holds the lock (close it to unlock). */
int output_dir_lock(const char *dir, const char *name);
