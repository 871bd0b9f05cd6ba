/* D-Bus connections, server side (see dbus-wire.h for the scope): the authentication, and the
 * socket I/O of a connection with its unix fds.
 *
 * Fds travel out of band, with the bytes of the message that carries them: the kernel attaches
 * them to the data of one sendmsg() and hands them out with the first recvmsg() that reads any of
 * that data. So that the fds a read brings can only belong to the message being read, reads never
 * go past that message's end once fd passing was agreed (sd-bus reads the same way), and while the
 * authentication is still running they take one "BEGIN\r\n" at most. A complete message must come
 * with exactly as many fds as its UNIX_FDS field says; they belong to the message until the next
 * dbus_conn_next() or dbus_conn_recv(), which closes those the caller did not take over. An fd
 * that arrives where none may (more than the connection allows, or before AGREE_UNIX_FD) fails
 * the connection: the kernel then says MSG_CTRUNC and has already closed what did not fit.
 *
 * Writing sends each message's fds with the sendmsg() that starts with the message's first byte,
 * and ends that sendmsg() before the next message that carries fds: a reader that reads message by
 * message sees every fd with its own message. A partial write sent the fds already; the rest of
 * the message follows without them. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dbus-wire-internal.h"

#define DBUS_AUTH_LINE_MAX   1024
#define DBUS_AUTH_LINES_MAX  32
/* How much one read takes when no fds can come with it. */
#define DBUS_READ_SIZE       4096

typedef union {
        struct cmsghdr header;
        uint8_t buf[CMSG_SPACE(sizeof(int) * DBUS_FDS_MAX)];
} FdControl;

/* --- authentication ------------------------------------------------------------------------- */

/**
 * dbus_auth_init() - start the server side of an authentication conversation
 * @a: the state
 * @uid: the peer's uid, from SO_PEERCRED; EXTERNAL must claim this one
 * @guid: the server's 16-byte id
 *
 * File descriptor passing is declined unless the caller sets a->unix_fd_allowed afterwards.
 */
void dbus_auth_init(DbusAuth *a, uid_t uid, const uint8_t guid[16]) {
        *a = (DbusAuth) { .uid = uid };
        for (size_t i = 0; i < 16; i++)
                (void) snprintf(a->guid + 2 * i, 3, "%02x", guid[i]);
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Whether the hex-encoded identity in @hex (@len digits) is the decimal uid of the peer. */
static bool identity_matches(const DbusAuth *a, const char *hex, size_t len) {
        char decoded[32], expected[32];

        if (len == 0 || len % 2 != 0 || len / 2 >= sizeof(decoded))
                return false;
        for (size_t i = 0; i < len; i += 2) {
                int hi = unhex(hex[i]), lo = unhex(hex[i + 1]);
                if (hi < 0 || lo < 0)
                        return false;
                decoded[i / 2] = (char) (hi << 4 | lo);
        }
        decoded[len / 2] = 0;
        (void) snprintf(expected, sizeof(expected), "%u", (unsigned) a->uid);
        return streq(decoded, expected);
}

static int auth_reply(DbusBuffer *out, const char *line) {
        return dbus_buffer_append(out, line, strlen(line));
}

static int auth_ok(DbusAuth *a, DbusBuffer *out) {
        char line[64];

        a->authenticated = true;
        a->waiting_data = false;
        (void) snprintf(line, sizeof(line), "OK %s\r\n", a->guid);
        return auth_reply(out, line);
}

/* One line of the conversation, without its "\r\n". */
static int auth_line(DbusAuth *a, const char *line, size_t len, DbusBuffer *out) {
#define IS(cmd) (len >= sizeof(cmd) - 1 && memcmp(line, cmd, sizeof(cmd) - 1) == 0 && \
                 (len == sizeof(cmd) - 1 || line[sizeof(cmd) - 1] == ' '))
        if (IS("BEGIN")) {
                if (!a->authenticated)
                        return -EPERM;
                a->done = true;
                return 0;
        }
        if (a->authenticated) {
                /* Unless the caller allows fds, say no: the client goes on without them. */
                if (IS("NEGOTIATE_UNIX_FD")) {
                        if (!a->unix_fd_allowed)
                                return auth_reply(out,
                                                  "ERROR \"File descriptor passing is not supported.\"\r\n");
                        a->unix_fd = true;
                        return auth_reply(out, "AGREE_UNIX_FD\r\n");
                }
                return auth_reply(out, "ERROR \"Expected BEGIN.\"\r\n");
        }
        if (IS("AUTH EXTERNAL")) {
                const char *hex = line + MIN(len, sizeof("AUTH EXTERNAL"));
                size_t hex_len = len > sizeof("AUTH EXTERNAL") ? len - sizeof("AUTH EXTERNAL") : 0;

                if (hex_len == 0) {
                        a->waiting_data = true;
                        return auth_reply(out, "DATA\r\n");
                }
                if (identity_matches(a, hex, hex_len))
                        return auth_ok(a, out);
                return auth_reply(out, "REJECTED EXTERNAL\r\n");
        }
        if (IS("DATA") && a->waiting_data) {
                const char *hex = line + MIN(len, sizeof("DATA"));
                size_t hex_len = len > sizeof("DATA") ? len - sizeof("DATA") : 0;

                /* An empty response means "whoever the credentials say", which we checked. */
                if (hex_len == 0 || identity_matches(a, hex, hex_len))
                        return auth_ok(a, out);
                a->waiting_data = false;
                return auth_reply(out, "REJECTED EXTERNAL\r\n");
        }
        if (IS("AUTH") || IS("CANCEL") || IS("ERROR") || IS("DATA")) {
                a->waiting_data = false;
                return auth_reply(out, "REJECTED EXTERNAL\r\n");
        }
        return auth_reply(out, "ERROR \"Unknown command.\"\r\n");
#undef IS
}

