/* Unit tests for common/cri-log.c: timestamps, F/P records, the round trip that matters most:
 * random binary data cut into random chunks, formatted, parsed back and concatenated, gives back the
 * exact bytes; and what a write cut short at any byte leaves: whole records, and an exact count of
 * the stream bytes the rest carried. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cri-log.h"
#include "macro.h"
#include "test-util.h"

#define TS_ZERO "1970-01-01T00:00:00.000000000Z"

static const struct timespec ts_zero = { 0, 0 };

/* Formats one chunk into a fresh NUL-terminated string. */
static char *format_one(CriStream stream, const struct timespec *ts, const char *data, size_t size) {
        CriBuffer b = {};
        char *s;

        ck_assert_int_eq(cri_log_format(&b, stream, ts, data, size), 0);
        s = malloc(b.size + 1);
        ck_assert_ptr_nonnull(s);
        if (b.size > 0)
                memcpy(s, b.data, b.size);
        s[b.size] = '\0';
        cri_buffer_done(&b);
        return s;
}

/* --- timestamps ------------------------------------------------------------------------------ */

START_TEST(test_cri_log_timestamp) {
        static const struct {
                struct timespec ts;
                const char *text;
        } cases[] = {
                { { 0, 0 }, TS_ZERO },
                { { 1700000000, 123456789 }, "2023-11-14T22:13:20.123456789Z" },
                { { 1700000000, 1 }, "2023-11-14T22:13:20.000000001Z" },
                { { 1700000001, 999999999 }, "2023-11-14T22:13:21.999999999Z" },
                { { 951782400, 500000000 }, "2000-02-29T00:00:00.500000000Z" },
                { { 4102444799, 0 }, "2099-12-31T23:59:59.000000000Z" },
                { { 1700000000, 123456789 }, "2023-11-14T22:13:20.123456789Z" },       /* cache again */
        };
        char buf[CRI_TIMESTAMP_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                memset(buf, 'X', sizeof(buf));
                ck_assert_uint_eq(cri_format_timestamp(&cases[i].ts, buf), strlen(cases[i].text));
                ck_assert_str_eq(buf, cases[i].text);
        }
}
END_TEST

/* A time struct tm cannot hold gives the fallback, and must not leave the per-second cache claiming
 * second -1 (the fuzzer found the second after it printed as the one cached before). */
START_TEST(test_cri_log_timestamp_out_of_range) {
        static const struct {
                struct timespec ts;
                const char *text;
        } cases[] = {
                { { 0, 0 }, TS_ZERO },
                { { INT64_MAX / 2, 0 }, "1970-01-01T00:00:00.000000000Z" },
                { { -1, 5 }, "1969-12-31T23:59:59.000000005Z" },
                { { INT64_MAX / 2, 0 }, "1970-01-01T00:00:00.000000000Z" },
                { { -1, 5 }, "1969-12-31T23:59:59.000000005Z" },
        };
        char buf[CRI_TIMESTAMP_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ck_assert_uint_eq(cri_format_timestamp(&cases[i].ts, buf), strlen(cases[i].text));
                ck_assert_str_eq(buf, cases[i].text);
        }
}
END_TEST

START_TEST(test_cri_log_timestamp_now) {
        char buf[CRI_TIMESTAMP_MAX];
        struct timespec ts;
        struct tm tm;
        size_t n;

        ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &ts), 0);
        n = cri_format_timestamp(&ts, buf);
        ck_assert_uint_eq(n, 30);
        ck_assert_ptr_nonnull(strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm));
        ck_assert_int_eq(buf[19], '.');
        ck_assert_int_eq(buf[29], 'Z');
        ck_assert_int_eq(strtol(buf + 20, NULL, 10), ts.tv_nsec);
        ck_assert_str_eq(cri_stream_to_string(CRI_STREAM_STDOUT), "stdout");
        ck_assert_str_eq(cri_stream_to_string(CRI_STREAM_STDERR), "stderr");
        ck_assert_ptr_null(cri_stream_to_string(_CRI_STREAM_MAX));
}
END_TEST

/* --- formatting ------------------------------------------------------------------------------ */

