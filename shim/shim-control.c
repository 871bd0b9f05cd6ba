/* The control socket: DIR/shim.sock, a unix stream socket speaking D-Bus peer-to-peer. Each
 * accepted connection becomes an sd-bus server connection with the org.berth.Shim1 object on it;
 * several may be open at once (berthd reconnects after a restart), and a connection is dropped
 * when its peer disconnects. Only peers with our own uid are accepted (the directory is 0700 as
 * well), so every accepted connection is trusted.
 *
 * Calls run the runtime synchronously (shim-runc.c). Delete is the end of the shim: after the
 * runtime removed the container, the log (if berthd chose its path) and the state directory are
 * removed, the reply is flushed to every connection, and the event loop exits. */

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-id128.h>

#include "bus-error.h"
#include "fd-util.h"
#include "log.h"
#include "path-util.h"
#include "shim.h"
#include "shim-protocol.h"

#define CONTROL_BACKLOG 16

static ShimBus *shim_bus_free(ShimBus *b) {
        if (!b)
                return NULL;
        if (b->shim)
                LIST_REMOVE(buses, b->shim->buses, b);
        /* A connection still authenticating is not flushed: that could block until its timeout. */
        if (b->bus && sd_bus_is_ready(b->bus) > 0)
                (void) sd_bus_flush(b->bus);
        sd_bus_close_unref(b->bus);
        return mfree(b);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ShimBus *, shim_bus_free);

/* Reaps and reports a pending exit first, so every call sees the current state. */
static void shim_refresh(Shim *s) {
        shim_reap(s);
        shim_exit_check(s);
}

static const char *shim_state_string(Shim *s) {
        return container_state_to_string(s->state) ?: "unknown";
}

static int method_start(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Shim *s = userdata;
        int r;

        shim_refresh(s);
        if (s->state != CONTAINER_CREATED || s->init_exited)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; only a created container can be started.",
                                         s->config->id,
                                         s->init_exited && !s->exit_reported ? "exiting" :
                                                                               shim_state_string(s));

        r = shim_runtime_start(s, error);
        if (r < 0)
                return r;

        s->started_at = now_usec(CLOCK_REALTIME);
        s->state = CONTAINER_RUNNING;
        r = state_write_u64(s->dir_fd, STATE_FILE_STARTED, s->started_at);
        if (r < 0)
                log_container_errno(LOG_WARNING, s->config->id, r,
                                    "Failed to write the start time of '%s', ignoring: %m",
                                    s->config->id);
        log_container(LOG_INFO, s->config->id, "Container '%s' started.", s->config->id);

        r = sd_bus_reply_method_return(m, "ut", (uint32_t) s->init_pid, s->started_at);
        shim_control_emit_started(s);
        return r;
}

static int method_kill(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Shim *s = userdata;
        int sig, all, r;

        r = sd_bus_message_read(m, "ib", &sig, &all);
        if (r < 0)
                return r;
        if (sig < 1 || sig > 64)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "Signal %d is not valid; it must be between 1 and 64.", sig);

        shim_refresh(s);
        if (s->init_exited)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' has already exited; there is nothing to signal.",
                                         s->config->id);

        r = shim_runtime_kill(s, sig, all, error);
        if (r < 0)
                return r;

        log_container(LOG_INFO, s->config->id, "Sent signal %d to %s of '%s'.", sig,
                      all ? "all processes" : "the init", s->config->id);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_pause(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Shim *s = userdata;
        int r;

        shim_refresh(s);
        if (s->state != CONTAINER_RUNNING || s->init_exited)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; only a running container can be paused.",
                                         s->config->id,
                                         s->init_exited && !s->exit_reported ? "exiting" :
                                                                               shim_state_string(s));

        r = shim_runtime_pause(s, error);
        if (r < 0)
                return r;

        s->state = CONTAINER_PAUSED;
        log_container(LOG_INFO, s->config->id, "Container '%s' paused.", s->config->id);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_resume(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Shim *s = userdata;
        int r;

        shim_refresh(s);
        if (s->state != CONTAINER_PAUSED)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; only a paused container can be resumed.",
                                         s->config->id, shim_state_string(s));

        r = shim_runtime_resume(s, error);
        if (r < 0)
                return r;

        s->state = CONTAINER_RUNNING;
        log_container(LOG_INFO, s->config->id, "Container '%s' resumed.", s->config->id);
        return sd_bus_reply_method_return(m, NULL);
}

