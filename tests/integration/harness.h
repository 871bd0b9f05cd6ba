/* The integration test fixture: a private dbus-daemon, a real berthd on it, runc on busybox bundles,
 * and helpers to drive berthd over sd-bus and look at what it left on disk and in /proc.
 *
 * Every test gets a fresh fixture (a Check checked fixture, so it runs in the forked test process):
 * harness_setup() makes a temp dir, starts dbus-daemon and berthd, and connects a client;
 * harness_teardown() deletes every container still there and stops everything by pid. A guardian
 * process cleans up too when the test process dies without tearing down (a failed assertion, a
 * timeout), and prints the logs of berthd and dbus-daemon then.
 *
 * harness.c holds the fixture, processes and files; harness-bus.c the D-Bus helpers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <check.h>
#include <systemd/sd-bus.h>

#include "bus-error.h"
#include "macro.h"

#define BERTH_BUS_NAME          "org.berth.Monitor1"
#define BERTH_MANAGER_PATH      "/org/berth/Monitor1"
#define BERTH_MANAGER_INTERFACE "org.berth.Monitor1"
#define BERTH_CONTAINER_PREFIX  "/org/berth/Monitor1/container"
#define BERTH_CONTAINER_INTERFACE "org.berth.Container1"

/* Whether a process's memory (RSS, Private_Dirty) measures what it allocated: not with ASan
 * (BERTH_ASAN in config.h), whose shadow memory and quarantine of freed blocks grow by themselves.
 * Tests skip their memory bounds when it is false. */
#ifdef BERTH_ASAN
#  define HARNESS_MEMORY_MEASURABLE false
#else
#  define HARNESS_MEMORY_MEASURABLE true
#endif

/* Method calls wait this long by default: generous, a loaded CI machine must not fail a test. */
#define HARNESS_CALL_TIMEOUT_USEC (120 * USEC_PER_SEC)
/* How long a test waits for a signal that must come. */
#define HARNESS_SIGNAL_TIMEOUT_USEC (30 * USEC_PER_SEC)

/* How many tmpfs a test may mount with harness_mount_tmpfs(). */
#define HARNESS_MOUNTS_MAX 4

typedef struct Harness {
        char *tmpdir;           /* everything below lives here */
        char *state_dir;        /* berthd --state-dir */
        char *runtime_root;     /* state_dir/.runtime */
        char *log_dir;          /* berthd --log-dir */
        char *bundle_dir;       /* bundles made by harness_make_bundle() */
        char *berthd_log;       /* berthd's stdout and stderr */
        char *dbus_log;
        char *bus_address;
        unsigned n_buses;       /* dbus-daemons started so far (harness_start_bus() adds one) */
        pid_t dbus_pid;
        pid_t berthd_pid;
        pid_t guardian_pid;
        int guardian_fd;        /* write end of the guardian's pipe */
        int notify_fd;          /* berthd's NOTIFY_SOCKET, bound by us */
        char *notify_socket;
        char *mounts[HARNESS_MOUNTS_MAX];   /* tmpfs mounted by harness_mount_tmpfs() */
        unsigned n_mounts;
        sd_bus *bus;
} Harness;

/* The fixture of the running test (NULL outside a test). */
extern Harness *harness;

const char *harness_builddir(void);
const char *harness_srcdir(void);

/* Checks root, runc, dbus-daemon, busybox, python3 and the built binaries; returns when all is
 * there, else exits 77 (skip) or, with CI=true in the environment, 99 (hard failure). */
void harness_require_environment(bool need_berthctl);

/* Runs the suite (with the environment checked first) and returns the exit status for main(). */
int harness_run_suite(Suite *s);

/* The checked fixture. */
void harness_setup(void);
void harness_teardown(void);

/* A TCase with the fixture and a timeout suitable for real containers. */
TCase *harness_tcase_new(const char *name);

/* Starts berthd (again) on the fixture's bus, and waits until it owns its name. */
void harness_start_berthd(void);
/* The two halves of harness_start_berthd(): start it, and wait for its name (failing the test on
 * timeout). In between a test can act while berthd re-attaches. */
void harness_spawn_berthd(void);
void harness_wait_berthd_name(uint64_t timeout_usec);
/* Stops berthd: SIGTERM, SIGKILL after 5 s; returns its wait status. */
int harness_stop_berthd(void);
/* Sends sig to berthd and reaps it (SIGKILL if it still runs after 10 s); returns its wait status. */
int harness_kill_berthd(int sig);
/* Waits until berthd exits by itself; its wait status, or -ETIMEDOUT. */
int harness_wait_berthd_exit(uint64_t timeout_usec);
/* Stops the dbus-daemon (the bus goes away) and drops the client's connection; then starts a new
 * dbus-daemon on a new socket and connects the client to it. berthd is not restarted. */
void harness_stop_bus(void);
void harness_start_bus(void);

/* Mounts a tmpfs of size_kib KiB on path (made if missing), for tests of full disks; teardown and
 * the guardian detach it again. */
