/* Running the OCI runtime: "<runtime> --root R --log DIR/log.json --log-format json [args] VERB ...".
 *
 * Each invocation is forked and waited for synchronously, through a pidfd with a timeout and then
 * waitid() on its pid, before control returns to the event loop. The generic reaper (which reaps
 * with waitpid(-1) on SIGCHLD, shim-reaper.c) therefore never sees a runtime invocation, and its
 * exit status can't be lost. The event loop doesn't run meanwhile; the container's pipes just fill.
 *
 * Each invocation runs in a process group of its own. When it times out or fails, the whole group
 * is killed before the invocation is reaped (while its pid still names the group), so a hanging
 * runtime wrapper leaves no children behind. A successful invocation's group is left alone: runc's
 * container init makes a session of its own during create, and whatever else a runtime leaves
 * running on success is its business (the shim, as subreaper, reaps it when it exits).
 *
 * When the runtime fails, the error a person gets is the runtime's own: the last "error" or
 * "fatal" message it appended to log.json during this invocation, else the last line it wrote
 * to stderr (captured in a memfd, except for create, whose stdio is the container's). */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "berth-error.h"
#include "fd-util.h"
#include "log.h"
#include "shim.h"

/* Only the tail of log.json is searched for the runtime's error. */
#define RUNTIME_LOG_TAIL_MAX (64 * 1024)
/* At most this much of the runtime's stderr is kept for the error message. */
#define RUNTIME_STDERR_TAIL_MAX 4096

