/* Exec processes through the shim (Shim1 Exec, StartProcess, KillProcess, DeleteProcess,
 * GetProcesses; ProcessStarted and ProcessExited): the calls, their replies, and what the shim
 * reports of its processes after berthd (re-)attached. */

#include <signal.h>

#include "bus-error.h"
#include "container.h"
#include "exec-sync.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "process.h"

static Process *pending_process(PendingCall *pc) {
        return pc->exec_id ? container_get_process(pc->container, pc->exec_id) : NULL;
}

static int reply_error(PendingCall *pc, const sd_bus_error *e) {
        return pc->request ? sd_bus_reply_method_error(pc->request, e) : 0;
}

static const sd_bus_error bad_reply = SD_BUS_ERROR_MAKE_CONST(BERTH_ERROR_SHIM_FAILED,
                                                              "The shim sent a bad reply to Exec.");

static int on_exec_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *pc = userdata;
        Process *p = pending_process(pc);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t pid = 0;
        int r;

        if (!p)
                return pc->request ? sd_bus_reply_method_errorf(pc->request, BERTH_ERROR_NO_SUCH_CONTAINER,
                                                                "Container '%s' went away.", pc->container->id) : 0;
        p->starting = false;
        if (!e && sd_bus_message_read(reply, "u", &pid) < 0)
                e = &bad_reply;
        if (e) {
                log_container(LOG_WARNING, p->container->id, "Exec '%s' failed: %s", p->exec_id, e->message);
                r = reply_error(pc, e);
                if (p->sync)
                        exec_sync_failed(p->sync, e);
                process_free(p);
                return r;
        }

        if (pid > 0)
                process_set_started(p, (pid_t) pid, now_usec(CLOCK_REALTIME));
        process_export(p, true);
        log_container(LOG_INFO, p->container->id, "Exec '%s' of '%s' %s, pid %u.", p->exec_id, p->container->id,
                      pid > 0 ? "started" : "created", pid);
        return pc->request ? sd_bus_reply_method_return(pc->request, "o", p->path) : 0;
}

static int append_fd_option(sd_bus_message *m, const char *key, int fd) {
        if (fd < 0)
                return 0;
        return sd_bus_message_append(m, "{sv}", key, "h", fd);
}

/**
 * container_exec() - run a new exec process in @c through its shim
 * @c: the container, running
 * @exec_id: a valid exec id, not used in @c
 * @process_json: the OCI process object (checked and completed: process-spec.c)
 * @terminal: whether it has a terminal
 * @open_stdin: give it a stdin pipe that attach clients write to
 * @stdio: the caller's stdin, stdout, stderr, or -EBADF each
 * @start: start it now (else it stays created for StartProcess)
 * @request: the call to answer with the process's path, or NULL
 * @ret: the new process, not on the bus until the shim made it
 */
int container_exec(Container *c, const char *exec_id, const char *process_json, bool terminal, bool open_stdin,
                   const int stdio[3], bool start, sd_bus_message *request, Process **ret) {
        static const char *const keys[3] = { "Stdin", "Stdout", "Stderr" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(process_freep) Process *p = NULL;
        int r;

        r = container_shim_new_call(c, "Exec", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", exec_id, process_json);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "Start", "b", start);
        if (r >= 0 && open_stdin)
                r = sd_bus_message_append(m, "{sv}", "OpenStdin", "b", true);
        for (size_t i = 0; i < 3 && r >= 0; i++)
                r = append_fd_option(m, keys[i], stdio[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;

        r = process_new(c, exec_id, terminal, &p);
        if (r < 0)
                return r;
        r = container_shim_call_message(c, request, m, on_exec_reply, exec_id);
        if (r < 0)
                return r;
        p->starting = start;
        p->open_stdin = open_stdin;
        *ret = TAKE_PTR(p);
        return 0;
}

static int on_start_process_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *pc = userdata;
        Process *p = pending_process(pc);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint64_t started_at;
        uint32_t pid;

        if (p)
                p->starting = false;
        if (e)
                return reply_error(pc, e);
        if (sd_bus_message_read(reply, "ut", &pid, &started_at) < 0)
                return pc->request ? sd_bus_reply_method_errorf(pc->request, BERTH_ERROR_SHIM_FAILED,
                                                                "The shim sent a bad reply.") : 0;
        if (p)
                process_set_started(p, (pid_t) pid, started_at);
        return pc->request ? sd_bus_reply_method_return(pc->request, NULL) : 0;
}

/**
 * process_start() - start a created exec process; @request is answered once it runs
 * @p: the process, created
 * @request: the call to answer
 */
int process_start(Process *p, sd_bus_message *request) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = container_shim_new_call(p->container, "StartProcess", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", p->exec_id);
        if (r >= 0)
                r = container_shim_call_message(p->container, request, m, on_start_process_reply, p->exec_id);
        if (r < 0)
                return r;
        p->starting = true;
        return 0;
}

/**
 * process_kill() - send a signal to a running exec process
 * @p: the process
 * @sig: the signal
 * @request: the call to answer, or NULL
 */
int process_kill(Process *p, int sig, sd_bus_message *request) {
        return container_shim_call(p->container, request, "KillProcess", NULL, "si", p->exec_id, (int32_t) sig);
}

static int on_delete_process_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *pc = userdata;
        Process *p = pending_process(pc);
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                if (p)
                        p->deleting = false;
                return reply_error(pc, e);
        }
        if (p)
                process_remove(p);
        return pc->request ? sd_bus_reply_method_return(pc->request, NULL) : 0;
}

/**
 * process_delete() - forget a created or stopped exec process, in the shim and on the bus
 * @p: the process
 * @request: the call to answer, or NULL
 */
int process_delete(Process *p, sd_bus_message *request) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!p->container->shim_bus) {
                /* The shim is gone, and with it the process: only the object remains. */
                process_remove(p);
                return request ? sd_bus_reply_method_return(request, NULL) : 0;
        }
        r = container_shim_new_call(p->container, "DeleteProcess", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", p->exec_id);
        if (r >= 0)
                r = container_shim_call_message(p->container, request, m, on_delete_process_reply, p->exec_id);
        if (r < 0)
                return r;
        p->deleting = true;
        return 0;
}

