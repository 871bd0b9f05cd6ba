/* berth-shim's main(): parses the command line, prepares the process (subreaper, signals,
 * environment), creates the container through the runtime, reports readiness on --ready-fd and
 * then serves the control socket until Delete.
 *
 * Life of a shim: berthd spawns it and reads one line from --ready-fd, "READY <pid>" once the
 * container is created and the control socket listens, or "ERROR <name> <message>" when creation
 * failed (the shim then has cleaned up the runtime's state and exits 1). After READY the shim
 * stays up whatever happens to berthd: SIGTERM, SIGINT and SIGHUP are only logged. It exits 0
 * after a successful Delete. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "atomic-file.h"
#include "berth-error.h"
#include "fd-util.h"
#include "log.h"
#include "path-util.h"
#include "shim.h"
#include "shim-protocol.h"

static const char *arg_id = NULL;
static const char *arg_state_dir = NULL;
static int arg_ready_fd = -EBADF;
static int arg_stdin_fd = -EBADF;
static int arg_stdout_fd = -EBADF;
static int arg_stderr_fd = -EBADF;
static bool arg_debug = false;
static bool arg_start = false;

static const int shim_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

static Shim *shim_free(Shim *s) {
        if (!s)
                return NULL;

        shim_control_done(s);
        shim_exit_done(s);
        shim_stdio_done(s);
        s->signal_source = event_source_free(s->signal_source);
        event_loop_free(s->loop);
        safe_close(s->signal_fd);
        container_config_free(s->config);
        safe_close(s->dir_fd);
        free(s->state_dir);
        return mfree(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Shim *, shim_free);

static int shim_new(Shim **ret) {
        Shim *s;

        s = calloc(1, sizeof(Shim));
        if (!s)
                return -ENOMEM;

        s->dir_fd = -EBADF;
        s->child_stdin_fd = -EBADF;
        s->log_fd = -EBADF;
        s->listen_fd = -EBADF;
        s->reserve_fd = -EBADF;
        s->control_ratelimit = RATELIMIT_INIT(10 * USEC_PER_SEC, 10);
        s->log_ratelimit = RATELIMIT_INIT(60 * USEC_PER_SEC, 4);
        s->signal_fd = -EBADF;
        s->oom_fd = -EBADF;
        s->exit_file = RESERVED_FILE_NULL;
        s->exit_ratelimit = RATELIMIT_INIT(60 * USEC_PER_SEC, 5);
        s->state = CONTAINER_UNKNOWN;
        s->runtime_timeout_usec = RUNTIME_TIMEOUT_DEFAULT_USEC;
        for (CriStream t = 0; t < _CRI_STREAM_MAX; t++)
                s->streams[t] = (ShimStream) {
                        .shim = s,
                        .type = t,
                        .fd = -EBADF,
                        .child_fd = -EBADF,
                };

        *ret = s;
        return 0;
}

static void help(void) {
        printf("%s --id ID --state-dir DIR [OPTIONS...]\n\n"
               "Supervises one OCI container for berthd (see docs/shim-protocol.md).\n\n"
               "  -h --help            Show this help\n"
               "     --version         Show the version\n"
               "     --id ID           The container's id\n"
               "     --state-dir DIR   The container's state directory, holding container.json\n"
               "     --ready-fd N      Write READY/ERROR to this fd once creation is done\n"
               "     --stdin-fd N      Give this fd to the container as its stdin\n"
               "     --stdout-fd N     Give this fd to the container as its stdout (not logged)\n"
               "     --stderr-fd N     Give this fd to the container as its stderr (not logged)\n"
               "     --start           Start the container right after creating it\n"
               "     --debug           Log debug messages\n",
               program_invocation_short_name);
}

static int parse_fd(const char *opt, const char *s, int *ret) {
        char *end;
        long l;

        errno = 0;
        l = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != 0 || l < 0 || l > INT_MAX)
                return log_error_errno(EINVAL, "Invalid file descriptor for %s: '%s'", opt, s);
        if (fcntl((int) l, F_GETFD) < 0)
                return log_error_errno(errno, "File descriptor %ld given with %s is not open: %m", l, opt);

        /* Nothing we spawn inherits it by accident. */
        (void) fd_set_cloexec((int) l, true);
        *ret = (int) l;
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_ID,
                ARG_STATE_DIR,
                ARG_READY_FD,
                ARG_STDIN_FD,
                ARG_STDOUT_FD,
                ARG_STDERR_FD,
                ARG_DEBUG,
                ARG_START,
        };
        static const struct option options[] = {
                { "help",      no_argument,       NULL, 'h'           },
                { "version",   no_argument,       NULL, ARG_VERSION   },
                { "id",        required_argument, NULL, ARG_ID        },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "ready-fd",  required_argument, NULL, ARG_READY_FD  },
                { "stdin-fd",  required_argument, NULL, ARG_STDIN_FD  },
                { "stdout-fd", required_argument, NULL, ARG_STDOUT_FD },
                { "stderr-fd", required_argument, NULL, ARG_STDERR_FD },
                { "debug",     no_argument,       NULL, ARG_DEBUG     },
                { "start",     no_argument,       NULL, ARG_START     },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("berth-shim %s\n", BERTH_VERSION);
                        return 0;
                case ARG_ID:
                        arg_id = optarg;
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_READY_FD:
                        r = parse_fd("--ready-fd", optarg, &arg_ready_fd);
                        if (r < 0)
                                return r;
                        break;
                case ARG_STDIN_FD:
                        r = parse_fd("--stdin-fd", optarg, &arg_stdin_fd);
                        if (r < 0)
                                return r;
                        break;
                case ARG_STDOUT_FD:
                        r = parse_fd("--stdout-fd", optarg, &arg_stdout_fd);
                        if (r < 0)
                                return r;
                        break;
                case ARG_STDERR_FD:
                        r = parse_fd("--stderr-fd", optarg, &arg_stderr_fd);
                        if (r < 0)
                                return r;
                        break;
                case ARG_DEBUG:
                        arg_debug = true;
                        break;
                case ARG_START:
                        arg_start = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        assert(false);
                        return -EINVAL;
                }
        }

        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument '%s'.", argv[optind]);
        if (!arg_id || !container_id_is_valid(arg_id))
                return log_error_errno(EINVAL, "A valid container id must be given with --id.");
        if (isempty(arg_state_dir))
                return log_error_errno(EINVAL,
                                       "The container's state directory must be given with --state-dir.");

        return 1;
}

