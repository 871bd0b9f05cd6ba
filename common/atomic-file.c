/* Whole-file writes that are atomic and durable, and whole-file reads with a size limit.
 *
 * A write goes to a temporary ".#NAME.XXXXXX" in the same directory, which is written, fsync()ed,
 * given its final mode, renamed over the target and followed by an fsync() of the directory. A reader
 * therefore sees either the old or the new file, never a part of one, even after a crash: this is what
 * keeps exit records and pid files trustworthy (DESIGN.md, "An exit status is never lost").
 *
 * NAME may contain directories; they are resolved relative to dirfd.
 *
 * A reserved file is for a record that must be written when nothing else can be: the exit record,
 * at the moment the container exits on a full filesystem or with the shim at its fd limit. At
 * reservation the file is created under a name of its own and filled with as many bytes as the
 * record can ever need, and its fd is kept. Committing it then needs no inode, no block and no fd:
 * pwrite() over bytes the file already owns, ftruncate() (which only frees), fsync(), renameat()
 * over the final name and an fsync() of the directory, through an fd the caller holds already.
 * The rename allocates nothing on tmpfs (dentries are not counted against its size or inodes); on
 * ext4 the new name goes into the directory's existing block, which a directory of a dozen entries
 * has room in. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "macro.h"

/* The limit read_full_file_at() applies when the caller passes 0. */
#define READ_FULL_DEFAULT_MAX (16U * 1024U * 1024U)
#define READ_LINE_MAX (64U * 1024U)

/* Opens the directory that holds NAME (relative to dirfd) and returns the last component of NAME. */
static int open_parent_dir(int dirfd, const char *name, int *ret_fd, const char **ret_base) {
        _cleanup_free_ char *dir = NULL;
        const char *slash, *base;
        int fd;

        slash = strrchr(name, '/');
        if (!slash) {
                dir = strdup(".");
                base = name;
        } else {
                dir = slash == name ? strdup("/") : strndup(name, (size_t) (slash - name));
                base = slash + 1;
        }
        if (!dir)
                return -ENOMEM;
        if (isempty(base) || streq(base, ".") || streq(base, ".."))
                return -EINVAL;

        fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        *ret_fd = fd;
        *ret_base = base;
        return 0;
}

static int open_temp_file(int dirfd, const char *base, char **ret_name) {
        static unsigned counter = 0;

        for (unsigned attempt = 0; attempt < 100; attempt++) {
                _cleanup_free_ char *tmp = NULL;
                uint64_t rnd;
                int fd;

                if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                        rnd = ((uint64_t) getpid() << 32) ^ (uint64_t) time(NULL) ^ ++counter;

                if (asprintf(&tmp, ".#%s.%010" PRIx64, base, rnd & UINT64_C(0xffffffffff)) < 0)
                        return -ENOMEM;

                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        *ret_name = TAKE_PTR(tmp);
                        return fd;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

/**
 * write_file_atomic_at_full() - replace a file atomically, and durably unless told otherwise
 * @dirfd: directory fd (or AT_FDCWD) that @name is relative to
 * @name: file name; the target is replaced if it exists
 * @data: contents
 * @size: size of @data
 * @mode: file mode of the new file (not affected by the umask)
 * @flags: ATOMIC_FILE_NO_SYNC skips the fsync of the file and of the directory
 *
 * On failure the target is untouched and no temporary file is left behind.
 *
 * Return: 0 or a negative errno.
 */
int write_file_atomic_at_full(int dirfd, const char *name, const void *data, size_t size, mode_t mode,
                              AtomicFileFlags flags) {
        _cleanup_close_ int parent_fd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *tmp = NULL;
        const char *base = NULL;
        int r;

        if (!name || (!data && size > 0))
                return -EINVAL;

        r = open_parent_dir(dirfd, name, &parent_fd, &base);
        if (r < 0)
                return r;

        fd = open_temp_file(parent_fd, base, &tmp);
        if (fd < 0)
                return fd;

        r = write_full(fd, data, size);
        if (r < 0)
                goto fail;
        if (fchmod(fd, mode & 07777) < 0 || (!(flags & ATOMIC_FILE_NO_SYNC) && fsync(fd) < 0)) {
                r = -errno;
                goto fail;
        }
        r = close(fd);
        fd = -EBADF;
        if (r < 0 && errno != EINTR) {
                r = -errno;
                goto fail;
        }
        if (renameat(parent_fd, tmp, parent_fd, base) < 0) {
                r = -errno;
                goto fail;
        }

        /* Make the rename itself durable. */
        if (!(flags & ATOMIC_FILE_NO_SYNC) && fsync(parent_fd) < 0)
                return -errno;
        return 0;

fail:
        (void) unlinkat(parent_fd, tmp, 0);
        return r;
}

/**
 * write_file_atomic_at() - write_file_atomic_at_full() with fsync of the file and the directory
 * @dirfd: directory fd or AT_FDCWD
 * @name: file name relative to @dirfd
 * @data: the content
 * @size: its size
 * @mode: the file's mode
 */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, mode_t mode) {
        return write_file_atomic_at_full(dirfd, name, data, size, mode, 0);
}

/**
 * read_full_file_at() - read a whole file into memory
 * @dirfd: directory fd (or AT_FDCWD) that @name is relative to
 * @name: the file
 * @max_size: the largest size accepted; 0 means 16 MiB
 * @ret: the contents, NUL terminated (the file itself may contain NULs)
 * @ret_size: the size without the terminating NUL (may be NULL)
 *
 * Return: 0, -EFBIG when the file is larger than @max_size, or another negative errno.
 */
int read_full_file_at(int dirfd, const char *name, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated;
        struct stat st;

        if (!name || !ret)
                return -EINVAL;
        if (max_size == 0)
                max_size = READ_FULL_DEFAULT_MAX;
        if (max_size >= SSIZE_MAX)
                max_size = SSIZE_MAX - 1;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (S_ISREG(st.st_mode) && (uint64_t) st.st_size > max_size)
                return -EFBIG;

        /* Regular files: one read usually does it. Others (proc files report 0) grow as needed. */
        allocated = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t) st.st_size + 1 : 4096;
        allocated = MIN(allocated, max_size + 1);
        buf = malloc(allocated + 1);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t k;

                if (size == allocated) {
                        size_t n;
                        char *p;

                        if (size > max_size)
                                return -EFBIG;
                        n = MIN(allocated * 2, max_size + 1);
                        p = realloc(buf, n + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = n;
                }

                k = read(fd, buf + size, allocated - size);
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

        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

/**
 * read_one_line_at() - read the first line of a small file
 * @dirfd: directory fd (or AT_FDCWD) that @name is relative to
 * @name: the file (at most 64 KiB)
 * @ret: the line without its newline
 *
 * Return: 0 or a negative errno.
 */
int read_one_line_at(int dirfd, const char *name, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        char *nl;
        int r;

        if (!ret)
                return -EINVAL;

        r = read_full_file_at(dirfd, name, READ_LINE_MAX, &buf, &size);
        if (r < 0)
                return r;

        nl = memchr(buf, '\n', size);
        if (nl)
                *nl = '\0';

        *ret = TAKE_PTR(buf);
        return 0;
}

/**
 * reserved_file_open_at() - create a file and reserve @size bytes of space for it, and keep its fd
 * @dirfd: the directory; the caller keeps it open for reserved_file_commit_at()
 * @reserved_name: the file's name until it is committed (replaced if it exists)
 * @size: the most the file will ever hold
 * @mode: its mode (not affected by the umask)
 * @ret: the reservation
 *
 * The bytes are written, not fallocate()d: that makes them the file's own on every filesystem
 * (tmpfs pages, ext4's delayed-allocation reservation), and leaves no unwritten extent to convert
 * at commit time. On failure nothing is left behind.
 *
 * Return: 0, or a negative errno (-ENOSPC, -EMFILE, ...).
 */
int reserved_file_open_at(int dirfd, const char *reserved_name, size_t size, mode_t mode, ReservedFile *ret) {
        static const char zeros[4096];
        _cleanup_close_ int fd = -EBADF;
        size_t done = 0;
        int r = 0;

        if (!reserved_name || size == 0 || !ret)
                return -EINVAL;

        fd = openat(dirfd, reserved_name, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                    mode & 07777);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, mode & 07777) < 0)
                r = -errno;
        while (r >= 0 && done < size) {
                size_t n = MIN(size - done, sizeof(zeros));

                r = write_full(fd, zeros, n);
                done += n;
        }
        if (r < 0) {
                (void) unlinkat(dirfd, reserved_name, 0);
                return r;
        }

        *ret = (ReservedFile) { .fd = TAKE_FD(fd), .size = size };
        return 0;
}

