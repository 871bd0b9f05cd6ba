/* Unit tests for common/atomic-file.c: atomic replacement, modes, no temp files left behind, the
 * size limit of read_full_file_at(), and reserved files: their size, a commit that needs no new fd,
 * a commit retried after a failure, and a commit of more than was reserved. */

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-file.h"
#include "macro.h"
#include "path-util.h"
#include "test-util.h"

/* Number of entries in a directory other than "." and "..". */
static unsigned count_entries(const char *p) {
        _cleanup_closedir_ DIR *d = opendir(p);
        struct dirent *de;
        unsigned n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        return n;
}

static void write_plain(int dirfd, const char *name, const char *s) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t) strlen(s));
        close(fd);
}

START_TEST(test_atomic_write_creates_file) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        struct stat st;

        ck_assert_int_eq(write_file_atomic_at(dfd, "a", "hello\n", 6, 0640), 0);
        ck_assert_int_eq(fstatat(dfd, "a", &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0640);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(read_full_file_at(dfd, "a", 0, &buf, &size), 0);
        ck_assert_uint_eq(size, 6);
        ck_assert_str_eq(buf, "hello\n");
        ck_assert_uint_eq(count_entries(t), 1);
}
END_TEST

START_TEST(test_atomic_write_replaces_target) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_free_ char *buf = NULL;
        struct stat before, after;
        int keep;

        write_plain(dfd, "target", "old contents that are longer\n");
        ck_assert_int_eq(fstatat(dfd, "target", &before, 0), 0);

        /* A reader holding the old file keeps seeing the old contents: the file is replaced, not
         * rewritten in place. */
        keep = openat(dfd, "target", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(keep, 0);

        ck_assert_int_eq(write_file_atomic_at(dfd, "target", "new", 3, 0600), 0);
        ck_assert_int_eq(fstatat(dfd, "target", &after, 0), 0);
        ck_assert_uint_ne(before.st_ino, after.st_ino);
        ck_assert_uint_eq(after.st_mode & 07777, 0600);
        ck_assert_int_eq(after.st_size, 3);

        ck_assert_int_eq(read_full_file_at(dfd, "target", 0, &buf, NULL), 0);
        ck_assert_str_eq(buf, "new");
        {
                char old[64] = {};
                ck_assert_int_gt(read(keep, old, sizeof(old) - 1), 0);
                ck_assert_str_eq(old, "old contents that are longer\n");
        }
        close(keep);

        /* No temporary file is left behind. */
        ck_assert_uint_eq(count_entries(t), 1);
}
END_TEST

START_TEST(test_atomic_write_no_sync_replaces_target) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_free_ char *buf = NULL;
        struct stat before, after;

        write_plain(dfd, "pid", "1\n");
        ck_assert_int_eq(fstatat(dfd, "pid", &before, 0), 0);
        ck_assert_int_eq(write_file_atomic_at_full(dfd, "pid", "42\n", 3, 0644, ATOMIC_FILE_NO_SYNC), 0);
        ck_assert_int_eq(fstatat(dfd, "pid", &after, 0), 0);
        ck_assert_uint_ne(before.st_ino, after.st_ino);
        ck_assert_uint_eq(after.st_mode & 07777, 0644);
        ck_assert_int_eq(read_full_file_at(dfd, "pid", 0, &buf, NULL), 0);
        ck_assert_str_eq(buf, "42\n");
        ck_assert_uint_eq(count_entries(t), 1);
}
END_TEST

