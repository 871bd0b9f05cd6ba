/* Building D-Bus messages (see dbus-wire.h for the scope).
 *
 * A writer follows the body's signature, which the caller gives up front: every value and every
 * container is checked against it, so a message we send is always well-formed and sd-bus never
 * drops the connection over one of ours. The signatures the writer follows are the copies inside
 * the message (the header's SIGNATURE, each variant's own), addressed by offset, so nothing the
 * caller passed has to outlive the call that passed it. Open containers are kept in a small array
 * in the writer; containers nest at most DBUS_WRITER_DEPTH_MAX deep.
 *
 * Errors are sticky: after the first one every call returns it and does nothing, so a caller may
 * check only dbus_writer_end(), which then removes the partial message and the fds it had queued.
 *
 * 'h' values are duplicated into a DbusFds list, each with where its message starts, and the
 * UNIX_FDS header field is added by dbus_writer_end() (dbus-wire-conn.c sends the fds along with
 * the message's first byte). Strings are made valid UTF-8 first: the runtime's error messages end
 * up in replies, and sd-bus drops a connection over one bad byte. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "dbus-wire-internal.h"

typedef DbusWriterLevel Level;

static int fail(DbusWriter *w, int error) {
        if (w->error == 0)
                w->error = error;
        return w->error;
}

/* Where the next byte goes, counted from the start of the message. */
static uint32_t offset(const DbusWriter *w) {
        return (uint32_t) (w->b->size - w->base);
}

static const char *sig_at(const DbusWriter *w, uint32_t at) {
        return (const char *) w->b->data + w->base + at;
}

static void put(DbusWriter *w, const void *p, size_t size) {
        if (w->error == 0 && w->b->size - w->base + size > DBUS_MESSAGE_MAX)
                w->error = -EMSGSIZE;
        if (w->error == 0)
                w->error = dbus_buffer_append(w->b, p, size);
}

static void put_align(DbusWriter *w, size_t a) {
        static const uint8_t zeros[8] = {};
        size_t o = offset(w);

        put(w, zeros, align_to(o, a) - o);
}

static void put_fixed(DbusWriter *w, const void *p, size_t size) {
        put_align(w, size);
        put(w, p, size);
}

static void put_u32(DbusWriter *w, uint32_t v) {
        put_fixed(w, &v, sizeof(v));
}

static void patch_u32(DbusWriter *w, uint32_t at, uint32_t v) {
        if (w->error == 0)
                memcpy(w->b->data + w->base + at, &v, sizeof(v));
}

/* Replaces every byte that is not part of valid UTF-8 (D-Bus requires it). */
static void make_utf8(uint8_t *p, size_t len) {
        for (size_t i = 0; i < len;) {
                size_t n = dbus_utf8_sequence(p + i, len - i);
                if (n == 0) {
                        p[i] = '?';
                        n = 1;
                }
                i += n;
        }
}

static void put_string(DbusWriter *w, char type, const char *s) {
        size_t len, start;

        if (!s || (type == 'g' && !dbus_signature_is_valid(s)) ||
            (type == 'o' && !dbus_object_path_is_valid(s))) {
                fail(w, -EINVAL);
                return;
        }
        len = strlen(s);
        if (type == 'g') {
                uint8_t l = (uint8_t) len;
                put(w, &l, 1);
        } else {
                if (len > DBUS_MESSAGE_MAX) {
                        fail(w, -EMSGSIZE);
                        return;
                }
                put_u32(w, (uint32_t) len);
        }
        start = w->b->size;
        put(w, s, len + 1);
        if (w->error == 0 && type == 's')
                make_utf8(w->b->data + start, len);
}

static void put_header_field(DbusWriter *w, uint8_t code, char type, const char *s, uint32_t u) {
        const char sig[2] = { type, 0 };

        put_align(w, 8);
        put(w, &code, 1);
        put_string(w, 'g', sig);
        if (type == 'u')
                put_u32(w, u);
        else
                put_string(w, type, s);
}

