/* File descriptor and process helpers.
 *
 * Unix sockets are bound and connected through "/proc/self/fd/<dirfd>/<name>", so the length of the
 * state directory's path never matters: sun_path only ever holds that short string. Process identity
 * uses pidfds where the caller can hold one, and the start time from /proc/PID/stat where it must
 * compare a pid read from a file (a recycled pid has a different start time).
 *
 * close_all_fds_except() runs in forked children of a possibly multi-threaded process, so it neither
 * allocates nor uses stdio. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "macro.h"

/**
 * write_full() - write all of @data, retrying after short writes and EINTR
 * @fd: a blocking fd
 * @data: the bytes
 * @size: how many
 *
 * Return: 0 or a negative errno (-EIO if write() wrote nothing).
 */
int write_full(int fd, const void *data, size_t size) {
        const uint8_t *p = data;

        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/**
 * fd_set_nonblock() - set or clear O_NONBLOCK
 * @fd: the fd
 * @nonblock: the new state
 *
 * Return: 0 or a negative errno.
 */
int fd_set_nonblock(int fd, bool nonblock) {
        int flags, nflags;

        flags = fcntl(fd, F_GETFL, 0);
        if (flags < 0)
                return -errno;
        nflags = nonblock ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        if (nflags != flags && fcntl(fd, F_SETFL, nflags) < 0)
                return -errno;
        return 0;
}

/**
 * fd_set_cloexec() - set or clear FD_CLOEXEC
 * @fd: the fd
 * @cloexec: the new state
 *
 * Return: 0 or a negative errno.
 */
int fd_set_cloexec(int fd, bool cloexec) {
        int flags, nflags;

        flags = fcntl(fd, F_GETFD, 0);
        if (flags < 0)
                return -errno;
        nflags = cloexec ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
        if (nflags != flags && fcntl(fd, F_SETFD, nflags) < 0)
                return -errno;
        return 0;
}

static int sockaddr_at(int dirfd, const char *name, struct sockaddr_un *ret, socklen_t *ret_len) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int k;

        if (isempty(name))
                return -EINVAL;

        if (dirfd == AT_FDCWD || name[0] == '/')
                k = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
        else if (dirfd >= 0)
                k = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%i/%s", dirfd, name);
        else
                return -EBADF;
        if (k < 0 || (size_t) k >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;

        *ret = sa;
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + (size_t) k + 1);
        return 0;
}

/**
 * unix_listen_at() - create a listening unix stream socket
 * @dirfd: directory fd (or AT_FDCWD) that @name is relative to
 * @name: socket file name; a stale socket of that name is replaced
 * @backlog: listen() backlog
 *
 * Return: a new O_CLOEXEC socket fd, or a negative errno.
 */
int unix_listen_at(int dirfd, const char *name, int backlog) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa;
        socklen_t sa_len;
        struct stat st;
        int r;

        r = sockaddr_at(dirfd, name, &sa, &sa_len);
        if (r < 0)
                return r;

        /* A socket left by a previous instance refuses bind(); anything else that is there stays. */
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISSOCK(st.st_mode))
                (void) unlinkat(dirfd, name, 0);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sa_len) < 0)
                return -errno;
        if (listen(fd, backlog) < 0)
                return -errno;

        return TAKE_FD(fd);
}

/**
 * unix_connect_at() - connect to a unix stream socket
 * @dirfd: directory fd (or AT_FDCWD) that @name is relative to
 * @name: socket file name
 *
 * Return: a new O_CLOEXEC, blocking socket fd, or a negative errno.
 */
int unix_connect_at(int dirfd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa;
        socklen_t sa_len;
        int r;

        r = sockaddr_at(dirfd, name, &sa, &sa_len);
        if (r < 0)
                return r;

        /* Nonblocking: a listener whose backlog is full gives -EAGAIN at once instead of blocking
         * until it accepts (a unix stream connect never returns EINPROGRESS). */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        while (connect(fd, (struct sockaddr *) &sa, sa_len) < 0)
                if (errno != EINTR)
                        return -errno;

        return TAKE_FD(fd);
}

