/* berth-bench: the timing driver behind bench/run-bench.
 *
 * One process drives every supervisor the way its own client would, and times each request with
 * CLOCK_MONOTONIC:
 *   runc        `runc create` + `runc start` (the physical limit); the driver is child subreaper, so
 *               a container's init becomes its child and waitpid() gives the exit status;
 *   conmon      spawned as podman does (sync and start pipes, --exit-dir, --persist-dir,
 *               -l k8s-file:PATH), then `runc start`, then the exit file (inotify), then `runc delete`;
 *   containerd  `ctr run` (the Debian containerd + containerd-shim-runc-v2, on the private socket
 *               run-bench started);
 *   berth       sd-bus calls to berthd on the private bus run-bench started.
 * Each workload runs the supervisors interleaved (A B C D, then D C B A, ...) and prints one JSON
 * object with the raw samples on stdout; bench/report.py turns them into medians, ratios and
 * budget verdicts.  Progress and errors go to stderr.
 *
 * Usage: berth-bench start N | lifecycle N BLOCK | memory COUNT | output MIB ROUNDS | scale N |
 *        cleanup
 * Configuration comes from BB_* environment variables set by run-bench (see cfg_load()).
 * Every container the driver makes is recorded in a list; on any failure, and by `cleanup`, all
 * of them are deleted before it exits.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

typedef enum Sup {
        SUP_RUNC,
        SUP_CONMON,
        SUP_CONTAINERD,
        SUP_BERTH,
        _SUP_MAX,
} Sup;

static const char *const sup_names[_SUP_MAX] = { "runc", "conmon", "containerd", "berth" };

/* Paths and pids from run-bench. */
static struct {
        const char *tmp;          /* scratch dir for roots, logs, pid files */
        const char *runc;
        const char *conmon;
        const char *ctr;
        const char *ctr_address;
        const char *ctr_ns;
        const char *bus_address;
        const char *bundle_sleep; /* runs `sleep 1000000` */
        const char *bundle_true;  /* runs `true` */
        const char *bundle_output;/* writes BB_OUTPUT_MIB of 4 KiB lines */
        pid_t berthd_pid;
        pid_t containerd_pid;
        int settle_ms;
        bool sups[_SUP_MAX];
} cfg;

static sd_bus *bus;
static int devnull = -1;
static int errlog = -1;      /* stderr of runc/conmon/ctr: $BB_TMP/tools.log */
static int exit_inotify = -1;

/* The containers alive right now, for cleanup on failure. */
typedef struct Ctr {
        Sup sup;
        char id[96];
        pid_t pid;          /* container init */
        pid_t sup_pid;      /* conmon process (conmon only) */
        bool exited;        /* init reaped by reap_orphans(), status in exit_status */
        bool sup_exited;    /* conmon reaped by reap_orphans() */
        int exit_status;
        struct Ctr *next;
} Ctr;
static Ctr *live;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* ---- small utilities ---------------------------------------------------------------------- */

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static const char *env_req(const char *name) {
        const char *v = getenv(name);

        if (!v || !*v)
                die("%s is not set (run bench/run-bench, not this driver)", name);
        return v;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        return s;
}

static long read_long_file(const char *path) {
        char buf[64] = {};
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -EIO;
        return strtol(buf, NULL, 10);
}

/* Pss and private (Private_Clean + Private_Dirty: what the process alone costs) memory of one
 * process in KiB, from smaps_rollup; -errno if it is gone. */
static int mem_kib(pid_t pid, long *ret_pss, long *ret_private) {
        char path[64], line[256];
        long pss = -1, pc = 0, pd = 0, v;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "Pss: %ld kB", &v) == 1)
                        pss = v;
                else if (sscanf(line, "Private_Clean: %ld kB", &v) == 1)
                        pc = v;
                else if (sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
                        pd = v;
        }
        fclose(f);
        if (pss < 0)
                return -EIO;
        *ret_pss = pss;
        if (ret_private)
                *ret_private = pc + pd;
        return 0;
}

static pid_t parent_of(pid_t pid) {
        char path[64], buf[1024];
        ssize_t n;
        char *p;
        int fd, ppid;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -EIO;
        buf[n] = 0;
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1)
                return -EIO;
        return ppid;
}

/* ---- children ------------------------------------------------------------------------------ */

/* The driver is child subreaper, so orphaned container inits (runc) and daemonized conmons become
 * its children.  reap_orphans() collects them between operations and files each status with its
 * container; a pid it does not know is some runc helper and is dropped.  Children the driver
 * spawned itself are waited for at once by pid and never go through here. */
static void reap_orphans(void) {
        pid_t p;
        int st;

        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                for (Ctr *c = live; c; c = c->next) {
                        if (c->pid == p && !c->exited) {
                                c->exited = true;
                                c->exit_status = st;
                                break;
                        }
                        if (c->sup_pid == p) {
                                c->sup_exited = true;
                                break;
                        }
                }
}

/* Waits for child @pid and returns its raw wait status. */
static int wait_child(pid_t pid) {
        int st;

        while (waitpid(pid, &st, 0) < 0) {
                if (errno != EINTR)
                        die("waitpid(%d): %m", (int) pid);
        }
        return st;
}

static int exit_code(int st) {
        if (WIFEXITED(st))
                return WEXITSTATUS(st);
        if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
        return 255;
}

typedef struct SpawnOpts {
        int fds[5];            /* stdin, stdout, stderr, fd 3, fd 4; -1: /dev/null for 0..2, none after */
        const char *cwd;
        char **envp;
        bool setpgrp;
} SpawnOpts;

