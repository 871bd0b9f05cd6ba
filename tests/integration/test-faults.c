/* Fault-injection integration tests on real containers (the issue "containers outlive berthd"):
 * shims killed with SIGKILL while berthd runs and while it is down; berthd killed at each step of
 * CreateContainer, StartContainer and DeleteContainer; pid files that point at unrelated processes;
 * runtime invocations that hang; SIGPIPE.
 *
 * The steps are hit deterministically with tests/data/berth-test-runtime, a wrapper around runc
 * (CreateContainer option Runtime) that stops before or after one command of one container until
 * the test releases it; the test waits for its "paused" marker, never for time to pass. When
 * berthd must restart while a shim is busy, the test starts berthd, waits until its connection to
 * the shim's socket is pending (/proc/net/unix), and only then lets the runtime finish. */

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

#define T HARNESS_SIGNAL_TIMEOUT_USEC

/* ---- helpers --------------------------------------------------------------------------------- */

static void assert_state(const char *id, const char *state) {
        _cleanup_free_ char *s = harness_get_string(id, "State");

        ck_assert_msg(streq(s, state), "'%s' is %s, expected %s", id, s, state);
}

static void sync_berthd(void) {
        free(harness_list_text());
}

/* harness_create() without the object path, which these tests do not need. */
static void create_container(const char *id, const char *bundle, bool start) {
        _cleanup_free_ char *path = harness_create(id, bundle, start);

        ck_assert_ptr_nonnull(path);
}

static pid_t read_pid_file(const char *path) {
        _cleanup_free_ char *text = harness_read_file(path, NULL);

        return (pid_t) atoi(text);
}

static void write_pid_file(const char *path, pid_t pid) {
        _cleanup_free_ char *tmp = harness_xasprintf("%s.test-tmp", path);
        _cleanup_free_ char *text = harness_xasprintf("%d\n", (int) pid);

        harness_write_file(tmp, text, strlen(text));
        ck_assert_msg(rename(tmp, path) >= 0, "rename %s: %m", tmp);
}

/* Kills a process that is not our child (a shim) and waits until it is gone. */
static void kill_and_wait(pid_t pid) {
        ck_assert_msg(kill(pid, SIGKILL) >= 0, "kill %d: %m", (int) pid);
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &pid, T), "pid %d did not die", (int) pid);
}

/* An unrelated process (our child): what a recycled pid would point at. */
static pid_t spawn_unrelated(void) {
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                execlp("sleep", "sleep", "1000", NULL);
                _exit(127);
        }
        return pid;
}

static char proc_state(pid_t pid) {
        _cleanup_free_ char *path = harness_xasprintf("/proc/%d/stat", (int) pid);
        _cleanup_free_ char *text = harness_read_file(path, NULL);
        char *p = strrchr(text, ')');

        ck_assert_ptr_nonnull(p);
        return p[2];
}

static void stop_unrelated(pid_t pid) {
        int status;

        ck_assert_msg(harness_pid_alive(pid), "the unrelated process %d was killed", (int) pid);
        ck_assert_msg(proc_state(pid) != 'T' && proc_state(pid) != 't',
                      "the unrelated process %d was stopped", (int) pid);
        ck_assert_int_eq(harness_get_ppid(pid), getpid());
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

/* Whether a live berth-shim serves id (its command line has --state-dir DIR/id). */
static bool shim_of_id_runs(const char *id) {
        _cleanup_free_ char *want = harness_state_path(id, NULL);
        _cleanup_closedir_ DIR *d = opendir("/proc");
        struct dirent *de;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int fd = -EBADF;
                char buf[8192];
                ssize_t n;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                path = harness_xasprintf("/proc/%s/cmdline", de->d_name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                n = read(fd, buf, sizeof(buf) - 1);
                if (n <= 0)
                        continue;
                buf[n] = 0;
                if (!strstr(buf, "berth-shim"))
                        continue;
                for (ssize_t i = 0; i < n; i += strlen(buf + i) + 1)
                        if (streq(buf + i, "--state-dir") && i + (ssize_t) strlen(buf + i) + 1 < n &&
                            streq(buf + i + strlen(buf + i) + 1, want) &&
                            harness_pid_alive(atoi(de->d_name)))
                                return true;
        }
        return false;
}

static bool no_shim_of_id(void *userdata) {
        return !shim_of_id_runs(userdata);
}

/* Nothing of id is left anywhere: not in berthd, the state dir, the log dir, runc, or /proc. */
static void assert_nothing(const char *id) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *dir = harness_state_path(id, NULL), *runc = harness_runc_list();
        _cleanup_free_ char *log = harness_xasprintf("%s/%s.log", harness->log_dir, id);
        _cleanup_free_ char *line = harness_xasprintf("%s\n", id);
        int r;

        r = harness_call_manager("GetContainer", &error, NULL, "s", id);
        harness_assert_error(r, &error, BERTH_ERROR_NO_SUCH_CONTAINER);
        ck_assert_msg(!harness_path_exists(dir), "%s is left", dir);
        ck_assert_msg(!harness_path_exists(log), "%s is left", log);
        ck_assert_msg(!strstr(runc, line), "runc still has '%s'", id);
        /* The shim exits just after it answered Delete, and berthd answers without waiting. */
        ck_assert_msg(harness_wait_until(no_shim_of_id, (void *) id, T), "a shim of '%s' still runs", id);
}

