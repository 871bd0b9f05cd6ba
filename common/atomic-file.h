/* Files written atomically (temp file, fsync, rename, fsync dir) and read whole. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, mode_t mode);
int read_full_file_at(int dirfd, const char *name, size_t max_size, char **ret, size_t *ret_size);
int read_one_line_at(int dirfd, const char *name, char **ret);