static pid_t spawn(const SpawnOpts *o, char **argv) {
        pid_t pid;

        pid = fork();
        if (pid < 0)
                die("fork: %m");
        if (pid == 0) {
                int high[5];

                /* Move every fd out of the way first so dup2() cannot clobber a later source. */
                for (int i = 0; i < 5; i++) {
                        int src = o && o->fds[i] >= 0 ? o->fds[i] : (i < 3 ? devnull : -1);

                        high[i] = src >= 0 ? fcntl(src, F_DUPFD_CLOEXEC, 100) : -1;
                }
                for (int i = 0; i < 5; i++)
                        if (high[i] >= 0 && dup2(high[i], i) < 0)
                                _exit(126);
                if (o && o->setpgrp)
                        (void) setpgid(0, 0);
                if (o && o->cwd && chdir(o->cwd) < 0)
                        _exit(126);
                execve(argv[0], argv, o && o->envp ? o->envp : environ);
                _exit(127);
        }
        return pid;
}

/* Runs @argv with stdout/stderr to the tools log and returns its exit code. */
static int run(char **argv) {
        SpawnOpts o = { .fds = { -1, errlog, errlog, -1, -1 } };

        return exit_code(wait_child(spawn(&o, argv)));
}

static void run_or_die(char **argv) {
        int r = run(argv);

        if (r != 0)
                die("'%s %s %s' failed with %d, see %s/tools.log", argv[0], argv[1], argv[2], r, cfg.tmp);
}

/* ---- bare runc ------------------------------------------------------------------------------ */

static char *runc_root(Sup s) {
        return xasprintf("%s/%s", cfg.tmp, s == SUP_CONMON ? "conmon-runc-root" : "runc-root");
}

/* runc create + runc start; the container's stdout and stderr go to @out_fd. */
static void runc_start(Ctr *c, const char *bundle, int out_fd) {
        char *root = runc_root(SUP_RUNC), *pidfile = xasprintf("%s/pids/%s", cfg.tmp, c->id);
        char *create[] = { (char *) cfg.runc, (char *) "--root", root, (char *) "create",
                           (char *) "--bundle", (char *) bundle, (char *) "--pid-file", pidfile,
                           c->id, NULL };
        char *start[] = { (char *) cfg.runc, (char *) "--root", root, (char *) "start", c->id, NULL };
        SpawnOpts o = { .fds = { -1, out_fd, out_fd, -1, -1 } };
        long pid;
        int r;

        r = exit_code(wait_child(spawn(&o, create)));
        if (r != 0)
                die("runc create %s failed with %d", c->id, r);
        pid = read_long_file(pidfile);
        if (pid <= 0)
                die("no pid for %s", c->id);
        c->pid = (pid_t) pid;
        run_or_die(start);
        free(root);
        free(pidfile);
}

static void runc_delete(Sup s, const char *id, bool force) {
        char *root = runc_root(s);
        char *argv[] = { (char *) cfg.runc, (char *) "--root", root, (char *) "delete",
                         (char *) (force ? "--force" : "--"), (char *) id, NULL };

        run_or_die(argv);
        free(root);
}

/* ---- conmon --------------------------------------------------------------------------------- */

