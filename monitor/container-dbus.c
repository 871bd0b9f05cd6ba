/* The org.berth.Container1 face of a container: properties, methods, object lookup, and every
 * signal about containers (the model in container.c calls container_emit_*()). The
 * manager's by-id methods (StartContainer, ...) land in the same method_container_*() handlers. */

#include <signal.h>
#include <stdarg.h>

#include "bus-error.h"
#include "container.h"
#include "log.h"
#include "manager.h"
#include "process.h"

/**
 * container_path_new() - the object path of a container id
 * @id: the id
 * @ret: the path, escaped with sd_bus_path_encode()
 */
int container_path_new(const char *id, char **ret) {
        return sd_bus_path_encode(CONTAINER_OBJECT_PREFIX, id, ret);
}

/**
 * container_send_changed() - emit PropertiesChanged for the named properties
 * @c: the container
 * @property: first property name, then more, NULL terminated
 */
void container_send_changed(Container *c, const char *property, ...) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        va_list ap;
        int r;

        if (!c->exported)
                return;

        va_start(ap, property);
        for (const char *p = property; p; p = va_arg(ap, const char *)) {
                char **nl = realloc(l, sizeof(char *) * (n + 2));
                if (!nl) {
                        va_end(ap);
                        (void) log_oom();
                        return;
                }
                l = nl;
                l[n] = strdup(p);
                l[++n] = NULL;
                if (!l[n - 1]) {
                        va_end(ap);
                        (void) log_oom();
                        return;
                }
        }
        va_end(ap);

        r = sd_bus_emit_properties_changed_strv(c->manager->bus, c->path, CONTAINER_INTERFACE, l);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to emit PropertiesChanged, ignoring: %m");
}

/**
 * container_emit_created() - InterfacesAdded and ContainerCreated for a new container
 * @c: the container, exported
 */
void container_emit_created(Container *c) {
        sd_bus *bus = c->manager->bus;
        int r;

        r = sd_bus_emit_interfaces_added(bus, c->path, CONTAINER_INTERFACE, NULL);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to emit InterfacesAdded, ignoring: %m");
        r = sd_bus_emit_signal(bus, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, "ContainerCreated", "so", c->id,
                               c->path);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to emit ContainerCreated, ignoring: %m");
}

/**
 * container_emit_started() - ContainerStarted
 * @c: the container, running
 */
void container_emit_started(Container *c) {
        int r;

        r = sd_bus_emit_signal(c->manager->bus, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, "ContainerStarted", "sou",
                               c->id, c->path, (uint32_t) c->pid);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to emit ContainerStarted, ignoring: %m");
}

/**
 * container_emit_exited() - ContainerOOM (if the OOM killer struck) and ContainerExited
 * @c: the container, stopped
 */
void container_emit_exited(Container *c) {
        sd_bus *bus = c->manager->bus;
        int r;

        if (c->exit.oom_killed) {
                r = sd_bus_emit_signal(bus, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, "ContainerOOM", "so", c->id,
                                       c->path);
                if (r < 0)
                        log_container_errno(LOG_WARNING, c->id, r, "Failed to emit ContainerOOM, ignoring: %m");
        }
        r = sd_bus_emit_signal(bus, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, "ContainerExited", "soib", c->id,
                               c->path, c->exit.status, c->exit.oom_killed);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to emit ContainerExited, ignoring: %m");
}

/**
 * container_emit_deleted() - ContainerDeleted and InterfacesRemoved
 * @c: the container, still exported
 */
void container_emit_deleted(Container *c) {
        sd_bus *bus = c->manager->bus;
        int r;

        r = sd_bus_emit_signal(bus, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, "ContainerDeleted", "so", c->id,
                               c->path);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to emit ContainerDeleted, ignoring: %m");
        r = sd_bus_emit_interfaces_removed(bus, c->path, CONTAINER_INTERFACE, NULL);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to emit InterfacesRemoved, ignoring: %m");
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "s", container_state_to_string(c->state));
}

static int property_get_exit_status(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "i", c->exited ? c->exit.status : -1);
}

static int property_get_exit_reason(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "s", c->exited ? exit_reason_to_string(c->exit.reason) : "");
}

static int property_get_oom_killed(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "b", c->exited && c->exit.oom_killed);
}

static int property_get_finished_at(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "t", c->exited ? c->exit.finished_at : (uint64_t) 0);
}

