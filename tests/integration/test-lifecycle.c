/* Integration tests of a container's life through berthd and real runc: exit statuses as seen by
 * WaitContainer, the properties, the signals and ListContainers; labels; Start=true; the object
 * manager; the per-container object's methods; introspection against dbus/org.berth.Monitor1.xml;
 * who is whose parent; and containers outliving berthd and their shim (DESIGN.md promises 1, 2, 4). */

#include <signal.h>
#include <sys/wait.h>
#include <inttypes.h>

#include "harness.h"

#define T HARNESS_SIGNAL_TIMEOUT_USEC

static uint64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* Waits until pid is gone (a shim exits just after it replied to Delete). */
static bool wait_pid_gone(pid_t pid) {
        for (unsigned i = 0; i < 1000; i++) {
                if (!harness_pid_alive(pid))
                        return true;
                usleep(10000);
        }
        return false;
}

static void assert_gone(const char *id, const char *log_path, pid_t shim) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *dir = NULL, *runc = NULL;
        HarnessEntry *e = NULL;
        size_t n;

        n = harness_list(&e);
        ck_assert_msg(!harness_entries_find(e, n, id), "'%s' still listed after delete", id);
        harness_entries_free(e, n);
        harness_assert_error(harness_call_manager("GetContainer", &error, NULL, "s", id), &error,
                             BERTH_ERROR_NO_SUCH_CONTAINER);

        dir = malloc(strlen(harness->state_dir) + strlen(id) + 2);
        ck_assert_ptr_nonnull(dir);
        sprintf(dir, "%s/%s", harness->state_dir, id);
        ck_assert_msg(!harness_path_exists(dir), "state dir %s still exists after delete", dir);
        if (log_path)
                ck_assert_msg(!harness_path_exists(log_path), "default log %s still exists after delete",
                              log_path);
        runc = harness_runc_list();
        ck_assert_msg(!strstr(runc, id), "runc still lists '%s' after delete", id);
        if (shim > 0)
                ck_assert_msg(wait_pid_gone(shim), "shim %d of '%s' still alive after delete", (int) shim,
                              id);
}

typedef struct ExitCase {
        const char *id;
        const char *argv[8];
        bool kill;              /* the container sleeps; SIGKILL it */
        int status;
        const char *reason;
} ExitCase;

