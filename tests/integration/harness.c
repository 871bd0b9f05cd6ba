/* The integration test fixture (see harness.h): a private dbus-daemon and a real berthd per test
 * (which tests may kill, restart, or leave without a bus), an independent CRI log parser, and
 * /proc, socket and directory helpers to check that nothing leaked. The D-Bus helpers that drive
 * berthd are in harness-bus.c.
 *
 * Cleaning up is done twice over on purpose. harness_teardown() deletes the containers through
 * berthd and stops every process it started by pid. But Check's fork mode ends a failed test with
 * exit() and a timed-out one with SIGKILL to its process group, so no teardown runs then: for that
 * case setup forks a guardian, in a process group of its own, that holds the read end of a pipe.
 * When the pipe closes without a "done" line the guardian prints berthd's and dbus-daemon's logs
 * and removes whatever is left: berthd, shims, runc containers, dbus-daemon, the temp dir.
 *
 * The helpers deliberately do not use libberth-common for anything they check (the CRI parser in
 * particular), so a bug shared by the code and its test cannot hide. */

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/pidfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <inttypes.h>

#include "harness.h"
#include "harness-private.h"

Harness *harness;

#define GUARDIAN_MAX_PIDS 64

/**
 * harness_now_usec() - CLOCK_MONOTONIC in µs.
 */
uint64_t harness_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/**
 * harness_sleep_usec() - sleeps usec, across signals.
 * @usec: how long.
 */
void harness_sleep_usec(uint64_t usec) {
        struct timespec ts = {
                .tv_sec = usec / USEC_PER_SEC,
                .tv_nsec = (usec % USEC_PER_SEC) * NSEC_PER_USEC,
        };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/**
 * harness_xasprintf() - asprintf() that asserts success.
 * @fmt: the format.
 */
char *harness_xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        ck_assert_msg(r >= 0, "out of memory");
        return s;
}

/**
 * harness_xstrdup() - strdup() that asserts success.
 * @s: the string.
 */
char *harness_xstrdup(const char *s) {
        char *d = strdup(s);

        ck_assert_msg(d, "out of memory");
        return d;
}

static bool in_ci(void) {
        const char *ci = getenv("CI");

        return ci && !isempty(ci) && !streq(ci, "false") && !streq(ci, "0");
}

static const char *self_dir(void) {
        static char dir[PATH_MAX];
        ssize_t n;
        char *slash;

        if (dir[0])
                return dir;
        n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
        if (n <= 0)
                return ".";
        dir[n] = 0;
        slash = strrchr(dir, '/');
        if (slash && slash != dir)
                *slash = 0;
        return dir;
}

/**
 * harness_builddir() - the top build directory ($BERTH_BUILDDIR, else the test binary's directory).
 */
const char *harness_builddir(void) {
        const char *d = getenv("BERTH_BUILDDIR");

        return isempty(d) ? self_dir() : d;
}

/**
 * harness_srcdir() - the top source directory ($BERTH_SRCDIR, else the build directory).
 */
const char *harness_srcdir(void) {
        const char *d = getenv("BERTH_SRCDIR");

        return isempty(d) ? harness_builddir() : d;
}

