/* berthctl's commands that make containers: "create" (from an OCI bundle, with the runtime, log
 * and label options of CreateContainer) and "run" (create, start, then follow the log in the
 * foreground until the container stops and exit with its status; -d prints the id instead; --rm
 * deletes it afterwards). "start" of a created container is in ctl-control.c. */

#include <getopt.h>
#include <stdarg.h>

#include "ctl-bus.h"
#include "ctl-container.h"
#include "ctl-logs.h"
#include "ctl-util.h"
#include "ctl.h"
#include "path-util.h"

typedef struct CreateOptions {
        const char *runtime;
        char **runtime_args;
        char **labels;          /* key, value, key, value, ..., NULL */
        const char *log_driver;
        const char *log_path;
        uint64_t log_max_size;
        bool log_max_size_set;
        bool no_pivot_root;
        bool remove;            /* run --rm */
        bool detach;            /* run -d */
        bool run;               /* parsing the options of "run", not of "create" */
        const char *id;
        char *bundle;           /* absolute */
} CreateOptions;

static void create_options_done(CreateOptions *o) {
        strv_free(o->runtime_args);
        strv_free(o->labels);
        free(o->bundle);
}

/* Adds a label; a key given twice keeps its last value. */
static int labels_set(char ***labels, const char *arg) {
        _cleanup_free_ char *k = NULL, *v = NULL;
        int r;

        r = ctl_parse_label(arg, &k, &v);
        if (r < 0)
                return r;
        for (char **i = *labels; i && *i; i += 2)
                if (streq(i[0], k)) {
                        free(i[1]);
                        i[1] = TAKE_PTR(v);
                        return 0;
                }
        r = ctl_strv_push(labels, k);
        if (r < 0)
                return r;
        return ctl_strv_push(labels, v);
}

