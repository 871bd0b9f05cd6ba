/* Integration tests of berthd under attack (issue "Keep every promise under attack"): paths that
 * point where they must not, files that block, clients that flood or vanish, deletes that race,
 * errors that must keep their names. Each case failed before its fix. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* A running container, so that "changes nothing" is not trivially true. */
static char *start_bystander(void) {
        _cleanup_free_ char *bundle = harness_make_bundle("bystander", "sleep", "1000", NULL);
        free(harness_create("bystander", bundle, true));

        return harness_make_bundle("good", "sh", "-c", "echo out", NULL);
}

static void assert_log_path_refused(const char *bundle, const char *log_path, const char *must_contain) {
        sd_bus_message *m = harness_create_begin("evil", bundle);

        harness_create_option(m, "LogPath", "s", log_path);
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, must_contain);
        ck_assert_uint_eq(harness_count_shims(), 1);
}

/* A LogPath through a symlink must not make root append the container's output to its target. */
START_TEST(test_hostile_log_path_symlink) {
        _cleanup_free_ char *bundle = start_bystander();
        _cleanup_free_ char *victim = harness_xasprintf("%s/victim", harness->tmpdir),
                *dir = harness_xasprintf("%s/attack", harness->tmpdir),
                *link = harness_xasprintf("%s/attack/evil.log", harness->tmpdir),
                *dirlink = harness_xasprintf("%s/attack-link", harness->tmpdir),
                *through = harness_xasprintf("%s/attack-link/x.log", harness->tmpdir), *text = NULL;
        size_t size;

        harness_write_file(victim, "root's file\n", 12);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        ck_assert_int_eq(symlink(victim, link), 0);
        assert_log_path_refused(bundle, link, "symlink");

        ck_assert_int_eq(symlink(dir, dirlink), 0);
        assert_log_path_refused(bundle, through, "symlink");
        ck_assert(!harness_path_exists(through));

        text = harness_read_file(victim, &size);
        ck_assert_str_eq(text, "root's file\n");
}
END_TEST

/* A LogPath in the state directory (another container's container.json) was written into, and the
 * next berthd start then deleted that live container's state. */
START_TEST(test_hostile_log_path_in_state_dir) {
        _cleanup_free_ char *bundle = start_bystander();
        _cleanup_free_ char *victim = harness_state_path("bystander", "container.json"),
                *fresh = harness_state_path("bystander", "new.log"),
                *top = harness_xasprintf("%s/top.log", harness->state_dir), *before = NULL, *after = NULL;
        size_t size;

        before = harness_read_file(victim, &size);
        assert_log_path_refused(bundle, victim, "state directory");
        assert_log_path_refused(bundle, fresh, "state directory");
        assert_log_path_refused(bundle, top, "state directory");
        after = harness_read_file(victim, &size);
        ck_assert_str_eq(before, after);
}
END_TEST

START_TEST(test_hostile_log_path_not_a_file) {
        _cleanup_free_ char *bundle = start_bystander();
        _cleanup_free_ char *fifo = harness_xasprintf("%s/fifo.log", harness->tmpdir),
                *missing = harness_xasprintf("%s/no/such/dir/x.log", harness->tmpdir);

        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        /* Opening a FIFO for writing would block the shim (or berthd) until a reader came. */
        assert_log_path_refused(bundle, fifo, "regular file");
        assert_log_path_refused(bundle, harness->tmpdir, "directory");
        assert_log_path_refused(bundle, missing, "does not exist");
        assert_log_path_refused(bundle, "/dev/null", "regular file");
}
END_TEST

/* A good LogPath still works, and the file is created by the shim. */
START_TEST(test_hostile_log_path_good) {
        _cleanup_free_ char *bundle = start_bystander();
        _cleanup_free_ char *log = harness_xasprintf("%s/own.log", harness->tmpdir), *path = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        HarnessCriLog cri = {};
        sd_bus_message *m;

        m = harness_create_begin("good", bundle);
        harness_create_option(m, "LogPath", "s", log);
        harness_create_option(m, "Start", "b", 1);
        harness_assert_ok(harness_create_end(m, &error, &path), &error);
        ck_assert_int_eq(harness_wait("good"), 0);
        harness_cri_log_read(log, &cri);
        ck_assert_str_eq(cri.streams[0], "out\n");
        harness_cri_log_done(&cri);
        harness_delete("good", false);
        /* A log the caller named stays. */
        ck_assert(harness_path_exists(log));
}
END_TEST