/* Spawns conmon as podman does, waits for the container pid on the sync pipe, then `runc start`. */
static void conmon_start(Ctr *c, const char *bundle, const char *log_path) {
        char *root_arg, *pidfile, *conmon_pidfile, *persist, *exits, *sockdir, *log_arg;
        char *envp[256];
        char buf[512];
        int sync_pipe[2], start_pipe[2], n_env = 0, st;
        size_t len = 0;
        SpawnOpts o = {};
        pid_t pid;
        char *p;

        root_arg = xasprintf("--root=%s/conmon-runc-root", cfg.tmp);
        pidfile = xasprintf("%s/pids/%s", cfg.tmp, c->id);
        conmon_pidfile = xasprintf("%s/pids/%s.conmon", cfg.tmp, c->id);
        persist = xasprintf("%s/conmon/persist/%s", cfg.tmp, c->id);
        exits = xasprintf("%s/conmon/exits", cfg.tmp);
        sockdir = xasprintf("%s/conmon/sock", cfg.tmp);
        log_arg = xasprintf("k8s-file:%s", log_path);
        if (mkdir(persist, 0700) < 0 && errno != EEXIST)
                die("mkdir %s: %m", persist);

        char *argv[] = { (char *) cfg.conmon, (char *) "--api-version", (char *) "1",
                         (char *) "-c", c->id, (char *) "-u", c->id, (char *) "-r", (char *) cfg.runc,
                         (char *) "-b", (char *) bundle, (char *) "-p", pidfile, (char *) "-n", c->id,
                         (char *) "--exit-dir", exits, (char *) "--persist-dir", persist,
                         (char *) "--socket-dir-path", sockdir, (char *) "-l", log_arg,
                         (char *) "--log-level", (char *) "error", (char *) "--runtime-arg", root_arg,
                         (char *) "--conmon-pidfile", conmon_pidfile, NULL };

        for (char **e = environ; *e && n_env < 250; e++)
                if (strncmp(*e, "_OCI_", 5) != 0)
                        envp[n_env++] = *e;
        envp[n_env++] = (char *) "_OCI_SYNCPIPE=3";
        envp[n_env++] = (char *) "_OCI_STARTPIPE=4";
        envp[n_env] = NULL;

        if (pipe2(sync_pipe, O_CLOEXEC) < 0 || pipe2(start_pipe, O_CLOEXEC) < 0)
                die("pipe2: %m");
        o = (SpawnOpts) { .fds = { -1, errlog, errlog, sync_pipe[1], start_pipe[0] }, .cwd = bundle,
                          .envp = envp, .setpgrp = true };
        pid = spawn(&o, argv);
        close(sync_pipe[1]);
        close(start_pipe[0]);
        /* podman moves conmon into its cgroup here, then lets it go on. */
        if (write(start_pipe[1], "", 1) != 1)
                die("write to conmon's start pipe: %m");
        close(start_pipe[1]);
        st = wait_child(pid);   /* the first conmon exits once it has forked the monitor */
        if (exit_code(st) != 0)
                die("conmon for %s exited with %d", c->id, exit_code(st));

        for (;;) {
                ssize_t n = read(sync_pipe[0], buf + len, sizeof(buf) - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
                buf[len] = 0;
                if (strchr(buf, '}'))
                        break;
        }
        buf[len] = 0;
        close(sync_pipe[0]);
        p = strstr(buf, "\"data\"");
        if (!p || (c->pid = (pid_t) strtol(p + 7, NULL, 10)) <= 0)
                die("conmon for %s did not report a pid: '%s'", c->id, buf);
        c->sup_pid = (pid_t) read_long_file(conmon_pidfile);

        char *root = runc_root(SUP_CONMON);
        char *start[] = { (char *) cfg.runc, (char *) "--root", root, (char *) "start", c->id, NULL };
        run_or_die(start);

        free(root);
        free(root_arg);
        free(pidfile);
        free(conmon_pidfile);
        free(persist);
        free(exits);
        free(sockdir);
        free(log_arg);
}

/* Waits for conmon's exit file (as podman does) and returns the status in it. */
static int conmon_wait(Ctr *c) {
        char *path = xasprintf("%s/conmon/exits/%s", cfg.tmp, c->id);
        char ev[8192];
        long v;

        for (;;) {
                struct pollfd pfd = { .fd = exit_inotify, .events = POLLIN };
                struct stat sb;

                if (stat(path, &sb) >= 0 && sb.st_size > 0 && (v = read_long_file(path)) >= 0)
                        break;
                if (poll(&pfd, 1, 200) > 0)
                        (void) !read(exit_inotify, ev, sizeof(ev));
        }
        free(path);
        return (int) v;
}

static void conmon_delete(Ctr *c, bool force) {
        char *exitfile = xasprintf("%s/conmon/exits/%s", cfg.tmp, c->id);
        char *persist = xasprintf("%s/conmon/persist/%s", cfg.tmp, c->id);
        char *cmd[] = { (char *) "/bin/rm", (char *) "-rf", persist, NULL };

        runc_delete(SUP_CONMON, c->id, force);
        /* conmon writes the exit file and exits once the container is gone. */
        if (c->sup_pid > 0 && !c->sup_exited)
                (void) wait_child(c->sup_pid);
        unlink(exitfile);
        run_or_die(cmd);
        free(exitfile);
        free(persist);
}

/* ---- containerd ----------------------------------------------------------------------------- */

/* ctr needs root.path absolute with --config: run-bench writes BUNDLE/config-ctr.json for it. */
static char *ctr_config(const char *bundle) {
        return xasprintf("%s/config-ctr.json", bundle);
}

static pid_t ctr_spawn(const char *const *args, int out_fd) {
        char *argv[32];
        SpawnOpts o = { .fds = { -1, out_fd >= 0 ? out_fd : errlog, errlog, -1, -1 } };
        int n = 0;

        argv[n++] = (char *) cfg.ctr;
        argv[n++] = (char *) "--address";
        argv[n++] = (char *) cfg.ctr_address;
        argv[n++] = (char *) "--namespace";
        argv[n++] = (char *) cfg.ctr_ns;
        for (; *args && n < 31; args++)
                argv[n++] = (char *) *args;
        argv[n] = NULL;
        return spawn(&o, argv);
}

static int ctr_run(const char *const *args) {
        return exit_code(wait_child(ctr_spawn(args, -1)));
}

/* `ctr run [-d|--rm] --config ...`; returns ctr's exit code (the container's, when not detached). */
static int ctr_run_container(Ctr *c, const char *bundle, const char *mode, const char *log_path) {
        char *config = ctr_config(bundle), *pidfile = xasprintf("%s/pids/%s", cfg.tmp, c->id);
        char *runc_root_dir = xasprintf("%s/ctr-runc-root", cfg.tmp);
        char *fifo = xasprintf("%s/ctr-fifo", cfg.tmp), *uri = xasprintf("file://%s", log_path);
        const char *args[] = { "run", mode, "--fifo-dir", fifo, "--runc-root", runc_root_dir,
                               "--log-uri", uri, "--pid-file", pidfile, "--config", config, c->id, NULL };
        int r;

        r = ctr_run(args);
        if (strcmp(mode, "-d") == 0) {
                long pid;

                if (r != 0)
                        die("ctr run -d %s failed with %d, see %s/tools.log", c->id, r, cfg.tmp);
                pid = read_long_file(pidfile);
                if (pid <= 0)
                        die("no pid for %s", c->id);
                c->pid = (pid_t) pid;
        }
        free(config);
        free(pidfile);
        free(runc_root_dir);
        free(fifo);
        free(uri);
        return r;
}

static void ctr_delete(const char *id, bool task) {
        const char *rm_task[] = { "task", "rm", "-f", id, NULL };
        const char *rm_ctr[] = { "container", "rm", id, NULL };

        if (task)
                (void) ctr_run(rm_task);
        if (ctr_run(rm_ctr) != 0)
                die("ctr container rm %s failed, see %s/tools.log", id, cfg.tmp);
}

/* ---- berth (sd-bus) -------------------------------------------------------------------------- */

#define BERTH_DEST "org.berth.Monitor1"
#define BERTH_PATH "/org/berth/Monitor1"
#define BERTH_IFACE "org.berth.Monitor1"
#define LONG_TIMEOUT_USEC (1800ULL * 1000000ULL)

static void bus_die(const char *what, const char *id, sd_bus_error *e, int r) {
        die("%s(%s): %s: %s", what, id ? id : "", e && e->name ? e->name : strerror(-r),
            e && e->message ? e->message : "");
}

static void berth_connect(void) {
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, cfg.bus_address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        /* sd_bus_start() only begins the authentication; finish it now, or dbus-daemon drops the
         * connection after its auth_timeout while the other supervisors run first. */
        if (r >= 0)
                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus.Peer", "Ping", NULL, NULL, "");
        if (r < 0)
                die("cannot connect to the bus '%s': %s", cfg.bus_address, strerror(-r));
}

static void append_option(sd_bus_message *m, const char *key, char type, const void *value) {
        char sig[2] = { type, 0 };
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', sig);
        if (r >= 0)
                r = sd_bus_message_append_basic(m, type, value);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                die("building CreateContainer: %s", strerror(-r));
}

/* CreateContainer(id, bundle, {Start: true[, LogPath]}), then the Pid property. */
static void berth_start(Ctr *c, const char *bundle, const char *log_path) {
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *path;
        int start = 1, r;
        uint32_t pid;

        r = sd_bus_message_new_method_call(bus, &m, BERTH_DEST, BERTH_PATH, BERTH_IFACE, "CreateContainer");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", c->id, bundle);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                die("building CreateContainer: %s", strerror(-r));
        append_option(m, "Start", 'b', &start);
        if (log_path)
                append_option(m, "LogPath", 's', log_path);
        r = sd_bus_message_close_container(m);
        if (r < 0)
                die("building CreateContainer: %s", strerror(-r));
        r = sd_bus_call(bus, m, LONG_TIMEOUT_USEC, &e, &reply);
        if (r < 0)
                bus_die("CreateContainer", c->id, &e, r);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                bus_die("CreateContainer reply", c->id, NULL, r);
        r = sd_bus_get_property_trivial(bus, BERTH_DEST, path, "org.berth.Container1", "Pid", &e, 'u', &pid);
        if (r < 0)
                bus_die("Get Pid", c->id, &e, r);
        if (pid == 0)
                die("berth reports no pid for running container %s", c->id);
        c->pid = (pid_t) pid;
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
}

static int berth_wait(Ctr *c) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL, *m = NULL;
        int32_t status;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BERTH_DEST, BERTH_PATH, BERTH_IFACE, "WaitContainer");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", c->id);
        if (r >= 0)
                r = sd_bus_call(bus, m, LONG_TIMEOUT_USEC, &e, &reply);
        if (r < 0)
                bus_die("WaitContainer", c->id, &e, r);
        r = sd_bus_message_read(reply, "i", &status);
        if (r < 0)
                bus_die("WaitContainer reply", c->id, NULL, r);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        return status;
}

