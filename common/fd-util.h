/* File descriptor helpers: flags, unix sockets at a directory fd, pidfds, process identity. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

int write_full(int fd, const void *data, size_t size);
int fd_set_nonblock(int fd, bool nonblock);
int fd_set_cloexec(int fd, bool cloexec);

/* Unix stream sockets named relative to a directory fd, so paths longer than sun_path work
 * (through /proc/self/fd/N/NAME). Both return a new O_CLOEXEC fd. */
int unix_listen_at(int dirfd, const char *name, int backlog);
int unix_connect_at(int dirfd, const char *name);

/* In a forked child before exec: closes every fd >= 3 except those listed. */
int close_all_fds_except(const int *except, size_t n_except);

/* Moves fd to target (dup2), clearing O_CLOEXEC on target; closes the original unless equal. */
int fd_move_to(int fd, int target);

int pidfd_open_pid(pid_t pid);
int pidfd_send_sig(int pidfd, int sig);

/* Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat). */
int pid_get_start_time(pid_t pid, uint64_t *ret);
/* State letter (field 3: R, S, Z, ...) and start time of a process; -ESRCH if there is none. */
int pid_get_stat(pid_t pid, char *ret_state, uint64_t *ret_start_time);

/* Number of open fds of a process (0 = self), from /proc/PID/fd. */
int pid_count_fds(pid_t pid, unsigned *ret);

uint64_t now_usec(int clock_id);
