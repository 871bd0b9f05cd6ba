/* berth-shim: one process per container, for the container's whole life (docs/shim-protocol.md).
 *
 * The shim is split by concern, as conmon is, around one Shim context:
 *   shim.c          main(), argument parsing, setup, readiness line, event loop
 *   shim-runc.c     running the OCI runtime (create, start, kill, pause, resume, delete)
 *   shim-stdio.c    the container's stdout/stderr pipes and the CRI log file
 *   shim-reaper.c   SIGCHLD: reaping the init and reparented orphans (the shim is subreaper)
 *   shim-exit.c     the exit record: written once the init is gone and all output is drained
 *   shim-control.c  the control socket: org.berth.Shim1 over D-Bus peer-to-peer (common/dbus-wire.c)
 *
 * It links no libsystemd: its event loop is common/event-loop.c, its D-Bus the small server in
 * common/dbus-wire.c, its journal writer common/journal-send.c. A shim runs per container, and
 * libsystemd with the libraries it loads would cost each one ~180 KiB of private memory. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "berth-error.h"
#include "cri-log.h"
#include "dbus-wire.h"
#include "event-loop.h"
#include "json-state.h"
#include "macro.h"
#include "ratelimit.h"

/* One read() from a container pipe takes at most this much. */
#define SHIM_READ_BUFFER_SIZE (256U * 1024U)
/* Container pipes are enlarged to this (best effort), so bursts don't block the container. */
#define SHIM_PIPE_SIZE (1024 * 1024)
/* A container quiet for this long gets its shim's output buffers released (see shim-stdio.c). */
#define SHIM_BUFFERS_IDLE_USEC (2 * USEC_PER_SEC)
/* How long after the init's exit we wait for EOF on the pipes (another process may hold them). */
#define SHIM_DRAIN_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* How long Delete waits for a killed init to go away. */
#define SHIM_INIT_KILL_TIMEOUT_USEC (10 * USEC_PER_SEC)

typedef struct Shim Shim;

/* One of the container's output streams, when it goes to a pipe the shim owns. */
typedef struct ShimStream {
        Shim *shim;
        CriStream type;
        int fd;                         /* read end, nonblocking; -EBADF when not ours or closed */
        int child_fd;                   /* what the runtime's create gets as stdout/stderr */
        EventSource *source;
        bool eof;                       /* no more data will come (EOF, error, or drain timeout) */
} ShimStream;

/* One connection on the control socket. */
typedef struct ShimConn {
        Shim *shim;
        int fd;
        EventSource *source;
        DbusAuth auth;
        DbusBuffer in;                  /* received, not yet handled */
        DbusBuffer out;                 /* queued, not yet written */
        EventSource *auth_timeout_source; /* until the authentication is done */
        bool broken;                    /* dropped; its io handler frees it */
        uint32_t serial;                /* of the last message we sent */
        LIST_FIELDS(struct ShimConn, conns);
} ShimConn;

struct Shim {
        char *state_dir;                /* absolute path of the container's state directory */
        int dir_fd;
        ContainerConfig *config;
        uint64_t runtime_timeout_usec;

        EventLoop *loop;
        int signal_fd;                  /* SIGCHLD, SIGTERM, SIGINT, SIGHUP */
        EventSource *signal_source;

        /* The container's stdin as given to the runtime's create; closed after it. */
        int child_stdin_fd;
        ShimStream streams[_CRI_STREAM_MAX];
        int log_fd;                     /* the CRI log file, -EBADF unless LOG_DRIVER_FILE */
        char *read_buffer;              /* SHIM_READ_BUFFER_SIZE bytes */
        CriBuffer cri;                  /* formatted records, reused for every read */
        bool log_dropping;              /* output is being dropped: logged once, not for every chunk */
        size_t log_torn;                /* bytes of a cut-short record still at the log's end */
        uint64_t log_bytes_dropped;     /* stream bytes the log driver could not write */
        uint64_t log_dropped_sent;      /* the count last sent in LogDropped */
        EventSource *log_dropped_source; /* LogDropped goes out at most once per this timer */
        RateLimit log_ratelimit;
        bool buffers_used;              /* pages of the buffers were touched since last released */
        uint64_t last_read_usec;        /* CLOCK_MONOTONIC of the last read with data */
        EventSource *buffers_idle_source;

        ContainerState state;
        pid_t init_pid;                 /* 0 until created */
        bool init_exited;               /* reaped; exit holds its status */
        bool exit_reported;             /* the exit file is written and Exited was sent */
        bool deleted;                   /* Delete removed everything; nothing more is written */
        ExitRecord exit;
        ReservedFile exit_file;         /* "exit.reserved", taken before the create (shim-exit.c) */
        unsigned exit_write_failures;   /* attempts to write the record that failed */
        EventSource *exit_retry_source;
        RateLimit exit_ratelimit;
        uint64_t started_at;
        EventSource *drain_timeout_source;
        int oom_fd;                     /* memory.oom_control (v1) or memory.events (v2), or -EBADF */
        uint64_t oom_kills_at_create;

        int listen_fd;
        EventSource *listen_source;
        int reserve_fd;                 /* /dev/null, given up to accept (and refuse) at the fd limit */
        EventSource *accept_pause_source;
        RateLimit control_ratelimit;    /* warnings about the control socket */
        ShimConn *conns;
        unsigned n_conns;
        unsigned hello_count;           /* unique names handed out to clients that say Hello */
};

/* shim-runc.c */
int shim_runtime_create(Shim *s, BerthError *error);
int shim_runtime_start(Shim *s, BerthError *error);
int shim_runtime_kill(Shim *s, int sig, bool all, BerthError *error);
int shim_runtime_pause(Shim *s, BerthError *error);
int shim_runtime_resume(Shim *s, BerthError *error);
int shim_runtime_delete(Shim *s, bool force, BerthError *error);
int shim_wait_child(pid_t pid, uint64_t timeout_usec, bool reap, int *ret_wstatus);

/* shim-stdio.c */
int shim_stdio_setup(Shim *s);
int shim_stdio_start(Shim *s);
void shim_stdio_drain(Shim *s);
bool shim_stdio_is_drained(const Shim *s);
void shim_stdio_done(Shim *s);

/* shim-reaper.c */
void shim_on_sigchld(Shim *s);
void shim_reap(Shim *s);
void shim_reap_init(Shim *s, uint64_t timeout_usec);

/* shim-exit.c */
int shim_exit_reserve(Shim *s, BerthError *error);
void shim_oom_setup(Shim *s);
void shim_exit_check(Shim *s);
void shim_exit_done(Shim *s);

/* shim-control.c */
int shim_control_listen(Shim *s);
int shim_start(Shim *s, BerthError *error);
void shim_record_started(Shim *s);
void shim_control_emit_started(Shim *s);
void shim_control_emit_exited(Shim *s);
void shim_control_log_dropped(Shim *s);
void shim_control_flush(Shim *s);
void shim_control_done(Shim *s);