static void run_exit_case(const ExitCase *c) {
        _cleanup_free_ char *bundle = harness_make_bundlev(c->id, (char **) c->argv);
        _cleanup_free_ char *expected_path = harness_container_path(c->id);
        _cleanup_free_ char *path = NULL, *s = NULL, *log_path = NULL, *expected_log = NULL;
        _cleanup_(harness_watch_freep) HarnessWatch *created = harness_watch_manager("ContainerCreated");
        _cleanup_(harness_watch_freep) HarnessWatch *started = harness_watch_manager("ContainerStarted");
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        _cleanup_(harness_watch_freep) HarnessWatch *deleted = harness_watch_manager("ContainerDeleted");
        _cleanup_(harness_watch_freep) HarnessWatch *changed =
                harness_watch(expected_path, "org.freedesktop.DBus.Properties", "PropertiesChanged");
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint64_t t0 = realtime_usec(), created_at, started_at, finished_at;
        const char *sid, *spath;
        uint32_t pid, shim, spid;
        int32_t status;
        int oom;
        const HarnessEntry *entry;
        HarnessEntry *e = NULL;
        size_t n;

        /* Created. */
        path = harness_create(c->id, bundle, false);
        ck_assert_str_eq(path, expected_path);
        s = harness_get_string(c->id, "State");
        ck_assert_str_eq(s, "created");
        free(s);
        s = harness_get_string(c->id, "Id");
        ck_assert_str_eq(s, c->id);
        free(s);
        s = harness_get_string(c->id, "Bundle");
        ck_assert_str_eq(s, bundle);
        free(s);
        s = harness_get_string(c->id, "ExitReason");
        ck_assert_str_eq(s, "");
        free(s);
        s = NULL;
        ck_assert_int_eq(harness_get_i32(c->id, "ExitStatus"), -1);
        ck_assert_uint_eq(harness_get_u64(c->id, "StartedAt"), 0);
        ck_assert_uint_eq(harness_get_u64(c->id, "FinishedAt"), 0);
        created_at = harness_get_u64(c->id, "CreatedAt");
        ck_assert_msg(created_at + 60 * USEC_PER_SEC > t0 &&
                      created_at < realtime_usec() + 60 * USEC_PER_SEC,
                      "CreatedAt %" PRIu64 " is not µs since the epoch near %" PRIu64, created_at, t0);
        pid = harness_get_u32(c->id, "Pid");
        shim = harness_get_u32(c->id, "ShimPid");
        ck_assert_uint_gt(pid, 0);
        ck_assert_uint_gt(shim, 0);
        ck_assert_msg(harness_pid_alive(pid), "container init %u is not alive after create", pid);
        ck_assert_int_eq(harness_get_ppid(pid), (pid_t) shim);

        expected_log = malloc(strlen(harness->log_dir) + strlen(c->id) + 6);
        ck_assert_ptr_nonnull(expected_log);
        sprintf(expected_log, "%s/%s.log", harness->log_dir, c->id);
        log_path = harness_get_string(c->id, "LogPath");
        ck_assert_str_eq(log_path, expected_log);

        m = harness_watch_next_id(created, c->id, T);
        ck_assert_msg(m, "no ContainerCreated signal for '%s'", c->id);
        ck_assert_int_ge(sd_bus_message_read(m, "so", &sid, &spath), 0);
        ck_assert_str_eq(spath, path);
        m = sd_bus_message_unref(m);

        n = harness_list(&e);
        entry = harness_entries_find(e, n, c->id);
        ck_assert_ptr_nonnull(entry);
        ck_assert_str_eq(entry->state, "created");
        ck_assert_str_eq(entry->bundle, bundle);
        ck_assert_uint_eq(entry->pid, pid);
        ck_assert_int_eq(entry->exit_status, -1);
        ck_assert_str_eq(entry->path, path);
        harness_entries_free(e, n);

        /* Started. */
        harness_start(c->id);
        m = harness_watch_next_id(started, c->id, T);
        ck_assert_msg(m, "no ContainerStarted signal for '%s'", c->id);
        ck_assert_int_ge(sd_bus_message_read(m, "sou", &sid, &spath, &spid), 0);
        ck_assert_str_eq(spath, path);
        ck_assert_uint_eq(spid, pid);
        m = sd_bus_message_unref(m);

        if (c->kill) {
                s = harness_get_string(c->id, "State");
                ck_assert_str_eq(s, "running");
                free(s);
                s = NULL;
                ck_assert_int_eq(harness_get_ppid(pid), (pid_t) shim);
                ck_assert_int_eq(harness_get_i32(c->id, "ExitStatus"), -1);
                harness_kill(c->id, SIGKILL);
        }

        /* Stopped: the same status everywhere. */
        ck_assert_int_eq(harness_wait(c->id), c->status);

        m = harness_watch_next_id(exited, c->id, T);
        ck_assert_msg(m, "no ContainerExited signal for '%s'", c->id);
        ck_assert_int_ge(sd_bus_message_read(m, "soib", &sid, &spath, &status, &oom), 0);
        ck_assert_str_eq(spath, path);
        ck_assert_int_eq(status, c->status);
        ck_assert(!oom);
        m = sd_bus_message_unref(m);
        ck_assert_msg(harness_watch_state(changed, c->id, "stopped", T),
                      "no PropertiesChanged setting State to stopped for '%s'", c->id);

        s = harness_get_string(c->id, "State");
        ck_assert_str_eq(s, "stopped");
        free(s);
        s = harness_get_string(c->id, "ExitReason");
        ck_assert_str_eq(s, c->reason);
        free(s);
        s = NULL;
        ck_assert_int_eq(harness_get_i32(c->id, "ExitStatus"), c->status);
        ck_assert(!harness_get_bool(c->id, "OOMKilled"));
        started_at = harness_get_u64(c->id, "StartedAt");
        finished_at = harness_get_u64(c->id, "FinishedAt");
        ck_assert_uint_ge(started_at, created_at);
        ck_assert_uint_ge(finished_at, started_at);
        ck_assert_uint_eq(harness_get_u64(c->id, "CreatedAt"), created_at);

        n = harness_list(&e);
        entry = harness_entries_find(e, n, c->id);
        ck_assert_ptr_nonnull(entry);
        ck_assert_str_eq(entry->state, "stopped");
        ck_assert_int_eq(entry->exit_status, c->status);
        harness_entries_free(e, n);

        /* Waiting on a stopped container replies with the same status. */
        ck_assert_int_eq(harness_wait(c->id), c->status);
        ck_assert_msg(harness_path_exists(log_path), "log %s missing before delete", log_path);

        /* Deleted. */
        harness_delete(c->id, false);
        m = harness_watch_next_id(deleted, c->id, T);
        ck_assert_msg(m, "no ContainerDeleted signal for '%s'", c->id);
        ck_assert_int_ge(sd_bus_message_read(m, "so", &sid, &spath), 0);
        ck_assert_str_eq(spath, path);
        assert_gone(c->id, log_path, shim);
}

