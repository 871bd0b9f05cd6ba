/* berthctl's commands that show containers: "ps" prints a table (ID, STATE, PID, EXIT, BUNDLE),
 * ids only with -q, or a JSON array with --json; "inspect" prints one JSON object with every
 * property of a container. */

#include <getopt.h>
#include <inttypes.h>

#include "ctl-bus.h"
#include "ctl-container.h"
#include "ctl-util.h"
#include "ctl.h"

typedef struct ListEntry {
        const char *id;         /* these point into the reply */
        const char *state;
        const char *bundle;
        uint32_t pid;
        int32_t exit_status;
        const char *path;
} ListEntry;

static int list_entry_compare(const void *a, const void *b) {
        return strcmp(((const ListEntry *) a)->id, ((const ListEntry *) b)->id);
}

static int list_read(sd_bus_message *reply, bool all, ListEntry **ret, size_t *ret_n) {
        _cleanup_free_ ListEntry *entries = NULL;
        size_t n = 0, allocated = 0;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(sssuio)");
        if (r < 0)
                return r;
        for (;;) {
                ListEntry e;

                r = sd_bus_message_read(reply, "(sssuio)", &e.id, &e.state, &e.bundle, &e.pid,
                                        &e.exit_status, &e.path);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (!all && streq(e.state, "stopped"))
                        continue;
                if (n == allocated) {
                        ListEntry *ne;

                        allocated = MAX(allocated * 2, (size_t) 16);
                        ne = realloc(entries, allocated * sizeof(ListEntry));
                        if (!ne)
                                return -ENOMEM;
                        entries = ne;
                }
                entries[n++] = e;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        if (n > 0)
                qsort(entries, n, sizeof(ListEntry), list_entry_compare);
        *ret = TAKE_PTR(entries);
        *ret_n = n;
        return 0;
}

static int ps_print_json(const ListEntry *entries, size_t n) {
        _cleanup_json_ json_object *a = json_object_new_array();

        if (!a)
                return ctl_error_errno(ENOMEM, "Out of memory.");
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_new_object();

                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return ctl_error_errno(ENOMEM, "Out of memory.");
                }
                json_object_object_add(o, "id", json_object_new_string(entries[i].id));
                json_object_object_add(o, "state", json_object_new_string(entries[i].state));
                json_object_object_add(o, "bundle", json_object_new_string(entries[i].bundle));
                json_object_object_add(o, "pid", json_object_new_int64(entries[i].pid));
                json_object_object_add(o, "exit_status", json_object_new_int(entries[i].exit_status));
                json_object_object_add(o, "path", json_object_new_string(entries[i].path));
        }
        return ctl_print_json(a);
}

static void ps_print_table(const ListEntry *entries, size_t n) {
        int w_id = strlen("ID"), w_state = strlen("STATE"), w_pid = strlen("PID"), w_exit = strlen("EXIT");
        char pid[16], exit_status[16];

        for (size_t i = 0; i < n; i++) {
                w_id = MAX(w_id, (int) strlen(entries[i].id));
                w_state = MAX(w_state, (int) strlen(entries[i].state));
                w_pid = MAX(w_pid, snprintf(pid, sizeof(pid), "%" PRIu32, entries[i].pid));
                w_exit = MAX(w_exit, snprintf(exit_status, sizeof(exit_status), "%" PRIi32,
                                              entries[i].exit_status));
        }

        printf("%-*s  %-*s  %-*s  %-*s  %s\n",
               w_id, "ID", w_state, "STATE", w_pid, "PID", w_exit, "EXIT", "BUNDLE");
        for (size_t i = 0; i < n; i++) {
                const ListEntry *e = &entries[i];

                pid[0] = exit_status[0] = 0;
                /* A stopped container's pid names a process that is gone. */
                if (e->pid > 0 && !streq(e->state, "stopped"))
                        snprintf(pid, sizeof(pid), "%" PRIu32, e->pid);
                if (streq(e->state, "stopped"))
                        snprintf(exit_status, sizeof(exit_status), "%" PRIi32, e->exit_status);
                printf("%-*s  %-*s  %-*s  %-*s  %s\n", w_id, e->id, w_state, e->state, w_pid, pid, w_exit,
                       exit_status, e->bundle);
        }
}

typedef struct PsArgs {
        bool all;
        bool quiet;
        bool json;
} PsArgs;

static int ps_option(int option, const char *arg, void *userdata) {
        PsArgs *args = userdata;

        switch (option) {
        case 'a':
                args->all = true;
                return 0;
        case 'q':
                args->quiet = true;
                return 0;
        case CTL_ARG_JSON:
                args->json = true;
                return 0;
        default:
                return ctl_usage_error("Cannot parse options");
        }
}

/**
 * ctl_cmd_ps() - "berthctl ps [-a] [-q] [--json]".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Lists containers sorted by id; stopped ones only with -a.
 *
 * Return: exit status, or a negative errno (printed).
 */