/* ---- the runtime wrapper --------------------------------------------------------------------- */

static char *wrapper;           /* the installed berth-test-runtime */
static char *wrapper_dir;

static void wrapper_install(void) {
        char *slash;

        wrapper = harness_install_data("berth-test-runtime");
        wrapper_dir = strdup(wrapper);
        ck_assert_ptr_nonnull(wrapper_dir);
        slash = strrchr(wrapper_dir, '/');
        *slash = 0;
}

static void wrapper_done(void) {
        wrapper = mfree(wrapper);
        wrapper_dir = mfree(wrapper_dir);
}

static char *wrapper_file(const char *what, const char *cmd, const char *id) {
        return harness_xasprintf("%s/%s-%s-%s", wrapper_dir, what, cmd, id);
}

static void wrapper_set(const char *what, const char *cmd, const char *id) {
        _cleanup_free_ char *p = wrapper_file(what, cmd, id);

        harness_write_file(p, "", 0);
}

/* Waits until the wrapper stopped at cmd of id; returns its pid. */
static pid_t wrapper_wait_paused(const char *cmd, const char *id) {
        _cleanup_free_ char *p = wrapper_file("paused", cmd, id);

        ck_assert_msg(harness_wait_until(harness_cond_file_exists, p, T),
                      "the runtime did not get to '%s %s'", cmd, id);
        return read_pid_file(p);
}

static void wrapper_release(const char *cmd, const char *id) {
        wrapper_set("release", cmd, id);
}

static void create_wrapped(const char *id, const char *bundle, bool start) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = harness_create_begin(id, bundle);
        int r;

        harness_create_option(m, "Runtime", "s", wrapper);
        harness_create_option(m, "Labels", "a{ss}", 1, "suite", "faults");
        if (start)
                harness_create_option(m, "Start", "b", 1);
        r = harness_create_end(m, &error, NULL);
        ck_assert_msg(r >= 0, "CreateContainer('%s') failed: %s: %s", id, error.name ?: "",
                      error.message ?: strerror(-r));
}

static HarnessAsync *create_wrapped_async(const char *id, const char *bundle) {
        sd_bus_message *m = harness_create_begin(id, bundle);

        harness_create_option(m, "Runtime", "s", wrapper);
        return harness_create_end_async(m);
}

static void assert_no_reply(HarnessAsync *a, const char *what) {
        const sd_bus_error *e;

        ck_assert_msg(harness_async_wait(a, T), "%s got no answer", what);
        e = harness_async_error(a);
        ck_assert_msg(e, "%s succeeded although berthd was killed before it could answer", what);
        printf("%s, berthd killed: %s\n", what, e->name);
}

/* berthd is killed while a shim is busy in the runtime; the new berthd starts and connects to the
 * shim, and only then the runtime goes on. Returns when berthd owns its name. */
static void restart_while_busy(const char *id, const char *cmd, pid_t shim) {
        uint64_t deadline;

        (void) harness_kill_berthd(SIGKILL);
        harness_spawn_berthd();
        deadline = harness_now_usec() + T;
        while (harness_pending_connections(shim) == 0) {
                ck_assert_msg(harness_now_usec() < deadline,
                              "berthd did not connect to the busy shim of '%s'", id);
                usleep(5000);
        }
        wrapper_release(cmd, id);
        harness_wait_berthd_name(T);
}

static void restart_berthd(void) {
        (void) harness_kill_berthd(SIGKILL);
        harness_start_berthd();
}

static void wrapper_setup(void) {
        wrapper_install();
}

/* ---- shim death ------------------------------------------------------------------------------ */

static void assert_shim_lost(const char *id, pid_t init, HarnessWatch *exited) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *reason = NULL, *runc = NULL, *line = harness_xasprintf("%s\n", id);
        const char *sid, *spath;
        int32_t status;
        int oom;

        /* exited == NULL: the caller checked the signals. */
        if (exited) {
                m = harness_watch_next_id(exited, id, T);
                ck_assert_msg(m, "no ContainerExited for '%s' after its shim was killed", id);
                ck_assert_int_ge(sd_bus_message_read(m, "soib", &sid, &spath, &status, &oom), 0);
                ck_assert_int_eq(status, 255);
        }
        ck_assert_int_eq(harness_wait(id), 255);
        assert_state(id, "stopped");
        reason = harness_get_string(id, "ExitReason");
        ck_assert_str_eq(reason, "shim-lost");
        ck_assert_int_eq(harness_get_i32(id, "ExitStatus"), 255);
        ck_assert_uint_gt(harness_get_u64(id, "FinishedAt"), 0);
        ck_assert_uint_eq(harness_get_u32(id, "ShimPid"), 0);
        if (init > 0)
                ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &init, T),
                              "the orphaned init %d of '%s' still runs", (int) init, id);
        runc = harness_runc_list();
        ck_assert_msg(!strstr(runc, line), "runc still has the container of the lost shim '%s'", id);
        sync_berthd();
        if (exited)
                ck_assert_msg(harness_watch_drain(exited, id) == 0, "ContainerExited for '%s' came twice",
                              id);
}

