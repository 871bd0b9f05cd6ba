/* The control socket: DIR/shim.sock, a unix stream socket speaking D-Bus peer-to-peer, with the
 * object /org/berth/Shim1 (interface org.berth.Shim1, docs/shim-protocol.md) on every connection.
 * Several connections may be open at once (berthd reconnects after a restart); one is dropped
 * when its peer disconnects or breaks the protocol. Only peers with our own uid are accepted (the
 * directory is 0700 as well), and EXTERNAL authentication must claim that uid.
 *
 * The wire format is common/dbus-wire.c: enough D-Bus for berthd's sd-bus client (and busctl or
 * gdbus with --address) without libsystemd in the shim. Peer.Ping and Introspect are answered.
 *
 * Calls run the runtime synchronously (shim-runc.c). Delete is the end of the shim: after the
 * runtime removed the container, the log (if berthd chose its path) and the state directory are
 * removed, the reply is flushed to every connection, and the event loop exits.
 *
 * Limits, so that no client can make the shim grow, spin or flood its log: at most
 * CONTROL_CONNECTIONS_MAX connections (more are accepted and closed at once); a connection must
 * finish its authentication within CONTROL_AUTH_TIMEOUT_USEC; a client with more than
 * CONTROL_OUTPUT_MAX of replies and signals queued (it sends calls and does not read) is dropped,
 * and so is one with more than CONTROL_INPUT_MAX unprocessed. At the fd limit the shim closes a
 * reserve fd to accept the pending connection and closes it again, instead of being woken for it
 * forever; warnings about the socket are rate-limited. berthd's own connection is not affected
 * by any of this: it authenticates at once, reads everything, and is one connection. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "path-util.h"
#include "shim.h"
#include "shim-protocol.h"

#define CONTROL_BACKLOG 16
/* Our methods take a few bytes of arguments: anything much larger is not a client of ours. */
#define CONTROL_MESSAGE_MAX (64U * 1024U)
#define CONTROL_READ_SIZE 4096
/* At most one unfinished message and one read are ever buffered. */
#define CONTROL_INPUT_MAX (CONTROL_MESSAGE_MAX + CONTROL_READ_SIZE)
/* Replies and signals queued for a client that does not read them; beyond this it is dropped. */
#define CONTROL_OUTPUT_MAX (1024U * 1024U)
/* berthd needs one connection, or two for a moment while it restarts; the rest is for people. */
#define CONTROL_CONNECTIONS_MAX 32
#define CONTROL_AUTH_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* How long accepting stops when not even the reserve fd helps (never with berth's own limits). */
#define CONTROL_ACCEPT_PAUSE_USEC (250 * USEC_PER_MSEC)
/* LogDropped goes out at most once per this while the count grows. */
#define LOG_DROPPED_INTERVAL_USEC USEC_PER_SEC
/* How long the final flush after Delete waits for slow readers, all of them together. */
#define CONTROL_FLUSH_TIMEOUT_MSEC 1000

#define DRIVER_INTERFACE "org.freedesktop.DBus"
#define DRIVER_PATH "/org/freedesktop/DBus"
#define PEER_INTERFACE "org.freedesktop.DBus.Peer"
#define INTROSPECTABLE_INTERFACE "org.freedesktop.DBus.Introspectable"