static void ready_report(const char *line) {
        int r;

        if (arg_ready_fd < 0)
                return;

        r = write_full(arg_ready_fd, line, strlen(line));
        if (r < 0)
                log_warning_errno(r, "Failed to write to the ready fd, ignoring: %m");
        arg_ready_fd = safe_close(arg_ready_fd);
}

static void ready_report_error(const BerthError *error) {
        _cleanup_free_ char *line = NULL;
        ReadyLine r = {
                .error_name = error->name ?: BERTH_ERROR_SHIM_FAILED,
                .error_message = error->message ?: "The shim failed to create the container.",
        };

        if (ready_line_format(&r, &line) < 0) {
                ready_report(SHIM_ERROR_PREFIX BERTH_ERROR_SHIM_FAILED " Out of memory.\n");
                return;
        }
        ready_report(line);
}

/* Created; with --start also started, or the start's error. */
static void ready_report_created(Shim *s, const BerthError *start_error) {
        _cleanup_free_ char *line = NULL;
        ReadyLine r = { .pid = s->init_pid };

        if (arg_start && !berth_error_is_set(start_error))
                r.started_at = s->started_at;
        else if (arg_start) {
                r.error_name = start_error->name;
                r.error_message = start_error->message ?: "Starting the container failed.";
        }
        if (ready_line_format(&r, &line) < 0) {
                /* Without the line berthd would kill us; say at least that the container exists. */
                char fallback[64];
                (void) snprintf(fallback, sizeof(fallback), SHIM_READY_PREFIX "%d\n", (int) s->init_pid);
                ready_report(fallback);
                return;
        }
        ready_report(line);
}

static int setup_failed(BerthError *error, int r, const char *format, ...) _printf_(3, 4);
static int setup_failed(BerthError *error, int r, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&message, format, ap);
        va_end(ap);
        if (k < 0)
                return log_oom();

        log_error("%s: %s", message, strerror(r < 0 ? -r : r));
        (void) berth_error_setf(error, BERTH_ERROR_SHIM_FAILED, "%s: %s", message,
                                 strerror(r < 0 ? -r : r));
        return r < 0 ? r : -r;
}

