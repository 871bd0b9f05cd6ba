/* The OCI process object of an exec: checked, and completed from the container's own. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

/* Checks the caller's @process_json and completes it from the bundle's config.json "process":
 * every member the caller left out (env, cwd, user, capabilities, rlimits, ...) is the container's,
 * except "terminal" (false unless asked) and "consoleSize". On a caller's mistake sets
 * InvalidArgument (or InvalidBundle) and returns its errno. */
int process_spec_build(const char *bundle, const char *process_json, char **ret_json, bool *ret_terminal,
                       sd_bus_error *error);
