/* Unit tests for common/event-loop.c: io sources and their events, one-shot timers and their order,
 * exit codes, and freeing sources from handlers, also a source whose event is in the same batch
 * (run this under valgrind with CK_FORK=no, or ASan, to see use-after-free). */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "event-loop.h"
#include "macro.h"
#include "test-util.h"

static uint64_t now_us(void) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static bool fd_is_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

/* What a timer that ends the loop does: which loop, with which code. */
typedef struct ExitSpec {
        EventLoop *loop;
        int code;
} ExitSpec;

static int on_exit_timer(EventSource *s, void *userdata) {
        ExitSpec *x = userdata;

        event_loop_exit(x->loop, x->code);
        return 0;
}

/* --- io ------------------------------------------------------------------------------------- */

typedef struct IoRecord {
        EventLoop *loop;
        EventSource *source;
        int fd;
        uint32_t revents;
        unsigned calls;
        int exit_code;
} IoRecord;

static int on_io_record(EventSource *s, int fd, uint32_t revents, void *userdata) {
        IoRecord *rec = userdata;

        rec->calls++;
        rec->fd = fd;
        rec->revents = revents;
        ck_assert_ptr_eq(s, rec->source);
        event_loop_exit(rec->loop, rec->exit_code);
        return 0;
}

START_TEST(test_event_io_readable) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        IoRecord rec = { .exit_code = 7 };
        int p[2];

        ck_assert_int_eq(event_loop_new(&e), 0);
        rec.loop = e;
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(write(p[1], "x", 1), 1);
        ck_assert_int_eq(event_add_io(e, &rec.source, p[0], EPOLLIN, on_io_record, &rec), 0);
        ck_assert_ptr_nonnull(rec.source);

        ck_assert_int_eq(event_loop_run(e), 7);
        ck_assert_uint_eq(rec.calls, 1);
        ck_assert_int_eq(rec.fd, p[0]);
        ck_assert_uint_eq(rec.revents, EPOLLIN);

        /* The same fd twice is refused, and nothing is left behind. */
        {
                EventSource *other = NULL;
                ck_assert_int_eq(event_add_io(e, &other, p[0], EPOLLIN, on_io_record, &rec), -EEXIST);
                ck_assert_ptr_null(other);
                ck_assert_int_eq(event_add_io(e, &other, -1, EPOLLIN, on_io_record, &rec), -EBADF);
        }

        close(p[0]);
        close(p[1]);
}
END_TEST

START_TEST(test_event_io_hangup) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        IoRecord rec = { .exit_code = 9 };
        int p[2];

        ck_assert_int_eq(event_loop_new(&e), 0);
        rec.loop = e;
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(event_add_io(e, &rec.source, p[0], EPOLLIN, on_io_record, &rec), 0);
        close(p[1]);
        ck_assert_int_eq(event_loop_run(e), 9);
        ck_assert_uint_eq(rec.calls, 1);
        ck_assert(rec.revents & EPOLLHUP);
        close(p[0]);
}
END_TEST

typedef struct SwitchState {
        EventLoop *loop;
        EventSource *io;
        unsigned io_calls;
        uint32_t revents;
        int set_result;
} SwitchState;

static int on_switch_io(EventSource *s, int fd, uint32_t revents, void *userdata) {
        SwitchState *st = userdata;

        st->io_calls++;
        st->revents = revents;
        event_loop_exit(st->loop, 3);
        return 0;
}

static int on_switch_timer(EventSource *s, void *userdata) {
        SwitchState *st = userdata;

        st->set_result = event_source_set_io_events(st->io, EPOLLOUT);
        event_source_free(s);
        return 0;
}

START_TEST(test_event_io_set_events) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        SwitchState st = { .set_result = 1 };
        EventSource *t = NULL, *guard = NULL;
        int sp[2];

        ck_assert_int_eq(event_loop_new(&e), 0);
        st.loop = e;
        /* Nothing to read on sp[0], but it is writable: only EPOLLOUT may wake it. */
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        ck_assert_int_eq(event_add_io(e, &st.io, sp[0], EPOLLIN, on_switch_io, &st), 0);
        ck_assert_int_eq(event_add_timer(e, &t, 20 * USEC_PER_MSEC, on_switch_timer, &st), 0);
        ExitSpec quit_m1 = { e, -1 };
        ck_assert_int_eq(event_add_timer(e, &guard, 5 * USEC_PER_SEC, on_exit_timer, &quit_m1), 0);

        ck_assert_int_eq(event_loop_run(e), 3);
        ck_assert_int_eq(st.set_result, 0);
        ck_assert_uint_eq(st.io_calls, 1);
        ck_assert_uint_eq(st.revents, EPOLLOUT);

        /* Timers and freed sources have no io events to set. */
        ck_assert_int_eq(event_source_set_io_events(guard, EPOLLIN), -EINVAL);
        event_source_free(st.io);
        ck_assert_int_eq(event_source_set_io_events(st.io, EPOLLIN), -EINVAL);

        close(sp[0]);
        close(sp[1]);
}
END_TEST

