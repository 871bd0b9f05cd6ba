/* berthctl's small shared helpers: the one-line error and usage messages, the option parser every
 * command uses, writing output (whole buffers, JSON), and the parsers and formatters of command
 * line values (signals, labels, numbers, sizes, times, lists).
 *
 * Errors are printed here with stdio rather than through common/log.c: the format of a client's
 * error line is part of its interface (tests and scripts match it), so it is spelled out here. */

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "ctl-util.h"

bool arg_debug = false;

/**
 * ctl_error_errno() - print a one-line error on stderr.
 * @error: an errno value (either sign; 0 for none); %m in @format prints its description.
 * @format: printf format of the message.
 *
 * Prints "berthctl: <message>\n".
 *
 * Return: -abs(@error), or -EIO when @error is 0.
 */
int ctl_error_errno(int error, const char *format, ...) {
        va_list ap;

        fflush(stdout);
        fputs("berthctl: ", stderr);
        errno = abs(error);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return error == 0 ? -EIO : -abs(error);
}

/* The command being run, for the hint after a usage error; NULL before one is chosen. */
static const char *usage_command = NULL;

/**
 * ctl_usage_set_command() - name the command that usage hints point to.
 * @name: the command, e.g. "run"; NULL for berthctl itself.
 */
void ctl_usage_set_command(const char *name) {
        usage_command = name;
}

/**
 * ctl_usage_hint() - print where to find help, after getopt printed what was wrong.
 *
 * Return: CTL_EXIT_USAGE.
 */
int ctl_usage_hint(void) {
        if (usage_command)
                fprintf(stderr, "Try 'berthctl %s --help' for more information.\n", usage_command);
        else
                fputs("Try 'berthctl --help' for more information.\n", stderr);
        return CTL_EXIT_USAGE;
}

/**
 * ctl_usage_error() - print a usage error and a hint.
 * @format: printf format of the message.
 *
 * Return: CTL_EXIT_USAGE, so commands can "return ctl_usage_error(...)".
 */
