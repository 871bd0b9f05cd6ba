/* berthd's side of the shim protocol (docs/shim-protocol.md): spawning a shim, reading its
 * readiness line, connecting to its control socket, forwarding calls, and noticing its death. */

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "bus-error.h"
#include "container.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "path-util.h"

#define SHIM_CREATE_TIMEOUT_USEC (120 * USEC_PER_SEC)

static int on_shim_exited(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int on_shim_signal(sd_bus_message *message, void *userdata, sd_bus_error *error);
static int container_sync_state_async(Container *c);

/* The environment minus what was meant for berthd alone. */
static char **shim_environment(void) {
        size_t n = 0, k = 0;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 1, sizeof(char *));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!shim_env_is_dropped(environ[i]))
                        env[k++] = environ[i];
        return env;
}

/* Spawns the shim with posix_spawn(), i.e. vfork semantics: berthd's memory is not copied, which
 * matters as berthd grows with its containers. The child gets a new session, default signal
 * dispositions, an empty signal mask, /dev/null as stdin and exactly the fds in @keep, as 3, 4, ...
 * in order (their numbers in @argv must say so). Every other fd of berthd is O_CLOEXEC, and
 * closefrom makes sure. */
static int shim_spawn(const char *path, char **argv, const int *keep, size_t n_keep, pid_t *ret_pid) {
        _cleanup_free_ char **env = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        int high[8], r;
        sigset_t mask;

        assert(n_keep <= ELEMENTSOF(high));
        for (size_t i = 0; i < n_keep; i++)
                high[i] = -EBADF;

        env = shim_environment();
        if (!env)
                return -ENOMEM;

        /* Above every target number, so that no dup2() below overwrites a source. */
        for (size_t i = 0; i < n_keep; i++) {
                high[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 3 + (int) n_keep);
                if (high[i] < 0) {
                        r = -errno;
                        goto finish_fds;
                }
        }

        r = -posix_spawn_file_actions_init(&fa);
        if (r < 0)
                goto finish_fds;
        r = -posix_spawnattr_init(&attr);
        if (r < 0)
                goto finish_fa;

        r = -posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDWR, 0);
        for (size_t i = 0; i < n_keep && r == 0; i++)
                r = -posix_spawn_file_actions_adddup2(&fa, high[i], 3 + (int) i);
        if (r == 0)
                r = -posix_spawn_file_actions_addclosefrom_np(&fa, 3 + (int) n_keep);

        (void) sigemptyset(&mask);
        if (r == 0)
                r = -posix_spawnattr_setsigmask(&attr, &mask);
        (void) sigfillset(&mask);
        if (r == 0)
                r = -posix_spawnattr_setsigdefault(&attr, &mask);
        if (r == 0)
                r = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                     POSIX_SPAWN_SETSID);
        if (r == 0)
                r = -posix_spawn(ret_pid, path, &fa, &attr, argv, env);

        (void) posix_spawnattr_destroy(&attr);
finish_fa:
        (void) posix_spawn_file_actions_destroy(&fa);
finish_fds:
        for (size_t i = 0; i < n_keep; i++)
                safe_close(high[i]);
        return r;
}

static int fd_arg(char ***argv, size_t *n, const char *name, int fd) {
        char *a, *b;

        if (fd < 0)
                return 0;
        a = strdup(name);
        if (!a || asprintf(&b, "%d", fd) < 0) {
                free(a);
                return -ENOMEM;
        }
        (*argv)[(*n)++] = a;
        (*argv)[(*n)++] = b;
        return 0;
}

static int on_create_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;

        log_container(LOG_ERR, c->id, "Shim of '%s' did not get ready in time, killing it.", c->id);
        free(c->create_error_name);
        free(c->create_error_message);
        c->create_error_name = strdup(BERTH_ERROR_TIMEOUT);
        c->create_error_message = strdup("The shim did not finish creating the container in time.");
        c->create_cleaned = false;
        if (c->shim_pidfd >= 0)
                (void) pidfd_send_sig(c->shim_pidfd, SIGKILL);
        return 0;
}

static void container_create_failed(Container *c) {
        const char *name = c->create_error_name ?: BERTH_ERROR_SHIM_FAILED;
        const char *msg = c->create_error_message ?: "The shim exited before the container was created.";

        log_container(LOG_WARNING, c->id, "Creating '%s' failed: %s", c->id, msg);
        if (c->create_request) {
                (void) sd_bus_reply_method_errorf(c->create_request, name, "%s", msg);
                c->create_request = sd_bus_message_unref(c->create_request);
        }

        /* A shim that said ERROR removed what it made in the runtime; one that died or was
         * killed may not have. */
        if (c->create_cleaned)
                (void) container_remove_state(c);
        else
                (void) container_delete_without_shim(c, NULL);
        container_free(c);
}

