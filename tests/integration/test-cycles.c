/* Integration test of leaks over many lifecycles (DESIGN.md promise 8): after 100 create, start,
 * wait, delete cycles berthd has as many fds as before, no shim or zombie children, and the state
 * dir, log dir and runc's list look as they did. */

#include "harness.h"

#define CYCLES 100

typedef struct Picture {
        unsigned fds;
        unsigned children;
        unsigned zombies;
        unsigned shims;
        HarnessSnapshot snap;
} Picture;

static void picture_take(Picture *p) {
        harness_settle_berthd();
        p->fds = harness_count_fds(harness->berthd_pid);
        p->children = harness_count_children(harness->berthd_pid, &p->zombies);
        p->shims = harness_count_shims();
        harness_snapshot_take(&p->snap);
}

static void one_cycle(const char *bundle, unsigned i) {
        _cleanup_free_ char *path = NULL;
        char id[32];

        snprintf(id, sizeof(id), "cycle-%u", i);
        /* Alternate the two ways of starting. */
        path = harness_create(id, bundle, i % 2 == 1);
        if (i % 2 == 0)
                harness_start(id);
        ck_assert_int_eq(harness_wait(id), 0);
        harness_delete(id, false);
}

START_TEST(test_cycles_100) {
        _cleanup_free_ char *bundle = harness_make_bundle("cycle", "true", NULL);
        Picture before = {}, after = {};

        /* One cycle first, so that what berthd sets up on first use is not counted as a leak. */
        one_cycle(bundle, 0);
        picture_take(&before);
        ck_assert_uint_eq(before.children, 0);
        ck_assert_uint_eq(before.zombies, 0);
        ck_assert_uint_eq(before.shims, 0);
        ck_assert_str_eq(before.snap.runc, "");

        for (unsigned i = 1; i <= CYCLES; i++)
                one_cycle(bundle, i);

        picture_take(&after);
        ck_assert_msg(after.fds == before.fds, "berthd had %u fds before %d cycles and %u after", before.fds,
                      CYCLES, after.fds);
        ck_assert_msg(after.children == 0, "berthd has %u children after %d cycles (%u zombies)",
                      after.children, CYCLES, after.zombies);
        ck_assert_uint_eq(after.zombies, 0);
        ck_assert_msg(after.shims == 0, "%u shims still alive after %d cycles", after.shims, CYCLES);
        ck_assert_str_eq(after.snap.list, before.snap.list);
        ck_assert_str_eq(after.snap.state, before.snap.state);
        ck_assert_str_eq(after.snap.logs, before.snap.logs);
        ck_assert_str_eq(after.snap.runc, "");
        ck_assert_str_eq(after.snap.list, "");
        harness_snapshot_done(&before.snap);
        harness_snapshot_done(&after.snap);
}
END_TEST

static Suite *cycles_suite(void) {
        Suite *s = suite_create("cycles");
        TCase *tc = harness_tcase_new("cycles");

        tcase_add_test(tc, test_cycles_100);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run_suite(cycles_suite());
}