/* The current level, if @type comes next in its signature; NULL (and the error set) otherwise. */
static Level *expect(DbusWriter *w, char type) {
        Level *l = &w->levels[w->depth];

        if (w->error != 0)
                return NULL;
        if (l->type == 'a' && l->cursor == l->end)
                l->cursor = l->begin;           /* the next element */
        if (l->cursor == l->end || *sig_at(w, l->cursor) != type) {
                fail(w, -EINVAL);
                return NULL;
        }
        return l;
}

static void put_fd(DbusWriter *w, int fd) {
        DbusFds *f = w->fds;
        int copy;

        if (!f) {
                fail(w, -EOPNOTSUPP);
                return;
        }
        if (f->n >= DBUS_FDS_MAX) {
                fail(w, -ENOBUFS);
                return;
        }
        /* A copy: the caller keeps its own, and ours lives until it was sent. */
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0) {
                fail(w, -errno);
                return;
        }
        f->fds[f->n] = copy;
        f->at[f->n] = w->base;
        f->n++;
        put_u32(w, f->n - 1 - w->fds_start);
}

static void put_basic(DbusWriter *w, char type, va_list *ap) {
        Level *l = expect(w, type);

        if (!l)
                return;
        switch (type) {
        case 'y': {
                uint8_t v = (uint8_t) va_arg(*ap, int);
                put(w, &v, 1);
                break;
        }
        case 'b':
                put_u32(w, va_arg(*ap, int) != 0);
                break;
        case 'n': case 'q': {
                uint16_t v = (uint16_t) va_arg(*ap, int);
                put_fixed(w, &v, sizeof(v));
                break;
        }
        case 'i': case 'u':
                put_u32(w, va_arg(*ap, uint32_t));
                break;
        case 'h':
                put_fd(w, va_arg(*ap, int));
                break;
        case 'x': case 't': {
                uint64_t v = va_arg(*ap, uint64_t);
                put_fixed(w, &v, sizeof(v));
                break;
        }
        case 'd': {
                double v = va_arg(*ap, double);
                put_fixed(w, &v, sizeof(v));
                break;
        }
        case 's': case 'o': case 'g':
                put_string(w, type, va_arg(*ap, const char *));
                break;
        default:
                fail(w, -EINVAL);
                return;
        }
        l->cursor++;
}

/* Whether the @size bytes at @contents are what the container type from @at to @end holds: the
 * element type after an 'a', or the members inside brackets. */
static bool contents_match(const DbusWriter *w, uint32_t at, uint32_t end, const char *contents,
                           size_t size) {
        uint32_t inner_end = *sig_at(w, at) == 'a' ? end : end - 1;

        return inner_end - (at + 1) == size && memcmp(sig_at(w, at + 1), contents, size) == 0;
}

static int open_variant(DbusWriter *w, Level *l, const char *contents) {
        uint32_t len;

        if (!contents || !dbus_signature_is_single(contents))
                return fail(w, -EINVAL);
        len = (uint32_t) strlen(contents);
        l->cursor++;
        put_string(w, 'g', contents);
        w->levels[w->depth + 1] = (Level) {
                .type = 'v',
                .cursor = offset(w) - len - 1,
                .end = offset(w) - 1,
        };
        return w->error;
}

static void open_array(DbusWriter *w, uint32_t at, uint32_t end) {
        uint32_t length_at;

        put_u32(w, 0);
        length_at = offset(w) - 4;
        /* Padding to the element's alignment comes even before an empty array's end. */
        put_align(w, dbus_type_alignment(*sig_at(w, at + 1)));
        w->levels[w->depth + 1] = (Level) {
                .type = 'a',
                .cursor = at + 1,
                .begin = at + 1,
                .end = end,
                .length_at = length_at,
                .start = offset(w),
        };
}

/* Opens the container whose type is next; @contents (@size bytes; NULL for any) must be what it
 * holds, except for a variant, where it is what the variant will hold. */
