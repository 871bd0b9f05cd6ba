/* Integration tests of the shim under attack and at its limits (issue 8): a runtime that hangs and
 * leaves children, exit records on a full state filesystem and at the fd limit, hostile clients on
 * the control socket, and a full log filesystem. The small filesystems are tmpfs mounts made with
 * harness_mount_tmpfs(), which teardown and the guardian take down again. */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cri-log.h"
#include "dbus-wire.h"
#include "harness.h"
#include "json-state.h"

#define T HARNESS_SIGNAL_TIMEOUT_USEC
#define RUNTIME_TIMEOUT_SEC "2"

/* ---- fixture --------------------------------------------------------------------------------- */

static void timeout_env(void) {
        /* berthd passes its environment on to the shims. */
        setenv("BERTH_RUNTIME_TIMEOUT_SEC", RUNTIME_TIMEOUT_SEC, 1);
}

static TCase *limits_tcase(const char *name, void (*setup)(void)) {
        TCase *tc = tcase_create(name);

        /* Checked fixtures run in the order they were added: ours first, then the harness's. */
        if (setup)
                tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
        if (!getenv("CK_DEFAULT_TIMEOUT"))
                tcase_set_timeout(tc, 600);
        return tc;
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* harness_create() with Start=true, without keeping the object path. */
static void create_started(const char *id, const char *bundle) {
        free(harness_create(id, bundle, true));
}

static void assert_state(const char *id, const char *state) {
        _cleanup_free_ char *s = harness_get_string(id, "State");

        ck_assert_msg(streq(s, state), "'%s' is %s, expected %s", id, s, state);
}

static pid_t read_pid_file(const char *path) {
        _cleanup_free_ char *text = harness_read_file(path, NULL);

        return (pid_t) atoi(text);
}

/* A container that runs until the test creates /tmp/go in its rootfs, then exits 7. */
static char *make_go_bundle(const char *name, char **ret_go) {
        char *bundle = harness_make_bundle(name, "sh", "-c",
                                           "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 7", NULL);

        *ret_go = harness_xasprintf("%s/rootfs/tmp/go", bundle);
        return bundle;
}

static void go(const char *go_path) {
        harness_write_file(go_path, "", 0);
}

/* The exit record of @id as the shim wrote it; asserts it is there. */
static void assert_exit_record(const char *id, int status, const char *reason) {
        _cleanup_free_ char *dir = harness_state_path(id, NULL);
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ExitRecord e;
        int r;

        ck_assert_msg(fd >= 0, "open %s: %m", dir);
        r = exit_record_load(fd, &e);
        ck_assert_msg(r >= 0, "the exit record of '%s' is not on disk: %s", id, strerror(-r));
        ck_assert_int_eq(e.status, status);
        ck_assert_str_eq(exit_reason_to_string(e.reason), reason);
}

static void kill_and_wait(pid_t pid) {
        ck_assert_msg(kill(pid, SIGKILL) >= 0, "kill %d: %m", (int) pid);
        ck_assert_msg(harness_wait_until(harness_cond_pid_gone, &pid, T), "pid %d did not die", (int) pid);
}

static void set_nofile(pid_t pid, rlim_t n, struct rlimit *ret_old) {
        struct rlimit rl = { .rlim_cur = n, .rlim_max = n };

        if (ret_old)
                ck_assert_msg(prlimit(pid, RLIMIT_NOFILE, NULL, ret_old) >= 0, "prlimit: %m");
        if (ret_old && ret_old->rlim_max > n)
                rl.rlim_max = ret_old->rlim_max;
        ck_assert_msg(prlimit(pid, RLIMIT_NOFILE, &rl, NULL) >= 0, "prlimit %d: %m", (int) pid);
}

static void restore_nofile(pid_t pid, const struct rlimit *old) {
        ck_assert_msg(prlimit(pid, RLIMIT_NOFILE, old, NULL) >= 0, "prlimit %d: %m", (int) pid);
}

/* Whether berthd's log (where the shims' stderr goes too) holds @text. */
static bool berthd_log_has(void *text) {
        _cleanup_free_ char *log = harness_read_file(harness->berthd_log, NULL);

        return log && strstr(log, text);
}

/* Whether the shim holds an accepted connection (state SS_CONNECTED in /proc/net/unix): berthd's,
 * which it makes on its own time after CreateContainer returned. */
static bool shim_has_client(void *userdata) {
        pid_t pid = *(pid_t *) userdata;
        _cleanup_free_ char *dir = harness_xasprintf("/proc/%d/fd", (int) pid);
        _cleanup_closedir_ DIR *d = opendir(dir);
        _cleanup_fclose_ FILE *f = fopen("/proc/net/unix", "re");
        unsigned long inodes[256];
        size_t n = 0;
        char line[512];
        struct dirent *de;

        if (!d || !f)
                return false;
        while ((de = readdir(d)) && n < ELEMENTSOF(inodes)) {
                _cleanup_free_ char *p = harness_xasprintf("%s/%s", dir, de->d_name);
                char link[64];
                ssize_t k = readlink(p, link, sizeof(link) - 1);

                if (k > 0) {
                        link[k] = 0;
                        if (sscanf(link, "socket:[%lu]", &inodes[n]) == 1)
                                n++;
                }
        }
        while (fgets(line, sizeof(line), f)) {
                unsigned st;
                unsigned long ino;

                if (sscanf(line, "%*s %*s %*s %*s %*s %x %lu", &st, &ino) != 2 || st != 3)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (inodes[i] == ino)
                                return true;
        }
        return false;
}

/* The ShimPid of @id, once berthd is connected to it (a test that takes the shim's fds or
 * connections away must not take berthd's). */
static pid_t shim_of(const char *id) {
        pid_t shim = (pid_t) harness_get_u32(id, "ShimPid");

        ck_assert_msg(harness_wait_until(shim_has_client, &shim, T), "berthd did not connect to the shim of '%s'",
                      id);
        return shim;
}

/* ---- the shim's own socket, with sd-bus as a peer-to-peer client ---------------------------- */

static sd_bus *shim_bus_open(const char *id) {
        _cleanup_free_ char *sock = harness_state_path(id, "shim.sock");
        _cleanup_free_ char *address = harness_xasprintf("unix:path=%s", sock);
        sd_bus *bus = NULL;

        ck_assert_int_ge(sd_bus_new(&bus), 0);
        ck_assert_int_ge(sd_bus_set_address(bus, address), 0);
        ck_assert_msg(sd_bus_start(bus) >= 0, "connecting to %s failed", sock);
        return bus;
}

typedef struct ShimState {
        char *state;
        int32_t exit_status;
        uint64_t log_bytes_dropped;
} ShimState;

static void shim_state_done(ShimState *st) {
        st->state = mfree(st->state);
}

/* Shim1.GetState() on the shim's socket (signature "suisbttt"). */
static void shim_get_state(sd_bus *bus, ShimState *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *state, *reason;
        uint64_t started_at, finished_at;
        uint32_t pid;
        int oom, r;

        r = sd_bus_call_method(bus, NULL, "/org/berth/Shim1", "org.berth.Shim1", "GetState", &error, &reply,
                               NULL);
        harness_assert_ok(r, &error);
        *ret = (ShimState) {};
        ck_assert_int_ge(sd_bus_message_read(reply, "suisbttt", &state, &pid, &ret->exit_status, &reason, &oom,
                                             &started_at, &finished_at, &ret->log_bytes_dropped), 0);
        ret->state = strdup(state);
        ck_assert_ptr_nonnull(ret->state);
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

/* ---- item 4: the exit record is on disk before anyone hears of the exit --------------------- */

/* The state directory on a tmpfs of its own, of @size_kib and at most @inodes inodes, with berthd
 * restarted on it. */
static void state_on_tmpfs(unsigned size_kib, unsigned inodes) {
        _cleanup_free_ char *runtime = harness_xasprintf("%s/.runtime", harness->state_dir);
        _cleanup_free_ char *options = harness_xasprintf("size=%uk,nr_inodes=%u", size_kib, inodes);

        (void) harness_stop_berthd();
        /* Nothing is left hidden below the mount. */
        (void) rmdir(runtime);
        harness_mount_tmpfs(harness->state_dir, size_kib);
        ck_assert_msg(mount(NULL, harness->state_dir, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, options) >= 0,
                      "remount %s with %s: %m", harness->state_dir, options);
        ck_assert_int_eq(chmod(harness->state_dir, 0700), 0);
        harness_start_berthd();
}

/* Fills @dir's filesystem: every block, then every inode. */
static void fill_fs(const char *dir) {
        static const char chunk[64 * 1024];
        _cleanup_free_ char *filler = harness_xasprintf("%s/.filler", dir);
        _cleanup_close_ int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        size_t sizes[] = { sizeof(chunk), 4096, 1 };

        ck_assert_msg(fd >= 0, "open %s: %m", filler);
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                while (write(fd, chunk, sizes[i]) > 0)
                        ;
        ck_assert_int_eq(errno, ENOSPC);
        for (unsigned i = 0;; i++) {
                _cleanup_free_ char *p = harness_xasprintf("%s/.fill-%u", dir, i);
                int k = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

                if (k < 0) {
                        ck_assert_msg(errno == ENOSPC, "creating %s: %m", p);
                        break;
                }
                close(k);
        }
}

static void unfill_fs(const char *dir) {
        _cleanup_free_ char *filler = harness_xasprintf("%s/.filler", dir);

        ck_assert_int_eq(unlink(filler), 0);
        for (unsigned i = 0;; i++) {
                _cleanup_free_ char *p = harness_xasprintf("%s/.fill-%u", dir, i);

                if (unlink(p) < 0)
                        break;
        }
}

/* The state filesystem is full (no block, no inode) when the container exits, and berthd is down:
 * the shim still writes the exact exit record, so after the shim dies the next berthd reports 7,
 * not 255 for a lost shim. */
START_TEST(test_limits_exit_record_state_full) {
        _cleanup_free_ char *go_path = NULL, *bundle = make_go_bundle("b", &go_path);
        _cleanup_free_ char *exit_path = NULL, *reason = NULL;
        pid_t shim;

        state_on_tmpfs(2048, 256);
        create_started("full", bundle);
        shim = (pid_t) harness_get_u32("full", "ShimPid");
        exit_path = harness_state_path("full", "exit");

        (void) harness_kill_berthd(SIGKILL);
        fill_fs(harness->state_dir);
        go(go_path);
        ck_assert_msg(harness_wait_until(harness_cond_file_exists, exit_path, T),
                      "no exit record was written on the full state filesystem");
        assert_exit_record("full", 7, "exited");
        ck_assert_msg(harness_pid_alive(shim), "the shim died");
        kill_and_wait(shim);

        unfill_fs(harness->state_dir);
        harness_start_berthd();
        ck_assert_int_eq(harness_wait("full"), 7);
        reason = harness_get_string("full", "ExitReason");
        ck_assert_str_eq(reason, "exited");
        harness_delete("full", false);
}
END_TEST

/* The shim can open no new fd when its container exits (RLIMIT_NOFILE 3: not even in the numbers
 * its pipes free at EOF): the exit record still gets written, and is on disk by the time berthd
 * reports the exit. */
START_TEST(test_limits_exit_record_fd_limit) {
        _cleanup_free_ char *go_path = NULL, *bundle = make_go_bundle("b", &go_path);
        struct rlimit old;
        pid_t shim;

        create_started("nofile", bundle);
        shim = shim_of("nofile");
        set_nofile(shim, 3, &old);
        go(go_path);
        ck_assert_int_eq(harness_wait("nofile"), 7);
        assert_exit_record("nofile", 7, "exited");
        restore_nofile(shim, &old);
        harness_delete("nofile", false);
}
END_TEST

/* The record cannot be written at all for a while (a directory is in the way): the shim keeps the
 * exit, tells nobody, and keeps trying; once it can, the exit is recorded and reported exactly. */
START_TEST(test_limits_exit_record_retried) {
        _cleanup_free_ char *go_path = NULL, *bundle = make_go_bundle("b", &go_path);
        _cleanup_free_ char *exit_path = NULL;
        _cleanup_(harness_async_freep) HarnessAsync *waiting = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *shim_bus = NULL;
        _cleanup_(shim_state_done) ShimState st = {};
        int32_t status;

        create_started("retry", bundle);
        exit_path = harness_state_path("retry", "exit");
        ck_assert_int_eq(mkdir(exit_path, 0700), 0);
        waiting = harness_call_async("WaitContainer", "s", "retry");
        shim_bus = shim_bus_open("retry");

        go(go_path);
        ck_assert_msg(harness_wait_until(berthd_log_has, (void *) "Failed to write the exit record of 'retry'", T),
                      "the shim never tried to write the exit record");
        harness_process_bus();
        ck_assert_msg(!harness_async_done(waiting), "the exit was reported without a record on disk");
        assert_state("retry", "running");
        shim_get_state(shim_bus, &st);
        ck_assert_str_eq(st.state, "running");
        ck_assert_int_eq(st.exit_status, -1);

        ck_assert_int_eq(rmdir(exit_path), 0);
        ck_assert_msg(harness_async_wait(waiting, T), "the exit was never reported");
        ck_assert_msg(!harness_async_error(waiting), "WaitContainer failed: %s",
                      harness_async_error(waiting)->message);
        ck_assert_int_ge(sd_bus_message_read(harness_async_reply(waiting), "i", &status), 0);
        ck_assert_int_eq(status, 7);
        assert_exit_record("retry", 7, "exited");
        harness_delete("retry", false);
}
END_TEST

/* ---- item 6: the control socket has limits ---------------------------------------------------- */

/* A raw connection to the shim's socket. */
static int shim_connect_raw(const char *id) {
        _cleanup_free_ char *sock = harness_state_path(id, "shim.sock");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        ck_assert_uint_lt(strlen(sock), sizeof(sa.sun_path));
        strcpy(sa.sun_path, sock);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_msg(connect(fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0, "connect %s: %m", sock);
        return fd;
}

/* Reads one line of the authentication; false at EOF or an error. */
static bool read_auth_line(int fd, char *buf, size_t size) {
        size_t n = 0;

        while (n + 1 < size) {
                ssize_t k;

                if (poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, (int) (T / USEC_PER_MSEC)) <= 0)
                        return false;
                k = recv(fd, buf + n, 1, 0);
                if (k <= 0)
                        return false;
                if (buf[n++] == '\n')
                        break;
        }
        buf[n] = 0;
        return true;
}

/* EXTERNAL authentication as root, as berthd does it; false if the shim closed the connection. */
static bool shim_authenticate(int fd, bool begin) {
        static const char auth[] = "\0AUTH EXTERNAL 30\r\n";
        char line[256];

        if (send(fd, auth, sizeof(auth) - 1, MSG_NOSIGNAL) < 0)
                return false;
        if (!read_auth_line(fd, line, sizeof(line)))
                return false;
        ck_assert_msg(strneq(line, "OK ", 3), "authentication answered '%s'", line);
        return !begin || send(fd, "BEGIN\r\n", 7, MSG_NOSIGNAL) == 7;
}

/* Whether the shim closes @fd within T (what it sent before is skipped). */
static bool closed_by_shim(int fd) {
        uint64_t deadline = harness_now_usec() + T;
        char buf[4096];

        while (harness_now_usec() < deadline) {
                ssize_t k;

                if (poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 100) <= 0)
                        continue;
                k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (k == 0 || (k < 0 && errno == ECONNRESET))
                        return true;
        }
        return false;
}

/* A field of /proc/PID/status, in kB. */
static unsigned long proc_status_kb(pid_t pid, const char *field) {
        _cleanup_free_ char *path = harness_xasprintf("/proc/%d/status", (int) pid);
        _cleanup_free_ char *text = harness_read_file(path, NULL);
        const char *p = strstr(text, field);

        ck_assert_msg(p, "no %s in %s", field, path);
        return strtoul(p + strlen(field) + 1, NULL, 10);
}

/* utime + stime of @pid, in clock ticks. */
static unsigned long long proc_cpu_ticks(pid_t pid) {
        _cleanup_free_ char *path = harness_xasprintf("/proc/%d/stat", (int) pid);
        _cleanup_free_ char *text = harness_read_file(path, NULL);
        unsigned long long utime, stime;
        const char *p = strrchr(text, ')');

        ck_assert_ptr_nonnull(p);
        /* After "pid (comm)": state is field 3; utime and stime are fields 14 and 15. */
        ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime),
                         2);
        return utime + stime;
}