static void remove_state(Shim *s) {
        _cleanup_close_ int parent_fd = -EBADF;
        _cleanup_free_ char *path = NULL;
        const char *base, *parent;
        char *slash;
        int r;

        if (s->config->log_path_owned && s->config->log_path &&
            unlink(s->config->log_path) < 0 && errno != ENOENT)
                log_container_errno(LOG_WARNING, s->config->id, errno,
                                    "Failed to remove log file '%s', ignoring: %m",
                                    s->config->log_path);

        /* state_dir is absolute and names the container's own directory: rm -rf it from its parent. */
        path = strdup(s->state_dir);
        if (!path) {
                log_oom();
                return;
        }
        while ((slash = strrchr(path, '/')) && slash[1] == 0 && slash != path)
                *slash = 0;
        if (!slash || slash[1] == 0)
                return;
        base = slash + 1;
        parent = slash == path ? "/" : path;
        *slash = 0;

        parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd < 0) {
                log_container_errno(LOG_WARNING, s->config->id, errno, "Failed to open '%s', ignoring: %m",
                                    parent);
                return;
        }
        r = rm_rf_at(parent_fd, base);
        if (r < 0)
                log_container_errno(LOG_WARNING, s->config->id, r, "Failed to remove '%s', ignoring: %m",
                                    s->state_dir);
}

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Shim *s = userdata;
        bool alive;
        int force, r;

        r = sd_bus_message_read(m, "b", &force);
        if (r < 0)
                return r;

        shim_refresh(s);
        alive = !s->init_exited;
        if (!force && alive && IN_SET(s->state, CONTAINER_RUNNING, CONTAINER_PAUSED))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; stop it first or delete it with force.",
                                         s->config->id, shim_state_string(s));

        /* A created container's init waits in the runtime: --force takes it down. */
        r = shim_runtime_delete(s, force || alive, error);
        if (r < 0)
                return r;

        /* No zombie may remain, and nothing more is reported: the container is gone. */
        s->deleted = true;
        shim_reap_init(s, SHIM_INIT_KILL_TIMEOUT_USEC);
        shim_reap(s);
        remove_state(s);
        log_container(LOG_INFO, s->config->id, "Container '%s' deleted.", s->config->id);

        r = sd_bus_reply_method_return(m, NULL);
        shim_control_flush(s);
        (void) sd_event_exit(s->event, 0);
        return r;
}

static int method_get_state(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Shim *s = userdata;

        shim_refresh(s);
        return sd_bus_reply_method_return(m, "suisbtt",
                                          shim_state_string(s),
                                          (uint32_t) s->init_pid,
                                          s->exit_reported ? s->exit.status : -1,
                                          s->exit_reported ? exit_reason_to_string(s->exit.reason) : "",
                                          s->exit_reported && s->exit.oom_killed,
                                          s->started_at,
                                          s->exit_reported ? s->exit.finished_at : UINT64_C(0));
}

static const sd_bus_vtable shim_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Start", SD_BUS_NO_ARGS, SD_BUS_RESULT("u", pid, "t", started_at),
                                method_start, 0),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("i", signal, "b", all), SD_BUS_NO_RESULT,
                                method_kill, 0),
        SD_BUS_METHOD_WITH_ARGS("Pause", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_pause, 0),
        SD_BUS_METHOD_WITH_ARGS("Resume", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_resume, 0),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_ARGS("b", force), SD_BUS_NO_RESULT, method_delete, 0),
        SD_BUS_METHOD_WITH_ARGS("GetState", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", state, "u", pid, "i", exit_status, "s", exit_reason,
                                              "b", oom_killed, "t", started_at, "t", finished_at),
                                method_get_state, 0),
        SD_BUS_SIGNAL_WITH_ARGS("Started", SD_BUS_ARGS("u", pid, "t", started_at), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Exited",
                                SD_BUS_ARGS("i", status, "s", reason, "b", oom_killed, "t", finished_at), 0),
        SD_BUS_VTABLE_END
};

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ShimBus *b = userdata;

        log_container(LOG_DEBUG, b->shim->config->id, "Control connection closed.");
        /* sd-bus holds its own reference while it dispatches this, so freeing here is safe. */
        shim_bus_free(b);
        return 0;
}

