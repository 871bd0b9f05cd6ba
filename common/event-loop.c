/* The event loop of berth-shim: epoll for fds, and one-shot CLOCK_MONOTONIC timers folded into
 * epoll_wait()'s timeout (a shim has at most one or two timers at a time, so a list is enough).
 *
 * Freeing a source is safe from any handler, also one for another source whose event is still in
 * the same epoll batch: event_source_free() only marks the source dead and takes it out of epoll;
 * dead sources are released after the batch is dispatched. */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "event-loop.h"
#include "fd-util.h"

#define EVENT_BATCH 16

struct EventSource {
        EventLoop *loop;
        int fd;                         /* -EBADF for a timer */
        uint32_t events;                /* what epoll waits for on fd */
        uint64_t deadline;              /* CLOCK_MONOTONIC µs, for a timer; 0 once it fired */
        event_io_handler_t io_handler;
        event_time_handler_t time_handler;
        void *userdata;
        bool dead;
        LIST_FIELDS(EventSource, sources);
};

struct EventLoop {
        int epoll_fd;
        bool exiting;
        int exit_code;
        unsigned dead;                  /* dead sources not released yet */
        EventSource *sources;
};

/**
 * event_loop_new() - create an event loop
 * @ret: the new loop
 *
 * Return: 0 or -errno.
 */
int event_loop_new(EventLoop **ret) {
        EventLoop *e;

        e = calloc(1, sizeof(EventLoop));
        if (!e)
                return -ENOMEM;
        e->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (e->epoll_fd < 0) {
                free(e);
                return -errno;
        }
        *ret = e;
        return 0;
}

static void source_release(EventSource *s) {
        LIST_REMOVE(sources, s->loop->sources, s);
        free(s);
}

/**
 * event_loop_free() - free the loop and every source still on it
 * @e: the loop, or NULL
 *
 * The fds of io sources belong to their owners and are not closed.
 *
 * Return: NULL.
 */
EventLoop *event_loop_free(EventLoop *e) {
        if (!e)
                return NULL;
        while (e->sources)
                source_release(e->sources);
        safe_close(e->epoll_fd);
        return mfree(e);
}

static EventSource *source_new(EventLoop *e, void *userdata) {
        EventSource *s;

        s = calloc(1, sizeof(EventSource));
        if (!s)
                return NULL;
        s->loop = e;
        s->fd = -EBADF;
        s->userdata = userdata;
        LIST_PREPEND(sources, e->sources, s);
        return s;
}

/**
 * event_add_io() - call @handler whenever @fd is ready for @events
 * @e: the loop
 * @ret: the new source
 * @fd: the fd, owned by the caller, open for the source's whole life
 * @events: EPOLLIN, EPOLLOUT, ...
 * @handler: the callback
 * @userdata: passed to @handler
 *
 * Return: 0 or -errno.
 */
int event_add_io(EventLoop *e, EventSource **ret, int fd, uint32_t events, event_io_handler_t handler,
                 void *userdata) {
        struct epoll_event ev = { .events = events };
        EventSource *s;

        s = source_new(e, userdata);
        if (!s)
                return -ENOMEM;
        s->fd = fd;
        s->events = events;
        s->io_handler = handler;

        ev.data.ptr = s;
        if (epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = -errno;
                source_release(s);
                return r;
        }
        *ret = s;
        return 0;
}

/**
 * event_source_set_io_events() - change what an io source waits for
 * @s: an io source
 * @events: the new event mask
 *
 * Return: 0 or -errno.
 */
int event_source_set_io_events(EventSource *s, uint32_t events) {
        struct epoll_event ev = { .events = events, .data.ptr = s };

        if (s->fd < 0 || s->dead)
                return -EINVAL;
        if (events == s->events)
                return 0;
        if (epoll_ctl(s->loop->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
                return -errno;
        s->events = events;
        return 0;
}

static uint64_t now_monotonic(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/**
 * event_add_timer() - call @handler once, @usec from now
 * @e: the loop
 * @ret: the new source; free it in the handler or later
 * @usec: the delay in µs (CLOCK_MONOTONIC)
 * @handler: the callback
 * @userdata: passed to @handler
 *
 * Return: 0 or -errno.
 */
int event_add_timer(EventLoop *e, EventSource **ret, uint64_t usec, event_time_handler_t handler,
                    void *userdata) {
        EventSource *s;

        s = source_new(e, userdata);
        if (!s)
                return -ENOMEM;
        s->deadline = now_monotonic() + MAX(usec, UINT64_C(1));
        s->time_handler = handler;
        *ret = s;
        return 0;
}

/**
 * event_source_free() - stop a source; safe from any handler
 * @s: the source, or NULL
 *
 * Return: NULL.
 */
EventSource *event_source_free(EventSource *s) {
        if (!s || s->dead)
                return NULL;
        if (s->fd >= 0)
                (void) epoll_ctl(s->loop->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
        s->dead = true;
        s->loop->dead++;
        return NULL;
}

static void release_dead(EventLoop *e) {
        if (e->dead == 0)
                return;
        LIST_FOREACH_SAFE(sources, s, n, e->sources)
                if (s->dead)
                        source_release(s);
        e->dead = 0;
}

/* epoll_wait()'s timeout for the nearest timer, in ms, rounded up; -1 without timers. */
static int next_timeout_ms(EventLoop *e) {
        uint64_t nearest = UINT64_MAX, now;

        LIST_FOREACH(sources, s, e->sources)
                if (!s->dead && s->time_handler && s->deadline > 0)
                        nearest = MIN(nearest, s->deadline);
        if (nearest == UINT64_MAX)
                return -1;
        now = now_monotonic();
        if (nearest <= now)
                return 0;
        return (int) MIN((nearest - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (uint64_t) INT_MAX);
}

/* Fires due timers earliest first, one at a time, so that a handler may exit the loop or free
 * another timer. */
static void dispatch_timers(EventLoop *e) {
        uint64_t now = now_monotonic();

        while (!e->exiting) {
                EventSource *next = NULL;

                LIST_FOREACH(sources, s, e->sources)
                        if (!s->dead && s->time_handler && s->deadline > 0 && s->deadline <= now &&
                            (!next || s->deadline < next->deadline))
                                next = s;
                if (!next)
                        return;
                next->deadline = 0;
                (void) next->time_handler(next, next->userdata);
        }
}

/**
 * event_loop_run() - dispatch events until event_loop_exit() is called
 * @e: the loop
 *
 * Return: the code given to event_loop_exit(), or -errno if waiting failed.
 */
int event_loop_run(EventLoop *e) {
        struct epoll_event events[EVENT_BATCH];

        while (!e->exiting) {
                int n = epoll_wait(e->epoll_fd, events, EVENT_BATCH, next_timeout_ms(e));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }

                for (int i = 0; i < n && !e->exiting; i++) {
                        EventSource *s = events[i].data.ptr;

                        if (!s->dead)
                                (void) s->io_handler(s, s->fd, events[i].events, s->userdata);
                }
                dispatch_timers(e);
                release_dead(e);
        }
        return e->exit_code;
}

/**
 * event_loop_exit() - make event_loop_run() return after the current handler
 * @e: the loop
 * @code: what event_loop_run() returns
 */
void event_loop_exit(EventLoop *e, int code) {
        e->exiting = true;
        e->exit_code = code;
}
