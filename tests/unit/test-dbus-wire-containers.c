/* Unit tests for the container types of common/dbus-wire: the writer's bytes against the hand
 * marshaller (dbus-raw.c), reading arrays, structs, dict entries, variants, "ay" and 'h' through
 * iterators in both byte orders, the writer's checks and its clean rollback, and the rejection of
 * malformed containers. The fd side of 'h' over real sockets is in test-dbus-wire-fds.c. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbus-raw.h"
#include "dbus-wire.h"
#include "fd-util.h"
#include "macro.h"
#include "test-util.h"

/* A body with every kind of container: an options dict with nested variants, arrays, a struct. */
#define EXEC_SIG "sa{sv}asay(ius)a(su)vh"

static const uint8_t exec_bytes[] = { 0, 1, 0xff, 0x80, 'x' };

static const DbusHeader exec_header = {
        .type = DBUS_MESSAGE_METHOD_CALL, .serial = 1, .path = "/p", .member = "M",
};

static unsigned count_fds(void) {
        unsigned n = 0;

        ck_assert_int_eq(pid_count_fds(0, &n), 0);
        return n;
}

static void write_exec_body(DbusWriter *w, int fd) {
        ck_assert_int_eq(dbus_writer_append(w, "s", "id1"), 0);
        ck_assert_int_eq(dbus_writer_open(w, 'a', "{sv}"), 0);
        ck_assert_int_eq(dbus_writer_append(w, "{sv}", "Tty", "b", 1), 0);
        ck_assert_int_eq(dbus_writer_append(w, "{sv}", "Env", "as", 2, "A=1", "B=2"), 0);
        ck_assert_int_eq(dbus_writer_append(w, "{sv}", "Nested", "v", "(su)", "deep", 5), 0);
        ck_assert_int_eq(dbus_writer_append(w, "{sv}", "Dict", "a{sv}", 1, "k", "t", UINT64_C(7)), 0);
        ck_assert_int_eq(dbus_writer_append(w, "{sv}", "Bytes", "ay", exec_bytes, sizeof(exec_bytes)), 0);
        ck_assert_int_eq(dbus_writer_close(w), 0);
        ck_assert_int_eq(dbus_writer_append(w, "as", 3, "a", "", "c\xff"), 0);
        ck_assert_int_eq(dbus_writer_append(w, "ay", exec_bytes, sizeof(exec_bytes)), 0);
        ck_assert_int_eq(dbus_writer_append(w, "(ius)", -5, 6, "seven"), 0);
        ck_assert_int_eq(dbus_writer_append(w, "a(su)", 0), 0);
        ck_assert_int_eq(dbus_writer_append(w, "v", "t", UINT64_C(8)), 0);
        ck_assert_int_eq(dbus_writer_append(w, "h", fd), 0);
}

/* The same body by hand, in r's byte order. */
static void raw_exec_body(Raw *r) {
        size_t at, start, at2, start2;

        raw_string(r, "id1");
        at = raw_array_begin(r, 8, &start);
        raw_pad(r, 8);
        raw_string(r, "Tty");
        raw_sig(r, "b");
        raw_u32(r, 1);
        raw_pad(r, 8);
        raw_string(r, "Env");
        raw_sig(r, "as");
        at2 = raw_array_begin(r, 4, &start2);
        raw_string(r, "A=1");
        raw_string(r, "B=2");
        raw_array_end(r, at2, start2);
        raw_pad(r, 8);
        raw_string(r, "Nested");
        raw_sig(r, "v");
        raw_sig(r, "(su)");
        raw_pad(r, 8);
        raw_string(r, "deep");
        raw_u32(r, 5);
        raw_pad(r, 8);
        raw_string(r, "Dict");
        raw_sig(r, "a{sv}");
        at2 = raw_array_begin(r, 8, &start2);
        raw_pad(r, 8);
        raw_string(r, "k");
        raw_sig(r, "t");
        raw_u64(r, 7);
        raw_array_end(r, at2, start2);
        raw_pad(r, 8);
        raw_string(r, "Bytes");
        raw_sig(r, "ay");
        raw_u32(r, sizeof(exec_bytes));
        raw_bytes(r, exec_bytes, sizeof(exec_bytes));
        raw_array_end(r, at, start);

        at = raw_array_begin(r, 4, &start);
        raw_string(r, "a");
        raw_string(r, "");
        raw_string(r, "c?");
        raw_array_end(r, at, start);
        raw_u32(r, sizeof(exec_bytes));
        raw_bytes(r, exec_bytes, sizeof(exec_bytes));
        raw_pad(r, 8);
        raw_u32(r, (uint32_t) -5);
        raw_u32(r, 6);
        raw_string(r, "seven");
        at = raw_array_begin(r, 8, &start);
        raw_array_end(r, at, start);
        raw_sig(r, "t");
        raw_u64(r, 8);
        raw_u32(r, 0);
}

