/* berthctl's log reading: prints a container's CRI log file and follows it while the container runs.
 *
 * Each line of the file is one record "<time> stdout|stderr F|P <payload>" (common/cri-log.h).
 * A record's payload goes to our stdout or stderr by its stream, with "\n" after F records, so the
 * container's two streams come back byte for byte; output is written with write(), never printf.
 *
 * Following: WaitContainer is called asynchronously and the file is read whenever inotify says it
 * changed, and every 100 ms anyway (the file may not exist before the first output, and may be
 * rotated). berthd replies to WaitContainer only once the log is complete, so after the reply the
 * rest of the file is read and that is the end. While berthd restarts, WaitContainer fails with
 * NoReply or ServiceUnknown; the container lives on, so the call is made again for up to a minute.
 *
 * The "logs" command lives here too. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <time.h>

/* macro.h (through ctl-bus.h) first: cri-log.h uses EINVAL without including <errno.h> itself. */
#include "ctl-bus-error.h"
#include "ctl-bus.h"
#include "ctl-container.h"
#include "ctl-logs.h"
#include "ctl-util.h"
#include "ctl.h"
#include "cri-log.h"
#include "fd-util.h"

#define READ_CHUNK          ((size_t) 65536)
#define OUTPUT_FLUSH_SIZE   ((size_t) 65536)
#define POLL_INTERVAL_USEC  (100 * USEC_PER_MSEC)
#define WAIT_RETRY_USEC     (250 * USEC_PER_MSEC)
#define WAIT_RETRY_MAX_USEC (60 * USEC_PER_SEC)
#define SIGNALS_BEFORE_GIVING_UP 3U

/* Called for each complete line (without its "\n") at file offset @offset. Returns < 0 on error,
 * > 0 to stop reading, 0 to go on. */
typedef int (*LineHandler)(void *userdata, off_t offset, const char *line, size_t size);

/* Reads a file in chunks and hands out complete lines; keeps an incomplete last line for later. */
typedef struct LineReader {
        int fd;
        off_t offset;           /* file offset of buf[0] */
        char *buf;
        size_t size;
        size_t allocated;
} LineReader;

static void line_reader_done(LineReader *lr) {
        lr->fd = safe_close(lr->fd);
        free(lr->buf);
        lr->buf = NULL;
        lr->size = lr->allocated = 0;
        lr->offset = 0;
}

static int line_reader_seek(LineReader *lr, off_t offset) {
        if (lseek(lr->fd, offset, SEEK_SET) < 0)
                return -errno;
        lr->offset = offset;
        lr->size = 0;
        return 0;
}

static int line_reader_process(LineReader *lr, LineHandler handler, void *userdata) {
        size_t start = 0;
        int r = 0;

        while (start < lr->size) {
                char *nl = memchr(lr->buf + start, '\n', lr->size - start);
                size_t len;

                if (!nl)
                        break;
                len = (size_t) (nl - (lr->buf + start));
                r = handler(userdata, lr->offset + (off_t) start, lr->buf + start, len);
                start += len + 1;
                if (r != 0)
                        break;
        }
        memmove(lr->buf, lr->buf + start, lr->size - start);
        lr->size -= start;
        lr->offset += (off_t) start;
        return r;
}

