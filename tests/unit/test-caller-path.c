/* Unit tests for common/caller-path.c: files named by callers must never block, never be followed
 * through a symlink for a write, and never reach into the state directory. */

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "caller-path.h"
#include "macro.h"
#include "test-util.h"

static char *join(const char *a, const char *b) {
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", a, b), 0);
        return p;
}

static void put(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
}

static off_t size_of(const char *path) {
        struct stat st;

        ck_assert_int_eq(stat(path, &st), 0);
        return st.st_size;
}

START_TEST(test_caller_path_read_regular) {
        _cleanup_tmpdir_ char *dir = tmpdir_new();
        _cleanup_free_ char *file = join(dir, "config.json"), *fifo = join(dir, "fifo"), *text = NULL;
        _cleanup_close_ int dfd = open_dir(dir);
        size_t size;

        put(file, "{}");
        ck_assert_int_eq(read_regular_file_at(dfd, "config.json", 16, &text, &size), 0);
        ck_assert_str_eq(text, "{}");
        ck_assert_uint_eq(size, 2);
        ck_assert_int_eq(read_regular_file_at(dfd, "config.json", 1, &text, &size), -EFBIG);

        /* A FIFO nobody writes to: a plain open() would block forever. */
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        ck_assert_int_eq(read_regular_file_at(dfd, "fifo", 16, &text, &size), -EBADFD);
        ck_assert_int_eq(read_regular_file_at(AT_FDCWD, "/dev/null", 16, &text, &size), -EBADFD);
        ck_assert_int_eq(read_regular_file_at(AT_FDCWD, dir, 16, &text, &size), -EISDIR);
        ck_assert_int_eq(read_regular_file_at(dfd, "missing", 16, &text, &size), -ENOENT);
}
END_TEST

START_TEST(test_caller_path_open_regular_nofollow) {
        _cleanup_tmpdir_ char *dir = tmpdir_new();
        _cleanup_free_ char *file = join(dir, "f"), *link = join(dir, "l");
        _cleanup_close_ int dfd = open_dir(dir), fd = -EBADF;

        put(file, "x");
        ck_assert_int_eq(symlink(file, link), 0);
        ck_assert_int_eq(open_regular_at(dfd, "l", O_RDONLY, true), -ELOOP);
        fd = open_regular_at(dfd, "l", O_RDONLY, false);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(open_regular_at(dfd, "f", O_RDONLY | O_CREAT, false), -EINVAL);
}
END_TEST

START_TEST(test_caller_path_log_create_and_append) {
        _cleanup_tmpdir_ char *dir = tmpdir_new();
        _cleanup_free_ char *log = join(dir, "c.log");
        _cleanup_close_ int fd = -EBADF, fd2 = -EBADF;

        /* Checking creates nothing. */
        ck_assert_int_eq(log_path_open(log, -EBADF, 0, NULL), 0);
        ck_assert_int_eq(access(log, F_OK), -1);

        ck_assert_int_eq(log_path_open(log, -EBADF, LOG_PATH_CREATE, &fd), 0);
        ck_assert_int_eq(write(fd, "ab", 2), 2);
        ck_assert_int_eq(log_path_open(log, -EBADF, LOG_PATH_CREATE, &fd2), 0);
        ck_assert_int_eq(write(fd2, "cd", 2), 2);
        ck_assert_int_eq(size_of(log), 4);
        ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        ck_assert(fcntl(fd, F_GETFL) & O_APPEND);
}
END_TEST

START_TEST(test_caller_path_log_symlinks) {
        _cleanup_tmpdir_ char *dir = tmpdir_new();
        _cleanup_free_ char *victim = join(dir, "victim"), *link = join(dir, "link.log"),
                *sub = join(dir, "sub"), *dirlink = join(dir, "dirlink"), *through = join(dir, "dirlink/x.log");
        int fd = -EBADF;

        put(victim, "keep");
        ck_assert_int_eq(symlink(victim, link), 0);
        ck_assert_int_eq(log_path_open(link, -EBADF, 0, NULL), -ELOOP);
        ck_assert_int_eq(log_path_open(link, -EBADF, LOG_PATH_CREATE, &fd), -ELOOP);
        ck_assert_int_eq(fd, -EBADF);

        /* A dangling symlink must not be created through either. */
        ck_assert_int_eq(unlink(victim), 0);
        ck_assert_int_eq(log_path_open(link, -EBADF, LOG_PATH_CREATE, &fd), -ELOOP);
        ck_assert_int_eq(access(victim, F_OK), -1);

        /* A symlinked directory on the way. */
        ck_assert_int_eq(mkdir(sub, 0700), 0);
        ck_assert_int_eq(symlink(sub, dirlink), 0);
        ck_assert_int_eq(log_path_open(through, -EBADF, LOG_PATH_CREATE, &fd), -ELOOP);
        ck_assert_int_eq(log_path_open(through, -EBADF, 0, NULL), -ELOOP);
}
END_TEST