static const char introspection_xml[] =
        "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"
        "<node>\n"
        " <interface name=\"" SHIM_INTERFACE "\">\n"
        "  <method name=\"Start\"><arg type=\"u\" name=\"pid\" direction=\"out\"/>"
        "<arg type=\"t\" name=\"started_at\" direction=\"out\"/></method>\n"
        "  <method name=\"Kill\"><arg type=\"i\" name=\"signal\" direction=\"in\"/>"
        "<arg type=\"b\" name=\"all\" direction=\"in\"/></method>\n"
        "  <method name=\"Pause\"/>\n"
        "  <method name=\"Resume\"/>\n"
        "  <method name=\"Delete\"><arg type=\"b\" name=\"force\" direction=\"in\"/></method>\n"
        "  <method name=\"GetState\"><arg type=\"s\" name=\"state\" direction=\"out\"/>"
        "<arg type=\"u\" name=\"pid\" direction=\"out\"/>"
        "<arg type=\"i\" name=\"exit_status\" direction=\"out\"/>"
        "<arg type=\"s\" name=\"exit_reason\" direction=\"out\"/>"
        "<arg type=\"b\" name=\"oom_killed\" direction=\"out\"/>"
        "<arg type=\"t\" name=\"started_at\" direction=\"out\"/>"
        "<arg type=\"t\" name=\"finished_at\" direction=\"out\"/>"
        "<arg type=\"t\" name=\"log_bytes_dropped\" direction=\"out\"/></method>\n"
        "  <signal name=\"Started\"><arg type=\"u\" name=\"pid\"/>"
        "<arg type=\"t\" name=\"started_at\"/></signal>\n"
        "  <signal name=\"Exited\"><arg type=\"i\" name=\"status\"/><arg type=\"s\" name=\"reason\"/>"
        "<arg type=\"b\" name=\"oom_killed\"/><arg type=\"t\" name=\"finished_at\"/></signal>\n"
        "  <signal name=\"LogDropped\"><arg type=\"t\" name=\"bytes_dropped_total\"/></signal>\n"
        " </interface>\n"
        " <interface name=\"" PEER_INTERFACE "\"><method name=\"Ping\"/></interface>\n"
        " <interface name=\"" INTROSPECTABLE_INTERFACE "\"><method name=\"Introspect\">"
        "<arg type=\"s\" name=\"xml\" direction=\"out\"/></method></interface>\n"
        "</node>\n";

/* A warning about the control socket: a client can make it due again and again. */
static void control_warning(Shim *s, int error, const char *format, ...) _printf_(3, 4);
static void control_warning(Shim *s, int error, const char *format, ...) {
        char message[512];
        unsigned suppressed;
        va_list ap;

        if (!ratelimit_below(&s->control_ratelimit))
                return;

        errno = error < 0 ? -error : error;
        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        suppressed = ratelimit_take_suppressed(&s->control_ratelimit);
        if (suppressed > 0)
                log_container_errno(LOG_WARNING, s->config->id, error, "%s (%u similar messages suppressed)",
                                    message, suppressed);
        else
                log_container_errno(LOG_WARNING, s->config->id, error, "%s", message);
}