static void check_options(DbusIter *options) {
        unsigned seen = 0;
        const char *key;
        DbusIter v;
        int r;

        while ((r = dbus_iter_read(options, "{sv}", &key, &v)) > 0) {
                DbusIter inner, list;
                const char *s = NULL;
                const void *p = NULL;
                uint64_t t = 0;
                uint32_t u = 0;
                size_t size = 0;
                int b = 0;

                if (streq(key, "Tty")) {
                        ck_assert_str_eq(v.sig, "b");
                        ck_assert_int_eq(dbus_iter_read(&v, "s", &s), -ENXIO);
                        ck_assert_int_eq(dbus_iter_read(&v, "b", &b), 1);
                        ck_assert_int_eq(b, 1);
                        ck_assert_int_eq(dbus_iter_read(&v, "b", &b), 0);
                } else if (streq(key, "Env")) {
                        ck_assert_int_eq(dbus_iter_read(&v, "as", &list), 1);
                        ck_assert_int_eq(dbus_iter_read(&list, "s", &s), 1);
                        ck_assert_str_eq(s, "A=1");
                        ck_assert_int_eq(dbus_iter_read(&list, "s", &s), 1);
                        ck_assert_str_eq(s, "B=2");
                        ck_assert_int_eq(dbus_iter_read(&list, "s", &s), 0);
                } else if (streq(key, "Nested")) {
                        ck_assert_int_eq(dbus_iter_read(&v, "v", &inner), 1);
                        ck_assert_str_eq(inner.sig, "(su)");
                        ck_assert_int_eq(dbus_iter_read(&inner, "(su)", &s, &u), 1);
                        ck_assert_str_eq(s, "deep");
                        ck_assert_uint_eq(u, 5);
                } else if (streq(key, "Dict")) {
                        ck_assert_int_eq(dbus_iter_read(&v, "a{sv}", &list), 1);
                        ck_assert_int_eq(dbus_iter_read(&list, "{sv}", &s, &inner), 1);
                        ck_assert_str_eq(s, "k");
                        ck_assert_int_eq(dbus_iter_read(&inner, "t", &t), 1);
                        ck_assert(t == 7);
                        ck_assert_int_eq(dbus_iter_read(&list, "{sv}", &s, &inner), 0);
                } else if (streq(key, "Bytes")) {
                        ck_assert_int_eq(dbus_iter_read(&v, "ay", &p, &size), 1);
                        ck_assert_uint_eq(size, sizeof(exec_bytes));
                        ck_assert_mem_eq(p, exec_bytes, size);
                } else
                        ck_abort_msg("unexpected key '%s'", key);
                seen++;
        }
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(seen, 5);
}

