/* The org.berth.Error.* names and their errno mapping. */
#pragma once

#include <systemd/sd-bus.h>

#define BERTH_ERROR_NO_SUCH_CONTAINER "org.berth.Error.NoSuchContainer"
#define BERTH_ERROR_CONTAINER_EXISTS  "org.berth.Error.ContainerExists"
#define BERTH_ERROR_INVALID_ID        "org.berth.Error.InvalidId"
#define BERTH_ERROR_INVALID_BUNDLE    "org.berth.Error.InvalidBundle"
#define BERTH_ERROR_INVALID_ARGUMENT  "org.berth.Error.InvalidArgument"
#define BERTH_ERROR_INVALID_STATE     "org.berth.Error.InvalidState"
#define BERTH_ERROR_RUNTIME_FAILED    "org.berth.Error.RuntimeFailed"
#define BERTH_ERROR_SHIM_FAILED       "org.berth.Error.ShimFailed"
#define BERTH_ERROR_ACCESS_DENIED     "org.berth.Error.AccessDenied"
#define BERTH_ERROR_LIMIT_REACHED     "org.berth.Error.LimitReached"
#define BERTH_ERROR_TIMEOUT           "org.berth.Error.Timeout"
#define BERTH_ERROR_NOT_SUPPORTED     "org.berth.Error.NotSupported"

extern const sd_bus_error_map berth_error_map[];

/* Registers berth_error_map with sd-bus, so sd_bus_error_get_errno() knows our names. */
int berth_error_map_register(void);
