/* The files of a container's state directory, and the names of states, exit reasons and log drivers.
 *
 * container.json holds what was asked for (ContainerConfig); "exit" holds the exit record; "pid",
 * "shim.pid" and "started" hold one decimal number each. All are replaced atomically (rename); only
 * the exit record is also fsync'ed, since the rest describes processes that die with the OS anyway.
 * They are parsed strictly: anything unexpected in them is -EBADMSG, so that berthd never acts on a state
 * file it does not understand.
 *
 * container.json:  {"id":"...","bundle":"...","runtime":"...","runtime_root":"...",
 *                   "runtime_args":["..."],"log_driver":"file","log_path":"...","log_path_owned":true,
 *                   "labels":{"k":"v"},"terminal":false,"open_stdin":false,"no_pivot_root":false,
 *                   "created_at":N}
 * exit:            {"status":N,"signal":N,"reason":"exited","oom_killed":false,"finished_at":N} */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "json-state.h"
#include "path-util.h"

#define CONFIG_FILE_MAX (1024U * 1024U)
#define EXIT_FILE_MAX (64U * 1024U)

static const char *const container_state_table[_CONTAINER_STATE_MAX] = {
        [CONTAINER_CREATED] = "created",
        [CONTAINER_RUNNING] = "running",
        [CONTAINER_PAUSED] = "paused",
        [CONTAINER_STOPPED] = "stopped",
        [CONTAINER_UNKNOWN] = "unknown",
};

static const char *const exit_reason_table[_EXIT_REASON_MAX] = {
        [EXIT_REASON_EXITED] = "exited",
        [EXIT_REASON_SIGNALED] = "signaled",
        [EXIT_REASON_OOM_KILLED] = "oom-killed",
        [EXIT_REASON_SHIM_LOST] = "shim-lost",
};

static const char *const log_driver_table[_LOG_DRIVER_MAX] = {
        [LOG_DRIVER_FILE] = "file",
        [LOG_DRIVER_JOURNALD] = "journald",
        [LOG_DRIVER_NONE] = "none",
};

static int table_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}

/**
 * container_state_to_string() - name of a container state
 * @s: the state
 *
 * Return: the name, or NULL for an invalid value.
 */
const char *container_state_to_string(ContainerState s) {
        return s >= 0 && s < _CONTAINER_STATE_MAX ? container_state_table[s] : NULL;
}

/**
 * container_state_from_string() - parse a container state name
 * @s: the name
 *
 * Return: the state or _CONTAINER_STATE_INVALID.
 */
ContainerState container_state_from_string(const char *s) {
        return (ContainerState) table_lookup(container_state_table, _CONTAINER_STATE_MAX, s);
}

/**
 * exit_reason_to_string() - name of an exit reason
 * @r: the reason
 *
 * Return: the name, or NULL for an invalid value.
 */
const char *exit_reason_to_string(ExitReason r) {
        return r >= 0 && r < _EXIT_REASON_MAX ? exit_reason_table[r] : NULL;
}

/**
 * exit_reason_from_string() - parse an exit reason name
 * @s: the name
 *
 * Return: the reason or _EXIT_REASON_INVALID.
 */
ExitReason exit_reason_from_string(const char *s) {
        return (ExitReason) table_lookup(exit_reason_table, _EXIT_REASON_MAX, s);
}

/**
 * log_driver_to_string() - name of a log driver
 * @d: the driver
 *
 * Return: the name, or NULL for an invalid value.
 */
const char *log_driver_to_string(LogDriver d) {
        return d >= 0 && d < _LOG_DRIVER_MAX ? log_driver_table[d] : NULL;
}

/**
 * log_driver_from_string() - parse a log driver name
 * @s: the name
 *
 * Return: the driver or _LOG_DRIVER_INVALID.
 */
LogDriver log_driver_from_string(const char *s) {
        return (LogDriver) table_lookup(log_driver_table, _LOG_DRIVER_MAX, s);
}

/**
 * container_config_free() - free a ContainerConfig
 * @c: the config (may be NULL)
 *
 * Return: NULL.
 */
ContainerConfig *container_config_free(ContainerConfig *c) {
        if (!c)
                return NULL;

        free(c->id);
        free(c->bundle);
        free(c->runtime);
        free(c->runtime_root);
        strv_free(c->runtime_args);
        free(c->log_path);
        strv_free(c->labels);
        return mfree(c);
}

