/* The exec process model: lifetime, state changes, waiters. Its D-Bus face (org.berth.Process1) is
 * in process-dbus.c; the calls to the shim in container-exec.c. */

#include <fcntl.h>
#include <sys/stat.h>

#include "atomic-file.h"
#include "bus-error.h"
#include "container.h"
#include "exec-sync.h"
#include "log.h"
#include "manager.h"
#include "path-util.h"
#include "process.h"

/* Written in the exec's directory once ProcessExited went out, so a restart never sends it twice. */
#define EXEC_FILE_REPORTED "reported"

/**
 * exec_id_is_valid() - check an exec id
 * @exec_id: the id
 * @internal: also accept berthd's own ids, which start with one '.'
 */
bool exec_id_is_valid(const char *exec_id, bool internal) {
        if (internal && exec_id && exec_id[0] == '.')
                exec_id++;
        return container_id_is_valid(exec_id);
}

/**
 * process_new() - a new exec process of @c, not yet on the bus
 * @c: the container
 * @exec_id: a valid exec id, unique in @c
 * @terminal: whether it has a terminal
 * @ret: the process
 */
int process_new(Container *c, const char *exec_id, bool terminal, Process **ret) {
        _cleanup_(process_freep) Process *p = NULL;
        int r;

        p = calloc(1, sizeof(Process));
        if (!p)
                return -ENOMEM;
        p->state = CONTAINER_CREATED;
        p->terminal = terminal;
        p->exec_id = strdup(exec_id);
        if (!p->exec_id)
                return -ENOMEM;
        r = process_path_new(c->path, exec_id, &p->path);
        if (r < 0)
                return r;

        p->container = c;
        LIST_PREPEND(processes, c->processes, p);
        *ret = TAKE_PTR(p);
        return 0;
}

static void process_fail_waiters(Process *p) {
        LIST_FOREACH_SAFE(waiters, w, n, p->waiters) {
                if (p->exited)
                        (void) sd_bus_reply_method_return(w->request, "i", p->exit.status);
                else
                        (void) sd_bus_reply_method_errorf(w->request, BERTH_ERROR_NO_SUCH_PROCESS,
                                                          "Process '%s' of '%s' went away before it exited.",
                                                          p->exec_id, p->container->id);
                waiter_free(w);
        }
}

/**
 * process_free() - unlink and free a process; its waiters get an answer
 * @p: the process, may be NULL
 */
Process *process_free(Process *p) {
        if (!p)
                return NULL;

        process_fail_waiters(p);
        if (p->sync)
                exec_sync_process_gone(p->sync);
        if (p->container)
                LIST_REMOVE(processes, p->container->processes, p);
        free(p->path);
        free(p->exec_id);
        return mfree(p);
}

/**
 * container_get_process() - look up an exec process of @c
 * @c: the container
 * @exec_id: the exec id
 */
Process *container_get_process(Container *c, const char *exec_id) {
        LIST_FOREACH(processes, p, c->processes)
                if (streq(p->exec_id, exec_id))
                        return p;
        return NULL;
}

/**
 * process_export() - put a process on the bus (never one of berthd's own)
 * @p: the process
 * @announce: emit InterfacesAdded (not for processes found after a restart)
 */
void process_export(Process *p, bool announce) {
        if (p->exported || p->exec_id[0] == '.')
                return;
        p->exported = true;
        if (announce)
                process_emit_added(p);
}

/**
 * process_set_started() - record that the process runs
 * @p: the process
 * @pid: its pid
 * @started_at: when, µs CLOCK_REALTIME
 */
void process_set_started(Process *p, pid_t pid, uint64_t started_at) {
        if (p->exited)
                return;
        p->state = CONTAINER_RUNNING;
        p->pid = pid;
        p->started_at = started_at;
        process_send_changed(p, "State", "Pid", NULL);
}

static bool process_exit_reported(Process *p, bool mark) {
        _cleanup_free_ char *name = NULL;
        Container *c = p->container;
        int r;

        if (c->dir_fd < 0 || asprintf(&name, "exec/%s/" EXEC_FILE_REPORTED, p->exec_id) < 0)
                return false;
        if (faccessat(c->dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return true;
        if (mark) {
                r = write_file_atomic_at_full(c->dir_fd, name, "", 0, 0644, ATOMIC_FILE_NO_SYNC);
                if (r < 0 && r != -ENOENT)
                        log_container_errno(LOG_DEBUG, c->id, r, "Failed to mark the exit of '%s' reported: %m",
                                            p->exec_id);
        }
        return false;
}

/**
 * process_set_exited() - record the exit, tell the bus once, and answer every waiter
 * @p: the process
 * @e: the exit record
 * @notify: emit ProcessExited (unless announced before a restart)
 */
void process_set_exited(Process *p, const ExitRecord *e, bool notify) {
        if (p->exited)
                return;

        p->exited = true;
        p->exit = *e;
        p->state = CONTAINER_STOPPED;
        process_send_changed(p, "State", "ExitStatus", "ExitReason", NULL);

        /* Mark first, then tell, as for containers. */
        if (notify && p->exported && !process_exit_reported(p, true))
                process_emit_exited(p);

        LIST_FOREACH_SAFE(waiters, w, n, p->waiters) {
                (void) sd_bus_reply_method_return(w->request, "i", e->status);
                waiter_free(w);
        }
        if (p->sync)
                exec_sync_process_exited(p->sync);
}

/**
 * process_remove() - the process is gone: tell the bus and free it
 * @p: the process
 */
void process_remove(Process *p) {
        if (p->exported)
                process_emit_removed(p);
        p->exported = false;
        process_free(p);
}

/**
 * process_add_waiter() - reply to @request with the exit status once the process has stopped
 * @p: the process
 * @request: a Wait call
 * @error: set to LimitReached when the caller has too many calls waiting
 */
int process_add_waiter(Process *p, sd_bus_message *request, sd_bus_error *error) {
        if (p->exited)
                return sd_bus_reply_method_return(request, "i", p->exit.status);
        return waiter_add(p->container->manager, &p->waiters, request, error);
}
