/* berthctl's bus client (ctl-bus.c): the connection to the bus berthd is on and method calls on
 * the manager; a failure is printed as one sentence (ctl-bus-error.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define CTL_BUS_NAME          "org.berth.Monitor1"
#define CTL_MANAGER_PATH      "/org/berth/Monitor1"
#define CTL_MANAGER_INTERFACE "org.berth.Monitor1"
#define CTL_CONTAINER_INTERFACE "org.berth.Container1"

/* Method call timeouts. sd_bus_call() takes 0 as "the default" (25 s) and UINT64_MAX as "none". */
#define CTL_TIMEOUT_DEFAULT  ((uint64_t) 0)
#define CTL_TIMEOUT_LONG     ((uint64_t) (120 * USEC_PER_SEC))
#define CTL_TIMEOUT_INFINITE UINT64_MAX

typedef enum CtlTransport {
        CTL_TRANSPORT_DEFAULT,  /* $BERTH_ADDRESS, else the system bus for root, the user bus for others */
        CTL_TRANSPORT_SYSTEM,
        CTL_TRANSPORT_USER,
        CTL_TRANSPORT_ADDRESS,
} CtlTransport;

/* --system, --user, --address: set by main() before any command runs. */
extern CtlTransport arg_transport;
extern const char *arg_address;

int ctl_bus_connect(sd_bus **ret);
int ctl_new_call(sd_bus *bus, const char *method, sd_bus_message **ret);
int ctl_call_message(sd_bus *bus, sd_bus_message *m, uint64_t timeout, sd_bus_message **ret_reply);
int ctl_call(sd_bus *bus, const char *method, uint64_t timeout, sd_bus_message **ret_reply,
             const char *types, ...);
