/* berthctl's commands that change or wait for containers by id: "start", "kill", "pause",
 * "resume", "rm" and "wait". Each takes one or more ids and goes on past an id that fails
 * ("wait" stops at the first); the exit status is 1 if any failed. "wait" prints each exit status
 * on a line of its own; the others print nothing on success. */

#include <getopt.h>
#include <signal.h>

#include "ctl-bus.h"
#include "ctl-util.h"
#include "ctl.h"
#include "fd-util.h"

/* Returns 1 to go on; otherwise what the command returns. Only -h/--help is an option; at least one
 * id must follow. */
static int ids_parse_argv(int argc, char *argv[], const char *help_text) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(help_text, stdout);
                        return 0;
                case '?':
                        return ctl_usage_hint();
                default:
                        return ctl_usage_error("Cannot parse options");
                }

        if (optind >= argc)
                return ctl_usage_error("Missing container ID");
        return 1;
}

/* Calls @method with "s" id (or "s" plus @types) on each id; goes on past errors. */
static int call_for_each_id(char **ids, int n_ids, const char *method, const char *types, int a, int b) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r, ret = 0;

        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        for (int i = 0; i < n_ids; i++) {
                if (streq(types, "s"))
                        r = ctl_call(bus, method, CTL_TIMEOUT_LONG, NULL, "s", ids[i]);
                else if (streq(types, "sb"))
                        r = ctl_call(bus, method, CTL_TIMEOUT_LONG, NULL, "sb", ids[i], a);
                else
                        r = ctl_call(bus, method, CTL_TIMEOUT_LONG, NULL, "sib", ids[i], a, b);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

/**
 * ctl_cmd_start() - "berthctl start ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be started.
 */
int ctl_cmd_start(int argc, char *argv[]) {
        int r;

        r = ids_parse_argv(argc, argv,
                           "Usage: berthctl start ID...\n\nStart created containers.\n");
        if (r != 1)
                return r;
        return call_for_each_id(argv + optind, argc - optind, "StartContainer", "s", 0, 0);
}

/**
 * ctl_cmd_pause() - "berthctl pause ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be paused.
 */
int ctl_cmd_pause(int argc, char *argv[]) {
        int r;

        r = ids_parse_argv(argc, argv,
                           "Usage: berthctl pause ID...\n\nFreeze every process of running containers.\n");
        if (r != 1)
                return r;
        return call_for_each_id(argv + optind, argc - optind, "PauseContainer", "s", 0, 0);
}

/**
 * ctl_cmd_resume() - "berthctl resume ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be resumed.
 */
int ctl_cmd_resume(int argc, char *argv[]) {
        int r;

        r = ids_parse_argv(argc, argv, "Usage: berthctl resume ID...\n\nThaw paused containers.\n");
        if (r != 1)
                return r;
        return call_for_each_id(argv + optind, argc - optind, "ResumeContainer", "s", 0, 0);
}

/**
 * ctl_cmd_kill() - "berthctl kill [-s SIGNAL] [--all] ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be signalled.
 */
int ctl_cmd_kill(int argc, char *argv[]) {
        static const struct option options[] = {
                { "signal", required_argument, NULL, 's' },
                { "all",    no_argument,       NULL, 'a' },
                { "help",   no_argument,       NULL, 'h' },
                {}
        };
        int c, sig = SIGTERM;
        bool all = false;

        while ((c = getopt_long(argc, argv, "s:ah", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        if (ctl_parse_signal(optarg, &sig) < 0)
                                return ctl_usage_error("Invalid signal '%s'", optarg);
                        break;
                case 'a':
                        all = true;
                        break;
                case 'h':
                        printf("Usage: berthctl kill [OPTIONS] ID...\n"
                               "\n"
                               "Send a signal to the init process of containers.\n"
                               "\n"
                               "Options:\n"
                               "  -s, --signal=SIGNAL   Name (TERM, SIGKILL, RTMIN+1) or number;\n"
                               "                        the default is TERM\n"
                               "  -a, --all             Send it to every process of the container\n"
                               "  -h, --help            Show this help\n");
                        return 0;
                case '?':
                        return ctl_usage_hint();
                default:
                        return ctl_usage_error("Cannot parse options");
                }

        if (optind >= argc)
                return ctl_usage_error("Missing container ID");
        return call_for_each_id(argv + optind, argc - optind, "KillContainer", "sib", sig, all);
}

/**
 * ctl_cmd_rm() - "berthctl rm [-f] ID...".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed) if any container could not be deleted.
 */
int ctl_cmd_rm(int argc, char *argv[]) {
        static const struct option options[] = {
                { "force", no_argument, NULL, 'f' },
                { "help",  no_argument, NULL, 'h' },
                {}
        };
        bool force = false;
        int c;

        while ((c = getopt_long(argc, argv, "fh", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'h':
                        printf("Usage: berthctl rm [OPTIONS] ID...\n"
                               "\n"
                               "Delete containers, their state and their default log files.\n"
                               "\n"
                               "Options:\n"
                               "  -f, --force   Kill running or paused containers first\n"
                               "  -h, --help    Show this help\n");
                        return 0;
                case '?':
                        return ctl_usage_hint();
                default:
                        return ctl_usage_error("Cannot parse options");
                }

        if (optind >= argc)
                return ctl_usage_error("Missing container ID");
        return call_for_each_id(argv + optind, argc - optind, "DeleteContainer", "sb", force, 0);
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
                        return ctl_bus_error(&error, r, "Failed to call WaitContainer");
                if (failing_since == 0)
                        failing_since = now_usec(CLOCK_MONOTONIC);
                else if (now_usec(CLOCK_MONOTONIC) - failing_since > 60 * USEC_PER_SEC)
                        return ctl_bus_error(&error, r, "Failed to call WaitContainer");
                (void) usleep(250 * USEC_PER_MSEC);
        }
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
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = ids_parse_argv(argc, argv,
                           "Usage: berthctl wait ID...\n\n"
                           "Wait until containers have stopped and print their exit statuses.\n");
        if (r != 1)
                return r;
        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        for (int i = optind; i < argc; i++) {
                int status = 0;

                r = wait_container(bus, argv[i], &status);
                if (r < 0)
                        return r;
                printf("%i\n", status);
                fflush(stdout);
        }
        return 0;
}
