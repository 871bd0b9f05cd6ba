/* Option dictionaries (a{sv}) read by a table, so that every method with options refuses unknown
 * keys and wrong types alike, with InvalidArgument, and frees what it read on every path. */

#include <fcntl.h>
#include <stdint.h>

#include "berth-error.h"
#include "bus-options.h"
#include "fd-util.h"
#include "macro.h"

static int read_strv(sd_bus_message *message, bool pairs, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(message, 'a', pairs ? "{ss}" : "s");
        if (r < 0)
                return r;
        for (;;) {
                const char *a, *b = NULL;
                char **nl;

                if (pairs)
                        r = sd_bus_message_read(message, "{ss}", &a, &b);
                else
                        r = sd_bus_message_read(message, "s", &a);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                nl = realloc(l, sizeof(char *) * (n + 3));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = strdup(a);
                l[n + 1] = b ? strdup(b) : NULL;
                l[n + 2] = NULL;
                if (!l[n] || (b && !l[n + 1]))
                        return -ENOMEM;
                n += b ? 2 : 1;
        }
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;

        strv_free(*ret);
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_fd(sd_bus_message *message, int *field) {
        int fd, r;

        r = sd_bus_message_read(message, "h", &fd);
        if (r < 0)
                return r;
        *field = safe_close(*field);
        *field = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        return *field < 0 ? -errno : 0;
}

static int read_value(sd_bus_message *message, const BusOption *opt, void *o) {
        void *field = (uint8_t *) o + opt->offset;

        if (streq(opt->type, "as"))
                return read_strv(message, false, field);
        if (streq(opt->type, "a{ss}"))
                return read_strv(message, true, field);
        if (streq(opt->type, "h"))
                return read_fd(message, field);
        return sd_bus_message_read_basic(message, opt->type[0], field);
}

static int read_one(sd_bus_message *message, const BusOption *table, void *o, sd_bus_error *error) {
        const BusOption *opt;
        const char *key, *contents;
        int r;

        r = sd_bus_message_read(message, "s", &key);
        if (r < 0)
                return r;
        r = sd_bus_message_peek_type(message, NULL, &contents);
        if (r < 0)
                return r;

        for (opt = table; opt->key; opt++)
                if (streq(key, opt->key))
                        break;
        if (!opt->key)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT, "Unknown option '%s'.", key);
        if (!streq(contents, opt->type))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "Option '%s' must be of type '%s', got '%s'.", key, opt->type, contents);

        r = sd_bus_message_enter_container(message, 'v', contents);
        if (r < 0)
                return r;
        r = read_value(message, opt, o);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(message);
}

/**
 * bus_options_read() - read an a{sv} of options into a struct
 * @message: positioned at the a{sv}
 * @table: the known options, ending with BUS_OPTIONS_END
 * @o: the struct
 * @error: set for an unknown key or a wrong type
 *
 * Return: 0 or a negative errno; on failure @o may hold some values (free with bus_options_done()).
 */
int bus_options_read(sd_bus_message *message, const BusOption *table, void *o, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = read_one(message, table, o, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(message);
}

/**
 * bus_options_done() - free the lists and close the fds bus_options_read() left in @o
 * @table: the table it was read with
 * @o: the struct
 */
void bus_options_done(const BusOption *table, void *o) {
        for (const BusOption *opt = table; opt->key; opt++) {
                void *field = (uint8_t *) o + opt->offset;

                if (streq(opt->type, "as") || streq(opt->type, "a{ss}"))
                        *(char ***) field = strv_free(*(char ***) field);
                else if (streq(opt->type, "h"))
                        *(int *) field = safe_close(*(int *) field);
        }
}
