/* Reporting the container's exit, in the order the promises need: the init has been reaped, every
 * output stream reached EOF (or, if some other process keeps a pipe open, 5 s passed and what
 * was readable got drained) and written to the log (readers see it; it is not fsync'ed: that
 * costs a disk flush per container for a guarantee only an OS crash would test), the exit record is
 * on disk (atomically, fsync'ed) -- and only then is Exited sent to the connected control buses.
 *
 * The record must get on disk when nothing else can: on a full state filesystem, or with the shim
 * at its fd limit. So its file, its space and its fd are reserved before the container is created
 * ("exit.reserved", common/atomic-file.c), and writing it at exit needs no new inode, block or fd.
 * Should that still fail (an I/O error, something in the way of the rename), the exit stays in
 * memory and is retried every second: until the record is on disk, nobody hears of the exit
 * (GetState still says running), and the shim, which only exits on Delete, does not go away.
 *
 * OOM kills are detected through the container's memory cgroup: its oom_kill counter (cgroup v1
 * memory.oom_control, v2 memory.events) is read right after create and again at exit; if it grew,
 * the record says oom_killed, and a SIGKILL'ed init gets the reason "oom-killed". The runtime
 * removes the cgroup only on delete, so it is still there at exit. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "log.h"
#include "shim.h"

#define OOM_FILE_MAX 4096
/* How often a record that could not be written is tried again. */
#define EXIT_RECORD_RETRY_USEC USEC_PER_SEC

/* The oom_kill counter from the open memory.oom_control or memory.events: read with pread(), so
 * that the exit needs no new fd. */
static int oom_read_count(int fd, uint64_t *ret) {
        char text[OOM_FILE_MAX];
        ssize_t n;

        n = pread(fd, text, sizeof(text) - 1, 0);
        if (n < 0)
                return -errno;
        text[n] = 0;

        for (char *line = text; line && *line; ) {
                char *nl = strchr(line, '\n');
                uint64_t v;

                if (nl)
                        *nl = 0;
                if (sscanf(line, "oom_kill %" SCNu64, &v) == 1) {
                        *ret = v;
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return -ENODATA;
}

static bool controllers_have_memory(const char *list) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return false;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
                if (streq(w, "memory"))
                        return true;
        return false;
}

/* The file holding the oom_kill counter of the cgroup @pid is in, or NULL. */
static char *oom_file_of_pid(pid_t pid) {
        _cleanup_free_ char *text = NULL, *v2_path = NULL;
        char proc[64], *path = NULL;
        size_t size;

        (void) snprintf(proc, sizeof(proc), "/proc/%d/cgroup", (int) pid);
        if (read_full_file_at(AT_FDCWD, proc, 64 * 1024, &text, &size) < 0)
                return NULL;

        /* Lines are "ID:CONTROLLERS:PATH"; v1 has the memory controller named, v2 is "0::PATH". */
        for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                char *controllers, *cgroup;

                nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                controllers = strchr(line, ':');
                if (!controllers)
                        continue;
                cgroup = strchr(++controllers, ':');
                if (!cgroup)
                        continue;
                *cgroup++ = 0;

                if (controllers_have_memory(controllers)) {
                        if (asprintf(&path, "/sys/fs/cgroup/memory%s/memory.oom_control", cgroup) < 0)
                                return NULL;
                        if (access(path, R_OK) >= 0)
                                return path;
                        path = mfree(path);
                } else if (*controllers == 0 && !v2_path)
                        v2_path = strdup(cgroup);
        }

        if (!v2_path)
                return NULL;
        /* Unified hierarchy, or the v2 part of a hybrid setup. */
        if (asprintf(&path, "/sys/fs/cgroup%s/memory.events", v2_path) < 0)
                return NULL;
        if (access(path, R_OK) >= 0)
                return path;
        path = mfree(path);
        if (asprintf(&path, "/sys/fs/cgroup/unified%s/memory.events", v2_path) < 0)
                return NULL;
        if (access(path, R_OK) >= 0)
                return path;
        return mfree(path);
}

/**
 * shim_oom_setup() - find the container's memory cgroup, for OOM detection at exit
 * @s: the shim, after create
 *
 * Best effort: without it, OOM kills are reported as plain SIGKILLs.
 */
void shim_oom_setup(Shim *s) {
        _cleanup_free_ char *path = oom_file_of_pid(s->init_pid);

        if (path)
                s->oom_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (s->oom_fd < 0) {
                log_container(LOG_DEBUG, s->config->id,
                              "No memory cgroup found for '%s', OOM kills won't be told apart.",
                              s->config->id);
                return;
        }
        if (oom_read_count(s->oom_fd, &s->oom_kills_at_create) < 0) {
                s->oom_fd = safe_close(s->oom_fd);
                return;
        }
        log_container(LOG_DEBUG, s->config->id, "Watching '%s' for OOM kills.", path);
}

static void oom_check(Shim *s) {
        uint64_t n;

        if (s->oom_fd < 0 || oom_read_count(s->oom_fd, &n) < 0 || n <= s->oom_kills_at_create)
                return;

        s->exit.oom_killed = true;
        if (s->exit.reason == EXIT_REASON_SIGNALED && s->exit.signal == SIGKILL)
                s->exit.reason = EXIT_REASON_OOM_KILLED;
        log_container(LOG_WARNING, s->config->id, "The kernel's OOM killer killed a process of '%s'.",
                      s->config->id);
}

