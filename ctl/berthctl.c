/* berthctl: the command line client of berth.
 *
 * This file holds main(), the global options (--system, --user, --address, BERTH_ADDRESS, --debug)
 * and the plumbing all commands share: connecting to the bus, calling the manager, printing errors
 * in one format ("berthctl: <message>", the message of the D-Bus error as berthd wrote it), reading
 * a container's properties, and small parsers (signals, labels, sizes) and formatters (times, JSON).
 *
 * Errors are printed here with stdio rather than through common/log.c: the format of a client's
 * error line is part of its interface (tests and scripts match it), so it is spelled out here. */

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <strings.h>
#include <time.h>

#include "bus-error.h"
#include "ctl.h"

bool arg_debug = false;

typedef enum BusTransport {
        BUS_TRANSPORT_DEFAULT,
        BUS_TRANSPORT_SYSTEM,
        BUS_TRANSPORT_USER,
        BUS_TRANSPORT_ADDRESS,
} BusTransport;

static BusTransport arg_transport = BUS_TRANSPORT_DEFAULT;
static const char *arg_address = NULL;

/**
 * ctl_error_errno() - print a one-line error on stderr.
 * @error: an errno value (either sign; 0 for none); %m in @format prints its description.
 * @format: printf format of the message.
 *
 * Prints "berthctl: <message>\n".
 *
 * Return: -abs(@error), or -EIO when @error is 0.
 */
int ctl_error_errno(int error, const char *format, ...) {
        va_list ap;

        fflush(stdout);
        fputs("berthctl: ", stderr);
        errno = abs(error);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return error == 0 ? -EIO : -abs(error);
}

/* The command being run, for the hint after a usage error; NULL before one is chosen. */
static const char *ctl_command = NULL;

/**
 * ctl_usage_hint() - print where to find help, after getopt printed what was wrong.
 *
 * Return: CTL_EXIT_USAGE.
 */
int ctl_usage_hint(void) {
        if (ctl_command)
                fprintf(stderr, "Try 'berthctl %s --help' for more information.\n", ctl_command);
        else
                fputs("Try 'berthctl --help' for more information.\n", stderr);
        return CTL_EXIT_USAGE;
}

/**
 * ctl_usage_error() - print a usage error and a hint.
 * @format: printf format of the message.
 *
 * Return: CTL_EXIT_USAGE, so commands can "return ctl_usage_error(...)".
 */
