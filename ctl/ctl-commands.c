/* berthctl's commands: one ctl_cmd_*() per command, each parsing its own options with getopt_long()
 * (argv[0] is "berthctl COMMAND"), connecting to the bus only once its arguments are good, and
 * returning the exit status or a negative errno after printing its error (see ctl.h).
 *
 * Output formats: "ps" prints a table (ID, STATE, PID, EXIT, BUNDLE), ids only with -q, or a JSON
 * array with --json; "inspect" always prints one JSON object; "wait" prints the exit status;
 * "run -d" prints the id; the other commands print nothing on success. "logs" is in ctl-logs.c. */

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <time.h>

#include "ctl.h"
#include "fd-util.h"
#include "path-util.h"

/* ---- create and run -------------------------------------------------------------------------- */

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
        const char *id;
        char *bundle;           /* absolute */
} CreateOptions;

static void create_options_done(CreateOptions *o) {
        strv_free(o->runtime_args);
        strv_free(o->labels);
        free(o->bundle);
}

static int strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **nl, *copy;

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(copy);
                return -ENOMEM;
        }
        nl[n] = copy;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
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
        r = strv_push(labels, k);
        if (r < 0)
                return r;
        return strv_push(labels, v);
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

static void create_help(bool run) {
        if (run)
                printf("Usage: berthctl run [OPTIONS] ID BUNDLE\n"
                       "\n"
                       "Create and start a container from the OCI bundle directory BUNDLE. In the\n"
                       "foreground (the default) print its output until it stops and exit with its\n"
                       "exit status.\n"
                       "\n"
                       "Options:\n"
                       "      --rm                  Delete the container once it has stopped\n"
                       "  -d, --detach              Start it and print its id, without waiting\n");
        else
                printf("Usage: berthctl create [OPTIONS] ID BUNDLE\n"
                       "\n"
                       "Create a container from the OCI bundle directory BUNDLE; 'start' starts it.\n"
                       "\n"
                       "Options:\n");
        printf("      --runtime=NAME        OCI runtime: a name on PATH or an absolute path (default runc)\n"
               "      --runtime-arg=ARG     Extra global argument for the runtime (repeatable)\n"
               "  -l, --label=KEY=VALUE     Attach a label (repeatable)\n"
               "      --log-driver=DRIVER   Where output goes: file (default), journald or none\n"
               "      --log-path=PATH       The CRI log file (default: under berthd's log directory)\n"
               "      --log-max-size=SIZE   Rotate the log file at SIZE bytes (K, M, G suffixes)\n"
               "      --no-pivot            Do not use pivot_root (for a rootfs on a ramdisk)\n"
               "  -h, --help                Show this help\n");
}

static int parse_size(const char *s, uint64_t *ret) {
        static const struct { char suffix; uint64_t factor; } suffixes[] = {
                { 'K', 1ULL << 10 }, { 'M', 1ULL << 20 }, { 'G', 1ULL << 30 },
        };
        _cleanup_free_ char *digits = NULL;
        uint64_t factor = 1, v;
        size_t n = strlen(s);
        int r;

        for (size_t i = 0; n > 1 && i < ELEMENTSOF(suffixes); i++)
                if (s[n - 1] == suffixes[i].suffix || s[n - 1] == suffixes[i].suffix + 'a' - 'A') {
                        factor = suffixes[i].factor;
                        n--;
                }
        digits = strndup(s, n);
        if (!digits)
                return -ENOMEM;
        r = ctl_parse_unsigned(digits, &v);
        if (r < 0)
                return r;
        if (v > UINT64_MAX / factor)
                return -ERANGE;
        *ret = v * factor;
        return 0;
}

enum {
        ARG_RUNTIME = 0x100,
        ARG_RUNTIME_ARG,
        ARG_LOG_DRIVER,
        ARG_LOG_PATH,
        ARG_LOG_MAX_SIZE,
        ARG_NO_PIVOT,
        ARG_RM,
        ARG_JSON,
};