static ExitRecord exit_record_from_signal(int32_t status, const char *reason, uint64_t finished_at) {
        ExitRecord e = {
                .status = status,
                .reason = exit_reason_from_string(reason),
                .finished_at = finished_at,
        };

        if (e.reason < 0)
                e.reason = EXIT_REASON_EXITED;
        e.oom_killed = e.reason == EXIT_REASON_OOM_KILLED;
        if (IN_SET(e.reason, EXIT_REASON_SIGNALED, EXIT_REASON_OOM_KILLED) && e.status > 128)
                e.signal = e.status - 128;
        return e;
}

/**
 * container_on_process_signal() - ProcessStarted or ProcessExited from the shim
 * @c: the container
 * @message: the signal
 *
 * Return: 1 if it was one of them, else 0.
 */
int container_on_process_signal(Container *c, sd_bus_message *message) {
        const char *exec_id, *reason;
        uint64_t started_at, finished_at;
        int32_t status;
        uint32_t pid;
        Process *p;

        if (sd_bus_message_is_signal(message, SHIM_INTERFACE, "ProcessStarted")) {
                if (sd_bus_message_read(message, "sut", &exec_id, &pid, &started_at) >= 0 &&
                    (p = container_get_process(c, exec_id)) && p->state == CONTAINER_CREATED && !p->starting)
                        process_set_started(p, (pid_t) pid, started_at);
                return 1;
        }
        if (sd_bus_message_is_signal(message, SHIM_INTERFACE, "ProcessExited")) {
                ExitRecord e;

                if (sd_bus_message_read(message, "sist", &exec_id, &status, &reason, &finished_at) < 0)
                        return 1;
                p = container_get_process(c, exec_id);
                if (!p)
                        return 1;
                e = exit_record_from_signal(status, reason, finished_at);
                process_set_exited(p, &e, true);
                return 1;
        }
        return 0;
}

/* One entry of GetProcesses: make or update the Process, the shim being the truth. */
static int apply_process(Container *c, const char *exec_id, const char *state, uint32_t pid, int32_t status,
                         const char *reason, uint64_t started_at, uint64_t finished_at) {
        ContainerState s = container_state_from_string(state);
        Process *p = container_get_process(c, exec_id);
        int r;

        if (s < 0 || !exec_id_is_valid(exec_id, true))
                return -EBADMSG;
        if (!p) {
                r = process_new(c, exec_id, false, &p);
                if (r < 0)
                        return r;
                process_export(p, false);
        }
        if (s == CONTAINER_STOPPED) {
                ExitRecord e = exit_record_from_signal(status, reason, finished_at);
                process_set_exited(p, &e, true);
        } else if (s == CONTAINER_RUNNING)
                process_set_started(p, (pid_t) pid, started_at);

        /* ExecSync's own processes outlive their call only across a restart: the caller is gone. */
        if (exec_id[0] == '.' && !p->sync) {
                if (s == CONTAINER_RUNNING)
                        (void) process_kill(p, SIGKILL, NULL);
                else
                        (void) process_delete(p, NULL);
        }
        return 0;
}

static int on_processes_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *pc = userdata;
        Container *c = pc->container;
        const char *exec_id, *state, *reason;
        uint64_t started_at, finished_at;
        int32_t status;
        uint32_t pid;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_container(LOG_WARNING, c->id, "GetProcesses on the shim of '%s' failed: %s", c->id,
                              sd_bus_message_get_error(reply)->message);
                return 0;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ssuistt)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssuistt)", &exec_id, &state, &pid, &status, &reason,
                                                  &started_at, &finished_at)) > 0)
                r = apply_process(c, exec_id, state, pid, status, reason, started_at, finished_at);
        if (r < 0)
                log_container_errno(LOG_WARNING, c->id, r, "Bad GetProcesses reply from the shim of '%s': %m",
                                    c->id);
        return 0;
}

/**
 * container_sync_processes() - ask the shim for its exec processes (after attaching)
 * @c: the container, attached
 */
int container_sync_processes(Container *c) {
        return container_shim_call(c, NULL, "GetProcesses", on_processes_reply, NULL);
}

/**
 * container_processes_lost() - the shim is gone: its running processes are lost, as the init
 * @c: the container
 */
void container_processes_lost(Container *c) {
        ExitRecord e = {
                .status = 255,
                .reason = EXIT_REASON_SHIM_LOST,
                .finished_at = now_usec(CLOCK_REALTIME),
        };

        LIST_FOREACH_SAFE(processes, p, n, c->processes)
                if (!p->exited)
                        process_set_exited(p, &e, true);
}

/**
 * container_remove_processes() - take every exec process of @c off the bus and free it
 * @c: the container, going away
 */
void container_remove_processes(Container *c) {
        while (c->processes)
                process_remove(c->processes);
}
