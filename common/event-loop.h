/* A small epoll event loop: fd sources and one-shot timers, for berth-shim, which links no
 * libsystemd (one shim runs per container, so every private page counts). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "macro.h"

typedef struct EventLoop EventLoop;
typedef struct EventSource EventSource;

typedef int (*event_io_handler_t)(EventSource *source, int fd, uint32_t revents, void *userdata);
typedef int (*event_time_handler_t)(EventSource *source, void *userdata);

int event_loop_new(EventLoop **ret);
EventLoop *event_loop_free(EventLoop *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventLoop *, event_loop_free);

int event_add_io(EventLoop *e, EventSource **ret, int fd, uint32_t events, event_io_handler_t handler,
                 void *userdata);
int event_source_set_io_events(EventSource *s, uint32_t events);
int event_add_timer(EventLoop *e, EventSource **ret, uint64_t usec, event_time_handler_t handler,
                    void *userdata);
EventSource *event_source_free(EventSource *s);

int event_loop_run(EventLoop *e);
void event_loop_exit(EventLoop *e, int code);