static void berth_delete(const char *id, bool force) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BERTH_DEST, BERTH_PATH, BERTH_IFACE, "DeleteContainer", &e, NULL, "sb",
                               id, (int) force);
        if (r < 0)
                bus_die("DeleteContainer", id, &e, r);
}

static pid_t berth_shim_pid(const char *id) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *path = NULL;
        uint32_t pid = 0;
        int r;

        r = sd_bus_path_encode(BERTH_PATH "/container", id, &path);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, BERTH_DEST, path, "org.berth.Container1", "ShimPid", &e,
                                                'u', &pid);
        if (r < 0)
                bus_die("Get ShimPid", id, &e, r);
        free(path);
        return (pid_t) pid;
}

/* ListContainers; returns how many are running. */
static unsigned berth_list_running(unsigned *ret_total) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *id, *state, *bundle, *path;
        unsigned running = 0, total = 0;
        uint32_t pid;
        int32_t status;
        int r;

        r = sd_bus_call_method(bus, BERTH_DEST, BERTH_PATH, BERTH_IFACE, "ListContainers", &e, &reply, "");
        if (r < 0)
                bus_die("ListContainers", NULL, &e, r);
        r = sd_bus_message_enter_container(reply, 'a', "(sssuio)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sssuio)", &id, &state, &bundle, &pid, &status,
                                                  &path)) > 0) {
                total++;
                if (strcmp(state, "running") == 0)
                        running++;
        }
        if (r < 0)
                bus_die("ListContainers reply", NULL, NULL, r);
        sd_bus_message_unref(reply);
        if (ret_total)
                *ret_total = total;
        return running;
}

/* ---- one container, any supervisor ------------------------------------------------------------ */

static char *log_path_for(Sup s, const char *id) {
        return xasprintf("%s/logs/%s.log", cfg.tmp, id);
}

static Ctr *ctr_new(Sup s, const char *fmt, unsigned i) {
        Ctr *c = calloc(1, sizeof(Ctr));

        if (!c)
                abort();
        c->sup = s;
        snprintf(c->id, sizeof(c->id), "bb-%s-%s-%u", sup_names[s], fmt, i);
        return c;
}

static void live_add(Ctr *c) {
        c->next = live;
        live = c;
}

static void live_remove(Ctr *c) {
        for (Ctr **p = &live; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        return;
                }
}

/* Starts a container of @bundle under @c->sup: returns once it runs and its pid is known.  The
 * log goes to @log_path, or to the supervisor's default (berth) or a per-container file. */
static void op_start(Ctr *c, const char *bundle, const char *log_path) {
        char *lp = log_path ? NULL : log_path_for(c->sup, c->id);
        int fd;

        live_add(c);
        switch (c->sup) {
        case SUP_RUNC:
                fd = open(log_path ? log_path : lp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0)
                        die("open log: %m");
                runc_start(c, bundle, fd);
                close(fd);
                break;
        case SUP_CONMON:
                conmon_start(c, bundle, log_path ? log_path : lp);
                break;
        case SUP_CONTAINERD:
                ctr_run_container(c, bundle, "-d", log_path ? log_path : lp);
                break;
        case SUP_BERTH:
                berth_start(c, bundle, log_path);
                break;
        default:
                abort();
        }
        free(lp);
}

