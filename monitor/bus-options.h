/* Reading a{sv} option dictionaries (CreateContainer, ExecProcess, ExecSync) into a struct, by a
 * table of the keys, their D-Bus types and their fields. */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

/* One option: its key, its type ("s", "b", "t", "h", "as" or "a{ss}") and its field in the struct:
 * const char * (pointing into the message), int, uint64_t, int (a new fd, -EBADF when absent),
 * char ** (owned; "a{ss}" as key, value, key, value, ..., NULL). */
typedef struct BusOption {
        const char *key;
        const char *type;
        size_t offset;
} BusOption;

#define BUS_OPTIONS_END { NULL, NULL, 0 }

/* Reads the a{sv} at @message's read position. An unknown key or a wrong type is
 * org.berth.Error.InvalidArgument; a key given twice counts last. Fields of type "h" must be
 * -EBADF before. */
int bus_options_read(sd_bus_message *message, const BusOption *table, void *o, sd_bus_error *error);
/* Frees what bus_options_read() put into @o: closes fds (setting -EBADF), frees lists. */
void bus_options_done(const BusOption *table, void *o);
