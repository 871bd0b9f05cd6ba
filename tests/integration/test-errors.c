/* Integration tests of bad input (DESIGN.md promise 6): every bad id, bundle, option, signal and
 * call in the wrong state gets its named org.berth.Error, and changes nothing: ListContainers, the
 * state and log directories and runc's own list are the same before and after. A running
 * container is there during each test, so "unchanged" is not trivially true. */

#include <signal.h>
#include <strings.h>
#include <sys/stat.h>

#include "harness.h"

/* A running container, so that the snapshots have something in them. */
static char *start_bystander(void) {
        _cleanup_free_ char *bundle = harness_make_bundle("bystander", "sleep", "1000", NULL);
        free(harness_create("bystander", bundle, true));
        _cleanup_free_ char *state = harness_get_string("bystander", "State");

        ck_assert_str_eq(state, "running");
        return harness_make_bundle("good", "true", NULL);
}

static void assert_create_fails(const char *id, const char *bundle, const char *expected) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        HarnessSnapshot snap = {};
        int r;

        harness_snapshot_take(&snap);
        r = harness_create_end(harness_create_begin(id, bundle), &error, NULL);
        ck_assert_msg(r < 0, "CreateContainer('%s', '%s') succeeded, expected %s", id, bundle, expected);
        ck_assert_msg(error.name && streq(error.name, expected),
                      "CreateContainer('%s', '%s'): expected %s, got %s (%s)", id, bundle, expected,
                      error.name ?: "(none)", error.message ?: "");
        ck_assert_msg(error.message && *error.message, "%s without a message", error.name);
        harness_snapshot_assert_unchanged(&snap);
        harness_snapshot_done(&snap);
}

START_TEST(test_errors_invalid_ids) {
        _cleanup_free_ char *bundle = start_bystander();
        char long_id[130];
        const char *bad[] = { "", ".", "..", "../x", "a/b", "/abs", "a b", "-x", ".x", "_x", "a\tb", "a:b",
                              "a\\b", "\xc3\xa9t\xc3\xa9", long_id };

        memset(long_id, 'a', 129);
        long_id[129] = 0;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_create_fails(bad[i], bundle, BERTH_ERROR_INVALID_ID);
}
END_TEST

/* The longest id works end to end, although its state dir's socket path is longer than sun_path. */
START_TEST(test_errors_longest_id_works) {
        _cleanup_free_ char *bundle = harness_make_bundle("long", "sh", "-c", "echo long; exit 5", NULL);
        _cleanup_free_ char *path = NULL, *log_path = NULL, *state = NULL, *runc = NULL;
        HarnessCriLog log = {};
        HarnessEntry *e = NULL;
        char id[129];
        size_t n;

        id[0] = 'L';
        for (size_t i = 1; i < 128; i++)
                id[i] = "abcXYZ019_.-"[i % 12];
        id[128] = 0;

        path = harness_create(id, bundle, false);
        state = harness_get_string(id, "State");
        ck_assert_str_eq(state, "created");
        n = harness_list(&e);
        ck_assert_ptr_nonnull(harness_entries_find(e, n, id));
        harness_entries_free(e, n);
        harness_start(id);
        ck_assert_int_eq(harness_wait(id), 5);

        log_path = harness_get_string(id, "LogPath");
        harness_cri_log_read(log_path, &log);
        ck_assert_str_eq(log.streams[0], "long\n");
        harness_cri_log_done(&log);

        harness_delete(id, false);
        n = harness_list(&e);
        ck_assert_ptr_null(harness_entries_find(e, n, id));
        harness_entries_free(e, n);
        runc = harness_runc_list();
        ck_assert_str_eq(runc, "");
}
END_TEST