int ctl_usage_error(const char *format, ...) {
        va_list ap;

        fflush(stdout);
        fputs("berthctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return ctl_usage_hint();
}

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
 * ctl_write_all() - write a whole buffer to an fd.
 * @fd: where to write.
 * @data: the bytes.
 * @size: how many.
 *
 * Retries on EINTR and short writes, and waits when @fd is non-blocking and full.
 *
 * Return: 0, or a negative errno.
 */
int ctl_write_all(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                (void) usleep(1000);
                                continue;
                        }
                        return -errno;
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
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
        BusTransport transport = arg_transport;
        const char *address = arg_address;
        int r;

        if (transport == BUS_TRANSPORT_DEFAULT) {
                const char *e = getenv("BERTH_ADDRESS");
                if (!isempty(e)) {
                        transport = BUS_TRANSPORT_ADDRESS;
                        address = e;
                } else
                        transport = geteuid() == 0 ? BUS_TRANSPORT_SYSTEM : BUS_TRANSPORT_USER;
        }

        switch (transport) {
        case BUS_TRANSPORT_SYSTEM:
                r = sd_bus_open_system(&bus);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to connect to the system bus: %m");
                break;
        case BUS_TRANSPORT_USER:
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

/**
 * ctl_container_done() - free what a CtlContainer holds.
 * @c: the container info; left zeroed.
 */
void ctl_container_done(CtlContainer *c) {
        free(c->path);
        free(c->id);
        free(c->bundle);
        free(c->runtime);
        free(c->state);
        free(c->exit_reason);
        strv_free(c->labels);
        free(c->log_path);
        *c = (CtlContainer) { .exit_status = -1 };
}

typedef struct PropertyMap {
        const char *name;
        const char *signature;
        size_t offset;
} PropertyMap;

static const PropertyMap container_properties[] = {
        { "Id",         "s",     offsetof(CtlContainer, id)          },
        { "Bundle",     "s",     offsetof(CtlContainer, bundle)      },
        { "Runtime",    "s",     offsetof(CtlContainer, runtime)     },
        { "State",      "s",     offsetof(CtlContainer, state)       },
        { "Pid",        "u",     offsetof(CtlContainer, pid)         },
        { "ShimPid",    "u",     offsetof(CtlContainer, shim_pid)    },
        { "ExitStatus", "i",     offsetof(CtlContainer, exit_status) },
        { "ExitReason", "s",     offsetof(CtlContainer, exit_reason) },
        { "OOMKilled",  "b",     offsetof(CtlContainer, oom_killed)  },
        { "CreatedAt",  "t",     offsetof(CtlContainer, created_at)  },
        { "StartedAt",  "t",     offsetof(CtlContainer, started_at)  },
        { "FinishedAt", "t",     offsetof(CtlContainer, finished_at) },
        { "Labels",     "a{ss}", offsetof(CtlContainer, labels)      },
        { "Terminal",   "b",     offsetof(CtlContainer, terminal)    },
        { "LogPath",    "s",     offsetof(CtlContainer, log_path)    },
};

static int read_labels(sd_bus_message *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (;;) {
                const char *k, *v;
                char **nl;

                r = sd_bus_message_read(m, "{ss}", &k, &v);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                nl = realloc(l, (n + 3) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = l[n + 1] = l[n + 2] = NULL;
                l[n] = strdup(k);
                l[n + 1] = strdup(v);
                if (!l[n] || !l[n + 1])
                        return -ENOMEM;
                n += 2;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_property_value(sd_bus_message *m, const PropertyMap *p, CtlContainer *c) {
        void *field = (char *) c + p->offset;
        int r;

        switch (p->signature[0]) {
        case 's': {
                const char *s;
                char *copy;

                r = sd_bus_message_read_basic(m, 's', &s);
                if (r < 0)
                        return r;
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
                free(*(char **) field);
                *(char **) field = copy;
                return 0;
        }
        case 'b': {
                int b;

                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                *(bool *) field = b;
                return 0;
        }
        case 'a': {
                char **l = NULL;

                r = read_labels(m, &l);
                if (r < 0)
                        return r;
                strv_free(*(char ***) field);
                *(char ***) field = l;
                return 0;
        }
        default:
                /* u, i and t: the field has the wire type's size. */
                return sd_bus_message_read_basic(m, p->signature[0], field);
        }
}

static int read_one_property(sd_bus_message *m, CtlContainer *c) {
        const PropertyMap *p = NULL;
        const char *name, *contents;
        int r;

        r = sd_bus_message_read_basic(m, 's', &name);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(container_properties); i++)
                if (streq(container_properties[i].name, name))
                        p = &container_properties[i];

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        /* Properties we do not know, or of a type we do not expect, are skipped: a newer berthd
         * may add some, and one odd property should not hide all the others. */
        if (!p || !streq(contents, p->signature)) {
                if (p && arg_debug)
                        fprintf(stderr, "berthctl: property %s has type '%s', expected '%s', ignoring\n",
                                name, contents, p->signature);
                return sd_bus_message_skip(m, "v");
        }

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = read_property_value(m, p, c);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int parse_container_properties(sd_bus_message *m, CtlContainer *c) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = read_one_property(m, c);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

/**
 * ctl_container_get() - read all properties of a container.
 * @bus: the connection.
 * @id: the container id.
 * @ret: filled in on success; free with ctl_container_done().
 *
 * Asks the manager for the object (GetContainer, so an unknown id gets berthd's NoSuchContainer
 * error), then reads org.berth.Container1 with Properties.GetAll. Errors are printed.
 *
 * Return: 0, or a negative errno.
 */
int ctl_container_get(sd_bus *bus, const char *id, CtlContainer *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(ctl_container_done) CtlContainer c = { .exit_status = -1 };
        const char *path;
        int r;

        r = ctl_call(bus, "GetContainer", CTL_TIMEOUT_DEFAULT, &reply, "s", id);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return ctl_error_errno(r, "Failed to parse GetContainer reply: %m");
        c.path = strdup(path);
        if (!c.path)
                return ctl_error_errno(ENOMEM, "Out of memory.");
        reply = sd_bus_message_unref(reply);

        r = sd_bus_call_method(bus, CTL_BUS_NAME, c.path, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", CTL_CONTAINER_INTERFACE);
        if (r < 0)
                return ctl_bus_error(&error, r, "Failed to read container properties");
        r = parse_container_properties(reply, &c);
        if (r < 0)
                return ctl_error_errno(r, "Failed to parse properties of container '%s': %m", id);
        if (!c.id) {
                c.id = strdup(id);
                if (!c.id)
                        return ctl_error_errno(ENOMEM, "Out of memory.");
        }

        *ret = c;
        c = (CtlContainer) {};
        return 0;
}

/**
 * ctl_parse_signal() - parse a signal given by name or number.
 * @s: "TERM", "SIGTERM", "sigterm", "15", "RTMIN+2", "SIGRTMAX-1", ...
 * @ret: the signal number, 1..64.
 *
 * Return: 0, or -EINVAL.
 */
int ctl_parse_signal(const char *s, int *ret) {
        const uint64_t n_rt = (uint64_t) (SIGRTMAX - SIGRTMIN);
        const char *n = s;
        uint64_t u;
        int sig = 0;

        if (ctl_parse_unsigned(s, &u) >= 0) {
                if (u < 1 || u > (uint64_t) SIGRTMAX)
                        return -EINVAL;
                *ret = (int) u;
                return 0;
        }

        if (strncasecmp(n, "SIG", 3) == 0)
                n += 3;
        /* Other names of signals, which sigabbrev_np() knows by one name only. */
        if (strcasecmp(n, "IO") == 0)
                n = "POLL";
        else if (strcasecmp(n, "IOT") == 0)
                n = "ABRT";
        else if (strcasecmp(n, "CLD") == 0)
                n = "CHLD";
        for (int i = 1; i < SIGRTMIN; i++) {
                const char *a = sigabbrev_np(i);
                if (a && strcasecmp(a, n) == 0) {
                        sig = i;
                        break;
                }
        }
        if (sig == 0 && strncasecmp(n, "RTMIN", 5) == 0) {
                sig = SIGRTMIN;
                if (n[5] == '+' && ctl_parse_unsigned(n + 6, &u) >= 0 && u <= n_rt)
                        sig += (int) u;
                else if (n[5] != 0)
                        sig = 0;
        } else if (sig == 0 && strncasecmp(n, "RTMAX", 5) == 0) {
                sig = SIGRTMAX;
                if (n[5] == '-' && ctl_parse_unsigned(n + 6, &u) >= 0 && u <= n_rt)
                        sig -= (int) u;
                else if (n[5] != 0)
                        sig = 0;
        }
        if (sig == 0)
                return -EINVAL;
        *ret = sig;
        return 0;
}

/**
 * ctl_parse_label() - split a KEY=VALUE label.
 * @s: the argument.
 * @ret_key: the key, newly allocated; never empty.
 * @ret_value: the value, newly allocated; may be empty.
 *
 * Return: 0, -EINVAL without '=' or with an empty key, or -ENOMEM.
 */
int ctl_parse_label(const char *s, char **ret_key, char **ret_value) {
        _cleanup_free_ char *k = NULL, *v = NULL;
        const char *eq = strchr(s, '=');

        if (!eq || eq == s)
                return -EINVAL;
        k = strndup(s, (size_t) (eq - s));
        v = strdup(eq + 1);
        if (!k || !v)
                return -ENOMEM;
        *ret_key = TAKE_PTR(k);
        *ret_value = TAKE_PTR(v);
        return 0;
}

/**
 * ctl_parse_unsigned() - parse a decimal unsigned number.
 * @s: only digits, nothing else.
 * @ret: the number.
 *
 * Return: 0, -EINVAL or -ERANGE.
 */
int ctl_parse_unsigned(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/**
 * ctl_format_time() - format µs since the epoch as RFC 3339 in UTC.
 * @usec: µs, CLOCK_REALTIME; must not be 0.
 * @buf: where to write, e.g. "2026-11-24T09:13:44.123456Z".
 * @size: size of @buf; 32 is enough.
 *
 * Return: 0, or -EINVAL if the time cannot be formatted.
 */
int ctl_format_time(uint64_t usec, char *buf, size_t size) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        size_t n;

        if (!gmtime_r(&sec, &tm))
                return -EINVAL;
        n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        if (n == 0)
                return -EINVAL;
        if ((size_t) snprintf(buf + n, size - n, ".%06" PRIu64 "Z", usec % USEC_PER_SEC) >= size - n)
                return -EINVAL;
        return 0;
}

/**
 * ctl_print_json() - print a JSON value on stdout, pretty, with a final newline.
 * @j: the value.
 *
 * Return: 0, or a negative errno (printed).
 */
int ctl_print_json(json_object *j) {
        const char *s;

        s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return ctl_error_errno(ENOMEM, "Out of memory.");
        fputs(s, stdout);
        fputc('\n', stdout);
        return 0;
}

typedef struct Command {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *summary;
} Command;

static const Command commands[] = {
        { "run",     ctl_cmd_run,     "Run a container in the foreground (or with -d in the background)" },
        { "create",  ctl_cmd_create,  "Create a container from an OCI bundle" },
        { "start",   ctl_cmd_start,   "Start created containers" },
        { "ps",      ctl_cmd_ps,      "List containers" },
        { "inspect", ctl_cmd_inspect, "Show everything about a container, as JSON" },
        { "logs",    ctl_cmd_logs,    "Print (and follow) a container's output" },
        { "wait",    ctl_cmd_wait,    "Wait for a container to stop and print its exit status" },
        { "kill",    ctl_cmd_kill,    "Send a signal to containers" },
        { "pause",   ctl_cmd_pause,   "Freeze every process of containers" },
        { "resume",  ctl_cmd_resume,  "Thaw paused containers" },
        { "rm",      ctl_cmd_rm,      "Delete containers" },
        { "version", ctl_cmd_version, "Show the versions of berthctl and berthd" },
};

static void help(void) {
        printf("Usage: berthctl [OPTIONS] COMMAND [ARGS...]\n"
               "\n"
               "Control the containers of berthd, the berth container monitor.\n"
               "\n"
               "Options:\n"
               "      --system         Talk to berthd on the system bus (default for root)\n"
               "      --user           Talk to berthd on the user's session bus (default otherwise)\n"
               "      --address=ADDR   Talk to berthd on the bus at ADDR (also: $BERTH_ADDRESS)\n"
               "      --debug          Show D-Bus error names\n"
               "  -h, --help           Show this help\n"
               "      --version        Show the version\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                printf("  %-9s %s\n", commands[i].name, commands[i].summary);
        printf("\nRun 'berthctl COMMAND --help' for a command's options.\n");
}

enum {
        ARG_SYSTEM = 0x100,
        ARG_USER,
        ARG_ADDRESS,
        ARG_DEBUG,
        ARG_VERSION,
};

/* Returns 1 to go on with a command, 0 to exit successfully, CTL_EXIT_USAGE on usage errors. */
static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "system",  no_argument,       NULL, ARG_SYSTEM  },
                { "user",    no_argument,       NULL, ARG_USER    },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "debug",   no_argument,       NULL, ARG_DEBUG   },
                { "help",    no_argument,       NULL, 'h'         },
                { "version", no_argument,       NULL, ARG_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case ARG_SYSTEM:
                        arg_transport = BUS_TRANSPORT_SYSTEM;
                        break;
                case ARG_USER:
                        arg_transport = BUS_TRANSPORT_USER;
                        break;
                case ARG_ADDRESS:
                        if (isempty(optarg))
                                return ctl_usage_error("--address needs a bus address");
                        arg_transport = BUS_TRANSPORT_ADDRESS;
                        arg_address = optarg;
                        break;
                case ARG_DEBUG:
                        arg_debug = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("berthctl %s\n", BERTH_VERSION);
                        return 0;
                case '?':
                        return ctl_usage_hint();
                default:
                        return ctl_usage_error("Cannot parse options");
                }

        if (optind >= argc)
                return ctl_usage_error("Missing command");
        return 1;
}

static const Command *find_command(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, name))
                        return &commands[i];
        return NULL;
}

/* Runs a command with argv[0] set to "berthctl COMMAND", which is what getopt's messages show. */
static int run_command(const Command *cmd, int argc, char *argv[]) {
        _cleanup_free_ char *name = NULL;

        if (asprintf(&name, "berthctl %s", cmd->name) < 0)
                return ctl_error_errno(ENOMEM, "Out of memory.");
        ctl_command = cmd->name;
        argv[0] = name;
        /* optind = 0 makes glibc's getopt start afresh on the command's own arguments. */
        optind = 0;
        return cmd->run(argc, argv);
}

static int dispatch(int argc, char *argv[]) {
        const Command *cmd;

        if (streq(argv[0], "help")) {
                char *sub[] = { NULL, (char *) "--help", NULL };

                if (argc < 2) {
                        help();
                        return 0;
                }
                cmd = find_command(argv[1]);
                if (!cmd)
                        return ctl_usage_error("Unknown command '%s'", argv[1]);
                return run_command(cmd, 2, sub);
        }

        cmd = find_command(argv[0]);
        if (!cmd)
                return ctl_usage_error("Unknown command '%s'", argv[0]);
        return run_command(cmd, argc, argv);
}

int main(int argc, char *argv[]) {
        int r;

        /* getopt prefixes its messages with argv[0]. */
        argv[0] = (char *) "berthctl";

        r = parse_argv(argc, argv);
        if (r <= 0 || r == CTL_EXIT_USAGE)
                return r == 0 ? EXIT_SUCCESS : CTL_EXIT_USAGE;

        r = berth_error_map_register();
        if (r < 0 && arg_debug)
                fprintf(stderr, "berthctl: Failed to register error names: %s\n", strerror(-r));

        r = dispatch(argc - optind, argv + optind);

        if (fflush(stdout) != 0 || ferror(stdout)) {
                (void) ctl_error_errno(errno ?: EIO, "Failed to write output: %m");
                return CTL_EXIT_FAILURE;
        }
        return r < 0 ? CTL_EXIT_FAILURE : r;
}
