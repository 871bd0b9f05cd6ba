/* Unit tests for the connections of common/dbus-wire (DbusConn) and the unix fds they carry, over
 * real socketpairs: fds received with their message in both byte orders (a hand client sends them
 * with sendmsg() the way sd-bus does, and earlier or later than one might expect), every way of
 * sending the wrong fds (rejected, with the process's open fds counted before and after: nothing
 * leaks), fds sent with the first byte of their own message and never twice across partial writes,
 * and a real sd-bus client calling with fds and containers and reading a reply with both. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "dbus-raw.h"
#include "dbus-wire.h"
#include "fd-util.h"
#include "macro.h"
#include "test-util.h"

#define MAX_SIZE (1024U * 1024U)
#define TEST_PATH  "/org/berth/Test1"
#define TEST_IFACE "org.berth.Test1"

static const uint8_t test_guid[16] = { 0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static unsigned count_fds(void) {
        unsigned n = 0;

        ck_assert_int_eq(pid_count_fds(0, &n), 0);
        return n;
}

static void same_file(int a, int b) {
        struct stat sa, sb;

        ck_assert_int_eq(fstat(a, &sa), 0);
        ck_assert_int_eq(fstat(b, &sb), 0);
        ck_assert(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

static void send_with_fds(int fd, const void *p, size_t size, const int *fds, unsigned n) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 8)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) p, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        ck_assert_uint_le(n, 8);
        if (n > 0) {
                struct cmsghdr *cm;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
        }
        ck_assert_int_eq(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t) size);
}

/* Reads at most @size bytes that are there, with any fds, which are appended to @fds. */
static size_t recv_with_fds(int fd, void *p, size_t size, int *fds, unsigned *n) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 16)];
        } control;
        struct iovec iov = { .iov_base = p, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        ssize_t k;

        k = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        ck_assert_msg(k > 0, "recvmsg: %zd (%m)", k);
        ck_assert_int_eq(mh.msg_flags & MSG_CTRUNC, 0);
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
                size_t m = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                ck_assert_uint_le(*n + m, 16);
                memcpy(fds + *n, CMSG_DATA(cm), m * sizeof(int));
                *n += (unsigned) m;
        }
        return (size_t) k;
}

static void close_all(int *fds, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                safe_close(fds[i]);
}

/* --- the server side ---------------------------------------------------------------------------- */

static int server_flush(DbusConn *c, int fd) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int r;

        while ((r = dbus_conn_flush(c, fd)) == -EAGAIN)
                ck_assert_int_eq(poll(&p, 1, 20000), 1);
        return r;
}

/* The next message, waiting for it; the error the connection fails with, or -ECONNRESET at EOF. */
static int server_next(DbusConn *c, int fd, DbusMessage *m) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r;

                r = dbus_conn_next(c, MAX_SIZE, m);
                if (r != 0)
                        return r;
                r = server_flush(c, fd);
                if (r < 0)
                        return r;
                ck_assert_int_eq(poll(&p, 1, 20000), 1);
                r = dbus_conn_recv(c, fd);
                if (r == 0)
                        return -ECONNRESET;
                if (r < 0 && r != -EAGAIN)
                        return r;
        }
}

/* The hand client's authentication, without BEGIN; returns what the server answered. */
static void client_auth(DbusConn *c, int sfd, int cfd, bool negotiate, char *reply, size_t size) {
        char uid[32], hex[64] = "", line[160];
        DbusMessage m;
        int len, n;
        ssize_t k;

        n = snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        for (int i = 0; i < n; i++)
                (void) snprintf(hex + 2 * i, 3, "%02x", (unsigned char) uid[i]);
        len = snprintf(line, sizeof(line), "%cAUTH EXTERNAL %s\r\n%s", 0, hex,
                       negotiate ? "NEGOTIATE_UNIX_FD\r\n" : "");
        ck_assert_int_eq(write(cfd, line, (size_t) len), len);

        ck_assert_int_eq(poll(&(struct pollfd) { .fd = sfd, .events = POLLIN }, 1, 20000), 1);
        ck_assert_int_eq(dbus_conn_recv(c, sfd), len);
        ck_assert_int_eq(dbus_conn_next(c, MAX_SIZE, &m), 0);
        ck_assert(c->auth.authenticated);
        ck_assert_int_eq(server_flush(c, sfd), 0);
        k = read(cfd, reply, size - 1);
        ck_assert_int_gt(k, 0);
        reply[k] = 0;
}

