/* berthctl's bus client: connecting to the bus berthd is on (--system, --user, --address,
 * BERTH_ADDRESS) and calling the manager. A call that fails prints one sentence
 * (ctl-bus-error.c) that names the container when the call has one: the first argument of every
 * method of org.berth.Monitor1 that takes a string is a container id. */

#include <stdarg.h>

#include "ctl-bus-error.h"
#include "ctl-bus.h"
#include "ctl-util.h"

#define DEFAULT_SYSTEM_BUS_ADDRESS "unix:path=/run/dbus/system_bus_socket"

CtlTransport arg_transport = CTL_TRANSPORT_DEFAULT;
const char *arg_address = NULL;

/* The address sd_bus_open_system() or sd_bus_open_user() connect to, found the way they find it, to
 * name it when they fail; NULL when there is none. */
static char *default_address(CtlTransport transport) {
        const char *e;
        char *s;

        if (transport == CTL_TRANSPORT_SYSTEM) {
                e = getenv("DBUS_SYSTEM_BUS_ADDRESS");
                return strdup(isempty(e) ? DEFAULT_SYSTEM_BUS_ADDRESS : e);
        }
        e = getenv("DBUS_SESSION_BUS_ADDRESS");
        if (!isempty(e))
                return strdup(e);
        e = getenv("XDG_RUNTIME_DIR");
        if (isempty(e) || asprintf(&s, "unix:path=%s/bus", e) < 0)
                return NULL;
        return s;
}

static int bus_open_address(const char *address, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, 1);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

/* Connects as the options say; the error is left to the caller. */
static int bus_open(CtlTransport transport, const char *address, sd_bus **ret) {
        switch (transport) {
        case CTL_TRANSPORT_SYSTEM:
                return sd_bus_open_system(ret);
        case CTL_TRANSPORT_USER:
                return sd_bus_open_user(ret);
        default:
                return bus_open_address(address, ret);
        }
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

        r = bus_open(transport, address, &bus);
        if (r < 0) {
                _cleanup_free_ char *tried = NULL;

                if (transport != CTL_TRANSPORT_ADDRESS)
                        tried = default_address(transport);
                return ctl_bus_connect_error(transport == CTL_TRANSPORT_SYSTEM ? "system" :
                                             transport == CTL_TRANSPORT_USER   ? "user" :
                                                                                 NULL,
                                             tried ?: address, r);
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

/* The container a sent call is about: its first argument, when that is a string. */
static const char *call_container_id(sd_bus_message *m) {
        const char *id = NULL;
        char type;

        if (sd_bus_message_rewind(m, true) < 0 || sd_bus_message_peek_type(m, &type, NULL) <= 0 ||
            type != 's')
                return NULL;
        if (sd_bus_message_read_basic(m, 's', &id) < 0)
                return NULL;
        return id;
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
        int r;

        r = sd_bus_call(bus, m, timeout, &error, &reply);
        if (r < 0)
                return ctl_bus_error(bus, &error, r, sd_bus_message_get_member(m), call_container_id(m));
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