/* --- timers --------------------------------------------------------------------------------- */

typedef struct TimerState {
        EventLoop *loop;
        uint64_t fired_at[4];
        unsigned order[4];
        unsigned n;
} TimerState;

typedef struct TimerRef {
        TimerState *state;
        unsigned id;
} TimerRef;

static int on_timer_record(EventSource *s, void *userdata) {
        TimerRef *ref = userdata;
        TimerState *st = ref->state;

        ck_assert_uint_lt(st->n, ELEMENTSOF(st->order));
        st->fired_at[ref->id] = now_us();
        st->order[st->n++] = ref->id;
        return 0;
}

START_TEST(test_event_timer_once) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        TimerState st = {};
        TimerRef ref = { &st, 0 };
        EventSource *t = NULL, *end = NULL;
        uint64_t start;

        ck_assert_int_eq(event_loop_new(&e), 0);
        st.loop = e;
        start = now_us();
        ck_assert_int_eq(event_add_timer(e, &t, 50 * USEC_PER_MSEC, on_timer_record, &ref), 0);
        /* The loop goes on for a while after the timer fired: it must not fire again. */
        ExitSpec quit_11 = { e, 11 };
        ck_assert_int_eq(event_add_timer(e, &end, 200 * USEC_PER_MSEC, on_exit_timer, &quit_11), 0);

        ck_assert_int_eq(event_loop_run(e), 11);
        ck_assert_uint_eq(st.n, 1);
        ck_assert_uint_ge(st.fired_at[0] - start, 50 * USEC_PER_MSEC);
        ck_assert_uint_lt(st.fired_at[0] - start, 5 * USEC_PER_SEC);
        ck_assert_uint_ge(now_us() - start, 200 * USEC_PER_MSEC);
}
END_TEST

/* Two timers far apart, added in either order, fire in deadline order. */
START_TEST(test_event_timer_order) {
        for (unsigned k = 0; k < 2; k++) {
                _cleanup_(event_loop_freep) EventLoop *e = NULL;
                TimerState st = {};
                TimerRef early = { &st, 0 }, late = { &st, 1 };
                EventSource *a = NULL, *b = NULL, *end = NULL;
                uint64_t start;

                ck_assert_int_eq(event_loop_new(&e), 0);
                start = now_us();
                const uint64_t ms = USEC_PER_MSEC;

                if (k == 0) {
                        ck_assert_int_eq(event_add_timer(e, &a, 20 * ms, on_timer_record, &early), 0);
                        ck_assert_int_eq(event_add_timer(e, &b, 60 * ms, on_timer_record, &late), 0);
                } else {
                        ck_assert_int_eq(event_add_timer(e, &b, 60 * ms, on_timer_record, &late), 0);
                        ck_assert_int_eq(event_add_timer(e, &a, 20 * ms, on_timer_record, &early), 0);
                }
                ExitSpec quit_0 = { e, 0 };
                ck_assert_int_eq(event_add_timer(e, &end, 100 * USEC_PER_MSEC, on_exit_timer,
                                                 &quit_0), 0);
                ck_assert_int_eq(event_loop_run(e), 0);

                ck_assert_uint_eq(st.n, 2);
                ck_assert_uint_eq(st.order[0], 0);
                ck_assert_uint_eq(st.order[1], 1);
                ck_assert_uint_ge(st.fired_at[0] - start, 20 * USEC_PER_MSEC);
                ck_assert_uint_ge(st.fired_at[1] - start, 60 * USEC_PER_MSEC);
                ck_assert_uint_lt(st.fired_at[1] - start, 5 * USEC_PER_SEC);
        }
}
END_TEST

/* Regression: two timers that are both due when the loop looks (here because the loop starts late)
 * fire in deadline order; they once fired in list order, newest first. */