typedef struct Pair {
        int server, client;
        DbusConn conn;
} Pair;

/* A connection through the authentication but BEGIN; with @negotiate, the hand client asked for
 * fds. */
static void pair_open(Pair *p, unsigned max_fds, bool negotiate) {
        int sv[2];
        char reply[256];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        *p = (Pair) { .server = sv[0], .client = sv[1] };
        dbus_conn_init(&p->conn, getuid(), test_guid, max_fds);
        client_auth(&p->conn, p->server, p->client, negotiate, reply, sizeof(reply));
        ck_assert_msg(strncmp(reply, "OK ", 3) == 0, "reply '%s'", reply);
        ck_assert(p->conn.auth.unix_fd == (negotiate && max_fds > 0));
        if (negotiate)
                ck_assert_ptr_nonnull(strstr(reply, max_fds > 0 ? "\r\nAGREE_UNIX_FD\r\n" : "\r\nERROR"));
}

/* BEGIN, on its own. */
static void pair_begin(Pair *p) {
        DbusMessage m;

        send_with_fds(p->client, "BEGIN\r\n", 7, NULL, 0);
        ck_assert_int_eq(poll(&(struct pollfd) { .fd = p->server, .events = POLLIN }, 1, 20000), 1);
        ck_assert_int_eq(dbus_conn_recv(&p->conn, p->server), 7);
        ck_assert_int_eq(dbus_conn_next(&p->conn, MAX_SIZE, &m), 0);
        ck_assert(p->conn.auth.done);
}

static void pair_close(Pair *p) {
        dbus_conn_done(&p->conn);
        safe_close(p->server);
        safe_close(p->client);
}

/* A method call "M" on "/p" by hand, in byte order @endian, announcing @unix_fds fds; body: @n_h
 * 'h' values counting up from @first. */
static void raw_fd_call(Raw *r, char endian, uint32_t unix_fds, unsigned n_h, uint32_t first) {
        char sig[9] = "hhhhhhhh";

        sig[n_h] = 0;
        raw_call_full(r, endian, n_h > 0 ? sig : NULL, unix_fds);
        for (unsigned i = 0; i < n_h; i++)
                raw_u32(r, first + i);
        raw_end(r);
}

/* --- receiving ---------------------------------------------------------------------------------- */

/* A call whose options dict holds an fd in a variant, next to two plain fds. */
static void raw_options_call(Raw *r, char endian) {
        size_t at, start;

        raw_call_full(r, endian, "a{sv}hh", 2);
        at = raw_array_begin(r, 8, &start);
        raw_pad(r, 8);
        raw_string(r, "Out");
        raw_sig(r, "h");
        raw_u32(r, 1);
        raw_pad(r, 8);
        raw_string(r, "N");
        raw_sig(r, "u");
        raw_u32(r, 5);
        raw_array_end(r, at, start);
        raw_u32(r, 0);
        raw_u32(r, 1);
        raw_end(r);
}

static void check_pipe(int rfd, const char *expected) {
        char buf[32] = {};

        ck_assert_int_eq(read(rfd, buf, sizeof(buf) - 1), (ssize_t) strlen(expected));
        ck_assert_str_eq(buf, expected);
}

static void receive_options_call(Pair *p, int a_read, int b_read, int *ret_taken) {
        DbusIter options, v;
        DbusMessage m;
        const char *key;
        int fd0 = -1, fd1 = -1, out = -1;
        uint32_t n = 0;

        ck_assert_int_eq(server_next(&p->conn, p->server, &m), 1);
        ck_assert_uint_eq(m.unix_fds, 2);
        ck_assert_ptr_nonnull(m.fds);
        ck_assert_int_eq(dbus_message_read(&m, "a{sv}hh", &options, &fd0, &fd1), 0);
        while (dbus_iter_read(&options, "{sv}", &key, &v) > 0) {
                if (streq(key, "Out"))
                        ck_assert_int_eq(dbus_iter_read(&v, "h", &out), 1);
                else
                        ck_assert_int_eq(dbus_iter_read(&v, "u", &n), 1);
        }
        ck_assert_uint_eq(n, 5);
        ck_assert_int_eq(out, fd1);
        ck_assert_int_ne(fcntl(fd0, F_GETFD) & FD_CLOEXEC, 0);

        /* They are the client's pipes. */
        ck_assert_int_eq(write(fd0, "a", 1), 1);
        ck_assert_int_eq(write(out, "b", 1), 1);
        check_pipe(a_read, "a");
        check_pipe(b_read, "b");

        /* The first is ours now; the message keeps the other and closes it when done. */
        *ret_taken = dbus_message_take_fd(&m, fd0);
        ck_assert_int_eq(*ret_taken, fd0);
        ck_assert_int_eq(dbus_message_take_fd(&m, fd0), -EBADF);
}

