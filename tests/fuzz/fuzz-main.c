/* A plain main() for the fuzz targets, linked when they are not built for libFuzzer: it runs the
 * target once on every file named on the command line (every file in a named directory), or, with
 * none named, on the target's committed corpus $BERTH_SRCDIR/tests/fuzz/corpus/<target>/, which is
 * how make check runs it. A crash a fuzzer found is kept in that corpus, so every make check
 * replays it as a regression test, with gcc too.
 *
 * Each input is passed in a heap buffer of exactly its size, as libFuzzer does, so that ASan sees a
 * read past its end. Exit status: 0, or 1 when an input cannot be read or there is none. */

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "macro.h"

static int run_file(const char *path) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        struct stat st;

        f = fopen(path, "re");
        if (!f || fstat(fileno(f), &st) < 0) {
                fprintf(stderr, "cannot open '%s': %m\n", path);
                return -errno;
        }
        data = malloc(st.st_size > 0 ? (size_t) st.st_size : 1);
        if (!data)
                return -ENOMEM;
        if (st.st_size > 0 && fread(data, 1, (size_t) st.st_size, f) != (size_t) st.st_size) {
                fprintf(stderr, "cannot read '%s'\n", path);
                return -EIO;
        }
        (void) LLVMFuzzerTestOneInput(data, (size_t) st.st_size);
        return 1;
}

static int skip_dot(const struct dirent *d) {
        return d->d_name[0] != '.';
}

/* Runs every regular file in dir, in name order; returns how many, or -errno. */
static int run_dir(const char *dir) {
        struct dirent **entries = NULL;
        int n, count = 0, r = 0;

        n = scandir(dir, &entries, skip_dot, alphasort);
        if (n < 0) {
                fprintf(stderr, "cannot list '%s': %m\n", dir);
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (r >= 0 && asprintf(&path, "%s/%s", dir, entries[i]->d_name) < 0)
                        r = -ENOMEM;
                if (r >= 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        r = run_file(path);
                        count += r > 0;
                }
                free(entries[i]);
        }
        free(entries);
        return r < 0 ? r : count;
}

static int run_path(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "cannot stat '%s': %m\n", path);
                return -errno;
        }
        return S_ISDIR(st.st_mode) ? run_dir(path) : run_file(path);
}

/* tests/fuzz/corpus/<target> for a program called fuzz-<target>. */
static char *default_corpus(const char *argv0) {
        const char *srcdir = getenv("BERTH_SRCDIR"), *name = strrchr(argv0, '/');
        char *path;

        name = name ? name + 1 : argv0;
        if (strncmp(name, "lt-", 3) == 0)
                name += 3;
        if (strncmp(name, "fuzz-", 5) == 0)
                name += 5;
        if (!srcdir) {
                fprintf(stderr, "no input named and BERTH_SRCDIR is not set\n");
                return NULL;
        }
        if (asprintf(&path, "%s/tests/fuzz/corpus/%s", srcdir, name) < 0)
                return NULL;
        return path;
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *corpus = NULL;
        int total = 0;

        if (argc < 2) {
                corpus = default_corpus(argv[0]);
                if (!corpus)
                        return EXIT_FAILURE;
        }
        for (int i = 1; i < argc || (corpus && i == 1); i++) {
                int r = run_path(corpus ?: argv[i]);

                if (r < 0)
                        return EXIT_FAILURE;
                total += r;
        }
        if (total == 0) {
                fprintf(stderr, "no input to run\n");
                return EXIT_FAILURE;
        }
        printf("%s: %d input(s) ran\n", argv[0], total);
        return EXIT_SUCCESS;
}