static int property_get_config_string(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error) {
        Container *c = userdata;
        const char *v = NULL;

        if (streq(property, "Bundle"))
                v = c->config->bundle;
        else if (streq(property, "Runtime"))
                v = c->config->runtime;
        else if (streq(property, "LogPath"))
                v = c->config->log_path;
        return sd_bus_message_append(reply, "s", v ?: "");
}

static int property_get_config_misc(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        if (streq(property, "CreatedAt"))
                return sd_bus_message_append(reply, "t", c->config->created_at);
        return sd_bus_message_append(reply, "b", c->config->terminal);
}

static int property_get_labels(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char **l = c->config->labels; l && l[0] && l[1]; l += 2) {
                r = sd_bus_message_append(reply, "{ss}", l[0], l[1]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_pid(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) (streq(property, "Pid") ? c->pid : c->shim_pid));
}

static int property_get_started_at(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "t", c->started_at);
}

static int container_check_usable(Container *c, sd_bus_error *error) {
        if (container_is_deleting(c))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "Container '%s' is being deleted.",
                                         c->id);
        if (c->op == CONTAINER_OP_STARTING)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "Container '%s' is being started.",
                                         c->id);
        return 0;
}

static int container_check_shim(Container *c, sd_bus_error *error) {
        if (c->attaching)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "The shim of '%s' does not answer yet; berthd keeps trying.", c->id);
        if (!c->shim_bus)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' has no shim any more.", c->id);
        return 0;
}

/**
 * method_container_start() - Start() and StartContainer(): start a created container
 * @message: the call
 * @userdata: the container
 * @error: set for errors the caller caused
 */
int method_container_start(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int r;

        r = manager_check_caller(c->manager, message, error);
        if (r < 0)
                return r;
        r = container_check_usable(c, error);
        if (r < 0)
                return r;
        if (c->state != CONTAINER_CREATED)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; only a created container can be started.", c->id,
                                         container_state_to_string(c->state));
        r = container_check_shim(c, error);
        if (r < 0)
                return r;

        r = container_start(c, message);
        if (r < 0)
                return r;
        return 1;
}

/**
 * method_container_kill() - Kill() and KillContainer(): send a signal
 * @message: the call, with (i signal, b all) left to read
 * @userdata: the container
 * @error: set for errors the caller caused
 */
int method_container_kill(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int32_t sig;
        int all, r;

        r = manager_check_caller(c->manager, message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ib", &sig, &all);
        if (r < 0)
                return r;
        if (sig < 1 || sig > 64)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "Signal %" PRIi32 " is out of range 1..64.", sig);
        if (container_is_deleting(c))
                return container_check_usable(c, error);
        if (!IN_SET(c->state, CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_PAUSED))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "Container '%s' is %s.", c->id,
                                         container_state_to_string(c->state));
        r = container_check_shim(c, error);
        if (r < 0)
                return r;

        r = container_shim_call(c, message, "Kill", NULL, "ib", sig, all);
        if (r < 0)
                return r;
        return 1;
}

/**
 * method_container_delete() - Delete() and DeleteContainer(): remove a container
 * @message: the call, with (b force) left to read
 * @userdata: the container
 * @error: set for errors the caller caused
 */
int method_container_delete(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int force, r;

        r = manager_check_caller(c->manager, message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "b", &force);
        if (r < 0)
                return r;
        if (container_is_deleting(c))
                /* Concurrent deletes share one outcome: each caller learns it is gone. */
                return container_delete(c, message, force, error);
        if (container_is_alive(c) && !force)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; stop it first or delete with force.", c->id,
                                         container_state_to_string(c->state));

        if (!c->shim_bus) {
                /* The shim is gone: berthd cleans up itself, and answers once the runtime is done. */
                r = container_delete_without_shim(c, message);
                if (r < 0)
                        return r;
                container_remove(c);
                return 1;
        }

        r = container_delete(c, message, force, error);
        if (r < 0)
                return r;
        return 1;
}

static int on_pause_resume_reply(sd_bus_message *reply, PendingCall *p, ContainerState state) {
        Container *c = p->container;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                return p->request ? sd_bus_reply_method_error(p->request, e) : 0;

        if (!c->exited) {
                c->state = state;
                container_send_changed(c, "State", NULL);
        }
        return p->request ? sd_bus_reply_method_return(p->request, NULL) : 0;
}

static int on_pause_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        return on_pause_resume_reply(reply, userdata, CONTAINER_PAUSED);
}