/* Waits for the container's exit status. */
static int op_wait(Ctr *c) {
        const char *args[] = { "task", "wait", c->id, NULL };

        switch (c->sup) {
        case SUP_RUNC:
                return exit_code(c->exited ? c->exit_status : wait_child(c->pid));
        case SUP_CONMON:
                return conmon_wait(c);
        case SUP_CONTAINERD:
                return ctr_run(args);
        case SUP_BERTH:
                return berth_wait(c);
        default:
                abort();
        }
}

/* Deletes the container (with @force, kills it first) and its default log. */
static void op_delete(Ctr *c, bool force) {
        char *lp = log_path_for(c->sup, c->id);

        switch (c->sup) {
        case SUP_RUNC:
                runc_delete(SUP_RUNC, c->id, force);
                break;
        case SUP_CONMON:
                conmon_delete(c, force);
                break;
        case SUP_CONTAINERD:
                ctr_delete(c->id, true);
                break;
        case SUP_BERTH:
                berth_delete(c->id, force);
                break;
        default:
                abort();
        }
        unlink(lp);
        free(lp);
        live_remove(c);
        free(c);
        reap_orphans();
}

static void cleanup_live(void) {
        while (live) {
                Ctr *c = live;

                fprintf(stderr, "berth-bench: cleaning up %s\n", c->id);
                op_delete(c, true);
        }
}

static void die(const char *fmt, ...) {
        static bool dying;
        va_list ap;

        fprintf(stderr, "berth-bench: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        if (!dying) {
                dying = true;
                cleanup_live();
        }
        exit(1);
}

/* The supervisors to run, in the order of round @round: forward on even rounds, backward on odd. */
static unsigned round_order(unsigned round, const bool *want, Sup *ret) {
        unsigned n = 0;

        for (int s = 0; s < _SUP_MAX; s++)
                if (want[s])
                        ret[n++] = (Sup) s;
        if (round % 2)
                for (unsigned i = 0; i < n / 2; i++) {
                        Sup t = ret[i];

                        ret[i] = ret[n - 1 - i];
                        ret[n - 1 - i] = t;
                }
        return n;
}

/* ---- JSON output ------------------------------------------------------------------------------ */

static void json_samples(const char *key, double *const *v, const unsigned *n, const bool *want, bool last) {
        bool first = true;

        printf("\"%s\":{", key);
        for (int s = 0; s < _SUP_MAX; s++) {
                if (!want[s])
                        continue;
                printf("%s\"%s\":[", first ? "" : ",", sup_names[s]);
                for (unsigned i = 0; i < n[s]; i++)
                        printf("%s%.4f", i ? "," : "", v[s][i]);
                printf("]");
                first = false;
        }
        printf("}%s", last ? "" : ",");
}

static double **samples_new(unsigned n) {
        double **v = calloc(_SUP_MAX, sizeof(double *));

        for (int s = 0; s < _SUP_MAX; s++)
                v[s] = calloc(n ? n : 1, sizeof(double));
        return v;
}

/* ---- workloads --------------------------------------------------------------------------------- */

/* 1: request -> running with pid known, @n times per supervisor, one container at a time. */
static void workload_start(unsigned n) {
        double **ms = samples_new(n);
        unsigned cnt[_SUP_MAX] = {};
        Sup order[_SUP_MAX];

        for (unsigned i = 0; i < n; i++) {
                unsigned k = round_order(i, cfg.sups, order);

                for (unsigned j = 0; j < k; j++) {
                        Ctr *c = ctr_new(order[j], "start", i);
                        double t0 = now_ms();

                        op_start(c, cfg.bundle_sleep, NULL);
                        ms[order[j]][cnt[order[j]]++] = now_ms() - t0;
                        op_delete(c, true);
                        sleep_ms(cfg.settle_ms);
                }
                fprintf(stderr, "\rstart: %u/%u", i + 1, n);
        }
        fputc('\n', stderr);
        printf("{\"workload\":\"start\",\"n\":%u,", n);
        json_samples("ms", ms, cnt, cfg.sups, true);
        printf("}\n");
}

/* One create+start+wait+delete of `true`; returns its time in ms. */
static double lifecycle_one(Sup s, unsigned i) {
        Ctr *c = ctr_new(s, "cycle", i);
        double t0 = now_ms();
        int status;

        if (s == SUP_CONTAINERD) {
                /* ctr's own lifecycle: create, start, wait and delete in one `ctr run --rm`. */
                char *lp = log_path_for(s, c->id);

                live_add(c);
                status = ctr_run_container(c, cfg.bundle_true, "--rm", lp);
                live_remove(c);
                unlink(lp);
                free(lp);
                free(c);
        } else {
                op_start(c, cfg.bundle_true, NULL);
                status = op_wait(c);
                op_delete(c, false);
        }
        if (status != 0)
                die("lifecycle container under %s exited with %d", sup_names[s], status);
        return now_ms() - t0;
}

/* 2: lifecycles of `true` in blocks of @block per supervisor, blocks interleaved; the rate of a
 * block includes whatever the supervisor leaves running after its replies. */
static void workload_lifecycle(unsigned n, unsigned block) {
        unsigned rounds = (n + block - 1) / block, cnt[_SUP_MAX] = {}, bcnt[_SUP_MAX] = {};
        double **ms = samples_new(n), **rate = samples_new(rounds);
        Sup order[_SUP_MAX];

        for (unsigned r = 0; r < rounds; r++) {
                unsigned k = round_order(r, cfg.sups, order);

                for (unsigned j = 0; j < k; j++) {
                        Sup s = order[j];
                        double t0 = now_ms();

                        for (unsigned b = 0; b < block; b++)
                                ms[s][cnt[s]++] = lifecycle_one(s, r * block + b);
                        rate[s][bcnt[s]++] = block / ((now_ms() - t0) / 1000.0);
                        sleep_ms(cfg.settle_ms);
                }
                fprintf(stderr, "\rlifecycle: %u/%u", (r + 1) * block, rounds * block);
        }
        fputc('\n', stderr);
        printf("{\"workload\":\"lifecycle\",\"n\":%u,\"block\":%u,", rounds * block, block);
        json_samples("op_ms", ms, cnt, cfg.sups, false);
        json_samples("block_rate", rate, bcnt, cfg.sups, true);
        printf("}\n");
}

