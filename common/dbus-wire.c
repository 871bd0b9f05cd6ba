/* D-Bus buffers, signatures, message parsing and reading (see dbus-wire.h for the scope).
 *
 * Parsing never trusts a length: every read is bounds-checked against the message, padding must
 * be zero, strings must be NUL-terminated without embedded NULs ('s' valid UTF-8, 'o' a valid
 * object path, 'g' a valid signature), 'h' values must index one of the message's fds, and
 * containers are walked with a depth limit, so a hostile peer can at worst get its connection
 * dropped. Arrays are limited to the specification's 64 MiB, and in practice by the caller's
 * largest message. Values are read with memcpy(), so buffers need no alignment.
 *
 * The whole body is validated once, when the message is parsed; reading it afterwards through
 * iterators walks the same bytes again with the same checks, and only compares the caller's types
 * with the message's signature: a reader never sees a value of a type it did not ask for. */

#include <byteswap.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-wire-internal.h"

/* --- buffers ------------------------------------------------------------------------------- */

/**
 * dbus_buffer_reserve() - make room for @extra more bytes
 * @b: the buffer
 * @extra: bytes needed beyond the current size
 *
 * Return: 0 or -ENOMEM.
 */
int dbus_buffer_reserve(DbusBuffer *b, size_t extra) {
        size_t want, n;
        uint8_t *p;

        if (extra > SIZE_MAX / 2 - b->size)
                return -ENOMEM;
        want = b->size + extra;
        if (want <= b->allocated)
                return 0;

        n = MAX(want, MAX(b->allocated * 2, (size_t) 256));
        p = realloc(b->data, n);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->allocated = n;
        return 0;
}

/**
 * dbus_buffer_append() - append bytes
 * @b: the buffer
 * @p: the bytes
 * @size: how many
 *
 * Return: 0 or -ENOMEM.
 */
int dbus_buffer_append(DbusBuffer *b, const void *p, size_t size) {
        int r;

        if (size == 0)
                return 0;
        r = dbus_buffer_reserve(b, size);
        if (r < 0)
                return r;
        memcpy(b->data + b->size, p, size);
        b->size += size;
        return 0;
}

/**
 * dbus_buffer_consume() - drop bytes from the front
 * @b: the buffer
 * @size: how many, at most b->size
 */
void dbus_buffer_consume(DbusBuffer *b, size_t size) {
        size = MIN(size, b->size);
        if (size < b->size)
                memmove(b->data, b->data + size, b->size - size);
        b->size -= size;
}

/**
 * dbus_buffer_done() - free the buffer's memory
 * @b: the buffer
 */
void dbus_buffer_done(DbusBuffer *b) {
        b->data = mfree(b->data);
        b->size = b->allocated = 0;
}

/* --- signatures and values ------------------------------------------------------------------ */

static bool type_is_basic(char c) {
        return c != 0 && strchr("ybnqiuxtdhsog", c);
}

/**
 * dbus_type_alignment() - the alignment of values of the type that starts with @c
 * @c: a type code
 *
 * Return: 1, 2, 4 or 8.
 */
size_t dbus_type_alignment(char c) {
        switch (c) {
        case 'n': case 'q':
                return 2;
        case 'b': case 'i': case 'u': case 'h': case 's': case 'o': case 'a':
                return 4;
        case 'x': case 't': case 'd': case '(': case '{':
                return 8;
        default:
                return 1;
        }
}

/**
 * dbus_type_end() - the end of the single complete type at @s
 * @s: a signature, NUL-terminated
 * @entry: whether a dict entry "{kv}" counts (it does only as an array's element)
 * @depth: how deep @s is nested already
 *
 * Return: a pointer past the type, or NULL if there is no valid type at @s.
 */
