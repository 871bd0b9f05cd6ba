/* The org.berth.Monitor1 interface: CreateContainer, the by-id methods, ListContainers and the
 * manager's properties. */

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "bus-error.h"
#include "caller-path.h"
#include "container.h"
#include "bus-options.h"
#include "create-options.h"
#include "exec-sync.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "path-util.h"
#include "process-spec.h"
#include "process.h"

/**
 * manager_get_container_or_error() - look up a container by id, with a named error if missing
 * @m: the manager
 * @id: the id from the caller
 * @ret: the container
 * @error: set to InvalidId or NoSuchContainer
 */
int manager_get_container_or_error(Manager *m, const char *id, Container **ret, sd_bus_error *error) {
        Container *c;

        if (!container_id_is_valid(id))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ID, "Invalid container id '%s'.", id);

        c = manager_get_container(m, id);
        if (!c || !c->exported)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_CONTAINER, "No such container '%s'.", id);

        *ret = c;
        return 0;
}

static int build_config(Manager *m, const char *id, const char *bundle, CreateOptions *o, LogDriver driver,
                        ContainerConfig **ret, sd_bus_error *error) {
        _cleanup_(container_config_freep) ContainerConfig *cfg = NULL;
        const char *runtime = o->runtime ?: m->default_runtime;
        int r;

        cfg = calloc(1, sizeof(ContainerConfig));
        if (!cfg)
                return -ENOMEM;

        r = find_executable(runtime, m->self_dir, &cfg->runtime);
        if (r < 0)
                return sd_bus_error_setf(error, BERTH_ERROR_RUNTIME_FAILED,
                                         "Runtime '%s' not found (looked in $PATH and beside berthd): %s", runtime,
                                         strerror(-r));

        cfg->id = strdup(id);
        cfg->bundle = strdup(bundle);
        if (asprintf(&cfg->runtime_root, "%s/%s", m->state_dir, STATE_RUNTIME_ROOT) < 0 || !cfg->id ||
            !cfg->bundle)
                return -ENOMEM;
        cfg->runtime_args = TAKE_PTR(o->runtime_args);
        cfg->labels = TAKE_PTR(o->labels);
        cfg->log_driver = driver;
        if (driver == LOG_DRIVER_FILE) {
                if (o->log_path)
                        cfg->log_path = strdup(o->log_path);
                else {
                        cfg->log_path_owned = true;
                        if (asprintf(&cfg->log_path, "%s/%s.log", m->log_dir, id) < 0)
                                cfg->log_path = NULL;
                }
                if (!cfg->log_path)
                        return -ENOMEM;
        }
        cfg->no_pivot_root = o->no_pivot_root;
        cfg->terminal = o->terminal;
        cfg->open_stdin = o->open_stdin;
        cfg->created_at = now_usec(CLOCK_REALTIME);

        *ret = TAKE_PTR(cfg);
        return 0;
}

/* runc takes the terminal from the bundle: the option must say the same, or nothing would work as
 * asked. The sentence says what to do. */
static int check_bundle_terminal(const char *bundle, json_object *config, bool terminal, sd_bus_error *error) {
        json_object *process, *t;
        bool wants;

        wants = json_object_object_get_ex(config, "process", &process) &&
                json_object_object_get_ex(process, "terminal", &t) && json_object_get_boolean(t);
        if (wants && !terminal)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "The bundle '%s' asks for a terminal (\"terminal\": true in config.json): "
                                         "create the container with Terminal=true (berthctl run -t, -it), or set "
                                         "\"terminal\": false in its config.json.", bundle);
        if (!wants && terminal)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "Terminal=true, but the bundle '%s' runs its process without one: set "
                                         "\"terminal\": true in its config.json, or create it without a terminal.",
                                         bundle);
        return 0;
}

