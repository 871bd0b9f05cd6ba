/* berthctl, the command line client of berth: what its three files share.
 *
 * berthctl.c holds main(), the global options and the client plumbing every command uses (bus
 * connection, method calls, error printing, container properties, small parsers); ctl-commands.c
 * holds one function per command; ctl-logs.c reads and follows the CRI log files of containers
 * and holds the "logs" command.
 *
 * Conventions: a command returns the process exit status (>= 0) or a negative errno after it has
 * printed its one-line error; main() turns negative values into exit status 1. Usage errors are
 * printed by ctl_usage_error(), which returns CTL_EXIT_USAGE. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define CTL_BUS_NAME          "org.berth.Monitor1"
#define CTL_MANAGER_PATH      "/org/berth/Monitor1"
#define CTL_MANAGER_INTERFACE "org.berth.Monitor1"
#define CTL_CONTAINER_INTERFACE "org.berth.Container1"

#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE   2

/* Method call timeouts. sd_bus_call() takes 0 as "the default" (25 s) and UINT64_MAX as "none". */
#define CTL_TIMEOUT_DEFAULT  ((uint64_t) 0)
#define CTL_TIMEOUT_LONG     ((uint64_t) (120 * USEC_PER_SEC))
#define CTL_TIMEOUT_INFINITE UINT64_MAX

/* Global options (set by main() before any command runs). */
extern bool arg_debug;

/* What berthctl knows about one container: the org.berth.Container1 properties. */
typedef struct CtlContainer {
        char *path;             /* object path */
        char *id;
        char *bundle;
        char *runtime;
        char *state;
        uint32_t pid;
        uint32_t shim_pid;
        int32_t exit_status;
        char *exit_reason;
        bool oom_killed;
        uint64_t created_at;    /* µs, CLOCK_REALTIME, 0 when unknown */
        uint64_t started_at;
        uint64_t finished_at;
        char **labels;          /* key, value, key, value, ..., NULL */
        bool terminal;
        char *log_path;         /* "" without a log file */
} CtlContainer;

void ctl_container_done(CtlContainer *c);

/* Errors and output. */
int ctl_error_errno(int error, const char *format, ...) _printf_(2, 3);
#define ctl_error(...) ctl_error_errno(EIO, __VA_ARGS__)
int ctl_usage_error(const char *format, ...) _printf_(1, 2);
int ctl_usage_hint(void);
int ctl_bus_error(const sd_bus_error *error, int r, const char *context);
int ctl_write_all(int fd, const void *data, size_t size);

/* The bus and method calls on the manager. */
int ctl_bus_connect(sd_bus **ret);
int ctl_new_call(sd_bus *bus, const char *method, sd_bus_message **ret);
int ctl_call_message(sd_bus *bus, sd_bus_message *m, uint64_t timeout, sd_bus_message **ret_reply);
int ctl_call(sd_bus *bus, const char *method, uint64_t timeout, sd_bus_message **ret_reply,
             const char *types, ...);
bool ctl_bus_error_is_transient(const sd_bus_error *error);
int ctl_container_get(sd_bus *bus, const char *id, CtlContainer *ret);

/* Parsers and formatters. */
int ctl_parse_signal(const char *s, int *ret);
int ctl_parse_label(const char *s, char **ret_key, char **ret_value);
int ctl_parse_unsigned(const char *s, uint64_t *ret);
int ctl_format_time(uint64_t usec, char *buf, size_t size);
int ctl_print_json(json_object *j);

/* Commands (ctl-commands.c, "logs" in ctl-logs.c); argv[0] is "berthctl COMMAND". */
int ctl_cmd_create(int argc, char *argv[]);
int ctl_cmd_run(int argc, char *argv[]);
int ctl_cmd_start(int argc, char *argv[]);
int ctl_cmd_kill(int argc, char *argv[]);
int ctl_cmd_rm(int argc, char *argv[]);
int ctl_cmd_wait(int argc, char *argv[]);
int ctl_cmd_pause(int argc, char *argv[]);
int ctl_cmd_resume(int argc, char *argv[]);
int ctl_cmd_ps(int argc, char *argv[]);
int ctl_cmd_inspect(int argc, char *argv[]);
int ctl_cmd_logs(int argc, char *argv[]);
int ctl_cmd_version(int argc, char *argv[]);

/* Logs (ctl-logs.c). */
typedef struct CtlLogOptions {
        bool timestamps;        /* prefix every line with its record's timestamp */
        int64_t tail;           /* only the last N lines; -1 for all */
} CtlLogOptions;

int ctl_logs_follow(sd_bus *bus, const char *id, const char *path, const CtlLogOptions *options,
                    bool forward_signals, int *ret_status);
