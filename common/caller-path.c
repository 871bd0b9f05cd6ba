/* Files named by callers.
 *
 * berthd runs as root and a caller names paths: a bundle whose config.json it reads, a LogPath the
 * shim appends the container's output to. Opening such a path plainly is an attack surface: a FIFO
 * blocks open() forever, a device node has side effects on open (a watchdog starts ticking), a
 * symlink planted in a world-writable directory redirects root's writes to /etc/shadow, and a path
 * inside the state directory lets output overwrite another container's records.
 *
 * So a caller's file is first opened with O_PATH (which never blocks and touches nothing), checked
 * to be a regular file, and only then reopened for reading or writing through /proc/self/fd, which
 * yields the very same inode. A LogPath is walked one component at a time with O_NOFOLLOW from "/",
 * and its directory is walked up with ".." to make sure the state directory is not above it. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caller-path.h"
#include "macro.h"
#include "path-util.h"

/* A LogPath has at most this many components; and ".." is followed at most this often. */
#define PATH_DEPTH_MAX (PATH_MAX / 2)

static int stat_regular(const struct stat *st) {
        if (S_ISREG(st->st_mode))
                return 0;
        if (S_ISLNK(st->st_mode))
                return -ELOOP;
        if (S_ISDIR(st->st_mode))
                return -EISDIR;
        return -EBADFD;
}

/* Reopens the O_PATH fd @pfd with @flags: the same inode, whatever happened to its name since. */
static int reopen_path_fd(int pfd, int flags) {
        char proc[64];
        int fd;

        (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
        fd = open(proc, flags | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return fd;
}

/**
 * open_regular_at() - open a caller's file only if it is a regular file
 * @dirfd: directory fd (or AT_FDCWD) that @name is relative to
 * @name: the file
 * @flags: open flags (O_RDONLY, O_WRONLY|O_APPEND, ...; not O_CREAT)
 * @nofollow: refuse a symlink as the last component
 *
 * Return: a new fd, -EBADFD for a FIFO, socket or device, -EISDIR, -ELOOP (a symlink with
 * @nofollow), or another negative errno.
 */
int open_regular_at(int dirfd, const char *name, int flags, bool nofollow) {
        _cleanup_close_ int pfd = -EBADF;
        struct stat st;
        int r;

        if (flags & O_CREAT)
                return -EINVAL;

        pfd = openat(dirfd, name, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
        if (pfd < 0)
                return -errno;
        if (fstat(pfd, &st) < 0)
                return -errno;
        r = stat_regular(&st);
        if (r < 0)
                return r;

        return reopen_path_fd(pfd, flags);
}

/**
 * read_regular_file_at() - read a whole regular file a caller named
 * @dirfd: directory fd (or AT_FDCWD) that @name is relative to
 * @name: the file
 * @max_size: the largest size accepted
 * @ret: the contents, NUL terminated
 * @ret_size: the size without the NUL (may be NULL)
 *
 * Return: 0, -EFBIG, -EBADFD (not a regular file), or another negative errno.
 */
int read_regular_file_at(int dirfd, const char *name, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0;

        if (max_size >= SSIZE_MAX)
                return -EINVAL;

        fd = open_regular_at(dirfd, name, O_RDONLY, false);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size > max_size)
                return -EFBIG;

        /* One byte more than allowed, to notice a file that grew since the fstat(). */
        buf = malloc(max_size + 2);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + size, max_size + 1 - size);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > max_size)
                        return -EFBIG;
        }

        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

/* Opens directory @name below @dirfd without following a symlink: -ELOOP if it is one. */
static int open_dir_nofollow(int dirfd, const char *name) {
        struct stat st;
        int fd;

        fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        if (errno == ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode))
                return -ELOOP;
        return -errno;
}

/* Opens the directory holding the last component of the absolute @path, walking from "/" with
 * O_NOFOLLOW at every step; *ret_base points into @path. */
