/* berthctl: the command line client of berth.
 *
 * This file holds main(), the global options (--system, --user, --address, BERTH_ADDRESS, --debug)
 * and the table of commands it dispatches to. The commands live in one file per family (see
 * ctl.h); the bus client they share in ctl-bus.c, the container properties in ctl-container.c and
 * the small helpers in ctl-util.c. */

#include <getopt.h>

#include "bus-error.h"
#include "ctl-bus.h"
#include "ctl-util.h"
#include "ctl.h"

typedef struct Command {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *summary;
} Command;

static const Command commands[] = {
        { "run",     ctl_cmd_run,     "Run a container in the foreground (or with -d in the background)" },
        { "create",  ctl_cmd_create,  "Create a container from an OCI bundle" },
        { "start",   ctl_cmd_start,   "Start created containers" },
        { "exec",    ctl_cmd_exec,    "Run a command in a running container" },
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
                        arg_transport = CTL_TRANSPORT_SYSTEM;
                        break;
                case ARG_USER:
                        arg_transport = CTL_TRANSPORT_USER;
                        break;
                case ARG_ADDRESS:
                        if (isempty(optarg))
                                return ctl_usage_error("--address needs a bus address");
                        arg_transport = CTL_TRANSPORT_ADDRESS;
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
        ctl_usage_set_command(cmd->name);
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
