/* Files named by callers (a bundle's config.json, a LogPath): opened so that nothing a caller
 * names can block berthd or the shim, redirect a write through a symlink, or reach into berth's
 * own state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Opens @name below @dirfd only if it is a regular file, without blocking and without any side
 * effect of opening a device or FIFO; follows symlinks unless @nofollow. Returns a new fd opened
 * with @flags (plus O_CLOEXEC|O_NOCTTY), -EBADFD for anything but a regular file. */
int open_regular_at(int dirfd, const char *name, int flags, bool nofollow);

/* Reads a caller's regular file of at most @max_size bytes (see open_regular_at()); -EFBIG beyond. */
int read_regular_file_at(int dirfd, const char *name, size_t max_size, char **ret, size_t *ret_size);

typedef enum LogPathFlags {
        LOG_PATH_CREATE = 1 << 0,       /* create the file if missing (else only check) */
} LogPathFlags;

/* Opens (or only checks, returning 0 and no fd) the log file at @path for appending: @path is absolute
 * and normalized, no component is a symlink, the parent directory exists, the file (if present) is
 * a regular file, and it does not lie in or below the directory @forbidden_dirfd (berth's state
 * directory; -EBADF for none). Errors: -EINVAL (not absolute/normalized), -ENOENT (a missing
 * directory), -ENOTDIR, -ELOOP (a symlink), -EISDIR, -EBADFD (not a regular file), -EPERM (below
 * @forbidden_dirfd). */
int log_path_open(const char *path, int forbidden_dirfd, LogPathFlags flags, int *ret_fd);

/* A sentence for an error of log_path_open(), e.g. "is a symlink". */
const char *log_path_strerror(int error);