START_TEST(test_lifecycle_exit_0) {
        ExitCase c = { "exit0", { "true", NULL }, false, 0, "exited" };
        run_exit_case(&c);
}
END_TEST

START_TEST(test_lifecycle_exit_1) {
        ExitCase c = { "exit1", { "false", NULL }, false, 1, "exited" };
        run_exit_case(&c);
}
END_TEST

START_TEST(test_lifecycle_exit_42) {
        ExitCase c = { "exit42", { "sh", "-c", "exit 42", NULL }, false, 42, "exited" };
        run_exit_case(&c);
}
END_TEST

START_TEST(test_lifecycle_exit_137) {
        ExitCase c = { "exit137", { "sleep", "1000", NULL }, true, 137, "signaled" };
        run_exit_case(&c);
}
END_TEST

START_TEST(test_lifecycle_create_with_start) {
        _cleanup_free_ char *bundle = harness_make_bundle("ws", "sleep", "1000", NULL);
        _cleanup_(harness_watch_freep) HarnessWatch *started = harness_watch_manager("ContainerStarted");
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL, *state = NULL;
        uint32_t pid;

        path = harness_create("ws", bundle, true);
        state = harness_get_string("ws", "State");
        ck_assert_str_eq(state, "running");
        ck_assert_uint_gt(harness_get_u64("ws", "StartedAt"), 0);
        pid = harness_get_u32("ws", "Pid");
        ck_assert_uint_gt(pid, 0);
        ck_assert_msg(harness_pid_alive(pid), "init %u not alive", pid);
        m = harness_watch_next_id(started, "ws", T);
        ck_assert_msg(m, "no ContainerStarted signal");

        harness_kill("ws", SIGKILL);
        ck_assert_int_eq(harness_wait("ws"), 137);
        harness_delete("ws", false);
}
END_TEST

START_TEST(test_lifecycle_labels) {
        _cleanup_free_ char *bundle = harness_make_bundle("labels", "true", NULL);
        _cleanup_free_ char *path = NULL, *text = strdup("");
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_message *m;
        const char *k, *v;
        int r;

        m = harness_create_begin("labels", bundle);
        harness_create_option(m, "Labels", "a{ss}", 3, "app", "web", "tier", "front end=1", "empty", "");
        r = harness_create_end(m, &error, &path);
        harness_assert_ok(r, &error);

        r = sd_bus_get_property(harness->bus, BERTH_BUS_NAME, path, BERTH_CONTAINER_INTERFACE, "Labels",
                                &error, &reply, "a{ss}");
        harness_assert_ok(r, &error);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{ss}"), 0);
        while ((r = sd_bus_message_read(reply, "{ss}", &k, &v)) > 0) {
                char *t;
                ck_assert_int_ge(asprintf(&t, "%s[%s=%s]", text, k, v), 0);
                free(text);
                text = t;
        }
        ck_assert_int_ge(r, 0);
        /* Order is not part of the contract: accept any. */
        ck_assert_msg(strstr(text, "[app=web]") && strstr(text, "[tier=front end=1]") &&
                      strstr(text, "[empty=]"), "labels came back as %s", text);
        ck_assert_uint_eq(strlen(text), strlen("[app=web][tier=front end=1][empty=]"));
        harness_delete("labels", true);
}
END_TEST

