/* berthctl's error sentences: every way the connection to the bus or a call to berthd can fail,
 * told in one line a person understands, naming the bus, the container and what to do.
 *
 * berthd's own errors (org.berth.Error.*) are written for people and are printed as they are,
 * except AccessDenied, which gets the sentence every refusal gets: who may change containers and
 * what to do. The errors of the bus and of sd-bus are told by what they mean: berthd is not on this
 * bus (ServiceUnknown, NameHasNoOwner), the bus's policy refused the call before berthd saw it (an
 * AccessDenied in the words of dbus-daemon, "Rejected send message, ...", or of dbus-broker, "...
 * is not authorized to ..."), berthd did not answer (NoReply, Timeout), the connection went away
 * (Disconnected), berthd does not know the call (UnknownMethod, InvalidArgs and their kin: berthctl
 * and berthd are different versions). With --debug a second line shows the raw D-Bus error name
 * and message, or the errno. */

#include "berth-error.h"
#include "ctl-bus-error.h"
#include "ctl-util.h"

/* libdbus's older name for Timeout, which sd-bus does not define. */
#define ERROR_TIMED_OUT "org.freedesktop.DBus.Error.TimedOut"

typedef enum ErrorKind {
        ERROR_BERTH,            /* berthd's own: its message is the sentence */
        ERROR_ACCESS_DENIED,    /* berthd refused the caller */
        ERROR_NO_AGENT,         /* polkit could not ask the caller (InteractiveAuthorizationRequired) */
        ERROR_BUS_POLICY,       /* the bus's policy refused the call */
        ERROR_NOT_RUNNING,
        ERROR_ACTIVATION,       /* the bus failed to start berthd */
        ERROR_NO_REPLY,
        ERROR_DISCONNECTED,
        ERROR_VERSION,          /* berthd does not know the call as berthctl made it */
        ERROR_LIMIT,            /* a limit of the bus */
        ERROR_OTHER,
} ErrorKind;

/* What berthctl asks berthd for, as the object of "to": "delete container 'c1'". */
typedef struct Request {
        const char *name;       /* method or property */
        const char *phrase;     /* followed by the container id, when there is one */
        bool change;            /* changes a container */
} Request;

static const Request requests[] = {
        { "CreateContainer", "create container",                 true  },
        { "StartContainer",  "start container",                  true  },
        { "KillContainer",   "signal container",                 true  },
        { "DeleteContainer", "delete container",                 true  },
        { "PauseContainer",  "pause container",                  true  },
        { "ResumeContainer", "resume container",                 true  },
        { "WaitContainer",   "wait for container",               false },
        { "GetContainer",    "look up container",                false },
        { "GetAll",          "read the properties of container", false },
        { "ListContainers",  "list containers",                  false },
        { "Version",         "read berthd's version",            false },
};

static const Request *request_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(requests); i++)
                if (name && streq(requests[i].name, name))
                        return &requests[i];
        return NULL;
}

/* "delete container 'c1'", "list containers", "call Frobnicate for container 'c1'". */
static char *request_phrase(const char *name, const char *id) {
        const Request *q = request_find(name);
        char *s;
        int r;

        if (q && id)
                r = asprintf(&s, "%s '%s'", q->phrase, id);
        else if (q)
                r = asprintf(&s, "%s", q->phrase);
        else if (id)
                r = asprintf(&s, "call %s for container '%s'", name ?: "berthd", id);
        else
                r = asprintf(&s, "call %s", name ?: "berthd");
        return r < 0 ? NULL : s;
}

/* The bus's guid (",guid=<32 hex digits>", dbus-daemon prints it in the address) says nothing to a
 * person: the rest of the address names the bus. */
static char *address_without_guid(const char *address) {
        char *a, *g;

        if (!address)
                return NULL;
        a = strdup(address);
        while (a && (g = strstr(a, ",guid="))) {
                size_t n = strcspn(g + 1, ",;");

                memmove(g, g + 1 + n, strlen(g + 1 + n) + 1);
        }
        return a;
}

/* Names a bus for a sentence: "the system bus (unix:path=/run/dbus/system_bus_socket)" or "the bus
 * at unix:path=/tmp/bus"; @scope is "system", "user", or NULL for a bus given by address. */
