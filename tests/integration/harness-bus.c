/* The fixture's D-Bus side (see harness.h): method calls on berthd, synchronous and asynchronous,
 * CreateContainer with options, properties, ListContainers, and signal watches that queue every
 * matching signal from the moment they exist. The fixture itself (processes, setup, teardown,
 * files) is in harness.c. */

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "harness.h"
#include "harness-private.h"

/* ---- method calls ---------------------------------------------------------------------------- */

/**
 * harness_container_path() - the object path of container id.
 * @id: the container id.
 */
char *harness_container_path(const char *id) {
        char *path = NULL;
        int r;

        r = sd_bus_path_encode(BERTH_CONTAINER_PREFIX, id, &path);
        ck_assert_int_ge(r, 0);
        return path;
}

static int callv(const char *path, const char *interface, const char *member, uint64_t timeout_usec,
                 sd_bus_error *ret_error, sd_bus_message **ret_reply, const char *types, va_list ap) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(harness->bus, &m, BERTH_BUS_NAME, path, interface, member);
        ck_assert_int_ge(r, 0);
        if (types) {
                r = sd_bus_message_appendv(m, types, ap);
                ck_assert_msg(r >= 0, "cannot append '%s' to %s: %s", types, member, strerror(-r));
        }
        return sd_bus_call(harness->bus, m, timeout_usec, ret_error, ret_reply);
}

/**
 * harness_call() - calls a method on berthd.
 * @path: object path.
 * @interface: interface.
 * @member: method.
 * @timeout_usec: reply timeout.
 * @ret_error: gets the D-Bus error (may be NULL).
 * @ret_reply: gets the reply (may be NULL).
 * @types: signature of the arguments that follow, as for sd_bus_message_append() (may be NULL).
 */
int harness_call(const char *path, const char *interface, const char *member, uint64_t timeout_usec,
                 sd_bus_error *ret_error, sd_bus_message **ret_reply, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = callv(path, interface, member, timeout_usec, ret_error, ret_reply, types, ap);
        va_end(ap);
        return r;
}

/**
 * harness_call_manager() - calls a method of org.berth.Monitor1 on the manager object.
 * @member: method.
 * @ret_error: gets the D-Bus error (may be NULL).
 * @ret_reply: gets the reply (may be NULL).
 * @types: signature of the arguments that follow (may be NULL).
 */
int harness_call_manager(const char *member, sd_bus_error *ret_error, sd_bus_message **ret_reply,
                         const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = callv(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, member, HARNESS_CALL_TIMEOUT_USEC,
                  ret_error, ret_reply, types, ap);
        va_end(ap);
        return r;
}

/**
 * harness_create_begin() - starts a CreateContainer call; add options, then harness_create_end().
 * @id: the container id.
 * @bundle: the bundle path.
 */
sd_bus_message *harness_create_begin(const char *id, const char *bundle) {
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(harness->bus, &m, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                           BERTH_MANAGER_INTERFACE, "CreateContainer");
        ck_assert_int_ge(r, 0);
        r = sd_bus_message_append(m, "ss", id, bundle);
        ck_assert_int_ge(r, 0);
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        ck_assert_int_ge(r, 0);
        return m;
}

/**
 * harness_create_option() - appends one option to a CreateContainer call.
 * @m: from harness_create_begin().
 * @name: the option's name.
 * @signature: the variant's signature; the value follows as for sd_bus_message_append().
 */
void harness_create_option(sd_bus_message *m, const char *name, const char *signature, ...) {
        va_list ap;
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        ck_assert_int_ge(r, 0);
        r = sd_bus_message_append(m, "s", name);
        ck_assert_int_ge(r, 0);
        r = sd_bus_message_open_container(m, 'v', signature);
        ck_assert_int_ge(r, 0);
        va_start(ap, signature);
        r = sd_bus_message_appendv(m, signature, ap);
        va_end(ap);
        ck_assert_msg(r >= 0, "cannot append option %s: %s", name, strerror(-r));
        r = sd_bus_message_close_container(m);
        ck_assert_int_ge(r, 0);
        r = sd_bus_message_close_container(m);
        ck_assert_int_ge(r, 0);
}