/* A client that pipelines calls and never reads the replies is dropped once too much is queued for
 * it: the shim's memory stays bounded, and the container is served as before. */
START_TEST(test_limits_control_pipelining_client_dropped) {
        _cleanup_free_ char *bundle = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_close_ int fd = -EBADF;
        DbusBuffer calls = {};
        DbusHeader h = {
                .type = DBUS_MESSAGE_METHOD_CALL,
                .path = "/org/berth/Shim1",
                .interface = "org.freedesktop.DBus.Introspectable",
                .member = "Introspect",
        };
        size_t sent = 0, limit = 16u * 1024u * 1024u;
        unsigned long hwm;
        bool dropped = false;
        pid_t shim;

        create_started("pipe", bundle);
        shim = shim_of("pipe");
        fd = shim_connect_raw("pipe");
        ck_assert(shim_authenticate(fd, true));
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO,
                                    &(struct timeval) { .tv_sec = 30 }, sizeof(struct timeval)), 0);
        for (uint32_t i = 1; i <= 256; i++) {
                h.serial = i;
                ck_assert_int_ge(dbus_message_append(&calls, &h, NULL), 0);
        }

        while (sent < limit) {
                ssize_t k = send(fd, calls.data, calls.size, MSG_NOSIGNAL);

                if (k < 0) {
                        ck_assert_msg(IN_SET(errno, EPIPE, ECONNRESET), "send: %m");
                        dropped = true;
                        break;
                }
                sent += (size_t) k;
        }
        dbus_buffer_done(&calls);
        hwm = proc_status_kb(shim, "VmHWM:");
        printf("pipelining: dropped after %zu bytes of calls; shim peak RSS %lu kB\n", sent, hwm);
        ck_assert_msg(dropped, "the shim kept serving a client that sent %zu bytes of calls and read nothing",
                      sent);
        ck_assert_msg(!HARNESS_MEMORY_MEASURABLE || hwm < 16 * 1024, "the shim's peak RSS is %lu kB", hwm);

        ck_assert(harness_pid_alive(shim));
        harness_kill("pipe", SIGKILL);
        ck_assert_int_eq(harness_wait("pipe"), 137);
        harness_delete("pipe", false);
}
END_TEST

