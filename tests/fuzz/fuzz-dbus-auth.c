/* Fuzzes the shim's side of the D-Bus authentication, dbus_auth_feed(), fed as berth-shim feeds it:
 * bytes arrive in chunks (the first input byte sets their size), collect in a buffer, and what
 * the conversation consumed is dropped; after BEGIN the rest goes to dbus_message_parse().
 * Invariants:
 * - it never consumes more than it was given, and while not done it leaves at most one line's
 *   worth (1024 bytes) unconsumed: an unauthenticated client cannot grow the shim's buffer;
 * - every reply is whole "\r\n"-terminated lines of the protocol's commands, one OK at most;
 * - BEGIN is only accepted after OK. */

#include <errno.h>

#include "dbus-wire.h"
#include "fuzz.h"

#define LINE_MAX_BYTES 1024

static const uint8_t guid[16] = { 0xb3, 0x27, 0x11, 0x42 };

/* Every reply line starts with a command a server may send. */
static void check_replies(const DbusBuffer *out, unsigned *n_ok) {
        static const char *const commands[] = { "OK ", "REJECTED ", "DATA", "ERROR" };
        size_t pos = 0;

        while (pos < out->size) {
                const uint8_t *line = out->data + pos;
                const uint8_t *nl = memchr(line, '\n', out->size - pos);
                size_t len, i;

                fuzz_check(nl && nl > line && nl[-1] == '\r');
                len = (size_t) (nl - line) + 1;
                for (i = 0; i < ELEMENTSOF(commands); i++) {
                        size_t n = strlen(commands[i]);

                        if (len >= n && memcmp(line, commands[i], n) == 0)
                                break;
                }
                fuzz_check(i < ELEMENTSOF(commands));
                *n_ok += i == 0;
                pos += len;
        }
}

/* What comes after BEGIN: messages, as the shim parses them. */
static void parse_messages(const uint8_t *data, size_t size) {
        _cleanup_free_ uint8_t *copy = fuzz_memdup(data, size);
        size_t pos = 0;

        while (pos < size) {
                DbusMessage m;
                size_t consumed;

                if (dbus_message_parse(copy + pos, size - pos, 64U * 1024U, &m, &consumed) <= 0)
                        break;
                fuzz_check(consumed > 0 && consumed <= size - pos);
                pos += consumed;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(dbus_buffer_done) DbusBuffer in = {}, out = {};
        size_t chunk, pos = 1;
        unsigned n_ok = 0;
        DbusAuth a;

        if (size < 1)
                return 0;
        chunk = (size_t) data[0] + 1;
        dbus_auth_init(&a, 0, guid);

        while (pos < size && !a.done) {
                size_t n = MIN(chunk, size - pos), consumed = 0;
                int r;

                fuzz_check(dbus_buffer_append(&in, data + pos, n) == 0);
                pos += n;
                r = dbus_auth_feed(&a, in.data, in.size, &out, &consumed);
                if (r < 0) {
                        fuzz_check(r == -EPERM);
                        break;
                }
                fuzz_check(consumed <= in.size);
                dbus_buffer_consume(&in, consumed);
                fuzz_check(a.done || in.size <= LINE_MAX_BYTES);
                if (a.done)
                        fuzz_check(a.authenticated && a.got_nul);
        }

        check_replies(&out, &n_ok);
        fuzz_check(n_ok <= 1 && (n_ok == 1) == a.authenticated);
        if (a.done) {
                fuzz_check(dbus_buffer_append(&in, data + pos, size - pos) == 0);
                parse_messages(in.data, in.size);
        }
        return 0;
}
