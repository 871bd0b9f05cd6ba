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

/**
 * container_sync_state() - ask the shim for the container's state after (re-)attaching
 * @c: the container, attached
 *
 * The files may be older than the truth: an exit can happen between reading them and the shim
 * accepting our connection, and its Exited signal then never reaches us. The reply to GetState
 * is ordered after every signal on this connection, so nothing is missed.
 */
static int container_apply_state(Container *c, sd_bus_message *reply) {
        const char *state, *reason;
        uint64_t started_at, finished_at;
        int32_t status;
        uint32_t pid;
        int oom, r;
        ContainerState s;

        r = sd_bus_message_read(reply, "suisbtt", &state, &pid, &status, &reason, &oom, &started_at,
                                &finished_at);
        if (r < 0)
                return r;

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
        } else if (!c->exited)
                c->state = s;
        return 0;
}

int container_sync_state(Container *c) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        int r;

        /* A shim busy in a slow runtime call answers late; the files' view stands until then, and
         * its Started/Exited signals still arrive on this connection. */
        r = sd_bus_message_new_method_call(c->shim_bus, &call, NULL, SHIM_OBJECT_PATH, SHIM_INTERFACE, "GetState");
        if (r >= 0)
                r = sd_bus_call(c->shim_bus, call, 5 * USEC_PER_SEC, &error, &reply);
        if (r < 0)
                return log_container_errno(LOG_WARNING, c->id, r, "GetState on the shim of '%s' failed: %s",
                                           c->id, error.message ?: strerror(-r));
        return container_apply_state(c, reply);
}

static int on_state_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        const sd_bus_error *e;
        int r;

        c->state_slot = sd_bus_slot_unref(c->state_slot);
        e = sd_bus_message_get_error(reply);
        if (e) {
                log_container(LOG_WARNING, c->id, "GetState on the shim of '%s' failed: %s", c->id, e->message);
                return 0;
        }
        r = container_apply_state(c, reply);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Bad GetState reply from the shim of '%s': %m", c->id);
        return 0;
}

/**
 * container_sync_state_async() - like container_sync_state(), without waiting for the answer
 * @c: the container, attached
 */
int container_sync_state_async(Container *c) {
        c->state_slot = sd_bus_slot_unref(c->state_slot);
        return sd_bus_call_method_async(c->shim_bus, &c->state_slot, NULL, SHIM_OBJECT_PATH, SHIM_INTERFACE,
                                        "GetState", on_state_reply, c, NULL);
}

/**
 * container_attach_shim() - connect to a shim's control socket and listen to its signals
 * @c: the container
 * @shim_pid: the shim; watched through a pidfd unless it already is
 */
int container_attach_shim(Container *c, pid_t shim_pid) {
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
        if (ucred.pid != shim_pid) {
                log_container(LOG_WARNING, c->id, "Shim of '%s' is pid %d, not %d as its pid file says.", c->id,
                              (int) ucred.pid, (int) shim_pid);
                if (c->shim_pidfd >= 0)
                        return -ESRCH;
                shim_pid = ucred.pid;
        }

        if (c->shim_pidfd < 0) {
                r = container_watch_shim(c, shim_pid);
                if (r < 0)
                        return r;
        }

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
        r = sd_bus_attach_event(bus, c->manager->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        c->shim_bus = TAKE_PTR(bus);
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

        /* Normally the Start reply says it first; after a restart in the middle of a Start only
         * this signal does. */
        if (sd_bus_message_is_signal(message, SHIM_INTERFACE, "Started") && c->state == CONTAINER_CREATED &&
            !c->starting) {
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

        sd_bus_slot_unref(p->slot);
        sd_bus_message_unref(p->request);
        free(p);
        return 0;
}

/**
 * container_shim_call() - call a method on the shim; the reply goes to @done or back to @request
 * @c: the container
 * @request: the client's call to answer (may be NULL)
 * @member: the org.berth.Shim1 method
 * @done: handler called with the reply and the PendingCall as userdata, or NULL to forward the
 *        shim's empty reply or error to @request unchanged
 * @types: signature of the arguments that follow, or NULL
 */
int container_shim_call(Container *c, sd_bus_message *request, const char *member,
                        sd_bus_message_handler_t done, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        PendingCall *p;
        va_list ap;
        int r;

        if (!c->shim_bus)
                return -ENOTCONN;

        r = sd_bus_message_new_method_call(c->shim_bus, &m, NULL, SHIM_OBJECT_PATH, SHIM_INTERFACE, member);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }

        p = calloc(1, sizeof(PendingCall));
        if (!p)
                return -ENOMEM;
        p->container = c;
        p->done = done;

        /* The runtime may take a while; the shim enforces its own timeout on it. */
        r = sd_bus_call_async(c->shim_bus, &p->slot, m, on_shim_reply, p, 300 * USEC_PER_SEC);
        if (r < 0) {
                free(p);
                return r;
        }
        p->request = sd_bus_message_ref(request);
        LIST_PREPEND(calls, c->calls, p);
        return 0;
}

static int on_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *p = userdata;
        Container *c = p->container;
        const sd_bus_error *e;
        uint64_t started_at;
        uint32_t pid;
        int r;

        c->starting = false;

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

        c->starting = true;
        r = container_shim_call(c, request, "Start", on_start_reply, NULL);
        if (r < 0) {
                c->starting = false;
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
        if (e && !c->removed && c->shim_pidfd >= 0) {
                c->deleting = false;
                log_container(LOG_WARNING, c->id, "Deleting '%s' failed: %s", c->id, e->message);
                container_answer_deletes(c, e);
                return 0;
        }

        c->removed = !e;
        if (!c->removed)
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

        if (!c->deleting) {
                r = container_shim_call(c, NULL, "Delete", on_delete_reply, "b", force);
                if (r < 0)
                        return r;
                c->deleting = true;
        }
        return request ? container_add_delete_waiter(c, request, error) : 0;
}

