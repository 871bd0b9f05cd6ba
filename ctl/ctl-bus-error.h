/* berthctl's error sentences (ctl-bus-error.c): what a failed connection or call means for the
 * person who ran berthctl, in one line that names the bus, the container and what to do. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

int ctl_bus_connect_error(const char *scope, const char *address, int r);
int ctl_bus_error(sd_bus *bus, const sd_bus_error *error, int r, const char *request, const char *id);
bool ctl_bus_error_is_transient(const sd_bus_error *error);