static bool find_on_path(const char *name) {
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = NULL;
        char *saveptr = NULL;

        if (!path)
                return false;
        copy = strdup(path);
        if (!copy)
                return false;
        for (char *d = strtok_r(copy, ":", &saveptr); d; d = strtok_r(NULL, ":", &saveptr)) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s/%s", d, name) < 0)
                        return false;
                if (access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

/* runc lives in /usr/sbin on Debian; make sure a user's PATH without sbin still finds it. */
static void path_add_sbin(void) {
        const char *path = getenv("PATH") ?: "/usr/bin:/bin";
        _cleanup_free_ char *n = NULL;

        if (strstr(path, "/usr/sbin"))
                return;
        if (asprintf(&n, "%s:/usr/local/sbin:/usr/sbin:/sbin", path) < 0)
                return;
        setenv("PATH", n, 1);
}

_noreturn_ static void environment_unusable(bool always_fail, const char *what) {
        if (in_ci() || always_fail) {
                fprintf(stderr,
                        "\n"
                        "************************************************************************\n"
                        "*** FAIL: the integration tests cannot run: %s\n"
                        "*** %s\n"
                        "************************************************************************\n\n",
                        what,
                        always_fail ? "This is a build problem, not a missing dependency."
                                    : "CI is set: in CI a skipped integration test is a failure.");
                exit(99);
        }
        fprintf(stderr, "SKIP: %s (integration tests need root, runc, dbus-daemon, busybox-static "
                "and python3; tests/install-deps.sh installs them)\n", what);
        exit(77);
}

/**
 * harness_require_environment() - returns if the integration tests can run, else exits 77 or 99.
 * @need_berthctl: whether the berthctl binary must exist too.
 */
void harness_require_environment(bool need_berthctl) {
        const char *busybox = getenv("BUSYBOX") ?: "/bin/busybox";
        const char *binaries[] = { "berthd", "berth-shim", need_berthctl ? "berthctl" : NULL };
        const char *files[] = { "tests/make-bundle.sh", "tests/data/bus.conf",
                                "tests/data/berth-test-runtime" };
        char p[PATH_MAX + 64], msg[PATH_MAX + 128];

        /* Outside a test: no ck_assert here (Check only allows them inside one). */
        path_add_sbin();
        if (geteuid() != 0)
                environment_unusable(false, "not running as root");
        if (!find_on_path("runc"))
                environment_unusable(false, "runc not found on PATH");
        if (!find_on_path("dbus-daemon"))
                environment_unusable(false, "dbus-daemon not found on PATH");
        if (!find_on_path("python3"))
                environment_unusable(false, "python3 not found on PATH");
        if (access(busybox, X_OK) < 0)
                environment_unusable(false, "no busybox at /bin/busybox (busybox-static)");

        for (size_t i = 0; i < ELEMENTSOF(binaries); i++) {
                if (!binaries[i])
                        continue;
                snprintf(p, sizeof(p), "%s/%s", harness_builddir(), binaries[i]);
                if (access(p, X_OK) < 0) {
                        snprintf(msg, sizeof(msg), "'%s' is not built", p);
                        environment_unusable(true, msg);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(p, sizeof(p), "%s/%s", harness_srcdir(), files[i]);
                if (access(p, R_OK) < 0) {
                        snprintf(msg, sizeof(msg), "'%s' is missing (set BERTH_SRCDIR)", p);
                        environment_unusable(true, msg);
                }
        }
}

/**
 * harness_run_suite() - checks the environment, runs every test of s, returns main()'s exit status.
 * @s: the suite (freed by the runner).
 */
int harness_run_suite(Suite *s) {
        SRunner *sr;
        int failed;

        harness_require_environment(false);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/**
 * harness_tcase_new() - a TCase with the checked fixture and a generous default timeout.
 * @name: the TCase's name.
 */
TCase *harness_tcase_new(const char *name) {
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
        /* Check's own default is 4 s; the Makefile exports CK_DEFAULT_TIMEOUT, a person may not. */
        if (!getenv("CK_DEFAULT_TIMEOUT"))
                tcase_set_timeout(tc, 600);
        return tc;
}

/* ---- processes ------------------------------------------------------------------------------ */

static void child_reset(void) {
        sigset_t all;

        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
}

/* Forks and execs argv with stdin /dev/null, stdout+stderr to log (append), keep_fd moved to fd 3
 * (if >= 0), NOTIFY_SOCKET set to notify_socket (or removed). Returns the pid. */
static pid_t spawn(char **argv, const char *log, int keep_fd, const char *notify_socket) {
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int fd;

                child_reset();
                fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
                        _exit(127);
                if (log) {
                        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
                                _exit(127);
                }
                if (keep_fd >= 0) {
                        if (keep_fd == 3) {
                                if (fcntl(3, F_SETFD, 0) < 0)
                                        _exit(127);
                        } else if (dup2(keep_fd, 3) < 0)
                                _exit(127);
                        close_range(4, ~0U, 0);
                } else
                        close_range(3, ~0U, 0);
                if (notify_socket)
                        setenv("NOTIFY_SOCKET", notify_socket, 1);
                else
                        unsetenv("NOTIFY_SOCKET");
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                execvp(argv[0], argv);
                fprintf(stderr, "failed to execute %s: %m\n", argv[0]);
                _exit(127);
        }
        return pid;
}

/* Waits for our child pid up to timeout; returns its wait status, or -ETIMEDOUT. */
static int wait_child(pid_t pid, uint64_t timeout_usec) {
        uint64_t deadline = harness_now_usec() + timeout_usec;

        for (;;) {
                int status;
                pid_t r = waitpid(pid, &status, WNOHANG);

                if (r == pid)
                        return status;
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (harness_now_usec() > deadline)
                        return -ETIMEDOUT;
                harness_sleep_usec(10 * USEC_PER_MSEC);
        }
}

/* Stops our child: SIGTERM, SIGKILL after 5 s. Returns its wait status. */
static int stop_child(pid_t pid) {
        int status;

        if (pid <= 0)
                return 0;
        (void) kill(pid, SIGTERM);
        status = wait_child(pid, 5 * USEC_PER_SEC);
        if (status == -ETIMEDOUT) {
                fprintf(stderr, "harness: pid %d did not stop on SIGTERM within 5 s, sending SIGKILL\n",
                        (int) pid);
                (void) kill(pid, SIGKILL);
                status = wait_child(pid, 30 * USEC_PER_SEC);
        }
        return status;
}

/* Whether pid exists and is not a zombie (no assertions: the guardian uses it too). */
static bool pid_running(pid_t pid) {
        char path[64], buf[512], *p;
        _cleanup_fclose_ FILE *f = NULL;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof(buf), f))
                return false;
        p = strrchr(buf, ')');
        return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Kills a process that is not our child (a shim, or an orphan after a crash) and waits (5 s) until
 * it is gone. pidfd is from pidfd_open(), or negative where that is not available (valgrind): then
 * pid is signalled and /proc polled. */
static void kill_and_wait(int pidfd, pid_t pid, int sig) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        if (pidfd >= 0) {
                if (pidfd_send_signal(pidfd, sig, NULL, 0) >= 0)
                        (void) poll(&p, 1, 5000);
                return;
        }
        if (pid <= 0 || kill(pid, sig) < 0)
                return;
        for (unsigned i = 0; i < 500 && pid_running(pid); i++)
                harness_sleep_usec(10 * USEC_PER_MSEC);
}

/**
 * harness_run() - runs argv, returns its wait status or a negative errno.
 * @ret_stdout: gets its stdout (NUL terminated), or NULL to let it go to /dev/null.
 * @argv: the command, NULL terminated; stderr goes to the test's stderr.
 */
int harness_run(char **ret_stdout, char **argv) {
        int pipefd[2];
        char *buf = NULL;
        size_t size = 0, allocated = 0;
        pid_t pid;
        int status;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                int null_fd;

                child_reset();
                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0)
                        _exit(127);
                if (dup2(ret_stdout ? pipefd[1] : null_fd, STDOUT_FILENO) < 0)
                        _exit(127);
                close_range(3, ~0U, 0);
                execvp(argv[0], argv);
                fprintf(stderr, "failed to execute %s: %m\n", argv[0]);
                _exit(127);
        }
        close(pipefd[1]);
        for (;;) {
                ssize_t n;

                if (allocated - size < 4096) {
                        char *b = realloc(buf, allocated * 2 + 4096);
                        if (!b)
                                break;
                        buf = b;
                        allocated = allocated * 2 + 4096;
                }
                n = read(pipefd[0], buf + size, allocated - size - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                size += n;
        }
        close(pipefd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        free(buf);
                        return -errno;
                }
        if (ret_stdout) {
                if (!buf)
                        buf = calloc(1, 1);
                else
                        buf[size] = 0;
                *ret_stdout = buf;
        } else
                free(buf);
        return status;
}

/* ---- cleanup, shared by teardown and the guardian --------------------------------------------- */

static int rm_rf_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (remove(path) < 0 && errno != ENOENT)
                fprintf(stderr, "harness: cannot remove '%s': %m\n", path);
        return 0;
}

static void rm_rf(const char *path) {
        if (path)
                (void) nftw(path, rm_rf_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int cmp_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/**
 * harness_sort_lines() - splits text into lines (in place), sorts and joins them again; NULL on OOM.
 * @text: the lines; it is clobbered.
 */
char *harness_sort_lines(char *text) {
        char **lines = NULL;
        size_t n = 0, total = 0;
        char *saveptr = NULL, *out, *p;

        for (char *l = strtok_r(text, "\n", &saveptr); l; l = strtok_r(NULL, "\n", &saveptr)) {
                char **nl = realloc(lines, (n + 1) * sizeof(char *));
                if (!nl)
                        break;
                lines = nl;
                lines[n++] = l;
                total += strlen(l) + 1;
        }
        if (n > 0)
                qsort(lines, n, sizeof(char *), cmp_strings);
        p = out = malloc(total + 1);
        if (!out) {
                free(lines);
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                p = stpcpy(stpcpy(p, lines[i]), "\n");
        *p = 0;
        free(lines);
        return out;
}

static char *runc_list(const char *runtime_root) {
        char *argv[] = { (char *) "runc", (char *) "--root", (char *) runtime_root, (char *) "list",
                         (char *) "-q", NULL };
        _cleanup_free_ char *out = NULL;
        int status;

        status = harness_run(&out, argv);
        if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return NULL;
        return harness_sort_lines(out);
}

static bool pid_is_shim(pid_t pid) {
        _cleanup_free_ char *path = NULL;
        char comm[64] = "";
        _cleanup_fclose_ FILE *f = NULL;

        if (asprintf(&path, "/proc/%d/comm", (int) pid) < 0)
                return false;
        f = fopen(path, "re");
        if (!f || !fgets(comm, sizeof(comm), f))
                return false;
        comm[strcspn(comm, "\n")] = 0;
        return streq(comm, "berth-shim");
}

/* Kills every shim still alive (by the pid files in the state dir) and deletes every container the
 * runtime still knows. Says what it found, so a leak is visible in the test's log. */
static void cleanup_leftovers(const char *state_dir, const char *runtime_root, const char *who) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ char *ids = NULL;
        struct dirent *de;

        d = state_dir ? opendir(state_dir) : NULL;
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                _cleanup_fclose_ FILE *f = NULL;
                int pid = 0;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&path, "%s/%s/shim.pid", state_dir, de->d_name) < 0)
                        continue;
                f = fopen(path, "re");
                if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0)
                        continue;
                if (pid_is_shim(pid)) {
                        int pidfd = pidfd_open(pid, 0);

                        fprintf(stderr, "%s: killing leftover shim %d of '%s'\n", who, pid, de->d_name);
                        kill_and_wait(pidfd, pid, SIGKILL);
                        safe_close(pidfd);
                }
        }

        ids = runtime_root ? runc_list(runtime_root) : NULL;
        if (ids) {
                char *saveptr = NULL;

                for (char *id = strtok_r(ids, "\n", &saveptr); id; id = strtok_r(NULL, "\n", &saveptr)) {
                        char *argv[] = { (char *) "runc", (char *) "--root", (char *) runtime_root,
                                         (char *) "delete", (char *) "-f", id, NULL };

                        fprintf(stderr, "%s: deleting leftover runtime container '%s'\n", who, id);
                        (void) harness_run(NULL, argv);
                }
        }
}