/* A FIFO as config.json hung berthd in open() for good. */
START_TEST(test_hostile_config_fifo) {
        free(start_bystander());
        _cleanup_free_ char *bundle = harness_make_bundle("fifo", "true", NULL),
                *cfg = harness_xasprintf("%s/config.json", bundle), *state = NULL;
        sd_bus_message *m;

        ck_assert_int_eq(unlink(cfg), 0);
        ck_assert_int_eq(mkfifo(cfg, 0600), 0);
        m = harness_create_begin("fifo", bundle);
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_BUNDLE, "regular file");

        ck_assert_int_eq(unlink(cfg), 0);
        ck_assert_int_eq(symlink("/dev/zero", cfg), 0);
        m = harness_create_begin("fifo", bundle);
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_BUNDLE, "regular file");

        /* berthd still serves. */
        state = harness_get_string("bystander", "State");
        ck_assert_str_eq(state, "running");
}
END_TEST

/* Forced deletes of many containers at once: each one succeeds and says so. Deletes that had
 * succeeded were answered NoSuchContainer when the shim's exit was seen before its reply. */
START_TEST(test_hostile_concurrent_deletes) {
        _cleanup_free_ char *bundle = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        enum { N = 24 };
        HarnessAsync *deletes[N][2] = {};
        char *ids[N];
        HarnessEntry *e = NULL;
        size_t n;

        for (size_t i = 0; i < N; i++) {
                ids[i] = harness_xasprintf("del%zu", i);
                free(harness_create(ids[i], bundle, i % 3 != 0));
        }
        /* Two clients' forced deletes of every container, all in flight together. */
        for (size_t i = 0; i < N; i++)
                for (size_t k = 0; k < 2; k++)
                        deletes[i][k] = harness_call_async("DeleteContainer", "sb", ids[i], 1);
        for (size_t i = 0; i < N; i++)
                for (size_t k = 0; k < 2; k++) {
                        const sd_bus_error *err;

                        ck_assert(harness_async_wait(deletes[i][k], HARNESS_CALL_TIMEOUT_USEC));
                        err = harness_async_error(deletes[i][k]);
                        ck_assert_msg(!err, "DeleteContainer('%s') #%zu failed: %s (%s)", ids[i], k,
                                      err ? err->name : "", err ? err->message : "");
                        harness_async_free(deletes[i][k]);
                }

        n = harness_list(&e);
        ck_assert_uint_eq(n, 0);
        harness_entries_free(e, n);
        for (size_t i = 0; i < N; i++) {
                _cleanup_free_ char *dir = harness_state_path(ids[i], NULL);
                ck_assert_msg(!harness_path_exists(dir), "state of '%s' left", ids[i]);
                free(ids[i]);
        }
        harness_settle_berthd();
        ck_assert_uint_eq(harness_count_shims(), 0);
}
END_TEST

static unsigned long rss_kib(pid_t pid) {
        _cleanup_free_ char *path = harness_xasprintf("/proc/%d/status", (int) pid), *text = NULL;
        const char *p;
        size_t size;

        text = harness_read_file(path, &size);
        p = strstr(text, "VmRSS:");
        ck_assert_ptr_nonnull(p);
        return strtoul(p + strlen("VmRSS:"), NULL, 10);
}

static sd_bus *client_connect(void) {
        sd_bus *bus = NULL;

        ck_assert_int_ge(sd_bus_new(&bus), 0);
        ck_assert_int_ge(sd_bus_set_address(bus, harness->bus_address), 0);
        ck_assert_int_ge(sd_bus_set_bus_client(bus, 1), 0);
        ck_assert_int_ge(sd_bus_start(bus), 0);
        return bus;
}

static int on_wait_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        unsigned *limited = userdata;

        if (sd_bus_message_is_method_error(m, BERTH_ERROR_LIMIT_REACHED))
                (*limited)++;
        return 0;
}

/* Queues n WaitContainer calls on bus without waiting for their replies; LimitReached answers are
 * counted in *limited. */
