/* berthctl's view of a container: GetContainer finds its object, Properties.GetAll reads every
 * org.berth.Container1 property into a CtlContainer. Properties this berthctl does not know, or of
 * another type than it expects, are skipped, so a newer berthd still works with it. */

#include <stddef.h>

#include "ctl-bus-error.h"
#include "ctl-bus.h"
#include "ctl-container.h"
#include "ctl-util.h"

/**
 * ctl_container_done() - free what a CtlContainer holds.
 * @c: the container info; left zeroed.
 */
void ctl_container_done(CtlContainer *c) {
        free(c->path);
        free(c->id);
        free(c->bundle);
        free(c->runtime);
        free(c->state);
        free(c->exit_reason);
        strv_free(c->labels);
        free(c->log_path);
        *c = (CtlContainer) { .exit_status = -1 };
}

typedef struct PropertyMap {
        const char *name;
        const char *signature;
        size_t offset;
} PropertyMap;

static const PropertyMap container_properties[] = {
        { "Id",         "s",     offsetof(CtlContainer, id)          },
        { "Bundle",     "s",     offsetof(CtlContainer, bundle)      },
        { "Runtime",    "s",     offsetof(CtlContainer, runtime)     },
        { "State",      "s",     offsetof(CtlContainer, state)       },
        { "Pid",        "u",     offsetof(CtlContainer, pid)         },
        { "ShimPid",    "u",     offsetof(CtlContainer, shim_pid)    },
        { "ExitStatus", "i",     offsetof(CtlContainer, exit_status) },
        { "ExitReason", "s",     offsetof(CtlContainer, exit_reason) },
        { "OOMKilled",  "b",     offsetof(CtlContainer, oom_killed)  },
        { "CreatedAt",  "t",     offsetof(CtlContainer, created_at)  },
        { "StartedAt",  "t",     offsetof(CtlContainer, started_at)  },
        { "FinishedAt", "t",     offsetof(CtlContainer, finished_at) },
        { "Labels",     "a{ss}", offsetof(CtlContainer, labels)      },
        { "Terminal",   "b",     offsetof(CtlContainer, terminal)    },
        { "LogPath",    "s",     offsetof(CtlContainer, log_path)    },
};

static int read_labels(sd_bus_message *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (;;) {
                const char *k, *v;
                char **nl;

                r = sd_bus_message_read(m, "{ss}", &k, &v);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                nl = realloc(l, (n + 3) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = l[n + 1] = l[n + 2] = NULL;
                l[n] = strdup(k);
                l[n + 1] = strdup(v);
                if (!l[n] || !l[n + 1])
                        return -ENOMEM;
                n += 2;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_property_value(sd_bus_message *m, const PropertyMap *p, CtlContainer *c) {
        void *field = (char *) c + p->offset;
        int r;

        switch (p->signature[0]) {
        case 's': {
                const char *s;
                char *copy;

                r = sd_bus_message_read_basic(m, 's', &s);
                if (r < 0)
                        return r;
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
                free(*(char **) field);
                *(char **) field = copy;
                return 0;
        }
        case 'b': {
                int b;

                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                *(bool *) field = b;
                return 0;
        }
        case 'a': {
                char **l = NULL;

                r = read_labels(m, &l);
                if (r < 0)
                        return r;
                strv_free(*(char ***) field);
                *(char ***) field = l;
                return 0;
        }
        default:
                /* u, i and t: the field has the wire type's size. */
                return sd_bus_message_read_basic(m, p->signature[0], field);
        }
}

static int read_one_property(sd_bus_message *m, CtlContainer *c) {
        const PropertyMap *p = NULL;
        const char *name, *contents;
        int r;

        r = sd_bus_message_read_basic(m, 's', &name);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(container_properties); i++)
                if (streq(container_properties[i].name, name))
                        p = &container_properties[i];

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        /* Properties we do not know, or of a type we do not expect, are skipped: a newer berthd
         * may add some, and one odd property should not hide all the others. */
        if (!p || !streq(contents, p->signature)) {
                if (p && arg_debug)
                        fprintf(stderr, "berthctl: property %s has type '%s', expected '%s', ignoring\n",
                                name, contents, p->signature);
                return sd_bus_message_skip(m, "v");
        }

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = read_property_value(m, p, c);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int parse_container_properties(sd_bus_message *m, CtlContainer *c) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = read_one_property(m, c);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

/* The container can be deleted between GetContainer and GetAll: then its object is gone. */
static int property_error(sd_bus *bus, const sd_bus_error *error, int r, const char *id) {
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_UNKNOWN_OBJECT))
                return ctl_error_errno(ENOENT, "Container '%s' was deleted while berthctl read it", id);
        return ctl_bus_error(bus, error, r, "GetAll", id);
}

/**
 * ctl_container_get() - read all properties of a container.
 * @bus: the connection.
 * @id: the container id.
 * @ret: filled in on success; free with ctl_container_done().
 *
 * Asks the manager for the object (GetContainer, so an unknown id gets berthd's NoSuchContainer
 * error), then reads org.berth.Container1 with Properties.GetAll. Errors are printed.
 *
 * Return: 0, or a negative errno.
 */
int ctl_container_get(sd_bus *bus, const char *id, CtlContainer *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(ctl_container_done) CtlContainer c = { .exit_status = -1 };
        const char *path;
        int r;

        r = ctl_call(bus, "GetContainer", CTL_TIMEOUT_DEFAULT, &reply, "s", id);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return ctl_error_errno(r, "Failed to parse GetContainer reply: %m");
        c.path = strdup(path);
        if (!c.path)
                return ctl_error_errno(ENOMEM, "Out of memory.");
        reply = sd_bus_message_unref(reply);

        r = sd_bus_call_method(bus, CTL_BUS_NAME, c.path, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", CTL_CONTAINER_INTERFACE);
        if (r < 0)
                return property_error(bus, &error, r, id);
        r = parse_container_properties(reply, &c);
        if (r < 0)
                return ctl_error_errno(r, "Failed to parse properties of container '%s': %m", id);
        if (!c.id) {
                c.id = strdup(id);
                if (!c.id)
                        return ctl_error_errno(ENOMEM, "Out of memory.");
        }

        *ret = c;
        c = (CtlContainer) {};
        return 0;
}
