/* An exec process of a container, as berthd sees it: what the shim runs besides the init. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "forward.h"
#include "json-state.h"
#include "macro.h"

#define PROCESS_INTERFACE "org.berth.Process1"

struct Process {
        Container *container;
        char *exec_id;
        char *path;                     /* .../container/<id>/process/<exec_id> */
        ContainerState state;           /* created, running, stopped (unknown until the shim says) */
        pid_t pid;
        uint64_t started_at;
        bool terminal;
        bool open_stdin;                /* a stdin pipe that attach clients write to */
        bool exported;                  /* on the bus; ExecSync's own processes never are */
        bool starting;
        bool deleting;
        bool exited;
        ExitRecord exit;
        Waiter *waiters;
        ExecSync *sync;                 /* the ExecSync call this process serves, if any */
        LIST_FIELDS(Process, processes);
};

/* exec ids: the container id rules; berthd's own (ExecSync) start with one '.'. */
bool exec_id_is_valid(const char *exec_id, bool internal);

int process_new(Container *c, const char *exec_id, bool terminal, Process **ret);
Process *process_free(Process *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Process *, process_free);
Process *container_get_process(Container *c, const char *exec_id);

void process_export(Process *p, bool announce);
void process_set_started(Process *p, pid_t pid, uint64_t started_at);
void process_set_exited(Process *p, const ExitRecord *e, bool notify);
void process_remove(Process *p);
int process_add_waiter(Process *p, sd_bus_message *request, sd_bus_error *error);

/* process-dbus.c */
extern const sd_bus_vtable process_vtable[];
int process_path_new(const char *container_path, const char *exec_id, char **ret);
int process_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error);
void process_send_changed(Process *p, const char *property, ...) __attribute__((sentinel));
void process_emit_added(Process *p);
void process_emit_removed(Process *p);
void process_emit_exited(Process *p);
int method_process_start(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_process_kill(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_process_wait(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_process_delete(sd_bus_message *message, void *userdata, sd_bus_error *error);
