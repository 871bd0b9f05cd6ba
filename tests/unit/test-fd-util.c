/* Unit tests for common/fd-util.c: fd flags, unix sockets below long directory paths, closing fds in
 * a child, pidfds, process start times and fd counts. */

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "path-util.h"
#include "test-util.h"

static bool fd_is_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

static bool fd_has_cloexec(int fd) {
        int flags = fcntl(fd, F_GETFD);
        ck_assert_int_ge(flags, 0);
        return flags & FD_CLOEXEC;
}

/* Waits for a child and returns its exit code, failing the test if it did not exit normally. */
static int wait_exit_code(pid_t pid) {
        int status;

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* --- flags ----------------------------------------------------------------------------------- */

START_TEST(test_fd_util_flags) {
        int p[2];

        ck_assert_int_eq(pipe2(p, 0), 0);

        ck_assert_int_eq(fd_set_nonblock(p[0], true), 0);
        ck_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
        ck_assert_int_eq(fd_set_nonblock(p[0], true), 0);
        ck_assert_int_eq(fd_set_nonblock(p[0], false), 0);
        ck_assert(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));

        ck_assert(!fd_has_cloexec(p[1]));
        ck_assert_int_eq(fd_set_cloexec(p[1], true), 0);
        ck_assert(fd_has_cloexec(p[1]));
        ck_assert_int_eq(fd_set_cloexec(p[1], false), 0);
        ck_assert(!fd_has_cloexec(p[1]));

        close(p[0]);
        close(p[1]);
        ck_assert_int_eq(fd_set_nonblock(p[0], true), -EBADF);
        ck_assert_int_eq(fd_set_cloexec(p[0], true), -EBADF);
}
END_TEST

START_TEST(test_fd_util_move_to) {
        int p[2], r;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);

        r = fd_move_to(p[1], 100);
        ck_assert_int_eq(r, 100);
        ck_assert(!fd_is_open(p[1]));
        ck_assert(!fd_has_cloexec(100));
        ck_assert_int_eq(write(100, "x", 1), 1);

        /* Moving onto itself only clears FD_CLOEXEC. */
        ck_assert(fd_has_cloexec(p[0]));
        ck_assert_int_eq(fd_move_to(p[0], p[0]), p[0]);
        ck_assert(fd_is_open(p[0]));
        ck_assert(!fd_has_cloexec(p[0]));

        ck_assert_int_eq(fd_move_to(-1, 5), -EBADF);
        close(p[0]);
        close(100);
}
END_TEST

/* --- unix sockets ---------------------------------------------------------------------------- */

START_TEST(test_fd_util_unix_socket_long_path) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_free_ char *deep = NULL;
        _cleanup_close_ int dfd = -EBADF, lfd = -EBADF, cfd = -EBADF, afd = -EBADF;
        char id[CONTAINER_ID_MAX + 1], buf[8] = {};
        struct stat st;

        /* A directory path well beyond sun_path's 108 bytes, named like a real state dir. */
        memset(id, 'x', CONTAINER_ID_MAX);
        id[CONTAINER_ID_MAX] = '\0';
        ck_assert_int_ge(asprintf(&deep, "%s/%s/%s", t, id, id), 0);
        ck_assert_uint_gt(strlen(deep), 200);
        ck_assert_int_eq(mkdir_p(deep, 0700), 0);
        dfd = open(deep, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dfd, 0);

        lfd = unix_listen_at(dfd, "shim.sock", 16);
        ck_assert_int_ge(lfd, 0);
        ck_assert(fd_has_cloexec(lfd));
        ck_assert_int_eq(fstatat(dfd, "shim.sock", &st, 0), 0);
        ck_assert(S_ISSOCK(st.st_mode));

        cfd = unix_connect_at(dfd, "shim.sock");
        ck_assert_int_ge(cfd, 0);
        ck_assert(fd_has_cloexec(cfd));
        afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        ck_assert_int_ge(afd, 0);
        ck_assert_int_eq(write(cfd, "ping", 4), 4);
        ck_assert_int_eq(read(afd, buf, sizeof(buf)), 4);
        ck_assert_str_eq(buf, "ping");

        /* A stale socket (the listener is gone) is replaced by the next listener. */
        afd = safe_close(afd);
        cfd = safe_close(cfd);
        lfd = safe_close(lfd);
        ck_assert_int_eq(unix_connect_at(dfd, "shim.sock"), -ECONNREFUSED);
        lfd = unix_listen_at(dfd, "shim.sock", 16);
        ck_assert_int_ge(lfd, 0);
        cfd = unix_connect_at(dfd, "shim.sock");
        ck_assert_int_ge(cfd, 0);

        /* Other errors. */
        ck_assert_int_eq(unix_connect_at(dfd, "missing.sock"), -ENOENT);
        ck_assert_int_eq(unix_listen_at(dfd, "", 1), -EINVAL);
        ck_assert_int_eq(unix_connect_at(-1, "x"), -EBADF);
}
END_TEST