static ShimConn *shim_conn_free(ShimConn *c) {
        if (!c)
                return NULL;
        if (c->shim) {
                LIST_REMOVE(conns, c->shim->conns, c);
                c->shim->n_conns--;
        }
        event_source_free(c->source);
        event_source_free(c->auth_timeout_source);
        safe_close(c->fd);
        dbus_buffer_done(&c->in);
        dbus_buffer_done(&c->out);
        return mfree(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ShimConn *, shim_conn_free);

/* Stops serving @c without freeing it, which is safe from anywhere, also below a handler that works
 * on @c: the shutdown() wakes its io handler, which frees it. */
static void shim_conn_break(ShimConn *c) {
        if (c->broken)
                return;
        c->broken = true;
        dbus_buffer_done(&c->out);
        (void) shutdown(c->fd, SHUT_RDWR);
        (void) event_source_set_io_events(c->source, EPOLLIN);
}

/* Writes what is queued without blocking, and waits for EPOLLOUT while the socket is full.
 * Returns 0, or -errno if the connection is broken. */
static int shim_conn_write(ShimConn *c) {
        if (c->broken)
                return -ECONNRESET;
        while (c->out.size > 0) {
                ssize_t n = send(c->fd, c->out.data, c->out.size, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return event_source_set_io_events(c->source, EPOLLIN | EPOLLOUT);
                        return -errno;
                }
                dbus_buffer_consume(&c->out, (size_t) n);
        }
        return event_source_set_io_events(c->source, EPOLLIN);
}

static int shim_conn_sendv(ShimConn *c, DbusHeader *h, const char *types, va_list ap) {
        int r;

        if (c->broken)
                return -ECONNRESET;

        /* Serial 0 is not allowed; wrap around it. */
        if (++c->serial == 0)
                c->serial = 1;
        h->serial = c->serial;

        r = dbus_message_appendv(&c->out, h, types, ap);
        if (r < 0)
                return r;
        if (c->out.size > CONTROL_OUTPUT_MAX) {
                control_warning(c->shim, 0, "Dropping a control connection that does not read: %zu bytes are "
                                "queued for it.", c->out.size);
                shim_conn_break(c);
                return -ENOBUFS;
        }
        return shim_conn_write(c);
}

static int shim_conn_send(ShimConn *c, DbusHeader *h, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = shim_conn_sendv(c, h, types, ap);
        va_end(ap);
        return r;
}

/* Replies to the method call @m, unless its caller asked for no reply. */
static int shim_conn_reply(ShimConn *c, const DbusMessage *m, const char *types, ...) {
        DbusHeader h = {
                .type = DBUS_MESSAGE_METHOD_RETURN,
                .flags = DBUS_FLAG_NO_REPLY_EXPECTED,
                .reply_serial = m->serial,
        };
        va_list ap;
        int r;

        if (m->flags & DBUS_FLAG_NO_REPLY_EXPECTED)
                return 0;
        va_start(ap, types);
        r = shim_conn_sendv(c, &h, types, ap);
        va_end(ap);
        return r;
}

static int shim_conn_reply_error(ShimConn *c, const DbusMessage *m, const char *name, const char *message) {
        DbusHeader h = {
                .type = DBUS_MESSAGE_ERROR,
                .flags = DBUS_FLAG_NO_REPLY_EXPECTED,
                .reply_serial = m->serial,
                .error_name = name,
        };

        if (m->flags & DBUS_FLAG_NO_REPLY_EXPECTED)
                return 0;
        return shim_conn_send(c, &h, "s", message);
}

static int shim_conn_emitv(ShimConn *c, const char *member, const char *types, va_list ap) {
        DbusHeader h = {
                .type = DBUS_MESSAGE_SIGNAL,
                .flags = DBUS_FLAG_NO_REPLY_EXPECTED,
                .path = SHIM_OBJECT_PATH,
                .interface = SHIM_INTERFACE,
                .member = member,
        };

        return shim_conn_sendv(c, &h, types, ap);
}

static void shim_emit(Shim *s, const char *member, const char *types, ...) {
        LIST_FOREACH(conns, c, s->conns) {
                va_list ap;
                int r;

                /* A connection still authenticating asks for the state once it is done. */
                if (!c->auth.done || c->broken)
                        continue;
                va_start(ap, types);
                r = shim_conn_emitv(c, member, types, ap);
                va_end(ap);
                if (r < 0)
                        log_container_errno(LOG_DEBUG, s->config->id, r, "Failed to send %s, ignoring: %m",
                                            member);
        }
}

/* Reaps and reports a pending exit first, so every call sees the current state. */
static void shim_refresh(Shim *s) {
        shim_reap(s);
        shim_exit_check(s);
}

static const char *shim_state_string(Shim *s) {
        return container_state_to_string(s->state) ?: "unknown";
}

/**
 * shim_start() - run the runtime's start on a created container
 * @s: the shim
 * @error: set on failure
 *
 * Used by Start() and by --start right after the create.
 *
 * Return: 0 or -errno, with @error set.
 */
int shim_start(Shim *s, BerthError *error) {
        int r;

        shim_refresh(s);
        if (s->state != CONTAINER_CREATED || s->init_exited)
                return berth_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; only a created container can be started.",
                                         s->config->id,
                                         s->init_exited && !s->exit_reported ? "exiting" :
                                                                               shim_state_string(s));

        r = shim_runtime_start(s, error);
        if (r < 0)
                return r;

        s->started_at = now_usec(CLOCK_REALTIME);
        s->state = CONTAINER_RUNNING;
        log_container(LOG_INFO, s->config->id, "Container '%s' started.", s->config->id);
        return 0;
}

