/* "berthctl exec": run one more process in a running container. Its stdout and stderr are
 * berthctl's own (passed to berthd as fds), it waits for the process to end, forwarding SIGINT,
 * SIGTERM and SIGHUP to it, removes it and exits with its status; with -d it prints the exec id
 * and leaves the process running. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "ctl-bus-error.h"
#include "ctl-bus.h"
#include "ctl-util.h"
#include "ctl.h"
#include "fd-util.h"
#include "path-util.h"

#define CTL_PROCESS_INTERFACE "org.berth.Process1"

typedef struct ExecArgs {
        char **env;
        const char *user;
        const char *cwd;
        const char *exec_id;
        bool detach;
        const char *id;
        char **command;
} ExecArgs;

enum {
        ARG_ID = CTL_ARG_FIRST,
};

static const struct option exec_options[] = {
        CTL_OPTION_HELP,
        { "env", required_argument, NULL, 'e' },
        { "user", required_argument, NULL, 'u' },
        { "workdir", required_argument, NULL, 'w' },
        { "detach", no_argument, NULL, 'd' },
        { "id", required_argument, NULL, ARG_ID },
        {}
};

static const char exec_help[] =
        "Usage: berthctl exec [OPTIONS] ID COMMAND [ARG...]\n\n"
        "Run a command in a running container and exit with its status. Its output is berthctl's;\n"
        "what is not given is the container's own (environment, user, working directory).\n\n"
        "  -e, --env=NAME=VALUE   Set an environment variable (repeatable)\n"
        "  -u, --user=UID[:GID]   Run as this numeric user and group\n"
        "  -w, --workdir=DIR      Run in this directory (absolute)\n"
        "  -d, --detach           Leave it running, print its exec id\n"
        "      --id=EXEC_ID       Name the process (default: a random one)\n";

static int exec_handle(int option, const char *arg, void *userdata) {
        ExecArgs *a = userdata;

        switch (option) {
        case 'e':
                if (!strchr(arg, '=') || arg[0] == '=')
                        return ctl_usage_error("Invalid environment variable '%s': use NAME=VALUE.", arg);
                return ctl_strv_push(&a->env, arg) < 0 ? ctl_error_errno(ENOMEM, "Out of memory.") : 0;
        case 'u':
                a->user = arg;
                return 0;
        case 'w':
                if (!path_is_absolute(arg))
                        return ctl_usage_error("The working directory '%s' must be absolute.", arg);
                a->cwd = arg;
                return 0;
        case 'd':
                a->detach = true;
                return 0;
        case ARG_ID:
                if (!container_id_is_valid(arg))
                        return ctl_usage_error("Invalid exec id '%s'.", arg);
                a->exec_id = arg;
                return 0;
        }
        return -EINVAL;
}

static int parse_user(const char *s, json_object **ret) {
        _cleanup_json_ json_object *user = json_object_new_object();
        uint64_t uid, gid = UINT64_MAX;
        _cleanup_free_ char *copy = strdup(s);
        char *colon;

        if (!user || !copy)
                return -ENOMEM;
        colon = strchr(copy, ':');
        if (colon)
                *colon = 0;
        if (ctl_parse_unsigned(copy, &uid) < 0 || uid > UINT32_MAX ||
            (colon && (ctl_parse_unsigned(colon + 1, &gid) < 0 || gid > UINT32_MAX)))
                return ctl_usage_error("Invalid user '%s': use a numeric UID[:GID].", s);
        json_object_object_add(user, "uid", json_object_new_int64((int64_t) uid));
        json_object_object_add(user, "gid", json_object_new_int64(gid == UINT64_MAX ? (int64_t) uid : (int64_t) gid));
        *ret = TAKE_PTR(user);
        return 0;
}

static json_object *strv_to_json(char **l) {
        _cleanup_json_ json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        STRV_FOREACH(s, l)
                if (json_object_array_add(a, json_object_new_string(*s)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

/* The OCI process object berthd completes from the container's own. */
static int build_process(const ExecArgs *a, char **ret) {
        _cleanup_json_ json_object *p = json_object_new_object(), *user = NULL;
        json_object *args;
        int r;

        if (!p)
                return -ENOMEM;
        args = strv_to_json(a->command);
        if (!args || json_object_object_add(p, "args", args) < 0)
                return -ENOMEM;
        if (a->env && json_object_object_add(p, "env", strv_to_json(a->env)) < 0)
                return -ENOMEM;
        if (a->cwd && json_object_object_add(p, "cwd", json_object_new_string(a->cwd)) < 0)
                return -ENOMEM;
        if (a->user) {
                r = parse_user(a->user, &user);
                if (r != 0)
                        return r;
                if (json_object_object_add(p, "user", TAKE_PTR(user)) < 0)
                        return -ENOMEM;
        }
        *ret = strdup(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
        return *ret ? 0 : -ENOMEM;
}

typedef struct ExecWait {
        sd_bus *bus;
        const char *path;
        int status;
        bool done;
} ExecWait;

static int on_wait_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        ExecWait *w = userdata;
        int32_t status;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL))
                r = ctl_bus_error(w->bus, sd_bus_message_get_error(reply), -EIO, "Wait", NULL);
        else
                r = sd_bus_message_read(reply, "i", &status);
        w->status = r < 0 ? r : status;
        w->done = true;
        return sd_event_exit(sd_bus_get_event(w->bus), 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        ExecWait *w = userdata;

        /* Forwarded: the process decides what the signal means. */
        (void) sd_bus_call_method_async(w->bus, NULL, CTL_BUS_NAME, w->path, CTL_PROCESS_INTERFACE, "Kill", NULL,
                                        NULL, "i", (int32_t) si->ssi_signo);
        return 0;
}