START_TEST(test_event_timer_order_both_due) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        TimerState st = {};
        TimerRef early = { &st, 0 }, late = { &st, 1 };
        EventSource *a = NULL, *b = NULL, *end = NULL;

        ck_assert_int_eq(event_loop_new(&e), 0);
        ck_assert_int_eq(event_add_timer(e, &a, 1 * USEC_PER_MSEC, on_timer_record, &early), 0);
        ck_assert_int_eq(event_add_timer(e, &b, 2 * USEC_PER_MSEC, on_timer_record, &late), 0);
        ExitSpec quit_0 = { e, 0 };
        ck_assert_int_eq(event_add_timer(e, &end, 100 * USEC_PER_MSEC, on_exit_timer, &quit_0), 0);
        ck_assert_int_eq(usleep(10 * 1000), 0);
        ck_assert_int_eq(event_loop_run(e), 0);

        ck_assert_uint_eq(st.n, 2);
        ck_assert_msg(st.order[0] == 0 && st.order[1] == 1, "fired in order %u, %u",
                      st.order[0], st.order[1]);
}
END_TEST

typedef struct CancelState {
        EventSource *victim;
        unsigned fired;
} CancelState;

static int on_cancel_other(EventSource *s, void *userdata) {
        CancelState *st = userdata;

        st->victim = event_source_free(st->victim);
        event_source_free(s);
        return 0;
}

static int on_must_not_fire(EventSource *s, void *userdata) {
        CancelState *st = userdata;

        st->fired++;
        return 0;
}

START_TEST(test_event_timer_free) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        CancelState st = {};
        EventSource *never = NULL, *canceller = NULL, *end = NULL;

        ck_assert_int_eq(event_loop_new(&e), 0);

        /* Freed before the loop runs. */
        ck_assert_int_eq(event_add_timer(e, &never, 10 * USEC_PER_MSEC, on_must_not_fire, &st), 0);
        ck_assert_ptr_null(event_source_free(never));

        /* Freed by an earlier timer, also one due at the same time. */
        ck_assert_int_eq(event_add_timer(e, &st.victim, 40 * USEC_PER_MSEC, on_must_not_fire, &st), 0);
        ck_assert_int_eq(event_add_timer(e, &canceller, 20 * USEC_PER_MSEC, on_cancel_other, &st), 0);
        ExitSpec quit_5 = { e, 5 };
        ck_assert_int_eq(event_add_timer(e, &end, 80 * USEC_PER_MSEC, on_exit_timer, &quit_5), 0);
        ck_assert_int_eq(event_loop_run(e), 5);
        ck_assert_uint_eq(st.fired, 0);
        ck_assert_ptr_null(st.victim);
}
END_TEST

/* --- freeing in handlers -------------------------------------------------------------------- */

typedef struct PairState {
        EventLoop *loop;
        EventSource *sources[2];
        int fds[2];
        unsigned calls[2];
} PairState;

/* Whichever of the two runs first frees the other, whose event is in the same batch, and itself. */
static int on_pair(EventSource *s, int fd, uint32_t revents, void *userdata) {
        PairState *st = userdata;
        unsigned me = fd == st->fds[0] ? 0 : 1;

        ck_assert_ptr_eq(s, st->sources[me]);
        st->calls[me]++;
        st->sources[!me] = event_source_free(st->sources[!me]);
        st->sources[me] = event_source_free(st->sources[me]);
        /* Freeing twice from the handler is harmless too. */
        ck_assert_ptr_null(event_source_free(s));
        return 0;
}

START_TEST(test_event_free_other_in_batch) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        PairState st = {};
        EventSource *end = NULL;
        int p[2], q[2];

        ck_assert_int_eq(event_loop_new(&e), 0);
        st.loop = e;
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(q, O_CLOEXEC), 0);
        ck_assert_int_eq(write(p[1], "x", 1), 1);
        ck_assert_int_eq(write(q[1], "y", 1), 1);
        st.fds[0] = p[0];
        st.fds[1] = q[0];
        ck_assert_int_eq(event_add_io(e, &st.sources[0], p[0], EPOLLIN, on_pair, &st), 0);
        ck_assert_int_eq(event_add_io(e, &st.sources[1], q[0], EPOLLIN, on_pair, &st), 0);
        ExitSpec quit_4 = { e, 4 };
        ck_assert_int_eq(event_add_timer(e, &end, 50 * USEC_PER_MSEC, on_exit_timer, &quit_4), 0);

        /* Both are readable before the loop starts, so both events come in the first batch. */
        ck_assert_int_eq(event_loop_run(e), 4);
        ck_assert_uint_eq(st.calls[0] + st.calls[1], 1);
        ck_assert_ptr_null(st.sources[0]);
        ck_assert_ptr_null(st.sources[1]);

        /* The fds belong to us: still open, and no longer watched (the data is still unread). */
        ck_assert(fd_is_open(p[0]));
        ck_assert(fd_is_open(q[0]));
        close(p[0]);
        close(p[1]);
        close(q[0]);
        close(q[1]);
}
END_TEST