/**
 * shim_record_started() - write the start time to DIR/started
 * @s: the shim, just started
 *
 * Called after the start was reported, off the caller's path: until the file is there, a berthd
 * that restarts learns the state from GetState() like everything else.
 */
void shim_record_started(Shim *s) {
        int r;

        r = state_write_u64(s->dir_fd, STATE_FILE_STARTED, s->started_at);
        if (r < 0)
                log_container_errno(LOG_WARNING, s->config->id, r,
                                    "Failed to write the start time of '%s', ignoring: %m", s->config->id);
}

static int method_start(ShimConn *c, const DbusMessage *m, BerthError *error) {
        Shim *s = c->shim;
        int r;

        r = shim_start(s, error);
        if (r < 0)
                return r;

        r = shim_conn_reply(c, m, "ut", (uint32_t) s->init_pid, s->started_at);
        shim_control_emit_started(s);
        shim_record_started(s);
        return r;
}

static int method_kill(ShimConn *c, const DbusMessage *m, BerthError *error) {
        Shim *s = c->shim;
        int sig, all, r;

        r = dbus_message_read(m, "ib", &sig, &all);
        if (r < 0)
                return r;
        if (sig < 1 || sig > 64)
                return berth_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "Signal %d is not valid; it must be between 1 and 64.", sig);

        shim_refresh(s);
        if (s->init_exited)
                return berth_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' has already exited; there is nothing to signal.",
                                         s->config->id);

        r = shim_runtime_kill(s, sig, all, error);
        if (r < 0)
                return r;

        log_container(LOG_INFO, s->config->id, "Sent signal %d to %s of '%s'.", sig,
                      all ? "all processes" : "the init", s->config->id);
        return shim_conn_reply(c, m, NULL);
}

static int method_pause(ShimConn *c, const DbusMessage *m, BerthError *error) {
        Shim *s = c->shim;
        int r;

        shim_refresh(s);
        if (s->state != CONTAINER_RUNNING || s->init_exited)
                return berth_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; only a running container can be paused.",
                                         s->config->id,
                                         s->init_exited && !s->exit_reported ? "exiting" :
                                                                               shim_state_string(s));

        r = shim_runtime_pause(s, error);
        if (r < 0)
                return r;

        s->state = CONTAINER_PAUSED;
        log_container(LOG_INFO, s->config->id, "Container '%s' paused.", s->config->id);
        return shim_conn_reply(c, m, NULL);
}

static int method_resume(ShimConn *c, const DbusMessage *m, BerthError *error) {
        Shim *s = c->shim;
        int r;

        shim_refresh(s);
        if (s->state != CONTAINER_PAUSED)
                return berth_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; only a paused container can be resumed.",
                                         s->config->id, shim_state_string(s));

        r = shim_runtime_resume(s, error);
        if (r < 0)
                return r;

        s->state = CONTAINER_RUNNING;
        log_container(LOG_INFO, s->config->id, "Container '%s' resumed.", s->config->id);
        return shim_conn_reply(c, m, NULL);
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