START_TEST(test_lifecycle_managed_objects) {
        _cleanup_free_ char *b1 = harness_make_bundle("mo1", "sleep", "1000", NULL);
        _cleanup_free_ char *b2 = harness_make_bundle("mo2", "true", NULL);
        _cleanup_free_ char *p1 = NULL, *p2 = NULL, *sdir = NULL, *version = NULL, *runtime = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        bool seen1 = false, seen2 = false;
        uint32_t count;
        const char *opath;
        int r;

        p1 = harness_create("mo1", b1, true);
        p2 = harness_create("mo2", b2, false);

        r = harness_call(BERTH_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                         HARNESS_CALL_TIMEOUT_USEC, &error, &reply, NULL);
        harness_assert_ok(r, &error);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}"), 0);
        while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
                const char *iface;

                ck_assert_int_ge(sd_bus_message_read(reply, "o", &opath), 0);
                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{sa{sv}}"), 0);
                while (sd_bus_message_enter_container(reply, 'e', "sa{sv}") > 0) {
                        ck_assert_int_ge(sd_bus_message_read(reply, "s", &iface), 0);
                        if (!streq(iface, BERTH_CONTAINER_INTERFACE)) {
                                ck_assert_int_ge(sd_bus_message_skip(reply, "a{sv}"), 0);
                        } else {
                                const char *name, *id = NULL;

                                ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{sv}"), 0);
                                while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                                        ck_assert_int_ge(sd_bus_message_read(reply, "s", &name), 0);
                                        if (streq(name, "Id"))
                                                r = sd_bus_message_read(reply, "v", "s", &id);
                                        else
                                                r = sd_bus_message_skip(reply, "v");
                                        ck_assert_int_ge(r, 0);
                                        ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                                }
                                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                                ck_assert_msg(id, "object %s has no Id in GetManagedObjects", opath);
                                if (streq(opath, p1) && streq(id, "mo1"))
                                        seen1 = true;
                                if (streq(opath, p2) && streq(id, "mo2"))
                                        seen2 = true;
                        }
                        ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                }
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
        }
        ck_assert_msg(seen1 && seen2, "GetManagedObjects lacks a container (mo1: %d, mo2: %d)", seen1,
                      seen2);

        /* The manager's properties. */
        r = sd_bus_get_property_trivial(harness->bus, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                        BERTH_MANAGER_INTERFACE, "ContainerCount", &error, 'u', &count);
        harness_assert_ok(r, &error);
        ck_assert_uint_eq(count, 2);
        r = sd_bus_get_property_string(harness->bus, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                       BERTH_MANAGER_INTERFACE, "StateDirectory", &error, &sdir);
        harness_assert_ok(r, &error);
        ck_assert_str_eq(sdir, harness->state_dir);
        r = sd_bus_get_property_string(harness->bus, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                       BERTH_MANAGER_INTERFACE, "Version", &error, &version);
        harness_assert_ok(r, &error);
        ck_assert_uint_gt(strlen(version), 0);
        r = sd_bus_get_property_string(harness->bus, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                       BERTH_MANAGER_INTERFACE, "DefaultRuntime", &error, &runtime);
        harness_assert_ok(r, &error);
        ck_assert_uint_gt(strlen(runtime), 0);

        harness_delete("mo1", true);
        harness_delete("mo2", false);
        r = sd_bus_get_property_trivial(harness->bus, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                        BERTH_MANAGER_INTERFACE, "ContainerCount", &error, 'u', &count);
        harness_assert_ok(r, &error);
        ck_assert_uint_eq(count, 0);
}
END_TEST

static void object_call_ok(const char *path, const char *member, sd_bus_message **ret_reply,
                           const char *types, int a, int b) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!types)
                r = harness_call(path, BERTH_CONTAINER_INTERFACE, member, HARNESS_CALL_TIMEOUT_USEC, &error,
                                 ret_reply, NULL);
        else if (streq(types, "b"))
                r = harness_call(path, BERTH_CONTAINER_INTERFACE, member, HARNESS_CALL_TIMEOUT_USEC, &error,
                                 ret_reply, types, a);
        else
                r = harness_call(path, BERTH_CONTAINER_INTERFACE, member, HARNESS_CALL_TIMEOUT_USEC, &error,
                                 ret_reply, types, a, b);
        ck_assert_msg(r >= 0, "%s.%s on %s failed: %s: %s", BERTH_CONTAINER_INTERFACE, member, path,
                      error.name ?: "", error.message ?: strerror(-r));
}

static int object_wait(const char *path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int32_t status;

        object_call_ok(path, "Wait", &reply, NULL, 0, 0);
        ck_assert_int_ge(sd_bus_message_read(reply, "i", &status), 0);
        return status;
}

