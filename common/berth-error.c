/* BerthError: a D-Bus error name plus a message, for code that links no D-Bus library. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth-error.h"

/**
 * berth_error_errno() - the errno an error name stands for
 * @name: an org.berth.Error.* name, or any other error name
 *
 * Return: a positive errno; EIO for names that are not ours.
 */
int berth_error_errno(const char *name) {
#define ERROR_ERRNO(n, e) if (name && streq(name, n)) return e;
        BERTH_ERROR_LIST(ERROR_ERRNO)
#undef ERROR_ERRNO
        return EIO;
}

/**
 * berth_error_setf() - set @e to @name with a formatted message, unless it is set already
 * @e: the error, or NULL to only compute the return value
 * @name: the error name, a string that outlives @e
 * @format: printf format of the message
 *
 * The first error set wins, as the first failure is the one worth reporting.
 *
 * Return: the negative errno that @name stands for (that of the earlier error if one was set).
 */
int berth_error_setf(BerthError *e, const char *name, const char *format, ...) {
        va_list ap;

        if (!e)
                return -berth_error_errno(name);
        if (berth_error_is_set(e))
                return -berth_error_errno(e->name);

        e->name = name;
        va_start(ap, format);
        if (vasprintf(&e->message, format, ap) < 0)
                e->message = NULL;
        va_end(ap);
        return -berth_error_errno(name);
}

/**
 * berth_error_free() - release the message and unset @e
 * @e: the error, or NULL
 */
void berth_error_free(BerthError *e) {
        if (!e)
                return;
        e->message = mfree(e->message);
        e->name = NULL;
}