static int method_delete(ShimConn *c, const DbusMessage *m, BerthError *error) {
        Shim *s = c->shim;
        bool alive;
        int force, r;

        r = dbus_message_read(m, "b", &force);
        if (r < 0)
                return r;

        shim_refresh(s);
        alive = !s->init_exited;
        if (!force && alive && IN_SET(s->state, CONTAINER_RUNNING, CONTAINER_PAUSED))
                return berth_error_setf(error, BERTH_ERROR_INVALID_STATE,
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

        r = shim_conn_reply(c, m, NULL);
        shim_control_flush(s);
        event_loop_exit(s->loop, 0);
        return r;
}

static int method_get_state(ShimConn *c, const DbusMessage *m, BerthError *error) {
        Shim *s = c->shim;

        shim_refresh(s);
        return shim_conn_reply(c, m, "suisbttt",
                               shim_state_string(s),
                               (uint32_t) s->init_pid,
                               s->exit_reported ? s->exit.status : -1,
                               s->exit_reported ? exit_reason_to_string(s->exit.reason) : "",
                               s->exit_reported && s->exit.oom_killed,
                               s->started_at,
                               s->exit_reported ? s->exit.finished_at : UINT64_C(0),
                               s->log_bytes_dropped);
}

typedef int (*shim_method_t)(ShimConn *c, const DbusMessage *m, BerthError *error);

typedef struct ShimMethod {
        const char *interface;
        const char *member;
        const char *signature;
        shim_method_t handler;
} ShimMethod;

static int method_ping(ShimConn *c, const DbusMessage *m, BerthError *error) {
        return shim_conn_reply(c, m, NULL);
}

static int method_introspect(ShimConn *c, const DbusMessage *m, BerthError *error) {
        return shim_conn_reply(c, m, "s", introspection_xml);
}

/* Clients that expect a bus (busctl and gdbus with --address) say Hello first and may add matches:
 * answer as a bus would. Every signal goes to every connection anyway. */
static int method_hello(ShimConn *c, const DbusMessage *m, BerthError *error) {
        char name[32];

        (void) snprintf(name, sizeof(name), ":1.%u", ++c->shim->hello_count);
        return shim_conn_reply(c, m, "s", name);
}

static const ShimMethod shim_methods[] = {
        { SHIM_INTERFACE,           "Start",      "",   method_start     },
        { SHIM_INTERFACE,           "Kill",       "ib", method_kill      },
        { SHIM_INTERFACE,           "Pause",      "",   method_pause     },
        { SHIM_INTERFACE,           "Resume",     "",   method_resume    },
        { SHIM_INTERFACE,           "Delete",     "b",  method_delete    },
        { SHIM_INTERFACE,           "GetState",   "",   method_get_state },
        { PEER_INTERFACE,           "Ping",       "",   method_ping      },
        { INTROSPECTABLE_INTERFACE, "Introspect", "",   method_introspect },
        { DRIVER_INTERFACE,         "Hello",      "",   method_hello     },
        { DRIVER_INTERFACE,         "AddMatch",   "s",  method_ping      },
        { DRIVER_INTERFACE,         "RemoveMatch", "s", method_ping      },
};

static bool interface_is_known(const char *interface) {
        return streq(interface, SHIM_INTERFACE) || streq(interface, PEER_INTERFACE) ||
                streq(interface, INTROSPECTABLE_INTERFACE) || streq(interface, DRIVER_INTERFACE);
}

static int shim_conn_dispatch(ShimConn *c, const DbusMessage *m) {
        _cleanup_(berth_error_free) BerthError error = BERTH_ERROR_NULL;
        const ShimMethod *method = NULL;
        int r;

        /* Replies, errors and signals from a client mean nothing to us. */
        if (m->type != DBUS_MESSAGE_METHOD_CALL)
                return 0;

        if (!streq(m->path, SHIM_OBJECT_PATH) && !streq(m->path, DRIVER_PATH) &&
            !streq(m->interface ?: "", PEER_INTERFACE))
                return shim_conn_reply_error(c, m, DBUS_ERROR_UNKNOWN_OBJECT, "Unknown object.");
        if (streq(m->path, DRIVER_PATH) != streq(m->interface ?: "", DRIVER_INTERFACE) &&
            !streq(m->interface ?: "", PEER_INTERFACE))
                return shim_conn_reply_error(c, m, DBUS_ERROR_UNKNOWN_OBJECT, "Unknown object.");
        if (m->interface && !interface_is_known(m->interface))
                return shim_conn_reply_error(c, m, DBUS_ERROR_UNKNOWN_INTERFACE, "Unknown interface.");

        for (size_t i = 0; i < ELEMENTSOF(shim_methods); i++)
                if ((!m->interface || streq(m->interface, shim_methods[i].interface)) &&
                    streq(m->member, shim_methods[i].member)) {
                        method = &shim_methods[i];
                        break;
                }
        if (!method)
                return shim_conn_reply_error(c, m, DBUS_ERROR_UNKNOWN_METHOD, "Unknown method.");
        if (!streq(m->signature, method->signature))
                return shim_conn_reply_error(c, m, DBUS_ERROR_INVALID_ARGS,
                                             "Invalid arguments for this method.");

        r = method->handler(c, m, &error);
        if (r >= 0)
                return 0;
        if (!berth_error_is_set(&error))
                (void) berth_error_setf(&error, BERTH_ERROR_SHIM_FAILED, "The shim failed: %s", strerror(-r));
        return shim_conn_reply_error(c, m, error.name, error.message ?: "");
}

/* Handles what has arrived: the authentication first, then every whole message.
 * Returns 0, or -errno when the connection must be dropped. */
static int shim_conn_process(ShimConn *c) {
        size_t consumed;
        int r;

        if (!c->auth.done) {
                r = dbus_auth_feed(&c->auth, c->in.data, c->in.size, &c->out, &consumed);
                if (r < 0)
                        return r;
                dbus_buffer_consume(&c->in, consumed);
                r = shim_conn_write(c);
                if (r < 0 || !c->auth.done)
                        return r;
                c->auth_timeout_source = event_source_free(c->auth_timeout_source);
        }

        for (;;) {
                DbusMessage m;

                r = dbus_message_parse(c->in.data, c->in.size, CONTROL_MESSAGE_MAX, &m, &consumed);
                if (r <= 0)
                        return r;
                r = shim_conn_dispatch(c, &m);
                if (r < 0)
                        return r;
                /* A reply or signal too many for it (or for another client) broke it meanwhile. */
                if (c->broken)
                        return -ECONNRESET;
                dbus_buffer_consume(&c->in, consumed);
                /* Delete ends the loop; the rest of the stream is not served any more. */
                if (c->shim->deleted)
                        return 0;
        }
}

static int on_conn_io(EventSource *source, int fd, uint32_t revents, void *userdata) {
        ShimConn *c = userdata;
        Shim *s = c->shim;
        ssize_t n;
        int r = 0;

        if (c->broken) {
                shim_conn_free(c);
                return 0;
        }

        if (revents & EPOLLOUT) {
                r = shim_conn_write(c);
                if (r < 0)
                        goto drop;
        }

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                /* Never more than one unfinished message: a peer that sends more is no client of ours. */
                if (c->in.size >= CONTROL_INPUT_MAX) {
                        r = -ENOBUFS;
                        goto drop;
                }
                r = dbus_buffer_reserve(&c->in, CONTROL_READ_SIZE);
                if (r < 0)
                        goto drop;
                n = recv(fd, c->in.data + c->in.size, c->in.allocated - c->in.size, MSG_DONTWAIT);
                if (n < 0) {
                        if (IN_SET(errno, EAGAIN, EINTR))
                                return 0;
                        r = -errno;
                        goto drop;
                }
                if (n == 0) {
                        log_container(LOG_DEBUG, s->config->id, "Control connection closed.");
                        shim_conn_free(c);
                        return 0;
                }
                c->in.size += (size_t) n;

                r = shim_conn_process(c);
                if (r < 0)
                        goto drop;
        }
        return 0;

drop:
        log_container_errno(LOG_DEBUG, s->config->id, r, "Dropping a control connection: %m");
        shim_conn_free(c);
        return 0;
}