START_TEST(test_lifecycle_container_object_methods) {
        _cleanup_free_ char *bundle = harness_make_bundle("obj", "sleep", "1000", NULL);
        _cleanup_free_ char *p1 = NULL, *p2 = NULL, *state = NULL;
        uint32_t shim;

        p1 = harness_create("obj1", bundle, false);
        object_call_ok(p1, "Start", NULL, NULL, 0, 0);
        state = harness_get_string("obj1", "State");
        ck_assert_str_eq(state, "running");
        object_call_ok(p1, "Kill", NULL, "ib", SIGKILL, 1);
        ck_assert_int_eq(object_wait(p1), 137);
        /* Again, on a stopped container. */
        ck_assert_int_eq(object_wait(p1), 137);
        shim = harness_get_u32("obj1", "ShimPid");
        object_call_ok(p1, "Delete", NULL, "b", 0, 0);
        assert_gone("obj1", NULL, shim);

        /* Delete(force) on a running container. */
        p2 = harness_create("obj2", bundle, true);
        shim = harness_get_u32("obj2", "ShimPid");
        object_call_ok(p2, "Delete", NULL, "b", 1, 0);
        assert_gone("obj2", NULL, shim);
}
END_TEST

/* ---- introspection --------------------------------------------------------------------------- */

/* The text of <interface name="NAME"> ... </interface> in xml (malloc'd), or NULL. */
static char *interface_section(const char *xml, const char *name) {
        _cleanup_free_ char *open = NULL;
        const char *start, *end;

        ck_assert_int_ge(asprintf(&open, "<interface name=\"%s\">", name), 0);
        start = strstr(xml, open);
        if (!start)
                return NULL;
        end = strstr(start, "</interface>");
        ck_assert_ptr_nonnull(end);
        return strndup(start, end - start);
}

/* Value of attribute attr in the tag [tag, tag_end), malloc'd, or NULL. */
static char *tag_attribute(const char *tag, const char *tag_end, const char *attr) {
        _cleanup_free_ char *key = NULL;
        const char *p, *q;

        ck_assert_int_ge(asprintf(&key, " %s=\"", attr), 0);
        p = strstr(tag, key);
        if (!p || p >= tag_end)
                return NULL;
        p += strlen(key);
        q = strchr(p, '"');
        ck_assert_ptr_nonnull(q);
        return strndup(p, q - p);
}

/* Describes member name of kind ("method", "signal", "property") in section, as e.g.
 * "method Kill(in i,in b)" or "property State s read", for comparing the XML with introspection.
 * Returns NULL if there is no such member. */
static char *describe_member(const char *section, const char *kind, const char *name) {
        _cleanup_free_ char *open = NULL, *close_tag = NULL;
        const char *start, *tag_end, *end;
        char *d = NULL;

        ck_assert_int_ge(asprintf(&open, "<%s name=\"%s\"", kind, name), 0);
        ck_assert_int_ge(asprintf(&close_tag, "</%s>", kind), 0);
        start = section;
        for (;;) {
                start = strstr(start, open);
                if (!start)
                        return NULL;
                /* The name must end here: <method name="Kill"> is not <method name="KillAll">. */
                if (start[strlen(open)] == ' ' || start[strlen(open)] == '>' || start[strlen(open)] == '/')
                        break;
                start++;
        }
        tag_end = strchr(start, '>');
        ck_assert_ptr_nonnull(tag_end);

        if (streq(kind, "property")) {
                _cleanup_free_ char *type = tag_attribute(start, tag_end, "type");
                _cleanup_free_ char *access = tag_attribute(start, tag_end, "access");
                ck_assert_int_ge(asprintf(&d, "property %s %s %s", name, type ?: "?", access ?: "?"), 0);
                return d;
        }

        ck_assert_int_ge(asprintf(&d, "%s %s(", kind, name), 0);
        end = tag_end[-1] == '/' ? tag_end : strstr(tag_end, close_tag);
        ck_assert_ptr_nonnull(end);
        for (const char *a = strstr(tag_end, "<arg"); a && a < end; a = strstr(a + 1, "<arg")) {
                const char *a_end = strchr(a, '>');
                _cleanup_free_ char *type = tag_attribute(a, a_end, "type");
                _cleanup_free_ char *dir = tag_attribute(a, a_end, "direction");
                char *n;

                ck_assert_int_ge(asprintf(&n, "%s%s %s,", d,
                                          dir ?: (streq(kind, "method") ? "in" : "out"), type ?: "?"), 0);
                free(d);
                d = n;
        }
        d[strlen(d) - (d[strlen(d) - 1] == ',')] = 0;
        {
                char *n;
                ck_assert_int_ge(asprintf(&n, "%s)", d), 0);
                free(d);
                d = n;
        }
        return d;
}