/**
 * dbus_auth_feed() - process received bytes of the authentication conversation
 * @a: the state
 * @data: received bytes
 * @size: how many
 * @out: the replies are appended here
 * @ret_consumed: how many bytes of @data were used; once a->done, the rest are messages
 *
 * Return: 0, or -EPERM when the peer must be dropped (BEGIN before OK, a line too long, too many
 * lines, no initial NUL byte), -ENOMEM.
 */
int dbus_auth_feed(DbusAuth *a, const uint8_t *data, size_t size, DbusBuffer *out, size_t *ret_consumed) {
        size_t pos = 0;
        int r;

        if (!a->got_nul && size > 0) {
                if (data[0] != 0)
                        return -EPERM;
                a->got_nul = true;
                pos = 1;
        }

        while (!a->done && pos < size) {
                const uint8_t *line = data + pos;
                const uint8_t *nl = memchr(line, '\n', size - pos);
                size_t len;

                if (!nl) {
                        if (size - pos > DBUS_AUTH_LINE_MAX)
                                return -EPERM;
                        break;
                }
                len = (size_t) (nl - line);
                if (len == 0 || line[len - 1] != '\r' || len > DBUS_AUTH_LINE_MAX ||
                    ++a->lines > DBUS_AUTH_LINES_MAX || memchr(line, 0, len))
                        return -EPERM;

                r = auth_line(a, (const char *) line, len - 1, out);
                if (r < 0)
                        return r;
                pos += len + 1;
        }

        *ret_consumed = pos;
        return 0;
}

/* --- connections ----------------------------------------------------------------------------- */

/**
 * dbus_conn_init() - start a server-side connection
 * @c: the state
 * @uid: the peer's uid, from SO_PEERCRED; EXTERNAL must claim this one
 * @guid: the server's 16-byte id
 * @max_fds: how many fds one message may bring (at most DBUS_FDS_MAX); 0 declines fd passing
 */
void dbus_conn_init(DbusConn *c, uid_t uid, const uint8_t guid[16], unsigned max_fds) {
        *c = (DbusConn) { .max_fds = MIN(max_fds, (unsigned) DBUS_FDS_MAX) };
        dbus_auth_init(&c->auth, uid, guid);
        c->auth.unix_fd_allowed = c->max_fds > 0;
}

static void close_in_fds(DbusConn *c) {
        for (unsigned i = 0; i < c->n_in_fds; i++)
                safe_close(c->in_fds[i]);
        c->n_in_fds = 0;
}

/**
 * dbus_conn_done() - free the buffers and close every fd the connection holds
 * @c: the state; the socket is the caller's
 */