int ctl_usage_error(const char *format, ...) {
        va_list ap;

        fflush(stdout);
        fputs("berthctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return ctl_usage_hint();
}

/**
 * ctl_parse_options() - parse a command's options and check the number of its operands.
 * @argc: argument count.
 * @argv: arguments, argv[0] being "berthctl COMMAND".
 * @o: the command's options.
 * @userdata: passed to @o->handle.
 *
 * -h and --help print @o->help; unknown options and a wrong number of operands are usage errors.
 *
 * Return: 1 to go on with the command, its operands starting at argv[optind]; otherwise what the
 * command returns: 0 after --help, CTL_EXIT_USAGE, or a negative errno (printed).
 */
int ctl_parse_options(int argc, char *argv[], const CtlOptions *o, void *userdata) {
        int c, n, r;

        while ((c = getopt_long(argc, argv, o->short_options, o->long_options, NULL)) >= 0) {
                if (c == 'h') {
                        fputs(o->help, stdout);
                        return 0;
                }
                if (c == '?')
                        return ctl_usage_hint();
                if (!o->handle)
                        return ctl_usage_error("Cannot parse options");
                r = o->handle(c, optarg, userdata);
                if (r != 0)
                        return r;
        }

        n = argc - optind;
        if (n >= o->min_operands && (o->max_operands < 0 || n <= o->max_operands))
                return 1;
        if (o->operands_error)
                return ctl_usage_error("%s", o->operands_error);
        return ctl_usage_error(n < o->min_operands ? "Missing container ID" : "Too many arguments");
}

const struct option ctl_json_options[] = {
        CTL_OPTION_JSON,
        CTL_OPTION_HELP,
        {}
};

/**
 * ctl_handle_json() - the CtlOptions.handle of commands whose only option is --json.
 * @option: CTL_ARG_JSON.
 * @arg: NULL.
 * @userdata: a bool, set to true.
 *
 * Return: 0.
 */
int ctl_handle_json(int option, const char *arg, void *userdata) {
        bool *json = userdata;

        assert(option == CTL_ARG_JSON);
        *json = true;
        return 0;
}

/**
 * ctl_write_all() - write a whole buffer to an fd.
 * @fd: where to write.
 * @data: the bytes.
 * @size: how many.
 *
 * Retries on EINTR and short writes, and waits when @fd is non-blocking and full.
 *
 * Return: 0, or a negative errno.
 */
int ctl_write_all(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                (void) usleep(1000);
                                continue;
                        }
                        return -errno;
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

/**
 * ctl_parse_signal() - parse a signal given by name or number.
 * @s: "TERM", "SIGTERM", "sigterm", "15", "RTMIN+2", "SIGRTMAX-1", ...
 * @ret: the signal number, 1..64.
 *
 * Return: 0, or -EINVAL.
 */
int ctl_parse_signal(const char *s, int *ret) {
        const uint64_t n_rt = (uint64_t) (SIGRTMAX - SIGRTMIN);
        const char *n = s;
        uint64_t u;
        int sig = 0;

        if (ctl_parse_unsigned(s, &u) >= 0) {
                if (u < 1 || u > (uint64_t) SIGRTMAX)
                        return -EINVAL;
                *ret = (int) u;
                return 0;
        }

        if (strncasecmp(n, "SIG", 3) == 0)
                n += 3;
        /* Other names of signals, which sigabbrev_np() knows by one name only. */
        if (strcasecmp(n, "IO") == 0)
                n = "POLL";
        else if (strcasecmp(n, "IOT") == 0)
                n = "ABRT";
        else if (strcasecmp(n, "CLD") == 0)
                n = "CHLD";
        for (int i = 1; i < SIGRTMIN; i++) {
                const char *a = sigabbrev_np(i);
                if (a && strcasecmp(a, n) == 0) {
                        sig = i;
                        break;
                }
        }
        if (sig == 0 && strncasecmp(n, "RTMIN", 5) == 0) {
                sig = SIGRTMIN;
                if (n[5] == '+' && ctl_parse_unsigned(n + 6, &u) >= 0 && u <= n_rt)
                        sig += (int) u;
                else if (n[5] != 0)
                        sig = 0;
        } else if (sig == 0 && strncasecmp(n, "RTMAX", 5) == 0) {
                sig = SIGRTMAX;
                if (n[5] == '-' && ctl_parse_unsigned(n + 6, &u) >= 0 && u <= n_rt)
                        sig -= (int) u;
                else if (n[5] != 0)
                        sig = 0;
        }
        if (sig == 0)
                return -EINVAL;
        *ret = sig;
        return 0;
}

/**
 * ctl_parse_label() - split a KEY=VALUE label.
 * @s: the argument.
 * @ret_key: the key, newly allocated; never empty.
 * @ret_value: the value, newly allocated; may be empty.
 *
 * Return: 0, -EINVAL without '=' or with an empty key, or -ENOMEM.
 */
int ctl_parse_label(const char *s, char **ret_key, char **ret_value) {
        _cleanup_free_ char *k = NULL, *v = NULL;
        const char *eq = strchr(s, '=');

        if (!eq || eq == s)
                return -EINVAL;
        k = strndup(s, (size_t) (eq - s));
        v = strdup(eq + 1);
        if (!k || !v)
                return -ENOMEM;
        *ret_key = TAKE_PTR(k);
        *ret_value = TAKE_PTR(v);
        return 0;
}

/**
 * ctl_parse_unsigned() - parse a decimal unsigned number.
 * @s: only digits, nothing else.
 * @ret: the number.
 *
 * Return: 0, -EINVAL or -ERANGE.
 */
int ctl_parse_unsigned(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/**
 * ctl_parse_size() - parse a size in bytes.
 * @s: digits with an optional suffix K, M or G (either case; powers of 1024).
 * @ret: the size.
 *
 * Return: 0, -EINVAL, -ERANGE or -ENOMEM.
 */
int ctl_parse_size(const char *s, uint64_t *ret) {
        static const struct { char suffix; uint64_t factor; } suffixes[] = {
                { 'K', 1ULL << 10 }, { 'M', 1ULL << 20 }, { 'G', 1ULL << 30 },
        };
        _cleanup_free_ char *digits = NULL;
        uint64_t factor = 1, v;
        size_t n = strlen(s);
        int r;

        for (size_t i = 0; n > 1 && i < ELEMENTSOF(suffixes); i++)
                if (s[n - 1] == suffixes[i].suffix || s[n - 1] == suffixes[i].suffix + 'a' - 'A') {
                        factor = suffixes[i].factor;
                        n--;
                }
        digits = strndup(s, n);
        if (!digits)
                return -ENOMEM;
        r = ctl_parse_unsigned(digits, &v);
        if (r < 0)
                return r;
        if (v > UINT64_MAX / factor)
                return -ERANGE;
        *ret = v * factor;
        return 0;
}

/**
 * ctl_format_time() - format µs since the epoch as RFC 3339 in UTC.
 * @usec: µs, CLOCK_REALTIME; must not be 0.
 * @buf: where to write, e.g. "2026-11-24T09:13:44.123456Z".
 * @size: size of @buf; 32 is enough.
 *
 * Return: 0, or -EINVAL if the time cannot be formatted.
 */
int ctl_format_time(uint64_t usec, char *buf, size_t size) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        size_t n;

        if (!gmtime_r(&sec, &tm))
                return -EINVAL;
        n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        if (n == 0)
                return -EINVAL;
        if ((size_t) snprintf(buf + n, size - n, ".%06" PRIu64 "Z", usec % USEC_PER_SEC) >= size - n)
                return -EINVAL;
        return 0;
}

/**
 * ctl_print_json() - print a JSON value on stdout, pretty, with a final newline.
 * @j: the value.
 *
 * Return: 0, or a negative errno (printed).
 */
int ctl_print_json(json_object *j) {
        const char *s;

        s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return ctl_error_errno(ENOMEM, "Out of memory.");
        fputs(s, stdout);
        fputc('\n', stdout);
        return 0;
}

/**
 * ctl_strv_push() - append a copy of a string to a NULL-terminated list.
 * @l: the list (NULL is an empty list); reallocated.
 * @s: the string.
 *
 * Return: 0, or -ENOMEM (then @l is unchanged).
 */
int ctl_strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **nl, *copy;

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(copy);
                return -ENOMEM;
        }
        nl[n] = copy;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}
