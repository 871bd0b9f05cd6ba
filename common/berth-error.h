/* The org.berth.Error.* names, the errno each stands for, and a small error value that carries a
 * name and a message without any D-Bus library (the shim links none). */
#pragma once

#include <stdbool.h>

#include "macro.h"

#define BERTH_ERROR_NO_SUCH_CONTAINER "org.berth.Error.NoSuchContainer"
#define BERTH_ERROR_CONTAINER_EXISTS  "org.berth.Error.ContainerExists"
#define BERTH_ERROR_INVALID_ID        "org.berth.Error.InvalidId"
#define BERTH_ERROR_INVALID_BUNDLE    "org.berth.Error.InvalidBundle"
#define BERTH_ERROR_INVALID_ARGUMENT  "org.berth.Error.InvalidArgument"
#define BERTH_ERROR_INVALID_STATE     "org.berth.Error.InvalidState"
#define BERTH_ERROR_RUNTIME_FAILED    "org.berth.Error.RuntimeFailed"
#define BERTH_ERROR_SHIM_FAILED       "org.berth.Error.ShimFailed"
#define BERTH_ERROR_ACCESS_DENIED     "org.berth.Error.AccessDenied"
#define BERTH_ERROR_LIMIT_REACHED     "org.berth.Error.LimitReached"
#define BERTH_ERROR_TIMEOUT           "org.berth.Error.Timeout"
#define BERTH_ERROR_NOT_SUPPORTED     "org.berth.Error.NotSupported"
#define BERTH_ERROR_PROCESS_EXISTS    "org.berth.Error.ProcessExists"
#define BERTH_ERROR_NO_SUCH_PROCESS   "org.berth.Error.NoSuchProcess"

/* X(name, errno) for every error name: one list for sd-bus's error map and for berth_error_errno(). */
#define BERTH_ERROR_LIST(X)                                     \
        X(BERTH_ERROR_NO_SUCH_CONTAINER, ENOENT)                \
        X(BERTH_ERROR_CONTAINER_EXISTS, EEXIST)                 \
        X(BERTH_ERROR_INVALID_ID, EINVAL)                       \
        X(BERTH_ERROR_INVALID_BUNDLE, EINVAL)                   \
        X(BERTH_ERROR_INVALID_ARGUMENT, EINVAL)                 \
        X(BERTH_ERROR_INVALID_STATE, EBUSY)                     \
        X(BERTH_ERROR_RUNTIME_FAILED, EIO)                      \
        X(BERTH_ERROR_SHIM_FAILED, EPROTO)                      \
        X(BERTH_ERROR_ACCESS_DENIED, EACCES)                    \
        X(BERTH_ERROR_LIMIT_REACHED, ENOSPC)                    \
        X(BERTH_ERROR_TIMEOUT, ETIMEDOUT)                       \
        X(BERTH_ERROR_NOT_SUPPORTED, EOPNOTSUPP)                \
        X(BERTH_ERROR_PROCESS_EXISTS, EEXIST)                   \
        X(BERTH_ERROR_NO_SUCH_PROCESS, ESRCH)

/* An error with a D-Bus name; both fields NULL when no error is set. */
typedef struct BerthError {
        const char *name;               /* static: one of the names above, or another constant */
        char *message;
} BerthError;

#define BERTH_ERROR_NULL ((BerthError) {})

int berth_error_errno(const char *name);
int berth_error_setf(BerthError *e, const char *name, const char *format, ...) _printf_(3, 4);
void berth_error_free(BerthError *e);

static inline bool berth_error_is_set(const BerthError *e) {
        return e && e->name;
}