static void queue_waits(sd_bus *bus, const char *id, unsigned n, unsigned *limited) {
        for (unsigned i = 0; i < n; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                ck_assert_int_ge(sd_bus_message_new_method_call(bus, &m, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                                                BERTH_MANAGER_INTERFACE, "WaitContainer"), 0);
                ck_assert_int_ge(sd_bus_message_append(m, "s", id), 0);
                ck_assert_int_ge(sd_bus_call_async(bus, NULL, m, on_wait_reply, limited, UINT64_MAX), 0);
                if (i % 256 == 255)
                        ck_assert_int_ge(sd_bus_flush(bus), 0);
        }
        ck_assert_int_ge(sd_bus_flush(bus), 0);
}

/* A client may keep only so many calls waiting: the rest get LimitReached. */
START_TEST(test_hostile_waiters_capped) {
        free(start_bystander());
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = client_connect();
        uint64_t deadline = harness_now_usec() + HARNESS_SIGNAL_TIMEOUT_USEC;
        unsigned limited = 0;

        queue_waits(bus, "bystander", 4096 + 50, &limited);
        /* Only the refused calls are answered now. */
        while (limited < 50 && harness_now_usec() < deadline) {
                int r = sd_bus_process(bus, NULL);

                ck_assert_int_ge(r, 0);
                if (r == 0)
                        (void) sd_bus_wait(bus, 100 * USEC_PER_MSEC);
        }
        ck_assert_uint_eq(limited, 50);
}
END_TEST

/* Clients that queue WaitContainer calls and leave the bus took berthd's memory with them: 128k
 * waiters grew it from 3.4 to 140 MB. Waiters of a client that left must go. */
START_TEST(test_hostile_waiters_of_gone_clients) {
        free(start_bystander());
        pid_t berthd = harness_berthd_pid();
        unsigned long before = 0, after;
        unsigned limited = 0;
        _cleanup_free_ char *state = NULL;

        /* One round first, so that the allocator's pools exist before measuring. */
        for (unsigned round = 0; round < 31; round++) {
                sd_bus *bus = client_connect();

                queue_waits(bus, "bystander", 4096, &limited);
                /* The last call is answered after all others: berthd has them all then. */
                ck_assert_int_ge(sd_bus_call_method(bus, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                                    "org.freedesktop.DBus.Peer", "Ping", NULL, NULL, NULL), 0);
                sd_bus_flush_close_unref(bus);
                if (round == 0) {
                        harness_settle_berthd();
                        before = rss_kib(berthd);
                }
        }
        harness_settle_berthd();
        after = rss_kib(berthd);
        ck_assert_uint_eq(limited, 0);
        ck_assert_msg(!HARNESS_MEMORY_MEASURABLE || after < before + 16 * 1024,
                      "berthd grew from %lu to %lu KiB over 120k waiters of gone clients", before, after);

        /* The exit has nobody left to answer, and berthd serves on. */
        harness_kill("bystander", SIGKILL);
        ck_assert_int_eq(harness_wait("bystander"), 137);
        state = harness_get_string("bystander", "State");
        ck_assert_str_eq(state, "stopped");
}
END_TEST

static void assert_call_error(const char *path, const char *interface, const char *member, const char *expected,
                              const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        ck_assert_int_ge(sd_bus_message_new_method_call(harness->bus, &m, BERTH_BUS_NAME, path, interface, member),
                         0);
        va_start(ap, types);
        ck_assert_int_ge(sd_bus_message_appendv(m, types, ap), 0);
        va_end(ap);
        r = sd_bus_call(harness->bus, m, HARNESS_CALL_TIMEOUT_USEC, &error, NULL);
        ck_assert_msg(r < 0 && error.name && streq(error.name, expected), "%s(%s): expected %s, got %s (%s)",
                      member, types, expected, error.name ?: "success", error.message ?: "");
}