static int on_signal(EventSource *source, int fd, uint32_t revents, void *userdata) {
        Shim *s = userdata;
        struct signalfd_siginfo si;
        bool sigchld = false;

        /* SIGCHLD is handled once for however many arrived: shim_reap() reaps them all. */
        while (read(fd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                if (si.ssi_signo == SIGCHLD) {
                        sigchld = true;
                        continue;
                }
                /* The shim outlives berthd and anything that signals it: only Delete ends it. */
                log_container(LOG_INFO, s->config->id,
                              "Received %s from pid %" PRIu32 ", the container keeps running.",
                              strsignal((int) si.ssi_signo), si.ssi_pid);
        }
        if (sigchld)
                shim_on_sigchld(s);
        return 0;
}

static int setup_process(Shim *s, BerthError *error) {
        sigset_t mask;
        int r;

        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                return setup_failed(error, -errno, "Failed to become child subreaper");

        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return setup_failed(error, -errno, "Failed to ignore SIGPIPE");

        /* Blocked before anything is forked, so no SIGCHLD is ever missed. */
        (void) sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(shim_signals); i++)
                (void) sigaddset(&mask, shim_signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return setup_failed(error, -errno, "Failed to block signals");

        /* These were meant for berthd; neither the runtime nor the container may see them. */
        for (size_t i = 0; i < ELEMENTSOF(shim_env_drop); i++)
                (void) unsetenv(shim_env_drop[i]);

        r = event_loop_new(&s->loop);
        if (r < 0)
                return setup_failed(error, r, "Failed to allocate the event loop");

        s->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->signal_fd < 0)
                return setup_failed(error, -errno, "Failed to create a signalfd");
        r = event_add_io(s->loop, &s->signal_source, s->signal_fd, EPOLLIN, on_signal, s);
        if (r < 0)
                return setup_failed(error, r, "Failed to watch signals");

        return 0;
}

static int open_state_dir(Shim *s, BerthError *error) {
        _cleanup_free_ char *cwd = NULL;
        int r;

        /* The runtime gets paths below it, so it must not depend on our working directory. */
        if (path_is_absolute(arg_state_dir))
                s->state_dir = strdup(arg_state_dir);
        else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return setup_failed(error, -errno, "Failed to get the working directory");
                if (asprintf(&s->state_dir, "%s/%s", cwd, arg_state_dir) < 0)
                        s->state_dir = NULL;
        }
        if (!s->state_dir)
                return setup_failed(error, -ENOMEM, "Failed to store the state directory");

        s->dir_fd = open(s->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0)
                return setup_failed(error, -errno, "Failed to open the state directory '%s'", s->state_dir);

        /* Keep no directory of berthd's busy. */
        if (chdir("/") < 0)
                log_warning_errno(errno, "Failed to change to '/', ignoring: %m");

        r = container_config_load(s->dir_fd, &s->config);
        if (r < 0)
                return setup_failed(error, r, "Failed to load '%s/" STATE_FILE_CONFIG "'", s->state_dir);
        if (!streq(s->config->id, arg_id))
                return setup_failed(error, -EINVAL, "The id in '%s/" STATE_FILE_CONFIG "' is '%s', not '%s'",
                                    s->state_dir, s->config->id, arg_id);

        r = state_write_u64(s->dir_fd, STATE_FILE_SHIM_PID, (uint64_t) getpid());
        if (r < 0)
                return setup_failed(error, r, "Failed to write '%s/" STATE_FILE_SHIM_PID "'", s->state_dir);

        return 0;
}

