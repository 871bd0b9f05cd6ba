/* The link to a shim's control socket: connecting (at spawn and after a restart), the state it
 * reports, its signals, and the calls forwarded to it (Start, Kill, Pause, Resume, Delete). */

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "bus-error.h"
#include "container.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "path-util.h"

static int on_shim_signal(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* How long a GetState may take before the shim counts as not answering (and it is asked again). */
#define SHIM_STATE_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* Retries of a connect (backlog full) or of an unanswered GetState back off up to this. */
#define SHIM_RETRY_MAX_USEC (2 * USEC_PER_SEC)

static int on_shim_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *error);
static int container_attach_retry(Container *c);

/**
 * container_set_attaching() - mark @c as waiting for its shim's first answer (or not)
 * @c: the container
 * @attaching: whether it waits
 *
 * berthd's start waits (a bounded while) until no container is attaching.
 */
void container_set_attaching(Container *c, bool attaching) {
        if (c->attaching == attaching)
                return;
        c->attaching = attaching;
        if (attaching)
                c->manager->n_attaching++;
        else {
                c->manager->n_attaching--;
                c->attach_tries = 0;
                c->attach_source = sd_event_source_disable_unref(c->attach_source);
        }
}

/* The state the shim reports. The files may be older than the truth: an exit can happen between
 * reading them and the shim accepting our connection, and its Exited signal then never reaches us.
 * The reply to GetState is ordered after every signal on this connection, so nothing is missed. */
static int container_apply_state(Container *c, sd_bus_message *reply) {
        const char *state, *reason;
        uint64_t started_at, finished_at;
        ContainerState s, old_state = c->state;
        pid_t old_pid = c->pid;
        int32_t status;
        uint32_t pid;
        int oom, r;

        r = sd_bus_message_read(reply, "suisbtt", &state, &pid, &status, &reason, &oom, &started_at,
                                &finished_at);
        if (r < 0)
                return r;
        /* A shim from before LogDropped existed answers without the count. */
        if (sd_bus_message_peek_type(reply, NULL, NULL) > 0) {
                uint64_t dropped;

                r = sd_bus_message_read(reply, "t", &dropped);
                if (r < 0)
                        return r;
                container_set_log_bytes_dropped(c, dropped);
        }

        s = container_state_from_string(state);
        if (s < 0)
                return -EBADMSG;
        if (pid > 0)
                c->pid = (pid_t) pid;
        if (started_at > 0)
                c->started_at = started_at;

        if (s == CONTAINER_STOPPED) {
                ExitRecord e = {
                        .status = status,
                        .reason = exit_reason_from_string(reason),
                        .oom_killed = oom,
                        .finished_at = finished_at,
                };

                if (e.reason < 0)
                        e.reason = EXIT_REASON_EXITED;
                if (IN_SET(e.reason, EXIT_REASON_SIGNALED, EXIT_REASON_OOM_KILLED) && e.status > 128)
                        e.signal = e.status - 128;
                container_set_exited(c, &e, true);
        } else if (!c->exited) {
                c->state = s;
                if (s != old_state || c->pid != old_pid)
                        container_send_changed(c, "State", "Pid", "StartedAt", NULL);
        }
        return 0;
}

static int on_state_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        const sd_bus_error *e;
        int r;

        c->state_slot = sd_bus_slot_unref(c->state_slot);
        e = sd_bus_message_get_error(reply);
        if (e) {
                log_container(LOG_WARNING, c->id, "GetState on the shim of '%s' failed: %s", c->id, e->message);
                if (c->attaching && sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT)) {
                        /* Stopped, or busy: ask again, the answer settles the state. */
                        if (c->manager->ready && c->state != CONTAINER_UNKNOWN && !c->exited) {
                                c->state = CONTAINER_UNKNOWN;
                                container_send_changed(c, "State", NULL);
                        }
                        (void) container_attach_retry(c);
                }
                return 0;
        }
        r = container_apply_state(c, reply);
        if (r < 0) {
                log_container_errno(LOG_WARNING, c->id, r, "Bad GetState reply from the shim of '%s': %m", c->id);
                return 0;
        }
        if (c->attaching) {
                container_set_attaching(c, false);
                (void) container_sync_processes(c);
                log_container(LOG_INFO, c->id, "Attached to container '%s' (%s), shim pid %d.", c->id,
                              container_state_to_string(c->state), (int) c->shim_pid);
        }
        return 0;
}

/**
 * container_sync_state_async() - ask the shim for the container's state; the answer is applied
 * @c: the container, attached
 */
