/* Fuzzes the readers of the state files berthd and the shim trust after a restart:
 * container_config_from_json() (container.json) and exit_record_from_json() (exit), on the same
 * input. Invariants:
 * - what a reader accepts is what its documentation promises (a valid id, bundle and runtime set,
 *   non-NULL lists, labels in pairs, a known log driver; a status and signal in 0..255, a known
 *   reason);
 * - what it accepted is written back by the matching writer, read again, and written again to the
 *   same text: a state file berth wrote is one berth reads back unchanged. */

#include "fuzz.h"
#include "json-state.h"
#include "path-util.h"

static void check_config(const char *text) {
        _cleanup_(container_config_freep) ContainerConfig *c = NULL, *c2 = NULL;
        _cleanup_free_ char *json = NULL, *json2 = NULL;

        if (container_config_from_json(text, &c) < 0)
                return;
        fuzz_check(container_id_is_valid(c->id) && c->bundle && c->runtime);
        fuzz_check(c->runtime_args && c->labels && strv_length(c->labels) % 2 == 0);
        fuzz_check(log_driver_to_string(c->log_driver));

        fuzz_check(container_config_to_json(c, &json) == 0);
        fuzz_check(container_config_from_json(json, &c2) == 0);
        fuzz_check(container_config_to_json(c2, &json2) == 0);
        fuzz_check(streq(json, json2));
}

static void check_exit_record(const char *text) {
        _cleanup_free_ char *json = NULL, *json2 = NULL;
        ExitRecord e, e2;

        if (exit_record_from_json(text, &e) < 0)
                return;
        fuzz_check(e.status >= 0 && e.status <= 255 && e.signal >= 0 && e.signal <= 255);
        fuzz_check(exit_reason_to_string(e.reason));

        fuzz_check(exit_record_to_json(&e, &json) == 0);
        fuzz_check(exit_record_from_json(json, &e2) == 0);
        fuzz_check(e2.status == e.status && e2.signal == e.signal && e2.reason == e.reason &&
                   e2.oom_killed == e.oom_killed && e2.finished_at == e.finished_at);
        fuzz_check(exit_record_to_json(&e2, &json2) == 0);
        fuzz_check(streq(json, json2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_strndup(data, size);

        check_config(text);
        check_exit_record(text);
        return 0;
}
