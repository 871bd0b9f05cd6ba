/* Integration tests of berthd going away and coming back, on real containers (the issue "containers
 * outlive berthd"): SIGTERM and SIGKILL with 20 containers in every state, 100 running containers,
 * exits while berthd is down (reported once, with their output), the bus going away, and 500
 * lifecycles with restarts in between that must leak nothing.
 *
 * After every restart the tests compare everything a client sees (every property of every
 * container), count the signals berthd sent (none for a re-attached container, exactly one
 * ContainerExited per exit), and check the processes in /proc. Times are printed, not asserted. */

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "harness.h"

#define T HARNESS_SIGNAL_TIMEOUT_USEC

/* ---- helpers --------------------------------------------------------------------------------- */

static void create_labeled(const char *id, const char *bundle, bool start) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = harness_create_begin(id, bundle);
        int r;

        harness_create_option(m, "Labels", "a{ss}", 2, "suite", "restart", "name", id);
        if (start)
                harness_create_option(m, "Start", "b", 1);
        r = harness_create_end(m, &error, NULL);
        ck_assert_msg(r >= 0, "CreateContainer('%s') failed: %s: %s", id, error.name ?: "",
                      error.message ?: strerror(-r));
}

static void call_id(const char *member, const char *id) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = harness_call_manager(member, &error, NULL, "s", id);
        ck_assert_msg(r >= 0, "%s('%s') failed: %s: %s", member, id, error.name ?: "",
                      error.message ?: strerror(-r));
}

static void assert_state(const char *id, const char *state) {
        _cleanup_free_ char *s = harness_get_string(id, "State");

        ck_assert_msg(streq(s, state), "'%s' is %s, expected %s", id, s, state);
}

/* A round trip to berthd: every signal it sent before is then queued on our side. */
static void sync_berthd(void) {
        free(harness_list_text());
}

/* The signals a client watches; re-attaching must send none of them. */
typedef struct Watches {
        HarnessWatch *created, *started, *exited, *deleted;
} Watches;

static void watches_start(Watches *w) {
        w->created = harness_watch_manager("ContainerCreated");
        w->started = harness_watch_manager("ContainerStarted");
        w->exited = harness_watch_manager("ContainerExited");
        w->deleted = harness_watch_manager("ContainerDeleted");
}

static void watches_done(Watches *w) {
        w->created = harness_watch_free(w->created);
        w->started = harness_watch_free(w->started);
        w->exited = harness_watch_free(w->exited);
        w->deleted = harness_watch_free(w->deleted);
}

static void watches_assert_quiet(Watches *w, const char *when) {
        unsigned c, s, e, d;

        sync_berthd();
        c = harness_watch_drain(w->created, NULL);
        s = harness_watch_drain(w->started, NULL);
        e = harness_watch_drain(w->exited, NULL);
        d = harness_watch_drain(w->deleted, NULL);
        ck_assert_msg(c + s + e + d == 0,
                      "%s berthd sent %u ContainerCreated, %u ContainerStarted, %u ContainerExited and "
                      "%u ContainerDeleted signals; re-attaching must send none", when, c, s, e, d);
}

/* Restarts berthd with sig, timing the way back; returns the µs from spawning it to its name. */
static uint64_t restart_berthd(int sig) {
        uint64_t t0;
        int status;

        status = harness_kill_berthd(sig);
        if (sig == SIGKILL)
                ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "berthd wait status %d",
                              status);
        else
                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                              "berthd did not exit cleanly on %s (wait status %d)", strsignal(sig), status);
        t0 = harness_now_usec();
        harness_spawn_berthd();
        harness_wait_berthd_name(30 * USEC_PER_SEC);
        return harness_now_usec() - t0;
}

/* ---- 20 containers in every state ------------------------------------------------------------ */

#define N_RUNNING 12
#define N_CREATED 3
#define N_PAUSED 2

static const struct {
        const char *id;
        const char *argv[4];
        int status;
        const char *reason;
        bool kill;
} stopped_cases[] = {
        { "done-3", { "sh", "-c", "echo three; exit 3" }, 3, "exited", false },
        { "done-137", { "sleep", "1000" }, 137, "signaled", true },
        { "done-0", { "true" }, 0, "exited", false },
};