static int shim_setup(Shim *s, BerthError *error) {
        int r;

        r = open_state_dir(s, error);
        if (r < 0)
                return r;

        r = setup_process(s, error);
        if (r < 0)
                return r;
        if (runtime_timeout_from_env(&s->runtime_timeout_usec) < 0)
                log_warning("Invalid $BERTH_RUNTIME_TIMEOUT_SEC '%s', ignoring.",
                            getenv("BERTH_RUNTIME_TIMEOUT_SEC"));

        if (s->config->terminal) {
                log_container(LOG_ERR, s->config->id,
                              "Terminal containers are not supported by this shim yet.");
                return berth_error_setf(error, BERTH_ERROR_NOT_SUPPORTED,
                                         "Containers with a terminal are not supported yet.");
        }

        s->child_stdin_fd = TAKE_FD(arg_stdin_fd);
        s->streams[CRI_STREAM_STDOUT].child_fd = TAKE_FD(arg_stdout_fd);
        s->streams[CRI_STREAM_STDERR].child_fd = TAKE_FD(arg_stderr_fd);
        r = shim_stdio_setup(s);
        if (r < 0)
                return setup_failed(error, r, "Failed to set up the output of '%s'", s->config->id);

        r = shim_exit_reserve(s, error);
        if (r < 0)
                return r;

        r = shim_runtime_create(s, error);
        if (r < 0)
                return r;
        s->state = CONTAINER_CREATED;

        r = shim_stdio_start(s);
        if (r < 0)
                return setup_failed(error, r, "Failed to watch the output of '%s'", s->config->id);

        shim_oom_setup(s);

        r = shim_control_listen(s);
        if (r < 0)
                return setup_failed(error, r, "Failed to listen on '%s/" STATE_FILE_SOCKET "'",
                                    s->state_dir);

        return 0;
}

static void shim_setup_undo(Shim *s) {
        _cleanup_(berth_error_free) BerthError error = BERTH_ERROR_NULL;
        int r;

        if (s->listen_fd >= 0)
                (void) unlinkat(s->dir_fd, STATE_FILE_SOCKET, 0);

        if (s->state == CONTAINER_CREATED) {
                /* The runtime created it but something of ours failed: take it down again. */
                r = shim_runtime_delete(s, true, &error);
                if (r < 0)
                        log_container(LOG_WARNING, s->config->id,
                                      "Failed to delete '%s' after a failed setup: %s",
                                      s->config->id, error.message ?: strerror(-r));
                s->deleted = true;
                shim_reap_init(s, SHIM_INIT_KILL_TIMEOUT_USEC);
        }

        /* Reparented leftovers of the runtime go with us; don't leave zombies for our parent. */
        shim_reap(s);
}

/* With 0..2 closed, our own pipes could land there and be clobbered when a child's stdio is set up. */
static void stdio_ensure_open(void) {
        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
                        int null_fd = open("/dev/null", O_RDWR | O_NOCTTY);

                        if (null_fd >= 0 && null_fd != fd) {
                                (void) dup2(null_fd, fd);
                                (void) close(null_fd);
                        }
                }
}

static int run(int argc, char *argv[]) {
        _cleanup_(shim_freep) Shim *s = NULL;
        _cleanup_(berth_error_free) BerthError error = BERTH_ERROR_NULL, start_error = BERTH_ERROR_NULL;
        int r;

        stdio_ensure_open();
        log_setup("berth-shim");

        r = parse_argv(argc, argv);
        if (r <= 0) {
                if (r < 0) {
                        (void) berth_error_setf(&error, BERTH_ERROR_SHIM_FAILED,
                                                 "The shim was started with bad arguments.");
                        ready_report_error(&error);
                }
                return r;
        }
        if (arg_debug)
                log_set_max_level(LOG_DEBUG);

        r = shim_new(&s);
        if (r < 0) {
                (void) berth_error_setf(&error, BERTH_ERROR_SHIM_FAILED, "Out of memory.");
                ready_report_error(&error);
                return log_oom();
        }

        r = shim_setup(s, &error);
        if (r < 0) {
                if (!berth_error_is_set(&error))
                        (void) berth_error_setf(&error, BERTH_ERROR_SHIM_FAILED,
                                                 "Creating the container failed: %s",
                                                 strerror(-r));
                if (s->config)
                        shim_setup_undo(s);
                ready_report_error(&error);
                return r;
        }

        log_container(LOG_INFO, s->config->id, "Container '%s' created, init pid %d.", s->config->id,
                      (int) s->init_pid);
        /* Failing to start is not failing to create: the container stays, created, as after Start(). */
        if (arg_start)
                (void) shim_start(s, &start_error);
        ready_report_created(s, &start_error);
        if (s->started_at > 0)
                shim_record_started(s);

        r = event_loop_run(s->loop);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

int main(int argc, char *argv[]) {
        int r;

        r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
