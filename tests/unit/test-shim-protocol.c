/* Unit tests for common/shim-protocol.c: the readiness line both ends share. */

#include <check.h>
#include <string.h>

#include "berth-error.h"
#include "macro.h"
#include "shim-protocol.h"
#include "test-util.h"

static void round_trip(const ReadyLine *in, const char *expected) {
        _cleanup_free_ char *line = NULL;
        ReadyLine out = {};

        ck_assert_int_eq(ready_line_format(in, &line), 0);
        ck_assert_str_eq(line, expected);
        ck_assert_int_eq(ready_line_parse(line, strlen(line), &out), 0);
        ck_assert_int_eq(out.pid, in->pid);
        ck_assert_uint_eq(out.started_at, in->error_name ? 0 : in->started_at);
        if (in->error_name) {
                ck_assert_str_eq(out.error_name, in->error_name);
                ck_assert_ptr_nonnull(out.error_message);
        } else
                ck_assert_ptr_null(out.error_name);
}

START_TEST(test_shim_protocol_round_trip) {
        round_trip(&(ReadyLine) { .pid = 42 }, "READY 42\n");
        round_trip(&(ReadyLine) { .pid = 42, .started_at = 1764680000123456 }, "READY 42 1764680000123456\n");
        round_trip(&(ReadyLine) { .pid = 7, .error_name = BERTH_ERROR_RUNTIME_FAILED, .error_message = "no" },
                   "READY 7 0 " BERTH_ERROR_RUNTIME_FAILED " no\n");
        round_trip(&(ReadyLine) { .error_name = BERTH_ERROR_SHIM_FAILED, .error_message = "a b  c" },
                   "ERROR " BERTH_ERROR_SHIM_FAILED " a b  c\n");
}
END_TEST

START_TEST(test_shim_protocol_message_newlines) {
        _cleanup_free_ char *line = NULL;
        ReadyLine out = {};

        ck_assert_int_eq(ready_line_format(&(ReadyLine) { .error_name = BERTH_ERROR_RUNTIME_FAILED,
                                                          .error_message = "line 1\nline 2\r\n" }, &line), 0);
        ck_assert_str_eq(line, "ERROR " BERTH_ERROR_RUNTIME_FAILED " line 1 line 2  \n");
        ck_assert_int_eq(ready_line_parse(line, strlen(line), &out), 0);
        ck_assert_str_eq(out.error_message, "line 1 line 2  ");
}
END_TEST

START_TEST(test_shim_protocol_format_refuses) {
        char *line = NULL;

        ck_assert_int_eq(ready_line_format(&(ReadyLine) {}, &line), -EINVAL);
        ck_assert_int_eq(ready_line_format(&(ReadyLine) { .pid = -1 }, &line), -EINVAL);
        ck_assert_int_eq(ready_line_format(&(ReadyLine) { .error_name = "" }, &line), -EINVAL);
        ck_assert_int_eq(ready_line_format(&(ReadyLine) { .error_name = "a b" }, &line), -EINVAL);
        ck_assert_ptr_null(line);
}
END_TEST

START_TEST(test_shim_protocol_parse_garbage) {
        static const char *const bad[] = {
                "", "\n", "READY\n", "READY \n", "READY 0\n", "READY -1\n", "READY x\n", "READY 1x\n",
                "READY 1 \n", "READY 1 x\n", "READY 1 0\n", "READY 1 0 \n", "READY 1 0 name\n",
                "READY 1 0  msg\n", "READY 2147483648\n", "READY 1 99999999999999999999999\n",
                "ERROR\n", "ERROR \n", "ERROR name\n", "ERROR  msg\n", "OK 1\n", "READY 1",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char buf[128];
                ReadyLine out = {};
                size_t n = strlen(bad[i]);

                memcpy(buf, bad[i], n + 1);
                ck_assert_msg(ready_line_parse(buf, n, &out) == -EBADMSG, "accepted '%s'", bad[i]);
        }
        {
                char buf[] = "READY 1\0 2\n";
                ReadyLine out = {};
                ck_assert_int_eq(ready_line_parse(buf, sizeof(buf) - 1, &out), -EBADMSG);
        }
}
END_TEST

static Suite *shim_protocol_suite(void) {
        Suite *s = suite_create("shim-protocol");
        TCase *tc = tcase_create("ready-line");

        tcase_add_test(tc, test_shim_protocol_round_trip);
        tcase_add_test(tc, test_shim_protocol_message_newlines);
        tcase_add_test(tc, test_shim_protocol_format_refuses);
        tcase_add_test(tc, test_shim_protocol_parse_garbage);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(shim_protocol_suite());
}