/* Many readable fds, more than one epoll batch, every handler frees the next source. */
typedef struct ChainState {
        EventSource *sources[40];
        int fds[40];
        unsigned calls[40];
} ChainState;

static int on_chain(EventSource *s, int fd, uint32_t revents, void *userdata) {
        ChainState *st = userdata;

        for (unsigned i = 0; i < ELEMENTSOF(st->fds); i++)
                if (st->fds[i] == fd) {
                        ck_assert_ptr_eq(s, st->sources[i]);
                        st->calls[i]++;
                        st->sources[i] = event_source_free(st->sources[i]);
                        st->sources[(i + 1) % ELEMENTSOF(st->fds)] =
                                event_source_free(st->sources[(i + 1) % ELEMENTSOF(st->fds)]);
                        return 0;
                }
        ck_abort_msg("unknown fd %d", fd);
        return 0;
}

START_TEST(test_event_free_chain) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        ChainState st = {};
        EventSource *end = NULL;
        int pipes[40][2];
        unsigned total = 0;

        ck_assert_int_eq(event_loop_new(&e), 0);
        for (unsigned i = 0; i < ELEMENTSOF(pipes); i++) {
                ck_assert_int_eq(pipe2(pipes[i], O_CLOEXEC), 0);
                ck_assert_int_eq(write(pipes[i][1], "x", 1), 1);
                st.fds[i] = pipes[i][0];
                ck_assert_int_eq(event_add_io(e, &st.sources[i], pipes[i][0], EPOLLIN, on_chain, &st), 0);
        }
        ExitSpec quit_0 = { e, 0 };
        ck_assert_int_eq(event_add_timer(e, &end, 50 * USEC_PER_MSEC, on_exit_timer, &quit_0), 0);
        ck_assert_int_eq(event_loop_run(e), 0);

        for (unsigned i = 0; i < ELEMENTSOF(pipes); i++) {
                ck_assert_uint_le(st.calls[i], 1);
                ck_assert_ptr_null(st.sources[i]);
                /* A source that ran freed its successor before that one could run. */
                if (st.calls[i])
                        ck_assert_uint_eq(st.calls[(i + 1) % ELEMENTSOF(pipes)], 0);
                total += st.calls[i];
                close(pipes[i][0]);
                close(pipes[i][1]);
        }
        ck_assert_uint_ge(total, 1);
        ck_assert_uint_le(total, ELEMENTSOF(pipes) / 2);
}
END_TEST

/* --- exit and teardown ---------------------------------------------------------------------- */

typedef struct ExitCount {
        EventLoop *loop;
        unsigned calls;
} ExitCount;

static int on_exit_then_more(EventSource *s, int fd, uint32_t revents, void *userdata) {
        ExitCount *x = userdata;

        x->calls++;
        event_loop_exit(x->loop, -ECANCELED);
        return 0;
}

START_TEST(test_event_exit) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        EventSource *t = NULL, *io1 = NULL, *io2 = NULL;
        ExitCount x = {};
        int p[2], q[2];

        ck_assert_int_eq(event_loop_new(&e), 0);
        ExitSpec quit_42 = { e, 42 };
        ck_assert_int_eq(event_add_timer(e, &t, 1, on_exit_timer, &quit_42), 0);
        ck_assert_int_eq(event_loop_run(e), 42);

        /* Exit before run: returns at once with the code. */
        event_loop_exit(e, -5);
        ck_assert_int_eq(event_loop_run(e), -5);
        e = event_loop_free(e);

        /* Nothing else of the batch runs after the handler that asked to exit. */
        ck_assert_int_eq(event_loop_new(&e), 0);
        x.loop = e;
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(q, O_CLOEXEC), 0);
        ck_assert_int_eq(write(p[1], "x", 1), 1);
        ck_assert_int_eq(write(q[1], "x", 1), 1);
        ck_assert_int_eq(event_add_io(e, &io1, p[0], EPOLLIN, on_exit_then_more, &x), 0);
        ck_assert_int_eq(event_add_io(e, &io2, q[0], EPOLLIN, on_exit_then_more, &x), 0);
        ck_assert_int_eq(event_loop_run(e), -ECANCELED);
        ck_assert_uint_eq(x.calls, 1);
        close(p[0]);
        close(p[1]);
        close(q[0]);
        close(q[1]);
}
END_TEST

static int on_exit_counting(EventSource *s, void *userdata) {
        ExitCount *x = userdata;

        x->calls++;
        event_loop_exit(x->loop, 6);
        return 0;
}

