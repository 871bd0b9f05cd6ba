/* The state files of one container directory: container.json, exit, started; and the enums
 * that name container state, exit reasons and log drivers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "atomic-file.h"
#include "macro.h"

/* File names inside a container's state directory (DESIGN.md "State directory"). */
#define STATE_FILE_CONFIG   "container.json"
#define STATE_FILE_SHIM_PID "shim.pid"
#define STATE_FILE_PID      "pid"
#define STATE_FILE_EXIT     "exit"
/* The exit record's reserved file (atomic-file.h): created with the container, renamed to "exit"
 * when it exits. Never read as a record. */
#define STATE_FILE_EXIT_RESERVED "exit.reserved"
#define STATE_FILE_STARTED  "started"
#define STATE_FILE_SOCKET   "shim.sock"
#define STATE_FILE_RUNTIME_LOG "log.json"
/* Written by berthd once ContainerExited went out, so a restart never sends it twice. */
#define STATE_FILE_REPORTED "reported"
/* Directory below the state directory used as the runtime's --root. Ids never start with '.'. */
#define STATE_RUNTIME_ROOT  ".runtime"

typedef enum ContainerState {
        CONTAINER_CREATED,
        CONTAINER_RUNNING,
        CONTAINER_PAUSED,
        CONTAINER_STOPPED,
        CONTAINER_UNKNOWN,
        _CONTAINER_STATE_MAX,
        _CONTAINER_STATE_INVALID = -EINVAL,
} ContainerState;

typedef enum ExitReason {
        EXIT_REASON_EXITED,
        EXIT_REASON_SIGNALED,
        EXIT_REASON_OOM_KILLED,
        EXIT_REASON_SHIM_LOST,
        _EXIT_REASON_MAX,
        _EXIT_REASON_INVALID = -EINVAL,
} ExitReason;

typedef enum LogDriver {
        LOG_DRIVER_FILE,
        LOG_DRIVER_JOURNALD,
        LOG_DRIVER_NONE,
        _LOG_DRIVER_MAX,
        _LOG_DRIVER_INVALID = -EINVAL,
} LogDriver;

const char *container_state_to_string(ContainerState s);
ContainerState container_state_from_string(const char *s);
const char *exit_reason_to_string(ExitReason r);
ExitReason exit_reason_from_string(const char *s);
const char *log_driver_to_string(LogDriver d);
LogDriver log_driver_from_string(const char *s);

/* What was asked for a container: written once by berthd, read by the shim and after restarts. */
typedef struct ContainerConfig {
        char *id;
        char *bundle;
        char *runtime;          /* absolute path of the runtime binary */
        char *runtime_root;     /* passed as --root to the runtime */
        char **runtime_args;    /* extra global arguments, before the command */
        LogDriver log_driver;
        char *log_path;         /* absolute; NULL with LOG_DRIVER_NONE */
        bool log_path_owned;    /* berthd chose it: removed with the container */
        char **labels;          /* key, value, key, value, ... NULL */
        bool terminal;
        bool open_stdin;        /* a stdin pipe that attach clients write to */
        bool no_pivot_root;
        uint64_t created_at;    /* µs, CLOCK_REALTIME */
} ContainerConfig;

ContainerConfig *container_config_free(ContainerConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerConfig *, container_config_free);

int container_config_to_json(const ContainerConfig *c, char **ret);
int container_config_from_json(const char *text, ContainerConfig **ret);   /* -EBADMSG if malformed */
int container_config_save(int dirfd, const ContainerConfig *c);
int container_config_load(int dirfd, ContainerConfig **ret);

/* The exit record. status follows DESIGN.md: code, 128+signal, 255 when the shim was lost. */
typedef struct ExitRecord {
        int status;
        int signal;             /* 0 unless reason is signaled/oom-killed */
        ExitReason reason;
        bool oom_killed;
        uint64_t finished_at;   /* µs, CLOCK_REALTIME */
} ExitRecord;

/* The longest "exit" file exit_record_format() writes, with room to spare. */
#define EXIT_RECORD_SIZE_MAX 256

/* Fills status, signal and reason from a waitpid() status; finished_at is set to now. */
void exit_record_from_wait_status(int wstatus, ExitRecord *ret);
int exit_record_format(const ExitRecord *r, char *buf, size_t size);
int exit_record_to_json(const ExitRecord *r, char **ret);
int exit_record_from_json(const char *text, ExitRecord *ret);
int exit_record_save(int dirfd, const ExitRecord *r);
int exit_record_load(int dirfd, ExitRecord *ret);  /* -ENOENT when the container has not exited */
/* The shim's way to write it: reserved when the container is created, committed when it exits. */
int exit_record_reserve(int dirfd, ReservedFile *ret);
int exit_record_commit(ReservedFile *f, int dirfd, const ExitRecord *r);

/* Small decimal files: "pid", "shim.pid", "started". */
int state_write_u64(int dirfd, const char *name, uint64_t v);
int state_read_u64(int dirfd, const char *name, uint64_t *ret);
