/* CreateContainer's options: read from the call and checked, before anything is made. */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "json-state.h"

typedef struct CreateOptions {
        const char *runtime;
        char **runtime_args;
        const char *log_driver;
        const char *log_path;
        char **labels;
        int start;
        int no_pivot_root;
        int terminal;
        int open_stdin;
        uint64_t log_max_size;
        const char *restore_from;
        int stdio_fds[3];               /* Stdin, Stdout, Stderr; -EBADF when not given */
} CreateOptions;

#define CREATE_OPTIONS_NULL ((CreateOptions) { .stdio_fds = { -EBADF, -EBADF, -EBADF } })

int create_options_read(sd_bus_message *message, CreateOptions *o, sd_bus_error *error);
int create_options_check(const CreateOptions *o, int state_dir_fd, LogDriver *ret_driver, sd_bus_error *error);
void create_options_done(CreateOptions *o);