/* Regression: event_loop_exit() from a timer handler returns after that handler, even when a
 * second timer is due in the same pass (it once ran as well). */
START_TEST(test_event_exit_in_timer) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        EventSource *a = NULL, *b = NULL;
        ExitCount x = {};

        ck_assert_int_eq(event_loop_new(&e), 0);
        x.loop = e;
        ck_assert_int_eq(event_add_timer(e, &a, 1 * USEC_PER_MSEC, on_exit_counting, &x), 0);
        ck_assert_int_eq(event_add_timer(e, &b, 2 * USEC_PER_MSEC, on_exit_counting, &x), 0);
        ck_assert_int_eq(usleep(10 * 1000), 0);
        ck_assert_int_eq(event_loop_run(e), 6);
        ck_assert_uint_eq(x.calls, 1);
}
END_TEST

START_TEST(test_event_free_twice) {
        _cleanup_(event_loop_freep) EventLoop *e = NULL;
        EventSource *t = NULL, *io = NULL, *end = NULL;
        int p[2];

        ck_assert_int_eq(event_loop_new(&e), 0);
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ExitSpec quit_1 = { e, 1 };
        ck_assert_int_eq(event_add_timer(e, &t, 1, on_exit_timer, &quit_1), 0);
        ck_assert_int_eq(event_add_io(e, &io, p[0], EPOLLIN, on_io_record, NULL), 0);
        ck_assert_ptr_null(event_source_free(t));
        ck_assert_ptr_null(event_source_free(t));
        ck_assert_ptr_null(event_source_free(io));
        ck_assert_ptr_null(event_source_free(io));
        ck_assert_ptr_null(event_source_free(NULL));

        /* The freed timer does not end the loop; this one does, and the dead ones are released. */
        ExitSpec quit_2 = { e, 2 };
        ck_assert_int_eq(event_add_timer(e, &end, 20 * USEC_PER_MSEC, on_exit_timer, &quit_2), 0);
        ck_assert_int_eq(event_loop_run(e), 2);

        /* The fd can be watched again, by a new source. */
        ck_assert_int_eq(event_add_io(e, &io, p[0], EPOLLIN, on_io_record, NULL), 0);
        close(p[0]);
        close(p[1]);
}
END_TEST

START_TEST(test_event_loop_free_sources) {
        EventLoop *e = NULL;
        EventSource *s = NULL;
        int p[2], sp[2];

        ck_assert_ptr_null(event_loop_free(NULL));

        /* Sources still on the loop, dead or alive, go with it (valgrind/ASan see leaks); fds stay. */
        ck_assert_int_eq(event_loop_new(&e), 0);
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        ck_assert_int_eq(event_add_io(e, &s, p[0], EPOLLIN, on_io_record, NULL), 0);
        ck_assert_int_eq(event_add_io(e, &s, sp[0], EPOLLIN | EPOLLOUT, on_io_record, NULL), 0);
        ck_assert_int_eq(event_add_timer(e, &s, USEC_PER_SEC, on_exit_timer, NULL), 0);
        ck_assert_int_eq(event_add_timer(e, &s, USEC_PER_SEC, on_exit_timer, NULL), 0);
        event_source_free(s);
        ck_assert_ptr_null(event_loop_free(e));

        ck_assert(fd_is_open(p[0]));
        ck_assert(fd_is_open(p[1]));
        ck_assert(fd_is_open(sp[0]));
        close(p[0]);
        close(p[1]);
        close(sp[0]);
        close(sp[1]);
}
END_TEST

static Suite *event_loop_suite(void) {
        Suite *s = suite_create("event-loop");
        TCase *tc;

        tc = tcase_create("io");
        tcase_add_test(tc, test_event_io_readable);
        tcase_add_test(tc, test_event_io_hangup);
        tcase_add_test(tc, test_event_io_set_events);
        suite_add_tcase(s, tc);

        tc = tcase_create("timer");
        tcase_add_test(tc, test_event_timer_once);
        tcase_add_test(tc, test_event_timer_order);
        tcase_add_test(tc, test_event_timer_order_both_due);
        tcase_add_test(tc, test_event_timer_free);
        suite_add_tcase(s, tc);

        tc = tcase_create("free");
        tcase_add_test(tc, test_event_free_other_in_batch);
        tcase_add_test(tc, test_event_free_chain);
        tcase_add_test(tc, test_event_exit);
        tcase_add_test(tc, test_event_exit_in_timer);
        tcase_add_test(tc, test_event_free_twice);
        tcase_add_test(tc, test_event_loop_free_sources);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(event_loop_suite());
}