static void print_file(const char *title, const char *path) {
        _cleanup_fclose_ FILE *f = NULL;
        char buf[4096];
        size_t n;

        if (!path)
                return;
        f = fopen(path, "re");
        fprintf(stderr, "\n----- %s (%s) -----\n", title, path);
        if (!f) {
                fprintf(stderr, "(cannot open: %m)\n");
                return;
        }
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, n, stderr);
        fprintf(stderr, "----- end of %s -----\n", title);
}

/* ---- the guardian ---------------------------------------------------------------------------- */

/* The processes the guardian kills: berthd instances ("pid N") first, dbus-daemons ("bus N") last. */
typedef struct GuardianPid {
        pid_t pid;
        int pidfd;
        bool bus;
} GuardianPid;

/* Adds one; when the table is full, forgets those that are gone (restart tests start many). */
static void guardian_add(GuardianPid *pids, size_t *n, pid_t pid, bool bus) {
        if (*n == GUARDIAN_MAX_PIDS) {
                size_t k = 0;

                for (size_t i = 0; i < *n; i++) {
                        struct pollfd p = { .fd = pids[i].pidfd, .events = POLLIN };

                        if (pids[i].pidfd >= 0 && poll(&p, 1, 0) == 0)
                                pids[k++] = pids[i];
                        else
                                safe_close(pids[i].pidfd);
                }
                *n = k;
                if (k == GUARDIAN_MAX_PIDS)
                        return;
        }
        pids[(*n)++] = (GuardianPid) { .pid = pid, .pidfd = pidfd_open(pid, 0), .bus = bus };
}

_noreturn_ static void guardian_main(Harness *h, int rfd) {
        GuardianPid pids[GUARDIAN_MAX_PIDS];
        char *mounts[HARNESS_MOUNTS_MAX];
        size_t n_pids = 0, n_mounts = 0;
        _cleanup_fclose_ FILE *f = NULL;
        char *line = NULL;
        size_t line_size = 0;
        bool done = false;

        /* Out of Check's process group, so its timeout (killpg) leaves us alive to clean up. */
        (void) setpgid(0, 0);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        if (rfd > 3)
                close_range(3, rfd - 1, 0);
        close_range(rfd + 1, ~0U, 0);

        f = fdopen(rfd, "r");
        if (!f)
                _exit(1);
        while (getline(&line, &line_size, f) > 0) {
                int pid;

                if (streq(line, "done\n"))
                        done = true;
                else if (sscanf(line, "pid %d", &pid) == 1)
                        guardian_add(pids, &n_pids, pid, false);
                else if (sscanf(line, "bus %d", &pid) == 1)
                        guardian_add(pids, &n_pids, pid, true);
                else if (strneq(line, "mount ", 6) && n_mounts < HARNESS_MOUNTS_MAX) {
                        line[strcspn(line, "\n")] = 0;
                        mounts[n_mounts++] = strdup(line + 6);
                }
        }
        free(line);
        if (done)
                _exit(0);

        fprintf(stderr, "\nharness guardian: the test process ended without teardown (failed or timed "
                "out); cleaning up %s\n", h->tmpdir);
        print_file("berthd log", h->berthd_log);
        print_file("dbus-daemon log", h->dbus_log);

        /* berthd first (newest first), so nothing respawns; dbus-daemon last. */
        for (size_t i = n_pids; i > 0; i--)
                if (!pids[i - 1].bus)
                        kill_and_wait(pids[i - 1].pidfd, pids[i - 1].pid, SIGKILL);
        cleanup_leftovers(h->state_dir, h->runtime_root, "harness guardian");
        for (size_t i = n_pids; i > 0; i--)
                if (pids[i - 1].bus)
                        kill_and_wait(pids[i - 1].pidfd, pids[i - 1].pid, SIGKILL);
        for (size_t i = n_mounts; i > 0; i--)
                if (mounts[i - 1])
                        (void) umount2(mounts[i - 1], MNT_DETACH);
        rm_rf(h->tmpdir);
        _exit(0);
}

static void guardian_tell(Harness *h, const char *fmt, ...) _printf_(2, 3);
static void guardian_tell(Harness *h, const char *fmt, ...) {
        va_list ap;

        if (h->guardian_fd < 0)
                return;
        va_start(ap, fmt);
        (void) vdprintf(h->guardian_fd, fmt, ap);
        va_end(ap);
}

static void guardian_start(Harness *h) {
        int p[2];
        pid_t pid;

        ck_assert_msg(pipe2(p, O_CLOEXEC) >= 0, "pipe2: %m");
        pid = fork();
        ck_assert_msg(pid >= 0, "fork: %m");
        if (pid == 0) {
                close(p[1]);
                guardian_main(h, p[0]);
        }
        close(p[0]);
        h->guardian_pid = pid;
        h->guardian_fd = p[1];
}

/* ---- setup and teardown ---------------------------------------------------------------------- */

static void start_dbus(Harness *h) {
        _cleanup_free_ char *config = harness_xasprintf("--config-file=%s/tests/data/bus.conf",
                                                        harness_srcdir());
        /* A fresh socket for every daemon: harness_start_bus() may start a second one. */
        _cleanup_free_ char *address = h->n_buses == 0 ?
                harness_xasprintf("--address=unix:path=%s/bus", h->tmpdir) :
                harness_xasprintf("--address=unix:path=%s/bus.%u", h->tmpdir, h->n_buses);
        char *argv[] = { (char *) "dbus-daemon", config, (char *) "--print-address=3",
                         (char *) "--nofork", (char *) "--nopidfile", address, NULL };
        char buf[1024];
        size_t size = 0;
        uint64_t deadline;
        int p[2];

        ck_assert_msg(pipe2(p, O_CLOEXEC) >= 0, "pipe2: %m");
        h->dbus_pid = spawn(argv, h->dbus_log, p[1], NULL);
        close(p[1]);
        ck_assert_msg(h->dbus_pid > 0, "cannot start dbus-daemon");
        guardian_tell(h, "bus %d\n", (int) h->dbus_pid);

        deadline = harness_now_usec() + 10 * USEC_PER_SEC;
        while (!memchr(buf, '\n', size) && size < sizeof(buf) - 1) {
                struct pollfd pfd = { .fd = p[0], .events = POLLIN };
                uint64_t now = harness_now_usec();
                ssize_t n;

                if (now >= deadline)
                        break;
                if (poll(&pfd, 1, (int) ((deadline - now) / USEC_PER_MSEC) + 1) <= 0)
                        continue;
                n = read(p[0], buf + size, sizeof(buf) - 1 - size);
                if (n <= 0)
                        break;
                size += n;
        }
        close(p[0]);
        buf[size] = 0;
        ck_assert_msg(memchr(buf, '\n', size), "dbus-daemon did not print its address (see %s)",
                      h->dbus_log);
        buf[strcspn(buf, "\n")] = 0;
        free(h->bus_address);
        h->bus_address = harness_xstrdup(buf);
        h->n_buses++;
}

