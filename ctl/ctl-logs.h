/* berthctl's log reading (ctl-logs.c): printing and following a container's CRI log file. "run"
 * follows the log of the container it started with ctl_logs_follow(). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef struct CtlLogOptions {
        bool timestamps;        /* prefix every line with its record's timestamp */
        int64_t tail;           /* only the last N lines; -1 for all */
} CtlLogOptions;

int ctl_logs_follow(sd_bus *bus, const char *id, const char *path, const CtlLogOptions *options,
                    bool forward_signals, int *ret_status);
