/* Calls that are answered later, and the peers that made them.
 *
 * A WaitContainer call is answered when the container exits, which may be days away. Every such
 * call holds its message until then; a client that queues them and disconnects would make berthd
 * keep them all (128k of them grew berthd from 3.4 to 140 MB, and answering them all at the exit
 * stalled it for seconds). So each sender is tracked on the bus: when it leaves, its waiting calls
 * are dropped unanswered, and no sender may have more than WAITERS_PER_CLIENT_MAX at once. */

#include "bus-error.h"
#include "log.h"
#include "manager.h"
#include "waiter.h"

struct WaitClient {
        Manager *manager;
        char *name;                     /* the unique bus name */
        sd_bus_track *track;
        unsigned n_waiters;
        Waiter *waiters;
        LIST_FIELDS(WaitClient, clients);
};

static void waiter_unlink_free(Waiter *w) {
        LIST_REMOVE(waiters, *w->head, w);
        if (w->client) {
                LIST_REMOVE(client_waiters, w->client->waiters, w);
                w->client->n_waiters--;
        }
        sd_bus_message_unref(w->request);
        free(w);
}

/**
 * wait_client_free() - forget a peer and drop its waiting calls unanswered
 * @c: the peer, may be NULL
 */
WaitClient *wait_client_free(WaitClient *c) {
        if (!c)
                return NULL;

        while (c->waiters)
                waiter_unlink_free(c->waiters);
        if (c->manager)
                LIST_REMOVE(clients, c->manager->wait_clients, c);
        sd_bus_track_unref(c->track);
        free(c->name);
        return mfree(c);
}

static int on_client_gone(sd_bus_track *track, void *userdata) {
        WaitClient *c = userdata;

        log_debug("Bus peer '%s' left, dropping its %u waiting calls.", c->name, c->n_waiters);
        wait_client_free(c);
        return 0;
}

static int wait_client_get(Manager *m, sd_bus_message *request, WaitClient **ret) {
        const char *sender = sd_bus_message_get_sender(request);
        WaitClient *c;
        int r;

        *ret = NULL;
        if (!sender)
                return 0;
        LIST_FOREACH(clients, i, m->wait_clients)
                if (streq(i->name, sender)) {
                        *ret = i;
                        return 0;
                }

        c = calloc(1, sizeof(WaitClient));
        if (!c)
                return -ENOMEM;
        c->name = strdup(sender);
        if (!c->name) {
                free(c);
                return -ENOMEM;
        }
        c->manager = m;
        LIST_PREPEND(clients, m->wait_clients, c);

        r = sd_bus_track_new(sd_bus_message_get_bus(request), &c->track, on_client_gone, c);
        if (r >= 0)
                r = sd_bus_track_add_sender(c->track, request);
        if (r < 0) {
                wait_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

/**
 * waiter_add() - keep @request to answer it later
 * @m: the manager
 * @head: the list to keep it on
 * @request: the call
 * @error: set to LimitReached when the sender has too many calls waiting
 *
 * Return: 1, or a negative errno with @error set or not.
 */
int waiter_add(Manager *m, Waiter **head, sd_bus_message *request, sd_bus_error *error) {
        WaitClient *client;
        Waiter *w;
        int r;

        r = wait_client_get(m, request, &client);
        if (r < 0)
                return r;
        if (client && client->n_waiters >= WAITERS_PER_CLIENT_MAX)
                return sd_bus_error_setf(error, BERTH_ERROR_LIMIT_REACHED,
                                         "Too many calls of this client are waiting already (%u).",
                                         WAITERS_PER_CLIENT_MAX);

        w = calloc(1, sizeof(Waiter));
        if (!w)
                return -ENOMEM;
        w->request = sd_bus_message_ref(request);
        w->head = head;
        LIST_PREPEND(waiters, *head, w);
        if (client) {
                w->client = client;
                client->n_waiters++;
                LIST_PREPEND(client_waiters, client->waiters, w);
        }
        return 1;
}

/**
 * waiter_free() - unlink a waiting call from its list and its peer and drop it
 * @w: the waiter
 *
 * A peer left with no waiting call is forgotten too.
 */
void waiter_free(Waiter *w) {
        WaitClient *c = w->client;

        waiter_unlink_free(w);
        if (c && c->n_waiters == 0)
                wait_client_free(c);
}

/**
 * waiter_free_all() - drop every waiting call of a list, unanswered
 * @head: the list
 */
void waiter_free_all(Waiter **head) {
        while (*head)
                waiter_free(*head);
}
