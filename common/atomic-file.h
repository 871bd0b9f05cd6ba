/* Files written atomically (temp file, fsync, rename, fsync dir) and read whole; and files reserved
 * in advance, so that writing them later needs no new inode, block or fd. */
#pragma once

#include <stdbool.h>
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

/* A file whose inode, blocks and fd were taken when it was reserved: committing it only overwrites,
 * truncates, syncs and renames, which a full filesystem or an fd limit does not stop. */
typedef struct ReservedFile {
        int fd;                 /* open on the reserved file until it is committed; else -EBADF */
        size_t size;            /* bytes reserved */
        bool renamed;           /* it has its final name; only the directory's fsync may be missing */
} ReservedFile;

#define RESERVED_FILE_NULL ((ReservedFile) { .fd = -EBADF })

int reserved_file_open_at(int dirfd, const char *reserved_name, size_t size, mode_t mode, ReservedFile *ret);
int reserved_file_commit_at(ReservedFile *f, int dirfd, const char *reserved_name, const char *name,
                            const void *data, size_t size);
bool reserved_file_is_committed(const ReservedFile *f);
void reserved_file_done(ReservedFile *f);