static int validate_bundle(const char *bundle, bool terminal, sd_bus_error *error) {
        _cleanup_json_ json_object *config = NULL;
        _cleanup_free_ char *reason = NULL;
        int r;

        r = bundle_validate(bundle, &config, &reason);
        switch (r) {
        case 0:
                return check_bundle_terminal(bundle, config, terminal, error);
        case -EINVAL:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_BUNDLE,
                                         "Bundle '%s' is not an absolute path.", bundle);
        case -ENOENT:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_BUNDLE,
                                         "Bundle '%s' does not exist or holds no config.json.", bundle);
        case -ENOTDIR:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_BUNDLE, "Bundle '%s' is not a directory.",
                                         bundle);
        case -EBADMSG:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_BUNDLE,
                                         "config.json in bundle '%s' is not a valid JSON object: %s", bundle,
                                         reason ?: "parse error");
        case -EBADFD:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_BUNDLE,
                                         "config.json in bundle '%s' is not a regular file.", bundle);
        case -EFBIG:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_BUNDLE,
                                         "config.json in bundle '%s' is too large.", bundle);
        default:
                if (errno_is_resource(r))
                        return bus_error_set_limit(error, r, "Cannot read bundle '%s'", bundle);
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_BUNDLE, "Bundle '%s' cannot be read: %s",
                                         bundle, strerror(-r));
        }
}

static int make_container_dir(Manager *m, Container *c, sd_bus_error *error) {
        int r;

        if (mkdirat(m->state_dir_fd, c->id, 0700) < 0) {
                if (errno == EEXIST)
                        return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_EXISTS,
                                                 "State of a container '%s' exists already.", c->id);
                return log_error_errno(errno, "Failed to create state directory of '%s': %m", c->id);
        }
        c->dir_fd = openat(m->state_dir_fd, c->id, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (c->dir_fd < 0)
                return log_error_errno(errno, "Failed to open state directory of '%s': %m", c->id);

        r = container_config_save(c->dir_fd, c->config);
        if (r == -EFBIG)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "The options of '%s' are too large (labels, runtime arguments).", c->id);
        if (r < 0)
                return log_error_errno(r, "Failed to write container.json of '%s': %m", c->id);

        if (c->config->log_path_owned) {
                r = mkdir_p(m->log_dir, 0750);
                if (r < 0)
                        return log_error_errno(r, "Failed to create log directory '%s': %m", m->log_dir);
        }
        return 0;
}

static int method_create_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(create_options_done) CreateOptions o = CREATE_OPTIONS_NULL;
        _cleanup_(container_config_freep) ContainerConfig *cfg = NULL;
        Manager *m = userdata;
        const char *id, *bundle;
        LogDriver driver = LOG_DRIVER_FILE;
        Container *c;
        int r;

        r = manager_check_caller(m, message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ss", &id, &bundle);
        if (r < 0)
                return r;
        if (!container_id_is_valid(id))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ID,
                                         "Invalid container id '%s': use 1-128 of [A-Za-z0-9_.-], starting with a "
                                         "letter or digit.", id);
        r = create_options_read(message, &o, error);
        if (r < 0)
                return r;
        if (manager_get_container(m, id))
                return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_EXISTS, "Container '%s' exists already.", id);
        r = validate_bundle(bundle, o.terminal, error);
        if (r < 0)
                return r;
        r = create_options_check(&o, m->state_dir_fd, &driver, error);
        if (r < 0)
                return r;
        r = build_config(m, id, bundle, &o, driver, &cfg, error);
        if (r < 0)
                return r;

        r = container_new(m, id, cfg, &c);
        if (r < 0)
                return r;
        TAKE_PTR(cfg);

        /* Before the spawn: with Start the shim is told to start right after the create. */
        c->start_after_create = o.start;
        r = make_container_dir(m, c, error);
        if (r >= 0)
                r = container_spawn_shim(c, o.stdio_fds);
        if (r < 0) {
                if (c->dir_fd >= 0)
                        (void) container_remove_state(c);
                container_free(c);
                if (!sd_bus_error_is_set(error))
                        r = bus_error_set_limit(error, r, "Cannot create container '%s'", id);
                return r;
        }

        c->create_request = sd_bus_message_ref(message);
        return 1;
}

/* The by-id methods: look the container up, then do what its own method does. */
static int method_by_id(sd_bus_message *message, Manager *m, sd_bus_message_handler_t handler,
                        sd_bus_error *error) {
        Container *c;
        const char *id;
        int r;

        r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        r = manager_get_container_or_error(m, id, &c, error);
        if (r < 0)
                return r;
        return handler(message, c, error);
}