/* Reads the body written by write_exec_body() and checks every value; returns the 'h' fd. */
static int check_exec(const DbusMessage *m) {
        DbusIter body, options, list, v;
        const char *s = NULL, *s2 = NULL;
        const void *p = NULL;
        size_t size = 0;
        uint64_t t = 0;
        uint32_t u = 0;
        int32_t i = 0;
        int fd = -1;

        ck_assert_str_eq(m->signature, EXEC_SIG);
        dbus_iter_init(&body, m);
        ck_assert_int_eq(dbus_iter_read(&body, "s", &s), 1);
        ck_assert_str_eq(s, "id1");
        ck_assert_int_eq(dbus_iter_read(&body, "a{sv}", &options), 1);
        check_options(&options);

        ck_assert_int_eq(dbus_iter_read(&body, "as", &list), 1);
        ck_assert_int_eq(dbus_iter_read(&list, "s", &s), 1);
        ck_assert_str_eq(s, "a");
        ck_assert_int_eq(dbus_iter_read(&list, "s", &s), 1);
        ck_assert_str_eq(s, "");
        ck_assert_int_eq(dbus_iter_read(&list, "s", &s), 1);
        ck_assert_str_eq(s, "c?");
        ck_assert_int_eq(dbus_iter_read(&list, "s", &s), 0);

        ck_assert_int_eq(dbus_iter_read(&body, "ay(ius)", &p, &size, &i, &u, &s2), 1);
        ck_assert_uint_eq(size, sizeof(exec_bytes));
        ck_assert_mem_eq(p, exec_bytes, size);
        ck_assert_int_eq(i, -5);
        ck_assert_uint_eq(u, 6);
        ck_assert_str_eq(s2, "seven");

        ck_assert_int_eq(dbus_iter_read(&body, "a(su)", &list), 1);
        ck_assert_int_eq(dbus_iter_read(&list, "(su)", &s, &u), 0);
        ck_assert_int_eq(dbus_iter_read(&body, "vh", &v, &fd), 1);
        ck_assert_int_eq(dbus_iter_read(&v, "t", &t), 1);
        ck_assert(t == 8);
        ck_assert_int_eq(dbus_iter_read(&body, "s", &s), 0);
        return fd;
}

static void same_file(int a, int b) {
        struct stat sa, sb;

        ck_assert_int_eq(fstat(a, &sa), 0);
        ck_assert_int_eq(fstat(b, &sb), 0);
        ck_assert(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

START_TEST(test_dbus_writer_matches_raw) {
        _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        DbusBuffer b = {};
        DbusFds fds = {};
        DbusWriter w;
        DbusMessage m;
        size_t size;
        Raw r;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(dbus_buffer_append(&b, "X", 1), 0);   /* the message starts unaligned */
        ck_assert_int_eq(dbus_writer_begin(&w, &b, &fds, &exec_header, EXEC_SIG), 0);
        write_exec_body(&w, fd);
        ck_assert_int_eq(dbus_writer_end(&w), 0);

        /* One fd, a copy of ours, queued with where its message starts. */
        ck_assert_uint_eq(fds.n, 1);
        ck_assert_int_ne(fds.fds[0], fd);
        same_file(fds.fds[0], fd);
        ck_assert_uint_eq(fds.at[0], 1);
        ck_assert_int_ne(fcntl(fds.fds[0], F_GETFD) & FD_CLOEXEC, 0);

        /* Exactly the bytes of the hand marshaller, UNIX_FDS as the last header field. */
        raw_call_full(&r, 'l', EXEC_SIG, 1);
        raw_exec_body(&r);
        raw_end(&r);
        ck_assert_uint_eq(b.size - 1, r.size);
        ck_assert_mem_eq(b.data + 1, r.data, r.size);

        ck_assert_int_eq(dbus_message_parse(b.data + 1, b.size - 1, RAW_MAX_SIZE, &m, &size), 1);
        ck_assert_uint_eq(m.unix_fds, 1);
        m.fds = fds.fds;
        ck_assert_int_eq(check_exec(&m), fds.fds[0]);
        dbus_fds_done(&fds);
        dbus_buffer_done(&b);
}
END_TEST

static int check_exec_fails_at_fd(const DbusMessage *m) {
        DbusIter body, it;
        const void *p;
        size_t size;
        const char *s;
        uint32_t u;
        int32_t i;
        int fd = -1;

        dbus_iter_init(&body, m);
        ck_assert_int_eq(dbus_iter_read(&body, "sa{sv}asay(ius)a(su)v",
                                        &s, &it, &it, &p, &size, &i, &u, &s, &it, &it), 1);
        return dbus_iter_read(&body, "h", &fd);
}

START_TEST(test_dbus_iter_both_byte_orders) {
        for (const char *e = "lB"; *e; e++) {
                int fds[2] = { 40, 41 };
                DbusMessage m;
                Raw r;

                raw_call_full(&r, *e, EXEC_SIG, 2);
                raw_exec_body(&r);
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), 1);
                ck_assert(m.swapped == (*e != 'l'));
                ck_assert_uint_eq(m.unix_fds, 2);

                /* Without fds attached, an 'h' does not read. */
                ck_assert_ptr_null(m.fds);
                ck_assert_int_eq(check_exec_fails_at_fd(&m), -EBADF);
                m.fds = fds;
                ck_assert_int_eq(check_exec(&m), 40);
        }
}
END_TEST

