/* Spawning a shim and reading its readiness line (docs/shim-protocol.md): the first half of a
 * container's life in berthd, until the shim's control socket is reached (shim-link.c). */

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>

#include "bus-error.h"
#include "container.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "path-util.h"

#define SHIM_CREATE_TIMEOUT_USEC (120 * USEC_PER_SEC)

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
        container_kill_shim(c);
        return 0;
}

/**
 * container_create_failed() - the shim of a container being created is gone: answer and clean up
 * @c: the container; freed
 */
void container_create_failed(Container *c) {
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

/* A shim's readiness line (common/shim-protocol.c): 1 created, 0 creating failed (the error is kept
 * for the answer once the shim is gone), -EBADMSG garbage. */
static int ready_parse(Container *c, ReadyLine *ret) {
        int r;

        r = ready_line_parse(c->ready_buf, c->ready_size, ret);
        if (r < 0)
                return r;
        if (ret->pid > 0) {
                c->pid = ret->pid;
                return 1;
        }

        free(c->create_error_name);
        free(c->create_error_message);
        c->create_error_name = strdup(ret->error_name);
        c->create_error_message = strdup(ret->error_message);
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

        r = container_attach_shim(c);
        if (r < 0) {
                log_container_errno(LOG_ERR, c->id, r, "Failed to connect to the shim of '%s': %m", c->id);
                if (request)
                        (void) sd_bus_reply_method_errorf(request, BERTH_ERROR_SHIM_FAILED,
                                                          "Could not connect to the shim of '%s': %s", c->id,
                                                          strerror(-r));
                container_kill_shim(c);
                c->op = CONTAINER_OP_DELETING;
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
        if (ready->error_name) {
                log_container(LOG_WARNING, c->id, "Starting '%s' failed: %s", c->id, ready->error_message);
                if (request)
                        return sd_bus_reply_method_errorf(request, ready->error_name, "%s", ready->error_message);
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
        c->op = CONTAINER_OP_CREATING;

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