/* Reads up to the end of the file, handing complete lines to @handler. */
static int line_reader_read(LineReader *lr, LineHandler handler, void *userdata) {
        int r;

        for (;;) {
                ssize_t n;

                if (lr->allocated - lr->size < READ_CHUNK) {
                        char *nb = realloc(lr->buf, lr->size + READ_CHUNK);
                        if (!nb)
                                return -ENOMEM;
                        lr->buf = nb;
                        lr->allocated = lr->size + READ_CHUNK;
                }
                n = read(lr->fd, lr->buf + lr->size, lr->allocated - lr->size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return 0;
                lr->size += (size_t) n;
                r = line_reader_process(lr, handler, userdata);
                if (r != 0)
                        return r;
        }
}

/* Hands out what is left after the last "\n": only when the file is known to be complete. */
static int line_reader_finish(LineReader *lr, LineHandler handler, void *userdata) {
        int r = 0;

        if (lr->size > 0)
                r = handler(userdata, lr->offset, lr->buf, lr->size);
        lr->offset += (off_t) lr->size;
        lr->size = 0;
        return r;
}

/* Turns records into output on fd 1 and 2, batching consecutive bytes of one stream. */
typedef struct LogPrinter {
        bool timestamps;
        bool line_start[_CRI_STREAM_MAX];
        CriStream stream;       /* of what is in out */
        char *out;
        size_t out_size;
        size_t out_allocated;
        int error;              /* first write error */
} LogPrinter;

static void log_printer_init(LogPrinter *p, bool timestamps) {
        *p = (LogPrinter) { .timestamps = timestamps, .stream = CRI_STREAM_STDOUT };
        for (size_t i = 0; i < _CRI_STREAM_MAX; i++)
                p->line_start[i] = true;
}

static void log_printer_done(LogPrinter *p) {
        free(p->out);
        p->out = NULL;
        p->out_size = p->out_allocated = 0;
}

static int log_printer_flush(LogPrinter *p) {
        int r;

        if (p->out_size == 0)
                return p->error;
        r = ctl_write_all(p->stream == CRI_STREAM_STDERR ? STDERR_FILENO : STDOUT_FILENO,
                          p->out, p->out_size);
        p->out_size = 0;
        if (r < 0 && p->error == 0)
                p->error = r;
        return p->error;
}

static int log_printer_emit(LogPrinter *p, CriStream stream, const char *data, size_t size) {
        if (stream != p->stream) {
                (void) log_printer_flush(p);
                p->stream = stream;
        }
        if (p->out_allocated - p->out_size < size) {
                size_t n = MAX(p->out_size + size, p->out_allocated * 2);
                char *nb = realloc(p->out, n);
                if (!nb)
                        return -ENOMEM;
                p->out = nb;
                p->out_allocated = n;
        }
        memcpy(p->out + p->out_size, data, size);
        p->out_size += size;
        if (p->out_size >= OUTPUT_FLUSH_SIZE)
                (void) log_printer_flush(p);
        return 0;
}

static int log_printer_line(void *userdata, off_t offset, const char *line, size_t size) {
        LogPrinter *p = userdata;
        CriRecord rec;
        int r;

        if (cri_log_parse_line(line, size, &rec) < 0 || rec.stream < 0 || rec.stream >= _CRI_STREAM_MAX) {
                if (arg_debug)
                        fprintf(stderr, "berthctl: malformed log line at offset %" PRIi64 ", ignoring\n",
                                (int64_t) offset);
                return 0;
        }
        if (p->timestamps && p->line_start[rec.stream]) {
                r = log_printer_emit(p, rec.stream, rec.timestamp, rec.timestamp_size);
                if (r < 0)
                        return r;
                r = log_printer_emit(p, rec.stream, " ", 1);
                if (r < 0)
                        return r;
        }
        r = log_printer_emit(p, rec.stream, rec.payload, rec.payload_size);
        if (r < 0)
                return r;
        if (!rec.partial) {
                r = log_printer_emit(p, rec.stream, "\n", 1);
                if (r < 0)
                        return r;
        }
        p->line_start[rec.stream] = !rec.partial;
        return 0;
}

/* Counts lines for --tail: a line starts with the first record of a stream after an F record of
 * that stream. The first pass counts them; the second finds where line number @target starts. */
typedef struct TailCounter {
        bool line_start[_CRI_STREAM_MAX];
        uint64_t count;
        uint64_t target;
        bool searching;
        off_t found;
        off_t end;              /* after the last complete line */
} TailCounter;

static int tail_counter_line(void *userdata, off_t offset, const char *line, size_t size) {
        TailCounter *t = userdata;
        CriRecord rec;

        t->end = offset + (off_t) size + 1;
        if (cri_log_parse_line(line, size, &rec) < 0 || rec.stream < 0 || rec.stream >= _CRI_STREAM_MAX)
                return 0;
        if (t->line_start[rec.stream]) {
                if (t->searching && t->count == t->target) {
                        t->found = offset;
                        return 1;
                }
                t->count++;
        }
        t->line_start[rec.stream] = !rec.partial;
        return 0;
}

/* Positions @lr (at the start of its file) on the first of the last @n lines. */
static int apply_tail(LineReader *lr, int64_t n) {
        TailCounter t = { .line_start = { true, true } };
        int r;

        r = line_reader_read(lr, tail_counter_line, &t);
        if (r < 0)
                return r;
        if (n == 0)
                return line_reader_seek(lr, t.end);
        if ((uint64_t) n >= t.count)
                return line_reader_seek(lr, 0);

        t = (TailCounter) {
                .line_start = { true, true },
                .target = t.count - (uint64_t) n,
                .searching = true,
        };
        r = line_reader_seek(lr, 0);
        if (r < 0)
                return r;
        r = line_reader_read(lr, tail_counter_line, &t);
        if (r < 0)
                return r;
        return line_reader_seek(lr, r > 0 ? t.found : 0);
}

/* Opens the log file; 0 if it does not exist (yet). */
static int log_open(const char *path, const CtlLogOptions *options, LineReader *lr, struct stat *ret_st) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return ctl_error_errno(errno, "Failed to open log file '%s': %m", path);
        }
        if (fstat(fd, ret_st) < 0)
                return ctl_error_errno(errno, "Failed to stat log file '%s': %m", path);
        lr->fd = TAKE_FD(fd);
        lr->offset = 0;
        lr->size = 0;
        if (options->tail >= 0) {
                r = apply_tail(lr, options->tail);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to read log file '%s': %m", path);
        }
        return 1;
}