#define CONNECTIONS_TRIED 200

typedef struct FdCount {
        pid_t pid;
        unsigned n;
} FdCount;

static bool fd_count_at_most(void *userdata) {
        const FdCount *f = userdata;

        return harness_count_fds(f->pid) <= f->n;
}

/* Beyond the connection limit the shim refuses connections; berthd's keeps working, and a place
 * that frees up can be taken again. */
START_TEST(test_limits_control_connection_limit) {
        _cleanup_free_ char *bundle = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        int fds[CONNECTIONS_TRIED];
        unsigned accepted = 0, refused = 0;
        FdCount fds_open;
        pid_t shim;

        create_started("many", bundle);
        shim = shim_of("many");
        for (size_t i = 0; i < CONNECTIONS_TRIED; i++) {
                fds[i] = shim_connect_raw("many");
                if (shim_authenticate(fds[i], true))
                        accepted++;
                else {
                        refused++;
                        fds[i] = safe_close(fds[i]);
                }
        }
        printf("connection limit: %u accepted, %u refused\n", accepted, refused);
        ck_assert_msg(refused > 0, "all %u connections were accepted", accepted);
        ck_assert_uint_le(accepted, 64);

        /* berthd's connection is one of those in: calls and signals still go through. */
        harness_kill("many", SIGKILL);
        ck_assert_int_eq(harness_wait("many"), 137);

        fds_open = (FdCount) { .pid = shim, .n = harness_count_fds(shim) - accepted };
        for (size_t i = 0; i < CONNECTIONS_TRIED; i++)
                safe_close(fds[i]);
        ck_assert_msg(harness_wait_until(fd_count_at_most, &fds_open, T), "the shim kept the closed connections");
        {
                _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
                _cleanup_(shim_state_done) ShimState st = {};

                bus = shim_bus_open("many");
                shim_get_state(bus, &st);
                ck_assert_str_eq(st.state, "stopped");
                ck_assert_int_eq(st.exit_status, 137);
        }
        harness_delete("many", false);
}
END_TEST

