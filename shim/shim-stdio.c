/* The container's stdout and stderr.
 *
 * Unless the client passed its own fds, each stream is a pipe the shim owns: the write end goes to
 * the runtime's create (and so to the container's init), the read end is nonblocking and watched
 * by the event loop. Every read() (up to 256 KiB) is stamped with one CLOCK_REALTIME reading,
 * turned into CRI records and appended to the log file with one write loop; the record buffer is
 * reused, so steady-state logging allocates nothing. After SHIM_BUFFERS_IDLE_USEC without output
 * both buffers' pages are given back, so a quiet shim stays small. A stream is done at EOF, i.e.
 * when every process holding its write end has gone; shim-exit.c waits for that before reporting
 * the exit.
 *
 * A full log filesystem: the log gets whole records or nothing. When a write is cut short, the file
 * (which only the shim appends to) is cut back to the end of the last whole record, and the stream
 * bytes of the records that did not make it are counted in log_bytes_dropped (GetState, and the
 * LogDropped signal, shim-control.c). Every later chunk is tried again, so output is written again
 * as soon as there is room. The drop is logged once when it starts and once when it ends, not per
 * chunk. The common case costs nothing extra: one write per chunk, as before. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "caller-path.h"
#include "fd-util.h"
#include "journal-send.h"
#include "log.h"
#include "shim.h"

/* How many reads one dispatch does at most, so one busy stream can't starve the rest of the loop. */
#define STREAM_READS_PER_DISPATCH 16
/* How many reads the final drain does at most (something else may still be writing). */
#define STREAM_DRAIN_READS_MAX 256

static const char *log_target(const Shim *s) {
        return s->config->log_driver == LOG_DRIVER_FILE && s->config->log_path ? s->config->log_path :
                                                                                 "the journal";
}

/* Output the log driver could not write: counted, and logged once per episode. */
static void log_dropped(Shim *s, uint64_t bytes, int error) {
        if (bytes == 0)
                return;
        s->log_bytes_dropped += bytes;
        if (!s->log_dropping) {
                s->log_dropping = true;
                if (ratelimit_below(&s->log_ratelimit))
                        log_container_errno(LOG_ERR, s->config->id, error,
                                            "Failed to write the output of '%s' to %s: %m. Output is dropped "
                                            "(and counted) until it can be written again.",
                                            s->config->id, log_target(s));
        }
        shim_control_log_dropped(s);
}

static void log_resumed(Shim *s) {
        s->log_dropping = false;
        if (ratelimit_below(&s->log_ratelimit))
                log_container(LOG_NOTICE, s->config->id,
                              "Writing the output of '%s' to %s again; %" PRIu64 " bytes were dropped so far.",
                              s->config->id, log_target(s), s->log_bytes_dropped);
}

/* Removes the piece of a record a cut-short write left at the end of the log (only the shim
 * appends to it, so it is the file's last @torn bytes). Returns 0, or -errno if it is still there. */
static int log_file_cut_torn(Shim *s, size_t torn) {
        struct stat st;

        if (fstat(s->log_fd, &st) < 0)
                return -errno;
        /* Something else cut the file meanwhile (logrotate's copytruncate): nothing of ours is left. */
        if ((uint64_t) st.st_size < torn)
                return 0;
        if (ftruncate(s->log_fd, st.st_size - (off_t) torn) < 0)
                return -errno;
        return 0;
}

/* Appends the records in @data, all of them or as many whole ones as fit. Returns how many bytes of
 * @data are in the file now (a record boundary); @ret_error says why the rest is not. */
static size_t log_file_write(Shim *s, const char *data, size_t size, int *ret_error) {
        size_t done = 0, whole;
        int r;

        /* A torn record that could not be cut off before would make the next line malformed. */
        if (s->log_torn > 0) {
                r = log_file_cut_torn(s, s->log_torn);
                if (r < 0) {
                        *ret_error = r;
                        return 0;
                }
                s->log_torn = 0;
        }

        while (done < size) {
                ssize_t n = write(s->log_fd, data + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        *ret_error = -errno;
                        break;
                }
                if (n == 0) {
                        *ret_error = -ENOSPC;
                        break;
                }
                done += (size_t) n;
        }
        if (done == size)
                return size;

        whole = cri_log_records_end(data, done);
        if (whole < done && log_file_cut_torn(s, done - whole) < 0)
                s->log_torn = done - whole;
        return whole;
}