int container_sync_state_async(Container *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        c->state_slot = sd_bus_slot_unref(c->state_slot);
        r = sd_bus_message_new_method_call(c->shim_bus, &m, NULL, SHIM_OBJECT_PATH, SHIM_INTERFACE, "GetState");
        if (r < 0)
                return r;
        return sd_bus_call_async(c->shim_bus, &c->state_slot, m, on_state_reply, c, SHIM_STATE_TIMEOUT_USEC);
}

/**
 * container_link_close() - drop the connection to the shim (the shim itself is not touched)
 * @c: the container
 */
void container_link_close(Container *c) {
        c->state_slot = sd_bus_slot_unref(c->state_slot);
        c->shim_bus = sd_bus_flush_close_unref(c->shim_bus);
}

/**
 * container_attach_shim() - connect to the shim's control socket and listen to its signals
 * @c: the container; if its shim is not watched yet, the socket's peer is watched
 *
 * Never blocks: a shim whose accept backlog is full gives -EAGAIN, one that does not listen
 * (still creating, or deleting) -ENOENT or -ECONNREFUSED.
 */
int container_attach_shim(Container *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct ucred ucred;
        socklen_t len = sizeof(ucred);
        int r;

        fd = unix_connect_at(c->dir_fd, STATE_FILE_SOCKET);
        if (fd < 0)
                return fd;

        /* The pid file may name a recycled pid; the process at the other end of the socket is
         * the shim for sure. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &ucred, &len) < 0)
                return -errno;
        if (!c->shim_watch) {
                log_container(LOG_WARNING, c->id, "Shim of '%s' is pid %d, not as its pid file says.", c->id,
                              (int) ucred.pid);
                if (!container_is_our_shim(c, ucred.pid))
                        return -ESRCH;
                r = container_watch_shim(c, ucred.pid);
                if (r < 0)
                        return r;
        } else if (ucred.pid != c->shim_pid)
                return -ESRCH;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        (void) sd_bus_set_description(bus, c->id);
        r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(bus, NULL, NULL, SHIM_OBJECT_PATH, SHIM_INTERFACE, NULL, on_shim_signal, c);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", on_shim_disconnected, c);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, c->manager->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        c->shim_bus = TAKE_PTR(bus);
        return 0;
}

/* Connects (if not connected) and asks GetState; a full backlog is retried later. */
static int container_attach_step(Container *c) {
        int r;

        if (!c->shim_bus) {
                r = container_attach_shim(c);
                /* Retried only for a shim we watch: one we cannot tell from its pid file is lost. */
                if (r == -EAGAIN && c->shim_watch)
                        return container_attach_retry(c);
                if (r < 0)
                        return r;
        }
        return container_sync_state_async(c);
}

static int on_attach_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;
        int r;

        c->attach_source = sd_event_source_disable_unref(c->attach_source);
        if (!container_shim_alive(c) || container_is_deleting(c))
                return 0;
        if (c->shim_bus && sd_bus_is_open(c->shim_bus) <= 0)
                container_link_close(c);
        r = container_attach_step(c);
        if (r < 0) {
                log_container_errno(LOG_WARNING, c->id, r, "Cannot reach the shim of '%s', retrying: %m", c->id);
                container_link_close(c);
                (void) container_attach_retry(c);
        }
        return 0;
}

/* Tries again later, backing off: the shim is stopped, or its backlog is full. */
static int container_attach_retry(Container *c) {
        uint64_t delay = MIN((uint64_t) (50 * USEC_PER_MSEC) << MIN(c->attach_tries, 8U), SHIM_RETRY_MAX_USEC);
        int r;

        container_set_attaching(c, true);
        if (c->attach_source)
                return 0;
        c->attach_tries++;
        r = sd_event_add_time_relative(c->manager->event, &c->attach_source, CLOCK_MONOTONIC, delay,
                                       10 * USEC_PER_MSEC, on_attach_retry, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->attach_source, "shim-attach-retry");
        return 0;
}

/**
 * container_reattach() - attach to the shim of a container found after a restart
 * @c: the container
 *
 * Asynchronous: a stopped shim or a full backlog never blocks berthd; the container stays
 * attaching (its state unknown once berthd serves) until the shim answers GetState.
 *
 * Return: 0, or what container_attach_shim() returned when connecting failed for good.
 */
int container_reattach(Container *c) {
        int r;

        r = container_attach_step(c);
        if (r < 0) {
                container_link_close(c);
                return r;
        }
        container_set_attaching(c, true);
        return 0;
}