START_TEST(test_caller_path_log_not_regular) {
        _cleanup_tmpdir_ char *dir = tmpdir_new();
        _cleanup_free_ char *fifo = join(dir, "fifo.log"), *sock = join(dir, "s.log"), *sub = join(dir, "d.log"),
                *missing = join(dir, "nodir/x.log"), *notdir = join(dir, "fifo.log/x.log");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int sfd = -EBADF;
        int fd = -EBADF;

        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        ck_assert_int_eq(log_path_open(fifo, -EBADF, LOG_PATH_CREATE, &fd), -EBADFD);
        ck_assert_int_eq(log_path_open(fifo, -EBADF, 0, NULL), -EBADFD);

        sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(sfd, 0);
        ck_assert_uint_lt(strlen(sock), sizeof(sa.sun_path));
        strcpy(sa.sun_path, sock);
        ck_assert_int_eq(bind(sfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(log_path_open(sock, -EBADF, LOG_PATH_CREATE, &fd), -EBADFD);

        ck_assert_int_eq(log_path_open("/dev/null", -EBADF, LOG_PATH_CREATE, &fd), -EBADFD);

        ck_assert_int_eq(mkdir(sub, 0700), 0);
        ck_assert_int_eq(log_path_open(sub, -EBADF, LOG_PATH_CREATE, &fd), -EISDIR);
        ck_assert_int_eq(log_path_open(missing, -EBADF, 0, NULL), -ENOENT);
        ck_assert_int_eq(log_path_open(notdir, -EBADF, 0, NULL), -ENOTDIR);

        ck_assert_int_eq(log_path_open("relative.log", -EBADF, 0, NULL), -EINVAL);
        ck_assert_int_eq(log_path_open("/tmp/../etc/x.log", -EBADF, 0, NULL), -EINVAL);
        ck_assert_int_eq(log_path_open("/tmp//x.log", -EBADF, 0, NULL), -EINVAL);
        ck_assert_int_eq(log_path_open("/tmp/x/", -EBADF, 0, NULL), -EINVAL);
        ck_assert_int_eq(log_path_open("/", -EBADF, 0, NULL), -EINVAL);
        ck_assert_int_eq(fd, -EBADF);
}
END_TEST

START_TEST(test_caller_path_log_state_dir) {
        _cleanup_tmpdir_ char *dir = tmpdir_new();
        _cleanup_free_ char *state = join(dir, "state"), *ctr = join(dir, "state/c1"),
                *inside = join(dir, "state/c1/container.json"), *direct = join(dir, "state/x.log"),
                *beside = join(dir, "beside.log");
        _cleanup_close_ int sfd = -EBADF, fd = -EBADF;

        ck_assert_int_eq(mkdir(state, 0700), 0);
        ck_assert_int_eq(mkdir(ctr, 0700), 0);
        put(inside, "{}");
        sfd = open_dir(state);

        ck_assert_int_eq(log_path_open(inside, sfd, 0, NULL), -EPERM);
        ck_assert_int_eq(log_path_open(inside, sfd, LOG_PATH_CREATE, &fd), -EPERM);
        ck_assert_int_eq(log_path_open(direct, sfd, LOG_PATH_CREATE, &fd), -EPERM);
        ck_assert_int_eq(access(direct, F_OK), -1);
        ck_assert_int_eq(size_of(inside), 2);

        ck_assert_int_eq(log_path_open(beside, sfd, LOG_PATH_CREATE, &fd), 0);
        ck_assert_ptr_nonnull(log_path_strerror(-EPERM));
}
END_TEST

static Suite *caller_path_suite(void) {
        Suite *s = suite_create("caller-path");
        TCase *tc;

        tc = tcase_create("read");
        /* A regression would block in open(): fail fast instead of hanging the suite. */
        tcase_set_timeout(tc, 10);
        tcase_add_test(tc, test_caller_path_read_regular);
        tcase_add_test(tc, test_caller_path_open_regular_nofollow);
        suite_add_tcase(s, tc);

        tc = tcase_create("log");
        tcase_set_timeout(tc, 10);
        tcase_add_test(tc, test_caller_path_log_create_and_append);
        tcase_add_test(tc, test_caller_path_log_symlinks);
        tcase_add_test(tc, test_caller_path_log_not_regular);
        tcase_add_test(tc, test_caller_path_log_state_dir);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(caller_path_suite());
}