static int open_container(DbusWriter *w, char type, const char *contents, size_t size) {
        uint32_t at, end;
        Level *l;

        if (w->depth + 1 >= DBUS_WRITER_DEPTH_MAX || !IN_SET(type, 'a', '(', '{', 'v'))
                return fail(w, -EINVAL);
        l = expect(w, type);
        if (!l)
                return w->error;

        if (type == 'v') {
                if (open_variant(w, l, contents) < 0)
                        return w->error;
        } else {
                /* The signature was validated when the writer began (or the variant opened). */
                at = l->cursor;
                end = at + (uint32_t) (dbus_type_end(sig_at(w, at), type == '{', 0) - sig_at(w, at));
                if (contents && !contents_match(w, at, end, contents, size))
                        return fail(w, -EINVAL);
                l->cursor = end;
                if (type == 'a')
                        open_array(w, at, end);
                else {
                        put_align(w, 8);
                        w->levels[w->depth + 1] = (Level) { .type = type, .cursor = at + 1, .end = end - 1 };
                }
        }
        if (w->error != 0)
                return w->error;
        w->depth++;
        return 0;
}

/**
 * dbus_writer_open() - open a container
 * @w: the writer
 * @type: 'a', '(', '{' (an array's dict entry) or 'v'
 * @contents: for 'v', the single complete type the variant holds; for the others NULL, or what
 *            the signature says they hold ("{sv}" for an a{sv}, "su" for a (su)), as a check
 *
 * Values then go into the container with dbus_writer_append() (or more containers), until
 * dbus_writer_close(). An array takes any number of elements.
 *
 * Return: 0, or the writer's first error: -EINVAL if the container is not what comes next, is
 * nested too deep, or @contents does not fit.
 */
int dbus_writer_open(DbusWriter *w, char type, const char *contents) {
        return open_container(w, type, contents, contents ? strlen(contents) : 0);
}

/**
 * dbus_writer_close() - close the innermost open container
 * @w: the writer
 *
 * Return: 0, or the writer's first error: -EINVAL if no container is open or it is not complete
 * (a struct without all its members, a variant without its value, an array element half-written),
 * -EMSGSIZE for an array over 64 MiB.
 */
int dbus_writer_close(DbusWriter *w) {
        Level *l = &w->levels[w->depth];

        if (w->error != 0)
                return w->error;
        if (w->depth == 0)
                return fail(w, -EINVAL);
        if (l->type == 'a') {
                uint32_t size = offset(w) - l->start;

                if (l->cursor != l->begin && l->cursor != l->end)
                        return fail(w, -EINVAL);
                if (size > DBUS_ARRAY_MAX)
                        return fail(w, -EMSGSIZE);
                patch_u32(w, l->length_at, size);
        } else if (l->cursor != l->end)
                return fail(w, -EINVAL);
        w->depth--;
        return 0;
}

static void close_bracket(DbusWriter *w, char bracket) {
        if (w->error == 0 && w->levels[w->depth].type != (bracket == ')' ? '(' : '{'))
                fail(w, -EINVAL);
        dbus_writer_close(w);
}

static void append_types(DbusWriter *w, const char *types, size_t size, va_list *ap);

/* "ay": the bytes in one go. */
static void append_bytes(DbusWriter *w, va_list *ap) {
        const void *p = va_arg(*ap, const void *);
        size_t size = va_arg(*ap, size_t);

        if (open_container(w, 'a', "y", 1) < 0)
                return;
        if (size > DBUS_ARRAY_MAX) {
                fail(w, -EMSGSIZE);
                return;
        }
        put(w, p, size);
        if (size > 0)
                w->levels[w->depth].cursor = w->levels[w->depth].end;
        dbus_writer_close(w);
}

/* Any other array: a count, then the values of that many elements. Returns the type's end. */
static const char *append_array(DbusWriter *w, const char *type, va_list *ap) {
        const char *element = type + 1, *end = dbus_type_end(type, false, 0);
        unsigned n = va_arg(*ap, unsigned);

        if (!end) {
                fail(w, -EINVAL);
                return type + strlen(type);
        }
        if (open_container(w, 'a', element, (size_t) (end - element)) < 0)
                return end;
        for (unsigned i = 0; i < n && w->error == 0; i++)
                append_types(w, element, (size_t) (end - element), ap);
        dbus_writer_close(w);
        return end;
}

