/* One container as berthd sees it: its configuration, its shim and its state. */
#pragma once

#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "forward.h"
#include "json-state.h"
#include "macro.h"
#include "process-watch.h"
#include "shim-protocol.h"
#include "waiter.h"

#define CONTAINER_OBJECT_PREFIX "/org/berth/Monitor1/container"
#define CONTAINER_INTERFACE "org.berth.Container1"

/* What berthd is doing with a container; at most one thing at a time. */
typedef enum ContainerOp {
        CONTAINER_OP_NONE,
        CONTAINER_OP_CREATING,  /* shim spawned, not READY yet: hidden from the bus */
        CONTAINER_OP_STARTING,
        CONTAINER_OP_DELETING,
        CONTAINER_OP_DELETED,   /* the shim removed everything: only waiting to be freed */
        CONTAINER_OP_CLEANING,  /* the shim is lost: the runtime's cleanup runs, then 255/shim-lost */
        _CONTAINER_OP_MAX,
        _CONTAINER_OP_INVALID = -EINVAL,
} ContainerOp;

/* A call forwarded to the shim on behalf of a client (or of berthd itself, request == NULL). */
struct PendingCall {
        Container *container;
        sd_bus_message *request;
        sd_bus_slot *slot;
        sd_bus_message_handler_t done;
        char *exec_id;                  /* the exec process the call is about, or NULL */
        LIST_FIELDS(PendingCall, calls);
};


struct Container {
        Manager *manager;
        char *id;
        char *path;
        ContainerConfig *config;
        int dir_fd;

        ContainerState state;
        ContainerOp op;         /* what berthd is doing with it */
        bool exported;          /* InterfacesAdded sent */
        sd_event_source *remove_source; /* frees it after a successful Delete */

        pid_t pid;
        pid_t shim_pid;
        ProcessWatch *shim_watch;
        sd_bus *shim_bus;
        sd_bus_slot *state_slot;        /* a GetState call in flight */
        bool attaching;                 /* (re-)connecting: the shim has not answered GetState yet */
        unsigned attach_tries;
        sd_event_source *attach_source; /* retries a connect or a GetState */

        /* While creating: the shim's ready pipe and what it said. */
        int ready_fd;
        sd_event_source *ready_source;
        sd_event_source *create_timeout_source;
        char *ready_buf;        /* SHIM_READY_MAX bytes, only while creating */
        size_t ready_size;
        char *create_error_name;
        char *create_error_message;
        bool create_cleaned;    /* the shim said ERROR: it removed its runtime state */
        sd_bus_message *create_request;
        bool start_after_create;

        bool exited;
        bool exit_signal_pending;
        ExitRecord exit;
        uint64_t started_at;
        uint64_t log_bytes_dropped;     /* output the shim's log driver could not write */

        LIST_FIELDS(Container, containers);
        PendingCall *calls;
        Waiter *waiters;
        Waiter *delete_waiters;  /* Delete calls, all answered when the one delete finishes */
        Process *processes;      /* exec processes (process.c) */
};

int container_new(Manager *m, const char *id, ContainerConfig *config, Container **ret);
Container *container_free(Container *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Container *, container_free);

bool container_is_alive(const Container *c);
bool container_is_deleting(const Container *c);
void container_op_end(Container *c, ContainerOp op);
int container_export(Container *c, bool announce);

int container_add_waiter(Container *c, sd_bus_message *request, sd_bus_error *error);
int container_add_delete_waiter(Container *c, sd_bus_message *request, sd_bus_error *error);
void container_answer_deletes(Container *c, const sd_bus_error *error);
void container_set_exited(Container *c, const ExitRecord *e, bool notify);
void container_flush_exit_signal(Container *c);
void container_set_started(Container *c, pid_t pid, uint64_t started_at);
void container_set_log_bytes_dropped(Container *c, uint64_t n);
void container_remove(Container *c);

int container_remove_state(Container *c);

/* shim-spawn.c */
int container_spawn_shim(Container *c, const int stdio_fds[3]);
void container_create_failed(Container *c);

/* shim-link.c */
int container_attach_shim(Container *c);
int container_reattach(Container *c);
void container_link_close(Container *c);
void container_set_attaching(Container *c, bool attaching);
int container_sync_state_async(Container *c);
int container_shim_new_call(Container *c, const char *member, sd_bus_message **ret);
int container_shim_call_message(Container *c, sd_bus_message *request, sd_bus_message *m,
                                sd_bus_message_handler_t done, const char *exec_id);
int container_shim_call(Container *c, sd_bus_message *request, const char *member,
                        sd_bus_message_handler_t done, const char *types, ...);
void pending_call_free(PendingCall *p);
int container_start(Container *c, sd_bus_message *request);
int container_delete(Container *c, sd_bus_message *request, bool force, sd_bus_error *error);

/* shim-watch.c */
int container_watch_shim(Container *c, pid_t pid);
bool container_shim_alive(const Container *c);
bool container_is_our_shim(const Container *c, pid_t pid);
void container_kill_shim(Container *c);
void container_shim_lost(Container *c);
void container_mark_lost(Container *c);

/* container-exec.c */
int container_exec(Container *c, const char *exec_id, const char *process_json, bool terminal, bool open_stdin,
                   const int stdio[3], bool start, sd_bus_message *request, Process **ret);

/* container-io.c */
int container_open_attach(Container *c, const char *exec_id, sd_bus_message *request, sd_bus_error *error);
int container_resize_terminal(Container *c, const char *exec_id, uint32_t columns, uint32_t rows,
                              sd_bus_message *request, sd_bus_error *error);
int container_close_stdin(Container *c, const char *exec_id, sd_bus_message *request, sd_bus_error *error);
int process_start(Process *p, sd_bus_message *request);
int process_kill(Process *p, int sig, sd_bus_message *request);
int process_delete(Process *p, sd_bus_message *request);
int container_on_process_signal(Container *c, sd_bus_message *message);
int container_sync_processes(Container *c);
void container_processes_lost(Container *c);
void container_remove_processes(Container *c);

/* runtime-cleanup.c */
int runtime_cleanup_start(Container *c, sd_bus_message *request);
int container_delete_without_shim(Container *c, sd_bus_message *request);
RuntimeCleanup *runtime_cleanup_free(RuntimeCleanup *rc);

/* container-dbus.c */
void container_send_changed(Container *c, const char *property, ...) __attribute__((sentinel));
void container_emit_created(Container *c);
void container_emit_started(Container *c);
void container_emit_exited(Container *c);
void container_emit_deleted(Container *c);
extern const sd_bus_vtable container_vtable[];
int container_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                          void **found, sd_bus_error *error);
int container_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                              sd_bus_error *error);
int container_path_new(const char *id, char **ret);
int method_container_start(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_container_kill(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_container_delete(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_container_pause(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_container_resume(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_container_wait(sd_bus_message *message, void *userdata, sd_bus_error *error);