START_TEST(test_restart_20_containers) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_free_ char *late = harness_make_bundle("late", "sh", "-c", "echo late; exit 5", NULL);
        _cleanup_free_ char *before = NULL, *runc_before = NULL;
        pid_t pids[N_RUNNING + N_PAUSED], shims[20];
        const int sigs[] = { SIGTERM, SIGKILL, SIGINT };
        Watches w = {};
        HarnessEntry *e = NULL;
        size_t n, n_shims = 0;
        char id[32];

        for (unsigned i = 0; i < N_RUNNING; i++) {
                snprintf(id, sizeof(id), "run-%02u", i);
                create_labeled(id, sleeper, true);
                pids[i] = (pid_t) harness_get_u32(id, "Pid");
        }
        for (unsigned i = 0; i < N_CREATED; i++) {
                snprintf(id, sizeof(id), "new-%u", i);
                create_labeled(id, late, false);
        }
        for (unsigned i = 0; i < N_PAUSED; i++) {
                snprintf(id, sizeof(id), "pause-%u", i);
                create_labeled(id, sleeper, true);
                call_id("PauseContainer", id);
                assert_state(id, "paused");
                pids[N_RUNNING + i] = (pid_t) harness_get_u32(id, "Pid");
        }
        for (size_t i = 0; i < ELEMENTSOF(stopped_cases); i++) {
                _cleanup_free_ char *b = harness_make_bundlev(stopped_cases[i].id,
                                                              (char **) stopped_cases[i].argv);

                create_labeled(stopped_cases[i].id, b, true);
                if (stopped_cases[i].kill)
                        harness_kill(stopped_cases[i].id, SIGKILL);
                ck_assert_int_eq(harness_wait(stopped_cases[i].id), stopped_cases[i].status);
        }

        n = harness_list(&e);
        ck_assert_uint_eq(n, 20);
        for (size_t i = 0; i < n; i++) {
                uint32_t shim = harness_get_u32(e[i].id, "ShimPid");

                if (shim > 0)
                        shims[n_shims++] = (pid_t) shim;
        }
        harness_entries_free(e, n);
        ck_assert_uint_eq(n_shims, 20);

        before = harness_all_containers_text();
        runc_before = harness_runc_list();
        watches_start(&w);

        /* systemctl stop/restart (SIGTERM), a crash (SIGKILL), a ^C (SIGINT): the same every time. */
        for (size_t k = 0; k < ELEMENTSOF(sigs); k++) {
                _cleanup_free_ char *after = NULL, *runc_after = NULL;
                uint64_t usec;

                usec = restart_berthd(sigs[k]);
                printf("restart-20: back %" PRIu64 " ms after %s\n", usec / USEC_PER_MSEC,
                       strsignal(sigs[k]));

                for (size_t i = 0; i < ELEMENTSOF(pids); i++)
                        ck_assert_msg(harness_pid_alive(pids[i]), "container init %d died with berthd (%s)",
                                      (int) pids[i], strsignal(sigs[k]));
                for (size_t i = 0; i < n_shims; i++)
                        ck_assert_msg(harness_pid_alive(shims[i]), "shim %d died with berthd (%s)",
                                      (int) shims[i], strsignal(sigs[k]));

                after = harness_all_containers_text();
                harness_assert_same_text(strsignal(sigs[k]), before, after);
                runc_after = harness_runc_list();
                ck_assert_str_eq(runc_after, runc_before);
                watches_assert_quiet(&w, "after the restart");
        }

        /* They all still work: through the new berthd, each of them once. */
        for (unsigned i = 0; i < N_RUNNING; i++) {
                snprintf(id, sizeof(id), "run-%02u", i);
                harness_kill(id, SIGKILL);
                ck_assert_int_eq(harness_wait(id), 137);
        }
        for (unsigned i = 0; i < N_CREATED; i++) {
                _cleanup_free_ char *log_path = NULL;
                HarnessCriLog log = {};

                snprintf(id, sizeof(id), "new-%u", i);
                harness_start(id);
                ck_assert_int_eq(harness_wait(id), 5);
                log_path = harness_get_string(id, "LogPath");
                harness_cri_log_read(log_path, &log);
                ck_assert_str_eq(log.streams[0], "late\n");
                harness_cri_log_done(&log);
        }
        for (unsigned i = 0; i < N_PAUSED; i++) {
                snprintf(id, sizeof(id), "pause-%u", i);
                call_id("ResumeContainer", id);
                assert_state(id, "running");
                harness_kill(id, SIGKILL);
                ck_assert_int_eq(harness_wait(id), 137);
        }
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(w.exited, NULL), N_RUNNING + N_CREATED + N_PAUSED);
        ck_assert_uint_eq(harness_watch_drain(w.started, NULL), N_CREATED);

        n = harness_list(&e);
        for (size_t i = 0; i < n; i++)
                harness_delete(e[i].id, false);
        harness_entries_free(e, n);
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(w.deleted, NULL), 20);
        ck_assert_uint_eq(harness_watch_drain(w.exited, NULL), 0);
        for (size_t i = 0; i < n_shims; i++)
                ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &shims[i], T),
                              "shim %d still alive after delete",
                              (int) shims[i]);
        {
                _cleanup_free_ char *runc = harness_runc_list();
                _cleanup_free_ char *logs = harness_dir_listing(harness->log_dir);

                ck_assert_str_eq(runc, "");
                ck_assert_str_eq(logs, "");
        }
        watches_done(&w);
}
END_TEST