START_TEST(test_faults_shim_killed_berthd_running) {
        _cleanup_free_ char *bundle = harness_make_bundle("lost", "sleep", "1000", NULL);
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        _cleanup_(harness_async_freep) HarnessAsync *waiting = NULL;
        _cleanup_free_ char *log_path = NULL;
        pid_t init, shim;
        uint64_t t0;

        create_container("lost", bundle, true);
        init = (pid_t) harness_get_u32("lost", "Pid");
        shim = (pid_t) harness_get_u32("lost", "ShimPid");
        log_path = harness_get_string("lost", "LogPath");
        waiting = harness_call_async("WaitContainer", "s", "lost");
        sync_berthd();

        t0 = harness_now_usec();
        ck_assert_int_eq(kill(shim, SIGKILL), 0);
        ck_assert(harness_async_wait(waiting, T));
        printf("shim-killed: berthd answered the waiter %" PRIu64
               " ms after the SIGKILL (information only)\n",
               (harness_now_usec() - t0) / USEC_PER_MSEC);
        ck_assert_msg(!harness_async_error(waiting), "WaitContainer failed: %s",
                      harness_async_error(waiting)->message);
        {
                int32_t status;
                ck_assert_int_ge(sd_bus_message_read(harness_async_reply(waiting), "i", &status), 0);
                ck_assert_int_eq(status, 255);
        }
        assert_shim_lost("lost", init, exited);

        /* Survives a restart as it is, and DeleteContainer cleans up. */
        restart_berthd();
        assert_state("lost", "stopped");
        ck_assert_int_eq(harness_wait("lost"), 255);
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(exited, NULL), 0);
        harness_delete("lost", false);
        assert_nothing("lost");
        ck_assert_msg(!harness_path_exists(log_path), "the log of a deleted container is left");
}
END_TEST

START_TEST(test_faults_shim_killed_berthd_down) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        const char *ids[] = { "lost-running", "lost-created", "lost-paused" };
        pid_t inits[3], shims[3];

        create_container(ids[0], sleeper, true);
        create_container(ids[1], sleeper, false);
        create_container(ids[2], sleeper, true);
        {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                harness_assert_ok(harness_call_manager("PauseContainer", &error, NULL, "s", ids[2]), &error);
        }
        for (size_t i = 0; i < 3; i++) {
                inits[i] = (pid_t) harness_get_u32(ids[i], "Pid");
                shims[i] = (pid_t) harness_get_u32(ids[i], "ShimPid");
        }

        (void) harness_kill_berthd(SIGKILL);
        for (size_t i = 0; i < 3; i++)
                kill_and_wait(shims[i]);
        harness_start_berthd();
        sync_berthd();
        {
                _cleanup_free_ char *got = harness_watch_drain_ids(exited);
                ck_assert_msg(streq(got, "lost-created\nlost-paused\nlost-running\n"),
                              "ContainerExited came for:\n%s", got);
        }
        for (size_t i = 0; i < 3; i++)
                assert_shim_lost(ids[i], inits[i], NULL);
        for (size_t i = 0; i < 3; i++) {
                harness_delete(ids[i], false);
                assert_nothing(ids[i]);
        }
}
END_TEST

/* The shim wrote the real exit record and then died: that status is reported, not 255. */
START_TEST(test_faults_shim_killed_after_exit) {
        _cleanup_free_ char *bundle = harness_make_bundle(
                "real", "sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 7", NULL);
        _cleanup_free_ char *go = NULL, *exit_file = harness_state_path("real", "exit"), *reason = NULL;
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        pid_t init, shim;

        create_container("real", bundle, true);
        init = (pid_t) harness_get_u32("real", "Pid");
        shim = (pid_t) harness_get_u32("real", "ShimPid");
        (void) harness_kill_berthd(SIGKILL);
        go = harness_xasprintf("%s/rootfs/tmp/go", bundle);
        harness_write_file(go, "", 0);
        ck_assert(harness_wait_until(harness_cond_pid_gone, &init, T));
        ck_assert(harness_wait_until(harness_cond_file_exists, exit_file, T));
        kill_and_wait(shim);

        harness_start_berthd();
        ck_assert_int_eq(harness_wait("real"), 7);
        reason = harness_get_string("real", "ExitReason");
        ck_assert_str_eq(reason, "exited");
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(exited, "real"), 1);
        harness_delete("real", false);
        assert_nothing("real");
}
END_TEST

/* ---- berthd killed in the middle of an operation --------------------------------------------- */

/* Killed while the shim waits in `runc create`; the new berthd comes first: nothing is left. */
START_TEST(test_faults_kill_during_create) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sh", "-c", "echo hello", NULL);
        _cleanup_(harness_async_freep) HarnessAsync *create = NULL;
        _cleanup_free_ char *calls = NULL, *calls_path = NULL;
        pid_t runtime, shim;

        wrapper_set("pause", "create", "half");
        create = create_wrapped_async("half", bundle);
        runtime = wrapper_wait_paused("create", "half");
        {
                _cleanup_free_ char *p = harness_state_path("half", "shim.pid");
                shim = read_pid_file(p);
        }

        (void) harness_kill_berthd(SIGKILL);
        assert_no_reply(create, "CreateContainer");
        harness_start_berthd();
        ck_assert_msg(!harness_pid_alive(shim), "the half-made shim %d still runs", (int) shim);
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &runtime, T),
                      "its runtime %d still runs", (int) runtime);
        assert_nothing("half");
        calls_path = harness_xasprintf("%s/calls", wrapper_dir);
        calls = harness_read_file(calls_path, NULL);
        printf("kill-during-create: runtime calls:\n%s", calls);

        /* The id is free again, and works. */
        wrapper_release("create", "half");
        create_wrapped("half", bundle, true);
        ck_assert_int_eq(harness_wait("half"), 0);
        harness_delete("half", false);
        assert_nothing("half");
}
END_TEST