void harness_mount_tmpfs(const char *path, unsigned size_kib);
/* Fills the file system holding dir until writes fail with ENOSPC (a file "filler" in dir). */
void harness_fill_fs(const char *dir);

/* CLOCK_MONOTONIC in µs. */
uint64_t harness_now_usec(void);
/* Polls cond every 5 ms until it holds; false on timeout. */
bool harness_wait_until(bool (*cond)(void *userdata), void *userdata, uint64_t timeout_usec);
/* Conditions for harness_wait_until(): the pid_t at @pid is gone; the path @path exists. */
bool harness_cond_pid_gone(void *pid);
bool harness_cond_file_exists(void *path);
/* Waits (10 s at most) until berthd has no children, no shim of this fixture runs and berthd's
 * fd count has been steady for 300 ms: what the last operation left in flight has settled. */
void harness_settle_berthd(void);
/* Waits until berthd sent READY=1 to its NOTIFY_SOCKET; false on timeout. */
bool harness_wait_ready(uint64_t timeout_usec);
/* Whether /proc/PID/environ has a variable called name. */
bool harness_pid_has_env(pid_t pid, const char *name);

/* Makes a busybox bundle named name under bundle_dir running argv (NULL terminated); returns its
 * absolute path (free it). */
char *harness_make_bundle(const char *name, ...) __attribute__((sentinel));
char *harness_make_bundlev(const char *name, char **argv);

/* Path of a container object. */
char *harness_container_path(const char *id);

/* Method calls. Each returns 0 or a negative errno; a D-Bus error lands in *ret_error (may be NULL).
 * types and the arguments follow sd_bus_message_append(). */
int harness_call(const char *path, const char *interface, const char *member, uint64_t timeout_usec,
                 sd_bus_error *ret_error, sd_bus_message **ret_reply, const char *types, ...);
int harness_call_manager(const char *member, sd_bus_error *ret_error, sd_bus_message **ret_reply,
                         const char *types, ...);

/* CreateContainer with options: begin, add options, end. */
sd_bus_message *harness_create_begin(const char *id, const char *bundle);
/* Appends one option: name, the variant's signature, then the value as for sd_bus_message_append(). */
void harness_create_option(sd_bus_message *m, const char *name, const char *signature, ...);
/* Sends it; returns 0 and the object path, or a negative errno with the error in *ret_error. */
int harness_create_end(sd_bus_message *m, sd_bus_error *ret_error, char **ret_path);

/* Calls that do not wait for their reply: it is collected whenever the client bus is processed.
 * A call whose berthd dies gets org.freedesktop.DBus.Error.NoReply from the bus. */