/* ---- 100 running containers ------------------------------------------------------------------ */

START_TEST(test_restart_100_running) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_free_ char *before = NULL, *after = NULL;
        Watches w = {};
        uint64_t usec;
        char id[32];

        for (unsigned i = 0; i < 100; i++) {
                snprintf(id, sizeof(id), "c%03u", i);
                create_labeled(id, sleeper, true);
        }
        before = harness_all_containers_text();
        watches_start(&w);

        usec = restart_berthd(SIGKILL);
        printf("restart-100: 100 running containers re-attached and the name taken %" PRIu64
               " ms after berthd was started (information only)\n", usec / USEC_PER_MSEC);
        after = harness_all_containers_text();
        harness_assert_same_text("what berthd shows after a restart", before, after);
        watches_assert_quiet(&w, "after the restart");
        for (unsigned i = 0; i < 100; i++) {
                pid_t pid;

                snprintf(id, sizeof(id), "c%03u", i);
                pid = (pid_t) harness_get_u32(id, "Pid");
                ck_assert_msg(harness_pid_alive(pid), "init of '%s' is gone", id);
        }
        /* Deleted by force, through the re-attached shims. */
        for (unsigned i = 0; i < 100; i++) {
                snprintf(id, sizeof(id), "c%03u", i);
                harness_delete(id, true);
        }
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(w.deleted, NULL), 100);
        {
                _cleanup_free_ char *runc = harness_runc_list();
                ck_assert_str_eq(runc, "");
        }
        watches_done(&w);
}
END_TEST

/* ---- exits while berthd is down -------------------------------------------------------------- */

/* The container waits for /tmp/go in its rootfs, then writes more than a pipe holds (the shim must
 * keep reading with nobody on the bus) and exits with 9. */
static char *make_waiting_bundle(const char *name) {
        return harness_make_bundle(name, "sh", "-c",
                                   "echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; "
                                   "seq 1 200000; echo after >&2; exit 9", NULL);
}

static void go(const char *bundle) {
        _cleanup_free_ char *p = harness_xasprintf("%s/rootfs/tmp/go", bundle);

        harness_write_file(p, "", 0);
}

static void assert_waiting_output(const char *log_path) {
        HarnessCriLog log = {};
        size_t expected_size = 0;
        char *p;

        harness_cri_log_read(log_path, &log);
        ck_assert_msg(strneq(log.streams[0], "before\n1\n2\n", 11), "stdout starts with '%.20s'",
                      log.streams[0]);
        /* "before\n" and the numbers 1..200000, each on its line. */
        for (unsigned i = 1; i <= 200000; i++) {
                char b[16];
                expected_size += snprintf(b, sizeof(b), "%u\n", i);
        }
        ck_assert_uint_eq(log.stream_sizes[0], expected_size + 7);
        p = log.streams[0] + log.stream_sizes[0] - 7;
        ck_assert_str_eq(p, "200000\n");
        ck_assert_str_eq(log.streams[1], "after\n");
        harness_cri_log_done(&log);
}