START_TEST(test_dbus_message_read_containers) {
        DbusBuffer b = {};
        DbusIter list, v;
        DbusMessage m;
        const char *s = NULL;
        const void *p = NULL;
        size_t size = 0, n = 0;
        uint32_t u = 0;

        ck_assert_int_eq(dbus_message_append(&b, &exec_header, "a(su)vay", 2, "one", 1, "two", 2, "s", "var",
                                             "abc", (size_t) 3), 0);
        ck_assert_int_eq(dbus_message_parse(b.data, b.size, RAW_MAX_SIZE, &m, &size), 1);
        ck_assert_int_eq(dbus_message_read(&m, "a(su)v", &list, &v), -ENXIO);
        ck_assert_int_eq(dbus_message_read(&m, "a(su", &list), -EINVAL);
        ck_assert_int_eq(dbus_message_read(&m, "a(su)vay", &list, &v, &p, &size), 0);
        ck_assert_uint_eq(size, 3);
        ck_assert_mem_eq(p, "abc", 3);
        ck_assert_int_eq(dbus_iter_read(&v, "s", &s), 1);
        ck_assert_str_eq(s, "var");
        while (dbus_iter_read(&list, "(su)", &s, &u) > 0) {
                n++;
                ck_assert_str_eq(s, n == 1 ? "one" : "two");
                ck_assert_uint_eq(u, n);
        }
        ck_assert_uint_eq(n, 2);

        /* An array iterator reads one element per call, of exactly the element type. */
        ck_assert_int_eq(dbus_message_read(&m, "a(su)vay", &list, &v, &p, &size), 0);
        ck_assert_int_eq(dbus_iter_read(&list, "(su)(su)", &s, &u, &s, &u), -EINVAL);
        ck_assert_int_eq(dbus_iter_read(&list, "(s)", &s), -ENXIO);
        ck_assert_int_eq(dbus_iter_read(&list, "{su}", &s, &u), -ENXIO);
        ck_assert_int_eq(dbus_iter_read(&list, "(su)", &s, &u), 1);
        ck_assert_str_eq(s, "one");
        dbus_buffer_done(&b);
}
END_TEST

START_TEST(test_dbus_iter_mismatch_does_not_move) {
        DbusBuffer b = {};
        DbusIter body;
        DbusMessage m;
        const char *s = NULL;
        uint32_t u = 0;
        size_t size;

        ck_assert_int_eq(dbus_message_append(&b, &exec_header, "su", "x", 9), 0);
        ck_assert_int_eq(dbus_message_parse(b.data, b.size, RAW_MAX_SIZE, &m, &size), 1);
        dbus_iter_init(&body, &m);
        ck_assert_int_eq(dbus_iter_read(&body, "u", &u), -ENXIO);
        ck_assert_int_eq(dbus_iter_read(&body, "sus", &s, &u, &s), -ENXIO);
        ck_assert_int_eq(dbus_iter_read(&body, "", NULL), -EINVAL);
        ck_assert_int_eq(dbus_iter_read(&body, "{su}", &s, &u), -EINVAL);
        ck_assert_int_eq(dbus_iter_read(&body, "a", NULL), -EINVAL);
        ck_assert_int_eq(dbus_iter_read(&body, "s", &s), 1);
        ck_assert_str_eq(s, "x");
        ck_assert_int_eq(dbus_iter_read(&body, "u", &u), 1);
        ck_assert_uint_eq(u, 9);
        ck_assert_int_eq(dbus_iter_read(&body, "u", &u), 0);
        dbus_buffer_done(&b);
}
END_TEST