static int on_auth_timeout(EventSource *source, void *userdata) {
        ShimConn *c = userdata;

        control_warning(c->shim, 0, "Closing a control connection that did not authenticate within %" PRIu64 " s.",
                        CONTROL_AUTH_TIMEOUT_USEC / USEC_PER_SEC);
        shim_conn_free(c);
        return 0;
}

static int shim_conn_new(Shim *s, int fd, uid_t uid) {
        _cleanup_(shim_conn_freep) ShimConn *c = NULL;
        uint8_t guid[16];
        int r;

        c = calloc(1, sizeof(ShimConn));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->fd = fd;

        /* The server id only needs to be unique; a short read of randomness is still fine. */
        if (getrandom(guid, sizeof(guid), GRND_NONBLOCK) != (ssize_t) sizeof(guid))
                for (size_t i = 0; i < sizeof(guid); i++)
                        guid[i] = (uint8_t) (now_usec(CLOCK_MONOTONIC) >> (i % 8 * 8)) ^ (uint8_t) i;
        dbus_auth_init(&c->auth, uid, guid);

        r = event_add_io(s->loop, &c->source, c->fd, EPOLLIN, on_conn_io, c);
        if (r < 0)
                return r;
        r = event_add_timer(s->loop, &c->auth_timeout_source, CONTROL_AUTH_TIMEOUT_USEC, on_auth_timeout, c);
        if (r < 0)
                return r;

        c->shim = s;
        LIST_PREPEND(conns, s->conns, c);
        s->n_conns++;
        TAKE_PTR(c);
        return 0;
}