static void exit_while_down(int sig) {
        _cleanup_free_ char *bundle = make_waiting_bundle("down");
        _cleanup_free_ char *exit_file = harness_state_path("down", "exit"), *log_path = NULL;
        _cleanup_free_ char *reason = NULL, *text = NULL, *reported = harness_state_path("down", "reported");
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(harness_async_freep) HarnessAsync *waiting = NULL;
        const char *sid, *spath;
        int32_t status;
        int oom;
        pid_t pid;

        create_labeled("down", bundle, true);
        pid = (pid_t) harness_get_u32("down", "Pid");
        log_path = harness_get_string("down", "LogPath");
        /* A client waiting when berthd goes: it gets an error, never a made-up status. */
        waiting = harness_call_async("WaitContainer", "s", "down");
        sync_berthd();

        (void) harness_kill_berthd(sig);
        ck_assert(harness_async_wait(waiting, T));
        ck_assert_msg(harness_async_error(waiting), "WaitContainer returned although the container runs");

        go(bundle);
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &pid, T), "the container did not exit");
        ck_assert_msg(harness_wait_until(harness_cond_file_exists, exit_file, T),
                      "the shim wrote no exit record");
        ck_assert_msg(!harness_path_exists(reported), "'reported' exists before berthd saw the exit");

        harness_start_berthd();
        ck_assert_int_eq(harness_wait("down"), 9);
        m = harness_watch_next_id(exited, "down", T);
        ck_assert_msg(m, "no ContainerExited for an exit during berthd's downtime");
        ck_assert_int_ge(sd_bus_message_read(m, "soib", &sid, &spath, &status, &oom), 0);
        ck_assert_int_eq(status, 9);
        ck_assert(!oom);
        assert_state("down", "stopped");
        reason = harness_get_string("down", "ExitReason");
        ck_assert_str_eq(reason, "exited");
        ck_assert_int_eq(harness_get_i32("down", "ExitStatus"), 9);
        ck_assert_uint_gt(harness_get_u64("down", "FinishedAt"), harness_get_u64("down", "StartedAt"));
        ck_assert_msg(harness_path_exists(reported), "berthd announced the exit without writing 'reported'");
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(exited, "down"), 0);
        assert_waiting_output(log_path);

        /* Announced once: neither another restart nor a crash sends it again. */
        text = harness_container_text("down");
        (void) restart_berthd(SIGKILL);
        (void) restart_berthd(SIGTERM);
        {
                _cleanup_free_ char *after = harness_container_text("down");
                ck_assert_str_eq(after, text);
        }
        ck_assert_int_eq(harness_wait("down"), 9);
        sync_berthd();
        ck_assert_msg(harness_watch_drain(exited, "down") == 0, "ContainerExited was sent twice");

        harness_delete("down", false);
        ck_assert_msg(!harness_path_exists(log_path), "the log outlived the container");
}

START_TEST(test_restart_exit_while_killed) {
        exit_while_down(SIGKILL);
}
END_TEST

START_TEST(test_restart_exit_while_stopped) {
        exit_while_down(SIGTERM);
}
END_TEST

/* Several containers exit while berthd is down, others keep running and one exited before:
 * exactly the ones that exited meanwhile get one ContainerExited each. */
START_TEST(test_restart_exits_counted) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_free_ char *early = harness_make_bundle("early", "sh", "-c", "exit 2", NULL);
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        char *bundles[4] = {};
        pid_t pids[4];
        char id[16];

        create_labeled("early", early, true);
        ck_assert_int_eq(harness_wait("early"), 2);
        create_labeled("stays", sleeper, true);
        for (unsigned i = 0; i < 4; i++) {
                snprintf(id, sizeof(id), "w%u", i);
                bundles[i] = make_waiting_bundle(id);
                create_labeled(id, bundles[i], true);
                pids[i] = (pid_t) harness_get_u32(id, "Pid");
        }
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(exited, NULL), 1);

        (void) harness_kill_berthd(SIGKILL);
        for (unsigned i = 0; i < 4; i++)
                go(bundles[i]);
        for (unsigned i = 0; i < 4; i++) {
                _cleanup_free_ char *exit_file = NULL;

                snprintf(id, sizeof(id), "w%u", i);
                exit_file = harness_state_path(id, "exit");
                ck_assert(harness_wait_until(harness_cond_pid_gone, &pids[i], T));
                ck_assert(harness_wait_until(harness_cond_file_exists, exit_file, T));
        }
        harness_start_berthd();
        sync_berthd();
        for (unsigned i = 0; i < 4; i++) {
                snprintf(id, sizeof(id), "w%u", i);
                ck_assert_int_eq(harness_wait(id), 9);
        }
        sync_berthd();
        {
                _cleanup_free_ char *ids = harness_watch_drain_ids(exited);
                ck_assert_msg(streq(ids, "w0\nw1\nw2\nw3\n"), "ContainerExited came for:\n%s", ids);
        }
        (void) restart_berthd(SIGKILL);
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(exited, NULL), 0);
        assert_state("stays", "running");
        ck_assert_int_eq(harness_wait("early"), 2);
        for (unsigned i = 0; i < 4; i++)
                free(bundles[i]);
}
END_TEST