/* Every method, property and signal of interface in the XML file appears in the object's
 * introspection with the same arguments and types. */
static void check_introspection(const char *object_path, const char *interface) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *xml_path = NULL, *xml = NULL, *want = NULL, *have = NULL;
        const char *introspection;
        const char *kinds[] = { "method", "property", "signal" };
        unsigned checked = 0;
        int r;

        ck_assert_int_ge(asprintf(&xml_path, "%s/dbus/org.berth.Monitor1.xml", harness_srcdir()), 0);
        xml = harness_read_file(xml_path, NULL);
        want = interface_section(xml, interface);
        ck_assert_msg(want, "%s has no interface %s", xml_path, interface);

        r = harness_call(object_path, "org.freedesktop.DBus.Introspectable", "Introspect",
                         HARNESS_CALL_TIMEOUT_USEC, &error, &reply, NULL);
        harness_assert_ok(r, &error);
        ck_assert_int_ge(sd_bus_message_read(reply, "s", &introspection), 0);
        have = interface_section(introspection, interface);
        ck_assert_msg(have, "introspection of %s lacks interface %s:\n%s", object_path, interface,
                      introspection);

        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                _cleanup_free_ char *open = NULL;

                ck_assert_int_ge(asprintf(&open, "<%s name=\"", kinds[k]), 0);
                for (const char *p = strstr(want, open); p; p = strstr(p + 1, open)) {
                        _cleanup_free_ char *name = NULL, *dw = NULL, *dh = NULL;
                        const char *q = p + strlen(open);

                        name = strndup(q, strcspn(q, "\""));
                        ck_assert_ptr_nonnull(name);
                        dw = describe_member(want, kinds[k], name);
                        dh = describe_member(have, kinds[k], name);
                        ck_assert_msg(dh, "%s %s.%s is in the XML but not in the introspection of %s",
                                      kinds[k], interface, name, object_path);
                        ck_assert_msg(streq(dw, dh), "%s differs: XML says '%s', berthd says '%s'", name, dw,
                                      dh);
                        checked++;
                }
        }
        ck_assert_uint_gt(checked, 0);
}

START_TEST(test_lifecycle_introspection) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *introspection;
        int r;

        check_introspection(BERTH_MANAGER_PATH, BERTH_MANAGER_INTERFACE);
        r = harness_call(BERTH_MANAGER_PATH, "org.freedesktop.DBus.Introspectable", "Introspect",
                         HARNESS_CALL_TIMEOUT_USEC, &error, &reply, NULL);
        harness_assert_ok(r, &error);
        ck_assert_int_ge(sd_bus_message_read(reply, "s", &introspection), 0);
        ck_assert_msg(strstr(introspection, "<interface name=\"org.freedesktop.DBus.ObjectManager\">"),
                      "the manager does not implement org.freedesktop.DBus.ObjectManager");
}
END_TEST

START_TEST(test_lifecycle_introspection_container) {
        _cleanup_free_ char *bundle = harness_make_bundle("intro", "true", NULL);
        _cleanup_free_ char *path = harness_create("intro", bundle, false);

        check_introspection(path, BERTH_CONTAINER_INTERFACE);
        harness_delete("intro", true);
}
END_TEST

/* ---- processes ------------------------------------------------------------------------------- */

START_TEST(test_lifecycle_shim_is_parent) {
        _cleanup_free_ char *bundle = harness_make_bundle("parent", "sleep", "1000", NULL);
        free(harness_create("parent", bundle, true));
        uint32_t pid = harness_get_u32("parent", "Pid"), shim = harness_get_u32("parent", "ShimPid");

        ck_assert_uint_gt(pid, 0);
        ck_assert_uint_gt(shim, 0);
        ck_assert_uint_ne(shim, (uint32_t) harness->berthd_pid);
        ck_assert_msg(harness_get_ppid(pid) == (pid_t) shim, "the parent of init %u is %d, not the shim %u",
                      pid, (int) harness_get_ppid(pid), shim);
        /* berthd tracks its shims as their child subreaper. */
        ck_assert_msg(harness_get_ppid(shim) == harness->berthd_pid,
                      "the parent of shim %u is %d, not berthd %d", shim, (int) harness_get_ppid(shim),
                      (int) harness->berthd_pid);

        harness_kill("parent", SIGKILL);
        ck_assert_int_eq(harness_wait("parent"), 137);
        harness_delete("parent", false);
}
END_TEST