START_TEST(test_atomic_write_mode_ignores_umask) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        mode_t old = umask(0077);
        struct stat st;

        ck_assert_int_eq(write_file_atomic_at(dfd, "pub", "x", 1, 0644), 0);
        ck_assert_int_eq(write_file_atomic_at(dfd, "priv", "x", 1, 0600), 0);
        ck_assert_int_eq(write_file_atomic_at(dfd, "exe", "x", 1, 0755), 0);
        umask(old);

        ck_assert_int_eq(fstatat(dfd, "pub", &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_int_eq(fstatat(dfd, "priv", &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(fstatat(dfd, "exe", &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0755);
        ck_assert_uint_eq(count_entries(t), 3);
}
END_TEST

START_TEST(test_atomic_write_empty_and_binary) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_free_ char *buf = NULL;
        const char bin[] = { 'a', '\0', 'b', '\n', '\0' };
        size_t size = 99;

        ck_assert_int_eq(write_file_atomic_at(dfd, "empty", NULL, 0, 0644), 0);
        ck_assert_int_eq(read_full_file_at(dfd, "empty", 0, &buf, &size), 0);
        ck_assert_uint_eq(size, 0);
        ck_assert_str_eq(buf, "");
        free(TAKE_PTR(buf));

        ck_assert_int_eq(write_file_atomic_at(dfd, "bin", bin, sizeof(bin), 0644), 0);
        ck_assert_int_eq(read_full_file_at(dfd, "bin", 0, &buf, &size), 0);
        ck_assert_uint_eq(size, sizeof(bin));
        ck_assert_mem_eq(buf, bin, sizeof(bin));
        ck_assert_int_eq(buf[size], '\0');
}
END_TEST

START_TEST(test_atomic_write_subdir_and_cwd) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_free_ char *line = NULL, *abs = NULL;

        ck_assert_int_eq(mkdirat(dfd, "sub", 0755), 0);
        ck_assert_int_eq(write_file_atomic_at(dfd, "sub/f", "1\n", 2, 0644), 0);
        ck_assert_int_eq(read_one_line_at(dfd, "sub/f", &line), 0);
        ck_assert_str_eq(line, "1");
        ck_assert_uint_eq(count_entries(t), 1);
        free(TAKE_PTR(line));

        ck_assert_int_ge(asprintf(&abs, "%s/g", t), 0);
        ck_assert_int_eq(write_file_atomic_at(AT_FDCWD, abs, "2\n", 2, 0644), 0);
        ck_assert_int_eq(read_one_line_at(AT_FDCWD, abs, &line), 0);
        ck_assert_str_eq(line, "2");

        ck_assert_int_eq(write_file_atomic_at(dfd, "missing/f", "x", 1, 0644), -ENOENT);
        ck_assert_int_eq(write_file_atomic_at(dfd, "sub/", "x", 1, 0644), -EINVAL);
}
END_TEST

START_TEST(test_atomic_write_failure_leaves_no_temp) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        struct stat st;

        /* rename() of a file over a non-empty directory fails: the target stays, the temp goes. */
        ck_assert_int_eq(mkdirat(dfd, "target", 0755), 0);
        write_plain(dfd, "target/inside", "x");
        ck_assert_int_lt(write_file_atomic_at(dfd, "target", "data", 4, 0644), 0);
        ck_assert_int_eq(fstatat(dfd, "target", &st, 0), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_uint_eq(count_entries(t), 1);
}
END_TEST

START_TEST(test_read_full_file_efbig) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_free_ char *buf = NULL, *big = NULL;
        size_t size;

        big = malloc(100000);
        ck_assert_ptr_nonnull(big);
        memset(big, 'x', 100000);
        ck_assert_int_eq(write_file_atomic_at(dfd, "big", big, 100000, 0644), 0);

        ck_assert_int_eq(read_full_file_at(dfd, "big", 99999, &buf, &size), -EFBIG);
        ck_assert_ptr_null(buf);
        ck_assert_int_eq(read_full_file_at(dfd, "big", 100000, &buf, &size), 0);
        ck_assert_uint_eq(size, 100000);
        ck_assert_mem_eq(buf, big, 100000);
        ck_assert_int_eq(buf[100000], '\0');
        free(TAKE_PTR(buf));

        /* Files that report no size (proc) are limited while reading. */
        ck_assert_int_eq(read_full_file_at(AT_FDCWD, "/proc/self/status", 16, &buf, &size), -EFBIG);
        ck_assert_int_eq(read_full_file_at(AT_FDCWD, "/proc/self/status", 0, &buf, &size), 0);
        ck_assert_uint_gt(size, 16);
        ck_assert_uint_eq(strlen(buf), size);
}
END_TEST

START_TEST(test_read_full_file_errors) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        char *buf = NULL;

        ck_assert_int_eq(read_full_file_at(dfd, "missing", 0, &buf, NULL), -ENOENT);
        ck_assert_int_eq(mkdirat(dfd, "dir", 0755), 0);
        ck_assert_int_eq(read_full_file_at(dfd, "dir", 0, &buf, NULL), -EISDIR);
        ck_assert_int_eq(read_one_line_at(dfd, "missing", &buf), -ENOENT);
        ck_assert_ptr_null(buf);
}
END_TEST