static void log_file_append(Shim *s, CriStream type, const char *data, size_t size) {
        struct timespec ts;
        size_t written;
        int r;

        if (s->log_fd < 0)
                return;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        s->cri.size = 0;
        r = cri_log_format(&s->cri, type, &ts, data, size);
        if (r < 0) {
                log_dropped(s, size, r);
                return;
        }

        written = log_file_write(s, s->cri.data, s->cri.size, &r);
        if (written == s->cri.size) {
                if (_unlikely_(s->log_dropping))
                        log_resumed(s);
                return;
        }
        log_dropped(s, cri_log_stream_bytes(s->cri.data + written, s->cri.size - written), r);
}

static void journal_append(Shim *s, CriStream type, const char *data, size_t size) {
        const char *end = data + size;
        char f_priority[16], f_ident[160], f_id[160], f_stream[32];
        struct iovec iov[5];

        (void) snprintf(f_priority, sizeof(f_priority), "PRIORITY=%d",
                        type == CRI_STREAM_STDERR ? LOG_ERR : LOG_INFO);
        (void) snprintf(f_ident, sizeof(f_ident), "SYSLOG_IDENTIFIER=%s", s->config->id);
        (void) snprintf(f_id, sizeof(f_id), "CONTAINER_ID=%s", s->config->id);
        (void) snprintf(f_stream, sizeof(f_stream), "CONTAINER_STREAM=%s", cri_stream_to_string(type));
        iov[1] = (struct iovec) { .iov_base = f_priority, .iov_len = strlen(f_priority) };
        iov[2] = (struct iovec) { .iov_base = f_ident, .iov_len = strlen(f_ident) };
        iov[3] = (struct iovec) { .iov_base = f_id, .iov_len = strlen(f_id) };
        iov[4] = (struct iovec) { .iov_base = f_stream, .iov_len = strlen(f_stream) };

        /* One journal entry per line; a trailing piece without newline is an entry of its own. */
        while (data < end) {
                const char *nl = memchr(data, '\n', (size_t) (end - data));
                size_t len = (nl ? nl : end) - data;
                _cleanup_free_ char *message = malloc(len + 8);
                int r = -ENOMEM;

                if (message) {
                        memcpy(mempcpy(message, "MESSAGE=", 8), data, len);
                        iov[0] = (struct iovec) { .iov_base = message, .iov_len = len + 8 };
                        r = journal_sendv(iov, ELEMENTSOF(iov));
                }
                if (r < 0)
                        log_dropped(s, len + (nl ? 1 : 0), r);
                else if (_unlikely_(s->log_dropping))
                        log_resumed(s);
                data += len + (nl ? 1 : 0);
        }
}

static void stream_consume(Shim *s, CriStream type, const char *data, size_t size) {
        switch (s->config->log_driver) {
        case LOG_DRIVER_FILE:
                log_file_append(s, type, data, size);
                break;
        case LOG_DRIVER_JOURNALD:
                journal_append(s, type, data, size);
                break;
        default:
                /* LOG_DRIVER_NONE: read only so the container never blocks on a full pipe. */
                break;
        }
}

static void stream_close(ShimStream *st) {
        st->source = event_source_free(st->source);
        st->fd = safe_close(st->fd);
        st->eof = true;
}