START_TEST(test_dbus_conn_receives_fds) {
        unsigned before = count_fds();

        for (const char *e = "lB"; *e; e++) {
                int a[2], b[2], sent[2], taken = -EBADF;
                uint8_t begin[8];
                DbusMessage m;
                Pair p;
                Raw r;

                ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
                ck_assert_int_eq(pipe2(b, O_CLOEXEC), 0);
                pair_open(&p, 4, true);

                /* BEGIN, and the first byte of the message with its fds, in one go: the fds are the
                 * message's even though they come with BEGIN. */
                raw_options_call(&r, *e);
                sent[0] = a[1];
                sent[1] = b[1];
                memcpy(begin, "BEGIN\r\n", 7);
                begin[7] = r.data[0];
                send_with_fds(p.client, begin, sizeof(begin), sent, 2);
                send_with_fds(p.client, r.data + 1, r.size - 1, NULL, 0);
                receive_options_call(&p, a[0], b[0], &taken);

                /* A message without fds, then one whose fds come with its last byte, back to back:
                 * each gets its own. */
                raw_fd_call(&r, *e, 0, 0, 0);
                send_with_fds(p.client, r.data, r.size, NULL, 0);
                raw_options_call(&r, *e);
                send_with_fds(p.client, r.data, r.size - 1, NULL, 0);
                send_with_fds(p.client, r.data + r.size - 1, 1, sent, 2);
                ck_assert_int_eq(server_next(&p.conn, p.server, &m), 1);
                ck_assert_uint_eq(m.unix_fds, 0);
                ck_assert_ptr_null(m.fds);
                safe_close(taken);
                receive_options_call(&p, a[0], b[0], &taken);

                /* Nothing more: the fd left in the last message was closed, the taken one is ours. */
                ck_assert_int_eq(dbus_conn_next(&p.conn, MAX_SIZE, &m), 0);
                ck_assert_uint_eq(p.conn.n_in_fds, 0);
                ck_assert_uint_eq(count_fds(), before + 4 + 2 + 1);
                safe_close(taken);
                pair_close(&p);
                close_all(a, 2);
                close_all(b, 2);
                ck_assert_uint_eq(count_fds(), before);
        }
}
END_TEST

/* Each way of sending the wrong fds fails the connection, and no fd stays open. */
START_TEST(test_dbus_conn_rejects_wrong_fds) {
        static const struct {
                const char *what;
                unsigned max_fds;
                bool negotiate;
                uint32_t unix_fds;              /* the header */
                unsigned n_h;                   /* 'h' values, counting up from 'first' */
                uint32_t first;
                unsigned n_first, n_last;       /* fds sent with the first and the last byte */
                int error;
        } cases[] = {
                { "fds without NEGOTIATE_UNIX_FD", 4, false, 1, 1, 0, 1, 0, -ETOOMANYREFS },
                { "fds where the server declined", 0, true, 1, 1, 0, 1, 0, -ETOOMANYREFS },
                { "more fds than allowed (MSG_CTRUNC)", 2, true, 3, 3, 0, 3, 0, -ETOOMANYREFS },
                { "more fds than allowed, in two reads", 2, true, 3, 3, 0, 2, 1, -ETOOMANYREFS },
                { "fewer fds than the header says", 4, true, 2, 2, 0, 1, 0, -EBADMSG },
                { "more fds than the header says", 4, true, 1, 1, 0, 2, 0, -EBADMSG },
                { "more fds than the header says, late", 4, true, 1, 1, 0, 1, 1, -EBADMSG },
                { "fds without a header", 4, true, 0, 0, 0, 1, 0, -EBADMSG },
                { "an 'h' past the fds", 4, true, 2, 2, 1, 2, 0, -EBADMSG },
                { "fds, then the end of the stream", 4, true, 1, 1, 0, 1, 0, -ECONNRESET },
        };
        unsigned before = count_fds();

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int fds[4], null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC), got;
                DbusMessage m;
                Pair p;
                Raw r;

                ck_assert_int_ge(null_fd, 0);
                for (unsigned k = 0; k < ELEMENTSOF(fds); k++)
                        fds[k] = null_fd;
                pair_open(&p, cases[i].max_fds, cases[i].negotiate);
                pair_begin(&p);
                raw_fd_call(&r, 'l', cases[i].unix_fds, cases[i].n_h, cases[i].first);

                if (cases[i].error == -ECONNRESET) {
                        send_with_fds(p.client, r.data, r.size - 1, fds, cases[i].n_first);
                        p.client = safe_close(p.client);
                } else {
                        send_with_fds(p.client, r.data, r.size - 1, fds, cases[i].n_first);
                        send_with_fds(p.client, r.data + r.size - 1, 1, fds, cases[i].n_last);
                }
                got = server_next(&p.conn, p.server, &m);
                ck_assert_msg(got == cases[i].error, "%s: %i", cases[i].what, got);
                pair_close(&p);
                safe_close(null_fd);
                ck_assert_msg(count_fds() == before, "%s: %u fds open, %u before", cases[i].what,
                              count_fds(), before);
        }
}
END_TEST