/* Prints what the log file holds now; a missing file is an empty log. An incomplete last line is
 * being written right now and is left out. */
static int logs_print(const char *path, const CtlLogOptions *options) {
        _cleanup_(line_reader_done) LineReader lr = { .fd = -EBADF };
        _cleanup_(log_printer_done) LogPrinter p;
        struct stat st;
        int r;

        log_printer_init(&p, options->timestamps);
        r = log_open(path, options, &lr, &st);
        if (r <= 0)
                return r;
        r = line_reader_read(&lr, log_printer_line, &p);
        if (r < 0)
                return ctl_error_errno(r, "Failed to read log file '%s': %m", path);
        r = log_printer_flush(&p);
        if (r < 0)
                return ctl_error_errno(r, "Failed to write output: %m");
        return 0;
}

typedef struct Follow {
        sd_event *event;
        sd_bus *bus;
        const char *id;
        const char *path;       /* NULL without a log file */
        const CtlLogOptions *options;
        LineReader reader;
        struct stat st;         /* of the open log file */
        bool tail_done;
        LogPrinter printer;
        sd_event_source *timer;
        sd_event_source *inotify;
        sd_event_source *retry;
        sd_bus_slot *wait_slot;
        uint64_t wait_failing_since;
        unsigned n_signals;
        bool done;
        int status;
        int error;
} Follow;

static void follow_done(Follow *f) {
        f->wait_slot = sd_bus_slot_unref(f->wait_slot);
        f->timer = sd_event_source_disable_unref(f->timer);
        f->inotify = sd_event_source_disable_unref(f->inotify);
        f->retry = sd_event_source_disable_unref(f->retry);
        line_reader_done(&f->reader);
        log_printer_done(&f->printer);
        f->event = sd_event_unref(f->event);
}