START_TEST(test_fd_util_unix_socket_not_a_socket) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        struct stat st;

        dfd = open(t, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dfd, 0);
        fd = openat(dfd, "regular", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);

        /* Only sockets are replaced; a regular file of that name stays. */
        ck_assert_int_eq(unix_listen_at(dfd, "regular", 1), -EADDRINUSE);
        ck_assert_int_eq(fstatat(dfd, "regular", &st, 0), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(unix_connect_at(dfd, "regular"), -ECONNREFUSED);
}
END_TEST

START_TEST(test_fd_util_unix_socket_cwd) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int lfd = -EBADF, cfd = -EBADF;

        ck_assert_int_ge(asprintf(&p, "%s/s", t), 0);
        lfd = unix_listen_at(AT_FDCWD, p, 1);
        ck_assert_int_ge(lfd, 0);
        cfd = unix_connect_at(AT_FDCWD, p);
        ck_assert_int_ge(cfd, 0);
}
END_TEST

/* --- close_all_fds_except -------------------------------------------------------------------- */

static int child_close_check(const int *fds, size_t n_fds, const int *keep, size_t n_keep) {
        if (close_all_fds_except(keep, n_keep) < 0)
                return 10;
        for (int fd = 0; fd < 3; fd++)
                if (!fd_is_open(fd))
                        return 11;
        for (size_t i = 0; i < n_fds; i++) {
                bool kept = false;

                for (size_t j = 0; j < n_keep; j++)
                        if (keep[j] == fds[i])
                                kept = true;
                if (fd_is_open(fds[i]) != kept)
                        return 20 + (int) i;
        }
        return 0;
}

START_TEST(test_fd_util_close_all_fds_except) {
        int fds[8], p[2];
        pid_t pid;

        for (size_t i = 0; i < ELEMENTSOF(fds); i += 2) {
                ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
                fds[i] = p[0];
                fds[i + 1] = p[1];
        }
        /* A high fd too, to check the last range. */
        ck_assert_int_eq(dup2(fds[7], 500), 500);
        close(fds[7]);
        fds[7] = 500;

        /* Keep some fds, listed unsorted and with a duplicate and values below 3. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                const int keep[] = { fds[5], fds[1], 1, fds[5], -1, fds[2] };
                _exit(child_close_check(fds, ELEMENTSOF(fds), keep, ELEMENTSOF(keep)));
        }
        ck_assert_int_eq(wait_exit_code(pid), 0);

        /* Keep nothing. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(child_close_check(fds, ELEMENTSOF(fds), NULL, 0));
        ck_assert_int_eq(wait_exit_code(pid), 0);

        /* Keep the highest one only. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                const int keep[] = { 500 };
                _exit(child_close_check(fds, ELEMENTSOF(fds), keep, ELEMENTSOF(keep)));
        }
        ck_assert_int_eq(wait_exit_code(pid), 0);

        /* The parent's fds are untouched. */
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                ck_assert(fd_is_open(fds[i]));
                close(fds[i]);
        }
}
END_TEST

/* --- pidfds ---------------------------------------------------------------------------------- */

