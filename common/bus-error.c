/* The org.berth.Error.* D-Bus error names and the errno each maps to.
 *
 * Registered with sd-bus so that sd_bus_error_get_errno() (and thus every client using sd-bus)
 * turns our names back into meaningful errno values, and so that sd_bus_error_set_errno() with a
 * name from this table round-trips. */

#include <errno.h>

#include "bus-error.h"

#define ERROR_MAP_ENTRY(name, errno_value) SD_BUS_ERROR_MAP(name, errno_value),
const sd_bus_error_map berth_error_map[] = {
        BERTH_ERROR_LIST(ERROR_MAP_ENTRY)
        SD_BUS_ERROR_MAP_END,
};
#undef ERROR_MAP_ENTRY

/**
 * berth_error_map_register() - make sd-bus aware of berth_error_map
 *
 * Safe to call more than once.
 *
 * Return: 0 or a negative errno.
 */
int berth_error_map_register(void) {
        int r;

        r = sd_bus_error_add_map(berth_error_map);
        return r < 0 ? r : 0;
}
