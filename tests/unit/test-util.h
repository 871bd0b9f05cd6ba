/* Helpers shared by the Check unit tests: a private temporary directory per test, and main(). */
#pragma once

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "macro.h"
#include "path-util.h"

static inline char *tmpdir_new(void) {
        const char *base = getenv("TMPDIR") ?: "/tmp";
        char *t = NULL;

        ck_assert_int_ge(asprintf(&t, "%s/berth-test-XXXXXX", base), 0);
        ck_assert_ptr_nonnull(mkdtemp(t));
        return t;
}

static inline void tmpdir_free(char **t) {
        if (*t) {
                ck_assert_int_eq(rm_rf_at(AT_FDCWD, *t), 0);
                ck_assert_int_eq(access(*t, F_OK), -1);
                free(*t);
        }
}

#define _cleanup_tmpdir_ _cleanup_(tmpdir_free)

static inline int open_dir(const char *p) {
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        return fd;
}

/* Runs one suite as the whole test program; the exit status tells automake how it went. */
static inline int test_run_suite(Suite *s) {
        SRunner *sr = srunner_create(s);
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
