/* gen-lines: the output workload's writer, run inside the container (linked statically, so it
 * needs nothing from the busybox rootfs).
 *
 *   gen-lines BYTES
 *
 * Writes BYTES/4096 lines of 4095 'x' and a newline to stdout, one write() per line: the "4 KiB
 * lines" of issue 4.  busybox `yes LINE | head -c N` does the same but costs ~1.4 cores by itself
 * at ~200 MiB/s on the bench machine, so it would measure the generator, not the supervisor. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
        unsigned long long n;
        char line[4096];

        if (argc != 2)
                return 2;
        n = strtoull(argv[1], NULL, 10) / sizeof(line);
        memset(line, 'x', sizeof(line) - 1);
        line[sizeof(line) - 1] = '\n';
        for (unsigned long long i = 0; i < n; i++) {
                size_t done = 0;

                while (done < sizeof(line)) {
                        ssize_t w = write(STDOUT_FILENO, line + done, sizeof(line) - done);

                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                return 1;
                        done += (size_t) w;
                }
        }
        return 0;
}