static int pwrite_full(int fd, const void *data, size_t size, off_t offset) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = pwrite(fd, p, size, offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                size -= (size_t) n;
                offset += n;
        }
        return 0;
}

/**
 * reserved_file_commit_at() - write the reserved file and give it its final name, durably
 * @f: the reservation, from reserved_file_open_at()
 * @dirfd: the directory it was reserved in
 * @reserved_name: the name it was reserved under
 * @name: its final name (replaced atomically if it exists)
 * @data: the content
 * @size: its size, at most the size reserved
 *
 * Safe to call again after a failure (with the same data): it goes on where it stopped. Once it
 * succeeded the fd is closed and the reservation is spent.
 *
 * Return: 0, -EFBIG if @size is more than was reserved, -EBADF if nothing is reserved (or it was
 * committed already), or the errno of the step that failed.
 */
int reserved_file_commit_at(ReservedFile *f, int dirfd, const char *reserved_name, const char *name,
                            const void *data, size_t size) {
        int r;

        if (!f || !reserved_name || !name || (!data && size > 0))
                return -EINVAL;
        if (f->fd < 0)
                return -EBADF;
        if (size > f->size)
                return -EFBIG;

        if (!f->renamed) {
                r = pwrite_full(f->fd, data, size, 0);
                if (r < 0)
                        return r;
                if (ftruncate(f->fd, (off_t) size) < 0 || fsync(f->fd) < 0)
                        return -errno;
                if (renameat(dirfd, reserved_name, dirfd, name) < 0)
                        return -errno;
                f->renamed = true;
        }

        /* Make the rename itself durable. */
        if (fsync(dirfd) < 0)
                return -errno;
        f->fd = safe_close(f->fd);
        return 0;
}

/**
 * reserved_file_is_committed() - whether the reservation was used up by a successful commit
 * @f: the reservation
 *
 * Return: true after reserved_file_commit_at() succeeded.
 */
bool reserved_file_is_committed(const ReservedFile *f) {
        return f->renamed && f->fd < 0;
}

/**
 * reserved_file_done() - close the reserved file's fd (the file itself stays)
 * @f: the reservation, or one that was never made (RESERVED_FILE_NULL)
 */
void reserved_file_done(ReservedFile *f) {
        f->fd = safe_close(f->fd);
}
