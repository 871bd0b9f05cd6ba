/* Unit tests for common/ratelimit.c: the burst per interval, a new interval after the old one, the
 * count of suppressed messages, a clock that goes back, and a disabled limit. */

#include <check.h>

#include "macro.h"
#include "ratelimit.h"
#include "test-util.h"

#define SEC USEC_PER_SEC

START_TEST(test_ratelimit_burst_then_suppressed) {
        RateLimit rl = RATELIMIT_INIT(10 * SEC, 3);

        for (unsigned i = 0; i < 3; i++)
                ck_assert(ratelimit_below_at(&rl, 100 * SEC + i));
        for (unsigned i = 0; i < 1000; i++)
                ck_assert(!ratelimit_below_at(&rl, 101 * SEC + i));
        ck_assert_uint_eq(ratelimit_take_suppressed(&rl), 1000);
        ck_assert_uint_eq(ratelimit_take_suppressed(&rl), 0);
}
END_TEST

START_TEST(test_ratelimit_next_interval) {
        RateLimit rl = RATELIMIT_INIT(10 * SEC, 2);

        ck_assert(ratelimit_below_at(&rl, 5 * SEC));
        ck_assert(ratelimit_below_at(&rl, 6 * SEC));
        ck_assert(!ratelimit_below_at(&rl, 14 * SEC));
        /* The interval began at 5 s: at 15 s a new one begins. */
        ck_assert(ratelimit_below_at(&rl, 15 * SEC));
        ck_assert(ratelimit_below_at(&rl, 15 * SEC));
        ck_assert(!ratelimit_below_at(&rl, 15 * SEC));
        ck_assert_uint_eq(ratelimit_take_suppressed(&rl), 2);
}
END_TEST

START_TEST(test_ratelimit_clock_at_zero_and_backwards) {
        RateLimit rl = RATELIMIT_INIT(10 * SEC, 1);

        /* A clock that reads 0 (or cannot be read) still limits. */
        ck_assert(ratelimit_below_at(&rl, 0));
        ck_assert(!ratelimit_below_at(&rl, 0));
        ck_assert(!ratelimit_below_at(&rl, 1));
        /* Going back in time starts over rather than suppressing forever. */
        ck_assert(ratelimit_below_at(&rl, 50 * SEC));
        ck_assert(ratelimit_below_at(&rl, 40 * SEC));
        ck_assert(!ratelimit_below_at(&rl, 41 * SEC));
}
END_TEST

START_TEST(test_ratelimit_disabled) {
        RateLimit none = RATELIMIT_INIT(0, 0), no_burst = RATELIMIT_INIT(SEC, 0);

        for (unsigned i = 0; i < 100; i++) {
                ck_assert(ratelimit_below_at(&none, i));
                ck_assert(ratelimit_below_at(&no_burst, i));
        }
        ck_assert_uint_eq(ratelimit_take_suppressed(&none), 0);
}
END_TEST

START_TEST(test_ratelimit_now) {
        RateLimit rl = RATELIMIT_INIT(3600 * SEC, 2);

        ck_assert(ratelimit_below(&rl));
        ck_assert(ratelimit_below(&rl));
        ck_assert(!ratelimit_below(&rl));
        ck_assert_uint_eq(ratelimit_take_suppressed(&rl), 1);
}
END_TEST

static Suite *ratelimit_suite(void) {
        Suite *s = suite_create("ratelimit");
        TCase *tc = tcase_create("ratelimit");

        tcase_add_test(tc, test_ratelimit_burst_then_suppressed);
        tcase_add_test(tc, test_ratelimit_next_interval);
        tcase_add_test(tc, test_ratelimit_clock_at_zero_and_backwards);
        tcase_add_test(tc, test_ratelimit_disabled);
        tcase_add_test(tc, test_ratelimit_now);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(ratelimit_suite());
}