typedef struct HarnessAsync HarnessAsync;
HarnessAsync *harness_call_async(const char *member, const char *types, ...);
HarnessAsync *harness_create_end_async(sd_bus_message *m);
bool harness_async_wait(HarnessAsync *a, uint64_t timeout_usec);
bool harness_async_done(const HarnessAsync *a);
const sd_bus_error *harness_async_error(const HarnessAsync *a);
sd_bus_message *harness_async_reply(const HarnessAsync *a);
HarnessAsync *harness_async_free(HarnessAsync *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(HarnessAsync *, harness_async_free);

/* Sends a CreateContainer built with harness_create_begin()/harness_create_option() and asserts it
 * fails with the error @expected, whose message mentions @must_contain (case-insensitive; NULL: any),
 * and that it changed nothing (harness_snapshot_take()). */
void harness_assert_create_fails(sd_bus_message *m, const char *expected, const char *must_contain);

/* Helpers that assert success. */
char *harness_create(const char *id, const char *bundle, bool start);
void harness_start(const char *id);
void harness_kill(const char *id, int sig);
int harness_wait(const char *id);
void harness_delete(const char *id, bool force);

/* Properties of a container (by id), asserting success. */
char *harness_get_string(const char *id, const char *property);
uint32_t harness_get_u32(const char *id, const char *property);
int32_t harness_get_i32(const char *id, const char *property);
uint64_t harness_get_u64(const char *id, const char *property);
bool harness_get_bool(const char *id, const char *property);

/* One row of ListContainers. */
typedef struct HarnessEntry {
        char *id;
        char *state;
        char *bundle;
        uint32_t pid;
        int32_t exit_status;
        char *path;
} HarnessEntry;

/* ListContainers, asserting success; returns the number of rows and sets *ret (free with
 * harness_entries_free()). */
size_t harness_list(HarnessEntry **ret);
void harness_entries_free(HarnessEntry *e, size_t n);
/* The row of id, or NULL. */
const HarnessEntry *harness_entries_find(const HarnessEntry *e, size_t n, const char *id);
/* ListContainers as one sorted text, for comparing before and after. */
char *harness_list_text(void);

/* Every property of a container, one "id Name=value" a line, sorted; and that of every listed
 * container. Compare them before and after a restart. */
char *harness_container_text(const char *id);
char *harness_all_containers_text(void);

/* Signal watches: every matching signal is queued from the moment the watch exists. */
typedef struct HarnessWatch HarnessWatch;
HarnessWatch *harness_watch(const char *path, const char *interface, const char *member);
HarnessWatch *harness_watch_manager(const char *member);
HarnessWatch *harness_watch_free(HarnessWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(HarnessWatch *, harness_watch_free);
/* The next queued signal (processing the bus up to timeout); NULL on timeout. Unref it. */
sd_bus_message *harness_watch_next(HarnessWatch *w, uint64_t timeout_usec);
/* The next queued signal whose first argument (a string) is id, skipping others; NULL on timeout. */
sd_bus_message *harness_watch_next_id(HarnessWatch *w, const char *id, uint64_t timeout_usec);
/* Waits for a PropertiesChanged (a watch on a container path) that sets State to state, either by
 * value or by invalidating it while the property reads state; returns true if it came. */
bool harness_watch_state(HarnessWatch *w, const char *id, const char *state, uint64_t timeout_usec);
/* Drops what the watch queued and returns how many of those signals were about id (NULL: all). */
unsigned harness_watch_drain(HarnessWatch *w, const char *id);
/* The same, returning the first argument of each, one a line, sorted (free it). */
char *harness_watch_drain_ids(HarnessWatch *w);
/* Processes whatever is pending on the client bus without blocking. */
void harness_process_bus(void);

/* A CRI log, parsed by the test's own parser (strict: every line must be well formed). */
typedef struct HarnessCriRecord {
        int stream;             /* 0 stdout, 1 stderr */
        bool partial;
        char *payload;
        size_t payload_size;
} HarnessCriRecord;

typedef struct HarnessCriLog {
        HarnessCriRecord *records;
        size_t n_records;
        char *streams[2];       /* the reconstructed stdout and stderr */
        size_t stream_sizes[2];
} HarnessCriLog;

/* Parses path; asserts every line is well formed. */
void harness_cri_log_read(const char *path, HarnessCriLog *ret);
void harness_cri_log_done(HarnessCriLog *l);

/* asprintf() that asserts success. */
char *harness_xasprintf(const char *fmt, ...) _printf_(1, 2);

/* /proc helpers. */
unsigned harness_count_fds(pid_t pid);
pid_t harness_get_ppid(pid_t pid);
pid_t harness_berthd_pid(void);
/* Children of pid: returns how many, and in *ret_zombies how many of them are zombies. */
unsigned harness_count_children(pid_t pid, unsigned *ret_zombies);
bool harness_pid_alive(pid_t pid);
/* Live berth-shim processes whose command line names this fixture's state dir. */
unsigned harness_count_shims(void);

/* DIR/id, or DIR/id/name (free it). */
char *harness_state_path(const char *id, const char *name);
/* Copies tests/data/name into a directory of its own below the temp dir, mode 0755; returns the
 * copy's path (free it). */
char *harness_install_data(const char *name);
/* Connections that wait to be accepted on the listening unix sockets pid holds. */
unsigned harness_pending_connections(pid_t pid);

/* Sorted listing of every path below dir (relative, recursive); "" when dir is missing. */
char *harness_dir_listing(const char *dir);
/* `runc --root runtime_root list -q`, sorted. */
char *harness_runc_list(void);

/* Runs argv (NULL terminated), captures stdout (may be NULL) and returns the wait status. */
int harness_run(char **ret_stdout, char **argv);

/* Reads a whole file; asserts success. */
char *harness_read_file(const char *path, size_t *ret_size);
void harness_write_file(const char *path, const void *data, size_t size);
bool harness_path_exists(const char *path);

/* Asserts two texts are equal, printing the differing lines to stderr when they are not. */
void harness_assert_same_text(const char *what, const char *before, const char *after);

/* Everything a bad call must leave unchanged. */
typedef struct HarnessSnapshot {
        char *list;
        char *state;
        char *logs;
        char *runc;
} HarnessSnapshot;

void harness_snapshot_take(HarnessSnapshot *s);
void harness_snapshot_assert_unchanged(const HarnessSnapshot *s);
void harness_snapshot_done(HarnessSnapshot *s);

/* Asserts that a call failed with the D-Bus error name; prints the message when it did not. */
#define harness_assert_error(r, error, expected_name)                                           \
        do {                                                                                    \
                int _r_ = (r);                                                                  \
                const sd_bus_error *_e_ = (error);                                              \
                ck_assert_msg(_r_ < 0, "call succeeded, expected %s", (expected_name));         \
                ck_assert_msg(_e_->name && streq(_e_->name, (expected_name)),                   \
                              "expected error %s, got %s (%s)", (expected_name),                \
                              _e_->name ?: "(none)", _e_->message ?: "");                       \
        } while (0)

#define harness_assert_ok(r, error)                                                             \
        do {                                                                                    \
                int _r_ = (r);                                                                  \
                const sd_bus_error *_e_ = (error);                                              \
                ck_assert_msg(_r_ >= 0, "call failed: %s: %s (%s)", strerror(-_r_),              \
                              _e_->name ?: "", _e_->message ?: "");                             \
        } while (0)