/* 3: @count `sleep` containers under each supervisor in turn; Pss of the supervisor processes
 * (the parent of each container's init) and of the daemon. */
static void workload_memory(unsigned count) {
        printf("{\"workload\":\"memory\",\"count\":%u,\"sups\":{", count);
        bool first = true;

        for (int s = 0; s < _SUP_MAX; s++) {
                Ctr **cs = calloc(count, sizeof(Ctr *));
                long sup_pss = 0, sup_priv = 0, daemon_before = -1, daemon_after = -1, dpriv_before = -1,
                     dpriv_after = -1;
                pid_t daemon = s == SUP_BERTH ? cfg.berthd_pid : s == SUP_CONTAINERD ? cfg.containerd_pid : 0;
                unsigned procs = 0;

                if (!cfg.sups[s])
                        continue;
                if (daemon > 0 && mem_kib(daemon, &daemon_before, &dpriv_before) < 0)
                        die("no memory figures for pid %d", (int) daemon);
                for (unsigned i = 0; i < count; i++) {
                        cs[i] = ctr_new((Sup) s, "mem", i);
                        op_start(cs[i], cfg.bundle_sleep, NULL);
                        fprintf(stderr, "\rmemory %s: %u/%u", sup_names[s], i + 1, count);
                }
                fputc('\n', stderr);
                sleep_ms(1000);
                for (unsigned i = 0; i < count && s != SUP_RUNC; i++) {
                        pid_t sp = s == SUP_BERTH ? berth_shim_pid(cs[i]->id) : parent_of(cs[i]->pid);
                        long v, pv;

                        if (sp <= 1 || sp == getpid())
                                die("no supervisor process for %s", cs[i]->id);
                        if (mem_kib(sp, &v, &pv) < 0)
                                die("no memory figures for pid %d", (int) sp);
                        sup_pss += v;
                        sup_priv += pv;
                        procs++;
                }
                if (daemon > 0 && mem_kib(daemon, &daemon_after, &dpriv_after) < 0)
                        die("no memory figures for pid %d", (int) daemon);
                printf("%s\"%s\":{\"procs\":%u,\"sup_pss_kib\":%ld,\"sup_private_kib\":%ld,",
                       first ? "" : ",", sup_names[s], procs, sup_pss, sup_priv);
                printf("\"daemon_pss_kib_before\":%ld,\"daemon_pss_kib\":%ld,", daemon_before, daemon_after);
                printf("\"daemon_private_kib_before\":%ld,\"daemon_private_kib\":%ld}", dpriv_before,
                       dpriv_after);
                first = false;
                for (unsigned i = 0; i < count; i++)
                        op_delete(cs[i], true);
                free(cs);
        }
        printf("}}\n");
}

/* Reads a log and counts the payload bytes that match the generator's stream: lines of 4095 'x'
 * and a newline.  @cri: CRI format (stream, F/P tag); else raw bytes. */
static void check_log(const char *path, bool cri, uint64_t *ret_ok, uint64_t *ret_bad) {
        uint64_t ok = 0, bad = 0, cur = 0;   /* cur: length of the reassembled line so far */
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                die("open %s: %m", path);
        while ((len = getline(&line, &cap, f)) > 0) {
                const char *payload = line;
                size_t plen = (size_t) len;
                bool full = true;

                if (cri) {
                        char *a = strchr(line, ' '), *b = a ? strchr(a + 1, ' ') : NULL;

                        if (!b || (b[1] != 'F' && b[1] != 'P') || b[2] != ' ') {
                                bad += (uint64_t) len;
                                continue;
                        }
                        full = b[1] == 'F';
                        payload = b + 3;
                        plen = (size_t) (line + len - payload);
                        if (plen > 0 && payload[plen - 1] == '\n')
                                plen--;   /* the record's own terminator */
                } else {
                        if (payload[plen - 1] == '\n')
                                plen--;
                        else
                                full = false;
                }
                for (size_t i = 0; i < plen; i++)
                        if (payload[i] != 'x') {
                                bad += plen;
                                plen = 0;
                                cur = 0;
                                break;
                        }
                cur += plen;
                if (full) {
                        if (cur == 4095)
                                ok += 4096;
                        else
                                bad += cur + 1;
                        cur = 0;
                }
        }
        ok += cur;   /* an unterminated tail */
        free(line);
        fclose(f);
        *ret_ok = ok;
        *ret_bad = bad;
}

/* 4: a container writes @mib MiB of 4 KiB lines; time from request to exit status, and the log
 * checked byte for byte.  runc writes straight to the file (the limit), conmon and berth write
 * CRI logs, containerd's shim a raw file (--log-uri file://). */
