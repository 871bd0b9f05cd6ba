/* Watching a shim's process: its pidfd tells when it is gone, and a container whose shim died
 * before reporting an exit is lost (255, shim-lost) once the runtime forgot it. */

#include <fcntl.h>
#include <signal.h>

#include "bus-error.h"
#include "container.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "path-util.h"

static int on_shim_exited(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/**
 * container_watch_shim() - notice when the shim of @c exits
 * @c: the container
 * @pid: the shim's pid
 */
int container_watch_shim(Container *c, pid_t pid) {
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