static int method_start_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_id(message, userdata, method_container_start, error);
}

static int method_kill_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_id(message, userdata, method_container_kill, error);
}

static int method_delete_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_id(message, userdata, method_container_delete, error);
}

static int method_pause_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_id(message, userdata, method_container_pause, error);
}

static int method_resume_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_id(message, userdata, method_container_resume, error);
}

static int method_wait_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_id(message, userdata, method_container_wait, error);
}

/* Exec processes need a running container whose shim answers. */
static int container_check_exec(Container *c, sd_bus_error *error) {
        if (container_is_deleting(c))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE, "Container '%s' is being deleted.", c->id);
        if (c->state != CONTAINER_RUNNING)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "Container '%s' is %s; processes run only in a running container.", c->id,
                                         container_state_to_string(c->state));
        if (c->attaching || !c->shim_bus)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_STATE,
                                         "The shim of '%s' does not answer yet; berthd keeps trying.", c->id);
        return 0;
}

typedef struct ExecOptions {
        int start;
        int open_stdin;
        int stdio_fds[3];
} ExecOptions;

static const BusOption exec_options_table[] = {
        { "Start", "b", offsetof(ExecOptions, start) },
        { "OpenStdin", "b", offsetof(ExecOptions, open_stdin) },
        { "Stdin", "h", offsetof(ExecOptions, stdio_fds[0]) },
        { "Stdout", "h", offsetof(ExecOptions, stdio_fds[1]) },
        { "Stderr", "h", offsetof(ExecOptions, stdio_fds[2]) },
        BUS_OPTIONS_END
};

static void exec_options_done(ExecOptions *o) {
        bus_options_done(exec_options_table, o);
}

static int method_exec_process(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(exec_options_done) ExecOptions o = { .start = true, .stdio_fds = { -EBADF, -EBADF, -EBADF } };
        _cleanup_free_ char *json = NULL;
        const char *id, *exec_id, *process_json;
        Manager *m = userdata;
        Container *c;
        Process *p;
        bool terminal;
        int r;

        r = manager_check_caller(m, message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "sss", &id, &exec_id, &process_json);
        if (r < 0)
                return r;
        r = manager_get_container_or_error(m, id, &c, error);
        if (r < 0)
                return r;
        if (!exec_id_is_valid(exec_id, false))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ID,
                                         "Invalid exec id '%s': use 1-128 of [A-Za-z0-9_.-], starting with a "
                                         "letter or digit.", exec_id);
        r = bus_options_read(message, exec_options_table, &o, error);
        if (r < 0)
                return r;
        r = container_check_exec(c, error);
        if (r < 0)
                return r;
        if (container_get_process(c, exec_id))
                return sd_bus_error_setf(error, BERTH_ERROR_PROCESS_EXISTS,
                                         "Container '%s' has a process '%s' already.", id, exec_id);
        r = process_spec_build(c->config->bundle, process_json, &json, &terminal, error);
        if (r < 0)
                return r;
        r = container_exec(c, exec_id, json, terminal, o.open_stdin, o.stdio_fds, o.start, message, &p);
        return r < 0 ? r : 1;
}

/* The (s id, s exec_id) methods: look the process up, then do what its own method does. */
static int method_by_process(sd_bus_message *message, Manager *m, sd_bus_message_handler_t handler,
                             sd_bus_error *error) {
        const char *id, *exec_id;
        Container *c;
        Process *p;
        int r;

        r = sd_bus_message_read(message, "ss", &id, &exec_id);
        if (r < 0)
                return r;
        r = manager_get_container_or_error(m, id, &c, error);
        if (r < 0)
                return r;
        p = exec_id_is_valid(exec_id, false) ? container_get_process(c, exec_id) : NULL;
        if (!p || !p->exported)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_PROCESS, "Container '%s' has no process '%s'.",
                                         id, exec_id);
        return handler(message, p, error);
}

static int method_start_process(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_process(message, userdata, method_process_start, error);
}