/* Killed while the shim waits in `runc create`; the create finishes before berthd is back (the shim
 * writes READY into a pipe nobody reads any more: no SIGPIPE may kill it): a complete container. */
START_TEST(test_faults_kill_during_create_finished_first) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sh", "-c", "echo hello; exit 3", NULL);
        _cleanup_(harness_async_freep) HarnessAsync *create = NULL;
        _cleanup_free_ char *sock = harness_state_path("whole", "shim.sock"), *log_path = NULL;
        HarnessCriLog log = {};
        pid_t shim;

        wrapper_set("pause", "create", "whole");
        create = create_wrapped_async("whole", bundle);
        (void) wrapper_wait_paused("create", "whole");
        {
                _cleanup_free_ char *p = harness_state_path("whole", "shim.pid");
                shim = read_pid_file(p);
        }
        (void) harness_kill_berthd(SIGKILL);
        assert_no_reply(create, "CreateContainer");
        wrapper_release("create", "whole");
        ck_assert_msg(harness_wait_until(harness_cond_file_exists, sock, T), "the shim never listened");
        ck_assert_msg(harness_pid_alive(shim), "the shim died writing READY to a closed pipe");

        harness_start_berthd();
        assert_state("whole", "created");
        ck_assert_uint_eq(harness_get_u32("whole", "ShimPid"), (uint32_t) shim);
        harness_start("whole");
        ck_assert_int_eq(harness_wait("whole"), 3);
        log_path = harness_get_string("whole", "LogPath");
        harness_cri_log_read(log_path, &log);
        ck_assert_str_eq(log.streams[0], "hello\n");
        harness_cri_log_done(&log);
        harness_delete("whole", false);
        assert_nothing("whole");
}
END_TEST

/* Killed after `runc create` made the container but before the shim listened: the runtime's state
 * and the container's init must go too. */
START_TEST(test_faults_kill_after_runtime_create) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sh", "-c", "echo hello", NULL);
        _cleanup_(harness_async_freep) HarnessAsync *create = NULL;
        _cleanup_free_ char *runc = NULL;
        pid_t init;

        wrapper_set("pause-after", "create", "made");
        create = create_wrapped_async("made", bundle);
        (void) wrapper_wait_paused("create", "made");
        runc = harness_runc_list();
        ck_assert_str_eq(runc, "made\n");
        {
                _cleanup_free_ char *p = harness_state_path("made", "pid");
                init = read_pid_file(p);
        }
        ck_assert(harness_pid_alive(init));

        (void) harness_kill_berthd(SIGKILL);
        assert_no_reply(create, "CreateContainer");
        harness_start_berthd();
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &init, T),
                      "the init %d of the half-made container runs",
                      (int) init);
        assert_nothing("made");
}
END_TEST

static void kill_during_start(const char *what) {
        _cleanup_free_ char *bundle = harness_make_bundle(
                "b", "sh", "-c", "echo started; while [ ! -e /tmp/go ]; do sleep 0.05; done", NULL);
        _cleanup_(harness_async_freep) HarnessAsync *start = NULL;
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        _cleanup_free_ char *go = harness_xasprintf("%s/rootfs/tmp/go", bundle), *log_path = NULL;
        HarnessCriLog log = {};
        pid_t init, shim;

        create_wrapped("st", bundle, false);
        init = (pid_t) harness_get_u32("st", "Pid");
        shim = (pid_t) harness_get_u32("st", "ShimPid");
        log_path = harness_get_string("st", "LogPath");
        wrapper_set(what, "start", "st");
        start = harness_call_async("StartContainer", "s", "st");
        (void) wrapper_wait_paused("start", "st");

        restart_while_busy("st", "start", shim);
        assert_no_reply(start, "StartContainer");
        assert_state("st", "running");
        ck_assert_uint_eq(harness_get_u32("st", "Pid"), (uint32_t) init);
        ck_assert_uint_gt(harness_get_u64("st", "StartedAt"), 0);

        /* Complete: it runs, it is watched, and its end is reported once. */
        harness_write_file(go, "", 0);
        ck_assert_int_eq(harness_wait("st"), 0);
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(exited, "st"), 1);
        harness_cri_log_read(log_path, &log);
        ck_assert_str_eq(log.streams[0], "started\n");
        harness_cri_log_done(&log);
        harness_delete("st", false);
        assert_nothing("st");
}

START_TEST(test_faults_kill_during_start) {
        kill_during_start("pause");
}
END_TEST

START_TEST(test_faults_kill_after_runtime_start) {
        kill_during_start("pause-after");
}
END_TEST