/* Calls with the wrong signature got sd-bus's own InvalidArgs, not a berth error. */
START_TEST(test_hostile_wrong_signatures) {
        _cleanup_free_ char *bundle = start_bystander(), *path = harness_container_path("bystander");
        HarnessSnapshot snap = {};

        harness_snapshot_take(&snap);
        assert_call_error(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, "CreateContainer",
                          BERTH_ERROR_INVALID_ARGUMENT, "s", "x");
        assert_call_error(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, "CreateContainer",
                          BERTH_ERROR_INVALID_ARGUMENT, "ssa{ss}", "x", bundle, 0);
        assert_call_error(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, "WaitContainer",
                          BERTH_ERROR_INVALID_ARGUMENT, "i", 1);
        assert_call_error(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, "KillContainer",
                          BERTH_ERROR_INVALID_ARGUMENT, "si", "bystander", 9);
        assert_call_error(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, "ListContainers",
                          BERTH_ERROR_INVALID_ARGUMENT, "s", "all");
        assert_call_error(path, BERTH_CONTAINER_INTERFACE, "Kill", BERTH_ERROR_INVALID_ARGUMENT, "s", "KILL");
        assert_call_error(path, BERTH_CONTAINER_INTERFACE, "Delete", BERTH_ERROR_INVALID_ARGUMENT, "");
        harness_snapshot_assert_unchanged(&snap);
        harness_snapshot_done(&snap);
}
END_TEST

/* Options that would make container.json larger than the shim reads got ShimFailed after a shim
 * was spawned; they are refused before. */
START_TEST(test_hostile_oversized_options) {
        _cleanup_free_ char *bundle = start_bystander();
        _cleanup_free_ char *big = malloc(600 * 1024);
        sd_bus_message *m;

        ck_assert_ptr_nonnull(big);
        memset(big, 'x', 600 * 1024 - 1);
        big[600 * 1024 - 1] = 0;
        m = harness_create_begin("big", bundle);
        harness_create_option(m, "Labels", "a{ss}", 2, "a", big, "b", big);
        harness_assert_create_fails(m, BERTH_ERROR_INVALID_ARGUMENT, "too large");
        ck_assert_uint_eq(harness_count_shims(), 1);
}
END_TEST

/* Out of fds, berthd answered InvalidBundle ("cannot be read: Too many open files"). */
START_TEST(test_hostile_out_of_fds) {
        _cleanup_free_ char *bundle = start_bystander();
        pid_t berthd = harness_berthd_pid();
        struct rlimit old, tight;
        sd_bus_message *m;

        ck_assert_int_eq(prlimit(berthd, RLIMIT_NOFILE, NULL, &old), 0);
        tight = (struct rlimit) { .rlim_cur = harness_count_fds(berthd), .rlim_max = old.rlim_max };
        ck_assert_int_eq(prlimit(berthd, RLIMIT_NOFILE, &tight, NULL), 0);
        m = harness_create_begin("nofd", bundle);
        harness_assert_create_fails(m, BERTH_ERROR_LIMIT_REACHED, "open files");
        ck_assert_int_eq(prlimit(berthd, RLIMIT_NOFILE, &old, NULL), 0);

        free(harness_create("nofd", bundle, true));
        ck_assert_int_eq(harness_wait("nofd"), 0);
}
END_TEST

/* A full state directory gave org.freedesktop.DBus.Error... System.Error.ENOSPC. */
START_TEST(test_hostile_state_dir_full) {
        _cleanup_free_ char *bundle = harness_make_bundle("good", "true", NULL);
        sd_bus_message *m;

        harness_stop_berthd();
        harness_mount_tmpfs(harness->state_dir, 256);
        harness_start_berthd();
        /* runc makes its root when the snapshot lists it: before the disk is full. */
        ck_assert_int_eq(mkdir(harness->runtime_root, 0700), 0);
        harness_fill_fs(harness->state_dir);

        m = harness_create_begin("full", bundle);
        harness_assert_create_fails(m, BERTH_ERROR_LIMIT_REACHED, "space");
        ck_assert_uint_eq(harness_count_shims(), 0);
}
END_TEST

static bool cond_state_is(void *userdata) {
        const char *const *want = userdata;
        _cleanup_free_ char *state = harness_get_string(want[0], "State");

        return streq(state, want[1]);
}

static void assert_state_becomes(const char *id, const char *state) {
        const char *want[2] = { id, state };
        _cleanup_free_ char *now = NULL;

        if (harness_wait_until(cond_state_is, want, HARNESS_SIGNAL_TIMEOUT_USEC))
                return;
        now = harness_get_string(id, "State");
        ck_abort_msg("'%s' is %s, expected %s", id, now, state);
}