static bool fd_in_set(int fd, const int *except, size_t n_except) {
        for (size_t i = 0; i < n_except; i++)
                if (except[i] == fd)
                        return true;
        return false;
}

/* Fallback for kernels without close_range(): walk /proc/self/fd with getdents64 into a stack
 * buffer. */
struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

static int close_all_fds_proc(const int *except, size_t n_except) {
        union {
                struct linux_dirent64 de;
                uint8_t raw[4096];
        } buf;
        int dfd, ret = 0;

        dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                long max = sysconf(_SC_OPEN_MAX);
                if (max < 0)
                        max = 65536;
                for (int fd = 3; fd < max; fd++)
                        if (!fd_in_set(fd, except, n_except))
                                (void) close(fd);
                return 0;
        }

        for (;;) {
                long n = syscall(SYS_getdents64, dfd, buf.raw, sizeof(buf.raw));
                if (n < 0) {
                        ret = -errno;
                        break;
                }
                if (n == 0)
                        break;

                for (long off = 0; off < n;) {
                        struct linux_dirent64 *de = (struct linux_dirent64 *) (buf.raw + off);
                        int fd = 0;
                        bool ok = de->d_name[0] != '\0';

                        off += de->d_reclen;
                        for (const char *c = de->d_name; *c && ok; c++) {
                                if (*c < '0' || *c > '9' || fd > INT_MAX / 10 - 1)
                                        ok = false;
                                else
                                        fd = fd * 10 + (*c - '0');
                        }
                        if (!ok || fd < 3 || fd == dfd || fd_in_set(fd, except, n_except))
                                continue;
                        (void) close(fd);
                }
        }

        (void) close(dfd);
        return ret;
}

/**
 * close_all_fds_except() - close every fd >= 3 that is not listed
 * @except: fds to keep (values below 3 are ignored; may be NULL if @n_except is 0)
 * @n_except: number of entries in @except
 *
 * Meant for forked children before exec: it does not allocate.
 *
 * Return: 0 or a negative errno.
 */
int close_all_fds_except(const int *except, size_t n_except) {
        unsigned cur = 3;

        if (n_except > 0 && !except)
                return -EINVAL;

        /* Close the gaps between kept fds in ascending order: find the smallest kept fd >= cur each
         * round, so the array needs no sorting (and no copy). */
        for (;;) {
                unsigned next = UINT_MAX;

                for (size_t i = 0; i < n_except; i++)
                        if (except[i] >= 0 && (unsigned) except[i] >= cur && (unsigned) except[i] < next)
                                next = (unsigned) except[i];

                if (next > cur && syscall(SYS_close_range, cur, next - 1, 0) < 0) {
                        if (IN_SET(errno, ENOSYS, EPERM))
                                return close_all_fds_proc(except, n_except);
                        return -errno;
                }
                if (next == UINT_MAX)
                        return 0;
                cur = next + 1;
        }
}

/**
 * fd_move_to() - move an fd to a given number, for passing to a child
 * @fd: the fd to move
 * @target: the fd number it should get
 *
 * The fd at @target has FD_CLOEXEC cleared; @fd is closed unless it equals @target.
 *
 * Return: @target or a negative errno.
 */
int fd_move_to(int fd, int target) {
        int r;

        if (fd < 0 || target < 0)
                return -EBADF;

        if (fd == target) {
                r = fd_set_cloexec(fd, false);
                return r < 0 ? r : target;
        }

        while (dup2(fd, target) < 0)
                if (errno != EINTR && errno != EBUSY)
                        return -errno;
        (void) close(fd);
        return target;
}

/**
 * pidfd_open_pid() - get a pidfd for a process
 * @pid: the process
 *
 * Return: a new O_CLOEXEC pidfd or a negative errno (-ESRCH if the process does not exist).
 */
int pidfd_open_pid(pid_t pid) {
        long fd;

        if (pid <= 0)
                return -EINVAL;

        fd = syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return -errno;
        return (int) fd;
}