static bool pid_is_zombie(void *userdata) {
        _cleanup_free_ char *path = harness_xasprintf("/proc/%d/stat", (int) *(pid_t *) userdata);
        _cleanup_free_ char *stat = harness_read_file(path, NULL);
        const char *paren = stat ? strrchr(stat, ')') : NULL;

        return !paren || paren[1] == 0 || paren[2] == 'Z';
}

static bool container_stopped(void *userdata) {
        _cleanup_free_ char *state = harness_get_string(userdata, "State");

        return streq(state, "stopped");
}

/* berthd answers DeleteContainer as soon as the shim has removed everything, while the shim is
 * still exiting: the id must be free for a new container right away, with a shim of its own. */
START_TEST(test_faults_delete_then_reuse_id) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sleep", "1000", NULL);
        pid_t first, second;

        for (unsigned i = 0; i < 5; i++) {
                create_container("again", bundle, true);
                first = (pid_t) harness_get_u32("again", "ShimPid");
                harness_delete("again", true);
                create_container("again", bundle, true);
                second = (pid_t) harness_get_u32("again", "ShimPid");
                ck_assert_int_ne(first, second);
                assert_state("again", "running");
                harness_delete("again", true);
                assert_nothing("again");
        }
}
END_TEST

/* With Start=true the shim starts the container itself before it says READY, so berthd connects
 * only after that. An init that exits before berthd's connection is accepted must still be
 * reported: the shim sends Exited to a connection that arrives after the exit. The wrapper holds
 * the runtime's start until the init is a zombie, and berthd is stopped until the shim wrote the
 * exit record, so the exit always comes first. */
START_TEST(test_faults_exit_before_berthd_connects) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sh", "-c", "exit 3", NULL);
        _cleanup_free_ char *pid_file = harness_state_path("early", "pid"), *reason = NULL;
        _cleanup_free_ char *exit_file = harness_state_path("early", "exit");
        _cleanup_(harness_async_freep) HarnessAsync *create = NULL;
        sd_bus_message *m;
        pid_t init;

        wrapper_set("pause-after", "start", "early");
        m = harness_create_begin("early", bundle);
        harness_create_option(m, "Runtime", "s", wrapper);
        harness_create_option(m, "Start", "b", 1);
        create = harness_create_end_async(m);
        (void) wrapper_wait_paused("start", "early");
        init = read_pid_file(pid_file);
        ck_assert_int_gt(init, 0);
        ck_assert_msg(harness_wait_until(pid_is_zombie, &init, T), "the init %d did not exit", (int) init);
        ck_assert_int_eq(kill(harness_berthd_pid(), SIGSTOP), 0);
        wrapper_release("start", "early");
        ck_assert_msg(harness_wait_until(harness_cond_file_exists, exit_file, T),
                      "the shim did not record the exit");
        ck_assert_int_eq(kill(harness_berthd_pid(), SIGCONT), 0);

        ck_assert_msg(harness_async_wait(create, T), "CreateContainer got no answer");
        ck_assert_msg(!harness_async_error(create), "CreateContainer failed: %s",
                      harness_async_error(create)->message);
        ck_assert_msg(harness_wait_until(container_stopped, (void *) "early", T),
                      "the exit of 'early' before berthd connected was never reported");
        ck_assert_int_eq(harness_wait("early"), 3);
        assert_state("early", "stopped");
        reason = harness_get_string("early", "ExitReason");
        ck_assert_str_eq(reason, "exited");
        harness_delete("early", false);
        assert_nothing("early");
}
END_TEST

/* Start=true whose start fails: CreateContainer gets the runtime's error, and the container stays,
 * created, as after a StartContainer that failed. */
START_TEST(test_faults_start_fails_after_create) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sleep", "1000", NULL);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m;
        int r;

        wrapper_set("fail", "start", "nostart");
        m = harness_create_begin("nostart", bundle);
        harness_create_option(m, "Runtime", "s", wrapper);
        harness_create_option(m, "Start", "b", 1);
        r = harness_create_end(m, &error, NULL);
        harness_assert_error(r, &error, BERTH_ERROR_RUNTIME_FAILED);
        ck_assert_msg(strstr(error.message, "injected failure of start"), "error: %s", error.message);
        assert_state("nostart", "created");
        ck_assert_uint_eq(harness_get_u64("nostart", "StartedAt"), 0);
        harness_delete("nostart", false);
        assert_nothing("nostart");
}
END_TEST