/* Connects to the shim's control socket until its accept backlog is full; returns the fds. */
static unsigned fill_backlog(const char *id, int *fds, unsigned max) {
        _cleanup_free_ char *sock = harness_state_path(id, "shim.sock");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        unsigned n = 0;

        ck_assert_uint_lt(strlen(sock), sizeof(sa.sun_path));
        strcpy(sa.sun_path, sock);
        while (n < max) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

                ck_assert_int_ge(fd, 0);
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                        ck_assert_int_eq(errno, EAGAIN);
                        close(fd);
                        return n;
                }
                fds[n++] = fd;
        }
        ck_abort_msg("the backlog of '%s' never filled", id);
        return n;
}

/* A stopped shim (SIGSTOP, or with its accept backlog full) made a restarted berthd wait for it,
 * or block in connect() for good: berthd must take its name, serve every other container, and
 * finish with the stuck one when it answers. */
static void stuck_shim_restart(bool full_backlog) {
        _cleanup_free_ char *bundle = harness_make_bundle("sleeper", "sleep", "1000", NULL), *state = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int fds[64];
        unsigned n_fds = 0;
        pid_t shim, pid_ok;
        int r;

        free(harness_create("ok", bundle, true));
        free(harness_create("stuck", bundle, true));
        pid_ok = (pid_t) harness_get_u32("ok", "Pid");
        shim = (pid_t) harness_get_u32("stuck", "ShimPid");

        (void) harness_kill_berthd(SIGKILL);
        ck_assert_int_eq(kill(shim, SIGSTOP), 0);
        if (full_backlog)
                n_fds = fill_backlog("stuck", fds, ELEMENTSOF(fds));
        harness_start_berthd();

        state = harness_get_string("ok", "State");
        ck_assert_str_eq(state, "running");
        ck_assert_uint_eq(harness_get_u32("ok", "Pid"), (uint32_t) pid_ok);
        free(state);
        state = harness_get_string("stuck", "State");
        ck_assert_str_eq(state, "unknown");
        r = harness_call_manager("KillContainer", &error, NULL, "sib", "stuck", SIGKILL, 0);
        harness_assert_error(r, &error, BERTH_ERROR_INVALID_STATE);

        /* The other container is served as usual meanwhile. */
        harness_kill("ok", SIGKILL);
        ck_assert_int_eq(harness_wait("ok"), 137);

        for (unsigned i = 0; i < n_fds; i++)
                close(fds[i]);
        ck_assert_int_eq(kill(shim, SIGCONT), 0);
        assert_state_becomes("stuck", "running");
        ck_assert_uint_eq(harness_get_u32("stuck", "ShimPid"), (uint32_t) shim);
        harness_kill("stuck", SIGKILL);
        ck_assert_int_eq(harness_wait("stuck"), 137);
}

START_TEST(test_hostile_stopped_shim_restart) {
        stuck_shim_restart(false);
}
END_TEST

START_TEST(test_hostile_full_backlog_restart) {
        stuck_shim_restart(true);
}
END_TEST

static Suite *hostile_suite(void) {
        Suite *s = suite_create("hostile");
        TCase *tc;

        tc = harness_tcase_new("paths");
        tcase_add_test(tc, test_hostile_log_path_symlink);
        tcase_add_test(tc, test_hostile_log_path_in_state_dir);
        tcase_add_test(tc, test_hostile_log_path_not_a_file);
        tcase_add_test(tc, test_hostile_log_path_good);
        tcase_add_test(tc, test_hostile_config_fifo);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("races");
        tcase_add_test(tc, test_hostile_concurrent_deletes);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("stuck");
        tcase_add_test(tc, test_hostile_stopped_shim_restart);
        tcase_add_test(tc, test_hostile_full_backlog_restart);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("errors");
        tcase_add_test(tc, test_hostile_wrong_signatures);
        tcase_add_test(tc, test_hostile_oversized_options);
        tcase_add_test(tc, test_hostile_out_of_fds);
        tcase_add_test(tc, test_hostile_state_dir_full);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("clients");
        tcase_add_test(tc, test_hostile_waiters_capped);
        tcase_add_test(tc, test_hostile_waiters_of_gone_clients);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run_suite(hostile_suite());
}