static void connect_client(Harness *h) {
        int r;

        r = sd_bus_new(&h->bus);
        ck_assert_int_ge(r, 0);
        r = sd_bus_set_address(h->bus, h->bus_address);
        ck_assert_int_ge(r, 0);
        r = sd_bus_set_bus_client(h->bus, true);
        ck_assert_int_ge(r, 0);
        r = sd_bus_start(h->bus);
        ck_assert_msg(r >= 0, "cannot connect to the private bus %s: %s", h->bus_address, strerror(-r));
}

static bool name_has_owner(Harness *h) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int has = 0, r;

        r = sd_bus_call_method(h->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "NameHasOwner", &error, &reply, "s", BERTH_BUS_NAME);
        ck_assert_msg(r >= 0, "NameHasOwner failed: %s", error.message ?: strerror(-r));
        r = sd_bus_message_read(reply, "b", &has);
        ck_assert_int_ge(r, 0);
        return has;
}

/* Drops what earlier berthds sent to NOTIFY_SOCKET. Nobody else reads it, and once its queue is
 * full (net.unix.max_dgram_qlen datagrams) the next sd_notify() of berthd blocks: restart tests
 * start many. */
static void notify_drain(Harness *h) {
        char buf[4096];

        if (h->notify_fd >= 0)
                while (recv(h->notify_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
                        ;
}

/**
 * harness_spawn_berthd() - starts berthd on the fixture's bus without waiting for it.
 *
 * Two variables let a test run swap what runs (tests/valgrind/check-valgrind.sh sets them):
 * BERTH_TEST_SHIM, the shim berthd spawns (--shim=; e.g. a script that execs the real one under
 * valgrind), and BERTH_TEST_BERTHD_WRAPPER, a program berthd is started through: it gets berthd's
 * path and arguments and must exec it in the same process.
 */
void harness_spawn_berthd(void) {
        Harness *h = harness;
        const char *wrapper = getenv("BERTH_TEST_BERTHD_WRAPPER"), *shim = getenv("BERTH_TEST_SHIM");
        _cleanup_free_ char *exe = harness_xasprintf("%s/berthd", harness_builddir());
        _cleanup_free_ char *address = harness_xasprintf("--address=%s", h->bus_address);
        _cleanup_free_ char *state = harness_xasprintf("--state-dir=%s", h->state_dir);
        _cleanup_free_ char *logs = harness_xasprintf("--log-dir=%s", h->log_dir);
        _cleanup_free_ char *shim_arg = isempty(shim) ? NULL : harness_xasprintf("--shim=%s", shim);
        char *argv[7];
        size_t n = 0;

        if (!isempty(wrapper))
                argv[n++] = (char *) wrapper;
        argv[n++] = exe;
        argv[n++] = address;
        argv[n++] = state;
        argv[n++] = logs;
        if (shim_arg)
                argv[n++] = shim_arg;
        argv[n] = NULL;

        ck_assert_int_eq(h->berthd_pid, 0);
        notify_drain(h);
        h->berthd_pid = spawn(argv, h->berthd_log, -1, h->notify_socket);
        ck_assert_msg(h->berthd_pid > 0, "cannot start berthd");
        guardian_tell(h, "pid %d\n", (int) h->berthd_pid);
}

/**
 * harness_wait_berthd_name() - waits until berthd owns its name; fails the test if it does not in
 * time or exits first.
 * @timeout_usec: how long to wait.
 */
void harness_wait_berthd_name(uint64_t timeout_usec) {
        Harness *h = harness;
        uint64_t deadline = harness_now_usec() + timeout_usec;

        ck_assert_int_gt(h->berthd_pid, 0);
        for (;;) {
                int status;

                if (name_has_owner(h))
                        return;
                if (waitpid(h->berthd_pid, &status, WNOHANG) == h->berthd_pid) {
                        h->berthd_pid = 0;
                        ck_abort_msg("berthd exited (status %d) before owning %s; see its log below",
                                     status, BERTH_BUS_NAME);
                }
                ck_assert_msg(harness_now_usec() < deadline,
                              "berthd did not own %s within %" PRIu64 " ms; see its log below",
                              BERTH_BUS_NAME, timeout_usec / USEC_PER_MSEC);
                harness_sleep_usec(5 * USEC_PER_MSEC);
        }
}

/**
 * harness_start_berthd() - starts berthd on the fixture's bus and waits (10 s) until it owns its name.
 */
void harness_start_berthd(void) {
        harness_spawn_berthd();
        harness_wait_berthd_name(10 * USEC_PER_SEC);
}

/**
 * harness_kill_berthd() - sends sig to berthd and reaps it (SIGKILL after 10 s); returns its wait status.
 * @sig: the signal.
 */
/**
 * harness_berthd_pid() - the pid of the running berthd
 *
 * Return: the pid.
 */
pid_t harness_berthd_pid(void) {
        ck_assert_int_gt(harness->berthd_pid, 0);
        return harness->berthd_pid;
}

int harness_kill_berthd(int sig) {
        Harness *h = harness;
        int status;

        ck_assert_int_gt(h->berthd_pid, 0);
        notify_drain(h);
        ck_assert_int_eq(kill(h->berthd_pid, sig), 0);
        status = wait_child(h->berthd_pid, 10 * USEC_PER_SEC);
        if (status == -ETIMEDOUT) {
                fprintf(stderr, "harness: berthd did not exit within 10 s of signal %d, sending SIGKILL\n",
                        sig);
                (void) kill(h->berthd_pid, SIGKILL);
                status = wait_child(h->berthd_pid, 30 * USEC_PER_SEC);
        }
        h->berthd_pid = 0;
        return status;
}

/**
 * harness_wait_berthd_exit() - waits until berthd exits by itself; returns its wait status, or
 * -ETIMEDOUT (berthd then still runs).
 * @timeout_usec: how long to wait.
 */
int harness_wait_berthd_exit(uint64_t timeout_usec) {
        int status = wait_child(harness->berthd_pid, timeout_usec);

        if (status != -ETIMEDOUT)
                harness->berthd_pid = 0;
        return status;
}

/**
 * harness_stop_bus() - stops the fixture's dbus-daemon (SIGTERM) and drops the client connection.
 */
void harness_stop_bus(void) {
        Harness *h = harness;

        h->bus = sd_bus_close_unref(h->bus);
        (void) stop_child(h->dbus_pid);
        h->dbus_pid = 0;
}

/**
 * harness_start_bus() - starts a new dbus-daemon on a new socket and connects the client to it.
 */
void harness_start_bus(void) {
        Harness *h = harness;

        ck_assert_int_eq(h->dbus_pid, 0);
        start_dbus(h);
        connect_client(h);
}

/**
 * harness_stop_berthd() - stops berthd (SIGTERM, SIGKILL after 5 s); returns its wait status.
 */
int harness_stop_berthd(void) {
        int status;

        notify_drain(harness);
        status = stop_child(harness->berthd_pid);

        harness->berthd_pid = 0;
        return status;
}

static void notify_socket_bind(Harness *h) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        ck_assert_uint_lt(strlen(h->notify_socket), sizeof(sa.sun_path));
        strcpy(sa.sun_path, h->notify_socket);
        h->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_msg(h->notify_fd >= 0, "socket: %m");
        ck_assert_msg(bind(h->notify_fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0, "bind %s: %m",
                      h->notify_socket);
}

/**
 * harness_wait_ready() - waits until berthd sent READY=1 to its NOTIFY_SOCKET.
 * @timeout_usec: how long to wait.
 */
bool harness_wait_ready(uint64_t timeout_usec) {
        uint64_t deadline = harness_now_usec() + timeout_usec;

        for (;;) {
                struct pollfd p = { .fd = harness->notify_fd, .events = POLLIN };
                char buf[4096];
                uint64_t now;
                ssize_t n;

                while ((n = recv(harness->notify_fd, buf, sizeof(buf) - 1, 0)) > 0) {
                        buf[n] = 0;
                        for (char *l = buf; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                                if (strneq(l, "READY=1", 7) && (l[7] == '\n' || l[7] == 0))
                                        return true;
                }
                now = harness_now_usec();
                if (now >= deadline)
                        return false;
                (void) poll(&p, 1, (int) ((deadline - now) / USEC_PER_MSEC) + 1);
        }
}

/**
 * harness_pid_has_env() - whether the environment of pid has a variable called name.
 * @pid: the process.
 * @name: the variable.
 */
bool harness_pid_has_env(pid_t pid, const char *name) {
        _cleanup_free_ char *path = harness_xasprintf("/proc/%d/environ", (int) pid), *env = NULL;
        size_t size, len = strlen(name);

        env = harness_read_file(path, &size);
        for (const char *p = env; p < env + size; p += strlen(p) + 1)
                if (strneq(p, name, len) && p[len] == '=')
                        return true;
        return false;
}

/**
 * harness_setup() - the checked fixture's setup: temp dir, guardian, dbus-daemon, client, berthd.
 */
void harness_setup(void) {
        Harness *h;
        char template[] = "/tmp/berth-test-XXXXXX";

        path_add_sbin();
        signal(SIGPIPE, SIG_IGN);
        h = calloc(1, sizeof(Harness));
        ck_assert_ptr_nonnull(h);
        h->guardian_fd = -EBADF;
        h->notify_fd = -EBADF;
        harness = h;

        ck_assert_msg(mkdtemp(template), "mkdtemp: %m");
        h->tmpdir = harness_xstrdup(template);
        h->state_dir = harness_xasprintf("%s/state", h->tmpdir);
        h->runtime_root = harness_xasprintf("%s/.runtime", h->state_dir);
        h->log_dir = harness_xasprintf("%s/logs", h->tmpdir);
        h->bundle_dir = harness_xasprintf("%s/bundles", h->tmpdir);
        h->berthd_log = harness_xasprintf("%s/berthd.log", h->tmpdir);
        h->dbus_log = harness_xasprintf("%s/dbus-daemon.log", h->tmpdir);
        h->notify_socket = harness_xasprintf("%s/notify", h->tmpdir);
        ck_assert_msg(mkdir(h->bundle_dir, 0755) >= 0, "mkdir: %m");
        notify_socket_bind(h);

        guardian_start(h);
        start_dbus(h);
        connect_client(h);
        harness_start_berthd();
}

static void delete_all_containers(Harness *h) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *state, *bundle, *path;
        uint32_t pid;
        int32_t status;
        char **ids = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(h->bus, BERTH_BUS_NAME, BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE,
                               "ListContainers", NULL, &reply, NULL);
        if (r < 0 || sd_bus_message_enter_container(reply, 'a', "(sssuio)") < 0)
                return;
        while (sd_bus_message_read(reply, "(sssuio)", &id, &state, &bundle, &pid, &status, &path) > 0) {
                char **nids = realloc(ids, (n + 1) * sizeof(char *));
                if (!nids)
                        break;
                ids = nids;
                ids[n++] = strdup(id);
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (!ids[i])
                        continue;
                r = sd_bus_call_method(h->bus, BERTH_BUS_NAME, BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE,
                                       "DeleteContainer", &error, NULL, "sb", ids[i], 1);
                if (r < 0)
                        fprintf(stderr, "harness teardown: DeleteContainer('%s', force) failed: %s: %s\n",
                                ids[i], error.name ?: "", error.message ?: strerror(-r));
                free(ids[i]);
        }
        free(ids);
}

/**
 * harness_teardown() - the checked fixture's teardown: deletes every container, stops berthd, kills
 * leftovers, stops dbus-daemon, removes the temp dir.
 */
void harness_teardown(void) {
        Harness *h = harness;

        if (!h)
                return;
        if (h->bus && h->berthd_pid > 0)
                delete_all_containers(h);
        h->bus = sd_bus_flush_close_unref(h->bus);
        (void) harness_stop_berthd();
        cleanup_leftovers(h->state_dir, h->runtime_root, "harness teardown");
        (void) stop_child(h->dbus_pid);
        h->dbus_pid = 0;
        for (unsigned i = h->n_mounts; i > 0; i--) {
                if (umount2(h->mounts[i - 1], MNT_DETACH) < 0)
                        fprintf(stderr, "harness teardown: cannot unmount '%s': %m\n", h->mounts[i - 1]);
                free(h->mounts[i - 1]);
        }
        h->n_mounts = 0;

        h->notify_fd = safe_close(h->notify_fd);
        guardian_tell(h, "done\n");
        h->guardian_fd = safe_close(h->guardian_fd);
        if (h->guardian_pid > 0)
                (void) wait_child(h->guardian_pid, 60 * USEC_PER_SEC);
        rm_rf(h->tmpdir);

        free(h->tmpdir);
        free(h->state_dir);
        free(h->runtime_root);
        free(h->log_dir);
        free(h->bundle_dir);
        free(h->berthd_log);
        free(h->dbus_log);
        free(h->bus_address);
        free(h->notify_socket);
        free(h);
        harness = NULL;
}

/* ---- bundles --------------------------------------------------------------------------------- */

/**
 * harness_make_bundlev() - makes a busybox bundle running argv; returns its absolute path.
 * @name: the bundle's directory name below bundle_dir.
 * @argv: the container's command, NULL terminated.
 */
char *harness_make_bundlev(const char *name, char **argv) {
        _cleanup_free_ char *script = harness_xasprintf("%s/tests/make-bundle.sh", harness_srcdir());
        char *dir = harness_xasprintf("%s/%s", harness->bundle_dir, name);
        size_t n = strv_length(argv);
        _cleanup_free_ char **args = calloc(n + 4, sizeof(char *));
        int status;

        ck_assert_ptr_nonnull(args);
        args[0] = (char *) "bash";
        args[1] = script;
        args[2] = dir;
        for (size_t i = 0; i < n; i++)
                args[3 + i] = argv[i];
        status = harness_run(NULL, args);
        ck_assert_msg(status == 0, "make-bundle.sh %s failed (status %d)", dir, status);
        return dir;
}

/**
 * harness_make_bundle() - makes a busybox bundle running the NULL terminated arguments.
 * @name: the bundle's directory name below bundle_dir.
 */
char *harness_make_bundle(const char *name, ...) {
        char *argv[64];
        size_t n = 0;
        va_list ap;

        va_start(ap, name);
        for (char *a = va_arg(ap, char *); a; a = va_arg(ap, char *)) {
                ck_assert_uint_lt(n, ELEMENTSOF(argv) - 1);
                argv[n++] = a;
        }
        va_end(ap);
        argv[n] = NULL;
        return harness_make_bundlev(name, argv);
}

/* ---- CRI logs -------------------------------------------------------------------------------- */

static bool digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* RFC 3339 with optional fraction: 2026-11-24T09:13:44.123456789Z or ...+01:00. */
static bool timestamp_is_valid(const char *s, size_t n) {
        size_t i = 19;

        if (n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
            !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
            !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
                return false;
        if (s[i] == '.') {
                size_t start = ++i;
                while (i < n && s[i] >= '0' && s[i] <= '9')
                        i++;
                if (i == start || i - start > 9)
                        return false;
        }
        if (i + 1 == n && s[i] == 'Z')
                return true;
        return i + 6 == n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' &&
               digits(s + i + 4, 2);
}

static void buffer_append(char **buf, size_t *size, size_t *allocated, const char *data, size_t n) {
        if (*size + n + 1 > *allocated) {
                size_t a = MAX(*allocated * 2, *size + n + 1);
                char *b = realloc(*buf, a);

                ck_assert_ptr_nonnull(b);
                *buf = b;
                *allocated = a;
        }
        memcpy(*buf + *size, data, n);
        *size += n;
        (*buf)[*size] = 0;
}

/**
 * harness_cri_log_read() - parses a CRI log strictly and reconstructs both streams.
 * @path: the log file.
 * @ret: gets the records and streams (free with harness_cri_log_done()).
 */
void harness_cri_log_read(const char *path, HarnessCriLog *ret) {
        size_t size, allocated[2] = { 0, 0 }, records_allocated = 0, line_no = 0;
        _cleanup_free_ char *text = harness_read_file(path, &size);
        HarnessCriLog l = {};

        for (size_t i = 0; i < 2; i++)
                buffer_append(&l.streams[i], &l.stream_sizes[i], &allocated[i], "", 0);

        for (const char *p = text, *end = text + size; p < end;) {
                const char *nl = memchr(p, '\n', end - p), *ts, *sp;
                HarnessCriRecord rec = {};
                size_t n;

                line_no++;
                ck_assert_msg(nl, "%s:%zu: last record does not end with a newline", path, line_no);
                n = nl - p;
                ts = p;
                sp = memchr(p, ' ', n);
                ck_assert_msg(sp, "%s:%zu: no space after the timestamp", path, line_no);
                ck_assert_msg(timestamp_is_valid(ts, sp - ts), "%s:%zu: bad timestamp '%.*s'", path, line_no,
                              (int) (sp - ts), ts);
                p = sp + 1;
                if ((size_t) (nl - p) >= 7 && memcmp(p, "stdout ", 7) == 0)
                        rec.stream = 0;
                else if ((size_t) (nl - p) >= 7 && memcmp(p, "stderr ", 7) == 0)
                        rec.stream = 1;
                else
                        ck_abort_msg("%s:%zu: bad stream in '%.*s'", path, line_no, (int) MIN(n, 80), ts);
                p += 7;
                ck_assert_msg(p < nl && (*p == 'F' || *p == 'P'), "%s:%zu: bad tag", path, line_no);
                rec.partial = *p == 'P';
                p++;
                /* "<tag> <payload>"; an empty payload may come without its space. */
                if (p < nl) {
                        ck_assert_msg(*p == ' ', "%s:%zu: no space after the tag", path, line_no);
                        p++;
                }
                rec.payload_size = nl - p;
                rec.payload = malloc(rec.payload_size + 1);
                ck_assert_ptr_nonnull(rec.payload);
                memcpy(rec.payload, p, rec.payload_size);
                rec.payload[rec.payload_size] = 0;

                buffer_append(&l.streams[rec.stream], &l.stream_sizes[rec.stream], &allocated[rec.stream],
                              rec.payload, rec.payload_size);
                if (!rec.partial)
                        buffer_append(&l.streams[rec.stream], &l.stream_sizes[rec.stream],
                                      &allocated[rec.stream], "\n", 1);

                if (l.n_records == records_allocated) {
                        records_allocated = records_allocated * 2 + 64;
                        l.records = realloc(l.records, records_allocated * sizeof(HarnessCriRecord));
                        ck_assert_ptr_nonnull(l.records);
                }
                l.records[l.n_records++] = rec;
                p = nl + 1;
        }
        *ret = l;
}

/**
 * harness_cri_log_done() - frees what harness_cri_log_read() made.
 * @l: the log.
 */
void harness_cri_log_done(HarnessCriLog *l) {
        for (size_t i = 0; i < l->n_records; i++)
                free(l->records[i].payload);
        free(l->records);
        free(l->streams[0]);
        free(l->streams[1]);
        *l = (HarnessCriLog) {};
}

/* ---- /proc and files ------------------------------------------------------------------------- */

/**
 * harness_count_fds() - the number of open fds of pid.
 * @pid: the process.
 */
unsigned harness_count_fds(pid_t pid) {
        _cleanup_free_ char *path = harness_xasprintf("/proc/%d/fd", (int) pid);
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;
        unsigned n = 0;

        ck_assert_msg(d, "opendir %s: %m", path);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        return n;
}

/* Reads state and ppid from /proc/PID/stat; false if the process is gone. */
static bool proc_stat(pid_t pid, char *ret_state, pid_t *ret_ppid) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char buf[1024], *p;
        int ppid;

        if (asprintf(&path, "/proc/%d/stat", (int) pid) < 0)
                return false;
        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof(buf), f))
                return false;
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 1, " %c %d", ret_state, &ppid) != 2)
                return false;
        *ret_ppid = ppid;
        return true;
}