/* BEGIN with a message without fds in one write, right after it one with an fd: the read that
 * ends the authentication must not reach the second message, or its fd would seem the first's. */
START_TEST(test_dbus_conn_fds_right_after_begin) {
        unsigned before = count_fds();
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC), fd = -1;
        uint8_t buf[7 + 256];
        DbusMessage m;
        Pair p;
        Raw r;

        ck_assert_int_ge(null_fd, 0);
        pair_open(&p, 4, true);
        raw_fd_call(&r, 'l', 0, 0, 0);
        ck_assert_uint_le(r.size, sizeof(buf) - 7);
        memcpy(buf, "BEGIN\r\n", 7);
        memcpy(buf + 7, r.data, r.size);
        send_with_fds(p.client, buf, 7 + r.size, NULL, 0);
        raw_fd_call(&r, 'l', 1, 1, 0);
        send_with_fds(p.client, r.data, r.size, &null_fd, 1);

        ck_assert_int_eq(server_next(&p.conn, p.server, &m), 1);
        ck_assert_uint_eq(m.unix_fds, 0);
        ck_assert_int_eq(server_next(&p.conn, p.server, &m), 1);
        ck_assert_uint_eq(m.unix_fds, 1);
        ck_assert_int_eq(dbus_message_read(&m, "h", &fd), 0);
        same_file(fd, null_fd);
        pair_close(&p);
        safe_close(null_fd);
        ck_assert_uint_eq(count_fds(), before);
}
END_TEST

/* A message announced far over the limit is refused after its header and a little more, not
 * read whole first. */
START_TEST(test_dbus_conn_oversized_message) {
        static uint8_t chunk[64 * 1024];
        DbusMessage m;
        Pair p;
        Raw r;

        pair_open(&p, 4, true);
        pair_begin(&p);
        raw_fd_call(&r, 'l', 0, 0, 0);
        raw_patch_u32(&r, 4, 1024U * 1024U);
        send_with_fds(p.client, r.data, r.size, NULL, 0);
        send_with_fds(p.client, chunk, sizeof(chunk), NULL, 0);

        ck_assert_int_eq(poll(&(struct pollfd) { .fd = p.server, .events = POLLIN }, 1, 20000), 1);
        ck_assert_int_eq(dbus_conn_recv(&p.conn, p.server), DBUS_HEADER_FIXED_SIZE + 4096);
        ck_assert_int_eq(dbus_conn_next(&p.conn, MAX_SIZE, &m), -EMSGSIZE);
        pair_close(&p);
}
END_TEST

