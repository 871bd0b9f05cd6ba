/* berthctl's small shared helpers (ctl-util.c): one-line errors, usage errors, option parsing, output,
 * and the parsers and formatters of command line values.
 *
 * Conventions of every command: it returns the process exit status (>= 0) or a negative errno
 * after it has printed its one-line error; main() turns negative values into exit status 1. Usage
 * errors are printed by ctl_usage_error(), which returns CTL_EXIT_USAGE. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE   2

/* --debug: set by main() before any command runs. */
extern bool arg_debug;

/* Errors and usage. */
int ctl_error_errno(int error, const char *format, ...) _printf_(2, 3);
#define ctl_error(...) ctl_error_errno(EIO, __VA_ARGS__)
void ctl_usage_set_command(const char *name);
int ctl_usage_error(const char *format, ...) _printf_(1, 2);
int ctl_usage_hint(void);

/* A command's command line: its options, its --help text and how many operands it takes. */
typedef struct CtlOptions {
        const char *short_options;              /* as for getopt_long(), with "h" */
        const struct option *long_options;      /* with CTL_OPTION_HELP */
        const char *help;                       /* printed for -h and --help */
        /* Called for every other option with its argument: 0 to go on; anything else ends the
         * parsing and is what the command returns. NULL when -h is the only option. */
        int (*handle)(int option, const char *arg, void *userdata);
        int min_operands;
        int max_operands;                       /* -1: no limit */
        /* The usage error for any wrong number of operands; NULL for "Missing container ID" when
         * there are too few and "Too many arguments" when there are too many. */
        const char *operands_error;
} CtlOptions;

/* getopt values of long options without a short one: --json (every read command takes it), then
 * each command's own from CTL_ARG_FIRST on. */
enum {
        CTL_ARG_JSON = 0x100,
        CTL_ARG_FIRST,
};

#define CTL_OPTION_HELP { "help", no_argument, NULL, 'h' }
#define CTL_OPTION_JSON { "json", no_argument, NULL, CTL_ARG_JSON }

int ctl_parse_options(int argc, char *argv[], const CtlOptions *o, void *userdata);

/* The options of a command whose only option is --json, and their handler: @userdata is the bool
 * that --json sets. */
extern const struct option ctl_json_options[];
int ctl_handle_json(int option, const char *arg, void *userdata);

/* Output. */
int ctl_write_all(int fd, const void *data, size_t size);
int ctl_print_json(json_object *j);

/* Parsers and formatters. */
int ctl_parse_signal(const char *s, int *ret);
int ctl_parse_label(const char *s, char **ret_key, char **ret_value);
int ctl_parse_unsigned(const char *s, uint64_t *ret);
int ctl_parse_size(const char *s, uint64_t *ret);
int ctl_format_time(uint64_t usec, char *buf, size_t size);
int ctl_strv_push(char ***l, const char *s);