START_TEST(test_errors_invalid_bundles) {
        free(start_bystander());
        _cleanup_free_ char *empty = NULL, *malformed = NULL, *array = NULL, *cfg = NULL;

        assert_create_fails("rel", "bundles/good", BERTH_ERROR_INVALID_BUNDLE);
        assert_create_fails("rel", "", BERTH_ERROR_INVALID_BUNDLE);
        assert_create_fails("missing", "/nonexistent/bundle", BERTH_ERROR_INVALID_BUNDLE);

        ck_assert_int_ge(asprintf(&empty, "%s/empty", harness->bundle_dir), 0);
        ck_assert_int_eq(mkdir(empty, 0755), 0);
        assert_create_fails("noconfig", empty, BERTH_ERROR_INVALID_BUNDLE);

        malformed = harness_make_bundle("malformed", "true", NULL);
        ck_assert_int_ge(asprintf(&cfg, "%s/config.json", malformed), 0);
        harness_write_file(cfg, "{ \"ociVersion\": ", 16);
        assert_create_fails("malformed", malformed, BERTH_ERROR_INVALID_BUNDLE);
        free(cfg);

        array = harness_make_bundle("array", "true", NULL);
        ck_assert_int_ge(asprintf(&cfg, "%s/config.json", array), 0);
        harness_write_file(cfg, "[]\n", 3);
        assert_create_fails("array", array, BERTH_ERROR_INVALID_BUNDLE);

        /* A file, not a directory. */
        assert_create_fails("file", cfg, BERTH_ERROR_INVALID_BUNDLE);
}
END_TEST

START_TEST(test_errors_duplicate_id) {
        _cleanup_free_ char *bundle = start_bystander();
        _cleanup_free_ char *other = harness_make_bundle("other", "true", NULL);
        _cleanup_free_ char *p = NULL;

        /* Running. */
        assert_create_fails("bystander", bundle, BERTH_ERROR_CONTAINER_EXISTS);
        assert_create_fails("bystander", other, BERTH_ERROR_CONTAINER_EXISTS);

        /* Created. */
        p = harness_create("dup", bundle, false);
        assert_create_fails("dup", bundle, BERTH_ERROR_CONTAINER_EXISTS);

        /* Stopped. */
        harness_start("dup");
        ck_assert_int_eq(harness_wait("dup"), 0);
        assert_create_fails("dup", bundle, BERTH_ERROR_CONTAINER_EXISTS);
        harness_delete("dup", false);
}
END_TEST

static void assert_call_fails(const char *member, const char *types, const char *id, int arg,
                              const char *expected) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        HarnessSnapshot snap = {};
        int r;

        harness_snapshot_take(&snap);
        if (streq(types, "s"))
                r = harness_call_manager(member, &error, NULL, types, id);
        else if (streq(types, "sb"))
                r = harness_call_manager(member, &error, NULL, types, id, arg);
        else if (streq(types, "sib"))
                r = harness_call_manager(member, &error, NULL, types, id, arg, 0);
        else
                ck_abort_msg("bad types %s", types);
        ck_assert_msg(r < 0, "%s('%s', %d) succeeded, expected %s", member, id, arg, expected);
        ck_assert_msg(error.name && streq(error.name, expected), "%s('%s', %d): expected %s, got %s (%s)",
                      member, id, arg, expected, error.name ?: "(none)", error.message ?: "");
        ck_assert_msg(error.message && *error.message, "%s without a message", error.name);
        harness_snapshot_assert_unchanged(&snap);
        harness_snapshot_done(&snap);
}

START_TEST(test_errors_start_twice) {
        _cleanup_free_ char *bundle = start_bystander();
        _cleanup_free_ char *p = NULL, *state = NULL;

        assert_call_fails("StartContainer", "s", "bystander", 0, BERTH_ERROR_INVALID_STATE);

        p = harness_create("twice", bundle, false);
        harness_start("twice");
        ck_assert_int_eq(harness_wait("twice"), 0);
        assert_call_fails("StartContainer", "s", "twice", 0, BERTH_ERROR_INVALID_STATE);
        state = harness_get_string("twice", "State");
        ck_assert_str_eq(state, "stopped");
        harness_delete("twice", false);
}
END_TEST