static void follow_fail(Follow *f, int r) {
        if (f->error == 0)
                f->error = r < 0 ? r : -EIO;
        f->done = true;
}

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata);

static int follow_open(Follow *f) {
        CtlLogOptions options = *f->options;
        int r;

        if (f->reader.fd >= 0)
                return 1;
        /* --tail applies to the file as it is when we first see it, not to a rotated successor. */
        if (f->tail_done)
                options.tail = -1;
        r = log_open(f->path, &options, &f->reader, &f->st);
        if (r <= 0)
                return r;
        f->tail_done = true;
        f->inotify = sd_event_source_disable_unref(f->inotify);
        r = sd_event_add_inotify_fd(f->event, &f->inotify, f->reader.fd, IN_MODIFY, on_inotify, f);
        if (r < 0 && arg_debug)
                fprintf(stderr, "berthctl: inotify on '%s' failed, polling: %s\n", f->path, strerror(-r));
        else if (r >= 0)
                (void) sd_event_source_set_description(f->inotify, "log-inotify");
        return 1;
}

/* Whether the path now names another file than the one we have open (the log was rotated). */
static bool follow_rotated(Follow *f) {
        struct stat st;

        if (stat(f->path, &st) < 0)
                return false;
        return st.st_dev != f->st.st_dev || st.st_ino != f->st.st_ino;
}

/* Reads what is new; @complete when the container has stopped and its log is final. */
static int follow_read(Follow *f, bool complete) {
        struct stat st;
        int r;

        if (!f->path)
                return 0;
        for (;;) {
                bool rotated;

                r = follow_open(f);
                if (r <= 0)
                        return r;
                /* Truncated under us (copytruncate rotation): start over. */
                if (fstat(f->reader.fd, &st) >= 0 && st.st_size < f->reader.offset + (off_t) f->reader.size)
                        (void) line_reader_seek(&f->reader, 0);
                rotated = follow_rotated(f);
                r = line_reader_read(&f->reader, log_printer_line, &f->printer);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to read log file '%s': %m", f->path);
                if (!rotated && !complete)
                        break;
                /* The old file is done: its writer has moved on (or the container stopped). */
                r = line_reader_finish(&f->reader, log_printer_line, &f->printer);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to read log file '%s': %m", f->path);
                if (!rotated)
                        break;
                line_reader_done(&f->reader);
                f->inotify = sd_event_source_disable_unref(f->inotify);
        }
        r = log_printer_flush(&f->printer);
        if (r < 0)
                return ctl_error_errno(r, "Failed to write output: %m");
        return 0;
}

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Follow *f = userdata;
        int r;

        r = follow_read(f, false);
        if (r < 0)
                follow_fail(f, r);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Follow *f = userdata;
        int r;

        r = follow_read(f, false);
        if (r < 0) {
                follow_fail(f, r);
                return 0;
        }
        r = sd_event_source_set_time_relative(s, POLL_INTERVAL_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0)
                follow_fail(f, ctl_error_errno(r, "Failed to rearm timer: %m"));
        return 0;
}

static int follow_call_wait(Follow *f);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Follow *f = userdata;
        int r;

        f->retry = sd_event_source_disable_unref(f->retry);
        r = follow_call_wait(f);
        if (r < 0)
                follow_fail(f, r);
        return 0;
}

