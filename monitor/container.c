/* The container model: lifetime, state changes, waiters and removal. Its D-Bus face is in
 * container-dbus.c and its shim plumbing in shim-spawn.c, shim-link.c, shim-watch.c and
 * runtime-cleanup.c. */

#include <fcntl.h>
#include <sys/stat.h>

#include "atomic-file.h"
#include "bus-error.h"
#include "container.h"
#include "log.h"
#include "manager.h"
#include "path-util.h"
#include "process.h"

/**
 * container_new() - allocate a container and link it into the manager
 * @m: the manager
 * @id: a valid container id
 * @config: its configuration; ownership passes to the container on success
 * @ret: the new container
 */
int container_new(Manager *m, const char *id, ContainerConfig *config, Container **ret) {
        _cleanup_(container_freep) Container *c = NULL;
        int r;

        c = calloc(1, sizeof(Container));
        if (!c)
                return -ENOMEM;
        c->dir_fd = c->ready_fd = -EBADF;
        c->state = CONTAINER_UNKNOWN;

        c->id = strdup(id);
        if (!c->id)
                return -ENOMEM;
        r = container_path_new(id, &c->path);
        if (r < 0)
                return r;

        c->manager = m;
        LIST_PREPEND(containers, m->containers, c);
        c->config = config;
        *ret = TAKE_PTR(c);
        return 0;
}

static void container_fail_pending(Container *c) {
        bool shutdown = c->manager && c->manager->shutting_down;

        LIST_FOREACH_SAFE(calls, p, n, c->calls) {
                if (p->request && shutdown)
                        (void) sd_bus_reply_method_errorf(p->request, SD_BUS_ERROR_NO_REPLY,
                                                          "berthd is stopping; container '%s' is not affected.",
                                                          c->id);
                else if (p->request)
                        (void) sd_bus_reply_method_errorf(p->request, BERTH_ERROR_NO_SUCH_CONTAINER,
                                                          "Container '%s' went away.", c->id);
                LIST_REMOVE(calls, c->calls, p);
                pending_call_free(p);
        }

        LIST_FOREACH_SAFE(waiters, w, n, c->waiters) {
                if (c->exited)
                        (void) sd_bus_reply_method_return(w->request, "i", c->exit.status);
                else if (shutdown)
                        /* The container keeps running: NoReply tells clients to ask the next berthd. */
                        (void) sd_bus_reply_method_errorf(w->request, SD_BUS_ERROR_NO_REPLY,
                                                          "berthd is stopping; container '%s' keeps running.",
                                                          c->id);
                else
                        (void) sd_bus_reply_method_errorf(w->request, BERTH_ERROR_NO_SUCH_CONTAINER,
                                                          "Container '%s' was deleted before it exited.",
                                                          c->id);
                waiter_free(w);
        }

        LIST_FOREACH_SAFE(waiters, w, n, c->delete_waiters) {
                if (shutdown)
                        (void) sd_bus_reply_method_errorf(w->request, SD_BUS_ERROR_NO_REPLY,
                                                          "berthd is stopping while deleting '%s'.", c->id);
                else
                        (void) sd_bus_reply_method_errorf(w->request, BERTH_ERROR_SHIM_FAILED,
                                                          "Deleting container '%s' was aborted.", c->id);
                waiter_free(w);
        }

        if (c->create_request) {
                (void) sd_bus_reply_method_errorf(c->create_request, BERTH_ERROR_SHIM_FAILED,
                                                  "Creating container '%s' was aborted.", c->id);
                c->create_request = sd_bus_message_unref(c->create_request);
        }
}

/**
 * pending_call_free() - free a forwarded call (unlinked already)
 * @p: the call
 */
void pending_call_free(PendingCall *p) {
        sd_bus_slot_unref(p->slot);
        sd_bus_message_unref(p->request);
        free(p->exec_id);
        free(p);
}

/**
 * container_free() - unlink and free a container; pending clients get an error reply
 * @c: the container, may be NULL
 *
 * Never touches the shim or the state directory: containers outlive berthd.
 */
