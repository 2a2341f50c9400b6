/* Replays a fuzz corpus without libFuzzer: each file under the directories given is fed to
 * LLVMFuzzerTestOneInput once. Built for every fuzz target so CTest exercises it (under the
 * sanitizer build, this is where crashes show up). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
                perror(path);
                return -1;
        }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(n > 0 ? (size_t) n : 1);
        size_t got = fread(buf, 1, (size_t) n, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, got);
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        int files = 0;
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (replay_file(argv[i]) < 0)
                                return 1;
                        files++;
                        continue;
                }
                DIR *d = opendir(argv[i]);
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        char p[4096];
                        snprintf(p, sizeof p, "%s/%s", argv[i], de->d_name);
                        if (replay_file(p) < 0)
                                return 1;
                        files++;
                }
                if (d)
                        closedir(d);
        }
        printf("replayed %d inputs\n", files);
        return files > 0 ? 0 : 1;
}