/* Returns 1 to go on; otherwise what the command returns (0 after --help, CTL_EXIT_USAGE, < 0). */
static int create_parse_argv(int argc, char *argv[], bool run, CreateOptions *o) {
        static const struct option options[] = {
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
                { "help",         no_argument,       NULL, 'h'              },
                {}
        };
        int c, r;

        /* "+": options end at the id, so whatever follows the bundle stays for later uses. */
        while ((c = getopt_long(argc, argv, "+hl:dti", options, NULL)) >= 0) {
                if (!run && (c == ARG_RM || c == 'd' || c == 't' || c == 'i'))
                        return ctl_usage_error("Option '%s' is only valid for 'run'", argv[optind - 1]);
                switch (c) {
                case ARG_RUNTIME:
                        if (isempty(optarg))
                                return ctl_usage_error("--runtime needs a name or path");
                        o->runtime = optarg;
                        break;
                case ARG_RUNTIME_ARG:
                        if (strv_push(&o->runtime_args, optarg) < 0)
                                return ctl_error_errno(ENOMEM, "Out of memory.");
                        break;
                case 'l':
                        r = labels_set(&o->labels, optarg);
                        if (r == -ENOMEM)
                                return ctl_error_errno(r, "Out of memory.");
                        if (r < 0)
                                return ctl_usage_error("Invalid label '%s': expected KEY=VALUE", optarg);
                        break;
                case ARG_LOG_DRIVER:
                        if (isempty(optarg))
                                return ctl_usage_error("--log-driver needs a driver name");
                        o->log_driver = optarg;
                        break;
                case ARG_LOG_PATH:
                        if (isempty(optarg))
                                return ctl_usage_error("--log-path needs a path");
                        o->log_path = optarg;
                        break;
                case ARG_LOG_MAX_SIZE:
                        if (parse_size(optarg, &o->log_max_size) < 0)
                                return ctl_usage_error("Invalid size '%s'", optarg);
                        o->log_max_size_set = true;
                        break;
                case ARG_NO_PIVOT:
                        o->no_pivot_root = true;
                        break;
                case ARG_RM:
                        o->remove = true;
                        break;
                case 'd':
                        o->detach = true;
                        break;
                case 't':
                case 'i':
                        return ctl_error_errno(EOPNOTSUPP,
                                               "-t/--tty and -i/--interactive are not supported yet");
                case 'h':
                        create_help(run);
                        return 0;
                case '?':
                        return ctl_usage_hint();
                default:
                        return ctl_usage_error("Cannot parse options");
                }
        }

        if (argc - optind != 2)
                return ctl_usage_error("'%s' needs an ID and a BUNDLE", run ? "run" : "create");
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

/* ---- commands on ids ------------------------------------------------------------------------- */

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

/* ---- ps ---------------------------------------------------------------------------------------- */

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
        static const struct option options[] = {
                { "all",   no_argument, NULL, 'a'      },
                { "quiet", no_argument, NULL, 'q'      },
                { "json",  no_argument, NULL, ARG_JSON },
                { "help",  no_argument, NULL, 'h'      },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ ListEntry *entries = NULL;
        bool all = false, quiet = false, json = false;
        size_t n;
        int c, r;

        while ((c = getopt_long(argc, argv, "aqh", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case 'h':
                        printf("Usage: berthctl ps [OPTIONS]\n"
                               "\n"
                               "List containers that have not stopped (all of them with -a).\n"
                               "\n"
                               "Options:\n"
                               "  -a, --all     Also list stopped containers\n"
                               "  -q, --quiet   Print only the ids\n"
                               "      --json    Print a JSON array of objects (id, state, bundle, pid,\n"
                               "                exit_status, path)\n"
                               "  -h, --help    Show this help\n");
                        return 0;
                case '?':
                        return ctl_usage_hint();
                default:
                        return ctl_usage_error("Cannot parse options");
                }
        if (optind < argc)
                return ctl_usage_error("Too many arguments");

        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        r = ctl_call(bus, "ListContainers", CTL_TIMEOUT_DEFAULT, &reply, "");
        if (r < 0)
                return r;
        r = list_read(reply, all, &entries, &n);
        if (r < 0)
                return ctl_error_errno(r, "Failed to parse ListContainers reply: %m");

        if (json)
                return ps_print_json(entries, n);
        if (quiet) {
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
        static const struct option options[] = {
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h'      },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_container_done) CtlContainer c = { .exit_status = -1 };
        _cleanup_json_ json_object *o = NULL;
        int ch, r;

        while ((ch = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (ch) {
                case ARG_JSON:
                        break;
                case 'h':
                        printf("Usage: berthctl inspect [--json] ID\n"
                               "\n"
                               "Print one JSON object with everything berthd knows about a container:\n"
                               "id, path, state, bundle, runtime, pid, shim_pid, exit_status, exit_reason,\n"
                               "oom_killed, created_at, started_at, finished_at (µs since the epoch, 0 if\n"
                               "unknown), created_time, started_time, finished_time (RFC 3339 or null),\n"
                               "labels, terminal, log_path.\n");
                        return 0;
                case '?':
                        return ctl_usage_hint();
                default:
                        return ctl_usage_error("Cannot parse options");
                }
        if (argc - optind != 1)
                return ctl_usage_error(optind >= argc ? "Missing container ID" : "Too many arguments");

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

/* ---- version ---------------------------------------------------------------------------------- */

/**
 * ctl_cmd_version() - "berthctl version [--json]".
 * @argc: argument count.
 * @argv: arguments, argv[0] being the command.
 *
 * Prints the version of berthctl and that of the berthd it talks to.
 *
 * Return: exit status, or a negative errno (printed).
 */
int ctl_cmd_version(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h'      },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *server = NULL;
        bool json = false;
        int ch, r;

        while ((ch = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (ch) {
                case ARG_JSON:
                        json = true;
                        break;
                case 'h':
                        printf("Usage: berthctl version [--json]\n"
                               "\n"
                               "Show the versions of berthctl and berthd.\n");
                        return 0;
                case '?':
                        return ctl_usage_hint();
                default:
                        return ctl_usage_error("Cannot parse options");
                }
        if (optind < argc)
                return ctl_usage_error("Too many arguments");

        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE, "Version",
                                       &error, &server);
        if (r < 0)
                return ctl_bus_error(&error, r, "Failed to read berthd's version");

        if (json) {
                _cleanup_json_ json_object *o = json_object_new_object();

                if (!o)
                        return ctl_error_errno(ENOMEM, "Out of memory.");
                json_object_object_add(o, "client", json_object_new_string(BERTH_VERSION));
                json_object_object_add(o, "server", json_object_new_string(server));
                return ctl_print_json(o);
        }
        printf("berthctl %s\nberthd %s\n", BERTH_VERSION, server);
        return 0;
}
