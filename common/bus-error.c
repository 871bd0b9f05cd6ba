/* The org.berth.Error.* D-Bus error names and the errno each maps to.
 *
 * Registered with sd-bus so that sd_bus_error_get_errno() (and thus every client using sd-bus)
 * turns our names back into meaningful errno values, and so that sd_bus_error_set_errno() with a
 * name from this table round-trips. */

#include <errno.h>

#include "bus-error.h"

const sd_bus_error_map berth_error_map[] = {
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_CONTAINER, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_CONTAINER_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_ID, EINVAL),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_BUNDLE, EINVAL),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_STATE, EBUSY),
        SD_BUS_ERROR_MAP(BERTH_ERROR_RUNTIME_FAILED, EIO),
        SD_BUS_ERROR_MAP(BERTH_ERROR_SHIM_FAILED, EPROTO),
        SD_BUS_ERROR_MAP(BERTH_ERROR_ACCESS_DENIED, EACCES),
        SD_BUS_ERROR_MAP(BERTH_ERROR_LIMIT_REACHED, ENOSPC),
        SD_BUS_ERROR_MAP(BERTH_ERROR_TIMEOUT, ETIMEDOUT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP_END,
};

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
