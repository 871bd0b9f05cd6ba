/* An exec's process object. Callers (berthctl exec, a CRI ExecSync) usually give the command and
 * what differs from the container (an env var, a user); everything else is the container's, as
 * podman does. What the caller gives wins, member by member, except "env", which is merged by
 * variable name (the caller's win). runc checks the rest. */

#include <json-c/json.h>

#include "berth-error.h"
#include "caller-path.h"
#include "macro.h"
#include "path-util.h"
#include "process-spec.h"

#define PROCESS_JSON_MAX (1024U * 1024U)

static bool json_is_string_array(json_object *a, bool nonempty) {
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return false;
        n = json_object_array_length(a);
        if (nonempty && n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
                        return false;
        return true;
}

static int check_member(const char *key, json_object *v, sd_bus_error *error) {
        if (streq(key, "args") && !json_is_string_array(v, true))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "The process's \"args\" must be a non-empty array of strings.");
        if (streq(key, "env") && !json_is_string_array(v, false))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "The process's \"env\" must be an array of strings.");
        if (streq(key, "cwd") && (!json_object_is_type(v, json_type_string) ||
                                  !path_is_absolute(json_object_get_string(v))))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "The process's \"cwd\" must be an absolute path.");
        if (streq(key, "terminal") && !json_object_is_type(v, json_type_boolean))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "The process's \"terminal\" must be true or false.");
        if (streq(key, "user") && !json_object_is_type(v, json_type_object))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "The process's \"user\" must be an object (uid, gid).");
        return 0;
}

/* Sets each NAME=value of @env in @process's "env", replacing an entry of the same NAME. */
static int env_merge(json_object *process, json_object *env) {
        json_object *base;
        size_t n = json_object_array_length(env);

        if (!json_object_object_get_ex(process, "env", &base) || !json_object_is_type(base, json_type_array))
                return json_object_object_add(process, "env", json_object_get(env)) < 0 ? -ENOMEM : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *entry = json_object_array_get_idx(env, i);
                const char *e = json_object_get_string(entry), *eq = strchr(e, '=');
                size_t name_len = eq ? (size_t) (eq - e) : strlen(e), m = json_object_array_length(base), j;

                for (j = 0; j < m; j++) {
                        const char *b = json_object_get_string(json_object_array_get_idx(base, j));

                        if (b && strneq(b, e, name_len) && IN_SET(b[name_len], '=', 0))
                                break;
                }
                if (j < m)
                        (void) json_object_array_put_idx(base, j, json_object_get(entry));
                else if (json_object_array_add(base, json_object_get(entry)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The bundle's "process" object, or an empty one. */
static int bundle_process(const char *bundle, json_object **ret, sd_bus_error *error) {
        _cleanup_json_ json_object *config = NULL;
        json_object *process;
        int r;

        r = bundle_validate(bundle, &config, NULL);
        if (r < 0)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_BUNDLE,
                                         "The container's bundle '%s' cannot be read any more: %s", bundle,
                                         strerror(-r));
        if (json_object_object_get_ex(config, "process", &process) &&
            json_object_is_type(process, json_type_object)) {
                *ret = json_object_get(process);
                return 0;
        }
        *ret = json_object_new_object();
        return *ret ? 0 : -ENOMEM;
}

/**
 * process_spec_build() - check and complete an exec's process object
 * @bundle: the container's bundle
 * @process_json: the caller's OCI process object
 * @ret_json: the completed object, as text
 * @ret_terminal: its "terminal"
 * @error: set for the caller's mistakes
 */
int process_spec_build(const char *bundle, const char *process_json, char **ret_json, bool *ret_terminal,
                       sd_bus_error *error) {
        _cleanup_json_ json_object *given = NULL, *process = NULL;
        _cleanup_free_ char *reason = NULL;
        json_object *args, *terminal;
        const char *text;
        size_t size = strlen(process_json);
        int r;

        if (size > PROCESS_JSON_MAX)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT, "The process JSON is too large.");
        r = json_parse_object(process_json, size, &given, &reason);
        if (r == -EBADMSG)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "The process is not a JSON object: %s", reason ?: "parse error");
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(given, "args", &args))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                         "The process has no \"args\" (the command to run).");
        json_object_object_foreach(given, key, v) {
                r = check_member(key, v, error);
                if (r < 0)
                        return r;
        }

        r = bundle_process(bundle, &process, error);
        if (r < 0)
                return r;
        json_object_object_del(process, "terminal");
        json_object_object_del(process, "consoleSize");
        json_object_object_foreach(given, k, val) {
                if (streq(k, "env"))
                        r = env_merge(process, val);
                else
                        r = json_object_object_add(process, k, json_object_get(val)) < 0 ? -ENOMEM : 0;
                if (r < 0)
                        return r;
        }

        text = json_object_to_json_string_ext(process, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        *ret_json = strdup(text);
        if (!*ret_json)
                return -ENOMEM;
        *ret_terminal = json_object_object_get_ex(process, "terminal", &terminal) &&
                json_object_get_boolean(terminal);
        return 0;
}
