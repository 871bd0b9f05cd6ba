/* Interactive I/O through the shim: OpenAttach (the shim hands out one end of a socket, berthd hands
 * it on), ResizeTerminal and CloseStdin, for the init (empty exec id) or an exec process. */

#include <inttypes.h>

#include "bus-error.h"
#include "container.h"
#include "log.h"
#include "manager.h"
#include "process.h"

/* The terminal and stdin flags of the init or of an exec; -ESRCH (NoSuchProcess set) for an
 * unknown exec id. */
static int io_target(Container *c, const char *exec_id, bool *ret_terminal, bool *ret_stdin,
                     sd_bus_error *error) {
        Process *p;

        if (isempty(exec_id)) {
                *ret_terminal = c->config->terminal;
                *ret_stdin = c->config->open_stdin || c->config->terminal;
                return 0;
        }
        p = container_get_process(c, exec_id);
        if (!p || !p->exported)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_PROCESS, "Container '%s' has no process '%s'.",
                                         c->id, exec_id);
        *ret_terminal = p->terminal;
        *ret_stdin = p->open_stdin || p->terminal;
        return 0;
}

static int io_check_shim(Container *c, sd_bus_error *error) {
        if (container_is_deleting(c))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "Container '%s' is being deleted.", c->id);
        if (c->attaching || !c->shim_bus)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "The shim of '%s' does not answer; its I/O cannot be reached.", c->id);
        return 0;
}

static int on_attach_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *pc = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int fd, r;

        if (!pc->request)
                return 0;
        if (e)
                return sd_bus_reply_method_error(pc->request, e);
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return sd_bus_reply_method_errorf(pc->request, BERTH_ERROR_SHIM_FAILED,
                                                  "The shim sent no attach socket.");
        /* sd-bus duplicates it into the reply; the shim's copy goes with its message. */
        return sd_bus_reply_method_return(pc->request, "h", fd);
}

/**
 * container_open_attach() - OpenAttach(id, exec_id): a socket to the process's I/O
 * @c: the container
 * @exec_id: "" for the init, else an exec process
 * @request: the call to answer with the socket
 * @error: set for the caller's mistakes
 */
int container_open_attach(Container *c, const char *exec_id, sd_bus_message *request, sd_bus_error *error) {
        bool terminal = false, in = false;
        int r;

        r = io_target(c, exec_id, &terminal, &in, error);
        if (r < 0)
                return r;
        r = io_check_shim(c, error);
        if (r < 0)
                return r;
        r = container_shim_call(c, request, "OpenAttach", on_attach_reply, "s", exec_id);
        return r < 0 ? r : 1;
}

/**
 * container_resize_terminal() - ResizeTerminal(id, exec_id, columns, rows)
 * @c: the container
 * @exec_id: "" for the init, else an exec process
 * @columns: the new width
 * @rows: the new height
 * @request: the call to answer
 * @error: set for the caller's mistakes
 */
int container_resize_terminal(Container *c, const char *exec_id, uint32_t columns, uint32_t rows,
                              sd_bus_message *request, sd_bus_error *error) {
        bool terminal = false, in = false;
        int r;

        r = io_target(c, exec_id, &terminal, &in, error);
        if (r < 0)
                return r;
        if (!terminal)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "%s%s of '%s' has no terminal.",
                                         isempty(exec_id) ? "The init" : "Process ", exec_id, c->id);
        if (columns == 0 || rows == 0 || columns > UINT16_MAX || rows > UINT16_MAX)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "A terminal of %" PRIu32 "x%" PRIu32 " is not possible.", columns, rows);
        r = io_check_shim(c, error);
        if (r < 0)
                return r;
        r = container_shim_call(c, request, "ResizeTerminal", NULL, "suu", exec_id, columns, rows);
        return r < 0 ? r : 1;
}

/**
 * container_close_stdin() - CloseStdin(id, exec_id): end of input for the process
 * @c: the container
 * @exec_id: "" for the init, else an exec process
 * @request: the call to answer
 * @error: set for the caller's mistakes
 */
int container_close_stdin(Container *c, const char *exec_id, sd_bus_message *request, sd_bus_error *error) {
        bool terminal = false, in = false;
        int r;

        r = io_target(c, exec_id, &terminal, &in, error);
        if (r < 0)
                return r;
        if (!in)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "%s%s of '%s' has no stdin of berth's (no OpenStdin, no terminal).",
                                         isempty(exec_id) ? "The init" : "Process ", exec_id, c->id);
        r = io_check_shim(c, error);
        if (r < 0)
                return r;
        r = container_shim_call(c, request, "CloseStdin", NULL, "s", exec_id);
        return r < 0 ? r : 1;
}
