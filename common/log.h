/* Logging to the journal (under systemd) or to stderr. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

void log_setup(const char *ident);
void log_set_max_level(int level);
int log_get_max_level(void);

int log_internal(int level, int error, const char *container_id, const char *file, int line,
                 const char *func, const char *format, ...) _printf_(7, 8);

/* The _errno variants set errno for %m and return -abs(error), so "return log_error_errno(r, ...)" works. */
#define log_full_errno(level, error, ...) \
        log_internal((level), (error), NULL, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...)   log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...)    log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...)   log_full_errno(LOG_ERR, (error), __VA_ARGS__)

/* Messages about one container carry CONTAINER_ID= in the journal and "id: " on stderr. */
#define log_container_errno(level, id, error, ...) \
        log_internal((level), (error), (id), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_container(level, id, ...) (void) log_container_errno((level), (id), 0, __VA_ARGS__)

/* Out of memory: logged once, returns -ENOMEM. */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
