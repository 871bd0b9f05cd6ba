/* The org.berth.Process1 face of an exec process: .../container/<id>/process/<exec_id>, its
 * properties, methods and signals. */

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>

#include "bus-error.h"
#include "container.h"
#include "log.h"
#include "manager.h"
#include "process.h"

/**
 * process_path_new() - the object path of an exec process
 * @container_path: its container's path
 * @exec_id: the exec id
 * @ret: the path
 */
int process_path_new(const char *container_path, const char *exec_id, char **ret) {
        _cleanup_free_ char *prefix = NULL;

        if (asprintf(&prefix, "%s/process", container_path) < 0)
                return -ENOMEM;
        return sd_bus_path_encode(prefix, exec_id, ret);
}

/**
 * process_send_changed() - PropertiesChanged for the named properties of a process on the bus
 * @p: the process
 * @property: first property name, then more, NULL terminated
 */
void process_send_changed(Process *p, const char *property, ...) {
        char *l[8];
        size_t n = 0;
        va_list ap;
        int r;

        if (!p->exported)
                return;
        va_start(ap, property);
        for (const char *s = property; s && n < ELEMENTSOF(l) - 1; s = va_arg(ap, const char *))
                l[n++] = (char *) s;
        va_end(ap);
        l[n] = NULL;

        r = sd_bus_emit_properties_changed_strv(p->container->manager->bus, p->path, PROCESS_INTERFACE, l);
        if (r < 0)
                log_container_errno(LOG_WARNING, p->container->id, r,
                                    "Failed to emit PropertiesChanged for '%s', ignoring: %m", p->exec_id);
}

/**
 * process_emit_added() - InterfacesAdded for a new process
 * @p: the process, exported
 */
void process_emit_added(Process *p) {
        int r;

        r = sd_bus_emit_interfaces_added(p->container->manager->bus, p->path, PROCESS_INTERFACE, NULL);
        if (r < 0)
                log_container_errno(LOG_WARNING, p->container->id, r, "Failed to emit InterfacesAdded, ignoring: %m");
}

/**
 * process_emit_removed() - InterfacesRemoved for a process that is gone
 * @p: the process, exported
 */
void process_emit_removed(Process *p) {
        int r;

        r = sd_bus_emit_interfaces_removed(p->container->manager->bus, p->path, PROCESS_INTERFACE, NULL);
        if (r < 0)
                log_container_errno(LOG_WARNING, p->container->id, r,
                                    "Failed to emit InterfacesRemoved, ignoring: %m");
}

/**
 * process_emit_exited() - ProcessExited(id, exec_id, status) on the manager
 * @p: the process, stopped
 */
void process_emit_exited(Process *p) {
        Container *c = p->container;
        int r;

        r = sd_bus_emit_signal(c->manager->bus, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, "ProcessExited", "ssi",
                               c->id, p->exec_id, p->exit.status);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Failed to emit ProcessExited, ignoring: %m");
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Process *p = userdata;

        return sd_bus_message_append(reply, "s", container_state_to_string(p->state));
}

static int property_get_pid(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Process *p = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) p->pid);
}

static int property_get_exit_status(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Process *p = userdata;

        return sd_bus_message_append(reply, "i", p->exited ? p->exit.status : -1);
}

static int property_get_exit_reason(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Process *p = userdata;

        return sd_bus_message_append(reply, "s", p->exited ? exit_reason_to_string(p->exit.reason) : "");
}

static int property_get_terminal(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Process *p = userdata;

        return sd_bus_message_append(reply, "b", p->terminal);
}