static void append_variant(DbusWriter *w, va_list *ap) {
        const char *contents = va_arg(*ap, const char *);

        if (dbus_writer_open(w, 'v', contents) < 0)
                return;
        append_types(w, contents, strlen(contents), ap);
        dbus_writer_close(w);
}

static void append_types(DbusWriter *w, const char *types, size_t size, va_list *ap) {
        const char *t = types, *end = types + size;

        while (t < end && w->error == 0)
                switch (*t) {
                case '(': case '{':
                        open_container(w, *t++, NULL, 0);
                        break;
                case ')': case '}':
                        close_bracket(w, *t++);
                        break;
                case 'v':
                        append_variant(w, ap);
                        t++;
                        break;
                case 'a':
                        if (t[1] == 'y') {
                                append_bytes(w, ap);
                                t += 2;
                        } else
                                t = append_array(w, t, ap);
                        break;
                default:
                        put_basic(w, *t++, ap);
                }
}

/**
 * dbus_writer_appendv() - dbus_writer_append() with a va_list
 * @w: the writer
 * @types: the types
 * @ap: the values
 *
 * Return: as dbus_writer_append().
 */
int dbus_writer_appendv(DbusWriter *w, const char *types, va_list ap) {
        va_list copy;

        va_copy(copy, ap);
        append_types(w, types, strlen(types), &copy);
        va_end(copy);
        return w->error;
}

/**
 * dbus_writer_append() - append values
 * @w: the writer
 * @types: their types, which must be what the signature has next; for each a value:
 *         y/b/n/q int, i int32_t, u uint32_t, x int64_t, t uint64_t, d double, s/o/g const char *,
 *         h int: an fd, which is duplicated (the caller keeps its own),
 *         v const char *: the single complete type inside, then its value(s),
 *         ay const void * and size_t: the bytes,
 *         any other array unsigned: the number of elements, then each element's values,
 *         (...) and {...}: the members' values.
 *         Containers may also be opened and closed in separate calls: "(" opens a struct, "s" adds
 *         a member, ")" closes it.
 *
 * Replying with an fd: dbus_conn_append(c, &h, "h", fd). Properties: with the writer inside an
 * a{sv} (dbus_writer_open(w, 'a', "{sv}")), dbus_writer_append(w, "{sv}", "Pid", "u", pid) per
 * entry; or all at once, dbus_writer_append(w, "a{sv}", 2, "Pid", "u", pid, "Tty", "b", 1).
 *
 * Return: 0, or the writer's first error: -EINVAL for a type that is not next, an invalid object
 * path or signature, a NULL string; -EOPNOTSUPP for 'h' where the peer takes no fds, -ENOBUFS
 * with DBUS_FDS_MAX fds queued, -EBADF for an invalid fd, -EMSGSIZE, -ENOMEM.
 */
int dbus_writer_append(DbusWriter *w, const char *types, ...) {
        va_list ap;

        va_start(ap, types);
        append_types(w, types, strlen(types), &ap);
        va_end(ap);
        return w->error;
}

/**
 * dbus_writer_begin() - start a message at the end of @out
 * @w: the writer
 * @out: the buffer
 * @fds: where 'h' values are queued, NULL if the message may carry none
 * @h: the header
 * @signature: the body's signature ("" or NULL for none)
 *
 * The body is then written with dbus_writer_append(), dbus_writer_open() and dbus_writer_close(),
 * and the message finished with dbus_writer_end(), which must be called in any case.
 *
 * Return: 0, or the writer's first error: -EINVAL for an invalid signature or path, -ENOMEM.
 */