static int on_wait_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        Follow *f = userdata;
        int32_t status;
        int r;

        f->wait_slot = sd_bus_slot_unref(f->wait_slot);

        if (e) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);

                if (f->wait_failing_since == 0)
                        f->wait_failing_since = now;
                if (ctl_bus_error_is_transient(e) && now - f->wait_failing_since < WAIT_RETRY_MAX_USEC) {
                        r = sd_event_add_time_relative(f->event, &f->retry, CLOCK_MONOTONIC,
                                                       WAIT_RETRY_USEC, 0, on_retry, f);
                        if (r < 0)
                                follow_fail(f, ctl_error_errno(r, "Failed to add timer: %m"));
                        return 0;
                }
                r = ctl_bus_error(f->bus, e, sd_bus_message_get_errno(m), "WaitContainer", f->id);
                follow_fail(f, r);
                return 0;
        }

        r = sd_bus_message_read(m, "i", &status);
        if (r < 0) {
                follow_fail(f, ctl_error_errno(r, "Failed to parse WaitContainer reply: %m"));
                return 0;
        }
        f->status = status;
        r = follow_read(f, true);
        if (r < 0) {
                follow_fail(f, r);
                return 0;
        }
        f->done = true;
        return 0;
}

static int follow_call_wait(Follow *f) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = ctl_new_call(f->bus, "WaitContainer", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", f->id);
        if (r < 0)
                return ctl_error_errno(r, "Failed to build WaitContainer call: %m");
        r = sd_bus_call_async(f->bus, &f->wait_slot, m, on_wait_reply, f, CTL_TIMEOUT_INFINITE);
        if (r < 0)
                return ctl_error_errno(r, "Failed to call WaitContainer: %m");
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Follow *f = userdata;
        int r;

        if (++f->n_signals >= SIGNALS_BEFORE_GIVING_UP) {
                follow_fail(f, ctl_error_errno(EINTR, "Interrupted; container '%s' may still be running",
                                               f->id));
                return 0;
        }
        r = sd_bus_call_method_async(f->bus, NULL, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE,
                                     "KillContainer", NULL, NULL, "sib", f->id, (int) si->ssi_signo, 0);
        if (r < 0)
                (void) ctl_error_errno(r, "Failed to forward signal to container '%s': %m", f->id);
        return 0;
}