/* A connection that does not finish its authentication is closed after a few seconds. */
START_TEST(test_limits_control_auth_timeout) {
        _cleanup_free_ char *bundle = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_close_ int silent = -EBADF, no_begin = -EBADF, done = -EBADF;

        create_started("slow", bundle);
        silent = shim_connect_raw("slow");
        no_begin = shim_connect_raw("slow");
        ck_assert(shim_authenticate(no_begin, false));
        done = shim_connect_raw("slow");
        ck_assert(shim_authenticate(done, true));

        ck_assert_msg(closed_by_shim(silent), "a connection that sent nothing was not closed");
        ck_assert_msg(closed_by_shim(no_begin), "a connection that never sent BEGIN was not closed");
        /* An authenticated connection stays, however quiet. */
        ck_assert_int_eq(poll(&(struct pollfd) { .fd = done, .events = POLLIN }, 1, 0), 0);
        harness_delete("slow", true);
}
END_TEST

/* At its fd limit the shim refuses a storm of connections instead of spinning on them, logs little,
 * and still reports its container's exit. */
START_TEST(test_limits_control_fd_limit_storm) {
        _cleanup_free_ char *go_path = NULL, *bundle = make_go_bundle("b", &go_path);
        int fds[64];
        unsigned long long ticks_before, ticks;
        struct rlimit old;
        struct stat log_before, log_after;
        pid_t shim;

        create_started("storm", bundle);
        shim = shim_of("storm");
        set_nofile(shim, harness_count_fds(shim), &old);
        ck_assert_int_eq(stat(harness->berthd_log, &log_before), 0);

        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                _cleanup_free_ char *sock = harness_state_path("storm", "shim.sock");
                struct sockaddr_un sa = { .sun_family = AF_UNIX };

                strcpy(sa.sun_path, sock);
                fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                ck_assert_int_ge(fds[i], 0);
                if (connect(fds[i], (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        ck_assert_msg(errno == EAGAIN, "connect: %m");
        }
        ticks_before = proc_cpu_ticks(shim);
        sleep(3);
        ticks = proc_cpu_ticks(shim) - ticks_before;
        ck_assert_int_eq(stat(harness->berthd_log, &log_after), 0);
        printf("fd-limit storm: the shim used %llu ticks of CPU in 3 s and logged %lld bytes\n", ticks,
               (long long) (log_after.st_size - log_before.st_size));
        ck_assert_msg(ticks < (unsigned long long) sysconf(_SC_CLK_TCK),
                      "the shim at its fd limit used %llu ticks of CPU in 3 s", ticks);
        ck_assert_int_lt(log_after.st_size - log_before.st_size, 64 * 1024);

        go(go_path);
        ck_assert_int_eq(harness_wait("storm"), 7);
        assert_exit_record("storm", 7, "exited");
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                safe_close(fds[i]);
        restore_nofile(shim, &old);
        harness_delete("storm", false);
}
END_TEST

/* ---- item 10: a full log filesystem ---------------------------------------------------------- */

#define LOG_OUT_SIZE (3u * 1024u * 1024u)
#define LOG_FS_KIB 1024
#define LOG_FILLER_SIZE (256u * 1024u)

/* Lines of random length with unique beginnings, LOG_OUT_SIZE bytes, ending with a newline. */
static char *make_lines(void) {
        char *out = malloc(LOG_OUT_SIZE);
        size_t n = 0;
        unsigned seed = 42;

        ck_assert_ptr_nonnull(out);
        for (unsigned line = 0; n < LOG_OUT_SIZE; line++) {
                size_t len = 16 + (size_t) rand_r(&seed) % 300;
                int k = snprintf(out + n, LOG_OUT_SIZE - n, "line %08u ", line);

                ck_assert_int_gt(k, 0);
                n += MIN((size_t) k, LOG_OUT_SIZE - n);
                for (size_t i = 0; i < len && n < LOG_OUT_SIZE; i++)
                        out[n++] = (char) ('a' + rand_r(&seed) % 26);
                if (n < LOG_OUT_SIZE)
                        out[n++] = '\n';
        }
        out[LOG_OUT_SIZE - 1] = '\n';
        return out;
}

typedef struct DroppedSignals {
        unsigned count;
        uint64_t last;
} DroppedSignals;

static int on_log_dropped(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        DroppedSignals *d = userdata;
        uint64_t v;

        ck_assert_int_ge(sd_bus_message_read(m, "t", &v), 0);
        ck_assert_msg(v > d->last, "LogDropped went from %" PRIu64 " to %" PRIu64, d->last, v);
        d->count++;
        d->last = v;
        return 0;
}

static void shim_bus_process(sd_bus *bus) {
        while (sd_bus_process(bus, NULL) > 0)
                ;
}

typedef struct Consumed {
        const char *log_path;
        sd_bus *bus;
        size_t want;
        uint64_t got;
} Consumed;

/* Whether the whole records in the log and the dropped count together make up @want bytes: the
 * shim has read all of it. (The log is read while the shim writes: only whole lines count.) */
static bool output_consumed(void *userdata) {
        Consumed *c = userdata;
        _cleanup_(shim_state_done) ShimState st = {};
        _cleanup_free_ char *log = NULL;
        size_t size;

        log = harness_read_file(c->log_path, &size);
        shim_bus_process(c->bus);
        shim_get_state(c->bus, &st);
        c->got = cri_log_stream_bytes(log, size) + st.log_bytes_dropped;
        return c->got == c->want;
}

/* Every record's payload is a piece of @out, in order, and an F record's piece ends a line there. */
static void assert_records_from(const HarnessCriLog *log, const char *out, size_t out_size) {
        size_t pos = 0;

        for (size_t i = 0; i < log->n_records; i++) {
                const HarnessCriRecord *r = &log->records[i];
                const char *p;

                ck_assert_int_eq(r->stream, 0);
                p = memmem(out + pos, out_size - pos, r->payload, r->payload_size);
                ck_assert_msg(p, "record %zu is not from the output", i);
                pos = (size_t) (p - out) + r->payload_size;
                if (!r->partial) {
                        ck_assert_msg(pos < out_size && out[pos] == '\n', "F record %zu does not end a line", i);
                        pos++;
                }
        }
}

/* The log's filesystem fills up: the log holds only whole records, the output that did not fit is
 * counted exactly (GetState, LogDropped), writing goes on once there is room, the shim survives and
 * the exit is exact. */
START_TEST(test_limits_log_disk_full) {
        _cleanup_free_ char *bundle = harness_make_bundle(
                "b", "sh", "-c", "cat /out; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after; exit 7", NULL);
        _cleanup_free_ char *out = make_lines(), *out_path = harness_xasprintf("%s/rootfs/out", bundle);
        _cleanup_free_ char *go_path = harness_xasprintf("%s/rootfs/tmp/go", bundle);
        _cleanup_free_ char *logfs = harness_xasprintf("%s/logfs", harness->tmpdir);
        _cleanup_free_ char *log_path = harness_xasprintf("%s/c.log", logfs);
        _cleanup_free_ char *filler = harness_xasprintf("%s/filler", logfs), *filling = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(shim_state_done) ShimState st = {};
        HarnessCriLog log = {};
        DroppedSignals signals = {};
        Consumed consumed;
        sd_bus_message *m;
        pid_t shim;
        int r;

        harness_write_file(out_path, out, LOG_OUT_SIZE);
        harness_mount_tmpfs(logfs, LOG_FS_KIB);
        filling = calloc(1, LOG_FILLER_SIZE);
        ck_assert_ptr_nonnull(filling);
        harness_write_file(filler, filling, LOG_FILLER_SIZE);

        m = harness_create_begin("full-log", bundle);
        harness_create_option(m, "LogPath", "s", log_path);
        r = harness_create_end(m, &error, NULL);
        harness_assert_ok(r, &error);
        shim = shim_of("full-log");
        bus = shim_bus_open("full-log");
        ck_assert_int_ge(sd_bus_match_signal(bus, NULL, NULL, "/org/berth/Shim1", "org.berth.Shim1", "LogDropped",
                                             on_log_dropped, &signals), 0);
        harness_start("full-log");

        consumed = (Consumed) { .log_path = log_path, .bus = bus, .want = LOG_OUT_SIZE };
        ck_assert_msg(harness_wait_until(output_consumed, &consumed, T),
                      "the log and the dropped count make up %" PRIu64 " of %u bytes", consumed.got, LOG_OUT_SIZE);
        ck_assert_msg(signals.count > 0 && signals.last > 0, "no LogDropped signal came");

        /* Room again: the rest is written. */
        ck_assert_int_eq(unlink(filler), 0);
        harness_write_file(go_path, "", 0);
        ck_assert_int_eq(harness_wait("full-log"), 7);
        assert_exit_record("full-log", 7, "exited");
        ck_assert(harness_pid_alive(shim));

        harness_cri_log_read(log_path, &log);
        shim_get_state(bus, &st);
        ck_assert_str_eq(st.state, "stopped");
        printf("full log: %zu records, %zu of %u bytes written, %" PRIu64 " dropped, %u LogDropped signals\n",
               log.n_records, log.stream_sizes[0], LOG_OUT_SIZE + 6, st.log_bytes_dropped, signals.count);
        ck_assert_uint_gt(st.log_bytes_dropped, 0);
        ck_assert_uint_eq(log.stream_sizes[0] + st.log_bytes_dropped, LOG_OUT_SIZE + 6);
        ck_assert_uint_ge(log.stream_sizes[0], 6);
        ck_assert_msg(memcmp(log.streams[0] + log.stream_sizes[0] - 6, "after\n", 6) == 0,
                      "the output after the disk had room again is not at the log's end");
        log.n_records--;
        assert_records_from(&log, out, LOG_OUT_SIZE);
        log.n_records++;
        harness_cri_log_done(&log);

        /* The last count was sent (before Exited), and berthd shows it. */
        shim_bus_process(bus);
        ck_assert_uint_eq(signals.last, st.log_bytes_dropped);
        ck_assert_uint_eq(harness_get_u64("full-log", "LogBytesDropped"), st.log_bytes_dropped);
        harness_delete("full-log", false);
}
END_TEST

static Suite *limits_suite(void) {
        Suite *s = suite_create("shim-limits");
        TCase *tc;

        tc = limits_tcase("runtime", timeout_env);
        tcase_add_test(tc, test_limits_runtime_timeout_kills_group);
        tcase_add_test(tc, test_limits_runtime_failure_kills_group);
        suite_add_tcase(s, tc);

        tc = limits_tcase("exit-record", NULL);
        tcase_add_test(tc, test_limits_exit_record_state_full);
        tcase_add_test(tc, test_limits_exit_record_fd_limit);
        tcase_add_test(tc, test_limits_exit_record_retried);
        suite_add_tcase(s, tc);

        tc = limits_tcase("control", NULL);
        tcase_add_test(tc, test_limits_control_pipelining_client_dropped);
        tcase_add_test(tc, test_limits_control_connection_limit);
        tcase_add_test(tc, test_limits_control_auth_timeout);
        tcase_add_test(tc, test_limits_control_fd_limit_storm);
        suite_add_tcase(s, tc);

        tc = limits_tcase("log", NULL);
        tcase_add_test(tc, test_limits_log_disk_full);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run_suite(limits_suite());
}