/**
 * harness_get_ppid() - the parent pid of pid; asserts the process exists.
 * @pid: the process.
 */
pid_t harness_get_ppid(pid_t pid) {
        pid_t ppid;
        char state;

        ck_assert_msg(proc_stat(pid, &state, &ppid), "process %d does not exist", (int) pid);
        return ppid;
}

/**
 * harness_pid_alive() - whether pid exists and is not a zombie.
 * @pid: the process.
 */
bool harness_pid_alive(pid_t pid) {
        return pid > 0 && pid_running(pid);
}

/**
 * harness_count_children() - the number of children of pid.
 * @pid: the parent.
 * @ret_zombies: gets how many of them are zombies (may be NULL).
 */
unsigned harness_count_children(pid_t pid, unsigned *ret_zombies) {
        _cleanup_closedir_ DIR *d = opendir("/proc");
        struct dirent *de;
        unsigned n = 0, zombies = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                pid_t ppid;
                char state;

                if (!digits(de->d_name, strlen(de->d_name)))
                        continue;
                if (!proc_stat(atoi(de->d_name), &state, &ppid) || ppid != pid)
                        continue;
                n++;
                if (state == 'Z')
                        zombies++;
        }
        if (ret_zombies)
                *ret_zombies = zombies;
        return n;
}

