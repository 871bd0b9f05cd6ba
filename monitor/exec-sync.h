/* ExecSync: run a process in a container to its end and answer with its status and output. */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "forward.h"
#include "macro.h"

/* Per stream, unless the caller says otherwise (MaxOutputBytes). */
#define EXEC_SYNC_OUTPUT_DEFAULT_MAX (16U * 1024U * 1024U)

int exec_sync_start(Container *c, const char *process_json, sd_bus_message *request, sd_bus_error *error);
ExecSync *exec_sync_free(ExecSync *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecSync *, exec_sync_free);

/* From the process model and container-exec.c. */
void exec_sync_process_exited(ExecSync *s);
void exec_sync_process_gone(ExecSync *s);
void exec_sync_failed(ExecSync *s, const sd_bus_error *e);