static char *bus_describe_address(const char *scope, const char *address) {
        _cleanup_free_ char *a = address_without_guid(address);
        char *s;
        int r;

        if (scope && a)
                r = asprintf(&s, "the %s bus (%s)", scope, a);
        else if (scope)
                r = asprintf(&s, "the %s bus", scope);
        else
                r = asprintf(&s, "the bus at %s", a ?: "an unknown address");
        return r < 0 ? NULL : s;
}

static char *bus_describe(sd_bus *bus) {
        const char *scope = NULL, *address = NULL;

        if (bus) {
                (void) sd_bus_get_scope(bus, &scope);
                (void) sd_bus_get_address(bus, &address);
        }
        return bus_describe_address(scope, address);
}

/* --debug: the raw error under the sentence. */
static void print_raw(const sd_bus_error *error, int r) {
        if (!arg_debug)
                return;
        if (sd_bus_error_is_set(error))
                fprintf(stderr, "berthctl: D-Bus error %s: %s\n", error->name, error->message ?: "");
        else
                fprintf(stderr, "berthctl: error %s: %s\n", strerrorname_np(-r) ?: "?", strerror(-r));
}

/* How to get past a refusal; nothing to say when berthctl runs as root already. */
static const char *as_root_hint(void) {
        return geteuid() == 0 ? "" : "run berthctl as root, e.g. with sudo, or ";
}

static bool startswith(const char *s, const char *prefix) {
        return s && strneq(s, prefix, strlen(prefix));
}

/* dbus-daemon and dbus-broker send AccessDenied with these words when their policy refuses a
 * message; berthd's refusals say something else. */
static bool message_is_bus_policy(const char *message) {
        return startswith(message, "Rejected send message") ||
               startswith(message, "Rejected receive message") ||
               startswith(message, "Sender is not authorized") ||
               startswith(message, "Receiver is not authorized");
}

static ErrorKind error_kind(const sd_bus_error *error, int r) {
        if (!sd_bus_error_is_set(error))
                return IN_SET(-r, ECONNRESET, ENOTCONN, EPIPE) ? ERROR_DISCONNECTED :
                       -r == ETIMEDOUT                         ? ERROR_NO_REPLY :
                                                                 ERROR_OTHER;
        if (sd_bus_error_has_name(error, BERTH_ERROR_ACCESS_DENIED))
                return ERROR_ACCESS_DENIED;
        if (startswith(error->name, "org.berth.Error."))
                return ERROR_BERTH;
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED))
                return message_is_bus_policy(error->message) ? ERROR_BUS_POLICY : ERROR_ACCESS_DENIED;
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                return ERROR_NO_AGENT;
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return ERROR_NOT_RUNNING;
        if (startswith(error->name, "org.freedesktop.DBus.Error.Spawn."))
                return ERROR_ACTIVATION;
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT, ERROR_TIMED_OUT))
                return ERROR_NO_REPLY;
        /* sd-bus reports a connection that went away with a name made from the errno. */
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_AUTH_FAILED) ||
            IN_SET(-r, ECONNRESET, ENOTCONN, EPIPE))
                return ERROR_DISCONNECTED;
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_UNKNOWN_OBJECT,
                                   SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_UNKNOWN_PROPERTY,
                                   SD_BUS_ERROR_PROPERTY_READ_ONLY, SD_BUS_ERROR_INVALID_ARGS,
                                   SD_BUS_ERROR_INVALID_SIGNATURE))
                return ERROR_VERSION;
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_LIMITS_EXCEEDED))
                return ERROR_LIMIT;
        return ERROR_OTHER;
}

/* The sentence when berthd did not answer: a change may have been made all the same. */
static int print_no_reply(int r, const char *what, const char *name, const char *id) {
        const Request *q = request_find(name);

        if (q && q->change && id)
                return ctl_error_errno(r, "berthd did not answer the request to %s (it may be stuck, "
                                       "overloaded or restarting); 'berthctl inspect %s' shows whether it "
                                       "was done", what, id);
        return ctl_error_errno(r, "berthd did not answer the request to %s (it may be stuck, overloaded or "
                               "restarting); see its log, e.g. 'journalctl -u berthd'", what);
}