const char *dbus_type_end(const char *s, bool entry, unsigned depth) {
        if (depth > DBUS_DEPTH_MAX)
                return NULL;
        if (type_is_basic(*s) || *s == 'v')
                return s + 1;
        if (*s == 'a')
                return dbus_type_end(s + 1, true, depth + 1);
        if (*s == '{') {
                if (!entry || !type_is_basic(s[1]))
                        return NULL;
                s = dbus_type_end(s + 2, false, depth + 1);
                return s && *s == '}' ? s + 1 : NULL;
        }
        if (*s == '(') {
                s++;
                if (*s == ')')
                        return NULL;
                while (s && *s != ')')
                        s = *s ? dbus_type_end(s, false, depth + 1) : NULL;
                return s ? s + 1 : NULL;
        }
        return NULL;
}

/**
 * dbus_signature_is_valid() - whether @s is a valid D-Bus signature (zero or more complete types)
 * @s: the signature
 *
 * Return: true if valid.
 */
bool dbus_signature_is_valid(const char *s) {
        if (strlen(s) > 255)
                return false;
        while (*s) {
                s = dbus_type_end(s, false, 0);
                if (!s)
                        return false;
        }
        return true;
}

/**
 * dbus_signature_is_single() - whether @s is exactly one complete type (a variant's signature)
 * @s: the signature
 *
 * Return: true if so.
 */
bool dbus_signature_is_single(const char *s) {
        const char *e = strlen(s) <= 255 ? dbus_type_end(s, false, 0) : NULL;
        return e && *e == 0;
}