static int on_accept_pause_end(EventSource *source, void *userdata) {
        Shim *s = userdata;

        s->accept_pause_source = event_source_free(s->accept_pause_source);
        if (s->reserve_fd < 0)
                s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        (void) event_source_set_io_events(s->listen_source, EPOLLIN);
        return 0;
}

/* Stops accepting for a moment: a pending connection that cannot be accepted would wake us again at
 * once, for ever. */
static void accept_pause(Shim *s) {
        if (s->accept_pause_source)
                return;
        if (event_add_timer(s->loop, &s->accept_pause_source, CONTROL_ACCEPT_PAUSE_USEC, on_accept_pause_end,
                            s) < 0)
                return;
        (void) event_source_set_io_events(s->listen_source, 0);
}

/* At the fd limit: the reserve fd makes room to accept the pending connection, which is closed at
 * once. Its client learns it was refused, and the backlog drains instead of waking us for ever. */
static void accept_at_fd_limit(Shim *s, int listen_fd, int error) {
        int cfd = -EBADF, k = error;

        if (s->reserve_fd >= 0) {
                s->reserve_fd = safe_close(s->reserve_fd);
                cfd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                k = cfd < 0 ? errno : 0;
                safe_close(cfd);
                s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        }
        if (s->reserve_fd < 0 || (cfd < 0 && !IN_SET(k, EAGAIN, EINTR, ECONNABORTED)))
                accept_pause(s);
        if (cfd >= 0 || s->reserve_fd < 0)
                control_warning(s, error, "Refusing a control connection: %m.");
}

static int on_accept(EventSource *source, int fd, uint32_t revents, void *userdata) {
        Shim *s = userdata;
        _cleanup_close_ int cfd = -EBADF;
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (IN_SET(errno, EMFILE, ENFILE))
                        accept_at_fd_limit(s, fd, errno);
                else if (!IN_SET(errno, EAGAIN, EINTR, ECONNABORTED)) {
                        /* ENOMEM, ENOBUFS: the same connection would fail again at once. */
                        control_warning(s, errno, "Failed to accept a control connection, ignoring: %m");
                        accept_pause(s);
                }
                return 0;
        }

        if (s->n_conns >= CONTROL_CONNECTIONS_MAX) {
                control_warning(s, 0, "Refusing a control connection: %u are open already.", s->n_conns);
                return 0;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                control_warning(s, errno, "Failed to get the peer's credentials: %m");
                return 0;
        }
        if (cred.uid != geteuid()) {
                control_warning(s, 0, "Refusing control connection from uid %u (pid %d).", (unsigned) cred.uid,
                                (int) cred.pid);
                return 0;
        }

        r = shim_conn_new(s, TAKE_FD(cfd), cred.uid);
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

        /* Kept for the moment we are at the fd limit (see accept_at_fd_limit()). */
        s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (s->reserve_fd < 0)
                return -errno;

        return event_add_io(s->loop, &s->listen_source, s->listen_fd, EPOLLIN, on_accept, s);
}

