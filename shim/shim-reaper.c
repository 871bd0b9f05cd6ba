/* Reaping. The shim is the child subreaper of everything the runtime starts: the container's init
 * is reparented to it when "runtime create" exits, and so is any orphan of the container when
 * it has no pid namespace of its own. On every SIGCHLD all exited children are reaped with
 * waitpid(-1, WNOHANG); the init's status is kept for the exit record, others are just reaped.
 *
 * Runtime invocations are never seen here: shim-runc.c reaps them itself (by pid) before the
 * event loop runs again. */

#include <errno.h>
#include <sys/wait.h>

#include "log.h"
#include "shim.h"

static void init_exited(Shim *s, int wstatus) {
        s->init_exited = true;
        exit_record_from_wait_status(wstatus, &s->exit);

        if (WIFEXITED(wstatus))
                log_container(LOG_INFO, s->config->id, "Init of '%s' (pid %d) exited with status %d.",
                              s->config->id, (int) s->init_pid, WEXITSTATUS(wstatus));
        else
                log_container(LOG_INFO, s->config->id, "Init of '%s' (pid %d) was killed by signal %d (%s).",
                              s->config->id, (int) s->init_pid, WTERMSIG(wstatus),
                              strsignal(WTERMSIG(wstatus)));
}

/**
 * shim_reap() - reap every child that has exited, recording the init's status
 * @s: the shim
 *
 * Does not report anything; shim_exit_check() does once the output is drained.
 */
void shim_reap(Shim *s) {
        for (;;) {
                int wstatus = 0;
                pid_t pid;

                pid = waitpid(-1, &wstatus, WNOHANG);
                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != ECHILD)
                                log_warning_errno(errno, "Failed to reap children, ignoring: %m");
                        return;
                }
                if (pid == 0)
                        return;

                if (s->init_pid > 0 && pid == s->init_pid && !s->init_exited)
                        init_exited(s, wstatus);
                else
                        log_debug("Reaped process %d.", (int) pid);
        }
}

/**
 * shim_reap_init() - wait for the container's init to exit and reap it
 * @s: the shim
 * @timeout_usec: how long to wait
 *
 * For after the runtime killed the container (Delete with force): no zombie must remain.
 */
void shim_reap_init(Shim *s, uint64_t timeout_usec) {
        int wstatus, r;

        if (s->init_pid <= 0 || s->init_exited)
                return;

        r = shim_wait_child(s->init_pid, timeout_usec, true, &wstatus);
        if (r == -ECHILD) {
                /* Not ours (the runtime failed before the reparenting), or already gone. */
                s->init_exited = true;
                return;
        }
        if (r < 0) {
                log_container_errno(LOG_WARNING, s->config->id, r,
                                    "Init of '%s' (pid %d) did not go away: %m",
                                    s->config->id, (int) s->init_pid);
                return;
        }
        init_exited(s, wstatus);
}

/**
 * shim_on_sigchld() - on SIGCHLD: reap, then see whether the exit can be reported
 * @s: the shim
 */
void shim_on_sigchld(Shim *s) {
        shim_reap(s);
        shim_exit_check(s);
}