START_TEST(test_lifecycle_notify_socket) {
        _cleanup_free_ char *bundle = harness_make_bundle("notify", "sleep", "1000", NULL);
        _cleanup_free_ char *path = NULL;
        uint32_t pid, shim;

        ck_assert_msg(harness_wait_ready(T), "berthd sent no READY=1 to NOTIFY_SOCKET");
        path = harness_create("notify", bundle, true);
        pid = harness_get_u32("notify", "Pid");
        shim = harness_get_u32("notify", "ShimPid");
        /* NOTIFY_SOCKET is berthd's: runc would pass it into the container. */
        ck_assert_msg(!harness_pid_has_env(shim, "NOTIFY_SOCKET"), "the shim has NOTIFY_SOCKET");
        ck_assert_msg(!harness_pid_has_env(pid, "NOTIFY_SOCKET"), "the container has NOTIFY_SOCKET");
        harness_delete("notify", true);
}
END_TEST

/* ---- berthd going away (DESIGN.md promises 1, 2 and 4) --------------------------------------- */

static void wait_for(bool (*cond)(const void *), const void *arg, const char *what) {
        for (unsigned i = 0; i < 3000; i++) {
                if (cond(arg))
                        return;
                usleep(10000);
        }
        ck_abort_msg("timed out waiting until %s", what);
}

static bool pid_gone(const void *arg) {
        return !harness_pid_alive(*(const pid_t *) arg);
}

static bool file_exists(const void *arg) {
        return harness_path_exists(arg);
}

START_TEST(test_lifecycle_berthd_restart) {
        _cleanup_free_ char *sleeper = harness_make_bundle("sleeper", "sleep", "1000", NULL);
        _cleanup_free_ char *quick = harness_make_bundle("quick", "sh", "-c", "echo started late; exit 4",
                                                         NULL);
        _cleanup_free_ char *p1 = NULL, *p2 = NULL, *before = NULL, *after = NULL, *state = NULL;
        _cleanup_free_ char *log_path = NULL;
        HarnessCriLog log = {};
        uint32_t pid1, shim1, shim2;
        int status;

        p1 = harness_create("running", sleeper, true);
        p2 = harness_create("created", quick, false);
        pid1 = harness_get_u32("running", "Pid");
        shim1 = harness_get_u32("running", "ShimPid");
        shim2 = harness_get_u32("created", "ShimPid");
        before = harness_list_text();

        status = harness_stop_berthd();
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "berthd did not exit cleanly on SIGTERM (wait status %d)", status);
        ck_assert_msg(harness_pid_alive(pid1), "the container died with berthd");
        ck_assert_msg(harness_pid_alive(shim1) && harness_pid_alive(shim2), "a shim died with berthd");

        harness_start_berthd();
        after = harness_list_text();
        ck_assert_str_eq(after, before);
        ck_assert_uint_eq(harness_get_u32("running", "ShimPid"), shim1);
        ck_assert_uint_eq(harness_get_u32("created", "ShimPid"), shim2);
        state = harness_get_string("running", "State");
        ck_assert_str_eq(state, "running");

        /* A created container can still be started, and its output and status come back. */
        harness_start("created");
        ck_assert_int_eq(harness_wait("created"), 4);
        log_path = harness_get_string("created", "LogPath");
        harness_cri_log_read(log_path, &log);
        ck_assert_str_eq(log.streams[0], "started late\n");
        harness_cri_log_done(&log);

        harness_kill("running", SIGKILL);
        ck_assert_int_eq(harness_wait("running"), 137);
        harness_delete("running", false);
        harness_delete("created", false);
}
END_TEST

