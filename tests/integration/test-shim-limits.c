/* Integration tests of the shim under attack and at its limits (issue 8): a runtime that hangs and
 * leaves children, exit records on a full state filesystem and at the fd limit, hostile clients on
 * the control socket, and a full log filesystem.
 *
 * Each test runs in a mount namespace of its own (made before the fixture starts dbus-daemon and
 * berthd, so they and every shim and runtime share it): the small tmpfs a test mounts is seen by
 * them, and goes away with the test's processes even if the test dies before its teardown. */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define T HARNESS_SIGNAL_TIMEOUT_USEC
#define RUNTIME_TIMEOUT_SEC "2"

/* ---- fixture: a mount namespace, and tmpfs mounts undone at teardown ------------------------- */

#define MOUNTS_MAX 4
static char *mounts[MOUNTS_MAX];
static char *tmpdir_copy;

static void namespace_setup(void) {
        ck_assert_msg(unshare(CLONE_NEWNS) >= 0, "unshare(CLONE_NEWNS): %m");
        ck_assert_msg(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) >= 0, "making / private: %m");
}

static void mounts_setup(void) {
        tmpdir_copy = strdup(harness->tmpdir);
        ck_assert_ptr_nonnull(tmpdir_copy);
}

/* After harness_teardown(): everything that used the mounts is gone. */
static void mounts_teardown(void) {
        for (size_t i = 0; i < MOUNTS_MAX; i++) {
                if (!mounts[i])
                        continue;
                if (umount2(mounts[i], MNT_DETACH) < 0)
                        fprintf(stderr, "umount %s: %m\n", mounts[i]);
                (void) rmdir(mounts[i]);
                mounts[i] = mfree(mounts[i]);
        }
        if (tmpdir_copy) {
                _cleanup_free_ char *state = harness_xasprintf("%s/state", tmpdir_copy);

                (void) rmdir(state);
                (void) rmdir(tmpdir_copy);
                tmpdir_copy = mfree(tmpdir_copy);
        }
}

static void timeout_env(void) {
        /* berthd passes its environment on to the shims. */
        setenv("BERTH_RUNTIME_TIMEOUT_SEC", RUNTIME_TIMEOUT_SEC, 1);
}

static TCase *limits_tcase(const char *name, void (*setup)(void)) {
        TCase *tc = tcase_create(name);

        /* Checked fixtures run in the order they were added, their teardowns too. */
        tcase_add_checked_fixture(tc, namespace_setup, NULL);
        if (setup)
                tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
        tcase_add_checked_fixture(tc, mounts_setup, mounts_teardown);
        if (!getenv("CK_DEFAULT_TIMEOUT"))
                tcase_set_timeout(tc, 600);
        return tc;
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void assert_state(const char *id, const char *state) {
        _cleanup_free_ char *s = harness_get_string(id, "State");

        ck_assert_msg(streq(s, state), "'%s' is %s, expected %s", id, s, state);
}

static pid_t read_pid_file(const char *path) {
        _cleanup_free_ char *text = harness_read_file(path, NULL);

        return (pid_t) atoi(text);
}

/* ---- the runtime wrapper (tests/data/berth-test-runtime) ------------------------------------- */

static char *wrapper_dir;

static char *wrapper_install(void) {
        char *wrapper = harness_install_data("berth-test-runtime"), *slash;

        free(wrapper_dir);
        wrapper_dir = strdup(wrapper);
        ck_assert_ptr_nonnull(wrapper_dir);
        slash = strrchr(wrapper_dir, '/');
        *slash = 0;
        return wrapper;
}

static char *wrapper_file(const char *what, const char *cmd, const char *id) {
        return harness_xasprintf("%s/%s-%s-%s", wrapper_dir, what, cmd, id);
}

static void wrapper_set(const char *what, const char *cmd, const char *id) {
        _cleanup_free_ char *p = wrapper_file(what, cmd, id);

        harness_write_file(p, "", 0);
}

/* Waits until the wrapper wrote the file @what-@cmd-@id holding a pid; returns it. */
static pid_t wrapper_wait_pid(const char *what, const char *cmd, const char *id) {
        _cleanup_free_ char *p = wrapper_file(what, cmd, id);

        ck_assert_msg(harness_wait_until(harness_cond_file_exists, p, T), "the runtime did not write %s", p);
        return read_pid_file(p);
}

static void create_with_runtime(const char *id, const char *bundle, const char *runtime, bool start) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = harness_create_begin(id, bundle);
        int r;

        harness_create_option(m, "Runtime", "s", runtime);
        if (start)
                harness_create_option(m, "Start", "b", 1);
        r = harness_create_end(m, &error, NULL);
        ck_assert_msg(r >= 0, "CreateContainer('%s') failed: %s: %s", id, error.name ?: "",
                      error.message ?: strerror(-r));
}