int dbus_writer_begin(DbusWriter *w, DbusBuffer *out, DbusFds *fds, const DbusHeader *h,
                      const char *signature) {
        uint8_t fixed[DBUS_HEADER_FIXED_SIZE] = { DBUS_NATIVE_ENDIAN, h->type, h->flags, 1 };

        *w = (DbusWriter) { .b = out, .fds = fds, .base = out->size, .fds_start = fds ? fds->n : 0 };
        signature = signature ?: "";

        memcpy(fixed + 8, &h->serial, sizeof(h->serial));
        put(w, fixed, sizeof(fixed));
        if (h->path)
                put_header_field(w, HEADER_PATH, 'o', h->path, 0);
        if (h->interface)
                put_header_field(w, HEADER_INTERFACE, 's', h->interface, 0);
        if (h->member)
                put_header_field(w, HEADER_MEMBER, 's', h->member, 0);
        if (h->error_name)
                put_header_field(w, HEADER_ERROR_NAME, 's', h->error_name, 0);
        if (h->reply_serial != 0)
                put_header_field(w, HEADER_REPLY_SERIAL, 'u', NULL, h->reply_serial);
        if (*signature) {
                put_header_field(w, HEADER_SIGNATURE, 'g', signature, 0);
                /* The body follows the copy of the signature in the header. */
                w->levels[0].end = offset(w) - 1;
                w->levels[0].cursor = w->levels[0].end - (uint32_t) strlen(signature);
        }
        patch_u32(w, 12, offset(w) - DBUS_HEADER_FIXED_SIZE);
        put_align(w, 8);
        w->body_start = offset(w);
        return w->error;
}

/* The UNIX_FDS header field goes last: it takes the 8 bytes where the body started, and the body
 * moves on by 8, which keeps its alignment. Only messages with fds pay for the move. */
static void put_unix_fds(DbusWriter *w) {
        uint8_t field[8] = { HEADER_UNIX_FDS, 1, 'u', 0 };
        uint32_t n = w->fds->n - w->fds_start;
        size_t body = w->base + w->body_start;

        memcpy(field + 4, &n, sizeof(n));
        if (dbus_buffer_reserve(w->b, sizeof(field)) < 0) {
                fail(w, -ENOMEM);
                return;
        }
        memmove(w->b->data + body + sizeof(field), w->b->data + body, w->b->size - body);
        memcpy(w->b->data + body, field, sizeof(field));
        w->b->size += sizeof(field);
        w->body_start += sizeof(field);
        patch_u32(w, 12, w->body_start - DBUS_HEADER_FIXED_SIZE);
}

/**
 * dbus_writer_end() - finish the message, or remove it after an error
 * @w: the writer
 *
 * Return: 0 if the message is complete in the buffer (and its fds queued), or the writer's first
 * error (-EINVAL if the body is not complete or a container is still open); then the buffer and
 * the fd list are as they were before dbus_writer_begin().
 */
int dbus_writer_end(DbusWriter *w) {
        const Level *body = &w->levels[0];

        if (w->error == 0 && (w->depth != 0 || body->cursor != body->end))
                fail(w, -EINVAL);
        if (w->error == 0 && w->fds && w->fds->n > w->fds_start)
                put_unix_fds(w);

        if (w->error != 0) {
                w->b->size = w->base;
                if (w->fds) {
                        for (unsigned i = w->fds_start; i < w->fds->n; i++)
                                safe_close(w->fds->fds[i]);
                        w->fds->n = w->fds_start;
                }
                return w->error;
        }
        patch_u32(w, 4, offset(w) - w->body_start);
        return 0;
}

/**
 * dbus_message_appendv() - marshal one message onto @out
 * @out: the buffer; on failure it is left as it was
 * @h: the header
 * @types: the body's signature ("" or NULL for none), also the types of the values
 * @ap: the values, as dbus_writer_append() takes them (no 'h': @out carries no fds)
 *
 * Return: 0, or as dbus_writer_end().
 */
int dbus_message_appendv(DbusBuffer *out, const DbusHeader *h, const char *types, va_list ap) {
        DbusWriter w;

        types = types ?: "";
        if (dbus_writer_begin(&w, out, NULL, h, types) == 0)
                (void) dbus_writer_appendv(&w, types, ap);
        return dbus_writer_end(&w);
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

/**
 * dbus_fds_done() - close every fd in @f
 * @f: the list
 */
void dbus_fds_done(DbusFds *f) {
        for (unsigned i = 0; i < f->n; i++)
                safe_close(f->fds[i]);
        f->n = 0;
}
