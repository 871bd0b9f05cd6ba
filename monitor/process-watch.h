/* Watching a process that may not be our child: through a pidfd, or where pidfds are missing
 * (old kernels, valgrind) by its pid and start time. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct ProcessWatch ProcessWatch;

/* Called once, when the process has exited. The watch stays valid until freed. */
typedef void (*process_watch_handler_t)(ProcessWatch *w, void *userdata);

int process_watch_new(sd_event *e, pid_t pid, process_watch_handler_t handler, void *userdata,
                      ProcessWatch **ret);
ProcessWatch *process_watch_free(ProcessWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProcessWatch *, process_watch_free);

pid_t process_watch_pid(const ProcessWatch *w);
bool process_watch_exited(const ProcessWatch *w);
/* Signals the process; never a recycled pid. -ESRCH once it has exited. */
int process_watch_kill(ProcessWatch *w, int sig);