static void assert_async_error(HarnessAsync *a, const char *what, const char *name) {
        const sd_bus_error *e;

        ck_assert_msg(harness_async_wait(a, 120 * USEC_PER_SEC), "%s never returned", what);
        e = harness_async_error(a);
        ck_assert_msg(e, "%s succeeded, expected %s", what, name);
        ck_assert_msg(streq(e->name, name), "%s failed with %s (%s), expected %s", what, e->name, e->message,
                      name);
}

/* ---- item 9: a runtime call that hangs or fails takes its children along --------------------- */

/* The runtime forks a child and hangs: on the timeout the shim kills the whole process group, so
 * neither the runtime nor its child is left. */
START_TEST(test_limits_runtime_timeout_kills_group) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_free_ char *wrapper = wrapper_install();
        _cleanup_(harness_async_freep) HarnessAsync *start = NULL;
        pid_t runtime, child;

        create_with_runtime("hang", sleeper, wrapper, false);
        wrapper_set("fork", "start", "hang");
        wrapper_set("pause", "start", "hang");
        start = harness_call_async("StartContainer", "s", "hang");
        runtime = wrapper_wait_pid("paused", "start", "hang");
        child = wrapper_wait_pid("child", "start", "hang");
        ck_assert_msg(harness_pid_alive(child), "the runtime's child %d is not running", (int) child);

        assert_async_error(start, "StartContainer", BERTH_ERROR_TIMEOUT);
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &runtime, T),
                      "the hanging runtime %d was not killed", (int) runtime);
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &child, T),
                      "the child %d of the runtime killed on timeout still runs", (int) child);
        assert_state("hang", "created");

        /* The runtime is fine again: the container starts. */
        wrapper_set("release", "start", "hang");
        harness_start("hang");
        assert_state("hang", "running");
        harness_delete("hang", true);
}
END_TEST

/* A runtime that fails leaves no child behind either. */
START_TEST(test_limits_runtime_failure_kills_group) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_free_ char *wrapper = wrapper_install();
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        pid_t child;
        int r;

        create_with_runtime("failing", sleeper, wrapper, true);
        wrapper_set("fork", "pause", "failing");
        wrapper_set("fail", "pause", "failing");
        r = harness_call_manager("PauseContainer", &error, NULL, "s", "failing");
        harness_assert_error(r, &error, BERTH_ERROR_RUNTIME_FAILED);
        child = wrapper_wait_pid("child", "pause", "failing");
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &child, T),
                      "the child %d of the failed runtime still runs", (int) child);
        assert_state("failing", "running");
        harness_delete("failing", true);
}
END_TEST

static Suite *limits_suite(void) {
        Suite *s = suite_create("shim-limits");
        TCase *tc;

        tc = limits_tcase("runtime", timeout_env);
        tcase_add_test(tc, test_limits_runtime_timeout_kills_group);
        tcase_add_test(tc, test_limits_runtime_failure_kills_group);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run_suite(limits_suite());
}