/**
 * harness_create_end() - sends a CreateContainer call and frees m.
 * @m: from harness_create_begin().
 * @ret_error: gets the D-Bus error (may be NULL).
 * @ret_path: gets the new container's object path (may be NULL).
 */
int harness_create_end(sd_bus_message *m, sd_bus_error *ret_error, char **ret_path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *call = m;
        const char *path;
        int r;

        r = sd_bus_message_close_container(call);
        ck_assert_int_ge(r, 0);
        r = sd_bus_call(harness->bus, call, HARNESS_CALL_TIMEOUT_USEC, ret_error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        ck_assert_int_ge(r, 0);
        if (ret_path)
                *ret_path = harness_xstrdup(path);
        return 0;
}

/**
 * harness_assert_create_fails() - a CreateContainer that must fail with a named error, changing nothing
 * @m: from harness_create_begin(), with its options; consumed
 * @expected: the error name
 * @must_contain: text the message must hold (case-insensitive), or NULL
 */
void harness_assert_create_fails(sd_bus_message *m, const char *expected, const char *must_contain) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        HarnessSnapshot snap = {};
        int r;

        harness_snapshot_take(&snap);
        r = harness_create_end(m, &error, NULL);
        ck_assert_msg(r < 0, "CreateContainer succeeded, expected %s", expected);
        ck_assert_msg(error.name && streq(error.name, expected), "CreateContainer: expected %s, got %s (%s)",
                      expected, error.name ?: "(none)", error.message ?: "");
        ck_assert_msg(error.message && *error.message, "%s without a message", error.name);
        if (must_contain)
                ck_assert_msg(strcasestr(error.message, must_contain),
                              "the message '%s' does not mention '%s'", error.message, must_contain);
        harness_snapshot_assert_unchanged(&snap);
        harness_snapshot_done(&snap);
}

/**
 * harness_create() - creates a container with no options but Start; asserts success.
 * @id: the container id.
 * @bundle: the bundle.
 * @start: whether to pass Start=true.
 */
char *harness_create(const char *id, const char *bundle, bool start) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = harness_create_begin(id, bundle);
        char *path = NULL;
        int r;

        if (start)
                harness_create_option(m, "Start", "b", 1);
        r = harness_create_end(m, &error, &path);
        ck_assert_msg(r >= 0, "CreateContainer('%s') failed: %s: %s", id, error.name ?: "",
                      error.message ?: strerror(-r));
        return path;
}

static void call_ok(const char *member, const char *id, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = callv(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, member, HARNESS_CALL_TIMEOUT_USEC, &error,
                  NULL, types, ap);
        va_end(ap);
        ck_assert_msg(r >= 0, "%s('%s') failed: %s: %s", member, id, error.name ?: "",
                      error.message ?: strerror(-r));
}

/**
 * harness_start() - StartContainer, asserting success.
 * @id: the container id.
 */
void harness_start(const char *id) {
        call_ok("StartContainer", id, "s", id);
}

/**
 * harness_kill() - KillContainer (init only), asserting success.
 * @id: the container id.
 * @sig: the signal.
 */
void harness_kill(const char *id, int sig) {
        call_ok("KillContainer", id, "sib", id, sig, 0);
}

/**
 * harness_delete() - DeleteContainer, asserting success.
 * @id: the container id.
 * @force: the force flag.
 */
void harness_delete(const char *id, bool force) {
        call_ok("DeleteContainer", id, "sb", id, (int) force);
}

/**
 * harness_wait() - WaitContainer, asserting success; returns the exit status.
 * @id: the container id.
 */
int harness_wait(const char *id) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int32_t status;
        int r;

        r = harness_call(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, "WaitContainer", 300 * USEC_PER_SEC,
                         &error, &reply, "s", id);
        ck_assert_msg(r >= 0, "WaitContainer('%s') failed: %s: %s", id, error.name ?: "",
                      error.message ?: strerror(-r));
        r = sd_bus_message_read(reply, "i", &status);
        ck_assert_int_ge(r, 0);
        return status;
}