static void kill_during_delete(const char *what, bool restart_first) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sleep", "1000", NULL);
        _cleanup_(harness_async_freep) HarnessAsync *delete = NULL;
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        _cleanup_free_ char *log_path = NULL, *dir = harness_state_path("del", NULL);
        pid_t init, shim;

        create_wrapped("del", bundle, true);
        init = (pid_t) harness_get_u32("del", "Pid");
        shim = (pid_t) harness_get_u32("del", "ShimPid");
        log_path = harness_get_string("del", "LogPath");
        wrapper_set(what, "delete", "del");
        delete = harness_call_async("DeleteContainer", "sb", "del", 1);
        (void) wrapper_wait_paused("delete", "del");

        if (restart_first)
                restart_while_busy("del", "delete", shim);
        else {
                (void) harness_kill_berthd(SIGKILL);
                wrapper_release("delete", "del");
                ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &shim, T),
                              "the shim did not finish deleting");
                harness_start_berthd();
        }
        assert_no_reply(delete, "DeleteContainer");
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &init, T),
                      "the init of the deleted container runs");
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &shim, T),
                      "the shim of the deleted container runs");
        sync_berthd();
        {
                _cleanup_free_ char *list = harness_list_text();
                ck_assert_msg(streq(list, ""), "after berthd died deleting 'del' it lists:\n%s", list);
        }
        ck_assert_msg(harness_watch_drain(exited, "del") == 0,
                      "a deleted container was announced as exited");
        assert_nothing("del");
        ck_assert_msg(!harness_path_exists(log_path), "%s is left", log_path);
        ck_assert_msg(!harness_path_exists(dir), "%s is left", dir);
}

START_TEST(test_faults_kill_during_delete) {
        kill_during_delete("pause", false);
}
END_TEST

START_TEST(test_faults_kill_during_delete_restart_first) {
        kill_during_delete("pause", true);
}
END_TEST

START_TEST(test_faults_kill_after_runtime_delete_restart_first) {
        kill_during_delete("pause-after", true);
}
END_TEST

/* berthd died after writing container.json and before spawning the shim (or while writing it). */
START_TEST(test_faults_state_without_shim) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "true", NULL);
        _cleanup_free_ char *config = NULL, *text = NULL, *ghost = NULL, *junk = NULL, *p = NULL;
        char *where;

        create_container("model", bundle, false);
        config = harness_state_path("model", "container.json");
        text = harness_read_file(config, NULL);
        where = strstr(text, "\"model\"");
        ck_assert_msg(where, "no id in %s", config);
        (void) harness_kill_berthd(SIGKILL);

        /* Same length as "model", so the rest of the file stays as written. */
        memcpy(where + 1, "ghost", 5);
        ghost = harness_state_path("ghost", NULL);
        ck_assert_int_eq(mkdir(ghost, 0700), 0);
        p = harness_state_path("ghost", "container.json");
        harness_write_file(p, text, strlen(text));
        junk = harness_state_path("junk", NULL);
        ck_assert_int_eq(mkdir(junk, 0700), 0);
        free(p);
        p = harness_state_path("junk", "container.json");
        harness_write_file(p, "{\"id\": \"ju", 10);

        harness_start_berthd();
        assert_nothing("ghost");
        {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                harness_assert_error(harness_call_manager("GetContainer", &error, NULL, "s", "junk"), &error,
                                     BERTH_ERROR_NO_SUCH_CONTAINER);
        }
        ck_assert_msg(!harness_path_exists(junk), "%s is left", junk);
        assert_state("model", "created");
        harness_delete("model", false);
}
END_TEST

/* ---- pid reuse ------------------------------------------------------------------------------- */

/* The shim is dead and its pid file names a live, unrelated process. */
START_TEST(test_faults_pid_reused_dead_shim) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sleep", "1000", NULL);
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        _cleanup_free_ char *pid_file = harness_state_path("reused", "shim.pid");
        pid_t init, shim, unrelated;

        create_container("reused", bundle, true);
        init = (pid_t) harness_get_u32("reused", "Pid");
        shim = (pid_t) harness_get_u32("reused", "ShimPid");
        (void) harness_kill_berthd(SIGKILL);
        kill_and_wait(shim);
        unrelated = spawn_unrelated();
        write_pid_file(pid_file, unrelated);

        harness_start_berthd();
        assert_shim_lost("reused", init, exited);
        ck_assert_uint_ne(harness_get_u32("reused", "ShimPid"), (uint32_t) unrelated);
        /* It is not the container's either. */
        ck_assert_uint_ne(harness_get_u32("reused", "Pid"), (uint32_t) unrelated);
        harness_delete("reused", false);
        assert_nothing("reused");
        stop_unrelated(unrelated);
}
END_TEST

/* The shim lives, but its pid file names another process: the socket's peer is the shim. */
START_TEST(test_faults_pid_file_lies) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sleep", "1000", NULL);
        _cleanup_free_ char *pid_file = harness_state_path("lied", "shim.pid");
        pid_t init, shim, unrelated;

        create_container("lied", bundle, true);
        init = (pid_t) harness_get_u32("lied", "Pid");
        shim = (pid_t) harness_get_u32("lied", "ShimPid");
        (void) harness_kill_berthd(SIGKILL);
        unrelated = spawn_unrelated();
        write_pid_file(pid_file, unrelated);

        harness_start_berthd();
        assert_state("lied", "running");
        ck_assert_uint_eq(harness_get_u32("lied", "ShimPid"), (uint32_t) shim);
        ck_assert_uint_eq(harness_get_u32("lied", "Pid"), (uint32_t) init);
        harness_kill("lied", SIGKILL);
        ck_assert_int_eq(harness_wait("lied"), 137);
        /* A dead unrelated process must not look like the shim's death either. */
        harness_delete("lied", false);
        assert_nothing("lied");
        stop_unrelated(unrelated);
}
END_TEST

/* ---- hanging runtime ------------------------------------------------------------------------- */

#define RUNTIME_TIMEOUT_SEC "2"

