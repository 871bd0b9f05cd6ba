/* The org.berth.Error.* names as an sd-bus error map. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "berth-error.h"

extern const sd_bus_error_map berth_error_map[];

/* Registers berth_error_map with sd-bus, so sd_bus_error_get_errno() knows our names. */
int berth_error_map_register(void);

/* Whether @error (negative errno) means berth ran out of something: fds, memory, disk, processes. */
bool errno_is_resource(int error);

/* For an internal failure @error (negative errno) of a call: out of fds, memory, disk or processes
 * sets org.berth.Error.LimitReached with "<message>: <strerror>" and returns its errno; any other
 * error is returned unchanged with @e untouched (sd-bus then answers with a generic error). */
int bus_error_set_limit(sd_bus_error *e, int error, const char *format, ...) _printf_(3, 4);