START_TEST(test_errors_delete_running) {
        free(start_bystander());
        _cleanup_free_ char *state = NULL;

        assert_call_fails("DeleteContainer", "sb", "bystander", 0, BERTH_ERROR_INVALID_STATE);
        state = harness_get_string("bystander", "State");
        ck_assert_str_eq(state, "running");
        ck_assert(harness_pid_alive(harness_get_u32("bystander", "Pid")));
}
END_TEST

START_TEST(test_errors_unknown_id) {
        free(start_bystander());
        const char *ids[] = { "nosuch", "bystandeR", "bystander.", "g" };

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                const char *id = ids[i];

                assert_call_fails("StartContainer", "s", id, 0, BERTH_ERROR_NO_SUCH_CONTAINER);
                assert_call_fails("KillContainer", "sib", id, SIGKILL, BERTH_ERROR_NO_SUCH_CONTAINER);
                assert_call_fails("DeleteContainer", "sb", id, 0, BERTH_ERROR_NO_SUCH_CONTAINER);
                assert_call_fails("DeleteContainer", "sb", id, 1, BERTH_ERROR_NO_SUCH_CONTAINER);
                assert_call_fails("PauseContainer", "s", id, 0, BERTH_ERROR_NO_SUCH_CONTAINER);
                assert_call_fails("ResumeContainer", "s", id, 0, BERTH_ERROR_NO_SUCH_CONTAINER);
                assert_call_fails("WaitContainer", "s", id, 0, BERTH_ERROR_NO_SUCH_CONTAINER);
                assert_call_fails("GetContainer", "s", id, 0, BERTH_ERROR_NO_SUCH_CONTAINER);
        }
}
END_TEST

START_TEST(test_errors_runtime_missing) {
        _cleanup_free_ char *bundle = start_bystander();
        sd_bus_message *m;

        m = harness_create_begin("rt", bundle);
        harness_create_option(m, "Runtime", "s", "berth-no-such-runtime");
        harness_assert_create_fails(m, BERTH_ERROR_RUNTIME_FAILED, "berth-no-such-runtime");

        m = harness_create_begin("rt", bundle);
        harness_create_option(m, "Runtime", "s", "/nonexistent/berth-runtime");
        harness_assert_create_fails(m, BERTH_ERROR_RUNTIME_FAILED, "/nonexistent/berth-runtime");
}
END_TEST

/* runc itself fails (the container's command does not exist): RuntimeFailed with runc's message,
 * at create (runc 1.1 checks the command there) or at start. */
START_TEST(test_errors_runtime_fails) {
        free(start_bystander());
        _cleanup_free_ char *bundle = harness_make_bundle("nx", "/nonexistent", NULL);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        HarnessSnapshot snap = {};
        int r;

        harness_snapshot_take(&snap);
        r = harness_create_end(harness_create_begin("nx", bundle), &error, NULL);
        if (r >= 0) {
                sd_bus_error_free(&error);
                r = harness_call_manager("StartContainer", &error, NULL, "s", "nx");
                harness_assert_error(r, &error, BERTH_ERROR_RUNTIME_FAILED);
                harness_delete("nx", true);
        } else
                harness_assert_error(r, &error, BERTH_ERROR_RUNTIME_FAILED);
        ck_assert_msg(error.message && (strcasestr(error.message, "nonexistent") ||
                                        strcasestr(error.message, "no such file")),
                      "RuntimeFailed does not carry runc's message: '%s'", error.message ?: "");
        harness_snapshot_assert_unchanged(&snap);
        harness_snapshot_done(&snap);
}
END_TEST

