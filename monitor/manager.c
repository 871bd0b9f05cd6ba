/* The manager: event loop, bus connection and name, child reaping, and the scan of the state
 * directory that re-attaches berthd to every shim after a restart. */

#include <fcntl.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>

#include "atomic-file.h"
#include "bus-error.h"
#include "container.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "path-util.h"
#include "shim-protocol.h"
#include "exec-sync.h"
#include "process.h"
#include "waiter.h"

/**
 * manager_new() - allocate a manager with its event loop
 * @ret: the manager
 */
int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->state_dir_fd = -EBADF;
        if (runtime_timeout_from_env(&m->runtime_timeout_usec) < 0)
                log_warning("Invalid $BERTH_RUNTIME_TIMEOUT_SEC '%s', ignoring.",
                            getenv("BERTH_RUNTIME_TIMEOUT_SEC"));

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

/**
 * manager_free() - free the manager; shims and containers keep running
 * @m: the manager, may be NULL
 */
Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        m->shutting_down = true;
        while (m->containers)
                container_free(m->containers);
        while (m->cleanups)
                runtime_cleanup_free(m->cleanups);
        while (m->exec_syncs)
                exec_sync_free(m->exec_syncs);
        while (m->wait_clients)
                wait_client_free(m->wait_clients);

        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        safe_close(m->state_dir_fd);
        free(m->bus_address);
        free(m->state_dir);
        free(m->log_dir);
        free(m->default_runtime);
        free(m->shim_path);
        free(m->self_dir);
        for (size_t i = 0; i < ELEMENTSOF(m->privileged_callers); i++)
                free(m->privileged_callers[i]);
        return mfree(m);
}

/**
 * manager_get_container() - look up a container by id, visible or not
 * @m: the manager
 * @id: the id
 */
Container *manager_get_container(Manager *m, const char *id) {
        LIST_FOREACH(containers, c, m->containers)
                if (streq(c->id, id))
                        return c;
        return NULL;
}

/**
 * manager_check_caller() - allow only privileged callers to change state
 * @m: the manager
 * @message: the call
 * @error: set to AccessDenied
 *
 * On the system bus only root (CAP_SYS_ADMIN) may change containers; on a user or private bus,
 * callers running as the same user as berthd may too.
 */
int manager_check_caller(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(message);
        int r;

        if (sender)
                for (size_t i = 0; i < ELEMENTSOF(m->privileged_callers); i++)
                        if (m->privileged_callers[i] && streq(m->privileged_callers[i], sender))
                                return 0;

        r = sd_bus_query_sender_privilege(message, CAP_SYS_ADMIN);
        if (r < 0)
                return r;
        if (r == 0)
                return sd_bus_error_setf(error, BERTH_ERROR_ACCESS_DENIED,
                                         "Only root may change containers on this bus.");

        /* Only unique names (":1.42") are stable; a well-known name may change owners. */
        if (sender && sender[0] == ':') {
                char *copy = strdup(sender);
                if (copy) {
                        free(m->privileged_callers[m->privileged_next]);
                        m->privileged_callers[m->privileged_next] = copy;
                        m->privileged_next = (m->privileged_next + 1) % ELEMENTSOF(m->privileged_callers);
                }
        }
        return 0;
}

static int on_sigchld(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        /* berthd is child subreaper: shims are its children, and orphans of dead shims come back to
         * it. Exits of shims are handled through their pidfds; here every child is just reaped. */
        for (;;) {
                siginfo_t info = {};

                if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG) < 0) {
                        if (errno != ECHILD)
                                log_debug_errno(errno, "waitid() failed, ignoring: %m");
                        break;
                }
                if (info.si_pid == 0)
                        break;
                log_debug("Reaped child %d.", (int) info.si_pid);
        }
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, exiting; containers keep running.", strsignal(si->ssi_signo));
        return sd_event_exit(m->event, 0);
}