/* The connection broke while the shim lives (it failed authentication in time, or closed it):
 * connect again. Not here, inside the connection's own callback. */
static int on_shim_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        if (!container_shim_alive(c) || container_is_deleting(c))
                return 0;
        log_container(LOG_WARNING, c->id, "Lost the connection to the shim of '%s', reconnecting.", c->id);
        c->state_slot = sd_bus_slot_unref(c->state_slot);
        /* Reconnecting waits for the retry timer; the dead bus is closed there. */
        c->attach_source = sd_event_source_disable_unref(c->attach_source);
        (void) container_attach_retry(c);
        return 0;
}

static int on_shim_exited_signal(Container *c, sd_bus_message *message) {
        ExitRecord e = {};
        const char *reason;
        int oom, r;

        r = sd_bus_message_read(message, "isbt", &e.status, &reason, &oom, &e.finished_at);
        if (r < 0)
                return log_container_errno(LOG_WARNING, c->id, r, "Bad Exited signal from shim, ignoring: %m");
        e.reason = exit_reason_from_string(reason);
        if (e.reason < 0)
                e.reason = EXIT_REASON_EXITED;
        e.oom_killed = oom;
        if (IN_SET(e.reason, EXIT_REASON_SIGNALED, EXIT_REASON_OOM_KILLED) && e.status > 128)
                e.signal = e.status - 128;

        container_set_exited(c, &e, true);
        return 0;
}

static int on_shim_signal(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        if (sd_bus_message_is_signal(message, SHIM_INTERFACE, "Exited"))
                return on_shim_exited_signal(c, message);
        if (container_on_process_signal(c, message))
                return 0;

        if (sd_bus_message_is_signal(message, SHIM_INTERFACE, "LogDropped")) {
                uint64_t dropped;

                if (sd_bus_message_read(message, "t", &dropped) >= 0)
                        container_set_log_bytes_dropped(c, dropped);
                return 0;
        }

        /* Normally the Start reply says it first; after a restart in the middle of a Start only
         * this signal does. */
        if (sd_bus_message_is_signal(message, SHIM_INTERFACE, "Started") && c->state == CONTAINER_CREATED &&
            c->op != CONTAINER_OP_STARTING) {
                uint64_t started_at;
                uint32_t pid;

                if (sd_bus_message_read(message, "ut", &pid, &started_at) >= 0)
                        container_set_started(c, (pid_t) pid, started_at);
        }
        return 0;
}

static int on_shim_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *p = userdata;
        Container *c = p->container;
        int r = 0;

        LIST_REMOVE(calls, c->calls, p);

        if (p->done)
                r = p->done(reply, p, ret_error);
        else if (p->request) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                if (e)
                        r = sd_bus_reply_method_error(p->request, e);
                else
                        r = sd_bus_reply_method_return(p->request, NULL);
        }
        if (r < 0)
                log_container_errno(LOG_DEBUG, c->id, r, "Failed to reply, ignoring: %m");

        pending_call_free(p);
        return 0;
}

/**
 * container_shim_call_message() - send a call built on the shim's bus; the reply goes to @done or
 * back to @request
 * @c: the container
 * @request: the client's call to answer (may be NULL)
 * @m: the call, from container_shim_new_call()
 * @done: handler called with the reply and the PendingCall as userdata, or NULL to forward the
 *        shim's empty reply or error to @request unchanged
 * @exec_id: the exec process the call is about (kept in the PendingCall), or NULL
 */
int container_shim_call_message(Container *c, sd_bus_message *request, sd_bus_message *m,
                                sd_bus_message_handler_t done, const char *exec_id) {
        PendingCall *p;
        int r;

        p = calloc(1, sizeof(PendingCall));
        if (!p)
                return -ENOMEM;
        p->container = c;
        p->done = done;
        if (exec_id) {
                p->exec_id = strdup(exec_id);
                if (!p->exec_id) {
                        free(p);
                        return -ENOMEM;
                }
        }

        /* The runtime may take a while; the shim enforces its own timeout on it. */
        r = sd_bus_call_async(c->shim_bus, &p->slot, m, on_shim_reply, p, 300 * USEC_PER_SEC);
        if (r < 0) {
                free(p->exec_id);
                free(p);
                return r;
        }
        p->request = sd_bus_message_ref(request);
        LIST_PREPEND(calls, c->calls, p);
        return 0;
}

/**
 * container_shim_new_call() - a call of the org.berth.Shim1 method @member, to fill in and send
 * @c: the container, attached
 * @member: the method
 * @ret: the message
 */