/**
 * shim_control_emit_started() - send Started(pid, started_at) on every connection
 * @s: the shim
 */
void shim_control_emit_started(Shim *s) {
        shim_emit(s, "Started", "ut", (uint32_t) s->init_pid, s->started_at);
}

static int on_log_dropped_timer(EventSource *source, void *userdata);

/* LogDropped with the current count, if it grew since the last one; then none for a second. */
static void log_dropped_emit(Shim *s) {
        int r;

        if (s->log_bytes_dropped == s->log_dropped_sent)
                return;
        shim_emit(s, "LogDropped", "t", s->log_bytes_dropped);
        s->log_dropped_sent = s->log_bytes_dropped;

        if (s->log_dropped_source)
                return;
        r = event_add_timer(s->loop, &s->log_dropped_source, LOG_DROPPED_INTERVAL_USEC, on_log_dropped_timer, s);
        if (r < 0)
                log_container_errno(LOG_DEBUG, s->config->id, r, "Failed to arm the LogDropped timer, ignoring: %m");
}

static int on_log_dropped_timer(EventSource *source, void *userdata) {
        Shim *s = userdata;

        s->log_dropped_source = event_source_free(s->log_dropped_source);
        log_dropped_emit(s);
        return 0;
}

/**
 * shim_control_log_dropped() - the count of output bytes the log driver dropped grew
 * @s: the shim
 *
 * Sends LogDropped(bytes_dropped_total) at once when the count first grows, and then at most once
 * per second while it keeps growing: a full disk drops output at every chunk, and berthd needs the
 * total, not every step.
 */
void shim_control_log_dropped(Shim *s) {
        /* While the timer runs, it sends the count when it fires. */
        if (!s->log_dropped_source)
                log_dropped_emit(s);
}

/**
 * shim_control_emit_exited() - send Exited(status, reason, oom_killed, finished_at) on every connection
 * @s: the shim, whose exit record is on disk
 *
 * The final LogDropped count, if it is still to be sent, goes first: it is complete with the log.
 */
void shim_control_emit_exited(Shim *s) {
        if (s->log_bytes_dropped != s->log_dropped_sent) {
                shim_emit(s, "LogDropped", "t", s->log_bytes_dropped);
                s->log_dropped_sent = s->log_bytes_dropped;
        }
        shim_emit(s, "Exited", "isbt", (int32_t) s->exit.status, exit_reason_to_string(s->exit.reason),
                  (int) s->exit.oom_killed, s->exit.finished_at);
}

/**
 * shim_control_flush() - write out everything queued on the connections
 * @s: the shim
 *
 * Blocks for at most CONTROL_FLUSH_TIMEOUT_MSEC in all: peers that read nothing must not keep the
 * shim from exiting.
 */
void shim_control_flush(Shim *s) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + CONTROL_FLUSH_TIMEOUT_MSEC * USEC_PER_MSEC;

        LIST_FOREACH(conns, c, s->conns)
                while (c->out.size > 0) {
                        struct pollfd p = { .fd = c->fd, .events = POLLOUT };
                        uint64_t now = now_usec(CLOCK_MONOTONIC);

                        if (shim_conn_write(c) < 0 || c->out.size == 0 || now >= deadline)
                                break;
                        if (poll(&p, 1, (int) ((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC)) <= 0)
                                break;
                }
}

/**
 * shim_control_done() - close every connection and the listening socket
 * @s: the shim
 */
void shim_control_done(Shim *s) {
        while (s->conns)
                shim_conn_free(s->conns);
        s->listen_source = event_source_free(s->listen_source);
        s->accept_pause_source = event_source_free(s->accept_pause_source);
        s->log_dropped_source = event_source_free(s->log_dropped_source);
        s->listen_fd = safe_close(s->listen_fd);
        s->reserve_fd = safe_close(s->reserve_fd);
}