/* One read. Returns 1 if more data may be waiting, 0 if not (or the stream ended). */
static int stream_read_once(ShimStream *st) {
        Shim *s = st->shim;
        ssize_t n;

        n = read(st->fd, s->read_buffer, SHIM_READ_BUFFER_SIZE);
        if (n < 0) {
                if (errno == EINTR)
                        return 1;
                if (errno == EAGAIN)
                        return 0;
                log_container_errno(LOG_WARNING, s->config->id, errno,
                                    "Failed to read the %s of '%s', closing it: %m",
                                    cri_stream_to_string(st->type), s->config->id);
                stream_close(st);
                return 0;
        }
        if (n == 0) {
                log_container(LOG_DEBUG, s->config->id, "End of %s.", cri_stream_to_string(st->type));
                stream_close(st);
                return 0;
        }

        stream_consume(s, st->type, s->read_buffer, (size_t) n);
        s->buffers_used = true;
        s->last_read_usec = now_usec(CLOCK_MONOTONIC);

        /* A short read emptied the pipe; don't spend a syscall to learn that. */
        return (size_t) n == SHIM_READ_BUFFER_SIZE;
}

/* The read buffer and the CRI record buffer keep the pages a burst of output touched; a quiet
 * container gives them back, so an idle shim stays small whatever its container once wrote. */
static int on_buffers_idle(EventSource *source, void *userdata) {
        Shim *s = userdata;
        uint64_t idle = now_usec(CLOCK_MONOTONIC) - s->last_read_usec;
        int r;

        s->buffers_idle_source = event_source_free(s->buffers_idle_source);
        if (idle < SHIM_BUFFERS_IDLE_USEC) {
                r = event_add_timer(s->loop, &s->buffers_idle_source, SHIM_BUFFERS_IDLE_USEC - idle,
                                    on_buffers_idle, s);
                if (r >= 0)
                        return 0;
        }

        (void) madvise(s->read_buffer, SHIM_READ_BUFFER_SIZE, MADV_DONTNEED);
        cri_buffer_done(&s->cri);
        s->buffers_used = false;
        return 0;
}

static int on_stream_io(EventSource *source, int fd, uint32_t revents, void *userdata) {
        ShimStream *st = userdata;
        Shim *s = st->shim;

        for (unsigned i = 0; i < STREAM_READS_PER_DISPATCH && st->fd >= 0; i++)
                if (stream_read_once(st) == 0)
                        break;

        if (s->buffers_used && !s->buffers_idle_source)
                (void) event_add_timer(s->loop, &s->buffers_idle_source, SHIM_BUFFERS_IDLE_USEC,
                                       on_buffers_idle, s);

        if (st->eof)
                shim_exit_check(st->shim);
        return 0;
}

/**
 * shim_stdio_setup() - open the log file and create the container's output pipes
 * @s: the shim, with its config loaded; a stream whose child_fd is set was passed by the client
 *
 * Return: 0 or -errno (logged).
 */