static int follow_setup(Follow *f, bool forward_signals, const sigset_t *signals) {
        int r;

        r = sd_event_new(&f->event);
        if (r < 0)
                return ctl_error_errno(r, "Failed to allocate event loop: %m");
        r = sd_bus_attach_event(f->bus, f->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return ctl_error_errno(r, "Failed to attach bus to event loop: %m");
        if (f->path) {
                r = sd_event_add_time_relative(f->event, &f->timer, CLOCK_MONOTONIC, POLL_INTERVAL_USEC, 0,
                                               on_timer, f);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to add timer: %m");
                (void) sd_event_source_set_description(f->timer, "log-poll");
        }
        if (forward_signals)
                for (int sig = 1; sig < _NSIG; sig++) {
                        if (!sigismember(signals, sig))
                                continue;
                        r = sd_event_add_signal(f->event, NULL, sig, on_signal, f);
                        if (r < 0)
                                return ctl_error_errno(r, "Failed to watch signal %i: %m", sig);
                }
        return follow_call_wait(f);
}

/**
 * ctl_logs_follow() - print a container's log until it has stopped.
 * @bus: the connection; attached to an event loop for the duration of the call.
 * @id: the container.
 * @path: its CRI log file, or NULL or "" when it has none (then this only waits).
 * @options: --timestamps and --tail.
 * @forward_signals: whether SIGINT, SIGTERM and SIGHUP are sent on to the container (for "run");
 *   on the third one berthctl gives up and returns an error, leaving the container be.
 * @ret_status: the container's exit status, from WaitContainer (may be NULL).
 *
 * Return: 0, or a negative errno (printed).
 */
int ctl_logs_follow(sd_bus *bus, const char *id, const char *path, const CtlLogOptions *options,
                    bool forward_signals, int *ret_status) {
        _cleanup_(follow_done) Follow f = {
                .bus = bus,
                .id = id,
                .path = isempty(path) ? NULL : path,
                .options = options,
                .reader.fd = -EBADF,
        };
        sigset_t signals, saved;
        int r;

        log_printer_init(&f.printer, options->timestamps);

        sigemptyset(&signals);
        if (forward_signals) {
                sigaddset(&signals, SIGINT);
                sigaddset(&signals, SIGTERM);
                sigaddset(&signals, SIGHUP);
        }
        /* sd-event wants the signals it watches blocked. */
        if (sigprocmask(SIG_BLOCK, &signals, &saved) < 0)
                return ctl_error_errno(errno, "Failed to block signals: %m");

        r = follow_setup(&f, forward_signals, &signals);
        if (r >= 0) {
                /* Print what is there already without waiting for the first tick. */
                r = follow_read(&f, false);
                /* Not sd_event_loop(): leaving it through sd_event_exit() would make sd-bus close
                 * the connection, which "run --rm" still needs. */
                while (r >= 0 && !f.done) {
                        r = sd_event_run(f.event, UINT64_MAX);
                        if (r < 0)
                                r = ctl_error_errno(r, "Event loop failed: %m");
                }
        }

        (void) sd_bus_detach_event(bus);
        follow_done(&f);
        (void) sigprocmask(SIG_SETMASK, &saved, NULL);

        if (r < 0)
                return r;
        if (f.error < 0)
                return f.error;
        if (ret_status)
                *ret_status = f.status;
        return 0;
}

typedef struct LogsArgs {
        bool follow;
        CtlLogOptions options;
} LogsArgs;

static int logs_option(int option, const char *arg, void *userdata) {
        LogsArgs *args = userdata;
        uint64_t u;

        switch (option) {
        case 'f':
                args->follow = true;
                return 0;
        case 't':
                args->options.timestamps = true;
                return 0;
        case 'n':
                if (streq(arg, "all"))
                        args->options.tail = -1;
                else if (ctl_parse_unsigned(arg, &u) >= 0 && u <= INT64_MAX)
                        args->options.tail = (int64_t) u;
                else
                        return ctl_usage_error("Invalid line count '%s'", arg);
                return 0;
        default:
                return ctl_usage_error("Cannot parse options");
        }
}

/**
 * ctl_cmd_logs() - "berthctl logs [-f] [-t] [-n N] ID".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Writes the container's output from its CRI log file, stdout records to stdout and stderr
 * records to stderr, byte for byte. With -f goes on until the container has stopped.
 *
 * Return: exit status, or a negative errno (printed).
 */
int ctl_cmd_logs(int argc, char *argv[]) {
        static const struct option long_options[] = {
                { "follow",     no_argument,       NULL, 'f' },
                { "timestamps", no_argument,       NULL, 't' },
                { "tail",       required_argument, NULL, 'n' },
                CTL_OPTION_HELP,
                {}
        };
        static const CtlOptions options = {
                .short_options = "ftn:h",
                .long_options = long_options,
                .help = "Usage: berthctl logs [OPTIONS] ID\n"
                        "\n"
                        "Print a container's output from its log file, stdout to stdout and stderr\n"
                        "to stderr.\n"
                        "\n"
                        "Options:\n"
                        "  -f, --follow       Go on printing new output until the container stops\n"
                        "  -t, --timestamps   Start every line with the time it was logged\n"
                        "  -n, --tail=N       Print only the last N lines ('all' for everything)\n"
                        "  -h, --help         Show this help\n",
                .handle = logs_option,
                .min_operands = 1,
                .max_operands = 1,
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_container_done) CtlContainer c = { .exit_status = -1 };
        LogsArgs args = { .options.tail = -1 };
        int r;

        r = ctl_parse_options(argc, argv, &options, &args);
        if (r != 1)
                return r;

        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        r = ctl_container_get(bus, argv[optind], &c);
        if (r < 0)
                return r;
        if (isempty(c.log_path))
                return ctl_error_errno(ENOENT, "Container '%s' has no log file (log driver not 'file')",
                                       c.id);
        if (args.follow)
                return ctl_logs_follow(bus, c.id, c.log_path, &args.options, false, NULL);
        return logs_print(c.log_path, &args.options);
}