static void workload_output(unsigned mib, unsigned rounds) {
        double **ms = samples_new(rounds), **lost = samples_new(rounds), **bad = samples_new(rounds);
        unsigned cnt[_SUP_MAX] = {};
        uint64_t expect = (uint64_t) mib << 20;
        Sup order[_SUP_MAX];

        for (unsigned r = 0; r < rounds; r++) {
                unsigned k = round_order(r, cfg.sups, order);

                for (unsigned j = 0; j < k; j++) {
                        Sup s = order[j];
                        Ctr *c = ctr_new(s, "out", r);
                        char *lp = xasprintf("%s/logs/output-%s.log", cfg.tmp, c->id);
                        uint64_t ok, nbad;
                        double t0 = now_ms(), t;
                        int status;

                        if (s == SUP_CONTAINERD) {
                                live_add(c);
                                status = ctr_run_container(c, cfg.bundle_output, "--rm", lp);
                                t = now_ms() - t0;
                                live_remove(c);
                                free(c);
                        } else {
                                op_start(c, cfg.bundle_output, lp);
                                status = op_wait(c);
                                t = now_ms() - t0;
                                op_delete(c, false);
                        }
                        if (status != 0)
                                die("output container under %s exited with %d", sup_names[s], status);
                        check_log(lp, s == SUP_CONMON || s == SUP_BERTH, &ok, &nbad);
                        unlink(lp);
                        free(lp);
                        ms[s][cnt[s]] = t;
                        lost[s][cnt[s]] = ok >= expect ? 0 : (double) (expect - ok);
                        bad[s][cnt[s]] = (double) nbad + (ok > expect ? (double) (ok - expect) : 0);
                        cnt[s]++;
                        fprintf(stderr, "output %s round %u: %.0f ms, %.1f MiB/s, lost %" PRIu64 "\n",
                                sup_names[s], r + 1, t, mib / (t / 1000.0), ok >= expect ? 0 : expect - ok);
                        sleep_ms(cfg.settle_ms);
                }
        }
        printf("{\"workload\":\"output\",\"mib\":%u,\"rounds\":%u,", mib, rounds);
        printf("\"format\":{\"runc\":\"raw (direct write)\",\"conmon\":\"cri\",\"containerd\":\"raw (shim)\","
               "\"berth\":\"cri\"},");
        json_samples("ms", ms, cnt, cfg.sups, false);
        json_samples("lost_bytes", lost, cnt, cfg.sups, false);
        json_samples("bad_bytes", bad, cnt, cfg.sups, true);
        printf("}\n");
}

static unsigned runc_list_count(Sup s, double *ret_ms) {
        char *root = runc_root(s), *out = xasprintf("%s/runc-list.out", cfg.tmp);
        char *argv[] = { (char *) cfg.runc, (char *) "--root", root, (char *) "list", (char *) "-q", NULL };
        SpawnOpts o = { .fds = { -1, -1, errlog, -1, -1 } };
        unsigned lines = 0;
        double t0;
        FILE *f;
        int c;

        o.fds[1] = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        t0 = now_ms();
        if (exit_code(wait_child(spawn(&o, argv))) != 0)
                die("runc list failed");
        *ret_ms = now_ms() - t0;
        close(o.fds[1]);
        f = fopen(out, "re");
        while (f && (c = fgetc(f)) != EOF)
                lines += c == '\n';
        if (f)
                fclose(f);
        unlink(out);
        free(root);
        free(out);
        return lines;
}

/* 5: @n `sleep` containers per supervisor started one after another (interleaved), all alive at
 * the end; then ListContainers and berthd's Pss at that count, then everything deleted. */
static void workload_scale(unsigned n, const bool *want) {
        double **ms = samples_new(n), **del = samples_new(1), list_ms[21], rlist_ms[5];
        Ctr ***cs = calloc(_SUP_MAX, sizeof(Ctr **));
        unsigned cnt[_SUP_MAX] = {}, one[_SUP_MAX] = {}, running = 0, total = 0, runc_running = 0;
        long berthd_before = -1, berthd_after = -1, priv_before = -1, priv_after = -1;
        Sup order[_SUP_MAX];

        for (int s = 0; s < _SUP_MAX; s++)
                cs[s] = calloc(n, sizeof(Ctr *));
        if (want[SUP_BERTH] && mem_kib(cfg.berthd_pid, &berthd_before, &priv_before) < 0)
                die("no memory figures for berthd");
        for (unsigned i = 0; i < n; i++) {
                unsigned k = round_order(i, want, order);

                for (unsigned j = 0; j < k; j++) {
                        Sup s = order[j];
                        Ctr *c = ctr_new(s, "scale", i);
                        double t0 = now_ms();

                        op_start(c, cfg.bundle_sleep, NULL);
                        ms[s][cnt[s]++] = now_ms() - t0;
                        cs[s][i] = c;
                }
                if ((i + 1) % 10 == 0 || i + 1 == n)
                        fprintf(stderr, "\rscale: %u/%u", i + 1, n);
                reap_orphans();
        }
        fputc('\n', stderr);
        sleep_ms(1000);
        if (want[SUP_BERTH]) {
                for (unsigned i = 0; i < 21; i++) {
                        double t0 = now_ms();

                        running = berth_list_running(&total);
                        list_ms[i] = now_ms() - t0;
                }
                if (mem_kib(cfg.berthd_pid, &berthd_after, &priv_after) < 0)
                        die("no memory figures for berthd");
        }
        if (want[SUP_RUNC])
                for (unsigned i = 0; i < 5; i++)
                        runc_running = runc_list_count(SUP_RUNC, &rlist_ms[i]);

        for (int s = 0; s < _SUP_MAX; s++) {
                double t0 = now_ms();

                if (!want[s])
                        continue;
                for (unsigned i = 0; i < n; i++)
                        op_delete(cs[s][i], true);
                del[s][0] = (now_ms() - t0) / 1000.0;
                one[s] = 1;
                fprintf(stderr, "scale: deleted %u %s containers in %.1f s\n", n, sup_names[s], del[s][0]);
                free(cs[s]);
        }
        free(cs);

        printf("{\"workload\":\"scale\",\"n\":%u,", n);
        json_samples("ms", ms, cnt, want, false);
        json_samples("delete_s", del, one, want, false);
        printf("\"berth_running\":%u,\"berth_total\":%u,\"runc_listed\":%u,", running, total, runc_running);
        printf("\"berthd_pss_kib_before\":%ld,\"berthd_pss_kib\":%ld,", berthd_before, berthd_after);
        printf("\"berthd_private_kib_before\":%ld,\"berthd_private_kib\":%ld,", priv_before, priv_after);
        printf("\"list_ms\":[");
        for (unsigned i = 0; i < 21 && want[SUP_BERTH]; i++)
                printf("%s%.4f", i ? "," : "", list_ms[i]);
        printf("],\"runc_list_ms\":[");
        for (unsigned i = 0; i < 5 && want[SUP_RUNC]; i++)
                printf("%s%.4f", i ? "," : "", rlist_ms[i]);
        printf("]}\n");
}