static int print_sentence(ErrorKind kind, const sd_bus_error *error, int r, const char *what,
                          const char *bus, const char *name, const char *id) {
        const char *message = sd_bus_error_is_set(error) && !isempty(error->message) ? error->message :
                              sd_bus_error_is_set(error)                              ? error->name :
                                                                                        NULL;

        switch (kind) {
        case ERROR_BERTH:
                return ctl_error_errno(r, "%s", message);
        case ERROR_ACCESS_DENIED:
                return ctl_error_errno(r, "Not allowed to %s: berthd lets only root, or a user polkit "
                                       "authorizes for org.berth.manage, change containers; %sask the "
                                       "administrator for that authorization", what, as_root_hint());
        case ERROR_NO_AGENT:
                return ctl_error_errno(r, "Not allowed to %s without polkit authorization for "
                                       "org.berth.manage, and no polkit agent could ask for it; %sstart a "
                                       "polkit agent", what, as_root_hint());
        case ERROR_BUS_POLICY:
                return ctl_error_errno(r, "Not allowed to %s: the policy of %s does not let this user call "
                                       "berthd; %scheck that berth's bus policy (org.berth.Monitor1.conf) "
                                       "is installed", what, bus, as_root_hint());
        case ERROR_NOT_RUNNING:
                return ctl_error_errno(r, "berthd is not running on %s; start it, or tell berthctl the bus "
                                       "it is on with --system, --user or --address", bus);
        case ERROR_ACTIVATION:
                return ctl_error_errno(r, "berthd could not be started by %s: %s; see its log, e.g. "
                                       "'journalctl -u berthd'", bus, message);
        case ERROR_NO_REPLY:
                return print_no_reply(r, what, name, id);
        case ERROR_DISCONNECTED:
                return ctl_error_errno(r, "Lost the connection to %s while trying to %s; is the bus still "
                                       "running, and does it let this user connect?", bus, what);
        case ERROR_VERSION:
                return ctl_error_errno(r, "berthd does not understand the request to %s: berthctl %s and "
                                       "this berthd are different versions; use the berthctl that came with "
                                       "berthd", what, BERTH_VERSION);
        case ERROR_LIMIT:
                return ctl_error_errno(r, "The request to %s was refused by %s: %s", what, bus, message);
        default:
                if (message)
                        return ctl_error_errno(r, "Failed to %s: %s", what, message);
                return ctl_error_errno(r, "Failed to %s: %m", what);
        }
}

/**
 * ctl_bus_error() - print the error of a failed call to berthd as one sentence.
 * @bus: the connection, to name the bus; may be NULL.
 * @error: the D-Bus error; may be unset when only @r tells what happened.
 * @r: the negative errno the call returned.
 * @request: the method called, or the property read ("Version").
 * @id: the container the call was about, or NULL.
 *
 * With --debug the raw error follows on a line of its own.
 *
 * Return: a negative errno.
 */
int ctl_bus_error(sd_bus *bus, const sd_bus_error *error, int r, const char *request, const char *id) {
        _cleanup_free_ char *what = NULL, *where = NULL;

        if (r >= 0)
                r = -EIO;
        what = request_phrase(request, id);
        where = bus_describe(bus);
        r = print_sentence(error_kind(error, r), error, r, what ?: "call berthd", where ?: "the bus",
                           request, id);
        print_raw(error, r);
        return r;
}

/**
 * ctl_bus_connect_error() - print why connecting to a bus failed, as one sentence.
 * @scope: "system", "user", or NULL for a bus given by address.
 * @address: the address berthctl tried; NULL when it found none (no user bus).
 * @r: the negative errno.
 *
 * Return: @r.
 */
int ctl_bus_connect_error(const char *scope, const char *address, int r) {
        _cleanup_free_ char *bus = bus_describe_address(scope, address);
        const char *b = bus ?: "the bus";

        if (!address)
                r = ctl_error_errno(r, "Cannot find the %s bus: neither $DBUS_SESSION_BUS_ADDRESS nor "
                                    "$XDG_RUNTIME_DIR is set; use --system, or --address (or "
                                    "$BERTH_ADDRESS) for the bus berthd is on", scope ?: "user");
        else if (-r == EINVAL || !strchr(address, ':'))
                r = ctl_error_errno(r, "Cannot connect to %s: not a valid D-Bus address (such as "
                                    "unix:path=/run/dbus/system_bus_socket)", b);
        else if (IN_SET(-r, ENOENT, ECONNREFUSED))
                r = ctl_error_errno(r, "Cannot connect to %s: no bus is listening there; start it, or tell "
                                    "berthctl the bus berthd is on with --system, --user or --address", b);
        else if (IN_SET(-r, EACCES, EPERM))
                r = ctl_error_errno(r, "Cannot connect to %s: this user may not open its socket", b);
        else
                r = ctl_error_errno(r, "Cannot connect to %s: %m", b);
        print_raw(NULL, r);
        return r;
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
