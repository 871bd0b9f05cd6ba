/* The private protocol between berthd and one berth-shim (see docs/shim-protocol.md). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

#define SHIM_OBJECT_PATH "/org/berth/Shim1"
#define SHIM_INTERFACE   "org.berth.Shim1"

/* Lines the shim writes to its --ready-fd before closing it. */
#define SHIM_READY_PREFIX "READY "   /* followed by the container init pid and "\n" */
#define SHIM_ERROR_PREFIX "ERROR "   /* followed by "<error name> <message>\n" */
#define SHIM_READY_MAX 4096

/* Environment meant for berthd alone (systemd's notify, socket activation, watchdog): neither a
 * shim, nor the runtime, nor the container may see it. */
static const char *const shim_env_drop[] = {
        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID",
};

/* Whether the "NAME=value" @assignment sets one of shim_env_drop. */
static inline bool shim_env_is_dropped(const char *assignment) {
        for (size_t i = 0; i < ELEMENTSOF(shim_env_drop); i++) {
                size_t n = strlen(shim_env_drop[i]);
                if (strneq(assignment, shim_env_drop[i], n) && assignment[n] == '=')
                        return true;
        }
        return false;
}

/* How long one runtime invocation may take, for the shim's calls and berthd's own cleanups. */
#define RUNTIME_TIMEOUT_DEFAULT_USEC (60 * USEC_PER_SEC)

/* $BERTH_RUNTIME_TIMEOUT_SEC, which berthd passes on to its shims: 0 and the default if unset,
 * -EINVAL (and the default) if it is not a positive number of seconds. */
static inline int runtime_timeout_from_env(uint64_t *ret) {
        const char *e = getenv("BERTH_RUNTIME_TIMEOUT_SEC");
        unsigned long sec;
        char *end;

        *ret = RUNTIME_TIMEOUT_DEFAULT_USEC;
        if (!e)
                return 0;
        errno = 0;
        sec = strtoul(e, &end, 10);
        if (errno != 0 || end == e || *end != 0 || sec == 0 || sec > UINT32_MAX)
                return -EINVAL;
        *ret = (uint64_t) sec * USEC_PER_SEC;
        return 0;
}
