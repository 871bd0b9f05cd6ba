/* berthd: the berth monitor. Parses the command line, picks defaults for the bus, the state and
 * log directories and the shim, then hands over to the manager. */

#include <getopt.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "path-util.h"

static BusKind arg_bus_kind;
static bool arg_bus_kind_set;
static char *arg_address;
static char *arg_state_dir;
static char *arg_log_dir;
static char *arg_runtime;
static char *arg_shim;
static bool arg_debug;

static void help(void) {
        printf("berthd [OPTIONS...]\n\n"
               "The berth container monitor.\n\n"
               "  -h --help             Show this help\n"
               "     --version          Show the version\n"
               "     --system           Connect to the system bus (default as root)\n"
               "     --user             Connect to the user's session bus (default otherwise)\n"
               "     --address=ADDRESS  Connect to the bus at ADDRESS\n"
               "     --state-dir=DIR    Container state (default /run/berth or $XDG_RUNTIME_DIR/berth)\n"
               "     --log-dir=DIR      Container logs (default /var/log/berth or\n"
               "                        $XDG_STATE_HOME/berth/log)\n"
               "     --runtime=NAME     Default OCI runtime (default runc)\n"
               "     --shim=PATH        The berth-shim binary to use\n"
               "     --debug            Log debug messages\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_SYSTEM,
                ARG_USER,
                ARG_ADDRESS,
                ARG_STATE_DIR,
                ARG_LOG_DIR,
                ARG_RUNTIME,
                ARG_SHIM,
                ARG_DEBUG,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "system", no_argument, NULL, ARG_SYSTEM },
                { "user", no_argument, NULL, ARG_USER },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "log-dir", required_argument, NULL, ARG_LOG_DIR },
                { "runtime", required_argument, NULL, ARG_RUNTIME },
                { "shim", required_argument, NULL, ARG_SHIM },
                { "debug", no_argument, NULL, ARG_DEBUG },
                {}
        };
        char **target;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("berthd %s\n", BERTH_VERSION);
                        return 0;
                case ARG_SYSTEM:
                case ARG_USER:
                        arg_bus_kind = c == ARG_SYSTEM ? BUS_KIND_SYSTEM : BUS_KIND_USER;
                        arg_bus_kind_set = true;
                        continue;
                case ARG_DEBUG:
                        arg_debug = true;
                        continue;
                case ARG_ADDRESS:
                        arg_bus_kind = BUS_KIND_ADDRESS;
                        arg_bus_kind_set = true;
                        target = &arg_address;
                        break;
                case ARG_STATE_DIR:
                        target = &arg_state_dir;
                        break;
                case ARG_LOG_DIR:
                        target = &arg_log_dir;
                        break;
                case ARG_RUNTIME:
                        target = &arg_runtime;
                        break;
                case ARG_SHIM:
                        target = &arg_shim;
                        break;
                default:
                        return -EINVAL;
                }
                free(*target);
                *target = strdup(optarg);
                if (!*target)
                        return log_oom();
        }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument '%s'.", argv[optind]);
        return 1;
}

static int default_dir(const char *root_dir, const char *env, const char *home_rel, const char *suffix,
                       char **ret) {
        const char *base = getenv(env);

        if (geteuid() == 0)
                *ret = strdup(root_dir);
        else if (base && path_is_absolute(base)) {
                if (asprintf(ret, "%s/%s", base, suffix) < 0)
                        *ret = NULL;
        } else {
                const char *home = getenv("HOME");

                if (!home || !path_is_absolute(home))
                        return log_error_errno(ENXIO, "Neither $%s nor $HOME is set; use --state-dir/--log-dir.",
                                               env);
                if (asprintf(ret, "%s/%s/%s", home, home_rel, suffix) < 0)
                        *ret = NULL;
        }
        return *ret ? 0 : log_oom();
}

static int absolute_dir(const char *what, char **dir) {
        char *abs;

        if (path_is_absolute(*dir))
                return 0;
        abs = realpath(*dir, NULL);
        if (!abs) {
                /* It may not exist yet: make it absolute against the working directory. */
                _cleanup_free_ char *cwd = getcwd(NULL, 0);

                if (!cwd || asprintf(&abs, "%s/%s", cwd, *dir) < 0)
                        return log_error_errno(ENOMEM, "Cannot make %s '%s' absolute.", what, *dir);
        }
        free(*dir);
        *dir = abs;
        return 0;
}

static int find_shim(Manager *m) {
        _cleanup_free_ char *beside = NULL;

        if (arg_shim)
                return find_executable(arg_shim, NULL, &m->shim_path);

        /* An installed berthd uses the installed shim; one run from elsewhere (a build tree)
         * prefers the shim beside it, so it never picks up a stale installed one. */
        if (asprintf(&beside, "%s/berth-shim", m->self_dir) < 0)
                return -ENOMEM;
        if (!streq(m->self_dir, BERTH_BINDIR) && access(beside, X_OK) >= 0) {
                m->shim_path = TAKE_PTR(beside);
                return 0;
        }
        if (access(BERTH_SHIM_PATH, X_OK) >= 0) {
                m->shim_path = strdup(BERTH_SHIM_PATH);
                return m->shim_path ? 0 : -ENOMEM;
        }
        if (access(beside, X_OK) >= 0) {
                m->shim_path = TAKE_PTR(beside);
                return 0;
        }
        return -ENOENT;
}

static int setup_manager(Manager *m) {
        int r;

        m->bus_kind = arg_bus_kind_set ? arg_bus_kind : geteuid() == 0 ? BUS_KIND_SYSTEM : BUS_KIND_USER;
        m->bus_address = TAKE_PTR(arg_address);
        m->default_runtime = strdup(arg_runtime ?: "runc");
        if (!m->default_runtime)
                return log_oom();

        if (arg_state_dir)
                m->state_dir = TAKE_PTR(arg_state_dir);
        else {
                r = default_dir("/run/berth", "XDG_RUNTIME_DIR", ".cache", "berth", &m->state_dir);
                if (r < 0)
                        return r;
        }
        if (arg_log_dir)
                m->log_dir = TAKE_PTR(arg_log_dir);
        else {
                r = default_dir("/var/log/berth", "XDG_STATE_HOME", ".local/state", "berth/log", &m->log_dir);
                if (r < 0)
                        return r;
        }
        r = absolute_dir("state directory", &m->state_dir);
        if (r < 0)
                return r;
        r = absolute_dir("log directory", &m->log_dir);
        if (r < 0)
                return r;

        r = get_self_dir(&m->self_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to find berthd's own directory: %m");
        r = find_shim(m);
        if (r < 0)
                return log_error_errno(r, "Cannot find berth-shim (looked at '%s' and in '%s'): %m",
                                       arg_shim ?: BERTH_SHIM_PATH, m->self_dir);
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_setup("berthd");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        if (arg_debug)
                log_set_max_level(LOG_DEBUG);

        r = manager_new(&m);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate manager: %m");
        r = setup_manager(m);
        if (r < 0)
                return r;
        r = manager_startup(m);
        if (r < 0)
                return r;
        return manager_run(m);
}

int main(int argc, char *argv[]) {
        int r;

        r = run(argc, argv);
        free(arg_address);
        free(arg_state_dir);
        free(arg_log_dir);
        free(arg_runtime);
        free(arg_shim);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