START_TEST(test_dbus_conn_unhandled_message_fds_closed) {
        unsigned before = count_fds();
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        DbusMessage m;
        Pair p;
        Raw r;

        ck_assert_int_ge(null_fd, 0);
        pair_open(&p, 4, true);
        pair_begin(&p);
        raw_fd_call(&r, 'B', 3, 3, 0);
        send_with_fds(p.client, r.data, r.size, (int[]) { null_fd, null_fd, null_fd }, 3);
        send_with_fds(p.client, r.data, r.size, (int[]) { null_fd, null_fd, null_fd }, 3);

        /* Neither message's fds are taken: the next call drops them, and the connection's end the rest. */
        ck_assert_int_eq(server_next(&p.conn, p.server, &m), 1);
        ck_assert_uint_eq(count_fds(), before + 3 + 3);
        ck_assert_int_eq(server_next(&p.conn, p.server, &m), 1);
        ck_assert_uint_eq(count_fds(), before + 3 + 3);
        ck_assert_int_eq(dbus_conn_recv(&p.conn, p.server), -EAGAIN);
        ck_assert_uint_eq(count_fds(), before + 3);
        pair_close(&p);
        safe_close(null_fd);
        ck_assert_uint_eq(count_fds(), before);
}
END_TEST

/* --- sending ------------------------------------------------------------------------------------- */

/* Reads one message of @size bytes the way sd-bus does (never past its end), its first byte
 * alone, flushing the server in between; checks its fds came with that first byte, never again,
 * and are the files @expected. */
static void client_read_message(Pair *p, size_t size, const int *expected, unsigned n_expected) {
        uint8_t *buf = malloc(size);
        int fds[16], fd = -1;
        unsigned n = 0;
        DbusMessage m;
        size_t got;

        ck_assert_ptr_nonnull(buf);
        (void) dbus_conn_flush(&p->conn, p->server);
        got = recv_with_fds(p->client, buf, 1, fds, &n);
        ck_assert_uint_eq(n, n_expected);
        while (got < size) {
                (void) dbus_conn_flush(&p->conn, p->server);
                ck_assert_int_eq(poll(&(struct pollfd) { .fd = p->client, .events = POLLIN }, 1, 20000), 1);
                got += recv_with_fds(p->client, buf + got, size - got, fds, &n);
                ck_assert_uint_eq(n, n_expected);
        }

        ck_assert_int_eq(dbus_message_parse(buf, size, MAX_SIZE, &m, &got), 1);
        ck_assert_uint_eq(got, size);
        ck_assert_uint_eq(m.unix_fds, n_expected);
        m.fds = fds;
        for (unsigned i = 0; i < n; i++) {
                same_file(fds[i], expected[i]);
                ck_assert_int_ne(fcntl(fds[i], F_GETFD) & FD_CLOEXEC, 0);
        }
        if (streq(m.signature, "h")) {
                ck_assert_int_eq(dbus_message_read(&m, "h", &fd), 0);
                ck_assert_int_eq(fd, fds[0]);
        }
        close_all(fds, n);
        free(buf);
}

static const DbusHeader reply_header = {
        .type = DBUS_MESSAGE_METHOD_RETURN, .serial = 7, .reply_serial = 1,
};

START_TEST(test_dbus_conn_sends_fds_with_their_message) {
        unsigned before = count_fds();
        size_t size1, size2, size3;
        int a[2], b[2];
        Pair p;

        ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(b, O_CLOEXEC), 0);
        pair_open(&p, 4, true);
        pair_begin(&p);

        /* A message with an fd, one without, one with two: queued, then sent in one go. */
        ck_assert_int_eq(dbus_conn_append(&p.conn, &reply_header, "h", a[1]), 0);
        size1 = p.conn.out.size;
        ck_assert_int_eq(dbus_conn_append(&p.conn, &reply_header, "s", "no fds"), 0);
        size2 = p.conn.out.size - size1;
        ck_assert_int_eq(dbus_conn_append(&p.conn, &reply_header, "hh", b[1], a[1]), 0);
        size3 = p.conn.out.size - size1 - size2;
        ck_assert_uint_eq(count_fds(), before + 4 + 2 + 3);
        ck_assert_int_eq(server_flush(&p.conn, p.server), 0);
        ck_assert_uint_eq(p.conn.out.size, 0);
        ck_assert_uint_eq(p.conn.out_fds.n, 0);
        ck_assert_uint_eq(count_fds(), before + 4 + 2);         /* our copies are closed */

        client_read_message(&p, size1, (const int[]) { a[1] }, 1);
        client_read_message(&p, size2, NULL, 0);
        client_read_message(&p, size3, (const int[]) { b[1], a[1] }, 2);

        pair_close(&p);
        close_all(a, 2);
        close_all(b, 2);
        ck_assert_uint_eq(count_fds(), before);
}
END_TEST