/* --- the writer's checks ----------------------------------------------------------------------- */

START_TEST(test_dbus_writer_rejects) {
        static const char before[] = "earlier bytes";
        _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        DbusBuffer b = {};
        DbusFds fds = {};
        DbusWriter w;
        unsigned n_fds;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(dbus_buffer_append(&b, before, sizeof(before)), 0);
        n_fds = count_fds();

#define REJECT(sig, err, ...)                                                           \
        do {                                                                            \
                ck_assert_int_eq(dbus_writer_begin(&w, &b, &fds, &exec_header, sig), 0); \
                __VA_ARGS__;                                                            \
                ck_assert_int_eq(dbus_writer_end(&w), err);                             \
                ck_assert_uint_eq(b.size, sizeof(before));                              \
                ck_assert_uint_eq(fds.n, 0);                                            \
                ck_assert_uint_eq(count_fds(), n_fds);                                  \
        } while (0)

        /* Not the type that comes next; and the error sticks. */
        REJECT("su", -EINVAL, ck_assert_int_eq(dbus_writer_append(&w, "u", 1), -EINVAL);
               ck_assert_int_eq(dbus_writer_append(&w, "su", "x", 1), -EINVAL));
        /* A body left incomplete, a container left open, a struct closed early. */
        REJECT("su", -EINVAL, dbus_writer_append(&w, "s", "x"));
        REJECT("a{sv}", -EINVAL, dbus_writer_open(&w, 'a', "{sv}"));
        REJECT("(su)", -EINVAL, dbus_writer_open(&w, '(', NULL); dbus_writer_append(&w, "s", "x");
               ck_assert_int_eq(dbus_writer_close(&w), -EINVAL));
        /* A dict entry half written when its array is closed. */
        REJECT("a{sv}", -EINVAL, dbus_writer_open(&w, 'a', NULL); dbus_writer_open(&w, '{', NULL);
               dbus_writer_append(&w, "s", "k"); dbus_writer_close(&w));
        /* Closing what is not open; contents that do not fit; a variant of no single type. */
        REJECT("s", -EINVAL, ck_assert_int_eq(dbus_writer_close(&w), -EINVAL));
        REJECT("a{sv}", -EINVAL, ck_assert_int_eq(dbus_writer_open(&w, 'a', "{ss}"), -EINVAL));
        REJECT("(su)", -EINVAL, ck_assert_int_eq(dbus_writer_open(&w, '(', "s"), -EINVAL));
        REJECT("v", -EINVAL, ck_assert_int_eq(dbus_writer_open(&w, 'v', "ss"), -EINVAL));
        REJECT("v", -EINVAL, ck_assert_int_eq(dbus_writer_append(&w, "v", "z", 1), -EINVAL));
        REJECT("v", -EINVAL, ck_assert_int_eq(dbus_writer_open(&w, 'v', NULL), -EINVAL));
        REJECT("v", -EINVAL, dbus_writer_open(&w, 'v', "u");
               ck_assert_int_eq(dbus_writer_close(&w), -EINVAL));
        /* ")" closing an array. */
        REJECT("ai", -EINVAL, dbus_writer_open(&w, 'a', NULL);
               ck_assert_int_eq(dbus_writer_append(&w, ")"), -EINVAL));
        /* Invalid values: an object path, a signature, a NULL string, an fd. */
        REJECT("o", -EINVAL, dbus_writer_append(&w, "o", "/a//b"));
        REJECT("o", -EINVAL, dbus_writer_append(&w, "o", "/a/"));
        REJECT("g", -EINVAL, dbus_writer_append(&w, "g", "a{vs}"));
        REJECT("s", -EINVAL, dbus_writer_append(&w, "s", NULL));
        REJECT("h", -EBADF, dbus_writer_append(&w, "h", 9999));
        /* The fds of a message that fails are closed again. */
        REJECT("hhs", -EINVAL, ck_assert_int_eq(dbus_writer_append(&w, "hh", fd, fd), 0);
               ck_assert_uint_eq(fds.n, 2); ck_assert_uint_eq(count_fds(), n_fds + 2));
        /* Nested deeper than the writer goes. */
        REJECT("aaaaaaaaaaaaaaaaai", -EINVAL,
               for (unsigned i = 0; i < DBUS_WRITER_DEPTH_MAX - 1; i++)
                       ck_assert_int_eq(dbus_writer_open(&w, 'a', NULL), 0);
               ck_assert_int_eq(dbus_writer_open(&w, 'a', NULL), -EINVAL));
#undef REJECT

        /* An invalid header or signature fails at once. */
        ck_assert_int_eq(dbus_writer_begin(&w, &b, &fds, &exec_header, "a{vs}"), -EINVAL);
        ck_assert_int_eq(dbus_writer_end(&w), -EINVAL);
        ck_assert_int_eq(dbus_writer_begin(&w, &b, &fds, &(DbusHeader) { .type = 1, .serial = 1, .path = "p",
                                                                         .member = "M" }, ""), -EINVAL);
        ck_assert_int_eq(dbus_writer_end(&w), -EINVAL);
        ck_assert_uint_eq(b.size, sizeof(before));

        /* No fd list, no 'h'. */
        ck_assert_int_eq(dbus_writer_begin(&w, &b, NULL, &exec_header, "h"), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "h", fd), -EOPNOTSUPP);
        ck_assert_int_eq(dbus_writer_end(&w), -EOPNOTSUPP);
        ck_assert_uint_eq(b.size, sizeof(before));
        ck_assert_uint_eq(count_fds(), n_fds);
        ck_assert_mem_eq(b.data, before, sizeof(before));
        dbus_buffer_done(&b);
}
END_TEST