int shim_stdio_setup(Shim *s) {
        const ContainerConfig *c = s->config;

        /* Page-aligned, so that on_buffers_idle() can give all of it back. */
        s->read_buffer = mmap(NULL, SHIM_READ_BUFFER_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
        if (s->read_buffer == MAP_FAILED) {
                s->read_buffer = NULL;
                return log_oom();
        }

        if (c->log_driver == LOG_DRIVER_FILE && c->log_path) {
                _cleanup_close_ int state_root_fd = -EBADF;
                int r;

                /* berthd checked the path; check again, as it may have changed since. The parent
                 * directory is berthd's to create. No log may land in the state directory. */
                state_root_fd = openat(s->dir_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (state_root_fd < 0)
                        return log_container_errno(LOG_ERR, c->id, errno, "Failed to open the state directory: %m");
                r = log_path_open(c->log_path, state_root_fd, LOG_PATH_CREATE, &s->log_fd);
                if (r < 0)
                        return log_container_errno(LOG_ERR, c->id, r, "Failed to open log file '%s', which %s.",
                                                   c->log_path, log_path_strerror(r));
        }

        for (CriStream t = 0; t < _CRI_STREAM_MAX; t++) {
                ShimStream *st = &s->streams[t];
                int pipefd[2];

                if (st->child_fd >= 0) {
                        /* The client's own fd: the container writes there directly, nothing to log. */
                        st->eof = true;
                        continue;
                }

                if (pipe2(pipefd, O_CLOEXEC) < 0)
                        return log_container_errno(LOG_ERR, c->id, errno, "Failed to create a pipe: %m");
                st->fd = pipefd[0];
                st->child_fd = pipefd[1];

                /* Bigger pipes mean fewer wakeups and a container that rarely waits for us. */
                if (fcntl(st->fd, F_SETPIPE_SZ, SHIM_PIPE_SIZE) < 0)
                        log_container_errno(LOG_DEBUG, c->id, errno,
                                            "Failed to enlarge the %s pipe, ignoring: %m",
                                            cri_stream_to_string(t));

                if (fd_set_nonblock(st->fd, true) < 0)
                        return log_container_errno(LOG_ERR, c->id, errno,
                                                   "Failed to make the %s pipe nonblocking: %m",
                                                   cri_stream_to_string(t));
        }

        return 0;
}

/**
 * shim_stdio_start() - after create: drop our copies of the container's stdio and watch its output
 * @s: the shim
 *
 * Return: 0 or -errno.
 */
int shim_stdio_start(Shim *s) {
        int r;

        /* Only the container may hold the write ends, else EOF never comes. */
        s->child_stdin_fd = safe_close(s->child_stdin_fd);
        for (CriStream t = 0; t < _CRI_STREAM_MAX; t++)
                s->streams[t].child_fd = safe_close(s->streams[t].child_fd);

        for (CriStream t = 0; t < _CRI_STREAM_MAX; t++) {
                ShimStream *st = &s->streams[t];

                if (st->fd < 0)
                        continue;

                r = event_add_io(s->loop, &st->source, st->fd, EPOLLIN, on_stream_io, st);
                if (r < 0)
                        return r;
        }

        return 0;
}

/**
 * shim_stdio_drain() - read what is readable now and stop waiting for EOF
 * @s: the shim
 *
 * For when the init has exited but some other process keeps a pipe open.
 */
void shim_stdio_drain(Shim *s) {
        for (CriStream t = 0; t < _CRI_STREAM_MAX; t++) {
                ShimStream *st = &s->streams[t];

                for (unsigned i = 0; i < STREAM_DRAIN_READS_MAX && st->fd >= 0; i++) {
                        ssize_t n = read(st->fd, s->read_buffer, SHIM_READ_BUFFER_SIZE);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        stream_consume(s, st->type, s->read_buffer, (size_t) n);
                }

                if (st->fd >= 0) {
                        log_container(LOG_DEBUG, s->config->id, "Stopped waiting for the end of %s.",
                                      cri_stream_to_string(t));
                        stream_close(st);
                }
        }
}

/**
 * shim_stdio_is_drained() - whether all output the shim owns has reached EOF
 * @s: the shim
 *
 * Return: true when no stream can bring more data.
 */
bool shim_stdio_is_drained(const Shim *s) {
        for (CriStream t = 0; t < _CRI_STREAM_MAX; t++)
                if (s->streams[t].fd >= 0 && !s->streams[t].eof)
                        return false;
        return true;
}

/**
 * shim_stdio_done() - release the pipes, the log file and the buffers
 * @s: the shim
 */
void shim_stdio_done(Shim *s) {
        for (CriStream t = 0; t < _CRI_STREAM_MAX; t++) {
                ShimStream *st = &s->streams[t];

                st->source = event_source_free(st->source);
                st->fd = safe_close(st->fd);
                st->child_fd = safe_close(st->child_fd);
        }
        s->child_stdin_fd = safe_close(s->child_stdin_fd);
        s->log_fd = safe_close(s->log_fd);
        s->buffers_idle_source = event_source_free(s->buffers_idle_source);
        if (s->read_buffer)
                (void) munmap(s->read_buffer, SHIM_READ_BUFFER_SIZE);
        s->read_buffer = NULL;
        cri_buffer_done(&s->cri);
}