START_TEST(test_dbus_conn_partial_writes_send_fds_once) {
        static uint8_t big[512 * 1024];
        unsigned before = count_fds();
        int a[2], sndbuf = 4096;
        size_t size1, size2;
        Pair p;

        ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
        pair_open(&p, 4, true);
        pair_begin(&p);
        ck_assert_int_eq(setsockopt(p.server, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
        memset(big, 'z', sizeof(big));

        ck_assert_int_eq(dbus_conn_append(&p.conn, &reply_header, "ayh", big, sizeof(big), a[1]), 0);
        size1 = p.conn.out.size;
        ck_assert_int_eq(dbus_conn_append(&p.conn, &reply_header, "h", a[0]), 0);
        size2 = p.conn.out.size - size1;

        /* The socket takes only part of the first message: its fd went with that part. */
        ck_assert_int_eq(dbus_conn_flush(&p.conn, p.server), -EAGAIN);
        ck_assert_uint_gt(p.conn.out.size, size2);
        ck_assert_uint_lt(p.conn.out.size, size1 + size2);
        ck_assert_uint_eq(p.conn.out_fds.n, 1);
        ck_assert_uint_eq(p.conn.out_fds.at[0], p.conn.out.size - size2);

        client_read_message(&p, size1, (const int[]) { a[1] }, 1);
        client_read_message(&p, size2, (const int[]) { a[0] }, 1);
        ck_assert_int_eq(dbus_conn_flush(&p.conn, p.server), 0);

        pair_close(&p);
        close_all(a, 2);
        ck_assert_uint_eq(count_fds(), before);
}
END_TEST

START_TEST(test_dbus_conn_fds_need_agreement) {
        unsigned before = count_fds();
        Pair p;

        /* The client did not ask for fds: no 'h' in what we send it, and nothing queued. */
        pair_open(&p, 4, false);
        pair_begin(&p);
        ck_assert_int_eq(dbus_conn_append(&p.conn, &reply_header, "sh", "x", p.client), -EOPNOTSUPP);
        ck_assert_uint_eq(p.conn.out.size, 0);
        ck_assert_uint_eq(p.conn.out_fds.n, 0);
        ck_assert_int_eq(dbus_conn_append(&p.conn, &reply_header, "s", "x"), 0);
        ck_assert_int_eq(server_flush(&p.conn, p.server), 0);
        pair_close(&p);
        ck_assert_uint_eq(count_fds(), before);
}
END_TEST

/* --- sd-bus -------------------------------------------------------------------------------------- */

static const uint8_t interop_bytes[] = { 0, 1, 0xff };

static int sdbus_call_exec(sd_bus *bus, sd_bus_message **ret_reply) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *call = NULL;
        int in[2], out[2], r;

        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                return 1;
        if (write(in[1], "input", 5) != 5)
                return 2;
        close(in[1]);
        if (sd_bus_message_new_method_call(bus, &call, NULL, TEST_PATH, TEST_IFACE, "Exec") < 0)
                return 3;
        if (sd_bus_message_append(call, "s", "id1") < 0 ||
            sd_bus_message_open_container(call, 'a', "{sv}") < 0 ||
            sd_bus_message_append(call, "{sv}", "Tty", "b", 1) < 0 ||
            sd_bus_message_append(call, "{sv}", "Env", "as", 2, "A=1", "B=2") < 0 ||
            sd_bus_message_append(call, "{sv}", "Out", "h", out[1]) < 0 ||
            sd_bus_message_append(call, "{sv}", "Nested", "v", "(su)", "deep", 5) < 0 ||
            sd_bus_message_close_container(call) < 0 ||
            sd_bus_message_append(call, "as", 3, "a", "", "c") < 0 ||
            sd_bus_message_append_array(call, 'y', interop_bytes, sizeof(interop_bytes)) < 0 ||
            sd_bus_message_append(call, "(ius)h", -5, 6, "seven", in[0]) < 0)
                return 4;
        /* sd-bus holds copies. */
        close(in[0]);
        close(out[1]);
        r = sd_bus_call(bus, call, 0, &error, ret_reply);
        sd_bus_message_unref(call);
        if (r < 0)
                return 5;

        {
                char buf[8] = {};
                if (read(out[0], buf, sizeof(buf)) != 5 || memcmp(buf, "hello", 5) != 0)
                        return 6;
        }
        close(out[0]);
        return 0;
}

/* Reads our reply "ha{sv}ay" and talks through the socket it carries twice. */
static int sdbus_check_reply(sd_bus_message *reply) {
        const char *key = NULL, *n1 = NULL, *n2 = NULL;
        const void *p = NULL;
        size_t size = 0;
        uint32_t pid = 0;
        int sock = -1, sock2 = -1;
        char buf[8] = {};

        if (!streq(sd_bus_message_get_signature(reply, true), "ha{sv}ay"))
                return 20;
        if (sd_bus_message_read(reply, "h", &sock) < 0 ||
            sd_bus_message_enter_container(reply, 'a', "{sv}") < 0)
                return 21;
        if (sd_bus_message_read(reply, "{sv}", &key, "u", &pid) < 0 || !streq(key, "Pid") || pid != 42)
                return 22;
        if (sd_bus_message_read(reply, "{sv}", &key, "as", 2, &n1, &n2) < 0 || !streq(key, "Names") ||
            !streq(n1, "x") || !streq(n2, "y"))
                return 23;
        if (sd_bus_message_read(reply, "{sv}", &key, "h", &sock2) < 0 || !streq(key, "Sock"))
                return 24;
        if (sd_bus_message_exit_container(reply) < 0)
                return 25;
        if (sd_bus_message_read_array(reply, 'y', &p, &size) < 0 || size != sizeof(interop_bytes) ||
            memcmp(p, interop_bytes, size) != 0)
                return 26;

        if (read(sock, buf, 4) != 4 || memcmp(buf, "ping", 4) != 0)
                return 27;
        if (write(sock2, "pong", 4) != 4)
                return 28;
        return 0;
}

/* The sd-bus client, in the child. Returns the exit status: 0, or which step failed. */
static int sdbus_fd_client(int fd) {
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        int r;

        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fd, fd) < 0 || sd_bus_negotiate_fds(bus, true) < 0 ||
            sd_bus_start(bus) < 0)
                return 10;
        r = sdbus_call_exec(bus, &reply);
        if (r != 0)
                return r;
        r = sdbus_check_reply(reply);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        return r;
}