static int on_resume_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        return on_pause_resume_reply(reply, userdata, CONTAINER_RUNNING);
}

static int container_pause_resume(sd_bus_message *message, Container *c, bool pause, sd_bus_error *error) {
        int r;

        r = manager_check_caller(c->manager, message, error);
        if (r < 0)
                return r;
        r = container_check_usable(c, error);
        if (r < 0)
                return r;
        if (c->state != (pause ? CONTAINER_RUNNING : CONTAINER_PAUSED))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "Container '%s' is %s.", c->id,
                                         container_state_to_string(c->state));
        r = container_check_shim(c, error);
        if (r < 0)
                return r;

        r = container_shim_call(c, message, pause ? "Pause" : "Resume", pause ? on_pause_reply : on_resume_reply,
                                NULL);
        if (r < 0)
                return r;
        return 1;
}

/**
 * method_container_pause() - Pause() and PauseContainer()
 * @message: the call
 * @userdata: the container
 * @error: set for errors the caller caused
 */
int method_container_pause(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return container_pause_resume(message, userdata, true, error);
}

/**
 * method_container_resume() - Resume() and ResumeContainer()
 * @message: the call
 * @userdata: the container
 * @error: set for errors the caller caused
 */
int method_container_resume(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return container_pause_resume(message, userdata, false, error);
}

/**
 * method_container_wait() - Wait() and WaitContainer(): reply with the exit status once stopped
 * @message: the call
 * @userdata: the container
 * @error: set to LimitReached when the caller has too many calls waiting
 */
int method_container_wait(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return container_add_waiter(userdata, message, error);
}

const sd_bus_vtable container_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", NULL, offsetof(Container, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Bundle", "s", property_get_config_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Runtime", "s", property_get_config_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pid", "u", property_get_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ShimPid", "u", property_get_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitStatus", "i", property_get_exit_status, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitReason", "s", property_get_exit_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OOMKilled", "b", property_get_oom_killed, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CreatedAt", "t", property_get_config_misc, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StartedAt", "t", property_get_started_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FinishedAt", "t", property_get_finished_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Labels", "a{ss}", property_get_labels, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Terminal", "b", property_get_config_misc, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LogPath", "s", property_get_config_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LogBytesDropped", "t", NULL, offsetof(Container, log_bytes_dropped),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        /* Each of these checks the caller itself (manager_check_caller()). */
        SD_BUS_METHOD("Start", NULL, NULL, method_container_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("i", signal, "b", all), SD_BUS_NO_RESULT,
                                method_container_kill, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_ARGS("b", force), SD_BUS_NO_RESULT, method_container_delete,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Pause", NULL, NULL, method_container_pause, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Resume", NULL, NULL, method_container_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Wait", SD_BUS_NO_ARGS, SD_BUS_RESULT("i", status), method_container_wait,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

/**
 * container_object_find() - map an object path to a container for the fallback vtable
 * @bus: the bus
 * @path: the object path
 * @interface: the interface asked for
 * @userdata: the manager
 * @found: the container
 * @error: unused
 */
int container_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                          sd_bus_error *error) {
        _cleanup_free_ char *id = NULL;
        Manager *m = userdata;
        Container *c;
        int r;

        r = sd_bus_path_decode(path, CONTAINER_OBJECT_PREFIX, &id);
        if (r <= 0)
                return r;

        c = manager_get_container(m, id);
        if (!c || !c->exported)
                return 0;

        *found = c;
        return 1;
}

/**
 * container_node_enumerator() - list the object paths of every visible container
 * @bus: the bus
 * @path: the prefix asked for
 * @userdata: the manager
 * @nodes: the list of paths
 * @error: unused
 */
int container_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                              sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;
        size_t n = 0, allocated = 0;

        /* Containers, and below them their exec processes. */
        LIST_FOREACH(containers, c, m->containers) {
                if (!c->exported)
                        continue;
                allocated++;
                LIST_FOREACH(processes, p, c->processes)
                        allocated += p->exported;
        }
        l = calloc(allocated + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        LIST_FOREACH(containers, c, m->containers) {
                if (!c->exported)
                        continue;
                l[n] = strdup(c->path);
                if (!l[n++])
                        return -ENOMEM;
                LIST_FOREACH(processes, p, c->processes) {
                        if (!p->exported)
                                continue;
                        l[n] = strdup(p->path);
                        if (!l[n++])
                                return -ENOMEM;
                }
        }

        *nodes = TAKE_PTR(l);
        return 1;
}