START_TEST(test_read_one_line) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        static const struct {
                const char *contents, *line;
        } cases[] = {
                { "123\n", "123" },
                { "abc", "abc" },
                { "first\nsecond\n", "first" },
                { "\n", "" },
                { "", "" },
                { "with space \n", "with space " },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *line = NULL;

                ck_assert_int_eq(write_file_atomic_at(dfd, "f", cases[i].contents, strlen(cases[i].contents),
                                                      0644), 0);
                ck_assert_int_eq(read_one_line_at(dfd, "f", &line), 0);
                ck_assert_str_eq(line, cases[i].line);
        }
}
END_TEST

/* --- reserved files -------------------------------------------------------------------------- */

START_TEST(test_reserved_file_reserves_and_commits) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_free_ char *buf = NULL;
        ReservedFile f = RESERVED_FILE_NULL;
        size_t size;
        struct stat st;

        ck_assert_int_eq(reserved_file_open_at(dfd, "r.reserved", 5000, 0640, &f), 0);
        ck_assert_int_ge(f.fd, 0);
        ck_assert(!reserved_file_is_committed(&f));
        ck_assert_int_eq(fstatat(dfd, "r.reserved", &st, 0), 0);
        ck_assert_int_eq(st.st_size, 5000);
        ck_assert_uint_eq(st.st_mode & 07777, 0640);
        ck_assert_int_eq(faccessat(dfd, "r", F_OK, 0), -1);

        ck_assert_int_eq(reserved_file_commit_at(&f, dfd, "r.reserved", "r", "record\n", 7), 0);
        ck_assert(reserved_file_is_committed(&f));
        ck_assert_int_lt(f.fd, 0);
        ck_assert_int_eq(read_full_file_at(dfd, "r", 0, &buf, &size), 0);
        ck_assert_uint_eq(size, 7);
        ck_assert_str_eq(buf, "record\n");
        ck_assert_int_eq(fstatat(dfd, "r", &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0640);
        ck_assert_uint_eq(count_entries(t), 1);

        /* Spent. */
        ck_assert_int_eq(reserved_file_commit_at(&f, dfd, "r.reserved", "r", "x", 1), -EBADF);
        reserved_file_done(&f);
}
END_TEST

START_TEST(test_reserved_file_commit_needs_no_fd) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_free_ char *buf = NULL;
        ReservedFile f = RESERVED_FILE_NULL;
        struct rlimit old, none;
        int r;

        ck_assert_int_eq(reserved_file_open_at(dfd, "r.reserved", 256, 0644, &f), 0);
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
        none = (struct rlimit) { .rlim_cur = 3, .rlim_max = old.rlim_max };
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &none), 0);
        ck_assert_int_eq(open("/dev/null", O_RDONLY | O_CLOEXEC), -1);
        r = reserved_file_commit_at(&f, dfd, "r.reserved", "r", "done\n", 5);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(read_full_file_at(dfd, "r", 0, &buf, NULL), 0);
        ck_assert_str_eq(buf, "done\n");
}
END_TEST

