/* The D-Bus wire protocol, as much as a peer-to-peer server needs, in three files:
 * - dbus-wire.c: buffers, signatures, message parsing (both byte orders, every header field,
 *   unknown ones skipped) and reading bodies of any type, containers through iterators;
 * - dbus-wire-write.c: building messages of any type, unix fds ('h') included;
 * - dbus-wire-conn.c: the server side of the EXTERNAL authentication (NEGOTIATE_UNIX_FD when the
 *   caller allows it) and a connection's queues: bytes and fds read with recvmsg() and handed to
 *   the message they came with, messages and their fds written with sendmsg().
 * berth-shim speaks it on its control socket, so that berthd's sd-bus client is served without
 * linking libsystemd into every shim (docs/shim-protocol.md). Nothing allocates per message beyond
 * the growth of a connection's two buffers; fds are kept in small arrays inside the connection. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define DBUS_MESSAGE_METHOD_CALL   1
#define DBUS_MESSAGE_METHOD_RETURN 2
#define DBUS_MESSAGE_ERROR         3
#define DBUS_MESSAGE_SIGNAL        4

#define DBUS_FLAG_NO_REPLY_EXPECTED 0x1

/* The fixed part of every message header. */
#define DBUS_HEADER_FIXED_SIZE 16

/* The most fds a connection holds in each direction (so also the most one message may carry):
 * the system bus's default per message, far above what a control socket needs. */
#define DBUS_FDS_MAX 16

/* How deep containers may nest in a message we build (the body counts as one level). */
#define DBUS_WRITER_DEPTH_MAX 16

#define DBUS_ERROR_UNKNOWN_METHOD    "org.freedesktop.DBus.Error.UnknownMethod"
#define DBUS_ERROR_UNKNOWN_OBJECT    "org.freedesktop.DBus.Error.UnknownObject"
#define DBUS_ERROR_UNKNOWN_INTERFACE "org.freedesktop.DBus.Error.UnknownInterface"
#define DBUS_ERROR_INVALID_ARGS      "org.freedesktop.DBus.Error.InvalidArgs"

/* A growable byte buffer: messages are built into one, received bytes collect in one. */
typedef struct DbusBuffer {
        uint8_t *data;
        size_t size;
        size_t allocated;
} DbusBuffer;

int dbus_buffer_reserve(DbusBuffer *b, size_t extra);
int dbus_buffer_append(DbusBuffer *b, const void *p, size_t size);
void dbus_buffer_consume(DbusBuffer *b, size_t size);
void dbus_buffer_done(DbusBuffer *b);

bool dbus_signature_is_valid(const char *s);
bool dbus_object_path_is_valid(const char *p);

/* --- reading --------------------------------------------------------------------------------- */

/* A parsed message; its strings and body point into the buffer it was parsed from. */
typedef struct DbusMessage {
        uint8_t type;
        uint8_t flags;
        bool swapped;                   /* sent in the other byte order than ours */
        uint32_t serial;
        uint32_t reply_serial;          /* 0 if absent */
        uint32_t unix_fds;              /* the UNIX_FDS header field; 'h' values index below it */
        const char *path;               /* NULL when absent */
        const char *interface;
        const char *member;
        const char *error_name;
        const char *destination;
        const char *sender;
        const char *signature;          /* "" when absent */
        const uint8_t *body;
        uint32_t body_size;
        int *fds;                       /* its unix_fds fds, NULL if none are attached (see DbusConn) */
} DbusMessage;

int dbus_message_parse(const uint8_t *data, size_t size, size_t max_size, DbusMessage *ret,
                       size_t *ret_size);
int dbus_message_read(const DbusMessage *m, const char *types, ...);
int dbus_message_take_fd(const DbusMessage *m, int fd);

/* A position in a message body: the body itself, an array's elements or a variant's value.
 * Iterators live on the caller's stack and stay valid while their message does. */
typedef struct DbusIter {
        const DbusMessage *message;
        size_t pos;
        size_t end;
        const char *sig;                /* the next type; in a variant its contents' signature */
        size_t element_size;            /* arrays: the length of the element type at sig; else 0 */
} DbusIter;

void dbus_iter_init(DbusIter *it, const DbusMessage *m);
int dbus_iter_read(DbusIter *it, const char *types, ...);

/* --- writing --------------------------------------------------------------------------------- */

/* What goes into the header of a message we build; unset fields are left out. UNIX_FDS and
 * SIGNATURE are added from the body. */