/* ---- properties ------------------------------------------------------------------------------ */

static void get_trivial(const char *id, const char *property, char type, void *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = harness_container_path(id);
        int r;

        r = sd_bus_get_property_trivial(harness->bus, BERTH_BUS_NAME, path, BERTH_CONTAINER_INTERFACE,
                                        property, &error, type, ret);
        ck_assert_msg(r >= 0, "Get %s of '%s' failed: %s: %s", property, id, error.name ?: "",
                      error.message ?: strerror(-r));
}

/**
 * harness_get_string() - a string property of container id (free it).
 * @id: the container id.
 * @property: the property.
 */
char *harness_get_string(const char *id, const char *property) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = harness_container_path(id);
        char *s = NULL;
        int r;

        r = sd_bus_get_property_string(harness->bus, BERTH_BUS_NAME, path, BERTH_CONTAINER_INTERFACE,
                                       property, &error, &s);
        ck_assert_msg(r >= 0, "Get %s of '%s' failed: %s: %s", property, id, error.name ?: "",
                      error.message ?: strerror(-r));
        return s;
}

/**
 * harness_get_u32() - a "u" property of container id.
 * @id: the container id.
 * @property: the property.
 */
uint32_t harness_get_u32(const char *id, const char *property) {
        uint32_t v;

        get_trivial(id, property, 'u', &v);
        return v;
}

/**
 * harness_get_i32() - an "i" property of container id.
 * @id: the container id.
 * @property: the property.
 */
int32_t harness_get_i32(const char *id, const char *property) {
        int32_t v;

        get_trivial(id, property, 'i', &v);
        return v;
}

/**
 * harness_get_u64() - a "t" property of container id.
 * @id: the container id.
 * @property: the property.
 */
uint64_t harness_get_u64(const char *id, const char *property) {
        uint64_t v;

        get_trivial(id, property, 't', &v);
        return v;
}

/**
 * harness_get_bool() - a "b" property of container id.
 * @id: the container id.
 * @property: the property.
 */
bool harness_get_bool(const char *id, const char *property) {
        int v;

        get_trivial(id, property, 'b', &v);
        return v;
}

/* ---- ListContainers -------------------------------------------------------------------------- */

/**
 * harness_list() - ListContainers; returns the number of rows.
 * @ret: gets the rows (free with harness_entries_free()).
 */
size_t harness_list(HarnessEntry **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *state, *bundle, *path;
        HarnessEntry *e = NULL;
        uint32_t pid;
        int32_t status;
        size_t n = 0;
        int r;

        r = harness_call_manager("ListContainers", &error, &reply, NULL);
        ck_assert_msg(r >= 0, "ListContainers failed: %s: %s", error.name ?: "",
                      error.message ?: strerror(-r));
        r = sd_bus_message_enter_container(reply, 'a', "(sssuio)");
        ck_assert_int_ge(r, 0);
        while ((r = sd_bus_message_read(reply, "(sssuio)", &id, &state, &bundle, &pid, &status,
                                        &path)) > 0) {
                e = realloc(e, (n + 1) * sizeof(HarnessEntry));
                ck_assert_ptr_nonnull(e);
                e[n++] = (HarnessEntry) {
                        .id = harness_xstrdup(id),
                        .state = harness_xstrdup(state),
                        .bundle = harness_xstrdup(bundle),
                        .pid = pid,
                        .exit_status = status,
                        .path = harness_xstrdup(path),
                };
        }
        ck_assert_int_ge(r, 0);
        *ret = e;
        return n;
}

/**
 * harness_entries_free() - frees what harness_list() returned.
 * @e: the rows.
 * @n: how many.
 */
void harness_entries_free(HarnessEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].id);
                free(e[i].state);
                free(e[i].bundle);
                free(e[i].path);
        }
        free(e);
}

/**
 * harness_entries_find() - the row of id, or NULL.
 * @e: the rows.
 * @n: how many.
 * @id: the container id.
 */
const HarnessEntry *harness_entries_find(const HarnessEntry *e, size_t n, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (streq(e[i].id, id))
                        return &e[i];
        return NULL;
}