/* Waits for the process at @path to end, forwarding signals; returns its status or -errno. */
static int exec_wait(sd_bus *bus, const char *path) {
        static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        ExecWait w = { .bus = bus, .path = path };
        sigset_t mask;
        int r;

        r = sd_event_default(&event);
        if (r < 0)
                return ctl_error_errno(r, "Failed to set up an event loop: %m");
        (void) sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++) {
                (void) sigaddset(&mask, forwarded[i]);
                (void) sigprocmask(SIG_BLOCK, &mask, NULL);
                r = sd_event_add_signal(event, NULL, forwarded[i], on_signal, &w);
                if (r < 0)
                        return ctl_error_errno(r, "Failed to watch signals: %m");
        }
        r = sd_bus_attach_event(bus, event, 0);
        if (r < 0)
                return ctl_error_errno(r, "Failed to attach the bus: %m");
        r = sd_bus_call_method_async(bus, &slot, CTL_BUS_NAME, path, CTL_PROCESS_INTERFACE, "Wait", on_wait_reply,
                                     &w, NULL);
        if (r < 0)
                return ctl_error_errno(r, "Failed to wait for the process: %m");
        r = sd_event_loop(event);
        (void) sd_bus_detach_event(bus);
        if (r < 0)
                return ctl_error_errno(r, "Event loop failed: %m");
        return w.status;
}

static int exec_id_new(char buf[static 32]) {
        uint32_t rnd;

        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                rnd = (uint32_t) getpid() ^ (uint32_t) now_usec(CLOCK_MONOTONIC);
        (void) snprintf(buf, 32, "exec-%08x", rnd);
        return 0;
}

static int exec_call(sd_bus *bus, const ExecArgs *a, const char *json, char **ret_path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path;
        int r;

        r = ctl_new_call(bus, "ExecProcess", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", a->id, a->exec_id, json);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && !a->detach)
                r = sd_bus_message_append(m, "{sv}{sv}", "Stdout", "h", STDOUT_FILENO, "Stderr", "h", STDERR_FILENO);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return ctl_error_errno(r, "Failed to build the call: %m");
        r = ctl_call_message(bus, m, CTL_TIMEOUT_LONG, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return ctl_error_errno(r, "Bad reply from berthd: %m");
        *ret_path = strdup(path);
        return *ret_path ? 0 : -ENOMEM;
}

/**
 * ctl_cmd_exec() - "berthctl exec [OPTIONS] ID COMMAND [ARG...]"
 * @argc: argument count
 * @argv: arguments, argv[0] being the command
 *
 * Return: the process's exit status, 0 with -d, or a negative errno (printed).
 */
int ctl_cmd_exec(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *json = NULL, *path = NULL;
        ExecArgs a = {};
        const CtlOptions options = {
                .short_options = "+he:u:w:d",
                .long_options = exec_options,
                .help = exec_help,
                .handle = exec_handle,
                .min_operands = 2,
                .max_operands = -1,
                .operands_error = "Expected a container ID and a command.",
        };
        char id_buf[32];
        int r, status;

        r = ctl_parse_options(argc, argv, &options, &a);
        env = a.env;
        if (r != 1)
                return r;
        a.id = argv[optind];
        a.command = argv + optind + 1;
        if (!a.exec_id) {
                (void) exec_id_new(id_buf);
                a.exec_id = id_buf;
        }
        r = build_process(&a, &json);
        if (r != 0)
                return r < 0 ? ctl_error_errno(r, "Failed to build the process: %m") : r;

        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        r = exec_call(bus, &a, json, &path);
        if (r < 0)
                return r;
        if (a.detach) {
                printf("%s\n", a.exec_id);
                return 0;
        }

        status = exec_wait(bus, path);
        /* Gone with it: nothing of a finished exec stays behind, as with podman. */
        r = ctl_call(bus, "DeleteProcess", CTL_TIMEOUT_LONG, NULL, "ss", a.id, a.exec_id);
        if (status < 0)
                return status;
        if (r < 0)
                return r;
        return status > 255 ? 255 : status;
}