static int argv_push(char **argv, size_t *n, const char *s) {
        argv[*n] = strdup(s);
        if (!argv[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

static int runtime_argv_new(Shim *s, char *const *command, char ***ret) {
        const ContainerConfig *c = s->config;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *log_path = NULL;
        size_t n = 0;
        int r;

        if (asprintf(&log_path, "%s/" STATE_FILE_RUNTIME_LOG, s->state_dir) < 0)
                return -ENOMEM;

        argv = calloc(8 + strv_length(c->runtime_args) + strv_length(command), sizeof(char *));
        if (!argv)
                return -ENOMEM;

        r = argv_push(argv, &n, c->runtime);
        if (r >= 0 && c->runtime_root) {
                r = argv_push(argv, &n, "--root");
                if (r >= 0)
                        r = argv_push(argv, &n, c->runtime_root);
        }
        if (r >= 0)
                r = argv_push(argv, &n, "--log");
        if (r >= 0)
                r = argv_push(argv, &n, log_path);
        if (r >= 0)
                r = argv_push(argv, &n, "--log-format");
        if (r >= 0)
                r = argv_push(argv, &n, "json");
        STRV_FOREACH(a, c->runtime_args)
                if (r >= 0)
                        r = argv_push(argv, &n, *a);
        STRV_FOREACH(a, command)
                if (r >= 0)
                        r = argv_push(argv, &n, *a);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(argv);
        return 0;
}

static _noreturn_ void runtime_exec(char **argv, const int stdio[3], int errno_fd) {
        int keep[] = { errno_fd }, copies[3], e;
        sigset_t mask;

        /* In the forked child: async-signal-safe calls only, no logging. */
        (void) sigemptyset(&mask);
        (void) sigprocmask(SIG_SETMASK, &mask, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);

        /* A group of its own, so that what it leaves behind on a timeout or a failure can be
         * killed with it (runc's container init makes a session of its own and is not in it). */
        if (setpgid(0, 0) < 0)
                goto fail;

        /* A runtime call must not outlive a killed shim: berthd cleans up after a dead shim, and
         * a runtime still creating behind its back would leave a stray container. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                goto fail;

        /* Copies above 2 first, so fds that are already 0..2 (or swapped) can't clobber each other. */
        for (size_t i = 0; i < 3; i++) {
                copies[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
                if (copies[i] < 0)
                        goto fail;
        }
        for (int i = 0; i < 3; i++)
                if (dup2(copies[i], i) < 0)
                        goto fail;
        (void) close_all_fds_except(keep, ELEMENTSOF(keep));

        execv(argv[0], argv);
fail:
        e = errno;
        (void) !write(errno_fd, &e, sizeof(e));
        _exit(127);
}

/* The waitpid() status of a child that exited, from waitid()'s siginfo. */
static int wait_status_from_siginfo(const siginfo_t *si) {
        switch (si->si_code) {
        case CLD_EXITED:
                return (si->si_status & 0xff) << 8;
        case CLD_KILLED:
                return si->si_status & 0x7f;
        case CLD_DUMPED:
                return (si->si_status & 0x7f) | 0x80;
        default:
                return 0xff << 8;
        }
}

/* Whether @pid has exited, without blocking: 1 (and its status), 0 if it runs, or -errno. Without
 * @reap it stays a zombie, so its pid, and the process group named after it, can't be reused. */
static int child_try_wait(pid_t pid, bool reap, int *ret_wstatus) {
        siginfo_t si = {};

        while (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | (reap ? 0 : WNOWAIT)) < 0)
                if (errno != EINTR)
                        return -errno;
        if (si.si_pid != pid)
                return 0;
        *ret_wstatus = wait_status_from_siginfo(&si);
        return 1;
}

/**
 * shim_wait_child() - wait for a child of the shim to exit
 * @pid: the child (a runtime invocation, or the container's init)
 * @timeout_usec: how long to wait at most
 * @reap: reap it; else it stays a zombie for the caller to reap (and its pid stays taken)
 * @ret_wstatus: its waitpid() status
 *
 * Waits on a pidfd, so only @pid is waited for: other exits stay for the SIGCHLD reaper.
 *
 * Return: 0, -ETIMEDOUT if @pid still runs (it is not killed), or another -errno.
 */
int shim_wait_child(pid_t pid, uint64_t timeout_usec, bool reap, int *ret_wstatus) {
        _cleanup_close_ int pidfd = -EBADF;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;
        int r;

        pidfd = pidfd_open_pid(pid);
        for (;;) {
                uint64_t now;
                int left_ms;

                r = child_try_wait(pid, reap, ret_wstatus);
                if (r != 0)
                        return MIN(r, 0);

                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return -ETIMEDOUT;
                if (pidfd < 0) {
                        /* No pidfds (old kernel): poll for the exit. */
                        (void) nanosleep(&(struct timespec) { .tv_nsec = 5 * 1000 * 1000 }, NULL);
                        continue;
                }
                left_ms = (int) MIN((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC,
                                    (uint64_t) INT_MAX);
                if (poll(&(struct pollfd) { .fd = pidfd, .events = POLLIN }, 1, left_ms) < 0 &&
                    errno != EINTR)
                        return -errno;
        }
}

static off_t runtime_log_size(Shim *s) {
        struct stat st;

        if (fstatat(s->dir_fd, STATE_FILE_RUNTIME_LOG, &st, 0) < 0)
                return 0;
        return st.st_size;
}

static int pread_full(int fd, char *buf, size_t size, off_t offset, size_t *ret_size) {
        size_t done = 0;

        while (done < size) {
                ssize_t n = pread(fd, buf + done, size - done, offset + (off_t) done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        *ret_size = done;
        return 0;
}

static char *runtime_log_line_error(const char *line, size_t size) {
        _cleanup_json_ json_object *o = NULL;
        json_object *level, *msg;
        json_tokener *tok;

        tok = json_tokener_new();
        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, line, (int) size);
        json_tokener_free(tok);

        if (!o || !json_object_is_type(o, json_type_object))
                return NULL;
        if (!json_object_object_get_ex(o, "level", &level) || !json_object_is_type(level, json_type_string))
                return NULL;
        if (!streq(json_object_get_string(level), "error") && !streq(json_object_get_string(level), "fatal"))
                return NULL;
        if (!json_object_object_get_ex(o, "msg", &msg) || !json_object_is_type(msg, json_type_string))
                return NULL;
        return strdup(json_object_get_string(msg));
}

/* The last error the runtime logged to log.json since @offset, or NULL. */
static char *runtime_log_last_error(Shim *s, off_t offset) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        char *result = NULL, *p, *end;
        struct stat st;
        off_t start;
        size_t size;

        fd = openat(s->dir_fd, STATE_FILE_RUNTIME_LOG, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= offset)
                return NULL;

        start = MAX(offset, st.st_size - RUNTIME_LOG_TAIL_MAX);
        buf = malloc((size_t) (st.st_size - start) + 1);
        if (!buf || pread_full(fd, buf, (size_t) (st.st_size - start), start, &size) < 0)
                return NULL;
        buf[size] = 0;

        p = buf;
        end = buf + size;
        if (start > offset) {
                /* We began in the middle of a line. */
                p = memchr(p, '\n', size);
                p = p ? p + 1 : end;
        }
        while (p < end) {
                char *nl = memchr(p, '\n', (size_t) (end - p)), *e;

                if (!nl)
                        nl = end;
                e = runtime_log_line_error(p, (size_t) (nl - p));
                if (e) {
                        free(result);
                        result = e;
                }
                p = nl + 1;
        }
        return result;
}

/* The last non-empty line the runtime wrote to stderr, or NULL. */
static char *runtime_stderr_last_line(int fd) {
        char buf[RUNTIME_STDERR_TAIL_MAX + 1], *end, *line;
        struct stat st;
        off_t start;
        size_t size;

        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
                return NULL;

        start = MAX((off_t) 0, st.st_size - RUNTIME_STDERR_TAIL_MAX);
        if (pread_full(fd, buf, (size_t) (st.st_size - start), start, &size) < 0)
                return NULL;
        buf[size] = 0;

        end = buf + size;
        while (end > buf && strchr("\n\r \t", end[-1]))
                *--end = 0;
        if (end == buf)
                return NULL;
        line = memrchr(buf, '\n', (size_t) (end - buf));
        return strdup(line ? line + 1 : buf);
}

static int runtime_failed(Shim *s, const char *verb, int wstatus, off_t log_offset, int stderr_fd,
                          BerthError *error) {
        _cleanup_free_ char *msg = NULL;

        msg = runtime_log_last_error(s, log_offset);
        if (!msg)
                msg = runtime_stderr_last_line(stderr_fd);
        if (!msg) {
                int k;

                if (WIFEXITED(wstatus))
                        k = asprintf(&msg, "'%s %s' exited with status %d", s->config->runtime, verb,
                                     WEXITSTATUS(wstatus));
                else
                        k = asprintf(&msg, "'%s %s' was killed by signal %s", s->config->runtime, verb,
                                     strsignal(WTERMSIG(wstatus)));
                if (k < 0)
                        return log_oom();
        }

        log_container(LOG_WARNING, s->config->id, "Runtime '%s' failed to %s '%s': %s", s->config->runtime,
                      verb,
                      s->config->id, msg);
        return berth_error_setf(error, BERTH_ERROR_RUNTIME_FAILED, "runtime failed: %s", msg);
}

/* Kills the runtime invocation @pid (exited or not, but not reaped yet, so that its pid still names
 * its group) and every process it left in its group, then reaps it. Its orphans are reparented to
 * us, the subreaper, and reaped by shim_reap() on SIGCHLD. */
static void runtime_kill_group(pid_t pid) {
        int wstatus;

        if (kill(-pid, SIGKILL) < 0 && errno != ESRCH)
                log_warning_errno(errno, "Failed to kill process group %d of the runtime, ignoring: %m",
                                  (int) pid);
        (void) kill(pid, SIGKILL);
        (void) shim_wait_child(pid, UINT64_MAX / 2, true, &wstatus);
}

static int runtime_timed_out(Shim *s, const char *verb, pid_t pid, BerthError *error) {
        runtime_kill_group(pid);

        log_container(LOG_ERR, s->config->id,
                      "Runtime '%s' did not finish '%s' within %" PRIu64 " s, killed it and its children.",
                      s->config->runtime, verb, s->runtime_timeout_usec / USEC_PER_SEC);
        return berth_error_setf(error, BERTH_ERROR_TIMEOUT,
                                 "The runtime '%s' did not finish '%s' within %" PRIu64 " s and was killed.",
                                 s->config->runtime, verb, s->runtime_timeout_usec / USEC_PER_SEC);
}

/* Runs the runtime with @command (its first word is the verb). @stdio is the child's stdin,
 * stdout and stderr (-EBADF: /dev/null); NULL gives /dev/null and a captured stderr.
 * On failure @error is set; -ENOEXEC means the runtime could not be executed at all. */
static int runtime_run(Shim *s, char *const *command, const int *stdio, BerthError *error) {
        _cleanup_close_ int null_fd = -EBADF, capture_fd = -EBADF, errno_read = -EBADF, errno_write = -EBADF;
        _cleanup_strv_free_ char **argv = NULL;
        const char *verb = command[0];
        int child_stdio[3], pipefd[2], wstatus, exec_errno;
        off_t log_offset;
        ssize_t n;
        pid_t pid;
        int r;

        r = runtime_argv_new(s, command, &argv);
        if (r < 0)
                return berth_error_setf(error, BERTH_ERROR_SHIM_FAILED, "Out of memory.");

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (null_fd < 0)
                return berth_error_setf(error, BERTH_ERROR_SHIM_FAILED, "Cannot open /dev/null: %s",
                                         strerror(errno));
        if (stdio)
                for (size_t i = 0; i < 3; i++)
                        child_stdio[i] = stdio[i] >= 0 ? stdio[i] : null_fd;
        else {
                capture_fd = memfd_create("runtime-stderr", MFD_CLOEXEC);
                child_stdio[0] = child_stdio[1] = null_fd;
                child_stdio[2] = capture_fd >= 0 ? capture_fd : null_fd;
        }

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return berth_error_setf(error, BERTH_ERROR_SHIM_FAILED, "Cannot create a pipe: %s",
                                         strerror(errno));
        errno_read = pipefd[0];
        errno_write = pipefd[1];

        log_offset = runtime_log_size(s);

        log_container(LOG_DEBUG, s->config->id, "Running '%s %s %s'.", s->config->runtime, verb,
                      s->config->id);
        pid = fork();
        if (pid < 0)
                return berth_error_setf(error, BERTH_ERROR_SHIM_FAILED, "Cannot fork: %s", strerror(errno));
        if (pid == 0)
                runtime_exec(argv, child_stdio, errno_write);
        errno_write = safe_close(errno_write);
        /* The child does the same; whoever comes first makes the group exist before we may kill it. */
        (void) setpgid(pid, pid);

        r = shim_wait_child(pid, s->runtime_timeout_usec, false, &wstatus);
        if (r == -ETIMEDOUT)
                return runtime_timed_out(s, verb, pid, error);
        if (r < 0) {
                runtime_kill_group(pid);
                return berth_error_setf(error, BERTH_ERROR_SHIM_FAILED,
                                         "Waiting for the runtime failed: %s",
                                         strerror(-r));
        }
        /* A successful call may leave processes that must live on; a failed one may not. */
        if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
                (void) shim_wait_child(pid, UINT64_MAX / 2, true, &wstatus);
        else
                runtime_kill_group(pid);

        n = read(errno_read, &exec_errno, sizeof(exec_errno));
        if (n == (ssize_t) sizeof(exec_errno)) {
                log_container(LOG_ERR, s->config->id, "Cannot execute runtime '%s': %s", s->config->runtime,
                              strerror(exec_errno));
                (void) berth_error_setf(error, BERTH_ERROR_RUNTIME_FAILED,
                                         "runtime failed: cannot execute '%s': %s",
                                         s->config->runtime, strerror(exec_errno));
                return -ENOEXEC;
        }

        if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
                log_container(LOG_DEBUG, s->config->id, "Runtime '%s %s' succeeded.", s->config->runtime,
                              verb);
                return 0;
        }
        return runtime_failed(s, verb, wstatus, log_offset, capture_fd, error);
}

static void runtime_delete_after_failed_create(Shim *s) {
        _cleanup_(berth_error_free) BerthError error = BERTH_ERROR_NULL;
        char *const command[] = { (char *) "delete", (char *) "--force", s->config->id, NULL };
        int r;

        r = runtime_run(s, command, NULL, &error);
        if (r < 0)
                log_container(LOG_WARNING, s->config->id,
                              "Cleaning up after the failed create of '%s' failed: %s",
                              s->config->id, error.message ?: strerror(-r));
}

/**
 * shim_runtime_create() - create the container, with its stdio set up by shim_stdio_setup()
 * @s: the shim
 * @error: set to a named error on failure
 *
 * On success s->init_pid is the container's init, which is our child once the runtime exited.
 * On failure the runtime's state is deleted again.
 *
 * Return: 0 or -errno.
 */
int shim_runtime_create(Shim *s, BerthError *error) {
        const ContainerConfig *c = s->config;
        _cleanup_free_ char *pid_path = NULL;
        char *command[9];
        int stdio[3] = {
                s->child_stdin_fd,
                s->streams[CRI_STREAM_STDOUT].child_fd,
                s->streams[CRI_STREAM_STDERR].child_fd,
        };
        uint64_t pid;
        size_t n = 0;
        int r;

        if (asprintf(&pid_path, "%s/" STATE_FILE_PID, s->state_dir) < 0)
                return berth_error_setf(error, BERTH_ERROR_SHIM_FAILED, "Out of memory.");

        command[n++] = (char *) "create";
        command[n++] = (char *) "--bundle";
        command[n++] = c->bundle;
        command[n++] = (char *) "--pid-file";
        command[n++] = pid_path;
        if (c->no_pivot_root)
                command[n++] = (char *) "--no-pivot";
        command[n++] = c->id;
        command[n] = NULL;

        r = runtime_run(s, command, stdio, error);
        if (r < 0) {
                /* A runtime that cannot be executed created nothing, and can't delete anything. */
                if (r != -ENOEXEC)
                        runtime_delete_after_failed_create(s);
                return r;
        }

        r = state_read_u64(s->dir_fd, STATE_FILE_PID, &pid);
        if (r < 0 || pid == 0 || pid > INT_MAX) {
                log_container(LOG_ERR, s->config->id, "The runtime wrote no valid pid file for '%s'.",
                              c->id);
                runtime_delete_after_failed_create(s);
                return berth_error_setf(error, BERTH_ERROR_RUNTIME_FAILED,
                                         "runtime failed: '%s create' wrote no valid pid file", c->runtime);
        }

        s->init_pid = (pid_t) pid;
        return 0;
}

/**
 * shim_runtime_start() - run "runtime start ID"
 * @s: the shim
 * @error: set to a named error on failure
 *
 * Return: 0 or -errno.
 */
int shim_runtime_start(Shim *s, BerthError *error) {
        char *const command[] = { (char *) "start", s->config->id, NULL };

        return runtime_run(s, command, NULL, error);
}

/**
 * shim_runtime_kill() - run "runtime kill [--all] ID SIGNAL"
 * @s: the shim
 * @sig: the signal number, 1..64
 * @all: signal every process of the container, not only its init
 * @error: set to a named error on failure
 *
 * Return: 0 or -errno.
 */
int shim_runtime_kill(Shim *s, int sig, bool all, BerthError *error) {
        char signame[16];
        char *command[6];
        size_t n = 0;

        (void) snprintf(signame, sizeof(signame), "%d", sig);
        command[n++] = (char *) "kill";
        if (all)
                command[n++] = (char *) "--all";
        command[n++] = s->config->id;
        command[n++] = signame;
        command[n] = NULL;

        return runtime_run(s, command, NULL, error);
}

/**
 * shim_runtime_pause() - run "runtime pause ID"
 * @s: the shim
 * @error: set to a named error on failure
 *
 * Return: 0 or -errno.
 */
int shim_runtime_pause(Shim *s, BerthError *error) {
        char *const command[] = { (char *) "pause", s->config->id, NULL };

        return runtime_run(s, command, NULL, error);
}

/**
 * shim_runtime_resume() - run "runtime resume ID"
 * @s: the shim
 * @error: set to a named error on failure
 *
 * Return: 0 or -errno.
 */
int shim_runtime_resume(Shim *s, BerthError *error) {
        char *const command[] = { (char *) "resume", s->config->id, NULL };

        return runtime_run(s, command, NULL, error);
}

/**
 * shim_runtime_delete() - run "runtime delete [--force] ID"
 * @s: the shim
 * @force: kill the container first if it still runs
 * @error: set to a named error on failure
 *
 * Return: 0 or -errno.
 */
int shim_runtime_delete(Shim *s, bool force, BerthError *error) {
        char *command[5];
        size_t n = 0;

        command[n++] = (char *) "delete";
        if (force)
                command[n++] = (char *) "--force";
        command[n++] = s->config->id;
        command[n] = NULL;

        return runtime_run(s, command, NULL, error);
}
