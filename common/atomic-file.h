/* Files written atomically (temp file, fsync, rename, fsync dir) and read whole. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

typedef enum AtomicFileFlags {
        /* Atomic (rename) but not durable across an OS crash: for files that describe processes,
         * which do not survive one either. */
        ATOMIC_FILE_NO_SYNC = 1 << 0,
} AtomicFileFlags;

int write_file_atomic_at_full(int dirfd, const char *name, const void *data, size_t size, mode_t mode,
                              AtomicFileFlags flags);
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, mode_t mode);
int read_full_file_at(int dirfd, const char *name, size_t max_size, char **ret, size_t *ret_size);
int read_one_line_at(int dirfd, const char *name, char **ret);