void dbus_conn_done(DbusConn *c) {
        close_in_fds(c);
        dbus_fds_done(&c->out_fds);
        dbus_buffer_done(&c->in);
        dbus_buffer_done(&c->out);
        c->in_used = 0;
}

/* Drops the message dbus_conn_next() handed out, with the fds the caller did not take. */
static void conn_release(DbusConn *c) {
        if (c->in_used == 0)
                return;
        dbus_buffer_consume(&c->in, c->in_used);
        c->in_used = 0;
        close_in_fds(c);
}

/* How much the next read may take: see the overview. */
static size_t conn_read_size(const DbusConn *c) {
        if (!c->auth.unix_fd)
                return DBUS_READ_SIZE;
        if (!c->auth.done)
                return strlen("BEGIN\r\n");
        return MIN(dbus_message_missing(c->in.data, c->in.size), (size_t) DBUS_READ_SIZE);
}

/* Queues the fds a read brought. Returns 0, or -ETOOMANYREFS if more came than may. */
static int conn_queue_fds(DbusConn *c, struct msghdr *mh) {
        int r = 0;

        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                size_t n;

                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (r == 0 && c->n_in_fds < c->max_fds)
                                c->in_fds[c->n_in_fds++] = fd;
                        else {
                                safe_close(fd);
                                r = -ETOOMANYREFS;
                        }
                }
        }
        if (mh->msg_flags & MSG_CTRUNC)
                r = -ETOOMANYREFS;
        return r;
}

/* One recvmsg() of at most @size bytes. Returns the bytes read, 0 at EOF, or -errno. */
static int conn_read(DbusConn *c, int fd, size_t size) {
        FdControl control = {};
        unsigned room;
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;
        int r;

        r = dbus_buffer_reserve(&c->in, size);
        if (r < 0)
                return r;
        iov = (struct iovec) { .iov_base = c->in.data + c->in.size, .iov_len = size };

        /* Room for exactly as many fds as may still come; the kernel closes any beyond. */
        room = c->auth.unix_fd ? c->max_fds - c->n_in_fds : 0;
        if (room > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_LEN(sizeof(int) * room);
        }

        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        r = conn_queue_fds(c, &mh);
        if (r < 0)
                return r;
        c->in.size += (size_t) n;
        return (int) n;
}

/**
 * dbus_conn_recv() - read what has arrived, with its fds
 * @c: the connection
 * @fd: its socket
 *
 * Never blocks. A message dbus_conn_next() handed out is dropped first (and the fds the caller did
 * not take are closed). Once fds are agreed, a call reads no further than the end of the message
 * being received: its fixed header, and then the first 4 KiB of the rest, if there.
 *
 * Return: the number of bytes read, 0 at the end of the stream, -EAGAIN if nothing is there,
 * -ETOOMANYREFS if fds came where none may or more than allowed (they are closed; drop the
 * connection), -EBUSY if a whole message waits for dbus_conn_next(), or another negative errno.
 */
int dbus_conn_recv(DbusConn *c, int fd) {
        size_t size, total = 0;
        int n;

        conn_release(c);
        for (;;) {
                size = conn_read_size(c);
                if (size == 0)
                        return total > 0 ? (int) total : -EBUSY;
                n = conn_read(c, fd, size);
                if (n == -ETOOMANYREFS || (n <= 0 && total == 0))
                        return n;
                if (n <= 0)
                        return (int) total;
                total += (size_t) n;
                /* A framed read that just completed the fixed header goes on to the rest (a first
                 * part of it: dbus_conn_next() must see an oversized header before more is read). */
                if ((size_t) n < size || !c->auth.done || !c->auth.unix_fd ||
                    c->in.size != DBUS_HEADER_FIXED_SIZE)
                        return (int) total;
        }
}

/**
 * dbus_conn_next() - the next message that has arrived
 * @c: the connection
 * @max_size: the largest message accepted
 * @ret: the message; it points into @c and holds its fds until the next dbus_conn_next(),
 *       dbus_conn_recv() or dbus_conn_done(), which close those not taken over
 *       (dbus_message_take_fd())
 *
 * Runs the authentication first; its replies are queued for dbus_conn_flush().
 *
 * Return: 1 with a message, 0 if more must be read first, -EBADMSG if the peer broke the protocol
 * (a message not valid, or not with exactly the fds its header announces), -EMSGSIZE for a message
 * over @max_size, -EPERM if the authentication failed; on errors, drop the connection.
 */