Container *container_free(Container *c) {
        if (!c)
                return NULL;

        while (c->processes)
                process_free(c->processes);
        container_fail_pending(c);

        if (c->manager)
                LIST_REMOVE(containers, c->manager->containers, c);

        if (c->manager)
                container_set_attaching(c, false);
        process_watch_free(c->shim_watch);
        sd_event_source_disable_unref(c->ready_source);
        sd_event_source_disable_unref(c->create_timeout_source);
        sd_event_source_disable_unref(c->remove_source);
        sd_bus_slot_unref(c->state_slot);
        sd_bus_flush_close_unref(c->shim_bus);
        safe_close(c->ready_fd);
        safe_close(c->dir_fd);
        free(c->ready_buf);
        free(c->create_error_name);
        free(c->create_error_message);
        container_config_free(c->config);
        free(c->path);
        free(c->id);
        return mfree(c);
}

/**
 * container_is_alive() - whether the container's processes may still run
 * @c: the container
 */
bool container_is_alive(const Container *c) {
        return IN_SET(c->state, CONTAINER_RUNNING, CONTAINER_PAUSED);
}

/**
 * container_is_deleting() - whether a delete is under way or done
 * @c: the container
 */
bool container_is_deleting(const Container *c) {
        return IN_SET(c->op, CONTAINER_OP_DELETING, CONTAINER_OP_DELETED);
}

/**
 * container_op_end() - the operation @op is over (if it still is the current one)
 * @c: the container
 * @op: the operation that ended
 */
void container_op_end(Container *c, ContainerOp op) {
        if (c->op == op)
                c->op = CONTAINER_OP_NONE;
}

/**
 * container_export() - make a container visible on the bus
 * @c: the container
 * @announce: emit InterfacesAdded and ContainerCreated (not for containers found after a restart)
 */
int container_export(Container *c, bool announce) {
        Manager *m = c->manager;

        if (c->exported)
                return 0;

        container_op_end(c, CONTAINER_OP_CREATING);
        c->exported = true;
        m->n_containers++;
        if (!announce)
                return 0;

        container_emit_created(c);
        manager_emit_count_changed(m);
        return 0;
}

/**
 * container_add_waiter() - reply to @request with the exit status once the container has stopped
 * @c: the container
 * @request: a Wait or WaitContainer call
 * @error: set to LimitReached when the caller has too many calls waiting
 */
int container_add_waiter(Container *c, sd_bus_message *request, sd_bus_error *error) {
        if (c->exited)
                return sd_bus_reply_method_return(request, "i", c->exit.status);
        return waiter_add(c->manager, &c->waiters, request, error);
}

/**
 * container_add_delete_waiter() - answer @request when the delete under way finishes
 * @c: the container, being deleted
 * @request: a Delete or DeleteContainer call; concurrent ones share the outcome of one delete
 * @error: set to LimitReached when the caller has too many calls waiting
 */
int container_add_delete_waiter(Container *c, sd_bus_message *request, sd_bus_error *error) {
        return waiter_add(c->manager, &c->delete_waiters, request, error);
}

/**
 * container_answer_deletes() - answer every Delete call waiting on @c
 * @c: the container
 * @error: why the delete failed, or NULL when it succeeded
 */
void container_answer_deletes(Container *c, const sd_bus_error *error) {
        LIST_FOREACH_SAFE(waiters, w, n, c->delete_waiters) {
                int r;

                if (error)
                        r = sd_bus_reply_method_error(w->request, error);
                else
                        r = sd_bus_reply_method_return(w->request, NULL);
                if (r < 0)
                        log_container_errno(LOG_DEBUG, c->id, r, "Failed to answer a Delete, ignoring: %m");
                waiter_free(w);
        }
}

/**
 * container_set_started() - record that the init process runs
 * @c: the container
 * @pid: the init pid
 * @started_at: when, µs CLOCK_REALTIME
 */
void container_set_started(Container *c, pid_t pid, uint64_t started_at) {
        if (c->exited)
                return;

        c->state = CONTAINER_RUNNING;
        c->pid = pid;
        c->started_at = started_at;
        container_send_changed(c, "State", "Pid", "StartedAt", NULL);
        container_emit_started(c);
        log_container(LOG_INFO, c->id, "Container '%s' started as pid %d.", c->id, (int) pid);
}