/* The container exits while berthd is dead (SIGKILL): its status and output are not lost. */
START_TEST(test_lifecycle_exit_while_berthd_down) {
        _cleanup_free_ char *bundle = harness_make_bundle(
                "down", "sh", "-c",
                "echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after; exit 9", NULL);
        _cleanup_free_ char *path = NULL, *go = NULL, *exit_file = NULL, *state = NULL, *reason = NULL;
        _cleanup_free_ char *log_path = NULL;
        HarnessCriLog log = {};
        pid_t pid;

        path = harness_create("down", bundle, true);
        pid = (pid_t) harness_get_u32("down", "Pid");
        log_path = harness_get_string("down", "LogPath");

        ck_assert_int_eq(kill(harness->berthd_pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(harness->berthd_pid, NULL, 0), harness->berthd_pid);
        harness->berthd_pid = 0;

        ck_assert_int_ge(asprintf(&go, "%s/rootfs/tmp/go", bundle), 0);
        harness_write_file(go, "", 0);
        wait_for(pid_gone, &pid, "the container exits");
        ck_assert_int_ge(asprintf(&exit_file, "%s/down/exit", harness->state_dir), 0);
        wait_for(file_exists, exit_file, "the shim writes the exit file");

        harness_start_berthd();
        ck_assert_int_eq(harness_wait("down"), 9);
        state = harness_get_string("down", "State");
        ck_assert_str_eq(state, "stopped");
        reason = harness_get_string("down", "ExitReason");
        ck_assert_str_eq(reason, "exited");
        ck_assert_int_eq(harness_get_i32("down", "ExitStatus"), 9);
        harness_cri_log_read(log_path, &log);
        ck_assert_str_eq(log.streams[0], "before\nafter\n");
        harness_cri_log_done(&log);
        harness_delete("down", false);
}
END_TEST

/* A shim killed with SIGKILL: the container is reported stopped, 255, shim-lost, and cleaned up. */
START_TEST(test_lifecycle_shim_killed) {
        _cleanup_free_ char *bundle = harness_make_bundle("lost", "sleep", "1000", NULL);
        _cleanup_(harness_watch_freep) HarnessWatch *exited = harness_watch_manager("ContainerExited");
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL, *state = NULL, *reason = NULL, *runc = NULL;
        const char *sid, *spath;
        int32_t status;
        int oom;
        pid_t pid, shim;

        path = harness_create("lost", bundle, true);
        pid = (pid_t) harness_get_u32("lost", "Pid");
        shim = (pid_t) harness_get_u32("lost", "ShimPid");
        ck_assert_int_eq(kill(shim, SIGKILL), 0);

        m = harness_watch_next_id(exited, "lost", T);
        ck_assert_msg(m, "no ContainerExited after the shim was killed");
        ck_assert_int_ge(sd_bus_message_read(m, "soib", &sid, &spath, &status, &oom), 0);
        ck_assert_int_eq(status, 255);
        ck_assert_int_eq(harness_wait("lost"), 255);
        state = harness_get_string("lost", "State");
        ck_assert_str_eq(state, "stopped");
        reason = harness_get_string("lost", "ExitReason");
        ck_assert_str_eq(reason, "shim-lost");

        /* Nothing leaks: the container's processes and its runtime state are gone. */
        wait_for(pid_gone, &pid, "the orphaned container init is gone");
        runc = harness_runc_list();
        ck_assert_msg(!strstr(runc, "lost"), "runc still lists the container of a lost shim");
        harness_delete("lost", false);
        assert_gone("lost", NULL, 0);
}
END_TEST

static Suite *lifecycle_suite(void) {
        Suite *s = suite_create("lifecycle");
        TCase *tc;

        tc = harness_tcase_new("exit");
        tcase_add_test(tc, test_lifecycle_exit_0);
        tcase_add_test(tc, test_lifecycle_exit_1);
        tcase_add_test(tc, test_lifecycle_exit_42);
        tcase_add_test(tc, test_lifecycle_exit_137);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("api");
        tcase_add_test(tc, test_lifecycle_create_with_start);
        tcase_add_test(tc, test_lifecycle_labels);
        tcase_add_test(tc, test_lifecycle_managed_objects);
        tcase_add_test(tc, test_lifecycle_container_object_methods);
        tcase_add_test(tc, test_lifecycle_introspection);
        tcase_add_test(tc, test_lifecycle_introspection_container);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("processes");
        tcase_add_test(tc, test_lifecycle_shim_is_parent);
        tcase_add_test(tc, test_lifecycle_notify_socket);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("survival");
        tcase_add_test(tc, test_lifecycle_berthd_restart);
        tcase_add_test(tc, test_lifecycle_exit_while_berthd_down);
        tcase_add_test(tc, test_lifecycle_shim_killed);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run_suite(lifecycle_suite());
}
