/* The D-Bus wire protocol, as much as a peer-to-peer server with a handful of methods needs:
 * the server side of the EXTERNAL authentication, message parsing (both byte orders, every
 * header field, unknown ones skipped), and marshalling of replies, errors and signals whose
 * bodies hold basic types only. berth-shim speaks it on its control socket, so that berthd's
 * sd-bus client is served without linking libsystemd into every shim (docs/shim-protocol.md). */
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

/* A parsed message; its strings and body point into the buffer it was parsed from. */
typedef struct DbusMessage {
        uint8_t type;
        uint8_t flags;
        bool swapped;                   /* sent in the other byte order than ours */
        uint32_t serial;
        uint32_t reply_serial;          /* 0 if absent */
        uint32_t unix_fds;
        const char *path;               /* NULL when absent */
        const char *interface;
        const char *member;
        const char *error_name;
        const char *destination;
        const char *sender;
        const char *signature;          /* "" when absent */
        const uint8_t *body;
        uint32_t body_size;
} DbusMessage;

int dbus_message_parse(const uint8_t *data, size_t size, size_t max_size, DbusMessage *ret,
                       size_t *ret_size);
int dbus_message_read(const DbusMessage *m, const char *types, ...);

/* What goes into the header of a message we build; unset fields are left out. */
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

int dbus_message_appendv(DbusBuffer *out, const DbusHeader *h, const char *types, va_list ap);
int dbus_message_append(DbusBuffer *out, const DbusHeader *h, const char *types, ...);

bool dbus_signature_is_valid(const char *s);

/* The server side of the authentication conversation. */
typedef struct DbusAuth {
        uid_t uid;                      /* the peer's uid, from SO_PEERCRED */
        char guid[33];                  /* the server's id, 32 hex digits */
        bool got_nul;                   /* the initial NUL byte was read */
        bool waiting_data;              /* AUTH EXTERNAL came without an initial response */
        bool authenticated;             /* OK was sent */
        bool done;                      /* BEGIN was received: the rest of the stream is messages */
        unsigned lines;
} DbusAuth;

void dbus_auth_init(DbusAuth *a, uid_t uid, const uint8_t guid[16]);
int dbus_auth_feed(DbusAuth *a, const uint8_t *data, size_t size, DbusBuffer *out, size_t *ret_consumed);