/**
 * container_set_log_bytes_dropped() - record how much output the shim could not log
 * @c: the container
 * @n: the shim's count, which only grows
 */
void container_set_log_bytes_dropped(Container *c, uint64_t n) {
        if (n == c->log_bytes_dropped)
                return;
        if (c->log_bytes_dropped == 0)
                log_container(LOG_WARNING, c->id, "The log of '%s' is losing output (full disk?).", c->id);
        c->log_bytes_dropped = n;
        container_send_changed(c, "LogBytesDropped", NULL);
}

/**
 * container_flush_exit_signal() - emit a pending ContainerExited once berthd owns its name
 * @c: the container
 *
 * Exits found while re-attaching are announced only after the name is taken, so that clients
 * matching on the well-known sender see them.
 */
void container_flush_exit_signal(Container *c) {
        if (!c->exit_signal_pending || !c->manager->ready)
                return;
        c->exit_signal_pending = false;
        container_emit_exited(c);
}

/**
 * container_set_exited() - record the exit, tell the bus once, and answer every waiter
 * @c: the container
 * @e: the exit record
 * @notify: emit ContainerExited (false when the exit was reported before a restart)
 */
void container_set_exited(Container *c, const ExitRecord *e, bool notify) {
        int r;

        if (c->exited)
                return;

        c->exited = true;
        c->exit = *e;
        c->state = CONTAINER_STOPPED;

        container_send_changed(c, "State", "ExitStatus", "ExitReason", "OOMKilled", "FinishedAt", NULL);

        /* Mark first, then tell: a crash in between loses one signal but never sends two; the
         * exit record itself stays readable either way. */
        if (notify && c->dir_fd >= 0 && faccessat(c->dir_fd, STATE_FILE_REPORTED, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                notify = false;
        if (notify && c->dir_fd >= 0) {
                r = write_file_atomic_at_full(c->dir_fd, STATE_FILE_REPORTED, "", 0, 0644, ATOMIC_FILE_NO_SYNC);
                if (r < 0)
                        log_container_errno(LOG_WARNING, c->id, r, "Failed to mark exit as reported, ignoring: %m");
        }
        if (notify) {
                c->exit_signal_pending = true;
                container_flush_exit_signal(c);
                log_container(LOG_INFO, c->id, "Container '%s' exited with status %d (%s).", c->id, e->status,
                              exit_reason_to_string(e->reason));
        }

        LIST_FOREACH_SAFE(waiters, w, n, c->waiters) {
                r = sd_bus_reply_method_return(w->request, "i", e->status);
                if (r < 0)
                        log_container_errno(LOG_DEBUG, c->id, r, "Failed to answer a waiter, ignoring: %m");
                waiter_free(w);
        }
}

/**
 * container_remove_state() - remove the state directory and the log berthd chose
 * @c: the container
 *
 * Used when the shim cannot do it itself: a failed create, or a shim that is gone.
 */
int container_remove_state(Container *c) {
        Manager *m = c->manager;
        int r;

        if (c->config && c->config->log_path_owned && c->config->log_path)
                if (unlink(c->config->log_path) < 0 && errno != ENOENT)
                        log_container_errno(LOG_WARNING, c->id, errno, "Failed to remove '%s', ignoring: %m",
                                            c->config->log_path);

        c->dir_fd = safe_close(c->dir_fd);
        r = rm_rf_at(m->state_dir_fd, c->id);
        if (r < 0)
                return log_container_errno(LOG_WARNING, c->id, r, "Failed to remove state of '%s': %m", c->id);
        return 0;
}

/**
 * container_remove() - the container is gone: tell the bus and free it
 * @c: the container
 */
void container_remove(Container *c) {
        Manager *m = c->manager;

        container_remove_processes(c);
        if (c->exported) {
                container_emit_deleted(c);
                c->exported = false;
                m->n_containers--;
                manager_emit_count_changed(m);
                log_container(LOG_INFO, c->id, "Container '%s' deleted.", c->id);
        }

        container_free(c);
}
