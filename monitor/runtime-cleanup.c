/* Runtime cleanup without a shim: "runtime delete --force" run by berthd itself, in the background
 * with a timeout, for containers whose shim is gone or never came up. */

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "bus-error.h"
#include "container.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "path-util.h"

/* A "runtime delete --force" berthd runs itself when a shim is gone. It runs in the background
 * and is killed if it hangs, so a stuck runtime never blocks berthd. */
struct RuntimeCleanup {
        Manager *manager;
        char *id;
        ProcessWatch *watch;
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
        process_watch_free(rc->watch);
        sd_event_source_disable_unref(rc->timeout_source);
        if (rc->request)
                (void) sd_bus_reply_method_return(rc->request, NULL);
        sd_bus_message_unref(rc->request);
        free(rc->id);
        return mfree(rc);
}

static void on_cleanup_exited(ProcessWatch *w, void *userdata) {
        RuntimeCleanup *rc = userdata;
        Container *c = manager_get_container(rc->manager, rc->id);

        log_container(LOG_DEBUG, rc->id, "Runtime cleanup of '%s' finished.", rc->id);
        if (c && c->op == CONTAINER_OP_CLEANING)
                container_mark_lost(c);
        runtime_cleanup_free(rc);
}

static int on_cleanup_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        RuntimeCleanup *rc = userdata;

        log_container(LOG_WARNING, rc->id, "Runtime cleanup of '%s' hangs, killing it.", rc->id);
        /* The runtime leads a process group of its own: whatever it started goes with it. A group
         * id is not reused while any member lives. */
        if (!process_watch_exited(rc->watch))
                (void) kill(-process_watch_pid(rc->watch), SIGKILL);
        return 0;
}

/**
 * runtime_cleanup_start() - run "runtime delete --force" for @c in the background
 * @c: the container
 * @request: a call to answer once the runtime is done, or NULL
 *
 * When it finishes, a container marked lost is reported as such (container_mark_lost()).
 */
int runtime_cleanup_start(Container *c, sd_bus_message *request) {
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
                /* Its own group, so that a timeout kills whatever it started too. */
                (void) setpgid(0, 0);
                if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
                        _exit(126);
                (void) close_all_fds_except(keep, ELEMENTSOF(keep));
                execv(argv[0], argv);
                _exit(127);
        }

        /* In the parent too, so that a kill of the group right away cannot miss it. */
        (void) setpgid(pid, pid);

        /* berthd reaps every child on SIGCHLD; the watch only tells when this one is done. */
        r = process_watch_new(m->event, pid, on_cleanup_exited, rc, &rc->watch);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &rc->timeout_source, CLOCK_MONOTONIC,
                                               m->runtime_timeout_usec, USEC_PER_SEC, on_cleanup_timeout, rc);
        if (r < 0) {
                (void) kill(-pid, SIGKILL);
                runtime_cleanup_free(rc);
                return r;
        }
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

        r = runtime_cleanup_start(c, request);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to delete runtime state of '%s', ignoring: %m",
                                    c->id);
        return container_remove_state(c);
}