static bool path_char_is_valid(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool object_path_is_valid(const char *p, size_t len) {
        if (len == 0 || p[0] != '/')
                return false;
        if (len > 1 && p[len - 1] == '/')
                return false;
        for (size_t i = 1; i < len; i++)
                if (p[i] == '/' ? p[i - 1] == '/' : !path_char_is_valid(p[i]))
                        return false;
        return true;
}

/**
 * dbus_object_path_is_valid() - whether @p is a valid object path ("/", or "/a/b_c/D1")
 * @p: the path
 *
 * Return: true if valid.
 */
bool dbus_object_path_is_valid(const char *p) {
        return object_path_is_valid(p, strlen(p));
}

/**
 * dbus_utf8_sequence() - the length of the valid UTF-8 sequence at @s
 * @s: the bytes
 * @left: how many there are, at least 1
 *
 * Return: the length, or 0 if the bytes at @s are not valid UTF-8 (overlong, surrogate, beyond
 * U+10FFFF, cut short).
 */
size_t dbus_utf8_sequence(const unsigned char *s, size_t left) {
        unsigned char c = s[0];
        size_t n;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, cp = c & 0x07;
        else
                return 0;
        if (n > left)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

static bool utf8_is_valid(const char *s, size_t len) {
        for (size_t i = 0; i < len;) {
                size_t n = dbus_utf8_sequence((const unsigned char *) s + i, len - i);
                if (n == 0)
                        return false;
                i += n;
        }
        return true;
}

/* --- reading -------------------------------------------------------------------------------- */

typedef struct Reader {
        const uint8_t *data;            /* the message or its body; alignment counts from here */
        size_t end;
        size_t pos;
        bool swapped;
        uint32_t unix_fds;              /* 'h' values must be below this */
} Reader;

static int reader_align(Reader *r, size_t a) {
        size_t p = align_to(r->pos, a);

        if (p > r->end)
                return -EBADMSG;
        for (; r->pos < p; r->pos++)
                if (r->data[r->pos] != 0)
                        return -EBADMSG;
        return 0;
}

static int reader_fixed(Reader *r, size_t size, void *ret) {
        if (reader_align(r, size) < 0 || r->end - r->pos < size)
                return -EBADMSG;
        memcpy(ret, r->data + r->pos, size);
        r->pos += size;
        return 0;
}

static int read_u16(Reader *r, uint16_t *ret) {
        uint16_t v;

        if (reader_fixed(r, sizeof(v), &v) < 0)
                return -EBADMSG;
        *ret = r->swapped ? bswap_16(v) : v;
        return 0;
}

static int read_u32(Reader *r, uint32_t *ret) {
        uint32_t v;

        if (reader_fixed(r, sizeof(v), &v) < 0)
                return -EBADMSG;
        *ret = r->swapped ? bswap_32(v) : v;
        return 0;
}

static int read_u64(Reader *r, uint64_t *ret) {
        uint64_t v;

        if (reader_fixed(r, sizeof(v), &v) < 0)
                return -EBADMSG;
        *ret = r->swapped ? bswap_64(v) : v;
        return 0;
}

/* 's' and 'o' (32-bit length) or 'g' (8-bit length); the string is NUL-terminated in place. */
static int read_string(Reader *r, char type, const char **ret) {
        uint32_t len;
        const char *s;

        if (type == 'g') {
                if (r->pos >= r->end)
                        return -EBADMSG;
                len = r->data[r->pos++];
        } else if (read_u32(r, &len) < 0)
                return -EBADMSG;

        if (len >= r->end - r->pos)
                return -EBADMSG;
        s = (const char *) r->data + r->pos;
        if (s[len] != 0 || memchr(s, 0, len))
                return -EBADMSG;
        if (type == 'g' && !dbus_signature_is_valid(s))
                return -EBADMSG;
        if (type == 'o' && !object_path_is_valid(s, len))
                return -EBADMSG;
        if (type == 's' && !utf8_is_valid(s, len))
                return -EBADMSG;
        r->pos += len + 1;
        *ret = s;
        return 0;
}

/* An array's length, and the padding to its first element: returns where the array ends. */
static int read_array_start(Reader *r, char element, size_t *ret_end) {
        uint32_t len;

        if (read_u32(r, &len) < 0 || len > DBUS_ARRAY_MAX)
                return -EBADMSG;
        /* Padding to the element's alignment comes even before an empty array's end. */
        if (reader_align(r, dbus_type_alignment(element)) < 0 || len > r->end - r->pos)
                return -EBADMSG;
        *ret_end = r->pos + len;
        return 0;
}

/* Skips one value of the single complete type at *sig (a dict entry too) and advances *sig past
 * that type. */
static int skip_value(Reader *r, const char **sig, unsigned depth) {
        char c = *(*sig)++;
        uint64_t u64;
        uint32_t u32;
        uint16_t u16;
        const char *s;

        if (depth > DBUS_DEPTH_MAX)
                return -EBADMSG;

        switch (c) {
        case 'y':
                if (r->pos >= r->end)
                        return -EBADMSG;
                r->pos++;
                return 0;
        case 'b':
                return read_u32(r, &u32) < 0 || u32 > 1 ? -EBADMSG : 0;
        case 'n': case 'q':
                return read_u16(r, &u16);
        case 'i': case 'u':
                return read_u32(r, &u32);
        case 'h':
                return read_u32(r, &u32) < 0 || u32 >= r->unix_fds ? -EBADMSG : 0;
        case 'x': case 't': case 'd':
                return read_u64(r, &u64);
        case 's': case 'o': case 'g':
                return read_string(r, c, &s);
        case 'v': {
                const char *inner;

                if (read_string(r, 'g', &inner) < 0 || !dbus_signature_is_single(inner))
                        return -EBADMSG;
                return skip_value(r, &inner, depth + 1);
        }
        case 'a': {
                const char *element = *sig, *element_end = dbus_type_end(element, true, depth);
                size_t array_end;

                if (!element_end || read_array_start(r, *element, &array_end) < 0)
                        return -EBADMSG;
                while (r->pos < array_end) {
                        const char *e = element;
                        if (skip_value(r, &e, depth + 1) < 0)
                                return -EBADMSG;
                }
                if (r->pos != array_end)
                        return -EBADMSG;
                *sig = element_end;
                return 0;
        }
        case '(': case '{': {
                char close = c == '(' ? ')' : '}';

                if (reader_align(r, 8) < 0)
                        return -EBADMSG;
                while (**sig != close) {
                        if (**sig == 0 || skip_value(r, sig, depth + 1) < 0)
                                return -EBADMSG;
                }
                (*sig)++;
                return 0;
        }
        default:
                return -EBADMSG;
        }
}

static int read_header_field(Reader *r, DbusMessage *m) {
        static const char field_types[] = {
                [HEADER_PATH] = 'o', [HEADER_INTERFACE] = 's', [HEADER_MEMBER] = 's',
                [HEADER_ERROR_NAME] = 's', [HEADER_REPLY_SERIAL] = 'u', [HEADER_DESTINATION] = 's',
                [HEADER_SENDER] = 's', [HEADER_SIGNATURE] = 'g', [HEADER_UNIX_FDS] = 'u',
        };
        const char *sig, *value = NULL;
        uint32_t u32 = 0;
        uint8_t code;

        if (reader_align(r, 8) < 0 || r->pos >= r->end)
                return -EBADMSG;
        code = r->data[r->pos++];
        if (read_string(r, 'g', &sig) < 0 || !dbus_signature_is_single(sig))
                return -EBADMSG;

        /* Fields we don't know are skipped, as the specification asks. */
        if (code == 0 || code >= ELEMENTSOF(field_types) || field_types[code] == 0)
                return skip_value(r, &sig, 1);
        if (sig[0] != field_types[code])
                return -EBADMSG;

        if (sig[0] == 'u') {
                if (read_u32(r, &u32) < 0)
                        return -EBADMSG;
        } else if (read_string(r, sig[0], &value) < 0)
                return -EBADMSG;

        switch (code) {
        case HEADER_PATH:         m->path = value;        break;
        case HEADER_INTERFACE:    m->interface = value;   break;
        case HEADER_MEMBER:       m->member = value;      break;
        case HEADER_ERROR_NAME:   m->error_name = value;  break;
        case HEADER_REPLY_SERIAL: m->reply_serial = u32;  break;
        case HEADER_DESTINATION:  m->destination = value; break;
        case HEADER_SENDER:       m->sender = value;      break;
        case HEADER_SIGNATURE:    m->signature = value;   break;
        case HEADER_UNIX_FDS:     m->unix_fds = u32;      break;
        }
        return 0;
}

/* The fixed header: sizes, serial, byte order. Returns the message's total size, 0 if invalid. */
static uint64_t read_fixed_header(const uint8_t *data, Reader *r, uint32_t *ret_serial,
                                  uint32_t *ret_fields_size, uint32_t *ret_body_size) {
        if (!IN_SET(data[0], 'l', 'B') || data[1] == 0 || data[3] != 1)
                return 0;

        *r = (Reader) {
                .data = data,
                .end = DBUS_HEADER_FIXED_SIZE,
                .pos = 4,
                .swapped = data[0] != DBUS_NATIVE_ENDIAN,
                .unix_fds = UINT32_MAX,         /* 'h' in an unknown header field means nothing */
        };
        if (read_u32(r, ret_body_size) < 0 || read_u32(r, ret_serial) < 0 ||
            read_u32(r, ret_fields_size) < 0)
                return 0;
        if (*ret_serial == 0 || *ret_fields_size > DBUS_ARRAY_MAX)
                return 0;
        return align_to(DBUS_HEADER_FIXED_SIZE + (size_t) *ret_fields_size, 8) + (uint64_t) *ret_body_size;
}

/**
 * dbus_message_missing() - how many bytes the message at the start of @data still lacks
 * @data: received bytes
 * @size: how many
 *
 * Return: the number of bytes that complete the message (the fixed header first), 0 if it is
 * complete, 1 if its fixed header is invalid (parsing then tells why).
 */
size_t dbus_message_missing(const uint8_t *data, size_t size) {
        uint32_t serial, fields_size, body_size;
        uint64_t total;
        Reader r;

        if (size < DBUS_HEADER_FIXED_SIZE)
                return DBUS_HEADER_FIXED_SIZE - size;
        total = read_fixed_header(data, &r, &serial, &fields_size, &body_size);
        if (total == 0)
                return 1;
        return total > size ? (size_t) MIN(total - size, (uint64_t) SIZE_MAX) : 0;
}

static int check_required_fields(const DbusMessage *m) {
        switch (m->type) {
        case DBUS_MESSAGE_METHOD_CALL:
                return m->path && m->member ? 0 : -EBADMSG;
        case DBUS_MESSAGE_SIGNAL:
                return m->path && m->interface && m->member ? 0 : -EBADMSG;
        case DBUS_MESSAGE_ERROR:
                return m->error_name && m->reply_serial != 0 ? 0 : -EBADMSG;
        case DBUS_MESSAGE_METHOD_RETURN:
                return m->reply_serial != 0 ? 0 : -EBADMSG;
        default:
                return 0;
        }
}

/**
 * dbus_message_parse() - parse the message at the start of @data
 * @data: received bytes
 * @size: how many
 * @max_size: the largest message accepted
 * @ret: the message; it points into @data, and has no fds attached (ret->fds is NULL)
 * @ret_size: the message's length in bytes, to consume after handling it
 *
 * The whole message is validated, body included, against its signature; 'h' values must be
 * below the message's UNIX_FDS header field.
 *
 * Return: 1 if a message was parsed, 0 if @data does not hold a whole message yet, -EMSGSIZE if it
 * announces more than @max_size bytes, -EBADMSG if it is not a valid message.
 */
int dbus_message_parse(const uint8_t *data, size_t size, size_t max_size, DbusMessage *ret,
                       size_t *ret_size) {
        DbusMessage m = { .signature = "" };
        uint32_t body_size, fields_size;
        uint64_t total;
        size_t body_start;
        const char *sig;
        Reader r;

        if (size < DBUS_HEADER_FIXED_SIZE)
                return 0;
        total = read_fixed_header(data, &r, &m.serial, &fields_size, &body_size);
        if (total == 0)
                return -EBADMSG;
        if (total > max_size)
                return -EMSGSIZE;
        if (size < total)
                return 0;

        m.type = data[1];
        m.flags = data[2];
        m.swapped = r.swapped;
        body_start = align_to(DBUS_HEADER_FIXED_SIZE + (size_t) fields_size, 8);

        r.end = DBUS_HEADER_FIXED_SIZE + (size_t) fields_size;
        while (r.pos < r.end)
                if (read_header_field(&r, &m) < 0)
                        return -EBADMSG;
        r.end = body_start;
        if (reader_align(&r, 8) < 0 || check_required_fields(&m) < 0)
                return -EBADMSG;

        /* The body must be exactly what the signature says. */
        r.end = (size_t) total;
        r.unix_fds = m.unix_fds;
        sig = m.signature;
        while (*sig)
                if (skip_value(&r, &sig, 0) < 0)
                        return -EBADMSG;
        if (r.pos != r.end)
                return -EBADMSG;

        m.body = data + body_start;
        m.body_size = body_size;
        *ret = m;
        *ret_size = (size_t) total;
        return 1;
}

/* --- reading values --------------------------------------------------------------------------- */

/**
 * dbus_iter_init() - an iterator over the body of @m
 * @it: the iterator
 * @m: a parsed message; it must outlive @it
 */
void dbus_iter_init(DbusIter *it, const DbusMessage *m) {
        *it = (DbusIter) { .message = m, .end = m->body_size, .sig = m->signature };
}

static int read_value(Reader *r, const DbusMessage *m, const char **sig, va_list *ap);

static int read_variant(Reader *r, const DbusMessage *m, DbusIter *ret) {
        const char *inner, *s;
        size_t start;

        if (read_string(r, 'g', &inner) < 0 || !dbus_signature_is_single(inner))
                return -EBADMSG;
        start = r->pos;
        s = inner;
        if (skip_value(r, &s, 1) < 0)
                return -EBADMSG;
        *ret = (DbusIter) { .message = m, .pos = start, .end = r->pos, .sig = inner };
        return 0;
}

/* "ay" gives a pointer and a size, any other array an iterator over its elements. */
static int read_array(Reader *r, const DbusMessage *m, const char **sig, va_list *ap) {
        const char *element = *sig, *element_end = dbus_type_end(element, true, 0);
        size_t array_end;

        if (!element_end || read_array_start(r, *element, &array_end) < 0)
                return -EBADMSG;
        if (*element == 'y') {
                *va_arg(*ap, const void **) = r->data + r->pos;
                *va_arg(*ap, size_t *) = array_end - r->pos;
        } else
                *va_arg(*ap, DbusIter *) = (DbusIter) {
                        .message = m,
                        .pos = r->pos,
                        .end = array_end,
                        .sig = element,
                        .element_size = (size_t) (element_end - element),
                };
        r->pos = array_end;
        *sig = element_end;
        return 0;
}

static int read_fd(Reader *r, const DbusMessage *m, int *ret) {
        uint32_t index;

        if (read_u32(r, &index) < 0 || index >= m->unix_fds)
                return -EBADMSG;
        if (!m->fds)
                return -EBADF;
        *ret = m->fds[index];
        return 0;
}

static int read_basic(Reader *r, char type, va_list *ap) {
        uint64_t u64;
        uint32_t u32;
        uint16_t u16;

        switch (type) {
        case 'y':
                if (r->pos >= r->end)
                        return -EBADMSG;
                *va_arg(*ap, uint8_t *) = r->data[r->pos++];
                return 0;
        case 'b':
                if (read_u32(r, &u32) < 0 || u32 > 1)
                        return -EBADMSG;
                *va_arg(*ap, int *) = (int) u32;
                return 0;
        case 'n': case 'q':
                if (read_u16(r, &u16) < 0)
                        return -EBADMSG;
                memcpy(va_arg(*ap, uint16_t *), &u16, sizeof(u16));
                return 0;
        case 'i': case 'u':
                if (read_u32(r, &u32) < 0)
                        return -EBADMSG;
                memcpy(va_arg(*ap, uint32_t *), &u32, sizeof(u32));
                return 0;
        case 'x': case 't': case 'd':
                if (read_u64(r, &u64) < 0)
                        return -EBADMSG;
                memcpy(va_arg(*ap, uint64_t *), &u64, sizeof(u64));
                return 0;
        case 's': case 'o': case 'g':
                return read_string(r, type, va_arg(*ap, const char **));
        default:
                return -EINVAL;
        }
}

/* Reads one value of the complete type at *sig, which the caller's types matched, and advances
 * *sig past it. Struct and dict entry members are read one after the other. */
static int read_value(Reader *r, const DbusMessage *m, const char **sig, va_list *ap) {
        char c = *(*sig)++;
        int k;

        switch (c) {
        case 'h':
                return read_fd(r, m, va_arg(*ap, int *));
        case 'v':
                return read_variant(r, m, va_arg(*ap, DbusIter *));
        case 'a':
                return read_array(r, m, sig, ap);
        case '(': case '{': {
                char close = c == '(' ? ')' : '}';

                if (reader_align(r, 8) < 0)
                        return -EBADMSG;
                while (**sig != close) {
                        k = read_value(r, m, sig, ap);
                        if (k < 0)
                                return k;
                }
                (*sig)++;
                return 0;
        }
        default:
                return read_basic(r, c, ap);
        }
}

/* Whether @types is what the iterator has next: one element of an array, or the next types of a
 * body or variant. Returns 1 if so, 0 if nothing is left, -ENXIO for other types. */
static int iter_check(const DbusIter *it, const char *types, size_t len) {
        if (it->element_size > 0) {
                const char *e = dbus_type_end(types, true, 0);
                if (!e || *e != 0)
                        return -EINVAL;
                if (it->pos >= it->end)
                        return 0;
                return len == it->element_size && memcmp(types, it->sig, len) == 0 ? 1 : -ENXIO;
        }
        if (len == 0 || !dbus_signature_is_valid(types))
                return -EINVAL;
        if (*it->sig == 0)
                return 0;
        /* Complete types never start with another complete type, so a prefix is made of whole ones. */
        return strncmp(it->sig, types, len) == 0 ? 1 : -ENXIO;
}

static int iter_readv(DbusIter *it, const char *types, va_list *ap) {
        const DbusMessage *m = it->message;
        Reader r = {
                .data = m->body,
                .end = it->end,
                .pos = it->pos,
                .swapped = m->swapped,
                .unix_fds = m->unix_fds,
        };
        size_t len = strlen(types);
        const char *sig;
        int k;

        k = iter_check(it, types, len);
        if (k <= 0)
                return k;
        for (sig = it->sig; sig < it->sig + len;) {
                k = read_value(&r, m, &sig, ap);
                if (k < 0)
                        return k;
        }
        it->pos = r.pos;
        if (it->element_size == 0)
                it->sig = sig;
        return 1;
}

/**
 * dbus_iter_read() - read the next values
 * @it: where to read: a body, an array (one element per call) or a variant
 * @types: their types; for each a pointer:
 *         y uint8_t, b int, n int16_t, q uint16_t, i int32_t, u uint32_t, x int64_t, t uint64_t,
 *         d double, s/o/g const char * (pointing into the message),
 *         h int: the fd, still owned by the message (dbus_message_take_fd() takes it over),
 *         v DbusIter: over the variant's value; its sig is the value's signature,
 *         ay const void * and size_t: the bytes, in the message,
 *         any other array DbusIter: over its elements,
 *         (...) and {...}: the members, one after the other.
 *
 * Reading an a{sv}: dbus_iter_read(&body, "a{sv}", &array), then, while
 * dbus_iter_read(&array, "{sv}", &key, &value) > 0, dbus_iter_read(&value, "b", &flag) for a key
 * whose type is known; that fails with -ENXIO if the variant holds another type.
 *
 * Return: 1 if the values were read, 0 if nothing is left to read (the end of the array, body or
 * variant), -ENXIO if @types is not what comes next, -EINVAL if @types is no valid type (for an
 * array: not one element type), -EBADF for an 'h' of a message without fds attached. On failure
 * some values may have been stored, but the iterator has not moved.
 */
int dbus_iter_read(DbusIter *it, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = iter_readv(it, types, &ap);
        va_end(ap);
        return r;
}

/**
 * dbus_message_read() - read the body of @m, which must have exactly the signature @types
 * @m: a parsed message
 * @types: any types; for each the pointers dbus_iter_read() takes
 *
 * Return: 0, -ENXIO if the signature is not @types, -EINVAL if @types is not a valid signature,
 * -EBADF for an 'h' of a message without fds attached.
 */
int dbus_message_read(const DbusMessage *m, const char *types, ...) {
        DbusIter it;
        va_list ap;
        int r;

        if (!streq(m->signature, types))
                return dbus_signature_is_valid(types) ? -ENXIO : -EINVAL;
        if (*types == 0)
                return 0;

        dbus_iter_init(&it, m);
        va_start(ap, types);
        r = iter_readv(&it, types, &ap);
        va_end(ap);
        return r < 0 ? r : 0;
}

/**
 * dbus_message_take_fd() - take over one of @m's fds
 * @m: a message with fds attached
 * @fd: an fd read from it ('h')
 *
 * The message no longer closes @fd when it is done; the caller does.
 *
 * Return: @fd, or -EBADF if @m does not own it (any more).
 */
int dbus_message_take_fd(const DbusMessage *m, int fd) {
        if (fd < 0 || !m->fds)
                return -EBADF;
        for (uint32_t i = 0; i < m->unix_fds; i++)
                if (m->fds[i] == fd) {
                        m->fds[i] = -EBADF;
                        return fd;
                }
        return -EBADF;
}