START_TEST(test_cri_log_format_records) {
        static const struct {
                CriStream stream;
                const char *in, *out;
        } cases[] = {
                { CRI_STREAM_STDOUT, "hello\n", TS_ZERO " stdout F hello\n" },
                { CRI_STREAM_STDERR, "partial", TS_ZERO " stderr P partial\n" },
                { CRI_STREAM_STDOUT, "a\nbb\nccc", TS_ZERO " stdout F a\n" TS_ZERO " stdout F bb\n"
                                                   TS_ZERO " stdout P ccc\n" },
                { CRI_STREAM_STDOUT, "one\ntwo\n", TS_ZERO " stdout F one\n" TS_ZERO " stdout F two\n" },
                { CRI_STREAM_STDOUT, "\n", TS_ZERO " stdout F \n" },
                { CRI_STREAM_STDERR, "\n\nx\n\n", TS_ZERO " stderr F \n" TS_ZERO " stderr F \n"
                                                 TS_ZERO " stderr F x\n" TS_ZERO " stderr F \n" },
                { CRI_STREAM_STDOUT, " spaces  \t\r\n", TS_ZERO " stdout F  spaces  \t\r\n" },
                { CRI_STREAM_STDOUT, "", "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = NULL;

                s = format_one(cases[i].stream, &ts_zero, cases[i].in, strlen(cases[i].in));
                ck_assert_str_eq(s, cases[i].out);
        }
}
END_TEST

START_TEST(test_cri_log_format_appends) {
        CriBuffer b = {};
        struct timespec ts1 = { 1700000000, 5 };

        ck_assert_int_eq(cri_log_format(&b, CRI_STREAM_STDOUT, &ts_zero, "ab", 2), 0);
        ck_assert_int_eq(cri_log_format(&b, CRI_STREAM_STDOUT, &ts1, "c\nd", 3), 0);
        ck_assert_int_eq(cri_log_format(&b, CRI_STREAM_STDERR, &ts1, NULL, 0), 0);
        ck_assert_int_eq(cri_log_format(&b, _CRI_STREAM_MAX, &ts1, "x", 1), -EINVAL);
        ck_assert_mem_eq(b.data,
                         TS_ZERO " stdout P ab\n"
                         "2023-11-14T22:13:20.000000005Z stdout F c\n"
                         "2023-11-14T22:13:20.000000005Z stdout P d\n",
                         b.size);
        ck_assert_uint_eq(b.size, strlen(TS_ZERO " stdout P ab\n") + 2 * strlen(TS_ZERO " stdout F c\n"));
        cri_buffer_done(&b);
        ck_assert_ptr_null(b.data);
        ck_assert_uint_eq(b.size, 0);
        ck_assert_uint_eq(b.allocated, 0);

        /* NULL timestamp: the current time. */
        ck_assert_int_eq(cri_log_format(&b, CRI_STREAM_STDOUT, NULL, "x\n", 2), 0);
        ck_assert_uint_eq(b.size, 30 + strlen(" stdout F x\n"));
        cri_buffer_done(&b);
}
END_TEST

/* --- parsing --------------------------------------------------------------------------------- */

START_TEST(test_cri_log_parse_good) {
        static const struct {
                const char *line;
                CriStream stream;
                bool partial;
                const char *payload;
        } cases[] = {
                { TS_ZERO " stdout F hello world", CRI_STREAM_STDOUT, false, "hello world" },
                { TS_ZERO " stderr P part", CRI_STREAM_STDERR, true, "part" },
                { TS_ZERO " stdout F ", CRI_STREAM_STDOUT, false, "" },
                { TS_ZERO " stdout F", CRI_STREAM_STDOUT, false, "" },
                { TS_ZERO " stderr P", CRI_STREAM_STDERR, true, "" },
                { TS_ZERO " stdout F  lead", CRI_STREAM_STDOUT, false, " lead" },
                { TS_ZERO " stdout F F P stdout", CRI_STREAM_STDOUT, false, "F P stdout" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                CriRecord r;

                ck_assert_int_eq(cri_log_parse_line(cases[i].line, strlen(cases[i].line), &r), 0);
                ck_assert_uint_eq(r.timestamp_size, strlen(TS_ZERO));
                ck_assert_mem_eq(r.timestamp, TS_ZERO, r.timestamp_size);
                ck_assert_int_eq(r.stream, cases[i].stream);
                ck_assert_int_eq(r.partial, cases[i].partial);
                ck_assert_uint_eq(r.payload_size, strlen(cases[i].payload));
                ck_assert_mem_eq(r.payload, cases[i].payload, r.payload_size);
        }

        /* Only size bytes are looked at. */
        {
                const char line[] = TS_ZERO " stdout F abc\nmore";
                CriRecord r;

                ck_assert_int_eq(cri_log_parse_line(line, strlen(TS_ZERO " stdout F abc"), &r), 0);
                ck_assert_uint_eq(r.payload_size, 3);
        }
}
END_TEST

START_TEST(test_cri_log_parse_bad) {
        static const char *const bad[] = {
                "",
                " ",
                TS_ZERO,
                TS_ZERO " ",
                TS_ZERO " stdout",
                TS_ZERO " stdout ",
                TS_ZERO " stdin F x",
                TS_ZERO " STDOUT F x",
                TS_ZERO " stdout X x",
                TS_ZERO " stdout Fx",
                TS_ZERO " stdout f x",
                TS_ZERO " stdoutF x",
                TS_ZERO "  stdout F x",
                " stdout F x",
                "stdout F x",
        };
        CriRecord r = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(cri_log_parse_line(bad[i], strlen(bad[i]), &r) == -EBADMSG, "accepted: '%s'",
                              bad[i]);
        ck_assert_ptr_null(r.timestamp);
}
END_TEST

/* --- round trip ------------------------------------------------------------------------------ */

/* Parses a whole formatted log and appends the reconstructed stream of the given kind to out. */
static void reconstruct(const char *log, size_t size, CriStream want, char *out, size_t *out_size) {
        const char *p = log, *end = log + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                CriRecord r;

                ck_assert_ptr_nonnull(nl);
                ck_assert_int_eq(cri_log_parse_line(p, (size_t) (nl - p), &r), 0);
                if (r.stream == want) {
                        memcpy(out + *out_size, r.payload, r.payload_size);
                        *out_size += r.payload_size;
                        if (!r.partial)
                                out[(*out_size)++] = '\n';
                }
                p = nl + 1;
        }
}

START_TEST(test_cri_log_roundtrip_random) {
        const size_t total = 1024 * 1024;
        _cleanup_free_ char *out = NULL, *err = NULL, *back_out = NULL, *back_err = NULL;
        size_t n_out = 0, n_err = 0, pos_out = 0, pos_err = 0;
        unsigned seed = (unsigned) _i * 7919 + 1;
        CriBuffer log = {};

        out = malloc(total);
        err = malloc(total);
        back_out = malloc(total);
        back_err = malloc(total);
        ck_assert(out && err && back_out && back_err);

        /* Binary data with NULs, CRs, spaces and runs of newlines (about one byte in 16 is '\n'). */
        for (size_t i = 0; i < total; i++) {
                unsigned v = (unsigned) rand_r(&seed);
                out[i] = (v & 0xf00) == 0 ? '\n' : (char) (v & 0xff);
                err[i] = (v & 0xf0000) == 0 ? '\n' : (char) ((v >> 20) & 0xff);
        }
        if (_i == 1) {
                out[total - 1] = '\n';          /* ends with a complete line */
                err[total - 1] = 'x';           /* ends in the middle of one */
        }

        /* Interleave the two streams in random chunks of 1 byte to 64 KiB. */
        while (pos_out < total || pos_err < total) {
                unsigned v = (unsigned) rand_r(&seed);
                bool use_out = pos_err >= total || (pos_out < total && (v & 1));
                size_t *pos = use_out ? &pos_out : &pos_err;
                size_t chunk = v % 3 == 0 ? 1 + v % 16 : 1 + (v >> 4) % 65536;
                struct timespec ts = { 1700000000 + (time_t) (*pos / 4096), (long) (v % 1000000000) };

                chunk = MIN(chunk, total - *pos);
                ck_assert_int_eq(cri_log_format(&log, use_out ? CRI_STREAM_STDOUT : CRI_STREAM_STDERR, &ts,
                                                (use_out ? out : err) + *pos, chunk), 0);
                *pos += chunk;
        }

        reconstruct(log.data, log.size, CRI_STREAM_STDOUT, back_out, &n_out);
        reconstruct(log.data, log.size, CRI_STREAM_STDERR, back_err, &n_err);
        ck_assert_uint_eq(n_out, total);
        ck_assert_uint_eq(n_err, total);
        ck_assert(memcmp(back_out, out, total) == 0);
        ck_assert(memcmp(back_err, err, total) == 0);

        cri_buffer_done(&log);
}
END_TEST

START_TEST(test_cri_log_cut_anywhere) {
        static const char data[] = "first\n\nthird line\r\n\0binary\n partial";
        const size_t data_size = sizeof(data) - 1;
        CriBuffer b = {};

        ck_assert_int_eq(cri_log_format(&b, CRI_STREAM_STDERR, &ts_zero, data, data_size), 0);
        ck_assert_uint_eq(cri_log_stream_bytes(b.data, b.size), data_size);
        ck_assert_uint_eq(cri_log_records_end(b.data, b.size), b.size);

        /* Whatever part of the buffer a write got out, the cut ends a record, and the records before
         * and after it carry the whole chunk between them. */
        for (size_t cut = 0; cut <= b.size; cut++) {
                size_t end = cri_log_records_end(b.data, cut);

                ck_assert_uint_le(end, cut);
                ck_assert(end == 0 || b.data[end - 1] == '\n');
                ck_assert(memchr(b.data + end, '\n', cut - end) == NULL);
                ck_assert_uint_eq(cri_log_stream_bytes(b.data, end) + cri_log_stream_bytes(b.data + end, b.size - end),
                                  data_size);
        }
        cri_buffer_done(&b);

        ck_assert_uint_eq(cri_log_records_end(NULL, 0), 0);
        ck_assert_uint_eq(cri_log_records_end("no newline", 10), 0);
        ck_assert_uint_eq(cri_log_stream_bytes(NULL, 0), 0);
        /* A piece without newline, and a line that is no record, count nothing. */
        ck_assert_uint_eq(cri_log_stream_bytes(TS_ZERO " stdout F abc", strlen(TS_ZERO) + 13), 0);
        ck_assert_uint_eq(cri_log_stream_bytes("garbage\n" TS_ZERO " stdout P ab\n", strlen(TS_ZERO) + 21), 2);
}
END_TEST

START_TEST(test_cri_log_stream_bytes_random) {
        unsigned seed = (unsigned) _i * 104729 + 3;
        CriBuffer b = {};
        uint64_t total = 0;

        for (unsigned chunk = 0; chunk < 200; chunk++) {
                char data[512];
                size_t size = (size_t) rand_r(&seed) % sizeof(data);

                for (size_t i = 0; i < size; i++) {
                        unsigned v = (unsigned) rand_r(&seed);
                        data[i] = v % 8 == 0 ? '\n' : (char) (v >> 8);
                }
                ck_assert_int_eq(cri_log_format(&b, chunk % 2 ? CRI_STREAM_STDOUT : CRI_STREAM_STDERR, &ts_zero,
                                                data, size), 0);
                total += size;
        }
        ck_assert_uint_eq(cri_log_stream_bytes(b.data, b.size), total);
        for (unsigned i = 0; i < 100; i++) {
                size_t cut = (size_t) rand_r(&seed) % (b.size + 1);
                size_t end = cri_log_records_end(b.data, cut);

                ck_assert_uint_eq(cri_log_stream_bytes(b.data, end) + cri_log_stream_bytes(b.data + end, b.size - end),
                                  total);
        }
        cri_buffer_done(&b);
}
END_TEST

static Suite *cri_log_suite(void) {
        Suite *s = suite_create("cri-log");
        TCase *tc;

        tc = tcase_create("timestamp");
        tcase_add_test(tc, test_cri_log_timestamp);
        tcase_add_test(tc, test_cri_log_timestamp_now);
        tcase_add_test(tc, test_cri_log_timestamp_out_of_range);
        suite_add_tcase(s, tc);

        tc = tcase_create("format");
        tcase_add_test(tc, test_cri_log_format_records);
        tcase_add_test(tc, test_cri_log_format_appends);
        suite_add_tcase(s, tc);

        tc = tcase_create("parse");
        tcase_add_test(tc, test_cri_log_parse_good);
        tcase_add_test(tc, test_cri_log_parse_bad);
        suite_add_tcase(s, tc);

        tc = tcase_create("cut");
        tcase_add_test(tc, test_cri_log_cut_anywhere);
        tcase_add_loop_test(tc, test_cri_log_stream_bytes_random, 0, 4);
        suite_add_tcase(s, tc);

        tc = tcase_create("roundtrip");
        tcase_add_loop_test(tc, test_cri_log_roundtrip_random, 0, 4);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(cri_log_suite());
}