/**
 * harness_list_text() - ListContainers as sorted text, one row a line (free it).
 */
char *harness_list_text(void) {
        HarnessEntry *e = NULL;
        size_t n = harness_list(&e);
        char *text = harness_xstrdup(""), *sorted;

        for (size_t i = 0; i < n; i++) {
                char *t = harness_xasprintf("%s%s %s %s %u %d %s\n", text, e[i].id, e[i].state, e[i].bundle,
                                    e[i].pid, e[i].exit_status, e[i].path);
                free(text);
                text = t;
        }
        harness_entries_free(e, n);
        sorted = harness_sort_lines(text);
        free(text);
        ck_assert_ptr_nonnull(sorted);
        return sorted;
}

/* ---- signals --------------------------------------------------------------------------------- */

struct HarnessWatch {
        sd_bus_slot *slot;
        sd_bus_message **queue;
        size_t head, n, allocated;
};

static int watch_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        HarnessWatch *w = userdata;

        if (w->n == w->allocated) {
                size_t a = w->allocated * 2 + 16;
                sd_bus_message **q = realloc(w->queue, a * sizeof(sd_bus_message *));
                if (!q)
                        return -ENOMEM;
                w->queue = q;
                w->allocated = a;
        }
        w->queue[w->n++] = sd_bus_message_ref(m);
        return 0;
}

/**
 * harness_watch() - starts queueing the signals that match (the match is active when this returns).
 * @path: object path (NULL: any).
 * @interface: interface (NULL: any).
 * @member: signal name (NULL: any).
 */
HarnessWatch *harness_watch(const char *path, const char *interface, const char *member) {
        HarnessWatch *w = calloc(1, sizeof(HarnessWatch));
        int r;

        ck_assert_ptr_nonnull(w);
        r = sd_bus_match_signal(harness->bus, &w->slot, NULL, path, interface, member, watch_handler, w);
        ck_assert_msg(r >= 0, "AddMatch failed: %s", strerror(-r));
        return w;
}

/**
 * harness_watch_manager() - watches one signal of org.berth.Monitor1 on the manager object.
 * @member: the signal name.
 */
HarnessWatch *harness_watch_manager(const char *member) {
        return harness_watch(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE, member);
}

/**
 * harness_watch_free() - removes the match and drops queued signals; returns NULL.
 * @w: the watch (may be NULL).
 */
HarnessWatch *harness_watch_free(HarnessWatch *w) {
        if (!w)
                return NULL;
        sd_bus_slot_unref(w->slot);
        for (size_t i = w->head; i < w->n; i++)
                sd_bus_message_unref(w->queue[i]);
        free(w->queue);
        free(w);
        return NULL;
}

/**
 * harness_process_bus() - dispatches whatever the client bus has pending, without blocking.
 */
void harness_process_bus(void) {
        int r;

        while ((r = sd_bus_process(harness->bus, NULL)) > 0)
                ;
        ck_assert_msg(r >= 0, "sd_bus_process: %s", strerror(-r));
}

static sd_bus_message *watch_next_until(HarnessWatch *w, uint64_t deadline) {
        for (;;) {
                uint64_t now;
                int r;

                if (w->head < w->n)
                        return w->queue[w->head++];
                r = sd_bus_process(harness->bus, NULL);
                ck_assert_msg(r >= 0, "sd_bus_process: %s", strerror(-r));
                if (r > 0)
                        continue;
                now = harness_now_usec();
                if (now >= deadline)
                        return NULL;
                r = sd_bus_wait(harness->bus, deadline - now);
                ck_assert_msg(r >= 0 || r == -EINTR, "sd_bus_wait: %s", strerror(-r));
        }
}

/**
 * harness_watch_next() - the next signal of the watch, or NULL after timeout_usec (unref it).
 * @w: the watch.
 * @timeout_usec: how long to wait.
 */
sd_bus_message *harness_watch_next(HarnessWatch *w, uint64_t timeout_usec) {
        return watch_next_until(w, harness_now_usec() + timeout_usec);
}

