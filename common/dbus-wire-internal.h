/* What the dbus-wire files share (dbus-wire.c, dbus-wire-write.c, dbus-wire-conn.c); the API is
 * dbus-wire.h. */
#pragma once

#include <endian.h>

#include "dbus-wire.h"

/* The specification's limits: container nesting, array and message sizes. */
#define DBUS_DEPTH_MAX       64
#define DBUS_ARRAY_MAX       (64U * 1024U * 1024U)
#define DBUS_MESSAGE_MAX     (128U * 1024U * 1024U)

#define HEADER_PATH         1
#define HEADER_INTERFACE    2
#define HEADER_MEMBER       3
#define HEADER_ERROR_NAME   4
#define HEADER_REPLY_SERIAL 5
#define HEADER_DESTINATION  6
#define HEADER_SENDER       7
#define HEADER_SIGNATURE    8
#define HEADER_UNIX_FDS     9

#if __BYTE_ORDER == __LITTLE_ENDIAN
#  define DBUS_NATIVE_ENDIAN 'l'
#else
#  define DBUS_NATIVE_ENDIAN 'B'
#endif

static inline size_t align_to(size_t n, size_t a) {
        return (n + a - 1) & ~(a - 1);
}

size_t dbus_type_alignment(char c);
const char *dbus_type_end(const char *s, bool entry, unsigned depth);
bool dbus_signature_is_single(const char *s);
size_t dbus_utf8_sequence(const unsigned char *s, size_t left);
size_t dbus_message_missing(const uint8_t *data, size_t size);