static void timeout_env(void) {
        /* berthd passes its environment on to the shims. */
        setenv("BERTH_RUNTIME_TIMEOUT_SEC", RUNTIME_TIMEOUT_SEC, 1);
}

static void assert_timeout(HarnessAsync *a, const char *what, uint64_t t0) {
        const sd_bus_error *e;

        ck_assert_msg(harness_async_wait(a, 120 * USEC_PER_SEC), "%s never returned", what);
        e = harness_async_error(a);
        ck_assert_msg(e, "%s succeeded with a hanging runtime", what);
        ck_assert_msg(streq(e->name, BERTH_ERROR_TIMEOUT), "%s failed with %s (%s), expected Timeout", what,
                      e->name, e->message);
        printf("hanging runtime: %s failed with %s after %" PRIu64 " ms: %s\n", what, e->name,
               (harness_now_usec() - t0) / USEC_PER_MSEC, e->message);
}

/* Meanwhile, other containers work as usual. */
static void other_container_works(const char *sleeper, const char *id) {
        _cleanup_free_ char *state = harness_get_string("steady", "State");

        ck_assert_str_eq(state, "running");
        create_container(id, sleeper, true);
        harness_kill(id, SIGKILL);
        ck_assert_int_eq(harness_wait(id), 137);
        harness_delete(id, false);
}

START_TEST(test_faults_runtime_hangs) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_(harness_async_freep) HarnessAsync *start = NULL, *delete = NULL;
        pid_t runtime, shim;
        uint64_t t0;

        create_container("steady", sleeper, true);
        create_wrapped("hang", sleeper, false);
        shim = (pid_t) harness_get_u32("hang", "ShimPid");

        /* Start hangs: Timeout, the runtime is killed, the container is still created. */
        wrapper_set("pause", "start", "hang");
        t0 = harness_now_usec();
        start = harness_call_async("StartContainer", "s", "hang");
        runtime = wrapper_wait_paused("start", "hang");
        other_container_works(sleeper, "other-1");
        assert_timeout(start, "StartContainer", t0);
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &runtime, T),
                      "the hanging runtime %d was not killed",
                      (int) runtime);
        assert_state("hang", "created");
        ck_assert(harness_pid_alive(shim));

        /* The runtime is fine again: the container starts. */
        wrapper_release("start", "hang");
        harness_start("hang");
        assert_state("hang", "running");

        /* Delete hangs: Timeout, the container stays; then it can be deleted. */
        wrapper_set("pause", "delete", "hang");
        t0 = harness_now_usec();
        delete = harness_call_async("DeleteContainer", "sb", "hang", 1);
        runtime = wrapper_wait_paused("delete", "hang");
        other_container_works(sleeper, "other-2");
        assert_timeout(delete, "DeleteContainer", t0);
        ck_assert(harness_wait_until(harness_cond_pid_gone, &runtime, T));
        ck_assert(harness_pid_alive(shim));
        wrapper_release("delete", "hang");
        harness_delete("hang", true);
        assert_nothing("hang");
        assert_state("steady", "running");
}
END_TEST

START_TEST(test_faults_runtime_hangs_in_create) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_(harness_async_freep) HarnessAsync *create = NULL;
        pid_t runtime;
        uint64_t t0;

        create_container("steady", sleeper, true);
        wrapper_set("pause", "create", "hc");
        t0 = harness_now_usec();
        create = create_wrapped_async("hc", sleeper);
        runtime = wrapper_wait_paused("create", "hc");
        other_container_works(sleeper, "other");
        assert_timeout(create, "CreateContainer", t0);
        ck_assert(harness_wait_until(harness_cond_pid_gone, &runtime, T));
        {
                _cleanup_free_ char *dir = harness_state_path("hc", NULL);
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                harness_assert_error(harness_call_manager("GetContainer", &error, NULL, "s", "hc"), &error,
                                     BERTH_ERROR_NO_SUCH_CONTAINER);
                ck_assert(harness_wait_until(harness_cond_pid_gone, &runtime, T));
                ck_assert_msg(!harness_path_exists(dir), "%s is left", dir);
        }
        assert_state("steady", "running");
        harness_kill("steady", SIGKILL);
        ck_assert_int_eq(harness_wait("steady"), 137);
        harness_delete("steady", false);
        assert_nothing("hc");
}
END_TEST

/* berthd runs the runtime itself to clean up after a lost shim: that must not block it either. */
START_TEST(test_faults_runtime_hangs_in_cleanup) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        pid_t shim, runtime;
        uint64_t t0;
        int r;

        create_wrapped("orphan", sleeper, true);
        shim = (pid_t) harness_get_u32("orphan", "ShimPid");
        wrapper_set("pause", "delete", "orphan");
        kill_and_wait(shim);
        runtime = wrapper_wait_paused("delete", "orphan");
        printf("cleanup hang: berthd runs '%s delete' itself (pid %d)\n", wrapper, (int) runtime);

        t0 = harness_now_usec();
        r = harness_call(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, "ListContainers", 10 * USEC_PER_SEC,
                         &error, NULL, NULL);
        /* Let it go before asserting, so a failure leaves nothing hanging. */
        wrapper_release("delete", "orphan");
        ck_assert_msg(r >= 0, "berthd did not answer ListContainers within 10 s while its own runtime call "
                      "hangs (%s: %s)", error.name ?: "", error.message ?: strerror(-r));
        printf("cleanup hang: berthd answered in %" PRIu64 " ms\n",
               (harness_now_usec() - t0) / USEC_PER_MSEC);
        ck_assert_int_eq(harness_wait("orphan"), 255);
        harness_delete("orphan", false);
        assert_nothing("orphan");
}
END_TEST

