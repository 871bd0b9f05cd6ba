/* berthctl's "version" command: the versions of berthctl and of the berthd it talks to. */

#include <getopt.h>

#include "ctl-bus-error.h"
#include "ctl-bus.h"
#include "ctl-util.h"
#include "ctl.h"

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
        static const CtlOptions options = {
                .short_options = "h",
                .long_options = ctl_json_options,
                .help = "Usage: berthctl version [--json]\n"
                        "\n"
                        "Show the versions of berthctl and berthd.\n",
                .handle = ctl_handle_json,
                .min_operands = 0,
                .max_operands = 0,
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *server = NULL;
        bool json = false;
        int r;

        r = ctl_parse_options(argc, argv, &options, &json);
        if (r != 1)
                return r;

        r = ctl_bus_connect(&bus);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE, "Version",
                                       &error, &server);
        if (r < 0)
                return ctl_bus_error(bus, &error, r, "Version", NULL);

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
