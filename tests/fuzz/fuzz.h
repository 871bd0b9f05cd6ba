/* What the fuzz targets share. Each fuzz-*.c defines LLVMFuzzerTestOneInput(): linked with libFuzzer
 * (./configure CC=clang --enable-fuzzer) it is fuzzed; linked with fuzz-main.c it replays its corpus
 * tests/fuzz/corpus/<target>/ as a test of make check, with any compiler. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a crash: libFuzzer keeps the input that broke it as a reproducer. */
#define fuzz_check(cond)                                                                        \
        do {                                                                                    \
                if (!(cond)) {                                                                  \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,    \
                                #cond);                                                         \
                        abort();                                                                \
                }                                                                               \
        } while (0)

/* The input as a C string (it ends at the first NUL byte, as it would for the code under test). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        fuzz_check(s);
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

/* An exact-size heap copy of the first @size bytes: a read past them is a heap overflow that ASan
 * reports, which it would not be inside a longer input. */
static inline uint8_t *fuzz_memdup(const uint8_t *data, size_t size) {
        uint8_t *p = malloc(size > 0 ? size : 1);

        fuzz_check(p);
        if (size > 0)
                memcpy(p, data, size);
        return p;
}