START_TEST(test_reserved_file_commit_retried) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_free_ char *buf = NULL;
        ReservedFile f = RESERVED_FILE_NULL;

        ck_assert_int_eq(reserved_file_open_at(dfd, "r.reserved", 64, 0644, &f), 0);
        /* More than was reserved. */
        ck_assert_int_eq(reserved_file_commit_at(&f, dfd, "r.reserved", "r", NULL, 1), -EINVAL);
        {
                char big[65] = {};
                ck_assert_int_eq(reserved_file_commit_at(&f, dfd, "r.reserved", "r", big, sizeof(big)), -EFBIG);
        }
        /* A directory is in the way: nothing changes, and it works once the way is clear. */
        ck_assert_int_eq(mkdirat(dfd, "r", 0700), 0);
        ck_assert_int_lt(reserved_file_commit_at(&f, dfd, "r.reserved", "r", "late\n", 5), 0);
        ck_assert(!reserved_file_is_committed(&f));
        ck_assert_int_ge(f.fd, 0);
        ck_assert_int_eq(faccessat(dfd, "r.reserved", F_OK, 0), 0);
        ck_assert_int_eq(unlinkat(dfd, "r", AT_REMOVEDIR), 0);
        ck_assert_int_eq(reserved_file_commit_at(&f, dfd, "r.reserved", "r", "late\n", 5), 0);
        ck_assert_int_eq(read_full_file_at(dfd, "r", 0, &buf, NULL), 0);
        ck_assert_str_eq(buf, "late\n");
        ck_assert_uint_eq(count_entries(t), 1);
}
END_TEST

START_TEST(test_reserved_file_errors) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        ReservedFile f = RESERVED_FILE_NULL;

        ck_assert_int_eq(reserved_file_open_at(dfd, "r", 0, 0644, &f), -EINVAL);
        ck_assert_int_eq(reserved_file_open_at(dfd, NULL, 1, 0644, &f), -EINVAL);
        ck_assert_int_eq(mkdirat(dfd, "d", 0700), 0);
        ck_assert_int_lt(reserved_file_open_at(dfd, "d", 16, 0644, &f), 0);
        ck_assert_int_eq(symlinkat("target", dfd, "link"), 0);
        ck_assert_int_eq(reserved_file_open_at(dfd, "link", 16, 0644, &f), -ELOOP);
        ck_assert_int_lt(f.fd, 0);
        ck_assert_int_eq(faccessat(dfd, "target", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        ck_assert_int_eq(reserved_file_commit_at(&f, dfd, "r", "s", "x", 1), -EBADF);
        reserved_file_done(&f);
}
END_TEST

static Suite *atomic_file_suite(void) {
        Suite *s = suite_create("atomic-file");
        TCase *tc;

        tc = tcase_create("write");
        tcase_add_test(tc, test_atomic_write_creates_file);
        tcase_add_test(tc, test_atomic_write_replaces_target);
        tcase_add_test(tc, test_atomic_write_no_sync_replaces_target);
        tcase_add_test(tc, test_atomic_write_mode_ignores_umask);
        tcase_add_test(tc, test_atomic_write_empty_and_binary);
        tcase_add_test(tc, test_atomic_write_subdir_and_cwd);
        tcase_add_test(tc, test_atomic_write_failure_leaves_no_temp);
        suite_add_tcase(s, tc);

        tc = tcase_create("read");
        tcase_add_test(tc, test_read_full_file_efbig);
        tcase_add_test(tc, test_read_full_file_errors);
        tcase_add_test(tc, test_read_one_line);
        suite_add_tcase(s, tc);

        tc = tcase_create("reserved");
        tcase_add_test(tc, test_reserved_file_reserves_and_commits);
        tcase_add_test(tc, test_reserved_file_commit_needs_no_fd);
        tcase_add_test(tc, test_reserved_file_commit_retried);
        tcase_add_test(tc, test_reserved_file_errors);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(atomic_file_suite());
}