/* Deletes every container berthd knows (run-bench calls this before it stops berthd). */
static void berth_delete_all(void) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *id, *state, *bundle, *path;
        char **ids = NULL;
        size_t n = 0;
        uint32_t pid;
        int32_t status;
        int r;

        r = sd_bus_call_method(bus, BERTH_DEST, BERTH_PATH, BERTH_IFACE, "ListContainers", &e, &reply, "");
        if (r < 0)
                bus_die("ListContainers", NULL, &e, r);
        r = sd_bus_message_enter_container(reply, 'a', "(sssuio)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sssuio)", &id, &state, &bundle, &pid, &status,
                                                  &path)) > 0) {
                ids = realloc(ids, sizeof(char *) * (n + 1));
                ids[n++] = strdup(id);
        }
        for (size_t i = 0; i < n; i++) {
                fprintf(stderr, "berth-bench: deleting leftover berth container %s\n", ids[i]);
                berth_delete(ids[i], true);
                free(ids[i]);
        }
        free(ids);
        sd_bus_message_unref(reply);
}

static void parse_sups(const char *list, bool *ret) {
        char *dup = strdup(list), *save = NULL;

        memset(ret, 0, sizeof(bool) * _SUP_MAX);
        for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int s;

                for (s = 0; s < _SUP_MAX; s++)
                        if (strcmp(t, sup_names[s]) == 0)
                                break;
                if (s == _SUP_MAX)
                        die("unknown supervisor '%s'", t);
                ret[s] = true;
        }
        free(dup);
}

static void cfg_load(void) {
        const char *v;
        char *p;

        cfg.tmp = env_req("BB_TMP");
        cfg.runc = env_req("BB_RUNC");
        parse_sups(env_req("BB_SUPS"), cfg.sups);
        cfg.bundle_sleep = env_req("BB_BUNDLE_SLEEP");
        cfg.bundle_true = env_req("BB_BUNDLE_TRUE");
        cfg.bundle_output = env_req("BB_BUNDLE_OUTPUT");
        if (cfg.sups[SUP_CONMON])
                cfg.conmon = env_req("BB_CONMON");
        if (cfg.sups[SUP_CONTAINERD]) {
                cfg.ctr = env_req("BB_CTR");
                cfg.ctr_address = env_req("BB_CTR_ADDRESS");
                cfg.ctr_ns = env_req("BB_CTR_NS");
                cfg.containerd_pid = (pid_t) atoi(env_req("BB_CONTAINERD_PID"));
        }
        if (cfg.sups[SUP_BERTH]) {
                cfg.bus_address = env_req("BB_BUS");
                cfg.berthd_pid = (pid_t) atoi(env_req("BB_BERTHD_PID"));
        }
        v = getenv("BB_SETTLE_MS");
        cfg.settle_ms = v ? atoi(v) : 50;

        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        p = xasprintf("%s/tools.log", cfg.tmp);
        errlog = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (devnull < 0 || errlog < 0)
                die("open %s: %m", p);
        free(p);
        if (cfg.sups[SUP_CONMON]) {
                p = xasprintf("%s/conmon/exits", cfg.tmp);
                exit_inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
                if (exit_inotify < 0 || inotify_add_watch(exit_inotify, p, IN_CLOSE_WRITE | IN_MOVED_TO) < 0)
                        die("inotify on %s: %m", p);
                free(p);
        }
}

static unsigned arg_uint(int argc, char **argv, int i) {
        if (i >= argc)
                die("missing argument (see the top of berth-bench.c)");
        return (unsigned) strtoul(argv[i], NULL, 10);
}

int main(int argc, char **argv) {
        if (argc < 2)
                die("usage: berth-bench start N | lifecycle N BLOCK | memory COUNT | output MIB ROUNDS | "
                    "scale N | cleanup");
        cfg_load();
        signal(SIGPIPE, SIG_IGN);
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                die("PR_SET_CHILD_SUBREAPER: %m");
        if (cfg.sups[SUP_BERTH])
                berth_connect();

        if (strcmp(argv[1], "start") == 0)
                workload_start(arg_uint(argc, argv, 2));
        else if (strcmp(argv[1], "lifecycle") == 0)
                workload_lifecycle(arg_uint(argc, argv, 2), arg_uint(argc, argv, 3));
        else if (strcmp(argv[1], "memory") == 0)
                workload_memory(arg_uint(argc, argv, 2));
        else if (strcmp(argv[1], "output") == 0)
                workload_output(arg_uint(argc, argv, 2), arg_uint(argc, argv, 3));
        else if (strcmp(argv[1], "scale") == 0) {
                bool want[_SUP_MAX];

                parse_sups(getenv("BB_SCALE_SUPS") ?: "runc,berth", want);
                for (int s = 0; s < _SUP_MAX; s++)
                        want[s] = want[s] && cfg.sups[s];
                workload_scale(arg_uint(argc, argv, 2), want);
        } else if (strcmp(argv[1], "cleanup") == 0) {
                if (cfg.sups[SUP_BERTH])
                        berth_delete_all();
        } else
                die("unknown workload '%s'", argv[1]);

        fflush(stdout);
        cleanup_live();
        reap_orphans();
        if (bus)
                sd_bus_flush_close_unref(bus);
        return 0;
}