static int open_parent_nofollow(const char *path, int *ret_fd, const char **ret_base) {
        _cleanup_close_ int fd = -EBADF;
        const char *p = path + 1, *slash;
        unsigned depth = 0;

        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        while ((slash = strchr(p, '/'))) {
                char name[NAME_MAX + 1];
                size_t n = (size_t) (slash - p);
                int next;

                if (n == 0 || n > NAME_MAX || ++depth > PATH_DEPTH_MAX)
                        return -EINVAL;
                memcpy(name, p, n);
                name[n] = 0;

                next = open_dir_nofollow(fd, name);
                if (next < 0)
                        return next;
                safe_close(fd);
                fd = next;
                p = slash + 1;
        }
        if (isempty(p) || strlen(p) > NAME_MAX)
                return -EINVAL;

        *ret_fd = TAKE_FD(fd);
        *ret_base = p;
        return 0;
}

/* Whether the directory @fd is @forbidden_dirfd or lies below it. */
static int dir_is_below(int fd, int forbidden_dirfd) {
        _cleanup_close_ int cur = -EBADF;
        struct stat forbidden, st;

        if (fstat(forbidden_dirfd, &forbidden) < 0)
                return -errno;
        cur = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -errno;

        for (unsigned i = 0; i < PATH_DEPTH_MAX; i++) {
                struct stat up;
                int next;

                if (fstat(cur, &st) < 0)
                        return -errno;
                if (st.st_dev == forbidden.st_dev && st.st_ino == forbidden.st_ino)
                        return 1;

                next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (next < 0)
                        return -errno;
                if (fstat(next, &up) < 0) {
                        safe_close(next);
                        return -errno;
                }
                safe_close(cur);
                cur = next;
                /* The root is its own parent. */
                if (up.st_dev == st.st_dev && up.st_ino == st.st_ino)
                        return 0;
        }
        return -ELOOP;
}

static int log_file_create(int dirfd, const char *base) {
        int fd;

        fd = openat(dirfd, base, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                    0640);
        if (fd < 0)
                return -errno;
        return fd;
}

/**
 * log_path_open() - check a caller's LogPath and open it for appending
 * @path: the path
 * @forbidden_dirfd: berth's state directory, or -EBADF
 * @flags: LOG_PATH_CREATE to open (creating the file if needed); without it only check
 * @ret_fd: the fd, with LOG_PATH_CREATE (may be NULL otherwise)
 *
 * Return: 0 or a negative errno as documented in caller-path.h.
 */
int log_path_open(const char *path, int forbidden_dirfd, LogPathFlags flags, int *ret_fd) {
        _cleanup_close_ int dirfd = -EBADF;
        const char *base = NULL;
        struct stat st;
        int r;

        if (!path_is_absolute(path) || !path_is_normalized(path) ||
            path[strlen(path) - 1] == '/')
                return -EINVAL;

        r = open_parent_nofollow(path, &dirfd, &base);
        if (r < 0)
                return r;
        if (forbidden_dirfd >= 0) {
                r = dir_is_below(dirfd, forbidden_dirfd);
                if (r < 0)
                        return r;
                if (r > 0)
                        return -EPERM;
        }

        /* A file created in the race between the two calls is simply opened on the next round. */
        for (unsigned attempt = 0; attempt < 8; attempt++) {
                int fd;

                if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT)
                                return -errno;
                        if (!(flags & LOG_PATH_CREATE))
                                return 0;
                        fd = log_file_create(dirfd, base);
                        if (fd == -EEXIST)
                                continue;
                } else {
                        r = stat_regular(&st);
                        if (r < 0)
                                return r;
                        if (!(flags & LOG_PATH_CREATE))
                                return 0;
                        fd = open_regular_at(dirfd, base, O_WRONLY | O_APPEND, true);
                        if (fd == -ENOENT)
                                continue;
                }
                if (fd < 0)
                        return fd;
                *ret_fd = fd;
                return 0;
        }
        return -EAGAIN;
}

/**
 * log_path_strerror() - what an error of log_path_open() means, for a message to a person
 * @error: the negative errno
 */
const char *log_path_strerror(int error) {
        switch (error) {
        case -EINVAL:
                return "is not a normalized absolute path of a file";
        case -ENOENT:
                return "is in a directory that does not exist";
        case -ENOTDIR:
                return "goes through something that is not a directory";
        case -ELOOP:
                return "is or goes through a symlink";
        case -EISDIR:
                return "is a directory";
        case -EBADFD:
                return "is not a regular file";
        case -EPERM:
                return "is inside berth's state directory";
        default:
                return strerror(-error);
        }
}
