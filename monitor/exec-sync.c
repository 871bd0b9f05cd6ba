/* ExecSync (a CRI probe): an exec process whose stdout and stderr are pipes of berthd's, read here
 * up to MaxOutputBytes each (the rest is read and dropped, so the process never blocks), answered
 * with (status, stdout, stderr) once the process exited and its output ended. With a Timeout the
 * process is SIGKILLed when it passes, and the call fails with org.berth.Error.Timeout. Either way
 * the process is deleted afterwards: nothing stays behind. Its exec id starts with '.', so it is
 * never on the bus. */

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <unistd.h>

#include "bus-error.h"
#include "bus-options.h"
#include "container.h"
#include "exec-sync.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "process-spec.h"
#include "process.h"

/* After the process exited, how long its output may take to end (a child of it may hold a pipe). */
#define EXEC_SYNC_DRAIN_USEC (2 * USEC_PER_SEC)
#define EXEC_SYNC_READ_SIZE (64U * 1024U)

typedef struct ExecSyncStream {
        ExecSync *sync;
        int fd;
        sd_event_source *source;
        char *data;
        size_t size;
        uint64_t dropped;
} ExecSyncStream;

struct ExecSync {
        Manager *manager;
        Process *process;
        sd_bus_message *request;
        uint64_t timeout_usec;
        uint64_t max_output;
        ExecSyncStream streams[2];      /* stdout, stderr */
        sd_event_source *timeout_source;
        sd_event_source *drain_source;
        bool timed_out;
        LIST_FIELDS(ExecSync, syncs);
};

typedef struct ExecSyncOptions {
        uint64_t timeout;
        uint64_t max_output_bytes;
} ExecSyncOptions;

static const BusOption exec_sync_options[] = {
        { "Timeout", "t", offsetof(ExecSyncOptions, timeout) },
        { "MaxOutputBytes", "t", offsetof(ExecSyncOptions, max_output_bytes) },
        BUS_OPTIONS_END
};

/**
 * exec_sync_free() - forget an ExecSync call (its request is answered already, or never will be)
 * @s: the call, may be NULL
 */
ExecSync *exec_sync_free(ExecSync *s) {
        if (!s)
                return NULL;
        if (s->process)
                s->process->sync = NULL;
        for (size_t i = 0; i < 2; i++) {
                sd_event_source_disable_unref(s->streams[i].source);
                safe_close(s->streams[i].fd);
                free(s->streams[i].data);
        }
        sd_event_source_disable_unref(s->timeout_source);
        sd_event_source_disable_unref(s->drain_source);
        sd_bus_message_unref(s->request);
        if (s->manager)
                LIST_REMOVE(syncs, s->manager->exec_syncs, s);
        return mfree(s);
}

static bool exec_sync_drained(const ExecSync *s) {
        return s->streams[0].fd < 0 && s->streams[1].fd < 0;
}

/* Answers the caller, deletes the process and frees @s. */
static void exec_sync_finish(ExecSync *s) {
        Process *p = s->process;
        int r;

        if (s->timed_out)
                r = sd_bus_reply_method_errorf(s->request, BERTH_ERROR_TIMEOUT,
                                               "The process did not finish within %" PRIu64 " ms and was killed.",
                                               s->timeout_usec / USEC_PER_MSEC);
        else {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

                r = sd_bus_message_new_method_return(s->request, &reply);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "i", p->exit.status);
                for (size_t i = 0; i < 2 && r >= 0; i++)
                        r = sd_bus_message_append_array(reply, 'y', s->streams[i].data ?: "", s->streams[i].size);
                if (r >= 0)
                        r = sd_bus_send(NULL, reply, NULL);
        }
        if (r < 0)
                log_container_errno(LOG_DEBUG, p->container->id, r, "Failed to answer ExecSync, ignoring: %m");

        s->process = NULL;
        p->sync = NULL;
        exec_sync_free(s);
        (void) process_delete(p, NULL);
}

static void stream_close(ExecSyncStream *st) {
        st->source = sd_event_source_disable_unref(st->source);
        st->fd = safe_close(st->fd);
}

static int on_stream(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        ExecSyncStream *st = userdata;
        ExecSync *s = st->sync;
        char buf[EXEC_SYNC_READ_SIZE];
        ssize_t n;

        n = read(fd, buf, sizeof(buf));
        if (n < 0 && IN_SET(errno, EAGAIN, EINTR))
                return 0;
        if (n <= 0) {
                stream_close(st);
                if (s->process && s->process->exited && exec_sync_drained(s))
                        exec_sync_finish(s);
                return 0;
        }

        if (st->size < s->max_output) {
                size_t take = MIN((size_t) n, (size_t) (s->max_output - st->size));
                char *d = realloc(st->data, st->size + take);

                if (!d)
                        return log_oom();
                st->data = d;
                memcpy(st->data + st->size, buf, take);
                st->size += take;
                st->dropped += (size_t) n - take;
        } else
                st->dropped += (size_t) n;
        return 0;
}