START_TEST(test_fd_util_pidfd) {
        _cleanup_close_ int pidfd = -EBADF;
        int status, p[2];
        pid_t pid;
        char c;

        /* The child also exits when the test dies (EOF on the pipe), so it never outlives us. */
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[1]);
                (void) read(p[0], &c, 1);
                _exit(0);
        }
        close(p[0]);

        pidfd = pidfd_open_pid(pid);
        if (pidfd == -ENOSYS) {
                /* valgrind 3.19 does not know pidfd_open. */
                close(p[1]);
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                return;
        }
        if (pidfd < 0)
                (void) kill(pid, SIGKILL);
        ck_assert_int_ge(pidfd, 0);
        ck_assert(fd_has_cloexec(pidfd));
        ck_assert_int_eq(pidfd_send_sig(pidfd, 0), 0);
        ck_assert_int_eq(pidfd_send_sig(pidfd, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        close(p[1]);
        ck_assert(WIFSIGNALED(status));
        ck_assert_int_eq(WTERMSIG(status), SIGKILL);

        /* The pidfd keeps referring to the dead process, not to whoever gets its pid. */
        ck_assert_int_eq(pidfd_send_sig(pidfd, SIGKILL), -ESRCH);
        ck_assert_int_eq(pidfd_open_pid(pid), -ESRCH);
        ck_assert_int_eq(pidfd_open_pid(0), -EINVAL);
        ck_assert_int_eq(pidfd_send_sig(-1, SIGKILL), -EBADF);
}
END_TEST

/* --- process identity ------------------------------------------------------------------------ */

START_TEST(test_fd_util_start_time) {
        uint64_t self = 0, self0 = 0, child = 0;
        int p[2];
        pid_t pid;
        char c;

        ck_assert_int_eq(pid_get_start_time(getpid(), &self), 0);
        ck_assert_int_eq(pid_get_start_time(0, &self0), 0);
        ck_assert_uint_eq(self, self0);
        ck_assert_uint_gt(self, 0);

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[1]);
                (void) read(p[0], &c, 1);
                _exit(0);
        }
        close(p[0]);
        ck_assert_int_eq(pid_get_start_time(pid, &child), 0);
        ck_assert_uint_ge(child, self);
        close(p[1]);
        ck_assert_int_eq(wait_exit_code(pid), 0);

        /* Above the largest possible pid_max. */
        ck_assert_int_eq(pid_get_start_time(4194305 * 16, &child), -ESRCH);
        ck_assert_int_eq(pid_get_start_time(-1, &child), -EINVAL);
}
END_TEST

/* The comm field of /proc/PID/stat may contain spaces and parentheses; the parser must count fields
 * from the last ')'. A child renames itself and compares. */
START_TEST(test_fd_util_start_time_odd_comm) {
        static const char *const names[] = { "a) 1 2 3 (b", ")", "x y z", "((", ") R 1 2 3 4 5 6" };
        pid_t pid;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                uint64_t before, after;

                if (pid_get_start_time(0, &before) < 0)
                        _exit(1);
                for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                        if (prctl(PR_SET_NAME, names[i]) < 0)
                                _exit(2);
                        if (pid_get_start_time(0, &after) < 0)
                                _exit(3);
                        if (after != before)
                                _exit(4);
                }
                _exit(0);
        }
        ck_assert_int_eq(wait_exit_code(pid), 0);
}
END_TEST

START_TEST(test_fd_util_count_fds) {
        unsigned before = 0, after = 0, viaself = 0;
        int p[2];

        ck_assert_int_eq(pid_count_fds(0, &before), 0);
        ck_assert_uint_ge(before, 3);
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(pid_count_fds(0, &after), 0);
        ck_assert_uint_eq(after, before + 2);
        ck_assert_int_eq(pid_count_fds(getpid(), &viaself), 0);
        ck_assert_uint_eq(viaself, after);
        close(p[0]);
        close(p[1]);
        ck_assert_int_eq(pid_count_fds(0, &after), 0);
        ck_assert_uint_eq(after, before);

        ck_assert_int_eq(pid_count_fds(4194305 * 16, &after), -ESRCH);
}
END_TEST

START_TEST(test_fd_util_now) {
        uint64_t a, b, rt;

        a = now_usec(CLOCK_MONOTONIC);
        b = now_usec(CLOCK_MONOTONIC);
        ck_assert_uint_gt(a, 0);
        ck_assert_uint_ge(b, a);

        rt = now_usec(CLOCK_REALTIME);
        ck_assert_uint_ge(rt / USEC_PER_SEC + 1, (uint64_t) time(NULL));
        ck_assert_uint_le(rt / USEC_PER_SEC, (uint64_t) time(NULL));
        ck_assert_uint_gt(now_usec(CLOCK_BOOTTIME), 0);
}
END_TEST

static Suite *fd_util_suite(void) {
        Suite *s = suite_create("fd-util");
        TCase *tc;

        tc = tcase_create("flags");
        tcase_add_test(tc, test_fd_util_flags);
        tcase_add_test(tc, test_fd_util_move_to);
        suite_add_tcase(s, tc);

        tc = tcase_create("unix");
        tcase_add_test(tc, test_fd_util_unix_socket_long_path);
        tcase_add_test(tc, test_fd_util_unix_socket_not_a_socket);
        tcase_add_test(tc, test_fd_util_unix_socket_cwd);
        suite_add_tcase(s, tc);

        tc = tcase_create("close");
        tcase_add_test(tc, test_fd_util_close_all_fds_except);
        suite_add_tcase(s, tc);

        tc = tcase_create("process");
        tcase_add_test(tc, test_fd_util_pidfd);
        tcase_add_test(tc, test_fd_util_start_time);
        tcase_add_test(tc, test_fd_util_start_time_odd_comm);
        tcase_add_test(tc, test_fd_util_count_fds);
        tcase_add_test(tc, test_fd_util_now);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(fd_util_suite());
}
