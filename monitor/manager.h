/* The monitor: the bus connection, the event loop and the set of containers. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "forward.h"
#include "macro.h"

#define MANAGER_BUS_NAME "org.berth.Monitor1"
#define MANAGER_OBJECT_PATH "/org/berth/Monitor1"
#define MANAGER_INTERFACE "org.berth.Monitor1"

typedef enum BusKind {
        BUS_KIND_SYSTEM,
        BUS_KIND_USER,
        BUS_KIND_ADDRESS,
} BusKind;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        BusKind bus_kind;
        char *bus_address;

        char *state_dir;
        int state_dir_fd;
        char *log_dir;
        char *default_runtime;
        char *shim_path;
        char *self_dir;
        uint64_t runtime_timeout_usec;  /* for berthd's own runtime calls */

        /* Unique bus names found privileged: a name is never reused while the bus runs, so the
         * answer holds, and each mutating call saves a round trip to the bus daemon. */
        char *privileged_callers[8];
        unsigned privileged_next;

        bool ready;             /* owns its name: signals may go out */
        Container *containers;
        RuntimeCleanup *cleanups;   /* background runtime deletes */
        WaitClient *wait_clients;   /* bus peers with calls waiting (waiter.c) */
        ExecSync *exec_syncs;       /* ExecSync calls under way */
        uint64_t exec_sync_counter; /* names their processes */
        bool shutting_down;
        unsigned n_containers;  /* exported ones */
        unsigned n_attaching;   /* containers waiting for their shim's first answer */
};

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

int manager_startup(Manager *m);
int manager_run(Manager *m);
Container *manager_get_container(Manager *m, const char *id);
int manager_check_caller(Manager *m, sd_bus_message *message, sd_bus_error *error);

/* manager-dbus.c */
extern const sd_bus_vtable manager_vtable[];
int manager_get_container_or_error(Manager *m, const char *id, Container **ret, sd_bus_error *error);
int manager_signature_filter(sd_bus_message *message, void *userdata, sd_bus_error *ret_error);
void manager_emit_count_changed(Manager *m);