/**
 * pidfd_send_sig() - send a signal through a pidfd
 * @pidfd: the pidfd
 * @sig: the signal
 *
 * Return: 0 or a negative errno (-ESRCH once the process has exited).
 */
int pidfd_send_sig(int pidfd, int sig) {
        if (pidfd < 0)
                return -EBADF;
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return -errno;
        return 0;
}

/* Field 22 of a /proc/PID/stat line. comm (field 2) may hold spaces and parentheses, so the fields
 * are counted from the last ')'. */
static int parse_stat_start_time(const char *line, uint64_t *ret) {
        unsigned long long v;
        const char *p;
        char *end;

        p = strrchr(line, ')');
        if (!p)
                return -EBADMSG;
        p++;

        /* After ')' come fields 3, 4, ...: skip 19 of them to reach field 22. */
        for (unsigned field = 3; field < 22; field++) {
                p += strspn(p, " ");
                if (*p == '\0')
                        return -EBADMSG;
                p += strcspn(p, " ");
        }
        p += strspn(p, " ");
        if (*p < '0' || *p > '9')
                return -EBADMSG;

        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno != 0 || !IN_SET(*end, ' ', '\n', '\0'))
                return -EBADMSG;

        *ret = (uint64_t) v;
        return 0;
}

/**
 * pid_get_start_time() - when a process started
 * @pid: the process (0: this process)
 * @ret: its start time in clock ticks since boot
 *
 * Return: 0, -ESRCH if there is no such process, or another negative errno.
 */
int pid_get_start_time(pid_t pid, uint64_t *ret) {
        return pid_get_stat(pid, NULL, ret);
}

/**
 * pid_get_stat() - state letter and start time of a process
 * @pid: the process (0: this process)
 * @ret_state: field 3 of /proc/PID/stat ('R', 'S', 'Z', ...), may be NULL
 * @ret_start_time: field 22, clock ticks since boot, may be NULL
 *
 * Return: 0, -ESRCH if there is no such process, or another negative errno.
 */
int pid_get_stat(pid_t pid, char *ret_state, uint64_t *ret_start_time) {
        _cleanup_free_ char *line = NULL;
        const char *p;
        char path[64];
        uint64_t v;
        int r;

        if (pid < 0)
                return -EINVAL;

        if (pid == 0)
                snprintf(path, sizeof(path), "/proc/self/stat");
        else
                snprintf(path, sizeof(path), "/proc/%i/stat", (int) pid);

        r = read_one_line_at(AT_FDCWD, path, &line);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;

        r = parse_stat_start_time(line, &v);
        if (r < 0)
                return r;
        p = strrchr(line, ')');
        p += strspn(p + 1, " ") + 1;

        if (ret_state)
                *ret_state = *p;
        if (ret_start_time)
                *ret_start_time = v;
        return 0;
}

/**
 * pid_count_fds() - count the open fds of a process
 * @pid: the process (0: this process, not counting the fd used to count)
 * @ret: the number of fds
 *
 * Return: 0, -ESRCH if there is no such process, or another negative errno.
 */
int pid_count_fds(pid_t pid, unsigned *ret) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        unsigned n = 0;
        char path[64];
        bool self;

        if (pid < 0 || !ret)
                return -EINVAL;

        self = pid == 0 || pid == getpid();
        if (self)
                snprintf(path, sizeof(path), "/proc/self/fd");
        else
                snprintf(path, sizeof(path), "/proc/%i/fd", (int) pid);

        d = opendir(path);
        if (!d)
                return errno == ENOENT ? -ESRCH : -errno;

        while ((errno = 0, de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (self && atoi(de->d_name) == dirfd(d))
                        continue;
                n++;
        }
        if (errno != 0)
                return -errno;

        *ret = n;
        return 0;
}

/**
 * now_usec() - the time of a clock in microseconds
 * @clock_id: CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, ...
 *
 * Return: microseconds, or 0 if the clock cannot be read.
 */
uint64_t now_usec(int clock_id) {
        struct timespec ts;

        if (clock_gettime((clockid_t) clock_id, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}
