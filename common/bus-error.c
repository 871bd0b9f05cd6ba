/* The org.berth.Error.* D-Bus error names and the errno each maps to.
 *
 * Registered with sd-bus so that sd_bus_error_get_errno() (and thus every client using sd-bus)
 * turns our names back into meaningful errno values, and so that sd_bus_error_set_errno() with a
 * name from this table round-trips. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/**
 * errno_is_resource() - whether an error means a resource ran out
 * @error: a negative errno
 */
bool errno_is_resource(int error) {
        return IN_SET(-error, EMFILE, ENFILE, ENOSPC, EDQUOT, ENOMEM, ENOBUFS, EAGAIN, EUSERS);
}

/**
 * bus_error_set_limit() - report running out of a resource as LimitReached
 * @e: the error to set
 * @error: the failure, a negative errno
 * @format: what failed, printf-style
 *
 * Return: a negative errno; @e is set only for resource errors.
 */
int bus_error_set_limit(sd_bus_error *e, int error, const char *format, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;
        int k;

        if (!errno_is_resource(error))
                return error;

        va_start(ap, format);
        k = vasprintf(&what, format, ap);
        va_end(ap);
        if (k < 0)
                return sd_bus_error_set_const(e, BERTH_ERROR_LIMIT_REACHED, "Out of memory.");
        return sd_bus_error_setf(e, BERTH_ERROR_LIMIT_REACHED, "%s: %s", what, strerror(-error));
}
