/* D-Bus wire format and the server side of authentication (see dbus-wire.h for the scope).
 *
 * Parsing never trusts a length: every read is bounds-checked against the message, padding must
 * be zero, strings must be NUL-terminated without embedded NULs, and containers are walked with
 * a depth limit, so a hostile peer can at worst get its connection dropped. Values are read with
 * memcpy(), so buffers need no alignment. Strings we send are made valid UTF-8 first: the runtime's
 * error messages end up in replies, and sd-bus drops a connection over one bad byte. */

#include <byteswap.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-wire.h"

#define DBUS_DEPTH_MAX       64
#define DBUS_ARRAY_MAX       (64U * 1024U * 1024U)
#define DBUS_AUTH_LINE_MAX   1024
#define DBUS_AUTH_LINES_MAX  32

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

static size_t align_to(size_t n, size_t a) {
        return (n + a - 1) & ~(a - 1);
}

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

/* --- signatures ----------------------------------------------------------------------------- */

static bool type_is_basic(char c) {
        return c != 0 && strchr("ybnqiuxtdhsog", c);
}

static size_t type_alignment(char c) {
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

/* The end of the single complete type at @s, or NULL if there is none. */
static const char *signature_type_end(const char *s, unsigned depth) {
        if (depth > DBUS_DEPTH_MAX)
                return NULL;
        if (type_is_basic(*s) || *s == 'v')
                return s + 1;
        if (*s == 'a') {
                if (s[1] != '{')
                        return signature_type_end(s + 1, depth + 1);
                if (!type_is_basic(s[2]))
                        return NULL;
                s = signature_type_end(s + 3, depth + 1);
                return s && *s == '}' ? s + 1 : NULL;
        }
        if (*s == '(') {
                s++;
                if (*s == ')')
                        return NULL;
                while (s && *s != ')')
                        s = *s ? signature_type_end(s, depth + 1) : NULL;
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
                s = signature_type_end(s, 0);
                if (!s)
                        return false;
        }
        return true;
}

static bool signature_is_single(const char *s) {
        const char *e = signature_type_end(s, 0);
        return e && *e == 0;
}

/* --- reading -------------------------------------------------------------------------------- */

typedef struct Reader {
        const uint8_t *data;            /* the message; offsets and alignment count from here */
        size_t end;
        size_t pos;
        bool swapped;
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
        if (type == 'o' && s[0] != '/')
                return -EBADMSG;
        r->pos += len + 1;
        *ret = s;
        return 0;
}

/* Skips one value of the single complete type at *sig and advances *sig past that type. */
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
        case 'i': case 'u': case 'h':
                return read_u32(r, &u32);
        case 'x': case 't': case 'd':
                return read_u64(r, &u64);
        case 's': case 'o': case 'g':
                return read_string(r, c, &s);
        case 'v': {
                const char *inner;

                if (read_string(r, 'g', &inner) < 0 || !signature_is_single(inner))
                        return -EBADMSG;
                return skip_value(r, &inner, depth + 1);
        }
        case 'a': {
                /* Measured from the 'a': a dict entry is only a type inside an array. */
                const char *element = *sig, *element_end = signature_type_end(element - 1, depth);
                size_t array_end;

                if (!element_end || read_u32(r, &u32) < 0 || u32 > DBUS_ARRAY_MAX)
                        return -EBADMSG;
                /* Padding to the element's alignment comes even before an empty array's end. */
                if (reader_align(r, type_alignment(*element)) < 0 || u32 > r->end - r->pos)
                        return -EBADMSG;
                array_end = r->pos + u32;
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
        if (read_string(r, 'g', &sig) < 0 || !signature_is_single(sig))
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

/**
 * dbus_message_parse() - parse the message at the start of @data
 * @data: received bytes
 * @size: how many
 * @max_size: the largest message accepted
 * @ret: the message; it points into @data
 * @ret_size: the message's length in bytes, to consume after handling it
 *
 * The whole message is validated, body included, against its signature.
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
        if (!IN_SET(data[0], 'l', 'B') || data[1] == 0 || data[3] != 1)
                return -EBADMSG;

        r = (Reader) {
                .data = data,
                .end = DBUS_HEADER_FIXED_SIZE,
                .pos = 4,
                .swapped = data[0] != DBUS_NATIVE_ENDIAN,
        };
        if (read_u32(&r, &body_size) < 0 || read_u32(&r, &m.serial) < 0 || read_u32(&r, &fields_size) < 0)
                return -EBADMSG;
        if (m.serial == 0 || fields_size > DBUS_ARRAY_MAX)
                return -EBADMSG;

        body_start = align_to(DBUS_HEADER_FIXED_SIZE + (size_t) fields_size, 8);
        total = (uint64_t) body_start + body_size;
        if (total > max_size)
                return -EMSGSIZE;
        if (size < total)
                return 0;

        m.type = data[1];
        m.flags = data[2];
        m.swapped = r.swapped;

        r.end = DBUS_HEADER_FIXED_SIZE + (size_t) fields_size;
        while (r.pos < r.end)
                if (read_header_field(&r, &m) < 0)
                        return -EBADMSG;
        r.end = body_start;
        if (reader_align(&r, 8) < 0)
                return -EBADMSG;

        switch (m.type) {
        case DBUS_MESSAGE_METHOD_CALL:
                if (!m.path || !m.member)
                        return -EBADMSG;
                break;
        case DBUS_MESSAGE_SIGNAL:
                if (!m.path || !m.interface || !m.member)
                        return -EBADMSG;
                break;
        case DBUS_MESSAGE_ERROR:
                if (!m.error_name || m.reply_serial == 0)
                        return -EBADMSG;
                break;
        case DBUS_MESSAGE_METHOD_RETURN:
                if (m.reply_serial == 0)
                        return -EBADMSG;
                break;
        }

        /* The body must be exactly what the signature says. */
        r.end = (size_t) total;
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

/**
 * dbus_message_read() - read the body of @m, which must have exactly the signature @types
 * @m: a parsed message
 * @types: basic types only; for each a pointer: y uint8_t, b int, n int16_t, q uint16_t,
 *         i int32_t, u/h uint32_t, x int64_t, t uint64_t, d double, s/o/g const char *
 *
 * Return: 0, -ENXIO if the signature is not @types, -EINVAL for a non-basic type in @types.
 */
int dbus_message_read(const DbusMessage *m, const char *types, ...) {
        Reader r = { .data = m->body, .end = m->body_size, .swapped = m->swapped };
        int ret = 0;
        va_list ap;

        if (!streq(m->signature, types))
                return -ENXIO;

        va_start(ap, types);
        for (const char *t = types; *t && ret == 0; t++) {
                uint64_t u64 = 0;
                uint32_t u32 = 0;
                uint16_t u16 = 0;

                switch (*t) {
                case 'y':
                        *va_arg(ap, uint8_t *) = r.data[r.pos++];
                        break;
                case 'b':
                        ret = read_u32(&r, &u32);
                        *va_arg(ap, int *) = u32 != 0;
                        break;
                case 'n': case 'q':
                        ret = read_u16(&r, &u16);
                        memcpy(va_arg(ap, uint16_t *), &u16, sizeof(u16));
                        break;
                case 'i': case 'u': case 'h':
                        ret = read_u32(&r, &u32);
                        memcpy(va_arg(ap, uint32_t *), &u32, sizeof(u32));
                        break;
                case 'x': case 't': case 'd':
                        ret = read_u64(&r, &u64);
                        memcpy(va_arg(ap, uint64_t *), &u64, sizeof(u64));
                        break;
                case 's': case 'o': case 'g':
                        ret = read_string(&r, *t, va_arg(ap, const char **));
                        break;
                default:
                        ret = -EINVAL;
                }
        }
        va_end(ap);
        return ret;
}

/* --- writing -------------------------------------------------------------------------------- */

typedef struct Writer {
        DbusBuffer *b;
        size_t base;                    /* where the message starts: alignment counts from here */
        int error;
} Writer;

static void put(Writer *w, const void *p, size_t size) {
        if (w->error == 0)
                w->error = dbus_buffer_append(w->b, p, size);
}

static void put_align(Writer *w, size_t a) {
        static const uint8_t zeros[8] = {};
        size_t offset = w->b->size - w->base;

        put(w, zeros, align_to(offset, a) - offset);
}

static void put_u32(Writer *w, uint32_t v) {
        put_align(w, 4);
        put(w, &v, sizeof(v));
}

/* The length of the longest valid UTF-8 sequence at @s, 0 if it is invalid there. */
static size_t utf8_sequence(const unsigned char *s, size_t left) {
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

static void put_string(Writer *w, char type, const char *s) {
        size_t len = strlen(s), start;

        if (type == 'g') {
                uint8_t l = (uint8_t) MIN(len, (size_t) 255);
                put(w, &l, 1);
                len = l;
        } else
                put_u32(w, (uint32_t) len);
        start = w->b->size;
        put(w, s, len);
        put(w, "", 1);
        if (w->error != 0)
                return;

        /* Replace every byte that is not part of valid UTF-8 (D-Bus requires it). */
        for (size_t i = 0; i < len;) {
                unsigned char *p = w->b->data + start + i;
                size_t n = utf8_sequence(p, len - i);
                if (n == 0) {
                        *p = '?';
                        n = 1;
                }
                i += n;
        }
}

static void put_header_field(Writer *w, uint8_t code, char type, const char *s, uint32_t u) {
        const char sig[2] = { type, 0 };

        put_align(w, 8);
        put(w, &code, 1);
        put_string(w, 'g', sig);
        if (type == 'u')
                put_u32(w, u);
        else
                put_string(w, type, s);
}

static void patch_u32(Writer *w, size_t offset, uint32_t v) {
        if (w->error == 0)
                memcpy(w->b->data + w->base + offset, &v, sizeof(v));
}

/**
 * dbus_message_appendv() - marshal one message onto @out
 * @out: the buffer; on failure it is left as it was
 * @h: the header
 * @types: the body's signature, basic types only ("" or NULL for none)
 * @ap: one value for each type:
 *         y/b/n/q int, i int32_t, u uint32_t, x int64_t, t uint64_t, d double, s/o/g const char *
 *
 * Return: 0, -EINVAL for a type that is not basic (or 'h'), -ENOMEM.
 */
int dbus_message_appendv(DbusBuffer *out, const DbusHeader *h, const char *types, va_list ap) {
        Writer w = { .b = out, .base = out->size };
        uint8_t fixed[DBUS_HEADER_FIXED_SIZE] = { DBUS_NATIVE_ENDIAN, h->type, h->flags, 1 };
        size_t body_start;

        types = types ?: "";
        for (const char *t = types; *t; t++)
                if (!type_is_basic(*t) || *t == 'h')    /* no fds on our connections */
                        return -EINVAL;

        memcpy(fixed + 8, &h->serial, sizeof(h->serial));
        put(&w, fixed, sizeof(fixed));
        if (h->path)
                put_header_field(&w, HEADER_PATH, 'o', h->path, 0);
        if (h->interface)
                put_header_field(&w, HEADER_INTERFACE, 's', h->interface, 0);
        if (h->member)
                put_header_field(&w, HEADER_MEMBER, 's', h->member, 0);
        if (h->error_name)
                put_header_field(&w, HEADER_ERROR_NAME, 's', h->error_name, 0);
        if (h->reply_serial != 0)
                put_header_field(&w, HEADER_REPLY_SERIAL, 'u', NULL, h->reply_serial);
        if (*types)
                put_header_field(&w, HEADER_SIGNATURE, 'g', types, 0);
        patch_u32(&w, 12, (uint32_t) (out->size - w.base - DBUS_HEADER_FIXED_SIZE));
        put_align(&w, 8);
        body_start = out->size;

        for (const char *t = types; *t; t++) {
                switch (*t) {
                case 'y': {
                        uint8_t v = (uint8_t) va_arg(ap, int);
                        put(&w, &v, 1);
                        break;
                }
                case 'b':
                        put_u32(&w, va_arg(ap, int) != 0);
                        break;
                case 'n': case 'q': {
                        uint16_t v = (uint16_t) va_arg(ap, int);
                        put_align(&w, 2);
                        put(&w, &v, sizeof(v));
                        break;
                }
                case 'i': case 'u': case 'h':
                        put_u32(&w, va_arg(ap, uint32_t));
                        break;
                case 'x': case 't': {
                        uint64_t v = va_arg(ap, uint64_t);
                        put_align(&w, 8);
                        put(&w, &v, sizeof(v));
                        break;
                }
                case 'd': {
                        double v = va_arg(ap, double);
                        put_align(&w, 8);
                        put(&w, &v, sizeof(v));
                        break;
                }
                default:
                        put_string(&w, *t, va_arg(ap, const char *));
                }
        }
        patch_u32(&w, 4, (uint32_t) (out->size - body_start));

        if (w.error != 0) {
                out->size = w.base;
                return w.error;
        }
        return 0;
}

/**
 * dbus_message_append() - dbus_message_appendv() with the values as arguments
 * @out: the buffer
 * @h: the header
 * @types: the body's signature
 *
 * Return: as dbus_message_appendv().
 */
int dbus_message_append(DbusBuffer *out, const DbusHeader *h, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = dbus_message_appendv(out, h, types, ap);
        va_end(ap);
        return r;
}

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