/**
 * shim_exit_reserve() - reserve the exit record's file, space and fd, before the container exists
 * @s: the shim, with its state directory open
 * @error: set on failure
 *
 * A container whose exit could not be recorded is not created: on a full filesystem or at the fd
 * limit the create fails with LimitReached.
 *
 * Return: 0 or -errno, with @error set.
 */
int shim_exit_reserve(Shim *s, BerthError *error) {
        int r;

        r = exit_record_reserve(s->dir_fd, &s->exit_file);
        if (r >= 0)
                return 0;

        log_container_errno(LOG_ERR, s->config->id, r, "Failed to reserve the exit record of '%s': %m",
                            s->config->id);
        (void) berth_error_setf(error,
                                 IN_SET(-r, ENOSPC, EDQUOT, EMFILE, ENFILE) ? BERTH_ERROR_LIMIT_REACHED :
                                                                            BERTH_ERROR_SHIM_FAILED,
                                 "Cannot reserve the exit record in '%s': %s", s->state_dir, strerror(-r));
        return r;
}

/* The record into its reservation; should that fail (the reserved file was removed, say), written
 * as any other state file. */
static int exit_record_write(Shim *s) {
        int r;

        r = exit_record_commit(&s->exit_file, s->dir_fd, &s->exit);
        if (r >= 0)
                return 0;
        if (exit_record_save(s->dir_fd, &s->exit) >= 0)
                return 0;
        return r;
}

static int on_exit_retry(EventSource *source, void *userdata) {
        Shim *s = userdata;

        s->exit_retry_source = event_source_free(s->exit_retry_source);
        shim_exit_check(s);
        return 0;
}

static void exit_record_failed(Shim *s, int r) {
        s->exit_write_failures++;
        if (ratelimit_below(&s->exit_ratelimit))
                log_container_errno(LOG_ERR, s->config->id, r,
                                    "Failed to write the exit record of '%s': %m. The exit (status %d) is "
                                    "kept and not reported until the record is on disk; trying again.",
                                    s->config->id, s->exit.status);

        if (s->exit_retry_source)
                return;
        r = event_add_timer(s->loop, &s->exit_retry_source, EXIT_RECORD_RETRY_USEC, on_exit_retry, s);
        if (r < 0)
                log_container_errno(LOG_ERR, s->config->id, r,
                                    "Failed to arm the retry of the exit record, ignoring: %m");
}

static void exit_report(Shim *s) {
        int r;

        if (s->exit_write_failures == 0)
                oom_check(s);

        r = exit_record_write(s);
        if (r < 0) {
                exit_record_failed(s, r);
                return;
        }
        if (s->exit_write_failures > 0)
                log_container(LOG_NOTICE, s->config->id, "Wrote the exit record of '%s' after %u failed attempts.",
                              s->config->id, s->exit_write_failures);

        s->exit_retry_source = event_source_free(s->exit_retry_source);
        s->exit_reported = true;
        s->state = CONTAINER_STOPPED;
        log_container(LOG_INFO, s->config->id, "Container '%s' stopped with status %d (%s).", s->config->id,
                      s->exit.status, exit_reason_to_string(s->exit.reason));

        shim_control_emit_exited(s);
}

static int on_drain_timeout(EventSource *source, void *userdata) {
        Shim *s = userdata;

        log_container(LOG_WARNING, s->config->id,
                      "Output of '%s' did not end %" PRIu64 " s after its init exited "
                      "(another process holds it), reporting the exit now.",
                      s->config->id, SHIM_DRAIN_TIMEOUT_USEC / USEC_PER_SEC);
        s->drain_timeout_source = event_source_free(s->drain_timeout_source);
        shim_stdio_drain(s);
        shim_exit_check(s);
        return 0;
}

/**
 * shim_exit_check() - report the exit if the init is gone and all output is drained
 * @s: the shim
 *
 * Call whenever one of the two may have changed. Arms the drain timeout when only output is
 * missing.
 */
void shim_exit_check(Shim *s) {
        int r;

        if (!s->init_exited || s->exit_reported || s->deleted)
                return;

        if (!shim_stdio_is_drained(s)) {
                if (s->drain_timeout_source)
                        return;
                r = event_add_timer(s->loop, &s->drain_timeout_source, SHIM_DRAIN_TIMEOUT_USEC,
                                    on_drain_timeout, s);
                if (r >= 0)
                        return;
                log_container_errno(LOG_WARNING, s->config->id, r,
                                    "Failed to arm the drain timeout, draining now: %m");
                shim_stdio_drain(s);
        }

        s->drain_timeout_source = event_source_free(s->drain_timeout_source);
        exit_report(s);
}

/**
 * shim_exit_done() - release what exit reporting holds
 * @s: the shim
 */
void shim_exit_done(Shim *s) {
        s->drain_timeout_source = event_source_free(s->drain_timeout_source);
        s->exit_retry_source = event_source_free(s->exit_retry_source);
        reserved_file_done(&s->exit_file);
        s->oom_fd = safe_close(s->oom_fd);
}