static int on_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        ExecSync *s = userdata;

        s->timed_out = true;
        if (s->process && !s->process->exited)
                (void) process_kill(s->process, SIGKILL, NULL);
        return 0;
}

static int on_drain_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        ExecSync *s = userdata;

        for (size_t i = 0; i < 2; i++)
                stream_close(&s->streams[i]);
        exec_sync_finish(s);
        return 0;
}

/**
 * exec_sync_process_exited() - the process ended: answer once its output ended too
 * @s: the call
 */
void exec_sync_process_exited(ExecSync *s) {
        int r;

        if (exec_sync_drained(s)) {
                exec_sync_finish(s);
                return;
        }
        r = sd_event_add_time_relative(s->manager->event, &s->drain_source, CLOCK_MONOTONIC, EXEC_SYNC_DRAIN_USEC,
                                       0, on_drain_timeout, s);
        if (r < 0)
                on_drain_timeout(NULL, 0, s);
}

/**
 * exec_sync_process_gone() - the process went away with its container: fail the call
 * @s: the call
 */
void exec_sync_process_gone(ExecSync *s) {
        bool stopping = s->manager->shutting_down;

        (void) sd_bus_reply_method_errorf(s->request, stopping ? SD_BUS_ERROR_NO_REPLY : BERTH_ERROR_NO_SUCH_CONTAINER,
                                          stopping ? "berthd is stopping." : "The container went away.");
        exec_sync_free(s);
}

/**
 * exec_sync_failed() - the shim could not run the process: fail the call with its error
 * @s: the call
 * @e: the shim's error
 */
void exec_sync_failed(ExecSync *s, const sd_bus_error *e) {
        (void) sd_bus_reply_method_error(s->request, e);
        exec_sync_free(s);
}

static int exec_sync_pipes(ExecSync *s, int ret_write[2]) {
        for (size_t i = 0; i < 2; i++) {
                int p[2], r;

                if (pipe2(p, O_CLOEXEC) < 0)
                        return -errno;
                s->streams[i] = (ExecSyncStream) { .sync = s, .fd = p[0] };
                ret_write[i] = p[1];
                r = fd_set_nonblock(p[0], true);
                if (r >= 0)
                        r = sd_event_add_io(s->manager->event, &s->streams[i].source, p[0], EPOLLIN, on_stream,
                                            &s->streams[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/**
 * exec_sync_start() - ExecSync(id, process_json, options): run a process to its end
 * @c: the container, running, attached
 * @process_json: the caller's process object
 * @request: the call, positioned at its options; answered later
 * @error: set for the caller's mistakes
 *
 * Return: 1 (answered later) or a negative errno.
 */
int exec_sync_start(Container *c, const char *process_json, sd_bus_message *request, sd_bus_error *error) {
        ExecSyncOptions o = { .max_output_bytes = EXEC_SYNC_OUTPUT_DEFAULT_MAX };
        _cleanup_(exec_sync_freep) ExecSync *s = NULL;
        _cleanup_free_ char *json = NULL, *exec_id = NULL;
        int write_fds[2] = { -EBADF, -EBADF }, stdio[3];
        Manager *m = c->manager;
        bool terminal;
        int r;

        r = bus_options_read(request, exec_sync_options, &o, error);
        if (r < 0)
                return r;
        r = process_spec_build(c->config->bundle, process_json, &json, &terminal, error);
        if (r < 0)
                return r;
        if (terminal)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT, "ExecSync takes no terminal.");
        if (asprintf(&exec_id, ".sync-%" PRIu64, ++m->exec_sync_counter) < 0)
                return -ENOMEM;

        s = calloc(1, sizeof(ExecSync));
        if (!s)
                return -ENOMEM;
        s->manager = m;
        LIST_PREPEND(syncs, m->exec_syncs, s);
        s->streams[0].fd = s->streams[1].fd = -EBADF;
        s->timeout_usec = o.timeout;
        s->max_output = o.max_output_bytes;

        r = exec_sync_pipes(s, write_fds);
        if (r >= 0) {
                stdio[0] = -EBADF;
                stdio[1] = write_fds[0];
                stdio[2] = write_fds[1];
                r = container_exec(c, exec_id, json, false, false, stdio, true, NULL, &s->process);
        }
        /* The call holds copies: the ends left here must close, or EOF never comes. */
        safe_close(write_fds[0]);
        safe_close(write_fds[1]);
        if (r < 0)
                return r;
        s->process->sync = s;

        if (o.timeout > 0) {
                r = sd_event_add_time_relative(m->event, &s->timeout_source, CLOCK_MONOTONIC, o.timeout, 0,
                                               on_timeout, s);
                if (r < 0)
                        return r;
        }
        s->request = sd_bus_message_ref(request);
        TAKE_PTR(s);
        return 1;
}