static int shim_bus_new(Shim *s, int fd) {
        _cleanup_(shim_bus_freep) ShimBus *b = NULL;
        _cleanup_close_ int fd_close = fd;
        sd_id128_t id;
        int r;

        b = calloc(1, sizeof(ShimBus));
        if (!b)
                return -ENOMEM;

        r = sd_bus_new(&b->bus);
        if (r < 0)
                return r;
        (void) sd_bus_set_description(b->bus, "control");
        r = sd_bus_set_fd(b->bus, fd, fd);
        if (r < 0)
                return r;
        TAKE_FD(fd_close);

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        r = sd_bus_set_server(b->bus, 1, id);
        if (r < 0)
                return r;
        /* The peer's uid was checked on accept: everything it calls is allowed. */
        r = sd_bus_set_trusted(b->bus, true);
        if (r < 0)
                return r;

        r = sd_bus_add_object_vtable(b->bus, NULL, SHIM_OBJECT_PATH, SHIM_INTERFACE, shim_vtable, s);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(b->bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, b);
        if (r < 0)
                return r;

        r = sd_bus_attach_event(b->bus, s->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = sd_bus_start(b->bus);
        if (r < 0)
                return r;

        b->shim = s;
        LIST_PREPEND(buses, s->buses, b);
        TAKE_PTR(b);
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Shim *s = userdata;
        _cleanup_close_ int cfd = -EBADF;
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (!IN_SET(errno, EAGAIN, EINTR, ECONNABORTED))
                        log_container_errno(LOG_WARNING, s->config->id, errno,
                                            "Failed to accept a control connection, ignoring: %m");
                return 0;
        }

        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                log_container_errno(LOG_WARNING, s->config->id, errno,
                                    "Failed to get the peer's credentials: %m");
                return 0;
        }
        if (cred.uid != geteuid()) {
                log_container(LOG_WARNING, s->config->id,
                              "Refusing control connection from uid %u (pid %d).",
                              (unsigned) cred.uid, (int) cred.pid);
                return 0;
        }

        r = shim_bus_new(s, TAKE_FD(cfd));
        if (r < 0) {
                log_container_errno(LOG_WARNING, s->config->id, r,
                                    "Failed to set up a control connection, ignoring: %m");
                return 0;
        }
        log_container(LOG_DEBUG, s->config->id, "Control connection from pid %d.", (int) cred.pid);
        return 0;
}

/**
 * shim_control_listen() - listen on DIR/shim.sock and serve every connection
 * @s: the shim
 *
 * Return: 0 or -errno.
 */
int shim_control_listen(Shim *s) {
        int r;

        s->listen_fd = unix_listen_at(s->dir_fd, STATE_FILE_SOCKET, CONTROL_BACKLOG);
        if (s->listen_fd < 0)
                return s->listen_fd;

        r = fd_set_nonblock(s->listen_fd, true);
        if (r < 0)
                return r;

        r = sd_event_add_io(s->event, &s->listen_source, s->listen_fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->listen_source, "control-listen");
        return 0;
}

/**
 * shim_control_emit_started() - send Started(pid, started_at) on every connection
 * @s: the shim
 */
void shim_control_emit_started(Shim *s) {
        LIST_FOREACH(buses, b, s->buses) {
                int r = sd_bus_emit_signal(b->bus, SHIM_OBJECT_PATH, SHIM_INTERFACE, "Started", "ut",
                                           (uint32_t) s->init_pid, s->started_at);
                if (r < 0)
                        log_container_errno(LOG_DEBUG, s->config->id, r,
                                            "Failed to send Started, ignoring: %m");
        }
}

/**
 * shim_control_emit_exited() - send Exited(status, reason, oom_killed, finished_at) on every connection
 * @s: the shim, whose exit record is on disk
 */
void shim_control_emit_exited(Shim *s) {
        LIST_FOREACH(buses, b, s->buses) {
                int r = sd_bus_emit_signal(b->bus, SHIM_OBJECT_PATH, SHIM_INTERFACE, "Exited", "isbt",
                                           s->exit.status, exit_reason_to_string(s->exit.reason),
                                           (int) s->exit.oom_killed, s->exit.finished_at);
                if (r < 0)
                        log_container_errno(LOG_DEBUG, s->config->id, r,
                                            "Failed to send Exited, ignoring: %m");
        }
}

/**
 * shim_control_flush() - write out everything queued on the connections
 * @s: the shim
 *
 * Only connections past authentication are flushed: one still authenticating could block us.
 */
void shim_control_flush(Shim *s) {
        LIST_FOREACH(buses, b, s->buses)
                if (sd_bus_is_ready(b->bus) > 0)
                        (void) sd_bus_flush(b->bus);
}

/**
 * shim_control_done() - close every connection and the listening socket
 * @s: the shim
 */
void shim_control_done(Shim *s) {
        LIST_FOREACH_SAFE(buses, b, n, s->buses)
                shim_bus_free(b);
        s->listen_source = sd_event_source_disable_unref(s->listen_source);
        s->listen_fd = safe_close(s->listen_fd);
}