/**
 * harness_count_shims() - live berth-shim processes of this fixture (their command line names its
 * state dir), whoever their parent is.
 */
unsigned harness_count_shims(void) {
        _cleanup_closedir_ DIR *d = opendir("/proc");
        struct dirent *de;
        unsigned n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int fd = -EBADF;
                char buf[8192];
                ssize_t size;
                pid_t pid;

                if (!digits(de->d_name, strlen(de->d_name)))
                        continue;
                pid = atoi(de->d_name);
                if (!pid_is_shim(pid) || !harness_pid_alive(pid))
                        continue;
                path = harness_xasprintf("/proc/%d/cmdline", (int) pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                size = read(fd, buf, sizeof(buf) - 1);
                if (size <= 0)
                        continue;
                for (ssize_t i = 0; i < size; i++)
                        if (buf[i] == 0)
                                buf[i] = ' ';
                buf[size] = 0;
                if (strstr(buf, harness->state_dir))
                        n++;
        }
        return n;
}

static void list_recursive(const char *top, const char *rel, char **text) {
        _cleanup_free_ char *dir = rel ? harness_xasprintf("%s/%s", top, rel) : harness_xstrdup(top);
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                char *t;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                sub = rel ? harness_xasprintf("%s/%s", rel, de->d_name) : harness_xstrdup(de->d_name);
                t = harness_xasprintf("%s%s\n", *text, sub);
                free(*text);
                *text = t;
                if (de->d_type == DT_DIR)
                        list_recursive(top, sub, text);
        }
}