/* Parses text that must be exactly one JSON object (whitespace around it is fine). */
static int parse_object(const char *text, json_object **ret) {
        int r;

        if (!text)
                return -EBADMSG;
        r = json_parse_object(text, strlen(text), ret, NULL);
        return r == -EFBIG ? -EBADMSG : r;
}

/* Field getters: return 0 when absent (ret untouched), 1 when set, -EBADMSG when ill-typed. */
static int get_string(json_object *obj, const char *key, char **ret) {
        json_object *v;
        char *s;

        if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        if (strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                return -EBADMSG;        /* embedded NUL */
        s = strdup(json_object_get_string(v));
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 1;
}

static int get_bool(json_object *obj, const char *key, bool *ret) {
        json_object *v;

        if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return -EBADMSG;
        *ret = json_object_get_boolean(v);
        return 1;
}

static int get_int64(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *ret) {
        json_object *v;
        int64_t i;

        if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_int))
                return -EBADMSG;
        errno = 0;
        i = json_object_get_int64(v);
        if (errno != 0 || i < min || i > max)
                return -EBADMSG;
        *ret = i;
        return 1;
}

static int get_strv(json_object *obj, const char *key, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        json_object *v;
        size_t n;

        if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return -EBADMSG;

        n = json_object_array_length(v);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);

                if (!json_object_is_type(e, json_type_string))
                        return -EBADMSG;
                l[i] = strdup(json_object_get_string(e));
                if (!l[i])
                        return -ENOMEM;
        }

        strv_free(*ret);
        *ret = TAKE_PTR(l);
        return 1;
}

static int get_labels(json_object *obj, const char *key, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        json_object *v;
        size_t i = 0;

        if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_object))
                return -EBADMSG;

        l = calloc((size_t) json_object_object_length(v) * 2 + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        json_object_object_foreach(v, k, val) {
                if (!json_object_is_type(val, json_type_string))
                        return -EBADMSG;
                l[i] = strdup(k);
                if (!l[i++])
                        return -ENOMEM;
                l[i] = strdup(json_object_get_string(val));
                if (!l[i++])
                        return -ENOMEM;
        }

        strv_free(*ret);
        *ret = TAKE_PTR(l);
        return 1;
}

