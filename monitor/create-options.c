/* CreateContainer's options (DESIGN.md): read by a table (bus-options.c) and checked before
 * anything is made; checking has no side effect, so it can be fuzzed (tests/fuzz). */

#include "berth-error.h"
#include "bus-options.h"
#include "caller-path.h"
#include "create-options.h"
#include "macro.h"

static const BusOption create_options_table[] = {
        { "Runtime", "s", offsetof(CreateOptions, runtime) },
        { "RuntimeArgs", "as", offsetof(CreateOptions, runtime_args) },
        { "Terminal", "b", offsetof(CreateOptions, terminal) },
        { "OpenStdin", "b", offsetof(CreateOptions, open_stdin) },
        { "Stdin", "h", offsetof(CreateOptions, stdio_fds[0]) },
        { "Stdout", "h", offsetof(CreateOptions, stdio_fds[1]) },
        { "Stderr", "h", offsetof(CreateOptions, stdio_fds[2]) },
        { "LogDriver", "s", offsetof(CreateOptions, log_driver) },
        { "LogPath", "s", offsetof(CreateOptions, log_path) },
        { "LogMaxSize", "t", offsetof(CreateOptions, log_max_size) },
        { "Labels", "a{ss}", offsetof(CreateOptions, labels) },
        { "RestoreFrom", "s", offsetof(CreateOptions, restore_from) },
        { "NoPivotRoot", "b", offsetof(CreateOptions, no_pivot_root) },
        { "Start", "b", offsetof(CreateOptions, start) },
        BUS_OPTIONS_END
};

/**
 * create_options_read() - read CreateContainer's a{sv} options
 * @message: the call, positioned at the options
 * @o: the options, initialized with CREATE_OPTIONS_NULL
 * @error: set to InvalidArgument for an unknown option or a wrong type
 */
int create_options_read(sd_bus_message *message, CreateOptions *o, sd_bus_error *error) {
        return bus_options_read(message, create_options_table, o, error);
}

/**
 * create_options_done() - free what create_options_read() read
 * @o: the options
 */
void create_options_done(CreateOptions *o) {
        bus_options_done(create_options_table, o);
}

/**
 * create_options_check() - check CreateContainer's options, without any side effect
 * @o: the options
 * @state_dir_fd: the state directory, where no LogPath may point
 * @ret_driver: the log driver
 * @error: set to InvalidArgument or NotSupported
 */
int create_options_check(const CreateOptions *o, int state_dir_fd, LogDriver *ret_driver, sd_bus_error *error) {
        LogDriver d = LOG_DRIVER_FILE;
        int r;

        if (o->restore_from)
                return sd_bus_error_setf(error, BERTH_ERROR_NOT_SUPPORTED, "RestoreFrom is not supported yet.");
        if (o->log_max_size > 0)
                return sd_bus_error_setf(error, BERTH_ERROR_NOT_SUPPORTED, "LogMaxSize is not supported yet.");
        if (o->log_driver) {
                d = log_driver_from_string(o->log_driver);
                if (d < 0)
                        return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                                 "Unknown log driver '%s' (known: file, journald, none).",
                                                 o->log_driver);
                if (d == LOG_DRIVER_JOURNALD)
                        return sd_bus_error_setf(error, BERTH_ERROR_NOT_SUPPORTED,
                                                 "Log driver 'journald' is not supported yet.");
        }
        if (o->log_path && d == LOG_DRIVER_NONE)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "LogPath makes no sense with log driver 'none'.");
        if (o->log_path) {
                /* Only checked here (the shim opens it, with the same checks): no shim is spawned
                 * for a path that would be refused. */
                r = log_path_open(o->log_path, state_dir_fd, 0, NULL);
                if (r < 0)
                        return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT, "LogPath '%s' %s.",
                                                 o->log_path, log_path_strerror(r));
        }
        if (o->runtime && isempty(o->runtime))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT, "Runtime must not be empty.");
        for (char **l = o->labels; l && *l; l++)
                if (isempty(*l) && (l - o->labels) % 2 == 0)
                        return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT, "Label keys must not be empty.");

        *ret_driver = d;
        return 0;
}