/**
 * harness_dir_listing() - every path below dir, relative, sorted, one a line; "" if dir is missing.
 * @dir: the directory.
 */
char *harness_dir_listing(const char *dir) {
        _cleanup_free_ char *text = harness_xstrdup("");
        char *sorted;

        list_recursive(dir, NULL, &text);
        sorted = harness_sort_lines(text);
        ck_assert_ptr_nonnull(sorted);
        return sorted;
}

/**
 * harness_runc_list() - the ids runc knows under the fixture's runtime root, sorted.
 */
char *harness_runc_list(void) {
        char *ids = runc_list(harness->runtime_root);

        ck_assert_msg(ids, "runc --root %s list failed", harness->runtime_root);
        return ids;
}

/**
 * harness_read_file() - reads a whole file (NUL terminated); asserts success.
 * @path: the file.
 * @ret_size: gets its size (may be NULL).
 */
char *harness_read_file(const char *path, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        char *buf = NULL;
        size_t size = 0, allocated = 0;

        ck_assert_msg(fd >= 0, "cannot open '%s': %m", path);
        for (;;) {
                ssize_t n;

                if (allocated - size < 65536) {
                        allocated = allocated * 2 + 65536;
                        buf = realloc(buf, allocated);
                        ck_assert_ptr_nonnull(buf);
                }
                n = read(fd, buf + size, allocated - size - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                ck_assert_msg(n >= 0, "cannot read '%s': %m", path);
                if (n == 0)
                        break;
                size += n;
        }
        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        return buf;
}

/**
 * harness_write_file() - writes a whole file (mode 0644); asserts success.
 * @path: the file.
 * @data: the content.
 * @size: its size.
 */
void harness_write_file(const char *path, const void *data, size_t size) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const char *p = data;

        ck_assert_msg(fd >= 0, "cannot create '%s': %m", path);
        while (size > 0) {
                ssize_t n = write(fd, p, size);

                if (n < 0 && errno == EINTR)
                        continue;
                ck_assert_msg(n > 0, "cannot write '%s': %m", path);
                p += n;
                size -= n;
        }
}

/**
 * harness_path_exists() - whether path exists (without following a final symlink).
 * @path: the path.
 */
bool harness_path_exists(const char *path) {
        struct stat st;

        return lstat(path, &st) == 0;
}

/**
 * harness_wait_until() - polls cond (every 5 ms) until it is true; returns false on timeout.
 * @cond: the condition.
 * @userdata: its argument.
 * @timeout_usec: how long to wait.
 */
bool harness_wait_until(bool (*cond)(void *userdata), void *userdata, uint64_t timeout_usec) {
        uint64_t deadline = harness_now_usec() + timeout_usec;

        for (;;) {
                if (cond(userdata))
                        return true;
                if (harness_now_usec() >= deadline)
                        return false;
                harness_sleep_usec(5 * USEC_PER_MSEC);
        }
}

/**
 * harness_cond_pid_gone() - harness_wait_until() condition: the process is gone
 * @pid: a pid_t *
 */
bool harness_cond_pid_gone(void *pid) {
        return !harness_pid_alive(*(pid_t *) pid);
}

/**
 * harness_cond_file_exists() - harness_wait_until() condition: the path exists
 * @path: a const char *
 */
bool harness_cond_file_exists(void *path) {
        return harness_path_exists(path);
}

/**
 * harness_settle_berthd() - let berthd finish what the last operation left in flight
 *
 * A shim exits just after it replied to Delete; berthd then reaps it and closes its connection
 * and pidfd. Waits until berthd has no children, no shim of this fixture runs and berthd's fd
 * count has been steady for 300 ms, within 10 s. A leak grows with every cycle, so it still shows.
 */
void harness_settle_berthd(void) {
        unsigned fds = 0, same = 0;

        for (unsigned i = 0; i < 1000 && same < 30; i++) {
                unsigned zombies, n;

                harness_process_bus();
                n = harness_count_fds(harness->berthd_pid);
                if (harness_count_children(harness->berthd_pid, &zombies) == 0 &&
                    harness_count_shims() == 0 && n == fds)
                        same++;
                else
                        same = 0;
                fds = n;
                usleep(10000);
        }
}

/**
 * harness_state_path() - the state directory of id, or the file name in it (free it).
 * @id: the container id.
 * @name: a file in its directory, or NULL for the directory itself.
 */
char *harness_state_path(const char *id, const char *name) {
        if (!name)
                return harness_xasprintf("%s/%s", harness->state_dir, id);
        return harness_xasprintf("%s/%s/%s", harness->state_dir, id, name);
}

/**
 * harness_install_data() - copies tests/data/name into a directory of its own in the fixture's temp
 * dir, mode 0755, and returns the copy's path (free it). The copy does not depend on the source
 * tree's file modes, and a script can keep its control files beside itself.
 * @name: the file below tests/data.
 */
char *harness_install_data(const char *name) {
        _cleanup_free_ char *src = harness_xasprintf("%s/tests/data/%s", harness_srcdir(), name);
        _cleanup_free_ char *dir = harness_xasprintf("%s/data-%s", harness->tmpdir, name);
        _cleanup_free_ char *text = NULL;
        char *dst = harness_xasprintf("%s/%s", dir, name);
        size_t size;

        text = harness_read_file(src, &size);
        ck_assert_msg(mkdir(dir, 0755) >= 0, "mkdir %s: %m", dir);
        harness_write_file(dst, text, size);
        ck_assert_msg(chmod(dst, 0755) >= 0, "chmod %s: %m", dst);
        return dst;
}

