/* Watching a process that may not be our child.
 *
 * A pidfd says exactly when the process has exited and signals only that process. Where there are
 * no pidfds (kernels before 5.3, valgrind 3.19; $BERTH_NO_PIDFD=1 forces this path for tests), the
 * process is known by its pid and its start time: a timer looks at /proc/PID/stat four times a
 * second, and a recycled pid (other start time) or a zombie counts as exited. A signal is sent only
 * after the start time was checked, which leaves a window of one system call. */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "fd-util.h"
#include "log.h"
#include "process-watch.h"

#define PROCESS_POLL_USEC (250 * USEC_PER_MSEC)

struct ProcessWatch {
        pid_t pid;
        uint64_t start_time;            /* clock ticks since boot */
        int pidfd;                      /* -EBADF on the pid + start time path */
        sd_event_source *source;        /* the pidfd's io, or the poll timer */
        process_watch_handler_t handler;
        void *userdata;
        bool exited;
};

static bool pidfds_disabled(void) {
        const char *e = getenv("BERTH_NO_PIDFD");

        return e && streq(e, "1");
}

/* Whether the process is gone: exited (a zombie counts), or its pid now names another process. */
static bool process_gone(const ProcessWatch *w) {
        uint64_t start_time;
        char state;
        int r;

        r = pid_get_stat(w->pid, &state, &start_time);
        if (r == -ESRCH)
                return true;
        if (r < 0)
                return false;
        return start_time != w->start_time || IN_SET(state, 'Z', 'X', 'x');
}

static void process_watch_fire(ProcessWatch *w) {
        w->exited = true;
        w->source = sd_event_source_disable_unref(w->source);
        w->handler(w, w->userdata);
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        process_watch_fire(userdata);
        return 0;
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        ProcessWatch *w = userdata;

        int r;

        if (process_gone(w)) {
                process_watch_fire(w);
                return 0;
        }
        r = sd_event_source_set_time_relative(s, PROCESS_POLL_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return r;
}

/**
 * process_watch_new() - call @handler once the process @pid has exited
 * @e: the event loop
 * @pid: the process, alive now
 * @handler: called once, when it has exited
 * @userdata: for @handler
 * @ret: the watch
 *
 * Return: 0, -ESRCH if @pid does not exist, or another negative errno.
 */
int process_watch_new(sd_event *e, pid_t pid, process_watch_handler_t handler, void *userdata,
                      ProcessWatch **ret) {
        _cleanup_(process_watch_freep) ProcessWatch *w = NULL;
        int r;

        if (pid <= 0)
                return -EINVAL;
        w = calloc(1, sizeof(ProcessWatch));
        if (!w)
                return -ENOMEM;
        w->pid = pid;
        w->handler = handler;
        w->userdata = userdata;
        w->pidfd = pidfds_disabled() ? -ENOSYS : pidfd_open_pid(pid);
        if (w->pidfd == -ESRCH)
                return -ESRCH;

        if (w->pidfd >= 0) {
                r = sd_event_add_io(e, &w->source, w->pidfd, EPOLLIN, on_pidfd, w);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(w->source, "process-pidfd");
        } else {
                r = pid_get_start_time(pid, &w->start_time);
                if (r < 0)
                        return r;
                r = sd_event_add_time_relative(e, &w->source, CLOCK_MONOTONIC, PROCESS_POLL_USEC,
                                               10 * USEC_PER_MSEC, on_poll, w);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(w->source, "process-poll");
        }

        *ret = TAKE_PTR(w);
        return 0;
}

/**
 * process_watch_free() - stop watching
 * @w: the watch, may be NULL
 */
ProcessWatch *process_watch_free(ProcessWatch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->source);
        safe_close(w->pidfd);
        return mfree(w);
}

/**
 * process_watch_pid() - the watched pid
 * @w: the watch
 */
pid_t process_watch_pid(const ProcessWatch *w) {
        return w->pid;
}

/**
 * process_watch_exited() - whether the handler has run
 * @w: the watch
 */
bool process_watch_exited(const ProcessWatch *w) {
        return w->exited;
}

/**
 * process_watch_kill() - send a signal to the watched process, never to a recycled pid
 * @w: the watch
 * @sig: the signal
 *
 * Return: 0, -ESRCH once it has exited, or another negative errno.
 */
int process_watch_kill(ProcessWatch *w, int sig) {
        if (w->exited)
                return -ESRCH;
        if (w->pidfd >= 0)
                return pidfd_send_sig(w->pidfd, sig);
        if (process_gone(w))
                return -ESRCH;
        if (kill(w->pid, sig) < 0)
                return -errno;
        return 0;
}
