/* The private protocol between berthd and one berth-shim (see docs/shim-protocol.md). */
#pragma once

#define SHIM_OBJECT_PATH "/org/berth/Shim1"
#define SHIM_INTERFACE   "org.berth.Shim1"

/* Lines the shim writes to its --ready-fd before closing it. */
#define SHIM_READY_PREFIX "READY "   /* followed by the container init pid and "\n" */
#define SHIM_ERROR_PREFIX "ERROR "   /* followed by "<error name> <message>\n" */
#define SHIM_READY_MAX 4096
