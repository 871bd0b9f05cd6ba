/* Calls answered later (Wait, WaitContainer, Delete), and the bus peers that made them. */
#pragma once

#include <systemd/sd-bus.h>

#include "forward.h"
#include "macro.h"

/* One peer may have this many calls waiting at once; more get org.berth.Error.LimitReached. */
#define WAITERS_PER_CLIENT_MAX 4096U

struct Waiter {
        sd_bus_message *request;
        Waiter **head;                  /* the list it is on (a container's) */
        WaitClient *client;             /* NULL for a call without a sender */
        LIST_FIELDS(struct Waiter, waiters);
        LIST_FIELDS(struct Waiter, client_waiters);
};

int waiter_add(Manager *m, Waiter **head, sd_bus_message *request, sd_bus_error *error);
void waiter_free(Waiter *w);
void waiter_free_all(Waiter **head);
WaitClient *wait_client_free(WaitClient *c);