/* ---- the bus goes away ----------------------------------------------------------------------- */

START_TEST(test_restart_bus_goes_away) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_free_ char *waiter = make_waiting_bundle("waiter");
        _cleanup_free_ char *late = harness_make_bundle("late", "sh", "-c", "exit 6", NULL);
        _cleanup_free_ char *before_running = NULL, *before_created = NULL, *log_path = NULL;
        _cleanup_free_ char *after_running = NULL, *after_created = NULL;
        pid_t running, shim, waiting;
        Watches w = {};
        int status;

        create_labeled("running", sleeper, true);
        create_labeled("waiter", waiter, true);
        create_labeled("created", late, false);
        running = (pid_t) harness_get_u32("running", "Pid");
        waiting = (pid_t) harness_get_u32("waiter", "Pid");
        shim = (pid_t) harness_get_u32("running", "ShimPid");
        log_path = harness_get_string("waiter", "LogPath");
        before_running = harness_container_text("running");
        before_created = harness_container_text("created");

        harness_stop_bus();
        status = harness_wait_berthd_exit(T);
        ck_assert_msg(status != -ETIMEDOUT, "berthd still runs 30 s after its bus went away");
        ck_assert_msg(WIFEXITED(status),
                      "berthd did not exit by itself when the bus went away (wait status %d)", status);
        printf("bus-goes-away: berthd exited with status %d\n", WEXITSTATUS(status));
        /* berthd.service has Restart=on-failure: a zero status would leave berthd down for good. */
        ck_assert_msg(WEXITSTATUS(status) != 0,
                      "berthd exited with status 0 when its bus went away: Restart=on-failure won't restart it");
        ck_assert_msg(harness_pid_alive(running) && harness_pid_alive(shim),
                      "a container or shim died with the bus");

        /* One exits while there is neither bus nor berthd. */
        go(waiter);
        ck_assert(harness_wait_until(harness_cond_pid_gone, &waiting, T));

        harness_start_bus();
        watches_start(&w);
        harness_start_berthd();
        ck_assert_int_eq(harness_wait("waiter"), 9);
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(w.exited, "waiter"), 1);
        watches_assert_quiet(&w, "after re-attaching on the new bus");
        assert_waiting_output(log_path);

        after_running = harness_container_text("running");
        after_created = harness_container_text("created");
        ck_assert_str_eq(after_running, before_running);
        ck_assert_str_eq(after_created, before_created);
        ck_assert_uint_eq(harness_get_u32("running", "Pid"), (uint32_t) running);
        ck_assert_uint_eq(harness_get_u32("running", "ShimPid"), (uint32_t) shim);

        harness_start("created");
        ck_assert_int_eq(harness_wait("created"), 6);
        harness_kill("running", SIGKILL);
        ck_assert_int_eq(harness_wait("running"), 137);
        watches_done(&w);
}
END_TEST

/* ---- 500 cycles with restarts in between ----------------------------------------------------- */

#define CYCLES 500
#define RESTART_EVERY 25

typedef struct Picture {
        unsigned fds, children, zombies, shims;
        char *state, *logs, *runc, *list;
} Picture;

static void picture_done(Picture *p) {
        free(p->state);
        free(p->logs);
        free(p->runc);
        free(p->list);
        *p = (Picture) {};
}

static void picture_take(Picture *p) {
        harness_settle_berthd();
        p->fds = harness_count_fds(harness->berthd_pid);
        p->children = harness_count_children(harness->berthd_pid, &p->zombies);
        p->shims = harness_count_shims();
        p->state = harness_dir_listing(harness->state_dir);
        p->logs = harness_dir_listing(harness->log_dir);
        p->runc = harness_runc_list();
        p->list = harness_list_text();
}

static void picture_assert_clean(const Picture *p, const Picture *ref, unsigned cycle) {
        ck_assert_msg(p->children == 0 && p->zombies == 0, "cycle %u: berthd has %u children (%u zombies)",
                      cycle, p->children, p->zombies);
        ck_assert_msg(p->shims == 0, "cycle %u: %u shims alive", cycle, p->shims);
        ck_assert_msg(streq(p->runc, ""), "cycle %u: runc still lists:\n%s", cycle, p->runc);
        ck_assert_msg(streq(p->list, ""), "cycle %u: berthd still lists:\n%s", cycle, p->list);
        ck_assert_msg(streq(p->logs, ""), "cycle %u: log dir holds:\n%s", cycle, p->logs);
        if (ref)
                ck_assert_msg(streq(p->state, ref->state), "cycle %u: state dir holds:\n%s\nexpected:\n%s",
                              cycle, p->state, ref->state);
}