/**
 * harness_watch_next_id() - the next signal whose first argument is id (others are dropped).
 * @w: the watch.
 * @id: the container id.
 * @timeout_usec: how long to wait.
 */
sd_bus_message *harness_watch_next_id(HarnessWatch *w, const char *id, uint64_t timeout_usec) {
        uint64_t deadline = harness_now_usec() + timeout_usec;

        for (;;) {
                sd_bus_message *m = watch_next_until(w, deadline);
                const char *s = NULL;

                if (!m)
                        return NULL;
                if (sd_bus_message_read(m, "s", &s) > 0 && streq(s, id)) {
                        ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
                        return m;
                }
                sd_bus_message_unref(m);
        }
}

/* Whether one PropertiesChanged message sets State to state. */
static bool properties_changed_sets_state(sd_bus_message *m, const char *id, const char *state) {
        const char *interface, *name;
        bool invalidated = false;

        if (sd_bus_message_read(m, "s", &interface) <= 0 || !streq(interface, BERTH_CONTAINER_INTERFACE))
                return false;
        ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                ck_assert_int_ge(sd_bus_message_read(m, "s", &name), 0);
                if (streq(name, "State")) {
                        const char *v;

                        ck_assert_int_ge(sd_bus_message_read(m, "v", "s", &v), 0);
                        if (streq(v, state))
                                return true;
                } else
                        ck_assert_int_ge(sd_bus_message_skip(m, "v"), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
        }
        ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
        ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "s"), 0);
        while (sd_bus_message_read(m, "s", &name) > 0)
                if (streq(name, "State"))
                        invalidated = true;
        if (invalidated) {
                _cleanup_free_ char *now = harness_get_string(id, "State");
                return streq(now, state);
        }
        return false;
}

/**
 * harness_watch_state() - waits for a PropertiesChanged that sets State to state.
 * @w: a watch on the container's PropertiesChanged.
 * @id: the container id.
 * @state: the state to see.
 * @timeout_usec: how long to wait.
 */
bool harness_watch_state(HarnessWatch *w, const char *id, const char *state, uint64_t timeout_usec) {
        uint64_t deadline = harness_now_usec() + timeout_usec;

        for (;;) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = watch_next_until(w, deadline);

                if (!m)
                        return false;
                if (properties_changed_sets_state(m, id, state))
                        return true;
        }
}

/* ---- whole containers as text ----------------------------------------------------------------- */

/* Appends one variant's value (the types of org.berth.Container1) to *text. */
static void variant_append(sd_bus_message *m, char **text) {
        const char *contents, *s;
        char type, *t = NULL;
        uint64_t u64;
        uint32_t u32;
        int32_t i32;
        int b;

        ck_assert_int_ge(sd_bus_message_peek_type(m, &type, &contents), 0);
        ck_assert_int_ge(sd_bus_message_enter_container(m, 'v', contents), 0);
        if (streq(contents, "s") || streq(contents, "o")) {
                ck_assert_int_ge(sd_bus_message_read_basic(m, contents[0], &s), 0);
                t = harness_xasprintf("%s'%s'", *text, s);
        } else if (streq(contents, "u")) {
                ck_assert_int_ge(sd_bus_message_read_basic(m, 'u', &u32), 0);
                t = harness_xasprintf("%s%" PRIu32, *text, u32);
        } else if (streq(contents, "i")) {
                ck_assert_int_ge(sd_bus_message_read_basic(m, 'i', &i32), 0);
                t = harness_xasprintf("%s%" PRIi32, *text, i32);
        } else if (streq(contents, "t")) {
                ck_assert_int_ge(sd_bus_message_read_basic(m, 't', &u64), 0);
                t = harness_xasprintf("%s%" PRIu64, *text, u64);
        } else if (streq(contents, "b")) {
                ck_assert_int_ge(sd_bus_message_read_basic(m, 'b', &b), 0);
                t = harness_xasprintf("%s%s", *text, b ? "true" : "false");
        } else if (streq(contents, "a{ss}")) {
                _cleanup_free_ char *pairs = harness_xstrdup(""), *sorted = NULL;
                const char *k, *v;

                ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "{ss}"), 0);
                while (sd_bus_message_read(m, "{ss}", &k, &v) > 0) {
                        char *n = harness_xasprintf("%s'%s'='%s'\n", pairs, k, v);
                        free(pairs);
                        pairs = n;
                }
                ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
                sorted = harness_sort_lines(pairs);
                ck_assert_ptr_nonnull(sorted);
                for (char *nl = strchr(sorted, '\n'); nl; nl = strchr(nl, '\n'))
                        *nl = ' ';
                t = harness_xasprintf("%s{ %s}", *text, sorted);
        } else {
                ck_assert_int_ge(sd_bus_message_skip(m, contents), 0);
                t = harness_xasprintf("%s(%s)", *text, contents);
        }
        ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
        free(*text);
        *text = t;
}