static void server_check_options(DbusIter *options, int *ret_out) {
        const char *key, *s;
        DbusIter v, inner;
        unsigned seen = 0;
        uint32_t u;
        int b;

        while (dbus_iter_read(options, "{sv}", &key, &v) > 0) {
                seen++;
                if (streq(key, "Tty")) {
                        ck_assert_int_eq(dbus_iter_read(&v, "b", &b), 1);
                        ck_assert_int_eq(b, 1);
                } else if (streq(key, "Env")) {
                        ck_assert_int_eq(dbus_iter_read(&v, "as", &inner), 1);
                        ck_assert_int_eq(dbus_iter_read(&inner, "s", &s), 1);
                        ck_assert_str_eq(s, "A=1");
                        ck_assert_int_eq(dbus_iter_read(&inner, "s", &s), 1);
                        ck_assert_str_eq(s, "B=2");
                        ck_assert_int_eq(dbus_iter_read(&inner, "s", &s), 0);
                } else if (streq(key, "Out"))
                        ck_assert_int_eq(dbus_iter_read(&v, "h", ret_out), 1);
                else if (streq(key, "Nested")) {
                        ck_assert_int_eq(dbus_iter_read(&v, "v", &inner), 1);
                        ck_assert_int_eq(dbus_iter_read(&inner, "(su)", &s, &u), 1);
                        ck_assert_str_eq(s, "deep");
                        ck_assert_uint_eq(u, 5);
                } else
                        ck_abort_msg("unexpected key '%s'", key);
        }
        ck_assert_uint_eq(seen, 4);
}