START_TEST(test_dbus_writer_fd_limit) {
        _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        DbusBuffer b = {};
        DbusFds fds = {};
        DbusWriter w;
        DbusMessage m;
        size_t size;
        unsigned n_fds;

        ck_assert_int_ge(fd, 0);
        n_fds = count_fds();

        /* Two messages with fds: the second one's 'h' values count from 0 again. */
        ck_assert_int_eq(dbus_writer_begin(&w, &b, &fds, &exec_header, "hh"), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "hh", fd, fd), 0);
        ck_assert_int_eq(dbus_writer_end(&w), 0);
        size = b.size;
        ck_assert_int_eq(dbus_writer_begin(&w, &b, &fds, &exec_header, "ah"), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "ah", DBUS_FDS_MAX - 2,
                                            fd, fd, fd, fd, fd, fd, fd, fd, fd, fd, fd, fd, fd, fd), 0);
        ck_assert_int_eq(dbus_writer_end(&w), 0);
        ck_assert_uint_eq(fds.n, DBUS_FDS_MAX);
        ck_assert_uint_eq(fds.at[1], 0);
        ck_assert_uint_eq(fds.at[2], size);
        ck_assert_uint_eq(count_fds(), n_fds + DBUS_FDS_MAX);

        ck_assert_int_eq(dbus_message_parse(b.data + size, b.size - size, RAW_MAX_SIZE, &m, &size), 1);
        ck_assert_uint_eq(m.unix_fds, DBUS_FDS_MAX - 2);
        {
                DbusIter list;
                int got, i = 0;

                m.fds = fds.fds + 2;
                ck_assert_int_eq(dbus_message_read(&m, "ah", &list), 0);
                while (dbus_iter_read(&list, "h", &got) > 0)
                        ck_assert_int_eq(got, fds.fds[2 + i++]);
                ck_assert_int_eq(i, DBUS_FDS_MAX - 2);
        }

        /* The list is full: one more fd fails, and nothing of that message stays. */
        size = b.size;
        ck_assert_int_eq(dbus_writer_begin(&w, &b, &fds, &exec_header, "h"), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "h", fd), -ENOBUFS);
        ck_assert_int_eq(dbus_writer_end(&w), -ENOBUFS);
        ck_assert_uint_eq(b.size, size);

        dbus_fds_done(&fds);
        ck_assert_uint_eq(fds.n, 0);
        ck_assert_uint_eq(count_fds(), n_fds);
        dbus_buffer_done(&b);
}
END_TEST