int ctl_cmd_ps(int argc, char *argv[]) {
        static const struct option long_options[] = {
                { "all",   no_argument, NULL, 'a'      },
                { "quiet", no_argument, NULL, 'q'      },
                CTL_OPTION_JSON,
                CTL_OPTION_HELP,
                {}
        };
        static const CtlOptions options = {
                .short_options = "aqh",
                .long_options = long_options,
                .help = "Usage: berthctl ps [OPTIONS]\n"
                        "\n"
                        "List containers that have not stopped (all of them with -a).\n"
                        "\n"
                        "Options:\n"
                        "  -a, --all     Also list stopped containers\n"
                        "  -q, --quiet   Print only the ids\n"
                        "      --json    Print a JSON array of objects (id, state, bundle, pid,\n"
                        "                exit_status, path)\n"
                        "  -h, --help    Show this help\n",
                .handle = ps_option,
                .min_operands = 0,
                .max_operands = 0,
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ ListEntry *entries = NULL;
        PsArgs args = {};
        size_t n;
        int r;

        r = ctl_parse_options(argc, argv, &options, &args);
        if (r != 1)
                return r;

        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        r = ctl_call(bus, "ListContainers", CTL_TIMEOUT_DEFAULT, &reply, "");
        if (r < 0)
                return r;
        r = list_read(reply, args.all, &entries, &n);
        if (r < 0)
                return ctl_error_errno(r, "Failed to parse ListContainers reply: %m");

        if (args.json)
                return ps_print_json(entries, n);
        if (args.quiet) {
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", entries[i].id);
                return 0;
        }
        ps_print_table(entries, n);
        return 0;
}

/* ---- inspect ------------------------------------------------------------------------------------ */

static json_object *json_time(uint64_t usec) {
        char buf[64];

        if (usec == 0 || ctl_format_time(usec, buf, sizeof(buf)) < 0)
                return NULL;    /* JSON null */
        return json_object_new_string(buf);
}

static int container_to_json(const CtlContainer *c, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *labels = json_object_new_object();

        if (!o || !labels) {
                json_object_put(labels);
                return -ENOMEM;
        }
        json_object_object_add(o, "id", json_object_new_string(c->id));
        json_object_object_add(o, "path", json_object_new_string(c->path));
        json_object_object_add(o, "state", json_object_new_string(c->state ?: "unknown"));
        json_object_object_add(o, "bundle", json_object_new_string(c->bundle ?: ""));
        json_object_object_add(o, "runtime", json_object_new_string(c->runtime ?: ""));
        json_object_object_add(o, "pid", json_object_new_int64(c->pid));
        json_object_object_add(o, "shim_pid", json_object_new_int64(c->shim_pid));
        json_object_object_add(o, "exit_status", json_object_new_int(c->exit_status));
        json_object_object_add(o, "exit_reason", json_object_new_string(c->exit_reason ?: ""));
        json_object_object_add(o, "oom_killed", json_object_new_boolean(c->oom_killed));
        json_object_object_add(o, "created_at", json_object_new_int64((int64_t) c->created_at));
        json_object_object_add(o, "started_at", json_object_new_int64((int64_t) c->started_at));
        json_object_object_add(o, "finished_at", json_object_new_int64((int64_t) c->finished_at));
        json_object_object_add(o, "created_time", json_time(c->created_at));
        json_object_object_add(o, "started_time", json_time(c->started_at));
        json_object_object_add(o, "finished_time", json_time(c->finished_at));
        for (char **i = c->labels; i && i[0] && i[1]; i += 2)
                json_object_object_add(labels, i[0], json_object_new_string(i[1]));
        json_object_object_add(o, "labels", labels);
        json_object_object_add(o, "terminal", json_object_new_boolean(c->terminal));
        json_object_object_add(o, "log_path", json_object_new_string(c->log_path ?: ""));
        *ret = TAKE_PTR(o);
        return 0;
}

/**
 * ctl_cmd_inspect() - "berthctl inspect [--json] ID".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Prints one JSON object with every property of the container (--json is accepted for symmetry
 * with the other read commands: the output is always JSON).
 *
 * Return: exit status, or a negative errno (printed).
 */
int ctl_cmd_inspect(int argc, char *argv[]) {
        static const CtlOptions options = {
                .short_options = "h",
                .long_options = ctl_json_options,
                .help = "Usage: berthctl inspect [--json] ID\n"
                        "\n"
                        "Print one JSON object with everything berthd knows about a container:\n"
                        "id, path, state, bundle, runtime, pid, shim_pid, exit_status, exit_reason,\n"
                        "oom_killed, created_at, started_at, finished_at (µs since the epoch, 0 if\n"
                        "unknown), created_time, started_time, finished_time (RFC 3339 or null),\n"
                        "labels, terminal, log_path.\n",
                .handle = ctl_handle_json,
                .min_operands = 1,
                .max_operands = 1,
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_container_done) CtlContainer c = { .exit_status = -1 };
        _cleanup_json_ json_object *o = NULL;
        bool json = false;      /* accepted, but the output is always JSON */
        int r;

        r = ctl_parse_options(argc, argv, &options, &json);
        if (r != 1)
                return r;

        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        r = ctl_container_get(bus, argv[optind], &c);
        if (r < 0)
                return r;
        r = container_to_json(&c, &o);
        if (r < 0)
                return ctl_error_errno(r, "Out of memory.");
        return ctl_print_json(o);
}