int dbus_conn_next(DbusConn *c, size_t max_size, DbusMessage *ret) {
        DbusMessage m;
        size_t size;
        int r;

        conn_release(c);
        if (!c->auth.done) {
                r = dbus_auth_feed(&c->auth, c->in.data, c->in.size, &c->out, &size);
                if (r < 0)
                        return r;
                dbus_buffer_consume(&c->in, size);
                if (!c->auth.done)
                        return 0;
        }

        r = dbus_message_parse(c->in.data, c->in.size, max_size, &m, &size);
        if (r <= 0)
                return r;
        if (m.unix_fds != c->n_in_fds)
                return -EBADMSG;
        m.fds = c->n_in_fds > 0 ? c->in_fds : NULL;
        c->in_used = size;
        *ret = m;
        return 1;
}

/**
 * dbus_conn_begin() - start a message to send on @c
 * @c: the connection
 * @w: the writer; see dbus_writer_begin()
 * @h: the header
 * @signature: the body's signature
 *
 * 'h' values are allowed if the peer agreed to fd passing, else they fail with -EOPNOTSUPP.
 * The message is written into the connection's output: flush only after dbus_writer_end().
 *
 * Return: as dbus_writer_begin().
 */
int dbus_conn_begin(DbusConn *c, DbusWriter *w, const DbusHeader *h, const char *signature) {
        return dbus_writer_begin(w, &c->out, c->auth.unix_fd ? &c->out_fds : NULL, h, signature);
}

/**
 * dbus_conn_append() - queue one message to send on @c
 * @c: the connection
 * @h: the header
 * @types: the body's signature and the types of the values, as dbus_writer_append() takes them
 *
 * Return: as dbus_writer_end(); nothing is queued on failure.
 */
int dbus_conn_append(DbusConn *c, const DbusHeader *h, const char *types, ...) {
        DbusWriter w;
        va_list ap;

        types = types ?: "";
        if (dbus_conn_begin(c, &w, h, types) == 0) {
                va_start(ap, types);
                (void) dbus_writer_appendv(&w, types, ap);
                va_end(ap);
        }
        return dbus_writer_end(&w);
}

static ssize_t send_with_fds(int fd, const void *p, size_t size, const int *fds, unsigned n) {
        FdControl control = {};
        struct iovec iov = { .iov_base = (void *) p, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

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
        return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* @sent bytes went out, and with them the first @n_sent fds: close our copies of those, and
 * move the positions of the rest with the buffer. */
static void out_fds_sent(DbusFds *f, unsigned n_sent, size_t sent) {
        for (unsigned i = 0; i < n_sent; i++)
                safe_close(f->fds[i]);
        f->n -= n_sent;
        memmove(f->fds, f->fds + n_sent, f->n * sizeof(f->fds[0]));
        memmove(f->at, f->at + n_sent, f->n * sizeof(f->at[0]));
        for (unsigned i = 0; i < f->n; i++)
                f->at[i] -= sent;
}

/**
 * dbus_conn_flush() - send what is queued, without blocking
 * @c: the connection
 * @fd: its socket
 *
 * Return: 0 if everything was sent, -EAGAIN if the socket is full (call again when it is
 * writable), or another negative errno if the connection is broken.
 */
int dbus_conn_flush(DbusConn *c, int fd) {
        DbusFds *f = &c->out_fds;

        while (c->out.size > 0) {
                size_t limit = c->out.size;
                unsigned n = 0;
                ssize_t sent;

                /* The fds of the message at the front, if it has any; stop before the next one. */
                while (n < f->n && f->at[n] == 0)
                        n++;
                if (n < f->n)
                        limit = f->at[n];

                sent = send_with_fds(fd, c->out.data, limit, f->fds, n);
                if (sent < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                out_fds_sent(f, sent > 0 ? n : 0, (size_t) sent);
                dbus_buffer_consume(&c->out, (size_t) sent);
        }
        return 0;
}