START_TEST(test_dbus_writer_open_close) {
        DbusBuffer b = {}, b2 = {};
        DbusWriter w;

        /* Opening and closing by hand gives the same bytes as the one-call form. */
        ck_assert_int_eq(dbus_writer_begin(&w, &b, NULL, &exec_header, "a{sv}(sav)"), 0);
        ck_assert_int_eq(dbus_writer_open(&w, 'a', "{sv}"), 0);
        for (unsigned i = 0; i < 2; i++) {
                ck_assert_int_eq(dbus_writer_open(&w, '{', "sv"), 0);
                ck_assert_int_eq(dbus_writer_append(&w, "s", i == 0 ? "Pid" : "Name"), 0);
                ck_assert_int_eq(dbus_writer_open(&w, 'v', i == 0 ? "u" : "s"), 0);
                if (i == 0)
                        ck_assert_int_eq(dbus_writer_append(&w, "u", 42), 0);
                else
                        ck_assert_int_eq(dbus_writer_append(&w, "s", "n"), 0);
                ck_assert_int_eq(dbus_writer_close(&w), 0);
                ck_assert_int_eq(dbus_writer_close(&w), 0);
        }
        ck_assert_int_eq(dbus_writer_close(&w), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "(s", ""), 0);
        ck_assert_int_eq(dbus_writer_open(&w, 'a', "v"), 0);
        ck_assert_int_eq(dbus_writer_append(&w, "vv", "y", 1, "ay", "", (size_t) 0), 0);
        ck_assert_int_eq(dbus_writer_close(&w), 0);
        ck_assert_int_eq(dbus_writer_append(&w, ")"), 0);
        ck_assert_int_eq(dbus_writer_end(&w), 0);

        ck_assert_int_eq(dbus_message_append(&b2, &exec_header, "a{sv}(sav)",
                                             2, "Pid", "u", 42, "Name", "s", "n",
                                             "", 2, "y", 1, "ay", "", (size_t) 0), 0);
        ck_assert_uint_eq(b.size, b2.size);
        ck_assert_mem_eq(b.data, b2.data, b.size);
        dbus_buffer_done(&b);
        dbus_buffer_done(&b2);
}
END_TEST

/* --- malformed containers -------------------------------------------------------------------- */

/* Both byte orders: dict entries, arrays. */
START_TEST(test_dbus_malformed_containers) {
        for (const char *e = "lB"; *e; e++) {
                size_t at, start;
                DbusMessage m;
                Raw r;

                /* A dict entry not aligned to 8, or with non-zero padding before it. */
                raw_call_full(&r, *e, "a{su}", 0);
                raw_u32(&r, 12);
                raw_string(&r, "k");
                raw_u32(&r, 1);
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);

                raw_call_full(&r, *e, "a{su}", 0);
                at = raw_array_begin(&r, 8, &start);
                raw_string(&r, "k");
                raw_u32(&r, 1);
                raw_array_end(&r, at, start);
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), 1);
                r.data[r.body_start + 4] = 1;
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);

                /* An array length one short of or one past its elements. */
                raw_call_full(&r, *e, "as", 0);
                at = raw_array_begin(&r, 4, &start);
                raw_string(&r, "ab");
                raw_array_end(&r, at, start);
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), 1);
                raw_patch_u32(&r, at, (uint32_t) (r.size - start - 1));
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);
                raw_patch_u32(&r, at, (uint32_t) (r.size - start + 1));
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);

                /* Over 64 MiB, whatever the message's size. */
                raw_patch_u32(&r, at, 64U * 1024U * 1024U + 1);
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);

        }
}
END_TEST