int container_shim_new_call(Container *c, const char *member, sd_bus_message **ret) {
        if (!c->shim_bus)
                return -ENOTCONN;
        return sd_bus_message_new_method_call(c->shim_bus, ret, NULL, SHIM_OBJECT_PATH, SHIM_INTERFACE, member);
}

/**
 * container_shim_call() - call a method on the shim; the reply goes to @done or back to @request
 * @c: the container
 * @request: the client's call to answer (may be NULL)
 * @member: the org.berth.Shim1 method
 * @done: as for container_shim_call_message()
 * @types: signature of the arguments that follow, or NULL
 */
int container_shim_call(Container *c, sd_bus_message *request, const char *member,
                        sd_bus_message_handler_t done, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = container_shim_new_call(c, member, &m);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        return container_shim_call_message(c, request, m, done, NULL);
}

static int on_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *p = userdata;
        Container *c = p->container;
        const sd_bus_error *e;
        uint64_t started_at;
        uint32_t pid;
        int r;

        container_op_end(c, CONTAINER_OP_STARTING);

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_container(LOG_WARNING, c->id, "Starting '%s' failed: %s", c->id, e->message);
                return p->request ? sd_bus_reply_method_error(p->request, e) : 0;
        }

        r = sd_bus_message_read(reply, "ut", &pid, &started_at);
        if (r < 0) {
                log_container_errno(LOG_WARNING, c->id, r, "Bad Start reply from shim: %m");
                return p->request ? sd_bus_reply_method_errorf(p->request, BERTH_ERROR_SHIM_FAILED,
                                                               "The shim sent a bad reply.") : 0;
        }

        container_set_started(c, (pid_t) pid, started_at);
        if (!p->request)
                return 0;
        if (sd_bus_message_is_method_call(p->request, MANAGER_INTERFACE, "CreateContainer"))
                return sd_bus_reply_method_return(p->request, "o", c->path);
        return sd_bus_reply_method_return(p->request, NULL);
}

/**
 * container_start() - start a created container; @request is answered once it runs
 * @c: the container, in state created
 * @request: the client call to answer
 */
int container_start(Container *c, sd_bus_message *request) {
        int r;

        c->op = CONTAINER_OP_STARTING;
        r = container_shim_call(c, request, "Start", on_start_reply, NULL);
        if (r < 0) {
                container_op_end(c, CONTAINER_OP_STARTING);
                return r;
        }
        return 0;
}

static int on_deleted(sd_event_source *s, void *userdata) {
        Container *c = userdata;

        container_answer_deletes(c, NULL);
        container_remove(c);
        return 0;
}

static int on_delete_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *p = userdata;
        Container *c = p->container;
        const sd_bus_error *e;
        int r;

        e = sd_bus_message_get_error(reply);
        if (e && c->op != CONTAINER_OP_DELETED && container_shim_alive(c)) {
                container_op_end(c, CONTAINER_OP_DELETING);
                log_container(LOG_WARNING, c->id, "Deleting '%s' failed: %s", c->id, e->message);
                container_answer_deletes(c, e);
                return 0;
        }

        if (!e)
                c->op = CONTAINER_OP_DELETED;
        if (c->op != CONTAINER_OP_DELETED)
                return 0;       /* the shim died first: its pidfd finishes the work */

        /* The shim removed everything before it replied and exits now: answer, and forget the
         * container so its id can be used again at once. Not here, in a callback of the shim's own
         * connection, but in the next loop iteration. The shim is reaped on SIGCHLD as any child. */
        r = sd_event_add_defer(c->manager->event, &c->remove_source, on_deleted, c);
        if (r < 0)
                log_container_errno(LOG_DEBUG, c->id, r, "Failed to defer the removal, waiting for the shim: %m");
        return 0;
}

/**
 * container_delete() - delete a container through its shim; @request is answered once it is gone
 * @c: the container
 * @request: the client call to answer; joins a delete already under way
 * @force: kill a running container first
 * @error: set to LimitReached when the caller has too many calls waiting
 */
int container_delete(Container *c, sd_bus_message *request, bool force, sd_bus_error *error) {
        int r;

        if (!container_is_deleting(c)) {
                r = container_shim_call(c, NULL, "Delete", on_delete_reply, "b", force);
                if (r < 0)
                        return r;
                c->op = CONTAINER_OP_DELETING;
        }
        return request ? container_add_delete_waiter(c, request, error) : 0;
}