static int method_delete_process(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_process(message, userdata, method_process_delete, error);
}

/* The I/O methods: (s id, s exec_id, ...); reading the container's I/O is a change as well. */
static int io_lookup(sd_bus_message *message, Manager *m, Container **ret_c, const char **ret_exec_id,
                     sd_bus_error *error) {
        const char *id;
        int r;

        r = manager_check_caller(m, message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ss", &id, ret_exec_id);
        if (r < 0)
                return r;
        return manager_get_container_or_error(m, id, ret_c, error);
}

static int method_open_attach(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *exec_id;
        Container *c;
        int r;

        r = io_lookup(message, userdata, &c, &exec_id, error);
        if (r < 0)
                return r;
        return container_open_attach(c, exec_id, message, error);
}

static int method_resize_terminal(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *exec_id;
        uint32_t columns, rows;
        Container *c;
        int r;

        r = io_lookup(message, userdata, &c, &exec_id, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "uu", &columns, &rows);
        if (r < 0)
                return r;
        return container_resize_terminal(c, exec_id, columns, rows, message, error);
}

static int method_close_stdin(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *exec_id;
        Container *c;
        int r;

        r = io_lookup(message, userdata, &c, &exec_id, error);
        if (r < 0)
                return r;
        return container_close_stdin(c, exec_id, message, error);
}

static int method_exec_sync(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *id, *process_json;
        Manager *m = userdata;
        Container *c;
        int r;

        r = manager_check_caller(m, message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ss", &id, &process_json);
        if (r < 0)
                return r;
        r = manager_get_container_or_error(m, id, &c, error);
        if (r < 0)
                return r;
        r = container_check_exec(c, error);
        if (r < 0)
                return r;
        return exec_sync_start(c, process_json, message, error);
}

static int method_get_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Container *c;
        const char *id;
        int r;

        r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        r = manager_get_container_or_error(m, id, &c, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", c->path);
}

static int method_list_containers(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssuio)");
        if (r < 0)
                return r;
        LIST_FOREACH(containers, c, m->containers) {
                if (!c->exported)
                        continue;
                r = sd_bus_message_append(reply, "(sssuio)", c->id, container_state_to_string(c->state),
                                          c->config->bundle, (uint32_t) c->pid, c->exited ? c->exit.status : -1,
                                          c->path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *v = "";

        if (streq(property, "Version"))
                v = BERTH_VERSION;
        else if (streq(property, "DefaultRuntime"))
                v = m->default_runtime;
        else if (streq(property, "StateDirectory"))
                v = m->state_dir;
        return sd_bus_message_append(reply, "s", v);
}

static int property_get_container_count(sd_bus *bus, const char *path, const char *interface,
                                        const char *property, sd_bus_message *reply, void *userdata,
                                        sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) m->n_containers);
}

/* Methods that change state check the caller themselves (manager_check_caller()), so a
 * non-root caller gets org.berth.Error.AccessDenied, hence SD_BUS_VTABLE_UNPRIVILEGED everywhere. */
const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DefaultRuntime", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StateDirectory", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ContainerCount", "u", property_get_container_count, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("CreateContainer", SD_BUS_ARGS("s", id, "s", bundle, "a{sv}", options),
                                SD_BUS_RESULT("o", container), method_create_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartContainer", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT, method_start_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("KillContainer", SD_BUS_ARGS("s", id, "i", signal, "b", all), SD_BUS_NO_RESULT,
                                method_kill_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteContainer", SD_BUS_ARGS("s", id, "b", force), SD_BUS_NO_RESULT,
                                method_delete_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PauseContainer", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT, method_pause_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResumeContainer", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT,
                                method_resume_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("WaitContainer", SD_BUS_ARGS("s", id), SD_BUS_RESULT("i", status),
                                method_wait_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetContainer", SD_BUS_ARGS("s", id), SD_BUS_RESULT("o", container),
                                method_get_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListContainers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssuio)", containers),
                                method_list_containers, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_METHOD_WITH_ARGS("ExecProcess",
                                SD_BUS_ARGS("s", id, "s", exec_id, "s", process_json, "a{sv}", options),
                                SD_BUS_RESULT("o", process), method_exec_process, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartProcess", SD_BUS_ARGS("s", id, "s", exec_id), SD_BUS_NO_RESULT,
                                method_start_process, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteProcess", SD_BUS_ARGS("s", id, "s", exec_id), SD_BUS_NO_RESULT,
                                method_delete_process, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ExecSync", SD_BUS_ARGS("s", id, "s", process_json, "a{sv}", options),
                                SD_BUS_RESULT("i", status, "ay", stdout, "ay", stderr), method_exec_sync,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_METHOD_WITH_ARGS("OpenAttach", SD_BUS_ARGS("s", id, "s", exec_id), SD_BUS_RESULT("h", socket),
                                method_open_attach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResizeTerminal", SD_BUS_ARGS("s", id, "s", exec_id, "u", columns, "u", rows),
                                SD_BUS_NO_RESULT, method_resize_terminal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CloseStdin", SD_BUS_ARGS("s", id, "s", exec_id), SD_BUS_NO_RESULT,
                                method_close_stdin, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("ContainerCreated", SD_BUS_ARGS("s", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerStarted", SD_BUS_ARGS("s", id, "o", path, "u", pid), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerExited", SD_BUS_ARGS("s", id, "o", path, "i", status, "b", oom_killed), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerDeleted", SD_BUS_ARGS("s", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerOOM", SD_BUS_ARGS("s", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ProcessExited", SD_BUS_ARGS("s", id, "s", exec_id, "i", status), 0),
        SD_BUS_VTABLE_END
};

static const char *vtable_method_signature(const sd_bus_vtable *v, const char *member) {
        for (; v->type != _SD_BUS_VTABLE_END; v++)
                if (v->type == _SD_BUS_VTABLE_METHOD && streq(v->x.method.member, member))
                        return v->x.method.signature ?: "";
        return NULL;
}

/**
 * manager_signature_filter() - answer calls of our methods with wrong arguments with InvalidArgument
 * @message: any incoming message
 * @userdata: the manager
 * @ret_error: unused
 *
 * sd-bus itself would answer org.freedesktop.DBus.Error.InvalidArgs; berth promises its own names.
 * The vtables are the one definition of every signature.
 *
 * Return: 1 when the call was answered here, else 0.
 */
int manager_signature_filter(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        const char *path, *interface, *member, *signature, *expected = NULL;
        int r;

        if (!sd_bus_message_is_method_call(message, NULL, NULL))
                return 0;
        path = sd_bus_message_get_path(message);
        interface = sd_bus_message_get_interface(message);
        member = sd_bus_message_get_member(message);
        if (!path || !member)
                return 0;

        if (streq(path, MANAGER_OBJECT_PATH) && (!interface || streq(interface, MANAGER_INTERFACE)))
                expected = vtable_method_signature(manager_vtable, member);
        else if (strneq(path, CONTAINER_OBJECT_PREFIX "/", strlen(CONTAINER_OBJECT_PREFIX "/"))) {
                bool is_process = strstr(path + strlen(CONTAINER_OBJECT_PREFIX "/"), "/process/");

                if (is_process && (!interface || streq(interface, PROCESS_INTERFACE)))
                        expected = vtable_method_signature(process_vtable, member);
                else if (!is_process && (!interface || streq(interface, CONTAINER_INTERFACE)))
                        expected = vtable_method_signature(container_vtable, member);
        }
        if (!expected)
                return 0;

        signature = sd_bus_message_get_signature(message, true);
        if (streq(signature ?: "", expected))
                return 0;

        r = sd_bus_reply_method_errorf(message, BERTH_ERROR_INVALID_ARGUMENT,
                                       "%s takes the arguments (%s), not (%s).", member, expected, signature ?: "");
        return r < 0 ? r : 1;
}

/**
 * manager_emit_count_changed() - PropertiesChanged for ContainerCount
 * @m: the manager
 */
void manager_emit_count_changed(Manager *m) {
        int r;

        r = sd_bus_emit_properties_changed(m->bus, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, "ContainerCount", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit ContainerCount change, ignoring: %m");
}