START_TEST(test_errors_option_types) {
        _cleanup_free_ char *bundle = start_bystander();
        sd_bus_message *m;

        m = harness_create_begin("opt", bundle);
        harness_create_option(m, "Start", "s", "true");
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "Start");

        m = harness_create_begin("opt", bundle);
        harness_create_option(m, "Labels", "as", 2, "a", "b");
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "Labels");

        m = harness_create_begin("opt", bundle);
        harness_create_option(m, "LogDriver", "s", "syslog-ng");
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "syslog-ng");

        m = harness_create_begin("opt", bundle);
        harness_create_option(m, "LogDriver", "u", 1);
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "LogDriver");

        m = harness_create_begin("opt", bundle);
        harness_create_option(m, "Terminal", "s", "yes");
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "Terminal");

        m = harness_create_begin("opt", bundle);
        harness_create_option(m, "LogPath", "s", "relative/file.log");
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "LogPath");

        m = harness_create_begin("opt", bundle);
        harness_create_option(m, "Runtime", "b", 1);
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "Runtime");

        /* A good option before a bad one must not half-apply. */
        m = harness_create_begin("opt", bundle);
        harness_create_option(m, "Start", "b", 1);
        harness_create_option(m, "LogMaxSize", "s", "1M");
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "LogMaxSize");
}
END_TEST

/* runc takes the terminal from the bundle: a mismatch with the Terminal option is refused with a
 * sentence that says what to do (a bundle from `runc spec` has "terminal": true). */
START_TEST(test_errors_terminal_mismatch) {
        _cleanup_free_ char *tty = harness_make_bundle("tty", "sh", NULL), *plain = NULL;
        _cleanup_free_ char *cfg = harness_xasprintf("%s/config.json", tty);
        _cleanup_free_ char *cmd = harness_xasprintf(
                "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['process']['terminal']=True; "
                "json.dump(c, open(p,'w'))");
        char *argv[] = { (char *) "python3", (char *) "-c", cmd, cfg, NULL };
        sd_bus_message *m;

        free(start_bystander());
        ck_assert_int_eq(harness_run(NULL, argv), 0);
        m = harness_create_begin("tty", tty);
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "berthctl run -t");

        plain = harness_make_bundle("plain", "true", NULL);
        m = harness_create_begin("plain", plain);
        harness_create_option(m, "Terminal", "b", 1);
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "without one");
}
END_TEST

START_TEST(test_errors_signals) {
        free(start_bystander());
        _cleanup_free_ char *path = harness_container_path("bystander"), *state = NULL;
        const int bad[] = { 0, 65, -1, -9, 1000 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                HarnessSnapshot snap = {};
                int r;

                assert_call_fails("KillContainer", "sib", "bystander", bad[i], BERTH_ERROR_INVALID_ARGUMENT);

                harness_snapshot_take(&snap);
                r = harness_call(path, BERTH_CONTAINER_INTERFACE, "Kill", HARNESS_CALL_TIMEOUT_USEC, &error,
                                 NULL, "ib", bad[i], 1);
                harness_assert_error(r, &error, BERTH_ERROR_INVALID_ARGUMENT);
                harness_snapshot_assert_unchanged(&snap);
                harness_snapshot_done(&snap);
        }
        state = harness_get_string("bystander", "State");
        ck_assert_str_eq(state, "running");
}
END_TEST

static Suite *errors_suite(void) {
        Suite *s = suite_create("errors");
        TCase *tc;

        tc = harness_tcase_new("ids");
        tcase_add_test(tc, test_errors_invalid_ids);
        tcase_add_test(tc, test_errors_longest_id_works);
        tcase_add_test(tc, test_errors_duplicate_id);
        tcase_add_test(tc, test_errors_unknown_id);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("bundles");
        tcase_add_test(tc, test_errors_invalid_bundles);
        tcase_add_test(tc, test_errors_runtime_missing);
        tcase_add_test(tc, test_errors_runtime_fails);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("calls");
        tcase_add_test(tc, test_errors_start_twice);
        tcase_add_test(tc, test_errors_delete_running);
        tcase_add_test(tc, test_errors_option_types);
        tcase_add_test(tc, test_errors_terminal_mismatch);
        tcase_add_test(tc, test_errors_signals);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run_suite(errors_suite());
}