/* What a READY line says: "READY <pid>", and with --start " <started_at>", which is 0 when the
 * start failed, followed by " <error name> <message>". */
typedef struct ReadyLine {
        uint64_t started_at;
        const char *start_error_name;   /* point into ready_buf */
        const char *start_error_message;
} ReadyLine;

static int ready_parse(Container *c, ReadyLine *ret) {
        char *nl, *sp;

        nl = memchr(c->ready_buf, '\n', c->ready_size);
        if (!nl)
                return -EBADMSG;
        *nl = 0;

        if (strneq(c->ready_buf, SHIM_READY_PREFIX, strlen(SHIM_READY_PREFIX))) {
                unsigned long long started_at = 0;
                unsigned long pid;
                char *end;

                errno = 0;
                pid = strtoul(c->ready_buf + strlen(SHIM_READY_PREFIX), &end, 10);
                if (errno != 0 || pid == 0 || pid > INT32_MAX)
                        return -EBADMSG;
                if (*end == ' ') {
                        started_at = strtoull(end + 1, &end, 10);
                        if (errno != 0)
                                return -EBADMSG;
                        if (started_at == 0 && *end == ' ' && (sp = strchr(end + 1, ' '))) {
                                *sp = 0;
                                ret->start_error_name = end + 1;
                                ret->start_error_message = sp + 1;
                                end = sp + strlen(sp + 1) + 1;
                        }
                }
                if (*end != 0)
                        return -EBADMSG;
                c->pid = (pid_t) pid;
                ret->started_at = started_at;
                return 1;
        }

        if (!strneq(c->ready_buf, SHIM_ERROR_PREFIX, strlen(SHIM_ERROR_PREFIX)))
                return -EBADMSG;

        sp = strchr(c->ready_buf + strlen(SHIM_ERROR_PREFIX), ' ');
        if (!sp)
                return -EBADMSG;
        *sp = 0;
        free(c->create_error_name);
        free(c->create_error_message);
        c->create_error_name = strdup(c->ready_buf + strlen(SHIM_ERROR_PREFIX));
        c->create_error_message = strdup(sp + 1);
        if (!c->create_error_name || !c->create_error_message)
                return -ENOMEM;
        c->create_cleaned = true;
        return 0;
}

static int container_created(Container *c, const ReadyLine *ready) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *request = TAKE_PTR(c->create_request);
        int r;

        c->state = CONTAINER_CREATED;
        c->create_timeout_source = sd_event_source_disable_unref(c->create_timeout_source);

        r = container_attach_shim(c, c->shim_pid);
        if (r < 0) {
                log_container_errno(LOG_ERR, c->id, r, "Failed to connect to the shim of '%s': %m", c->id);
                if (request)
                        (void) sd_bus_reply_method_errorf(request, BERTH_ERROR_SHIM_FAILED,
                                                          "Could not connect to the shim of '%s': %s", c->id,
                                                          strerror(-r));
                (void) pidfd_send_sig(c->shim_pidfd, SIGKILL);
                c->deleting = true;
                return 0;
        }

        (void) container_export(c, true);
        log_container(LOG_INFO, c->id, "Container '%s' created, shim pid %d, init pid %d.", c->id,
                      (int) c->shim_pid, (int) c->pid);

        if (!c->start_after_create) {
                if (request)
                        return sd_bus_reply_method_return(request, "o", c->path);
                return 0;
        }

        /* The shim was told --start and ran the runtime's start right after its create. The
         * container may have exited before we connected, and then no Exited signal comes: ask. */
        if (ready->started_at > 0) {
                container_set_started(c, c->pid, ready->started_at);
                r = container_sync_state_async(c);
                if (r < 0)
                        log_container_errno(LOG_WARNING, c->id, r, "Failed to ask the shim of '%s' for its state: %m",
                                            c->id);
                if (request)
                        return sd_bus_reply_method_return(request, "o", c->path);
                return 0;
        }
        if (ready->start_error_name) {
                log_container(LOG_WARNING, c->id, "Starting '%s' failed: %s", c->id, ready->start_error_message);
                if (request)
                        return sd_bus_reply_method_errorf(request, ready->start_error_name, "%s",
                                                          ready->start_error_message);
                return 0;
        }
        return container_start(c, request);
}

