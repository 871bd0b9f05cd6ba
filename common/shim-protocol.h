/* The private protocol between berthd and one berth-shim (see docs/shim-protocol.md): the readiness
 * line, the environment a shim must not pass on, and the runtime timeout both ends read. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "macro.h"

#define SHIM_OBJECT_PATH "/org/berth/Shim1"
#define SHIM_INTERFACE   "org.berth.Shim1"

/* The one line a shim writes to its --ready-fd before closing it (docs/shim-protocol.md):
 *   "READY <pid>"                        created, init pid
 *   "READY <pid> <started_at>"           created and started (--start), µs CLOCK_REALTIME
 *   "READY <pid> 0 <error> <message>"    created, but starting failed
 *   "ERROR <error> <message>"            creating failed; the shim cleaned up and exits */
#define SHIM_READY_PREFIX "READY "
#define SHIM_ERROR_PREFIX "ERROR "
#define SHIM_READY_MAX 4096

typedef struct ReadyLine {
        pid_t pid;                      /* > 0: created */
        uint64_t started_at;            /* > 0: started too */
        const char *error_name;         /* with pid 0, creating failed; else starting failed */
        const char *error_message;
} ReadyLine;

/* Formats @r as one line ending in "\n" (newlines in the message become spaces). */
int ready_line_format(const ReadyLine *r, char **ret);
/* Parses the line in @buf (up to and including its "\n"; modified in place, the strings of @ret
 * point into it). Returns 0, or -EBADMSG for anything else. */
int ready_line_parse(char *buf, size_t size, ReadyLine *ret);

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