/**
 * harness_container_text() - every property of container id (Properties.GetAll), one
 * "id Name=value" a line, sorted (free it). Comparing two of them compares everything a client
 * can see of the container.
 * @id: the container id.
 */
char *harness_container_text(const char *id) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = harness_container_path(id), *text = harness_xstrdup("");
        const char *name;
        char *sorted;
        int r;

        r = harness_call(path, "org.freedesktop.DBus.Properties", "GetAll", HARNESS_CALL_TIMEOUT_USEC,
                         &error, &reply, "s", BERTH_CONTAINER_INTERFACE);
        ck_assert_msg(r >= 0, "GetAll of '%s' failed: %s: %s", id, error.name ?: "",
                      error.message ?: strerror(-r));
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{sv}"), 0);
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                char *t;

                ck_assert_int_ge(sd_bus_message_read(reply, "s", &name), 0);
                t = harness_xasprintf("%s%s %s=", text, id, name);
                free(text);
                text = t;
                variant_append(reply, &text);
                t = harness_xasprintf("%s\n", text);
                free(text);
                text = t;
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
        }
        ck_assert_int_ge(r, 0);
        sorted = harness_sort_lines(text);
        ck_assert_ptr_nonnull(sorted);
        return sorted;
}

/**
 * harness_all_containers_text() - harness_container_text() of every listed container, sorted (the
 * order of ListContainers is not part of the contract).
 */
char *harness_all_containers_text(void) {
        HarnessEntry *e = NULL;
        size_t n = harness_list(&e);
        char *text = harness_xstrdup(""), *sorted;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *one = harness_container_text(e[i].id);
                char *t = harness_xasprintf("%s%s", text, one);

                free(text);
                text = t;
        }
        harness_entries_free(e, n);
        sorted = harness_sort_lines(text);
        free(text);
        ck_assert_ptr_nonnull(sorted);
        return sorted;
}

/**
 * harness_watch_drain() - processes what the client bus has pending, drops every queued signal of
 * the watch and returns how many of them had id as their first argument (all of them if id is
 * NULL). After a method call to berthd returned, every signal berthd sent before its reply is
 * queued, so this counts exactly what came so far.
 * @w: the watch.
 * @id: the container id, or NULL.
 */
unsigned harness_watch_drain(HarnessWatch *w, const char *id) {
        unsigned n = 0;

        harness_process_bus();
        for (; w->head < w->n; w->head++) {
                sd_bus_message *m = w->queue[w->head];
                const char *s = NULL;

                if (!id || (sd_bus_message_read(m, "s", &s) > 0 && streq(s, id)))
                        n++;
                sd_bus_message_unref(m);
        }
        return n;
}

/**
 * harness_watch_drain_ids() - like harness_watch_drain(), but returns the first argument of every
 * dropped signal, one a line, sorted (free it).
 * @w: the watch.
 */
char *harness_watch_drain_ids(HarnessWatch *w) {
        _cleanup_free_ char *text = harness_xstrdup("");
        char *sorted;

        harness_process_bus();
        for (; w->head < w->n; w->head++) {
                sd_bus_message *m = w->queue[w->head];
                const char *s = NULL;
                char *t;

                t = harness_xasprintf("%s%s\n", text, sd_bus_message_read(m, "s", &s) > 0 ? s : "(none)");
                free(text);
                text = t;
                sd_bus_message_unref(m);
        }
        sorted = harness_sort_lines(text);
        ck_assert_ptr_nonnull(sorted);
        return sorted;
}