static int on_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;
        ReadyLine ready = {};
        ssize_t n;
        int r;

        n = read(fd, c->ready_buf + c->ready_size, SHIM_READY_MAX - 1 - c->ready_size);
        if (n < 0) {
                if (IN_SET(errno, EAGAIN, EINTR))
                        return 0;
                n = 0;
        }
        c->ready_size += n;
        if (n > 0 && !memchr(c->ready_buf, '\n', c->ready_size) && c->ready_size < SHIM_READY_MAX - 1)
                return 0;

        c->ready_source = sd_event_source_disable_unref(c->ready_source);
        c->ready_fd = safe_close(c->ready_fd);

        r = ready_parse(c, &ready);
        if (r > 0) {
                r = container_created(c, &ready);
                c->ready_buf = mfree(c->ready_buf);
                return r;
        }
        c->ready_buf = mfree(c->ready_buf);
        if (r == -EBADMSG && !c->create_error_name) {
                c->create_error_name = strdup(BERTH_ERROR_SHIM_FAILED);
                c->create_error_message = strdup("The shim exited before the container was created.");
        }
        /* The shim exits after an ERROR line; the rest happens when its pidfd fires. */
        return 0;
}

static int container_watch_shim(Container *c, pid_t pid) {
        int r;

        c->shim_pid = pid;
        c->shim_pidfd = pidfd_open_pid(pid);
        if (c->shim_pidfd < 0)
                return c->shim_pidfd;

        r = sd_event_add_io(c->manager->event, &c->shim_pidfd_source, c->shim_pidfd, EPOLLIN, on_shim_exited, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->shim_pidfd_source, "shim-pidfd");
        return 0;
}

/**
 * container_spawn_shim() - start the shim of a new container and watch for its READY line
 * @c: the container; its state directory and container.json exist
 * @stdio_fds: the caller's Stdin/Stdout/Stderr fds, or -EBADF each
 */
int container_spawn_shim(Container *c, const int stdio_fds[3]) {
        static const char *const stdio_opts[3] = { "--stdin-fd", "--stdout-fd", "--stderr-fd" };
        Manager *m = c->manager;
        _cleanup_close_ int ready_read = -EBADF, ready_write = -EBADF;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *dir = NULL;
        int pipefd[2], keep[4];
        size_t n = 0, n_keep = 0;
        pid_t pid;
        int r;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        ready_read = pipefd[0];
        ready_write = pipefd[1];

        if (asprintf(&dir, "%s/%s", m->state_dir, c->id) < 0)
                return -ENOMEM;

        argv = calloc(20, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        argv[n++] = strdup("berth-shim");
        argv[n++] = strdup("--id");
        argv[n++] = strdup(c->id);
        argv[n++] = strdup("--state-dir");
        argv[n++] = TAKE_PTR(dir);
        for (size_t i = 0; i < n; i++)
                if (!argv[i])
                        return -ENOMEM;
        /* The shim gets the kept fds as 3, 4, ... (see shim_spawn()). */
        keep[n_keep++] = ready_write;
        r = fd_arg(&argv, &n, "--ready-fd", 3);
        for (size_t i = 0; i < 3 && r >= 0; i++)
                if (stdio_fds[i] >= 0) {
                        r = fd_arg(&argv, &n, stdio_opts[i], 3 + (int) n_keep);
                        keep[n_keep++] = stdio_fds[i];
                }
        if (r < 0)
                return r;
        if (log_get_max_level() >= LOG_DEBUG)
                argv[n++] = strdup("--debug");
        /* Start=true: the shim starts right after the create, without a round trip through us. */
        if (c->start_after_create)
                argv[n++] = strdup("--start");

        r = shim_spawn(m->shim_path, argv, keep, n_keep, &pid);
        if (r < 0)
                return r;

        ready_write = safe_close(ready_write);
        c->creating = true;

        r = container_watch_shim(c, pid);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                return r;
        }

        c->ready_buf = malloc(SHIM_READY_MAX);
        if (!c->ready_buf)
                return -ENOMEM;
        r = fd_set_nonblock(ready_read, true);
        if (r < 0)
                return r;
        r = sd_event_add_io(m->event, &c->ready_source, ready_read, EPOLLIN, on_ready, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->ready_source, "shim-ready");
        c->ready_fd = TAKE_FD(ready_read);

        r = sd_event_add_time_relative(m->event, &c->create_timeout_source, CLOCK_MONOTONIC,
                                       SHIM_CREATE_TIMEOUT_USEC, USEC_PER_SEC, on_create_timeout, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->create_timeout_source, "shim-create-timeout");

        log_container(LOG_DEBUG, c->id, "Spawned shim of '%s' as pid %d.", c->id, (int) pid);
        return 0;
}

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

