/* berthctl's bus client: connecting to the bus berthd is on (--system, --user, --address,
 * BERTH_ADDRESS), calling the manager, and printing the errors of failed calls in one format
 * ("berthctl: <message>", the message of the D-Bus error as berthd wrote it). */

#include <stdarg.h>

#include "ctl-bus.h"
#include "ctl-util.h"

CtlTransport arg_transport = CTL_TRANSPORT_DEFAULT;
const char *arg_address = NULL;

static bool error_is_berth(const sd_bus_error *error) {
        return error->name && strneq(error->name, "org.berth.Error.", strlen("org.berth.Error."));
}

/**
 * ctl_bus_error() - print the error of a failed bus operation.
 * @error: the D-Bus error, may be unset.
 * @r: the negative errno the operation returned.
 * @context: what was being done, e.g. "Failed to call StartContainer"; may be NULL.
 *
 * berthd's own errors (org.berth.Error.*) are printed as berthd wrote them; other D-Bus errors and
 * plain errnos get @context in front. With --debug the D-Bus error name is appended.
 *
 * Return: a negative errno.
 */
int ctl_bus_error(const sd_bus_error *error, int r, const char *context) {
        _cleanup_free_ char *name = NULL;
        const char *msg;

        if (r >= 0)
                r = -EIO;
        if (!sd_bus_error_is_set(error))
                return context ? ctl_error_errno(r, "%s: %m", context) : ctl_error_errno(r, "%m");

        msg = isempty(error->message) ? error->name : error->message;
        if (arg_debug && asprintf(&name, " (%s)", error->name) < 0)
                name = NULL;
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                (void) ctl_error_errno(r, "berthd is not running on this bus: %s%s", msg, name ?: "");
        else if (!error_is_berth(error) && context)
                (void) ctl_error_errno(r, "%s: %s%s", context, msg, name ?: "");
        else
                (void) ctl_error_errno(r, "%s%s", msg, name ?: "");
        return r;
}

/**
 * ctl_bus_connect() - connect to the bus berthd is on.
 * @ret: the new connection.
 *
 * --address (or BERTH_ADDRESS) picks a bus by address, --system and --user the well-known buses;
 * without any, root talks to the system bus and everyone else to the user bus. Errors are printed.
 *
 * Return: 0, or a negative errno.
 */
int ctl_bus_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        CtlTransport transport = arg_transport;
        const char *address = arg_address;
        int r;

        if (transport == CTL_TRANSPORT_DEFAULT) {
                const char *e = getenv("BERTH_ADDRESS");
                if (!isempty(e)) {
                        transport = CTL_TRANSPORT_ADDRESS;
                        address = e;
                } else
                        transport = geteuid() == 0 ? CTL_TRANSPORT_SYSTEM : CTL_TRANSPORT_USER;
        }

        switch (transport) {
        case CTL_TRANSPORT_SYSTEM:
                r = sd_bus_open_system(&bus);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to connect to the system bus: %m");
                break;
        case CTL_TRANSPORT_USER:
                r = sd_bus_open_user(&bus);
                if (r == -ENOMEDIUM)
                        return ctl_error_errno(r, "Failed to connect to the user bus: neither "
                                               "$DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set "
                                               "(use --address or --system)");
                if (r < 0)
                        return ctl_error_errno(r, "Failed to connect to the user bus: %m");
                break;
        default:
                r = sd_bus_new(&bus);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to allocate bus: %m");
                r = sd_bus_set_address(bus, address);
                if (r < 0)
                        return ctl_error_errno(r, "Invalid bus address '%s': %m", address);
                r = sd_bus_set_bus_client(bus, 1);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to set bus client: %m");
                r = sd_bus_start(bus);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to connect to bus '%s': %m", address);
                break;
        }

        (void) sd_bus_set_description(bus, "berthctl");
        /* Lets polkit ask the user on the system bus instead of failing at once. */
        (void) sd_bus_set_allow_interactive_authorization(bus, 1);

        *ret = TAKE_PTR(bus);
        return 0;
}

/**
 * ctl_new_call() - create a method call message to the manager.
 * @bus: the connection.
 * @method: a method of org.berth.Monitor1.
 * @ret: the message.
 *
 * Return: 0, or a negative errno (printed).
 */
int ctl_new_call(sd_bus *bus, const char *method, sd_bus_message **ret) {
        int r;

        r = sd_bus_message_new_method_call(bus, ret, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE,
                                           method);
        if (r < 0)
                return ctl_error_errno(r, "Failed to create %s call: %m", method);
        return 0;
}

/**
 * ctl_call_message() - send a method call and wait for its reply.
 * @bus: the connection.
 * @m: the call.
 * @timeout: CTL_TIMEOUT_DEFAULT, CTL_TIMEOUT_LONG, CTL_TIMEOUT_INFINITE or µs.
 * @ret_reply: the reply (may be NULL).
 *
 * Return: 0, or a negative errno (the error is printed).
 */
int ctl_call_message(sd_bus *bus, sd_bus_message *m, uint64_t timeout, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *context = NULL;
        int r;

        r = sd_bus_call(bus, m, timeout, &error, &reply);
        if (r < 0) {
                if (asprintf(&context, "Failed to call %s", sd_bus_message_get_member(m)) < 0)
                        context = NULL;
                return ctl_bus_error(&error, r, context);
        }
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return 0;
}

/**
 * ctl_call() - call a manager method with simple arguments.
 * @bus: the connection.
 * @method: a method of org.berth.Monitor1.
 * @timeout: see ctl_call_message().
 * @ret_reply: the reply (may be NULL).
 * @types: D-Bus signature of the arguments that follow, as for sd_bus_message_append().
 *
 * Return: 0, or a negative errno (the error is printed).
 */
int ctl_call(sd_bus *bus, const char *method, uint64_t timeout, sd_bus_message **ret_reply,
             const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = ctl_new_call(bus, method, &m);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return ctl_error_errno(r, "Failed to build %s call: %m", method);
        return ctl_call_message(bus, m, timeout, ret_reply);
}

/**
 * ctl_bus_error_is_transient() - whether a failed call may work when tried again.
 * @error: the error of the call.
 *
 * True when berthd went away while the call was pending or is not on the bus right now, as
 * during a berthd restart; the containers live on, so a client waiting for one can try again.
 *
 * Return: true or false.
 */
bool ctl_bus_error_is_transient(const sd_bus_error *error) {
        return sd_bus_error_has_names(error, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                      SD_BUS_ERROR_NAME_HAS_NO_OWNER);
}