static int make_bundle_absolute(const char *bundle, char **ret) {
        _cleanup_free_ char *cwd = NULL;
        char *p;

        if (path_is_absolute(bundle))
                p = strdup(bundle);
        else {
                /* A bundle that does not resolve is passed on as cwd/bundle: berthd says what is wrong. */
                p = realpath(bundle, NULL);
                if (!p) {
                        cwd = getcwd(NULL, 0);
                        if (!cwd)
                                return -errno;
                        if (asprintf(&p, "%s/%s", cwd, bundle) < 0)
                                p = NULL;
                }
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

#define CREATE_OPTIONS_HELP                                                                             \
        "      --runtime=NAME        OCI runtime: a name on PATH or an absolute path (default runc)\n"  \
        "      --runtime-arg=ARG     Extra global argument for the runtime (repeatable)\n"              \
        "  -l, --label=KEY=VALUE     Attach a label (repeatable)\n"                                     \
        "      --log-driver=DRIVER   Where output goes: file (default), journald or none\n"             \
        "      --log-path=PATH       The CRI log file (default: under berthd's log directory)\n"        \
        "      --log-max-size=SIZE   Rotate the log file at SIZE bytes (K, M, G suffixes)\n"            \
        "      --no-pivot            Do not use pivot_root (for a rootfs on a ramdisk)\n"               \
        "  -h, --help                Show this help\n"

enum {
        ARG_RUNTIME = CTL_ARG_FIRST,
        ARG_RUNTIME_ARG,
        ARG_LOG_DRIVER,
        ARG_LOG_PATH,
        ARG_LOG_MAX_SIZE,
        ARG_NO_PIVOT,
        ARG_RM,
};

static const struct option create_long_options[] = {
        { "runtime",      required_argument, NULL, ARG_RUNTIME      },
        { "runtime-arg",  required_argument, NULL, ARG_RUNTIME_ARG  },
        { "label",        required_argument, NULL, 'l'              },
        { "log-driver",   required_argument, NULL, ARG_LOG_DRIVER   },
        { "log-path",     required_argument, NULL, ARG_LOG_PATH     },
        { "log-max-size", required_argument, NULL, ARG_LOG_MAX_SIZE },
        { "no-pivot",     no_argument,       NULL, ARG_NO_PIVOT     },
        { "rm",           no_argument,       NULL, ARG_RM           },
        { "detach",       no_argument,       NULL, 'd'              },
        { "tty",          no_argument,       NULL, 't'              },
        { "interactive",  no_argument,       NULL, 'i'              },
        CTL_OPTION_HELP,
        {}
};

/* The options only "run" has, by name; NULL for the others. */
static const char *run_only_option(int option) {
        switch (option) {
        case ARG_RM:
                return "--rm";
        case 'd':
                return "-d/--detach";
        case 't':
                return "-t/--tty";
        case 'i':
                return "-i/--interactive";
        default:
                return NULL;
        }
}

/* Options that take a string which must not be empty; the usage error when it is. */
static int set_string(const char **field, const char *arg, const char *error) {
        if (isempty(arg))
                return ctl_usage_error("%s", error);
        *field = arg;
        return 0;
}

static int create_option(int option, const char *arg, void *userdata) {
        CreateOptions *o = userdata;
        int r;

        if (!o->run && run_only_option(option))
                return ctl_usage_error("Option '%s' is only valid for 'run'", run_only_option(option));
        switch (option) {
        case ARG_RUNTIME:
                return set_string(&o->runtime, arg, "--runtime needs a name or path");
        case ARG_RUNTIME_ARG:
                if (ctl_strv_push(&o->runtime_args, arg) < 0)
                        return ctl_error_errno(ENOMEM, "Out of memory.");
                return 0;
        case 'l':
                r = labels_set(&o->labels, arg);
                if (r == -ENOMEM)
                        return ctl_error_errno(r, "Out of memory.");
                if (r < 0)
                        return ctl_usage_error("Invalid label '%s': expected KEY=VALUE", arg);
                return 0;
        case ARG_LOG_DRIVER:
                return set_string(&o->log_driver, arg, "--log-driver needs a driver name");
        case ARG_LOG_PATH:
                return set_string(&o->log_path, arg, "--log-path needs a path");
        case ARG_LOG_MAX_SIZE:
                if (ctl_parse_size(arg, &o->log_max_size) < 0)
                        return ctl_usage_error("Invalid size '%s'", arg);
                o->log_max_size_set = true;
                return 0;
        case ARG_NO_PIVOT:
                o->no_pivot_root = true;
                return 0;
        case ARG_RM:
                o->remove = true;
                return 0;
        case 'd':
                o->detach = true;
                return 0;
        case 't':
        case 'i':
                return ctl_error_errno(EOPNOTSUPP, "-t/--tty and -i/--interactive are not supported yet");
        default:
                return ctl_usage_error("Cannot parse options");
        }
}

#define CREATE_HELP                                                                     \
        "Usage: berthctl create [OPTIONS] ID BUNDLE\n"                                   \
        "\n"                                                                             \
        "Create a container from the OCI bundle directory BUNDLE; 'start' starts it.\n"   \
        "\n"                                                                             \
        "Options:\n"                                                                     \
        CREATE_OPTIONS_HELP

#define RUN_HELP                                                                        \
        "Usage: berthctl run [OPTIONS] ID BUNDLE\n"                                      \
        "\n"                                                                             \
        "Create and start a container from the OCI bundle directory BUNDLE. In the\n"    \
        "foreground (the default) print its output until it stops and exit with its\n"   \
        "exit status.\n"                                                                 \
        "\n"                                                                             \
        "Options:\n"                                                                     \
        "      --rm                  Delete the container once it has stopped\n"         \
        "  -d, --detach              Start it and print its id, without waiting\n"       \
        CREATE_OPTIONS_HELP

/* Returns 1 to go on; otherwise what the command returns (0 after --help, CTL_EXIT_USAGE, < 0). */
static int create_parse_argv(int argc, char *argv[], bool run, CreateOptions *o) {
        const CtlOptions options = {
                /* "+": options end at the id, so whatever follows the bundle stays for later uses. */
                .short_options = "+hl:dti",
                .long_options = create_long_options,
                .help = run ? RUN_HELP : CREATE_HELP,
                .handle = create_option,
                .min_operands = 2,
                .max_operands = 2,
                .operands_error = run ? "'run' needs an ID and a BUNDLE"
                                      : "'create' needs an ID and a BUNDLE",
        };
        int r;

        o->run = run;
        r = ctl_parse_options(argc, argv, &options, o);
        if (r != 1)
                return r;
        if (o->remove && o->detach)
                return ctl_usage_error("--rm cannot be combined with -d: nobody would be left to delete it");
        o->id = argv[optind];
        r = make_bundle_absolute(argv[optind + 1], &o->bundle);
        if (r < 0)
                return ctl_error_errno(r, "Failed to make bundle path '%s' absolute: %m", argv[optind + 1]);
        return 1;
}

/* Opens the dict entry of option @name, holding a variant of @signature; option_close() ends it. */
static int option_open(sd_bus_message *m, const char *name, const char *signature) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(m, 's', name);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(m, 'v', signature);
}

static int option_close(sd_bus_message *m) {
        int r;

        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int append_option(sd_bus_message *m, const char *name, const char *signature, ...) {
        va_list ap;
        int r;

        r = option_open(m, name, signature);
        if (r < 0)
                return r;
        va_start(ap, signature);
        r = sd_bus_message_appendv(m, signature, ap);
        va_end(ap);
        if (r < 0)
                return r;
        return option_close(m);
}

static int append_labels(sd_bus_message *m, char **labels) {
        int r;

        r = option_open(m, "Labels", "a{ss}");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char **i = labels; i && *i; i += 2) {
                r = sd_bus_message_append(m, "{ss}", i[0], i[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return option_close(m);
}

static int append_runtime_args(sd_bus_message *m, char **args) {
        int r;

        r = option_open(m, "RuntimeArgs", "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, args);
        if (r < 0)
                return r;
        return option_close(m);
}

static int append_create_options(sd_bus_message *m, const CreateOptions *o) {
        int r;

        r = sd_bus_message_append(m, "ss", o->id, o->bundle);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        if (o->runtime && (r = append_option(m, "Runtime", "s", o->runtime)) < 0)
                return r;
        if (o->runtime_args && (r = append_runtime_args(m, o->runtime_args)) < 0)
                return r;
        if (o->labels && (r = append_labels(m, o->labels)) < 0)
                return r;
        if (o->log_driver && (r = append_option(m, "LogDriver", "s", o->log_driver)) < 0)
                return r;
        if (o->log_path && (r = append_option(m, "LogPath", "s", o->log_path)) < 0)
                return r;
        if (o->log_max_size_set && (r = append_option(m, "LogMaxSize", "t", o->log_max_size)) < 0)
                return r;
        if (o->no_pivot_root && (r = append_option(m, "NoPivotRoot", "b", 1)) < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int create_container(sd_bus *bus, const CreateOptions *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = ctl_new_call(bus, "CreateContainer", &m);
        if (r < 0)
                return r;
        r = append_create_options(m, o);
        if (r < 0)
                return ctl_error_errno(r, "Failed to build CreateContainer call: %m");
        return ctl_call_message(bus, m, CTL_TIMEOUT_LONG, NULL);
}

/**
 * ctl_cmd_create() - "berthctl create [OPTIONS] ID BUNDLE".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Return: exit status, or a negative errno (printed).
 */
int ctl_cmd_create(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(create_options_done) CreateOptions o = {};
        int r;

        r = create_parse_argv(argc, argv, false, &o);
        if (r != 1)
                return r;
        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        r = create_container(bus, &o);
        return r < 0 ? r : 0;
}

/* Deletes a container run with --rm; an error is printed but changes nothing else. */
static void run_remove(sd_bus *bus, const char *id) {
        (void) ctl_call(bus, "DeleteContainer", CTL_TIMEOUT_LONG, NULL, "sb", id, 1);
}

/**
 * ctl_cmd_run() - "berthctl run [--rm] [-d] [OPTIONS] ID BUNDLE".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Creates the container, then starts it. With -d prints the id and returns. Otherwise follows its
 * log until WaitContainer replies (SIGINT, SIGTERM and SIGHUP are forwarded to the container),
 * prints the rest of the log, deletes the container with --rm, and returns its exit status.
 *
 * Return: the container's exit status, 0 with -d, or a negative errno (printed).
 */
int ctl_cmd_run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(create_options_done) CreateOptions o = {};
        _cleanup_(ctl_container_done) CtlContainer c = { .exit_status = -1 };
        const CtlLogOptions log_options = { .tail = -1 };
        int r, status = 0;

        r = create_parse_argv(argc, argv, true, &o);
        if (r != 1)
                return r;
        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        r = create_container(bus, &o);
        if (r < 0)
                return r;

        if (!o.detach) {
                r = ctl_container_get(bus, o.id, &c);
                if (r < 0)
                        goto fail;
        }

        r = ctl_call(bus, "StartContainer", CTL_TIMEOUT_LONG, NULL, "s", o.id);
        if (r < 0)
                goto fail;

        if (o.detach) {
                printf("%s\n", o.id);
                return 0;
        }

        r = ctl_logs_follow(bus, o.id, c.log_path, &log_options, true, &status);
        if (r < 0)
                return r;
        if (o.remove)
                run_remove(bus, o.id);
        return status < 0 || status > 255 ? 255 : status;

fail:
        if (o.remove)
                run_remove(bus, o.id);
        return r;
}