/* One lifecycle; at a restart cycle, berthd is restarted at a step chosen by the cycle number. */
static void restart_cycle(const char *bundle, unsigned i, bool restart) {
        static const int sigs[] = { SIGKILL, SIGTERM };
        int sig = sigs[(i / RESTART_EVERY) % 2];
        unsigned step = (i / RESTART_EVERY) % 4;
        char id[32];

        snprintf(id, sizeof(id), "cycle-%u", i);
        create_labeled(id, bundle, false);
        if (restart && step == 0)
                (void) restart_berthd(sig);             /* created */
        harness_start(id);
        if (restart && step == 1)
                (void) restart_berthd(sig);             /* running or exited, maybe while down */
        ck_assert_int_eq(harness_wait(id), 0);
        if (restart && step == 2)
                (void) restart_berthd(sig);             /* stopped and reported */
        harness_delete(id, false);
        if (restart && step == 3)
                (void) restart_berthd(sig);             /* gone */
}

START_TEST(test_restart_500_cycles) {
        _cleanup_free_ char *bundle = harness_make_bundle("cycle", "true", NULL);
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        _cleanup_(harness_watch_freep) HarnessWatch *created = harness_watch_manager("ContainerCreated");
        _cleanup_(harness_watch_freep) HarnessWatch *deleted = harness_watch_manager("ContainerDeleted");
        Picture first = {}, fresh = {};
        unsigned restarts = 0, exits = 0;
        uint64_t t0 = harness_now_usec();

        /* One cycle first, so what berthd sets up on first use is not counted as a leak. */
        restart_cycle(bundle, 0, false);
        picture_take(&first);
        picture_assert_clean(&first, NULL, 0);
        fresh = first;
        first = (Picture) { .state = strdup(fresh.state) };

        for (unsigned i = 1; i <= CYCLES; i++) {
                bool restart = i % RESTART_EVERY == 0;
                char id[32];

                restart_cycle(bundle, i, restart);
                snprintf(id, sizeof(id), "cycle-%u", i);
                sync_berthd();
                ck_assert_msg(harness_watch_drain(exited, id) == 1,
                              "cycle %u: not exactly one ContainerExited", i);
                exits++;

                if (restart) {
                        Picture p = {};

                        restarts++;
                        /* The berthd that ran since the last restart leaked nothing... */
                        picture_take(&p);
                        picture_assert_clean(&p, &first, i);
                        picture_done(&p);
                } else if (i % RESTART_EVERY == RESTART_EVERY - 1) {
                        Picture p = {};

                        /* ...and ends with the fds it had one cycle after it started. */
                        picture_take(&p);
                        picture_assert_clean(&p, &first, i);
                        ck_assert_msg(p.fds == fresh.fds,
                                      "cycle %u: berthd has %u fds, %u after its first cycle", i, p.fds,
                                      fresh.fds);
                        picture_done(&p);
                } else if (i % RESTART_EVERY == 1 && i > 1) {
                        picture_done(&fresh);
                        picture_take(&fresh);
                }
        }
        sync_berthd();
        ck_assert_uint_eq(harness_watch_drain(created, NULL), CYCLES + 1);
        ck_assert_uint_eq(harness_watch_drain(deleted, NULL), CYCLES + 1);
        ck_assert_uint_eq(harness_watch_drain(exited, NULL), 0);
        printf("500-cycles: %u cycles, %u restarts, %u exits each announced once, %" PRIu64 " s\n", CYCLES,
               restarts, exits, (harness_now_usec() - t0) / USEC_PER_SEC);
        picture_done(&first);
        picture_done(&fresh);
}
END_TEST

static Suite *restart_suite(void) {
        Suite *s = suite_create("restart");
        TCase *tc;

        tc = harness_tcase_new("restart");
        tcase_add_test(tc, test_restart_20_containers);
        tcase_add_test(tc, test_restart_100_running);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("downtime");
        tcase_add_test(tc, test_restart_exit_while_killed);
        tcase_add_test(tc, test_restart_exit_while_stopped);
        tcase_add_test(tc, test_restart_exits_counted);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("bus");
        tcase_add_test(tc, test_restart_bus_goes_away);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("cycles");
        tcase_add_test(tc, test_restart_500_cycles);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run_suite(restart_suite());
}