/* Reads sd-bus's Exec call: every value, and the two fds. */
static void server_read_exec(const DbusMessage *m) {
        DbusIter options, args;
        const char *id, *s, *s2;
        const void *p;
        size_t size;
        int32_t i;
        uint32_t u;
        int in = -1, out = -1;
        char buf[8] = {};

        ck_assert_str_eq(m->member, "Exec");
        ck_assert_uint_eq(m->unix_fds, 2);
        ck_assert_int_eq(dbus_message_read(m, "sa{sv}asay(ius)h",
                                           &id, &options, &args, &p, &size, &i, &u, &s2, &in), 0);
        ck_assert_str_eq(id, "id1");
        server_check_options(&options, &out);
        for (const char *const *e = (const char *const[]) { "a", "", "c", NULL }; *e; e++) {
                ck_assert_int_eq(dbus_iter_read(&args, "s", &s), 1);
                ck_assert_str_eq(s, *e);
        }
        ck_assert_int_eq(dbus_iter_read(&args, "s", &s), 0);
        ck_assert_uint_eq(size, sizeof(interop_bytes));
        ck_assert_mem_eq(p, interop_bytes, size);
        ck_assert_int_eq(i, -5);
        ck_assert_uint_eq(u, 6);
        ck_assert_str_eq(s2, "seven");

        ck_assert_int_eq(read(in, buf, sizeof(buf)), 5);
        ck_assert_str_eq(buf, "input");
        ck_assert_int_eq(read(in, buf, sizeof(buf)), 0);
        ck_assert_int_eq(write(out, "hello", 5), 5);
}

static void server_reply_exec(DbusConn *c, int fd, const DbusMessage *m, int sock) {
        const DbusHeader h = { .type = DBUS_MESSAGE_METHOD_RETURN, .serial = 1, .reply_serial = m->serial };
        DbusWriter w;

        ck_assert_int_eq(dbus_conn_begin(c, &w, &h, "ha{sv}ay"), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "h", sock), 0);
        ck_assert_int_eq(dbus_writer_open(&w, 'a', "{sv}"), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "{sv}", "Pid", "u", 42), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "{sv}", "Names", "as", 2, "x", "y"), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "{sv}", "Sock", "h", sock), 0);
        ck_assert_int_eq(dbus_writer_close(&w), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "ay", interop_bytes, sizeof(interop_bytes)), 0);
        ck_assert_int_eq(dbus_writer_end(&w), 0);
        ck_assert_int_eq(server_flush(c, fd), 0);
}

START_TEST(test_dbus_sdbus_fds_interop) {
        unsigned before = count_fds();
        int pair[2], sp[2], status;
        char buf[8] = {};
        DbusMessage m;
        DbusConn c;
        pid_t pid;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(pair[0]);
                alarm(30);
                _exit(sdbus_fd_client(pair[1]));
        }
        close(pair[1]);

        dbus_conn_init(&c, getuid(), test_guid, 4);
        ck_assert_int_eq(server_next(&c, pair[0], &m), 1);
        ck_assert(c.auth.unix_fd);
        server_read_exec(&m);

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        server_reply_exec(&c, pair[0], &m, sp[1]);
        safe_close(sp[1]);
        ck_assert_int_eq(write(sp[0], "ping", 4), 4);
        ck_assert_int_eq(read(sp[0], buf, 4), 4);
        ck_assert_str_eq(buf, "pong");

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "client killed by signal %d", WTERMSIG(status));
        ck_assert_msg(WEXITSTATUS(status) == 0, "sd-bus client failed at step %d", WEXITSTATUS(status));
        ck_assert_int_eq(server_next(&c, pair[0], &m), -ECONNRESET);

        dbus_conn_done(&c);
        close(pair[0]);
        close(sp[0]);
        ck_assert_uint_eq(count_fds(), before);
}
END_TEST

static Suite *dbus_fds_suite(void) {
        Suite *s = suite_create("dbus-wire-fds");
        TCase *tc;

        tc = tcase_create("receive");
        tcase_add_test(tc, test_dbus_conn_receives_fds);
        tcase_add_test(tc, test_dbus_conn_rejects_wrong_fds);
        tcase_add_test(tc, test_dbus_conn_fds_right_after_begin);
        tcase_add_test(tc, test_dbus_conn_oversized_message);
        tcase_add_test(tc, test_dbus_conn_unhandled_message_fds_closed);
        suite_add_tcase(s, tc);

        tc = tcase_create("send");
        tcase_add_test(tc, test_dbus_conn_sends_fds_with_their_message);
        tcase_add_test(tc, test_dbus_conn_partial_writes_send_fds_once);
        tcase_add_test(tc, test_dbus_conn_fds_need_agreement);
        suite_add_tcase(s, tc);

        tc = tcase_create("sd-bus");
        tcase_add_test(tc, test_dbus_sdbus_fds_interop);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(dbus_fds_suite());
}