/* ---- asynchronous calls ---------------------------------------------------------------------- */

struct HarnessAsync {
        sd_bus_slot *slot;
        bool done;
        int r;
        sd_bus_error error;
        sd_bus_message *reply;
};

static int async_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        HarnessAsync *a = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        a->done = true;
        a->slot = sd_bus_slot_unref(a->slot);
        if (e) {
                a->r = -sd_bus_error_get_errno(e) ?: -EIO;
                (void) sd_bus_error_copy(&a->error, e);
        } else
                a->reply = sd_bus_message_ref(m);
        return 0;
}

static HarnessAsync *async_send(sd_bus_message *m) {
        HarnessAsync *a = calloc(1, sizeof(HarnessAsync));
        int r;

        ck_assert_ptr_nonnull(a);
        a->error = SD_BUS_ERROR_NULL;
        r = sd_bus_call_async(harness->bus, &a->slot, m, async_handler, a, HARNESS_CALL_TIMEOUT_USEC);
        ck_assert_msg(r >= 0, "cannot send %s: %s", sd_bus_message_get_member(m), strerror(-r));
        return a;
}

/**
 * harness_call_async() - sends a method call to the manager and returns at once; the reply is
 * collected whenever the client bus is processed (harness_async_wait(), watches, ...).
 * @member: the method.
 * @types: signature of the arguments that follow (may be NULL).
 */
HarnessAsync *harness_call_async(const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(harness->bus, &m, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                           BERTH_MANAGER_INTERFACE, member);
        ck_assert_int_ge(r, 0);
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                ck_assert_msg(r >= 0, "cannot append '%s' to %s: %s", types, member, strerror(-r));
        }
        return async_send(m);
}

/**
 * harness_create_end_async() - sends a CreateContainer call without waiting, and frees m.
 * @m: from harness_create_begin().
 */
HarnessAsync *harness_create_end_async(sd_bus_message *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = m;

        ck_assert_int_ge(sd_bus_message_close_container(call), 0);
        return async_send(call);
}

/**
 * harness_async_wait() - processes the client bus until the reply came; false on timeout.
 * @a: the call.
 * @timeout_usec: how long to wait.
 */
bool harness_async_wait(HarnessAsync *a, uint64_t timeout_usec) {
        uint64_t deadline = harness_now_usec() + timeout_usec;

        for (;;) {
                uint64_t now;
                int r;

                if (a->done)
                        return true;
                r = sd_bus_process(harness->bus, NULL);
                ck_assert_msg(r >= 0, "sd_bus_process: %s", strerror(-r));
                if (r > 0)
                        continue;
                now = harness_now_usec();
                if (now >= deadline)
                        return false;
                r = sd_bus_wait(harness->bus, deadline - now);
                ck_assert_msg(r >= 0 || r == -EINTR, "sd_bus_wait: %s", strerror(-r));
        }
}

/**
 * harness_async_done() - whether the reply came (without processing the bus).
 * @a: the call.
 */
bool harness_async_done(const HarnessAsync *a) {
        return a->done;
}

/**
 * harness_async_error() - the D-Bus error the call got, or NULL if it succeeded or is pending.
 * @a: the call.
 */
const sd_bus_error *harness_async_error(const HarnessAsync *a) {
        return a->done && a->r < 0 ? &a->error : NULL;
}

/**
 * harness_async_reply() - the reply, or NULL if the call failed or is pending (not referenced).
 * @a: the call.
 */
sd_bus_message *harness_async_reply(const HarnessAsync *a) {
        return a->reply;
}

/**
 * harness_async_free() - forgets the call (a late reply is dropped); returns NULL.
 * @a: the call (may be NULL).
 */
HarnessAsync *harness_async_free(HarnessAsync *a) {
        if (!a)
                return NULL;
        sd_bus_slot_unref(a->slot);
        sd_bus_message_unref(a->reply);
        sd_bus_error_free(&a->error);
        free(a);
        return NULL;
}