/* Like container_sync_state(), without waiting for the answer. */
static int container_sync_state_async(Container *c) {
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

/* A "runtime delete --force" berthd runs itself when a shim is gone. It runs in the background
 * and is killed if it hangs, so a stuck runtime never blocks berthd. */
struct RuntimeCleanup {
        Manager *manager;
        char *id;
        int pidfd;
        sd_event_source *exit_source;
        sd_event_source *timeout_source;
        sd_bus_message *request;        /* answered once the runtime is done */
        LIST_FIELDS(RuntimeCleanup, cleanups);
};

/**
 * runtime_cleanup_free() - forget a background runtime call (the process is reaped anyway)
 * @rc: the call, may be NULL
 */
RuntimeCleanup *runtime_cleanup_free(RuntimeCleanup *rc) {
        if (!rc)
                return NULL;
        if (rc->manager)
                LIST_REMOVE(cleanups, rc->manager->cleanups, rc);
        sd_event_source_disable_unref(rc->exit_source);
        sd_event_source_disable_unref(rc->timeout_source);
        safe_close(rc->pidfd);
        if (rc->request)
                (void) sd_bus_reply_method_return(rc->request, NULL);
        sd_bus_message_unref(rc->request);
        free(rc->id);
        return mfree(rc);
}

static int on_cleanup_exited(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        RuntimeCleanup *rc = userdata;
        Container *c = manager_get_container(rc->manager, rc->id);

        log_container(LOG_DEBUG, rc->id, "Runtime cleanup of '%s' finished.", rc->id);
        if (c && c->lost)
                container_mark_lost(c);
        runtime_cleanup_free(rc);
        return 0;
}

static int on_cleanup_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        RuntimeCleanup *rc = userdata;

        log_container(LOG_WARNING, rc->id, "Runtime cleanup of '%s' hangs, killing it.", rc->id);
        (void) pidfd_send_sig(rc->pidfd, SIGKILL);
        return 0;
}

static int runtime_force_delete(Container *c, sd_bus_message *request) {
        const ContainerConfig *cfg = c->config;
        Manager *m = c->manager;
        _cleanup_strv_free_ char **argv = NULL;
        RuntimeCleanup *rc;
        size_t n = 0;
        pid_t pid;
        int r;

        if (!cfg || !cfg->runtime)
                return request ? sd_bus_reply_method_return(request, NULL) : 0;

        argv = calloc(strv_length(cfg->runtime_args) + 8, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        argv[n++] = strdup(cfg->runtime);
        argv[n++] = strdup("--root");
        argv[n++] = strdup(cfg->runtime_root);
        STRV_FOREACH(a, cfg->runtime_args)
                argv[n++] = strdup(*a);
        argv[n++] = strdup("delete");
        argv[n++] = strdup("--force");
        argv[n++] = strdup(c->id);
        for (size_t i = 0; i < n; i++)
                if (!argv[i])
                        return -ENOMEM;

        rc = calloc(1, sizeof(RuntimeCleanup));
        if (!rc)
                return -ENOMEM;
        rc->pidfd = -EBADF;
        rc->manager = m;
        LIST_PREPEND(cleanups, m->cleanups, rc);
        rc->id = strdup(c->id);
        rc->request = sd_bus_message_ref(request);
        if (!rc->id) {
                runtime_cleanup_free(rc);
                return -ENOMEM;
        }

        pid = fork();
        if (pid < 0) {
                r = -errno;
                runtime_cleanup_free(rc);
                return r;
        }
        if (pid == 0) {
                int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                int keep[] = { STDERR_FILENO };
                sigset_t all;

                (void) sigemptyset(&all);
                (void) sigprocmask(SIG_SETMASK, &all, NULL);
                if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
                        _exit(126);
                (void) close_all_fds_except(keep, ELEMENTSOF(keep));
                execv(argv[0], argv);
                _exit(127);
        }

        /* berthd reaps every child on SIGCHLD; the pidfd only tells when this one is done. */
        rc->pidfd = pidfd_open_pid(pid);
        if (rc->pidfd < 0) {
                r = rc->pidfd;
                (void) kill(pid, SIGKILL);
                runtime_cleanup_free(rc);
                return r;
        }
        r = sd_event_add_io(m->event, &rc->exit_source, rc->pidfd, EPOLLIN, on_cleanup_exited, rc);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &rc->timeout_source, CLOCK_MONOTONIC,
                                               m->runtime_timeout_usec, USEC_PER_SEC, on_cleanup_timeout, rc);
        if (r < 0) {
                (void) pidfd_send_sig(rc->pidfd, SIGKILL);
                runtime_cleanup_free(rc);
                return r;
        }
        (void) sd_event_source_set_description(rc->exit_source, "runtime-cleanup");
        (void) sd_event_source_set_description(rc->timeout_source, "runtime-cleanup-timeout");
        return 0;
}