/* Whether pid holds the socket with inode ino. */
static bool pid_has_socket(pid_t pid, unsigned long ino) {
        _cleanup_free_ char *dir = harness_xasprintf("/proc/%d/fd", (int) pid);
        _cleanup_closedir_ DIR *d = opendir(dir);
        char want[64];
        struct dirent *de;

        snprintf(want, sizeof(want), "socket:[%lu]", ino);
        while (d && (de = readdir(d))) {
                char link[64], path[PATH_MAX];
                ssize_t n;

                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                n = readlink(path, link, sizeof(link) - 1);
                if (n <= 0)
                        continue;
                link[n] = 0;
                if (streq(link, want))
                        return true;
        }
        return false;
}

/**
 * harness_pending_connections() - how many connections wait to be accepted on the listening unix
 * sockets pid holds (NETLINK_SOCK_DIAG: the receive queue of a listener is its accept queue).
 * Tells a test that a client connected to a shim that is too busy to accept.
 * @pid: the process.
 */
unsigned harness_pending_connections(pid_t pid) {
        struct {
                struct nlmsghdr nlh;
                struct unix_diag_req req;
        } request = {
                .nlh = {
                        .nlmsg_len = sizeof(request),
                        .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                        .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                },
                .req = {
                        .sdiag_family = AF_UNIX,
                        .udiag_states = 1U << 10,       /* TCP_LISTEN */
                        .udiag_show = UDIAG_SHOW_RQLEN,
                },
        };
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        unsigned pending = 0;
        bool done = false;

        ck_assert_msg(fd >= 0, "cannot open a sock_diag socket: %m");
        ck_assert_msg(send(fd, &request, sizeof(request), 0) == (ssize_t) sizeof(request), "sock_diag: %m");
        while (!done) {
                union {
                        struct nlmsghdr h;
                        char buf[32768];
                } u;
                ssize_t n = recv(fd, u.buf, sizeof(u.buf), 0);

                ck_assert_msg(n > 0, "sock_diag recv: %m");
                for (struct nlmsghdr *h = &u.h; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        struct unix_diag_msg *m = NLMSG_DATA(h);
                        struct rtattr *a = (struct rtattr *) (m + 1);
                        size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));

                        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                                done = true;
                                break;
                        }
                        if (!pid_has_socket(pid, m->udiag_ino))
                                continue;
                        for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
                                if (a->rta_type == UNIX_DIAG_RQLEN)
                                        pending += ((struct unix_diag_rqlen *) RTA_DATA(a))->udiag_rqueue;
                }
        }
        return pending;
}

static bool text_has_line(const char *text, const char *line, size_t len) {
        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strneq(p, line, len) && (p[len] == '\n' || p[len] == 0))
                        return true;
        return false;
}

static unsigned print_missing_lines(const char *prefix, const char *from, const char *in) {
        unsigned n = 0;

        for (const char *p = from; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);

                if (!text_has_line(in, p, len)) {
                        fprintf(stderr, "%s%.*s\n", prefix, (int) len, p);
                        n++;
                }
                p = nl ? nl + 1 : NULL;
        }
        return n;
}

/**
 * harness_assert_same_text() - asserts two texts are equal; if not, prints the lines only one of
 * them has to stderr (Check's own messages are limited in size) and fails.
 * @what: what is compared, for the message.
 * @before: the expected text.
 * @after: the text seen.
 */
void harness_assert_same_text(const char *what, const char *before, const char *after) {
        unsigned n;

        if (streq(before, after))
                return;
        fprintf(stderr, "%s differs (- expected, + seen):\n", what);
        n = print_missing_lines("- ", before, after);
        n += print_missing_lines("+ ", after, before);
        ck_abort_msg("%s differs in %u lines, see above", what, n);
}

/* ---- snapshots ------------------------------------------------------------------------------- */

/**
 * harness_snapshot_take() - records ListContainers, the state and log dirs and runc's list.
 * @s: gets the snapshot.
 */
void harness_snapshot_take(HarnessSnapshot *s) {
        s->list = harness_list_text();
        s->state = harness_dir_listing(harness->state_dir);
        s->logs = harness_dir_listing(harness->log_dir);
        s->runc = harness_runc_list();
}

/**
 * harness_snapshot_assert_unchanged() - asserts nothing changed since harness_snapshot_take().
 * @s: the snapshot.
 */
void harness_snapshot_assert_unchanged(const HarnessSnapshot *s) {
        HarnessSnapshot now = {};

        harness_snapshot_take(&now);
        ck_assert_msg(streq(s->list, now.list), "ListContainers changed:\nbefore:\n%s\nafter:\n%s", s->list,
                      now.list);
        ck_assert_msg(streq(s->state, now.state), "state dir changed:\nbefore:\n%s\nafter:\n%s", s->state,
                      now.state);
        ck_assert_msg(streq(s->logs, now.logs), "log dir changed:\nbefore:\n%s\nafter:\n%s", s->logs,
                      now.logs);
        ck_assert_msg(streq(s->runc, now.runc), "runc list changed:\nbefore:\n%s\nafter:\n%s", s->runc,
                      now.runc);
        harness_snapshot_done(&now);
}

/**
 * harness_snapshot_done() - frees a snapshot.
 * @s: the snapshot.
 */
void harness_snapshot_done(HarnessSnapshot *s) {
        free(s->list);
        free(s->state);
        free(s->logs);
        free(s->runc);
        *s = (HarnessSnapshot) {};
}

/* ---- full disks ------------------------------------------------------------------------------ */

/**
 * harness_mount_tmpfs() - mounts a small tmpfs for a test of a full disk
 * @path: where (made if missing)
 * @size_kib: its size
 */
void harness_mount_tmpfs(const char *path, unsigned size_kib) {
        Harness *h = harness;
        _cleanup_free_ char *options = harness_xasprintf("size=%uk,mode=0755", size_kib);

        ck_assert_uint_lt(h->n_mounts, HARNESS_MOUNTS_MAX);
        if (mkdir(path, 0755) < 0)
                ck_assert_int_eq(errno, EEXIST);
        ck_assert_msg(mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options) >= 0,
                      "cannot mount a tmpfs on '%s': %m", path);
        h->mounts[h->n_mounts++] = harness_xasprintf("%s", path);
        guardian_tell(h, "mount %s\n", path);
}

/**
 * harness_fill_fs() - fills the file system of @dir until it is full
 * @dir: a directory on it; the filler is a file "filler" in it
 */
void harness_fill_fs(const char *dir) {
        _cleanup_free_ char *path = harness_xasprintf("%s/filler", dir);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        char block[4096] = {};

        ck_assert_int_ge(fd, 0);
        for (;;) {
                ssize_t n = write(fd, block, sizeof(block));
                if (n < 0) {
                        ck_assert_int_eq(errno, ENOSPC);
                        break;
                }
        }
        /* The last few bytes of a partly used page, too. */
        while (write(fd, block, 1) == 1)
                ;
}