const sd_bus_vtable process_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", NULL, offsetof(Process, exec_id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Pid", "u", property_get_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitStatus", "i", property_get_exit_status, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitReason", "s", property_get_exit_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Terminal", "b", property_get_terminal, 0, SD_BUS_VTABLE_PROPERTY_CONST),

        /* Each of these checks the caller itself (manager_check_caller()). */
        SD_BUS_METHOD("Start", NULL, NULL, method_process_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("i", signal), SD_BUS_NO_RESULT, method_process_kill,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Wait", SD_BUS_NO_ARGS, SD_BUS_RESULT("i", status), method_process_wait,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Delete", NULL, NULL, method_process_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

/**
 * process_object_find() - map an object path to an exec process for the fallback vtable
 * @bus: the bus
 * @path: the object path
 * @interface: the interface asked for
 * @userdata: the manager
 * @found: the process
 * @error: unused
 */
int process_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        _cleanup_free_ char *id = NULL, *exec_id = NULL;
        Manager *m = userdata;
        Container *c;
        Process *p;
        int r;

        r = sd_bus_path_decode_many(path, CONTAINER_OBJECT_PREFIX "/%/process/%", &id, &exec_id);
        if (r <= 0)
                return r;

        c = manager_get_container(m, id);
        if (!c || !c->exported)
                return 0;
        p = container_get_process(c, exec_id);
        if (!p || !p->exported)
                return 0;

        *found = p;
        return 1;
}

/**
 * method_process_wait() - Wait(): reply with the exit status once the process has stopped
 * @message: the call
 * @userdata: the process
 * @error: set to LimitReached when the caller has too many calls waiting
 */
int method_process_wait(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return process_add_waiter(userdata, message, error);
}

static int process_check_shim(Process *p, sd_bus_error *error) {
        Container *c = p->container;

        if (container_is_deleting(c))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "Container '%s' is being deleted.", c->id);
        if (c->attaching || !c->shim_bus)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "The shim of '%s' does not answer yet; berthd keeps trying.", c->id);
        if (p->starting || p->deleting)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "Process '%s' of '%s' is busy.",
                                         p->exec_id, c->id);
        return 0;
}

/**
 * method_process_start() - Start() and StartProcess(): start a created exec process
 * @message: the call
 * @userdata: the process
 * @error: set for errors the caller caused
 */
int method_process_start(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Process *p = userdata;
        int r;

        r = manager_check_caller(p->container->manager, message, error);
        if (r < 0)
                return r;
        r = process_check_shim(p, error);
        if (r < 0)
                return r;
        if (p->state != CONTAINER_CREATED)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Process '%s' is %s; only a created process can be started.", p->exec_id,
                                         container_state_to_string(p->state));
        r = process_start(p, message);
        return r < 0 ? r : 1;
}

/**
 * method_process_kill() - Kill(signal): send a signal to a running exec process
 * @message: the call, with (i signal) left to read
 * @userdata: the process
 * @error: set for errors the caller caused
 */
int method_process_kill(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Process *p = userdata;
        int32_t sig;
        int r;

        r = manager_check_caller(p->container->manager, message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "i", &sig);
        if (r < 0)
                return r;
        if (sig < 1 || sig > 64)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "Signal %" PRIi32 " is out of range 1..64.", sig);
        if (p->state != CONTAINER_RUNNING)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "Process '%s' is %s.", p->exec_id,
                                         container_state_to_string(p->state));
        r = process_check_shim(p, error);
        if (r < 0)
                return r;
        r = process_kill(p, sig, message);
        return r < 0 ? r : 1;
}

/**
 * method_process_delete() - Delete() and DeleteProcess(): forget a created or stopped exec process
 * @message: the call
 * @userdata: the process
 * @error: set for errors the caller caused
 */
int method_process_delete(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Process *p = userdata;
        int r;

        r = manager_check_caller(p->container->manager, message, error);
        if (r < 0)
                return r;
        if (p->state == CONTAINER_RUNNING)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Process '%s' of '%s' is running; kill it first.", p->exec_id,
                                         p->container->id);
        if (p->container->shim_bus) {
                r = process_check_shim(p, error);
                if (r < 0)
                        return r;
        }
        r = process_delete(p, message);
        return r < 0 ? r : 1;
}