/* Both byte orders: variants, 'h' values, strings, structs. */
START_TEST(test_dbus_malformed_values) {
        for (const char *e = "lB"; *e; e++) {
                size_t at, start;
                DbusMessage m;
                Raw r;

                /* Variants: two types, an invalid one, none. */
                for (const char *const *sig = (const char *const[]) { "uu", "z", "", NULL }; *sig; sig++) {
                        raw_call_full(&r, *e, "v", 0);
                        raw_sig(&r, *sig);
                        raw_u32(&r, 1);
                        raw_u32(&r, 1);
                        raw_end(&r);
                        ck_assert_msg(raw_parse(&r, &m) == -EBADMSG, "variant '%s'", *sig);
                }

                /* 'h' must index one of the fds the header announces. */
                raw_call_full(&r, *e, "h", 0);
                raw_u32(&r, 0);
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);
                raw_call_full(&r, *e, "ah", 2);
                at = raw_array_begin(&r, 4, &start);
                raw_u32(&r, 1);
                raw_u32(&r, 0);
                raw_array_end(&r, at, start);
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), 1);
                raw_patch_u32(&r, start, 2);
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);
                raw_patch_u32(&r, start, UINT32_MAX);
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);

                /* Strings: invalid UTF-8, an object path with an empty segment. */
                raw_call_full(&r, *e, "(so)", 0);
                raw_string(&r, "ok \xc3\xa9");
                raw_string(&r, "/a/b");
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), 1);
                raw_call_full(&r, *e, "(so)", 0);
                raw_string(&r, "bad \xc3");
                raw_string(&r, "/a/b");
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);
                raw_call_full(&r, *e, "(so)", 0);
                raw_string(&r, "ok");
                raw_string(&r, "/a//b");
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);

                /* A struct member missing at the end of the body. */
                raw_call_full(&r, *e, "(uu)", 0);
                raw_u32(&r, 1);
                raw_end(&r);
                ck_assert_int_eq(raw_parse(&r, &m), -EBADMSG);
        }
}
END_TEST

START_TEST(test_dbus_array_limit_is_the_message_limit) {
        static uint8_t big[4000];
        DbusBuffer b = {};
        DbusMessage m;
        size_t size;

        ck_assert_int_eq(dbus_message_append(&b, &exec_header, "ay", big, sizeof(big)), 0);
        ck_assert_int_eq(dbus_message_parse(b.data, b.size, 1024, &m, &size), -EMSGSIZE);
        ck_assert_int_eq(dbus_message_parse(b.data, b.size, b.size, &m, &size), 1);
        dbus_buffer_done(&b);
}
END_TEST

START_TEST(test_dbus_object_path_is_valid) {
        static const char *const good[] = { "/", "/a", "/a/b", "/org/berth/Shim1", "/_0/A_z" };
        static const char *const bad[] = { "", "a", "//", "/a/", "/a//b", "/a-b", "/a.b", "/\xc3\xa9" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ck_assert_msg(dbus_object_path_is_valid(good[i]), "'%s' should be valid", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(!dbus_object_path_is_valid(bad[i]), "'%s' should be invalid", bad[i]);
}
END_TEST

static Suite *dbus_containers_suite(void) {
        Suite *s = suite_create("dbus-wire-containers");
        TCase *tc;

        tc = tcase_create("read-write");
        tcase_add_test(tc, test_dbus_writer_matches_raw);
        tcase_add_test(tc, test_dbus_iter_both_byte_orders);
        tcase_add_test(tc, test_dbus_message_read_containers);
        tcase_add_test(tc, test_dbus_iter_mismatch_does_not_move);
        suite_add_tcase(s, tc);

        tc = tcase_create("writer");
        tcase_add_test(tc, test_dbus_writer_rejects);
        tcase_add_test(tc, test_dbus_writer_fd_limit);
        tcase_add_test(tc, test_dbus_writer_open_close);
        suite_add_tcase(s, tc);

        tc = tcase_create("malformed");
        tcase_add_test(tc, test_dbus_malformed_containers);
        tcase_add_test(tc, test_dbus_malformed_values);
        tcase_add_test(tc, test_dbus_array_limit_is_the_message_limit);
        tcase_add_test(tc, test_dbus_object_path_is_valid);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(dbus_containers_suite());
}
