/* The server side of the D-Bus authentication (see dbus-wire.h for the scope). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dbus-wire-internal.h"

#define DBUS_AUTH_LINE_MAX   1024
#define DBUS_AUTH_LINES_MAX  32

/* --- authentication ------------------------------------------------------------------------- */

/**
 * dbus_auth_init() - start the server side of an authentication conversation
 * @a: the state
 * @uid: the peer's uid, from SO_PEERCRED; EXTERNAL must claim this one
 * @guid: the server's 16-byte id
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
                /* File descriptors are not needed on this socket: say no, the client goes on. */
                if (IS("NEGOTIATE_UNIX_FD"))
                        return auth_reply(out, "ERROR \"File descriptor passing is not supported.\"\r\n");
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
