/* The org.berth.Error.* names as an sd-bus error map. */
#pragma once

#include <systemd/sd-bus.h>

#include "berth-error.h"

extern const sd_bus_error_map berth_error_map[];

/* Registers berth_error_map with sd-bus, so sd_bus_error_get_errno() knows our names. */
int berth_error_map_register(void);