typedef struct DbusHeader {
        uint8_t type;
        uint8_t flags;
        uint32_t serial;
        uint32_t reply_serial;
        const char *path;
        const char *interface;
        const char *member;
        const char *error_name;
} DbusHeader;

/* The fds of messages queued in a buffer, in order, each with where its message starts. */
typedef struct DbusFds {
        unsigned n;
        int fds[DBUS_FDS_MAX];
        size_t at[DBUS_FDS_MAX];
} DbusFds;

void dbus_fds_done(DbusFds *f);

/* One open container of a writer. All are offsets from the start of the message: the signatures
 * followed are the message's own copies. */
typedef struct DbusWriterLevel {
        char type;                      /* 'a', '(', '{', 'v', or 0 for the body */
        uint32_t cursor;                /* the next type in the signature */
        uint32_t begin;                 /* arrays: the element type */
        uint32_t end;                   /* past the element type; else at ')', '}' or the NUL */
        uint32_t length_at;             /* arrays: where the length goes */
        uint32_t start;                 /* arrays: where the first element goes */
} DbusWriterLevel;

/* Builds one message at the end of a buffer; see dbus_writer_begin(). */
typedef struct DbusWriter {
        DbusBuffer *b;
        DbusFds *fds;                   /* where 'h' values go, NULL if the peer takes none */
        size_t base;                    /* where the message starts: alignment counts from here */
        unsigned fds_start;             /* fds->n when the message began */
        uint32_t body_start;
        unsigned depth;
        int error;                      /* the first error; every later call returns it */
        DbusWriterLevel levels[DBUS_WRITER_DEPTH_MAX];
} DbusWriter;

int dbus_writer_begin(DbusWriter *w, DbusBuffer *out, DbusFds *fds, const DbusHeader *h,
                      const char *signature);
int dbus_writer_append(DbusWriter *w, const char *types, ...);
int dbus_writer_appendv(DbusWriter *w, const char *types, va_list ap);
int dbus_writer_open(DbusWriter *w, char type, const char *contents);
int dbus_writer_close(DbusWriter *w);
int dbus_writer_end(DbusWriter *w);

int dbus_message_appendv(DbusBuffer *out, const DbusHeader *h, const char *types, va_list ap);
int dbus_message_append(DbusBuffer *out, const DbusHeader *h, const char *types, ...);

/* --- connections ----------------------------------------------------------------------------- */

/* The server side of the authentication conversation. */
typedef struct DbusAuth {
        uid_t uid;                      /* the peer's uid, from SO_PEERCRED */
        char guid[33];                  /* the server's id, 32 hex digits */
        bool got_nul;                   /* the initial NUL byte was read */
        bool waiting_data;              /* AUTH EXTERNAL came without an initial response */
        bool authenticated;             /* OK was sent */
        bool done;                      /* BEGIN was received: the rest of the stream is messages */
        bool unix_fd_allowed;           /* set by the caller: NEGOTIATE_UNIX_FD gets AGREE_UNIX_FD */
        bool unix_fd;                   /* AGREE_UNIX_FD was sent */
        unsigned lines;
} DbusAuth;

void dbus_auth_init(DbusAuth *a, uid_t uid, const uint8_t guid[16]);
int dbus_auth_feed(DbusAuth *a, const uint8_t *data, size_t size, DbusBuffer *out, size_t *ret_consumed);

/* One connection's state apart from its socket: the authentication, bytes and fds received and
 * not yet handled, bytes and fds queued to send. */
typedef struct DbusConn {
        DbusAuth auth;
        DbusBuffer in;
        DbusBuffer out;
        DbusFds out_fds;
        size_t in_used;                 /* the size of the message dbus_conn_next() handed out */
        unsigned max_fds;               /* the most fds one message may bring; 0: none */
        unsigned n_in_fds;
        int in_fds[DBUS_FDS_MAX];       /* of the message being read, or of the one handed out */
} DbusConn;

void dbus_conn_init(DbusConn *c, uid_t uid, const uint8_t guid[16], unsigned max_fds);
void dbus_conn_done(DbusConn *c);
int dbus_conn_recv(DbusConn *c, int fd);
int dbus_conn_next(DbusConn *c, size_t max_size, DbusMessage *ret);
int dbus_conn_begin(DbusConn *c, DbusWriter *w, const DbusHeader *h, const char *signature);
int dbus_conn_append(DbusConn *c, const DbusHeader *h, const char *types, ...);
int dbus_conn_flush(DbusConn *c, int fd);