static int manager_setup_signals(Manager *m) {
        static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
        sigset_t mask;
        int r;

        (void) sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                (void) sigaddset(&mask, sigs[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        (void) signal(SIGPIPE, SIG_IGN);

        r = sd_event_add_signal(m->event, NULL, SIGCHLD, on_sigchld, m);
        if (r < 0)
                return r;
        for (size_t i = 1; i < ELEMENTSOF(sigs); i++) {
                r = sd_event_add_signal(m->event, NULL, sigs[i], on_exit_signal, m);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int manager_connect_bus(Manager *m) {
        int r;

        switch (m->bus_kind) {
        case BUS_KIND_SYSTEM:
                r = sd_bus_open_system_with_description(&m->bus, "berthd");
                break;
        case BUS_KIND_USER:
                r = sd_bus_open_user_with_description(&m->bus, "berthd");
                break;
        default:
                r = sd_bus_new(&m->bus);
                if (r < 0)
                        break;
                (void) sd_bus_set_description(m->bus, "berthd");
                r = sd_bus_set_address(m->bus, m->bus_address);
                if (r < 0)
                        break;
                r = sd_bus_set_bus_client(m->bus, 1);
                if (r < 0)
                        break;
                r = sd_bus_start(m->bus);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the bus: %m");

        /* Exit cleanly when the bus goes away; the service manager restarts berthd, which
         * re-attaches to every shim. */
        r = sd_bus_set_exit_on_disconnect(m->bus, 1);
        if (r < 0)
                return r;
        return sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
}

static int manager_add_objects(Manager *m) {
        int r;

        r = sd_bus_add_filter(m->bus, NULL, manager_signature_filter, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the signature filter: %m");

        r = sd_bus_add_object_vtable(m->bus, NULL, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add manager object: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, CONTAINER_OBJECT_PREFIX, CONTAINER_INTERFACE,
                                       container_vtable, container_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add container objects: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, CONTAINER_OBJECT_PREFIX, PROCESS_INTERFACE, process_vtable,
                                       process_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add process objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, CONTAINER_OBJECT_PREFIX, container_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add node enumerator: %m");
        r = sd_bus_add_object_manager(m->bus, NULL, MANAGER_OBJECT_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add object manager: %m");
        return 0;
}

/* A shim found after a restart: our own (its pid runs berth-shim on this state directory), and
 * listening unless berthd died while it was creating or deleting. */
static int manager_attach_shim(Manager *m, Container *c, pid_t pid) {
        int r;

        /* The pid file may lie (a recycled pid); then the socket's peer tells which the shim is. */
        if (pid > 0 && container_is_our_shim(c, pid) && container_watch_shim(c, pid) >= 0)
                c->shim_pid = pid;

        r = container_reattach(c);
        if (IN_SET(r, -ENOENT, -ECONNREFUSED) && container_shim_alive(c)) {
                /* berthd died while this shim was creating or deleting: finish with nothing rather
                 * than half a container, once the killed shim is gone (shim-watch.c). */
                log_container(LOG_WARNING, c->id, "Removing '%s', left half made or half deleted.", c->id);
                c->op = CONTAINER_OP_DELETING;
                container_set_attaching(c, true);
                container_kill_shim(c);
                return 0;
        }

        /* Shown as it was, without ContainerCreated: it is not new. An exit that happened while
         * berthd was down is announced once the shim says so (container_set_exited()). */
        (void) container_export(c, false);
        if (r < 0 && container_shim_alive(c)) {
                log_container_errno(LOG_WARNING, c->id, r, "Cannot connect to the shim of '%s', killing it: %m",
                                    c->id);
                container_kill_shim(c);
        } else if (r < 0) {
                c->shim_pid = 0;
                container_shim_lost(c);
        }
        return 0;
}

static int manager_attach_one(Manager *m, const char *id) {
        _cleanup_(container_config_freep) ContainerConfig *cfg = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        uint64_t v = 0;
        Container *c;
        int r;

        dir_fd = openat(m->state_dir_fd, id, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dir_fd < 0)
                return log_warning_errno(errno, "Failed to open state of '%s', ignoring: %m", id);

        r = container_config_load(dir_fd, &cfg);
        if (r < 0) {
                /* berthd died before the spawn: nothing was made in the runtime yet. */
                log_warning_errno(r, "No usable container.json for '%s', removing its state: %m", id);
                dir_fd = safe_close(dir_fd);
                return rm_rf_at(m->state_dir_fd, id);
        }

        r = container_new(m, id, cfg, &c);
        if (r < 0)
                return r;
        TAKE_PTR(cfg);
        c->dir_fd = TAKE_FD(dir_fd);

        if (state_read_u64(c->dir_fd, STATE_FILE_PID, &v) >= 0)
                c->pid = (pid_t) v;
        if (state_read_u64(c->dir_fd, STATE_FILE_STARTED, &v) >= 0)
                c->started_at = v;
        c->state = c->started_at > 0 ? CONTAINER_RUNNING : CONTAINER_CREATED;

        r = state_read_u64(c->dir_fd, STATE_FILE_SHIM_PID, &v);
        if (r == -ENOENT) {
                /* berthd died before the shim wrote its pid: was it spawned at all? The shim
                 * writes shim.pid first thing, so by now it would have. Nothing ran. */
                log_container(LOG_WARNING, c->id, "Container '%s' never got a shim, removing its state.", c->id);
                (void) container_delete_without_shim(c, NULL);
                container_free(c);
                return 0;
        }
        if (r < 0 || v == 0 || v > INT32_MAX)
                v = 0;

        return manager_attach_shim(m, c, (pid_t) v);
}

/* Shims answer within milliseconds; one that is stopped or swamped must not keep berthd off the
 * bus. Waits until every shim answered and every cleanup ended, or this long at most. */
#define MANAGER_SETTLE_USEC (2 * USEC_PER_SEC)

static int manager_settle(Manager *m) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + MANAGER_SETTLE_USEC;
        int r;

        while (m->n_attaching > 0 || m->cleanups) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);

                if (now >= deadline)
                        break;
                r = sd_event_run(m->event, deadline - now);
                if (r < 0)
                        return log_error_errno(r, "Event loop failed: %m");
        }

        /* What is not known yet is said to be unknown; the shim's answer settles it later. */
        LIST_FOREACH(containers, c, m->containers)
                if ((c->attaching || c->op == CONTAINER_OP_CLEANING) && c->exported && !c->exited) {
                        log_container(LOG_WARNING, c->id,
                                      "The shim of '%s' does not answer yet; its state is unknown until it does.",
                                      c->id);
                        c->state = CONTAINER_UNKNOWN;
                }
        return 0;
}

static int manager_scan_state(Manager *m) {
        _cleanup_closedir_ DIR *d = NULL;
        int fd;

        fd = fcntl(m->state_dir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }

        for (struct dirent *de; (de = readdir(d)); ) {
                if (de->d_name[0] == '.' || !container_id_is_valid(de->d_name))
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                (void) manager_attach_one(m, de->d_name);
        }
        return 0;
}

static int manager_open_state_dir(Manager *m) {
        int r;

        r = mkdir_p(m->state_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create state directory '%s': %m", m->state_dir);
        m->state_dir_fd = open(m->state_dir, O_DIRECTORY | O_CLOEXEC);
        if (m->state_dir_fd < 0)
                return log_error_errno(errno, "Failed to open state directory '%s': %m", m->state_dir);
        return 0;
}

/**
 * manager_startup() - open the state, re-attach, connect, export and take the bus name
 * @m: the manager, with its options set
 */
int manager_startup(Manager *m) {
        int r;

        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return log_error_errno(errno, "Failed to become child subreaper: %m");

        r = manager_setup_signals(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up signals: %m");
        r = manager_open_state_dir(m);
        if (r < 0)
                return r;
        r = manager_connect_bus(m);
        if (r < 0)
                return r;
        r = manager_add_objects(m);
        if (r < 0)
                return r;

        /* Re-attach before taking the name: clients never see a half-loaded berthd. */
        r = manager_scan_state(m);
        if (r < 0)
                return log_error_errno(r, "Failed to scan '%s': %m", m->state_dir);

        /* Shims answer and cleanups of lost or half-made containers finish first, so the first
         * client sees their real state; a stuck one costs a bounded wait, not the bus name. */
        r = manager_settle(m);
        if (r < 0)
                return r;

        r = sd_bus_request_name(m->bus, MANAGER_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire bus name '%s': %m", MANAGER_BUS_NAME);

        m->ready = true;
        LIST_FOREACH(containers, c, m->containers)
                container_flush_exit_signal(c);

        (void) sd_event_set_watchdog(m->event, true);
        (void) sd_notify(false, "READY=1\nSTATUS=Watching containers.");
        log_info("berthd %s ready: state in '%s', %u containers.", BERTH_VERSION, m->state_dir, m->n_containers);
        return 0;
}

/**
 * manager_run() - run the event loop until a signal or the bus ends it
 * @m: the manager
 */
int manager_run(Manager *m) {
        int r;

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        if (r > 0)
                /* sd-bus ends the loop with a positive code when the bus connection is gone. */
                return log_error_errno(ECONNRESET, "Lost the bus connection, exiting; containers keep running.");
        return r;
}