static int add(json_object *obj, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(obj, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_string(json_object *obj, const char *key, const char *s) {
        return s ? add(obj, key, json_object_new_string(s)) : 0;
}

static int to_text(json_object *obj, char **ret) {
        const char *s;
        char *t;

        s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        t = strdup(s);
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

static int save_text(int dirfd, const char *name, const char *text, mode_t mode, AtomicFileFlags flags) {
        _cleanup_free_ char *line = NULL;
        size_t n = strlen(text);

        line = malloc(n + 2);
        if (!line)
                return -ENOMEM;
        memcpy(line, text, n);
        line[n] = '\n';
        line[n + 1] = '\0';
        return write_file_atomic_at_full(dirfd, name, line, n + 1, mode, flags);
}

/**
 * container_config_to_json() - serialize a container config
 * @c: the config; id, bundle and runtime must be set, labels must have an even length
 * @ret: the JSON text (no trailing newline)
 *
 * Return: 0, -EINVAL or -ENOMEM.
 */
int container_config_to_json(const ContainerConfig *c, char **ret) {
        _cleanup_json_ json_object *obj = NULL, *args = NULL, *labels = NULL;
        int r;

        if (!c || !c->id || !c->bundle || !c->runtime || !ret)
                return -EINVAL;
        if (strv_length(c->labels) % 2 != 0 || !log_driver_to_string(c->log_driver))
                return -EINVAL;

        obj = json_object_new_object();
        args = json_object_new_array();
        labels = json_object_new_object();
        if (!obj || !args || !labels)
                return -ENOMEM;

        STRV_FOREACH(a, c->runtime_args) {
                json_object *s = json_object_new_string(*a);
                if (!s || json_object_array_add(args, s) < 0) {
                        json_object_put(s);
                        return -ENOMEM;
                }
        }
        for (char **l = c->labels; l && l[0]; l += 2) {
                r = add(labels, l[0], json_object_new_string(l[1]));
                if (r < 0)
                        return r;
        }

        if ((r = add_string(obj, "id", c->id)) < 0 ||
            (r = add_string(obj, "bundle", c->bundle)) < 0 ||
            (r = add_string(obj, "runtime", c->runtime)) < 0 ||
            (r = add_string(obj, "runtime_root", c->runtime_root)) < 0 ||
            (r = add(obj, "runtime_args", TAKE_PTR(args))) < 0 ||
            (r = add_string(obj, "log_driver", log_driver_to_string(c->log_driver))) < 0 ||
            (r = add_string(obj, "log_path", c->log_path)) < 0 ||
            (r = add(obj, "log_path_owned", json_object_new_boolean(c->log_path_owned))) < 0 ||
            (r = add(obj, "labels", TAKE_PTR(labels))) < 0 ||
            (r = add(obj, "terminal", json_object_new_boolean(c->terminal))) < 0 ||
            (r = add(obj, "open_stdin", json_object_new_boolean(c->open_stdin))) < 0 ||
            (r = add(obj, "no_pivot_root", json_object_new_boolean(c->no_pivot_root))) < 0 ||
            (r = add(obj, "created_at", json_object_new_int64((int64_t) c->created_at))) < 0)
                return r;

        return to_text(obj, ret);
}

/**
 * container_config_from_json() - parse a container config
 * @text: JSON text
 * @ret: the new config
 *
 * id (a valid container id), bundle and runtime are required; optional fields that are present must
 * have the right type. runtime_args and labels are always non-NULL in the result.
 *
 * Return: 0, -EBADMSG if malformed, or -ENOMEM.
 */
int container_config_from_json(const char *text, ContainerConfig **ret) {
        _cleanup_(container_config_freep) ContainerConfig *c = NULL;
        _cleanup_json_ json_object *obj = NULL;
        _cleanup_free_ char *driver = NULL;
        int64_t created_at = 0;
        int r;

        if (!ret)
                return -EINVAL;

        r = parse_object(text, &obj);
        if (r < 0)
                return r;

        c = calloc(1, sizeof(ContainerConfig));
        if (!c)
                return -ENOMEM;
        c->log_driver = LOG_DRIVER_NONE;

        if ((r = get_string(obj, "id", &c->id)) < 0 ||
            (r = get_string(obj, "bundle", &c->bundle)) < 0 ||
            (r = get_string(obj, "runtime", &c->runtime)) < 0 ||
            (r = get_string(obj, "runtime_root", &c->runtime_root)) < 0 ||
            (r = get_strv(obj, "runtime_args", &c->runtime_args)) < 0 ||
            (r = get_string(obj, "log_driver", &driver)) < 0 ||
            (r = get_string(obj, "log_path", &c->log_path)) < 0 ||
            (r = get_bool(obj, "log_path_owned", &c->log_path_owned)) < 0 ||
            (r = get_labels(obj, "labels", &c->labels)) < 0 ||
            (r = get_bool(obj, "terminal", &c->terminal)) < 0 ||
            (r = get_bool(obj, "open_stdin", &c->open_stdin)) < 0 ||
            (r = get_bool(obj, "no_pivot_root", &c->no_pivot_root)) < 0 ||
            (r = get_int64(obj, "created_at", 0, INT64_MAX, &created_at)) < 0)
                return r;

        if (!container_id_is_valid(c->id) || !c->bundle || !c->runtime)
                return -EBADMSG;
        if (driver) {
                c->log_driver = log_driver_from_string(driver);
                if (c->log_driver < 0)
                        return -EBADMSG;
        }
        c->created_at = (uint64_t) created_at;

        if (!c->runtime_args) {
                c->runtime_args = calloc(1, sizeof(char *));
                if (!c->runtime_args)
                        return -ENOMEM;
        }
        if (!c->labels) {
                c->labels = calloc(1, sizeof(char *));
                if (!c->labels)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

/**
 * container_config_save() - write container.json atomically (mode 0600)
 * @dirfd: the container's state directory
 * @c: the config
 *
 * Return: 0, -EFBIG when it would be larger than container_config_load() accepts, or a negative errno.
 */
int container_config_save(int dirfd, const ContainerConfig *c) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = container_config_to_json(c, &text);
        if (r < 0)
                return r;
        /* What container_config_load() would refuse must not be written. */
        if (strlen(text) > CONFIG_FILE_MAX)
                return -EFBIG;
        /* Like the processes it describes, it need not survive an OS crash: no fsync. */
        return save_text(dirfd, STATE_FILE_CONFIG, text, 0600, ATOMIC_FILE_NO_SYNC);
}

/**
 * container_config_load() - read container.json
 * @dirfd: the container's state directory
 * @ret: the config
 *
 * Return: 0, -ENOENT if there is none, -EBADMSG if it is malformed, or another negative errno.
 */
int container_config_load(int dirfd, ContainerConfig **ret) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_full_file_at(dirfd, STATE_FILE_CONFIG, CONFIG_FILE_MAX, &text, &size);
        if (r < 0)
                return r;
        if (strlen(text) != size)
                return -EBADMSG;
        return container_config_from_json(text, ret);
}

/**
 * exit_record_from_wait_status() - turn a waitpid() status into an exit record
 * @wstatus: the status
 * @ret: the record; finished_at is set to the current CLOCK_REALTIME time
 *
 * A normal exit gives its code (reason exited), death by signal N gives 128+N (reason signaled).
 * Anything else (a stop status) is recorded as status 255, reason exited.
 */
void exit_record_from_wait_status(int wstatus, ExitRecord *ret) {
        ExitRecord r = {
                .status = 255,
                .reason = EXIT_REASON_EXITED,
                .finished_at = now_usec(CLOCK_REALTIME),
        };

        if (WIFEXITED(wstatus))
                r.status = WEXITSTATUS(wstatus);
        else if (WIFSIGNALED(wstatus)) {
                r.signal = WTERMSIG(wstatus);
                r.status = 128 + r.signal;
                r.reason = EXIT_REASON_SIGNALED;
        }

        *ret = r;
}

/**
 * exit_record_format() - the text of the "exit" file, without allocating
 * @r: the record
 * @buf: where to write it, NUL terminated
 * @size: the size of @buf; EXIT_RECORD_SIZE_MAX is always enough
 *
 * The one place the record's text is made (the shim writes it at exit, berthd for a lost shim):
 * one JSON object and a newline. It allocates nothing, so that the shim can write a record when
 * nothing else works any more. The reason names need no escaping.
 *
 * Return: the length written (without the NUL), -EINVAL for an invalid record, or -ENOBUFS.
 */
int exit_record_format(const ExitRecord *r, char *buf, size_t size) {
        const char *reason;
        int n;

        if (!r || !buf)
                return -EINVAL;
        reason = exit_reason_to_string(r->reason);
        if (!reason)
                return -EINVAL;

        n = snprintf(buf, size,
                     "{\"status\":%d,\"signal\":%d,\"reason\":\"%s\",\"oom_killed\":%s,\"finished_at\":%" PRId64 "}\n",
                     r->status, r->signal, reason, r->oom_killed ? "true" : "false", (int64_t) r->finished_at);
        if (n < 0)
                return -EINVAL;
        if ((size_t) n >= size)
                return -ENOBUFS;
        return n;
}

/**
 * exit_record_to_json() - serialize an exit record
 * @r: the record
 * @ret: the JSON text (no trailing newline)
 *
 * Return: 0, -EINVAL or -ENOMEM.
 */
int exit_record_to_json(const ExitRecord *r, char **ret) {
        char buf[EXIT_RECORD_SIZE_MAX];
        int n;

        if (!ret)
                return -EINVAL;
        n = exit_record_format(r, buf, sizeof(buf));
        if (n < 0)
                return n;
        buf[n - 1] = '\0';
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/**
 * exit_record_from_json() - parse an exit record
 * @text: JSON text
 * @ret: the record
 *
 * status and reason are required.
 *
 * Return: 0, -EBADMSG if malformed, or -ENOMEM.
 */
int exit_record_from_json(const char *text, ExitRecord *ret) {
        _cleanup_json_ json_object *obj = NULL;
        _cleanup_free_ char *reason = NULL;
        int64_t status = -1, sig = 0, finished_at = 0;
        ExitRecord e = {};
        int r;

        if (!ret)
                return -EINVAL;

        r = parse_object(text, &obj);
        if (r < 0)
                return r;

        if ((r = get_int64(obj, "status", 0, 255, &status)) < 0 ||
            (r = get_int64(obj, "signal", 0, 255, &sig)) < 0 ||
            (r = get_string(obj, "reason", &reason)) < 0 ||
            (r = get_bool(obj, "oom_killed", &e.oom_killed)) < 0 ||
            (r = get_int64(obj, "finished_at", 0, INT64_MAX, &finished_at)) < 0)
                return r;
        if (status < 0 || !reason)
                return -EBADMSG;

        e.reason = exit_reason_from_string(reason);
        if (e.reason < 0)
                return -EBADMSG;
        e.status = (int) status;
        e.signal = (int) sig;
        e.finished_at = (uint64_t) finished_at;

        *ret = e;
        return 0;
}

/**
 * exit_record_save() - write the "exit" file atomically (mode 0644)
 * @dirfd: the container's state directory
 * @r: the record
 *
 * Return: 0 or a negative errno.
 */
int exit_record_save(int dirfd, const ExitRecord *r) {
        char buf[EXIT_RECORD_SIZE_MAX];
        int n;

        n = exit_record_format(r, buf, sizeof(buf));
        if (n < 0)
                return n;
        /* The exit record is promised durable. */
        return write_file_atomic_at(dirfd, STATE_FILE_EXIT, buf, (size_t) n, 0644);
}

/**
 * exit_record_load() - read the "exit" file
 * @dirfd: the container's state directory
 * @ret: the record
 *
 * Return: 0, -ENOENT when the container has not exited, -EBADMSG if malformed, or another errno.
 */
int exit_record_load(int dirfd, ExitRecord *ret) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_full_file_at(dirfd, STATE_FILE_EXIT, EXIT_FILE_MAX, &text, &size);
        if (r < 0)
                return r;
        if (strlen(text) != size)
                return -EBADMSG;
        return exit_record_from_json(text, ret);
}

/**
 * exit_record_reserve() - reserve the exit record's file, space and fd in a state directory
 * @dirfd: the container's state directory, kept open until exit_record_commit()
 * @ret: the reservation (STATE_FILE_EXIT_RESERVED, EXIT_RECORD_SIZE_MAX bytes, mode 0644)
 *
 * Return: 0 or a negative errno.
 */
int exit_record_reserve(int dirfd, ReservedFile *ret) {
        return reserved_file_open_at(dirfd, STATE_FILE_EXIT_RESERVED, EXIT_RECORD_SIZE_MAX, 0644, ret);
}

/**
 * exit_record_commit() - write the "exit" file into its reservation: atomically and durably, and
 * without a new inode, block or fd
 * @f: the reservation from exit_record_reserve()
 * @dirfd: the same state directory
 * @r: the record
 *
 * May be called again after a failure.
 *
 * Return: 0 or a negative errno.
 */
int exit_record_commit(ReservedFile *f, int dirfd, const ExitRecord *r) {
        char buf[EXIT_RECORD_SIZE_MAX];
        int n;

        n = exit_record_format(r, buf, sizeof(buf));
        if (n < 0)
                return n;
        return reserved_file_commit_at(f, dirfd, STATE_FILE_EXIT_RESERVED, STATE_FILE_EXIT, buf, (size_t) n);
}

/**
 * state_write_u64() - write a decimal number and a newline to a file, atomically (mode 0644)
 * @dirfd: directory fd
 * @name: file name
 * @v: the number
 *
 * Return: 0 or a negative errno.
 */
int state_write_u64(int dirfd, const char *name, uint64_t v) {
        char buf[32];
        int n;

        n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
        return write_file_atomic_at_full(dirfd, name, buf, (size_t) n, 0644, ATOMIC_FILE_NO_SYNC);
}

/**
 * state_read_u64() - read a file written by state_write_u64()
 * @dirfd: directory fd
 * @name: file name
 * @ret: the number
 *
 * Return: 0, -ENOENT, -EBADMSG if the file is not one decimal number, or another negative errno.
 */
int state_read_u64(int dirfd, const char *name, uint64_t *ret) {
        _cleanup_free_ char *line = NULL;
        unsigned long long v;
        char *end;
        int r;

        if (!ret)
                return -EINVAL;

        r = read_one_line_at(dirfd, name, &line);
        if (r < 0)
                return r;

        if (line[0] < '0' || line[0] > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoull(line, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EBADMSG;

        *ret = (uint64_t) v;
        return 0;
}