/* berthd's own runtime cleanup that hangs is killed on timeout with every process it started. */
START_TEST(test_faults_cleanup_timeout_kills_group) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_free_ char *child_file = NULL;
        pid_t shim, runtime, child;

        create_wrapped("orphan", sleeper, true);
        shim = (pid_t) harness_get_u32("orphan", "ShimPid");
        wrapper_set("fork", "delete", "orphan");
        wrapper_set("pause", "delete", "orphan");
        kill_and_wait(shim);
        runtime = wrapper_wait_paused("delete", "orphan");
        child_file = wrapper_file("child", "delete", "orphan");
        ck_assert(harness_wait_until(harness_cond_file_exists, child_file, T));
        child = read_pid_file(child_file);
        ck_assert(harness_pid_alive(child));

        /* BERTH_RUNTIME_TIMEOUT_SEC=2: berthd kills the runtime's whole group. */
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &runtime, T),
                      "the hanging cleanup %d was not killed", (int) runtime);
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &child, T),
                      "the child %d of the cleanup killed on timeout still runs", (int) child);
        ck_assert_int_eq(harness_wait("orphan"), 255);
        wrapper_release("delete", "orphan");
        harness_delete("orphan", false);
}
END_TEST

/* ---- SIGPIPE --------------------------------------------------------------------------------- */

START_TEST(test_faults_sigpipe) {
        _cleanup_free_ char *bundle = harness_make_bundle("b", "sleep", "1000", NULL);
        pid_t shim, berthd = harness->berthd_pid;

        create_container("piped", bundle, true);
        shim = (pid_t) harness_get_u32("piped", "ShimPid");
        ck_assert_int_eq(kill(berthd, SIGPIPE), 0);
        ck_assert_int_eq(kill(shim, SIGPIPE), 0);
        sync_berthd();
        ck_assert_msg(harness_pid_alive(berthd), "SIGPIPE killed berthd");
        ck_assert_msg(harness_pid_alive(shim), "SIGPIPE killed the shim");
        assert_state("piped", "running");
        harness_kill("piped", SIGKILL);
        ck_assert_int_eq(harness_wait("piped"), 137);
        harness_delete("piped", false);
}
END_TEST

static TCase *faults_tcase(const char *name, void (*setup)(void)) {
        TCase *tc = tcase_create(name);

        /* Checked fixtures run in the order they were added: ours first, then the harness's. */
        if (setup)
                tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
        tcase_add_checked_fixture(tc, wrapper_setup, wrapper_done);
        if (!getenv("CK_DEFAULT_TIMEOUT"))
                tcase_set_timeout(tc, 600);
        return tc;
}

static Suite *faults_suite(void) {
        Suite *s = suite_create("faults");
        TCase *tc;

        tc = faults_tcase("shim", NULL);
        tcase_add_test(tc, test_faults_shim_killed_berthd_running);
        tcase_add_test(tc, test_faults_shim_killed_berthd_down);
        tcase_add_test(tc, test_faults_shim_killed_after_exit);
        suite_add_tcase(s, tc);

        tc = faults_tcase("half-done", NULL);
        tcase_add_test(tc, test_faults_kill_during_create);
        tcase_add_test(tc, test_faults_kill_during_create_finished_first);
        tcase_add_test(tc, test_faults_kill_after_runtime_create);
        tcase_add_test(tc, test_faults_kill_during_start);
        tcase_add_test(tc, test_faults_kill_after_runtime_start);
        tcase_add_test(tc, test_faults_exit_before_berthd_connects);
        tcase_add_test(tc, test_faults_delete_then_reuse_id);
        tcase_add_test(tc, test_faults_start_fails_after_create);
        tcase_add_test(tc, test_faults_kill_during_delete);
        tcase_add_test(tc, test_faults_kill_during_delete_restart_first);
        tcase_add_test(tc, test_faults_kill_after_runtime_delete_restart_first);
        tcase_add_test(tc, test_faults_state_without_shim);
        suite_add_tcase(s, tc);

        tc = faults_tcase("pid-reuse", NULL);
        tcase_add_test(tc, test_faults_pid_reused_dead_shim);
        tcase_add_test(tc, test_faults_pid_file_lies);
        suite_add_tcase(s, tc);

        tc = faults_tcase("timeout", timeout_env);
        tcase_add_test(tc, test_faults_runtime_hangs);
        tcase_add_test(tc, test_faults_runtime_hangs_in_create);
        tcase_add_test(tc, test_faults_runtime_hangs_in_cleanup);
        tcase_add_test(tc, test_faults_cleanup_timeout_kills_group);
        suite_add_tcase(s, tc);

        tc = faults_tcase("pipes", NULL);
        tcase_add_test(tc, test_faults_sigpipe);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run_suite(faults_suite());
}