/**
 * container_delete_without_shim() - clean up after a container whose shim is gone
 * @c: the container
 * @request: a call to answer once the runtime's state is gone, or NULL
 *
 * Removes the runtime's state (which kills leftover processes, in the background) and the
 * state directory.
 */
int container_delete_without_shim(Container *c, sd_bus_message *request) {
        int r;

        r = runtime_force_delete(c, request);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to delete runtime state of '%s', ignoring: %m",
                                    c->id);
        return container_remove_state(c);
}

/**
 * container_shim_lost() - the shim died while the container was not known to have exited
 * @c: the container
 */
void container_shim_lost(Container *c) {
        ExitRecord e;
        int r;

        /* The shim may have written the exit record just before it died: that one is the truth. */
        if (c->dir_fd >= 0 && exit_record_load(c->dir_fd, &e) >= 0) {
                container_set_exited(c, &e, true);
                return;
        }

        log_container(LOG_WARNING, c->id, "Shim of '%s' is gone, the container is lost.", c->id);

        /* Reported as stopped only once its orphans are dead and the runtime forgot it. */
        c->lost = true;
        r = runtime_force_delete(c, NULL);
        if (r < 0) {
                log_container_errno(LOG_WARNING, c->id, r, "Failed to delete runtime state, ignoring: %m");
                container_mark_lost(c);
        }
}

/**
 * container_mark_lost() - record and announce 255/shim-lost for a container whose shim is gone
 * @c: the container
 */
void container_mark_lost(Container *c) {
        ExitRecord e = {
                .status = 255,
                .reason = EXIT_REASON_SHIM_LOST,
                .finished_at = now_usec(CLOCK_REALTIME),
        };
        int r;

        c->lost = false;
        if (c->exited)
                return;
        if (c->dir_fd >= 0) {
                r = exit_record_save(c->dir_fd, &e);
                if (r < 0)
                        log_container_errno(LOG_WARNING, c->id, r, "Failed to save exit record, ignoring: %m");
        }
        container_set_exited(c, &e, true);
}

/* The shim is dead, but what it sent before it died may still wait in its socket: the reply to
 * Delete, an Exited signal. Dispatch all of it before drawing conclusions from the death. */
static void container_drain_shim_bus(Container *c) {
        int r;

        if (!c->shim_bus)
                return;
        do
                r = sd_bus_process(c->shim_bus, NULL);
        while (r > 0 && c->shim_bus);
}

static int on_shim_exited(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;

        c->shim_pidfd_source = sd_event_source_disable_unref(c->shim_pidfd_source);
        c->shim_pidfd = safe_close(c->shim_pidfd);
        container_drain_shim_bus(c);
        c->state_slot = sd_bus_slot_unref(c->state_slot);
        c->shim_bus = sd_bus_flush_close_unref(c->shim_bus);

        if (c->creating) {
                container_create_failed(c);
                return 0;
        }

        if (c->deleting) {
                /* The shim removed everything and exits after replying to Delete; if it died
                 * before, finish its work. */
                if (!c->removed)
                        (void) container_delete_without_shim(c, NULL);
                container_answer_deletes(c, NULL);
                container_remove(c);
                return 0;
        }

        /* Only Delete makes a shim remove the state directory: if it is gone, a Delete that
         * berthd did not see finish (a restart in between) completed. */
        if (faccessat(c->manager->state_dir_fd, c->id, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                container_remove(c);
                return 0;
        }

        if (!c->exited)
                container_shim_lost(c);
        c->shim_pid = 0;
        container_send_changed(c, "ShimPid", NULL);
        return 0;
}
