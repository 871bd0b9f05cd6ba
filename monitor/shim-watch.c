/* Watching a shim's process (process-watch.c: a pidfd, or pid and start time): when it is gone, a
 * container whose shim died before reporting an exit is lost (255, shim-lost) once the runtime
 * forgot it. */

#include <fcntl.h>
#include <signal.h>

#include "bus-error.h"
#include "container.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "atomic-file.h"
#include "path-util.h"

static void on_shim_exited(ProcessWatch *w, void *userdata);

/**
 * container_watch_shim() - notice when the shim of @c exits
 * @c: the container
 * @pid: the shim's pid
 */
int container_watch_shim(Container *c, pid_t pid) {
        int r;

        c->shim_watch = process_watch_free(c->shim_watch);
        r = process_watch_new(c->manager->event, pid, on_shim_exited, c, &c->shim_watch);
        if (r < 0)
                return r;
        c->shim_pid = pid;
        return 0;
}

static bool shim_cmdline_matches(pid_t pid, const char *dir) {
        _cleanup_free_ char *path = NULL, *cmdline = NULL;
        size_t size;

        if (asprintf(&path, "/proc/%d/cmdline", (int) pid) < 0)
                return false;
        if (read_full_file_at(AT_FDCWD, path, 64 * 1024, &cmdline, &size) < 0)
                return false;

        /* NUL separated: look for "--state-dir" followed by exactly our directory. */
        for (size_t i = 0; i < size; i += strlen(cmdline + i) + 1)
                if (streq(cmdline + i, "--state-dir") && i + strlen(cmdline + i) + 1 < size)
                        return streq(cmdline + i + strlen(cmdline + i) + 1, dir);
        return false;
}

/**
 * container_is_our_shim() - whether @pid runs berth-shim for the state directory of @c
 * @c: the container
 * @pid: the process
 */
bool container_is_our_shim(const Container *c, pid_t pid) {
        _cleanup_free_ char *dir = NULL;

        if (asprintf(&dir, "%s/%s", c->manager->state_dir, c->id) < 0)
                return false;
        return shim_cmdline_matches(pid, dir);
}

/**
 * container_shim_alive() - whether the shim of @c is known to run
 * @c: the container
 */
bool container_shim_alive(const Container *c) {
        return c->shim_watch && !process_watch_exited(c->shim_watch);
}

/**
 * container_kill_shim() - SIGKILL the shim of @c; its exit is handled as any other
 * @c: the container
 */
void container_kill_shim(Container *c) {
        if (c->shim_watch)
                (void) process_watch_kill(c->shim_watch, SIGKILL);
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
        c->op = CONTAINER_OP_CLEANING;
        r = runtime_cleanup_start(c, NULL);
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

        container_op_end(c, CONTAINER_OP_CLEANING);
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

static void on_shim_exited(ProcessWatch *w, void *userdata) {
        Container *c = userdata;

        container_drain_shim_bus(c);
        container_link_close(c);

        if (c->op == CONTAINER_OP_CREATING) {
                container_create_failed(c);
                return;
        }

        if (container_is_deleting(c)) {
                /* The shim removed everything and exits after replying to Delete; if it died
                 * before, finish its work. */
                if (c->op != CONTAINER_OP_DELETED)
                        (void) container_delete_without_shim(c, NULL);
                container_answer_deletes(c, NULL);
                container_remove(c);
                return;
        }

        /* Only Delete makes a shim remove the state directory: if it is gone, a Delete that
         * berthd did not see finish (a restart in between) completed. */
        if (faccessat(c->manager->state_dir_fd, c->id, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                container_remove(c);
                return;
        }

        /* Exec processes first: every ProcessExited comes before the container's exit. */
        container_processes_lost(c);
        if (!c->exited)
                container_shim_lost(c);
        c->shim_pid = 0;
        container_send_changed(c, "ShimPid", NULL);
}
