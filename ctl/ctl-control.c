/* berthctl's commands that change or wait for containers by id: "start", "kill", "pause",
 * "resume", "rm" and "wait". Each takes one or more ids and goes on past an id that fails
 * ("wait" stops at the first); the exit status is 1 if any failed. "wait" prints each exit status
 * on a line of its own; the others print nothing on success. */

#include <getopt.h>
#include <signal.h>

#include "ctl-bus-error.h"
#include "ctl-bus.h"
#include "ctl-util.h"
#include "ctl.h"
#include "fd-util.h"

/* What a command does with one id; returns 0 or a negative errno (printed). */
typedef int (*IdAction)(sd_bus *bus, const char *id, const void *userdata);

/* Does @action for every id on one connection. Goes on past an id that fails unless @stop_at_error;
 * returns 0 or the first error. */
static int for_each_id(char **ids, int n_ids, IdAction action, const void *userdata, bool stop_at_error) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r, ret = 0;

        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        for (int i = 0; i < n_ids; i++) {
                r = action(bus, ids[i], userdata);
                if (r < 0 && stop_at_error)
                        return r;
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

static const struct option help_only[] = {
        CTL_OPTION_HELP,
        {}
};

/* Calls the manager method @userdata, which takes just the id. */
static int call_with_id(sd_bus *bus, const char *id, const void *userdata) {
        return ctl_call(bus, userdata, CTL_TIMEOUT_LONG, NULL, "s", id);
}

/* Parses the command line of a command without options but --help. */
static int parse_ids_only(int argc, char *argv[], const char *help) {
        const CtlOptions options = {
                .short_options = "h",
                .long_options = help_only,
                .help = help,
                .min_operands = 1,
                .max_operands = -1,
        };

        return ctl_parse_options(argc, argv, &options, NULL);
}

/* A command without options that calls @method for each id. */
static int id_method_command(int argc, char *argv[], const char *help, const char *method) {
        int r;

        r = parse_ids_only(argc, argv, help);
        if (r != 1)
                return r;
        return for_each_id(argv + optind, argc - optind, call_with_id, method, false);
}

/**
 * ctl_cmd_start() - "berthctl start ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be started.
 */
int ctl_cmd_start(int argc, char *argv[]) {
        return id_method_command(argc, argv, "Usage: berthctl start ID...\n\nStart created containers.\n",
                                 "StartContainer");
}

/**
 * ctl_cmd_pause() - "berthctl pause ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be paused.
 */
int ctl_cmd_pause(int argc, char *argv[]) {
        return id_method_command(argc, argv,
                                 "Usage: berthctl pause ID...\n\n"
                                 "Freeze every process of running containers.\n",
                                 "PauseContainer");
}

/**
 * ctl_cmd_resume() - "berthctl resume ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be resumed.
 */
int ctl_cmd_resume(int argc, char *argv[]) {
        return id_method_command(argc, argv, "Usage: berthctl resume ID...\n\nThaw paused containers.\n",
                                 "ResumeContainer");
}

typedef struct KillArgs {
        int signal;
        bool all;
} KillArgs;

static int kill_option(int option, const char *arg, void *userdata) {
        KillArgs *k = userdata;

        switch (option) {
        case 's':
                if (ctl_parse_signal(arg, &k->signal) < 0)
                        return ctl_usage_error("Invalid signal '%s'", arg);
                return 0;
        case 'a':
                k->all = true;
                return 0;
        default:
                return ctl_usage_error("Cannot parse options");
        }
}

static int kill_one(sd_bus *bus, const char *id, const void *userdata) {
        const KillArgs *k = userdata;

        return ctl_call(bus, "KillContainer", CTL_TIMEOUT_LONG, NULL, "sib", id, k->signal, k->all);
}

/**
 * ctl_cmd_kill() - "berthctl kill [-s SIGNAL] [--all] ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be signalled.
 */
int ctl_cmd_kill(int argc, char *argv[]) {
        static const struct option long_options[] = {
                { "signal", required_argument, NULL, 's' },
                { "all",    no_argument,       NULL, 'a' },
                CTL_OPTION_HELP,
                {}
        };
        static const CtlOptions options = {
                .short_options = "s:ah",
                .long_options = long_options,
                .help = "Usage: berthctl kill [OPTIONS] ID...\n"
                        "\n"
                        "Send a signal to the init process of containers.\n"
                        "\n"
                        "Options:\n"
                        "  -s, --signal=SIGNAL   Name (TERM, SIGKILL, RTMIN+1) or number;\n"
                        "                        the default is TERM\n"
                        "  -a, --all             Send it to every process of the container\n"
                        "  -h, --help            Show this help\n",
                .handle = kill_option,
                .min_operands = 1,
                .max_operands = -1,
        };
        KillArgs k = { .signal = SIGTERM };
        int r;

        r = ctl_parse_options(argc, argv, &options, &k);
        if (r != 1)
                return r;
        return for_each_id(argv + optind, argc - optind, kill_one, &k, false);
}

static int rm_option(int option, const char *arg, void *userdata) {
        bool *force = userdata;

        if (option != 'f')
                return ctl_usage_error("Cannot parse options");
        *force = true;
        return 0;
}

static int rm_one(sd_bus *bus, const char *id, const void *userdata) {
        const bool *force = userdata;

        return ctl_call(bus, "DeleteContainer", CTL_TIMEOUT_LONG, NULL, "sb", id, *force);
}

/**
 * ctl_cmd_rm() - "berthctl rm [-f] ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be deleted.
 */
int ctl_cmd_rm(int argc, char *argv[]) {
        static const struct option long_options[] = {
                { "force", no_argument, NULL, 'f' },
                CTL_OPTION_HELP,
                {}
        };
        static const CtlOptions options = {
                .short_options = "fh",
                .long_options = long_options,
                .help = "Usage: berthctl rm [OPTIONS] ID...\n"
                        "\n"
                        "Delete containers, their state and their default log files.\n"
                        "\n"
                        "Options:\n"
                        "  -f, --force   Kill running or paused containers first\n"
                        "  -h, --help    Show this help\n",
                .handle = rm_option,
                .min_operands = 1,
                .max_operands = -1,
        };
        bool force = false;
        int r;

        r = ctl_parse_options(argc, argv, &options, &force);
        if (r != 1)
                return r;
        return for_each_id(argv + optind, argc - optind, rm_one, &force, false);
}

/* WaitContainer without a timeout. While berthd restarts the call fails with NoReply or
 * ServiceUnknown; the container lives on, so try again for a while. */
static int wait_container(sd_bus *bus, const char *id, int *ret_status) {
        uint64_t failing_since = 0;
        int r;

        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
                int32_t status;

                r = ctl_new_call(bus, "WaitContainer", &m);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "s", id);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to build WaitContainer call: %m");
                r = sd_bus_call(bus, m, CTL_TIMEOUT_INFINITE, &error, &reply);
                if (r >= 0) {
                        r = sd_bus_message_read(reply, "i", &status);
                        if (r < 0)
                                return ctl_error_errno(r, "Failed to parse WaitContainer reply: %m");
                        *ret_status = status;
                        return 0;
                }
                /* Try again only once berthd has gone away under a pending call: when it is not
                 * there in the first place, say so at once. */
                if (!ctl_bus_error_is_transient(&error) ||
                    (failing_since == 0 && !sd_bus_error_has_name(&error, SD_BUS_ERROR_NO_REPLY)))
                        return ctl_bus_error(bus, &error, r, "WaitContainer", id);
                if (failing_since == 0)
                        failing_since = now_usec(CLOCK_MONOTONIC);
                else if (now_usec(CLOCK_MONOTONIC) - failing_since > 60 * USEC_PER_SEC)
                        return ctl_bus_error(bus, &error, r, "WaitContainer", id);
                (void) usleep(250 * USEC_PER_MSEC);
        }
}

static int wait_one(sd_bus *bus, const char *id, const void *userdata) {
        int r, status = 0;

        r = wait_container(bus, id, &status);
        if (r < 0)
                return r;
        printf("%i\n", status);
        fflush(stdout);
        return 0;
}

/**
 * ctl_cmd_wait() - "berthctl wait ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Waits for each container to stop and prints its exit status on a line of its own.
 *
 * Return: 0, or a negative errno (printed).
 */
int ctl_cmd_wait(int argc, char *argv[]) {
        int r;

        r = parse_ids_only(argc, argv,
                           "Usage: berthctl wait ID...\n\n"
                           "Wait until containers have stopped and print their exit statuses.\n");
        if (r != 1)
                return r;
        return for_each_id(argv + optind, argc - optind, wait_one, NULL, true);
}
