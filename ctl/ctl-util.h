/* berthctl's small shared helpers (ctl-util.c): one-line errors, usage errors, output, and the
 * parsers and formatters of command line values.
 *
 * Conventions of every command: it returns the process exit status (>= 0) or a negative errno
 * after it has printed its one-line error; main() turns negative values into exit status 1. Usage
 * errors are printed by ctl_usage_error(), which returns CTL_EXIT_USAGE. */
#pragma once

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

/* Output. */
int ctl_write_all(int fd, const void *data, size_t size);
int ctl_print_json(json_object *j);

/* Parsers and formatters. */
int ctl_parse_signal(const char *s, int *ret);
int ctl_parse_label(const char *s, char **ret_key, char **ret_value);
int ctl_parse_unsigned(const char *s, uint64_t *ret);
int ctl_format_time(uint64_t usec, char *buf, size_t size);
