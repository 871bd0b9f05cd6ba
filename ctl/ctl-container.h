/* What berthctl knows about one container (ctl-container.c): its org.berth.Container1 properties,
 * read in one call. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef struct CtlContainer {
        char *path;             /* object path */
        char *id;
        char *bundle;
        char *runtime;
        char *state;
        uint32_t pid;
        uint32_t shim_pid;
        int32_t exit_status;
        char *exit_reason;
        bool oom_killed;
        uint64_t created_at;    /* µs, CLOCK_REALTIME, 0 when unknown */
        uint64_t started_at;
        uint64_t finished_at;
        char **labels;          /* key, value, key, value, ..., NULL */
        bool terminal;
        char *log_path;         /* "" without a log file */
} CtlContainer;

void ctl_container_done(CtlContainer *c);
int ctl_container_get(sd_bus *bus, const char *id, CtlContainer *ret);
