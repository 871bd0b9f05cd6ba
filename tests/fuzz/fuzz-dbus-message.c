/* Fuzzes dbus_message_parse(): berth-shim runs it on every byte an authenticated client sends to
 * its control socket, and dbus_message_read() on what it accepted. The input is a byte stream,
 * parsed message after message as the shim does. Invariants:
 * - a parsed message lies inside the input, and so do its strings, each NUL-terminated there;
 * - every shorter prefix of a message is "not complete yet" (0), never a message or an error;
 * - a body of up to eight basic types reads back with its own signature;
 * - the header marshalled again by dbus_message_append() parses to the same fields, and
 *   marshalling that gives the same bytes. */

#include "dbus-wire.h"
#include "fuzz.h"

/* The shim's limit (shim/shim-control.c CONTROL_MESSAGE_MAX). */
#define MESSAGE_MAX (64U * 1024U)
#define READ_MAX 8

static void check_string(const uint8_t *data, size_t size, const char *s) {
        if (!s)
                return;
        fuzz_check((const uint8_t *) s >= data && (const uint8_t *) s < data + size);
        fuzz_check(memchr(s, 0, size - (size_t) ((const uint8_t *) s - data)));
}

static void check_prefixes(const uint8_t *data, size_t size) {
        size_t lengths[] = { size - 1, size / 2, DBUS_HEADER_FIXED_SIZE };

        for (size_t i = 0; i < ELEMENTSOF(lengths); i++) {
                _cleanup_free_ uint8_t *p = NULL;
                DbusMessage m;
                size_t consumed;

                if (lengths[i] >= size)
                        continue;
                p = fuzz_memdup(data, lengths[i]);
                fuzz_check(dbus_message_parse(p, lengths[i], MESSAGE_MAX, &m, &consumed) == 0);
        }
}

/* Reads the body with dbus_message_read() when its signature has at most READ_MAX basic types. */
static void check_read(const DbusMessage *m) {
        union {
                uint8_t y;
                int b;
                uint16_t q;
                uint32_t u;
                uint64_t t;
                const char *s;
        } v[READ_MAX] = {};
        size_t n = strlen(m->signature);

        if (n > READ_MAX || strspn(m->signature, "ybnqiuxtdhsog") != n)
                return;
        fuzz_check(dbus_message_read(m, m->signature, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                                     &v[7]) == 0);
        for (size_t i = 0; i < n; i++) {
                if (strchr("sog", m->signature[i]))
                        check_string(m->body, m->body_size, v[i].s);
                if (m->signature[i] == 'b')
                        fuzz_check(v[i].b == 0 || v[i].b == 1);
        }
}

static void marshal_header(const DbusMessage *m, DbusBuffer *out) {
        DbusHeader h = {
                .type = m->type,
                .flags = m->flags,
                .serial = m->serial,
                .reply_serial = m->reply_serial,
                .path = m->path,
                .interface = m->interface,
                .member = m->member,
                .error_name = m->error_name,
        };

        fuzz_check(dbus_message_append(out, &h, NULL) == 0);
}

static bool same_string(const char *a, const char *b) {
        /* The writer replaces bytes that are not UTF-8, one for one: lengths stay. */
        return (!a && !b) || (a && b && strlen(a) == strlen(b));
}

static void check_remarshal(const DbusMessage *m) {
        _cleanup_(dbus_buffer_done) DbusBuffer b1 = {}, b2 = {};
        DbusMessage m1, m2;
        size_t consumed;

        marshal_header(m, &b1);
        fuzz_check(dbus_message_parse(b1.data, b1.size, MESSAGE_MAX, &m1, &consumed) == 1);
        fuzz_check(consumed == b1.size);
        fuzz_check(m1.type == m->type && m1.flags == m->flags && m1.serial == m->serial &&
                   m1.reply_serial == m->reply_serial && !m1.swapped && m1.body_size == 0);
        fuzz_check(same_string(m1.path, m->path) && same_string(m1.interface, m->interface) &&
                   same_string(m1.member, m->member) && same_string(m1.error_name, m->error_name));

        marshal_header(&m1, &b2);
        fuzz_check(b1.size == b2.size && memcmp(b1.data, b2.data, b1.size) == 0);
        fuzz_check(dbus_message_parse(b2.data, b2.size, MESSAGE_MAX, &m2, &consumed) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t pos = 0;

        while (pos < size) {
                DbusMessage m;
                size_t consumed;
                int r;

                r = dbus_message_parse(data + pos, size - pos, MESSAGE_MAX, &m, &consumed);
                if (r <= 0) {
                        fuzz_check(r == 0 || r == -EBADMSG || r == -EMSGSIZE);
                        break;
                }
                fuzz_check(r == 1 && consumed >= DBUS_HEADER_FIXED_SIZE && consumed <= size - pos);
                fuzz_check(consumed <= MESSAGE_MAX);
                fuzz_check(m.signature && m.serial != 0 && m.type != 0);
                fuzz_check(m.body >= data + pos && m.body + m.body_size == data + pos + consumed);
                check_string(data + pos, consumed, m.path);
                check_string(data + pos, consumed, m.interface);
                check_string(data + pos, consumed, m.member);
                check_string(data + pos, consumed, m.error_name);
                check_string(data + pos, consumed, m.destination);
                check_string(data + pos, consumed, m.sender);
                fuzz_check(dbus_signature_is_valid(m.signature));
                check_prefixes(data + pos, consumed);
                check_read(&m);
                check_remarshal(&m);
                pos += consumed;
        }
        return 0;
}
