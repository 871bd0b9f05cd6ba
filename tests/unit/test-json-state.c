/* Unit tests for common/json-state.c: enum names, container.json and exit record round trips, strict
 * rejection of malformed state, wait status conversion with real children, decimal state files. */

#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "json-state.h"
#include "macro.h"
#include "path-util.h"
#include "test-util.h"

static char **strv_make(const char *const *l, size_t n) {
        char **v = calloc(n + 1, sizeof(char *));

        ck_assert_ptr_nonnull(v);
        for (size_t i = 0; i < n; i++) {
                v[i] = strdup(l[i]);
                ck_assert_ptr_nonnull(v[i]);
        }
        return v;
}

static void assert_strv_eq(char **a, char **b) {
        ck_assert_uint_eq(strv_length(a), strv_length(b));
        for (size_t i = 0; i < strv_length(a); i++)
                ck_assert_str_eq(a[i], b[i]);
}

static ContainerConfig *config_new_sample(void) {
        static const char *const args[] = { "--debug", "--log-format=json" };
        static const char *const labels[] = { "app", "web", "tier", "front end", "empty", "" };
        ContainerConfig *c = calloc(1, sizeof(ContainerConfig));

        ck_assert_ptr_nonnull(c);
        c->id = strdup("web-1.a_b");
        c->bundle = strdup("/srv/bundles/web \"quoted\"");
        c->runtime = strdup("/usr/bin/runc");
        c->runtime_root = strdup("/run/berth/web-1.a_b/.runtime");
        c->runtime_args = strv_make(args, ELEMENTSOF(args));
        c->log_driver = LOG_DRIVER_FILE;
        c->log_path = strdup("/var/log/berth/web-1.a_b.log");
        c->log_path_owned = true;
        c->labels = strv_make(labels, ELEMENTSOF(labels));
        c->terminal = true;
        c->no_pivot_root = false;
        c->created_at = UINT64_C(1732439624123456);
        return c;
}

static void assert_config_eq(const ContainerConfig *a, const ContainerConfig *b) {
        ck_assert_str_eq(a->id, b->id);
        ck_assert_str_eq(a->bundle, b->bundle);
        ck_assert_str_eq(a->runtime, b->runtime);
        ck_assert_pstr_eq(a->runtime_root, b->runtime_root);
        assert_strv_eq(a->runtime_args, b->runtime_args);
        ck_assert_int_eq(a->log_driver, b->log_driver);
        ck_assert_pstr_eq(a->log_path, b->log_path);
        ck_assert_int_eq(a->log_path_owned, b->log_path_owned);
        assert_strv_eq(a->labels, b->labels);
        ck_assert_int_eq(a->terminal, b->terminal);
        ck_assert_int_eq(a->no_pivot_root, b->no_pivot_root);
        ck_assert_uint_eq(a->created_at, b->created_at);
}

/* --- enums ----------------------------------------------------------------------------------- */

START_TEST(test_json_state_enum_names) {
        static const char *const states[] = { "created", "running", "paused", "stopped", "unknown" };
        static const char *const reasons[] = { "exited", "signaled", "oom-killed", "shim-lost" };
        static const char *const drivers[] = { "file", "journald", "none" };

        ck_assert_uint_eq(ELEMENTSOF(states), _CONTAINER_STATE_MAX);
        for (int i = 0; i < _CONTAINER_STATE_MAX; i++) {
                ck_assert_str_eq(container_state_to_string(i), states[i]);
                ck_assert_int_eq(container_state_from_string(states[i]), i);
        }
        ck_assert_uint_eq(ELEMENTSOF(reasons), _EXIT_REASON_MAX);
        for (int i = 0; i < _EXIT_REASON_MAX; i++) {
                ck_assert_str_eq(exit_reason_to_string(i), reasons[i]);
                ck_assert_int_eq(exit_reason_from_string(reasons[i]), i);
        }
        ck_assert_uint_eq(ELEMENTSOF(drivers), _LOG_DRIVER_MAX);
        for (int i = 0; i < _LOG_DRIVER_MAX; i++) {
                ck_assert_str_eq(log_driver_to_string(i), drivers[i]);
                ck_assert_int_eq(log_driver_from_string(drivers[i]), i);
        }

        ck_assert_ptr_null(container_state_to_string(_CONTAINER_STATE_MAX));
        ck_assert_ptr_null(container_state_to_string(_CONTAINER_STATE_INVALID));
        ck_assert_ptr_null(exit_reason_to_string(_EXIT_REASON_MAX));
        ck_assert_ptr_null(log_driver_to_string(-1));
        ck_assert_int_eq(container_state_from_string("Running"), _CONTAINER_STATE_INVALID);
        ck_assert_int_eq(container_state_from_string(""), -EINVAL);
        ck_assert_int_eq(container_state_from_string(NULL), -EINVAL);
        ck_assert_int_eq(exit_reason_from_string("oom"), _EXIT_REASON_INVALID);
        ck_assert_int_eq(log_driver_from_string("syslog"), _LOG_DRIVER_INVALID);
}
END_TEST

/* --- container config ------------------------------------------------------------------------ */

START_TEST(test_json_state_config_roundtrip) {
        _cleanup_(container_config_freep) ContainerConfig *c = config_new_sample(), *d = NULL;
        _cleanup_json_ json_object *obj = NULL;
        _cleanup_free_ char *text = NULL;
        json_object *v;

        ck_assert_int_eq(container_config_to_json(c, &text), 0);
        ck_assert_int_eq(container_config_from_json(text, &d), 0);
        assert_config_eq(c, d);

        /* The keys are the documented ones. */
        obj = json_tokener_parse(text);
        ck_assert_ptr_nonnull(obj);
        ck_assert(json_object_object_get_ex(obj, "labels", &v));
        ck_assert(json_object_is_type(v, json_type_object));
        ck_assert(json_object_object_get_ex(v, "tier", &v));
        ck_assert_str_eq(json_object_get_string(v), "front end");
        ck_assert(json_object_object_get_ex(obj, "runtime_args", &v));
        ck_assert(json_object_is_type(v, json_type_array));
        ck_assert(json_object_object_get_ex(obj, "log_driver", &v));
        ck_assert_str_eq(json_object_get_string(v), "file");
        ck_assert(json_object_object_get_ex(obj, "created_at", &v));
        ck_assert_int_eq(json_object_get_int64(v), 1732439624123456);
        ck_assert(json_object_object_get_ex(obj, "log_path_owned", &v));
        ck_assert(json_object_object_get_ex(obj, "no_pivot_root", &v));
        ck_assert(json_object_object_get_ex(obj, "terminal", &v));
        ck_assert(json_object_object_get_ex(obj, "runtime_root", &v));
}
END_TEST

START_TEST(test_json_state_config_minimal) {
        _cleanup_(container_config_freep) ContainerConfig *d = NULL, *e = NULL;
        _cleanup_free_ char *text = NULL;
        ContainerConfig c = {
                .id = (char *) "x",
                .bundle = (char *) "/b",
                .runtime = (char *) "/usr/bin/runc",
                .log_driver = LOG_DRIVER_NONE,
        };

        /* No log path, no labels, no args: log_path is left out, the lists come back empty. */
        ck_assert_int_eq(container_config_to_json(&c, &text), 0);
        ck_assert_ptr_null(strstr(text, "log_path\""));
        ck_assert_int_eq(container_config_from_json(text, &d), 0);
        ck_assert_ptr_null(d->log_path);
        ck_assert_ptr_null(d->runtime_root);
        ck_assert_uint_eq(strv_length(d->labels), 0);
        ck_assert_uint_eq(strv_length(d->runtime_args), 0);
        ck_assert_int_eq(d->log_driver, LOG_DRIVER_NONE);
        ck_assert(!d->terminal);
        ck_assert_uint_eq(d->created_at, 0);

        /* Only the required keys. */
        ck_assert_int_eq(container_config_from_json("{\"id\":\"y\",\"bundle\":\"/b\",\"runtime\":\"runc\"}",
                                                    &e), 0);
        ck_assert_str_eq(e->id, "y");
        ck_assert_ptr_null(e->log_path);

        /* Refused: missing required fields, odd labels. */
        c.bundle = NULL;
        ck_assert_int_eq(container_config_to_json(&c, &text), -EINVAL);
}
END_TEST

START_TEST(test_json_state_config_malformed) {
        static const char *const bad[] = {
                "",
                "   ",
                "{",
                "[]",
                "null",
                "42",
                "{}",
                "{\"bundle\":\"/b\",\"runtime\":\"r\"}",
                "{\"id\":\"x\",\"runtime\":\"r\"}",
                "{\"id\":\"x\",\"bundle\":\"/b\"}",
                "{\"id\":1,\"bundle\":\"/b\",\"runtime\":\"r\"}",
                "{\"id\":\"../x\",\"bundle\":\"/b\",\"runtime\":\"r\"}",
                "{\"id\":\"x\",\"bundle\":[],\"runtime\":\"r\"}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"runtime_args\":\"--debug\"}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"runtime_args\":[1]}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"labels\":[\"a\"]}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"labels\":{\"a\":1}}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"log_driver\":\"syslog\"}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"log_driver\":1}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"log_path\":true}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"terminal\":\"yes\"}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"no_pivot_root\":1}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"created_at\":-1}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",\"created_at\":1.5}",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\"} trailing",
                "{\"id\":\"x\",\"bundle\":\"/b\",\"runtime\":\"r\",}",
                "{\"id\":\"x\\u0000y\",\"bundle\":\"/b\",\"runtime\":\"r\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ContainerConfig *c = NULL;

                ck_assert_msg(container_config_from_json(bad[i], &c) == -EBADMSG, "accepted: %s", bad[i]);
                ck_assert_ptr_null(c);
        }
}
END_TEST

START_TEST(test_json_state_config_save_load) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        _cleanup_(container_config_freep) ContainerConfig *c = config_new_sample(), *d = NULL;
        struct stat st;

        ck_assert_int_eq(container_config_load(dfd, &d), -ENOENT);
        ck_assert_int_eq(container_config_save(dfd, c), 0);
        ck_assert_int_eq(fstatat(dfd, STATE_FILE_CONFIG, &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(container_config_load(dfd, &d), 0);
        assert_config_eq(c, d);
        d = container_config_free(d);

        ck_assert_int_eq(write_file_atomic_at(dfd, STATE_FILE_CONFIG, "{\"id\":", 6, 0600), 0);
        ck_assert_int_eq(container_config_load(dfd, &d), -EBADMSG);
        ck_assert_ptr_null(d);
}
END_TEST

/* --- exit records ---------------------------------------------------------------------------- */

START_TEST(test_json_state_exit_roundtrip) {
        static const ExitRecord records[] = {
                { .status = 0, .reason = EXIT_REASON_EXITED, .finished_at = 1 },
                { .status = 42, .reason = EXIT_REASON_EXITED, .finished_at = UINT64_C(1732439624123456) },
                { .status = 137, .signal = 9, .reason = EXIT_REASON_SIGNALED },
                { .status = 137, .signal = 9, .reason = EXIT_REASON_OOM_KILLED, .oom_killed = true },
                { .status = 255, .reason = EXIT_REASON_SHIM_LOST },
        };

        for (size_t i = 0; i < ELEMENTSOF(records); i++) {
                _cleanup_free_ char *text = NULL;
                ExitRecord e = { .status = -5 };

                ck_assert_int_eq(exit_record_to_json(&records[i], &text), 0);
                ck_assert_int_eq(exit_record_from_json(text, &e), 0);
                ck_assert_int_eq(e.status, records[i].status);
                ck_assert_int_eq(e.signal, records[i].signal);
                ck_assert_int_eq(e.reason, records[i].reason);
                ck_assert_int_eq(e.oom_killed, records[i].oom_killed);
                ck_assert_uint_eq(e.finished_at, records[i].finished_at);
        }

        {
                _cleanup_free_ char *text = NULL;
                ExitRecord e = {};

                ck_assert_int_eq(exit_record_to_json(&records[3], &text), 0);
                ck_assert_ptr_nonnull(strstr(text, "\"reason\":\"oom-killed\""));
                ck_assert_ptr_nonnull(strstr(text, "\"oom_killed\":true"));
                ck_assert_ptr_nonnull(strstr(text, "\"status\":137"));
                ck_assert_ptr_nonnull(strstr(text, "\"signal\":9"));
                ck_assert_ptr_nonnull(strstr(text, "\"finished_at\":0"));

                ck_assert_int_eq(exit_record_from_json("{\"status\":3,\"reason\":\"exited\"}", &e), 0);
                ck_assert_int_eq(e.status, 3);
                ck_assert_int_eq(e.signal, 0);
                ck_assert(!e.oom_killed);
        }
}
END_TEST

START_TEST(test_json_state_exit_malformed) {
        static const char *const bad[] = {
                "",
                "{",
                "[]",
                "{}",
                "{\"status\":0}",
                "{\"reason\":\"exited\"}",
                "{\"status\":\"0\",\"reason\":\"exited\"}",
                "{\"status\":-1,\"reason\":\"exited\"}",
                "{\"status\":256,\"reason\":\"exited\"}",
                "{\"status\":0,\"reason\":\"crashed\"}",
                "{\"status\":0,\"reason\":\"exited\",\"oom_killed\":0}",
                "{\"status\":0,\"reason\":\"exited\",\"signal\":\"KILL\"}",
                "{\"status\":0,\"reason\":\"exited\",\"finished_at\":-5}",
                "{\"status\":0,\"reason\":\"exited\"}x",
        };
        ExitRecord e = { .status = 77 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(exit_record_from_json(bad[i], &e) == -EBADMSG, "accepted: %s", bad[i]);
        ck_assert_int_eq(e.status, 77);

        {
                ExitRecord invalid = { .reason = _EXIT_REASON_MAX };
                char *text = NULL;

                ck_assert_int_eq(exit_record_to_json(&invalid, &text), -EINVAL);
                ck_assert_ptr_null(text);
        }
}
END_TEST

START_TEST(test_json_state_exit_save_load) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        ExitRecord r = { .status = 137, .signal = 9, .reason = EXIT_REASON_SIGNALED, .finished_at = 12345 };
        ExitRecord e = {};
        struct stat st;

        ck_assert_int_eq(exit_record_load(dfd, &e), -ENOENT);
        ck_assert_int_eq(exit_record_save(dfd, &r), 0);
        ck_assert_int_eq(fstatat(dfd, STATE_FILE_EXIT, &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_int_eq(exit_record_load(dfd, &e), 0);
        ck_assert_int_eq(e.status, 137);
        ck_assert_int_eq(e.signal, 9);
        ck_assert_int_eq(e.reason, EXIT_REASON_SIGNALED);
        ck_assert_uint_eq(e.finished_at, 12345);

        ck_assert_int_eq(write_file_atomic_at(dfd, STATE_FILE_EXIT, "", 0, 0644), 0);
        ck_assert_int_eq(exit_record_load(dfd, &e), -EBADMSG);
}
END_TEST

START_TEST(test_json_state_exit_format) {
        static const ExitRecord records[] = {
                { .status = 7, .reason = EXIT_REASON_EXITED, .finished_at = 1 },
                { .status = 255, .signal = 255, .reason = EXIT_REASON_OOM_KILLED, .oom_killed = true,
                  .finished_at = UINT64_C(9223372036854775807) },
        };
        char buf[EXIT_RECORD_SIZE_MAX], small[16];

        for (size_t i = 0; i < ELEMENTSOF(records); i++) {
                _cleanup_free_ char *text = NULL;
                ExitRecord e = {};
                int n;

                n = exit_record_format(&records[i], buf, sizeof(buf));
                ck_assert_int_gt(n, 0);
                ck_assert_uint_eq((size_t) n, strlen(buf));
                ck_assert_int_eq(buf[n - 1], '\n');
                /* The same text as exit_record_to_json(), plus the newline. */
                ck_assert_int_eq(exit_record_to_json(&records[i], &text), 0);
                ck_assert_uint_eq(strlen(text) + 1, (size_t) n);
                ck_assert_int_eq(strncmp(text, buf, strlen(text)), 0);
                ck_assert_int_eq(exit_record_from_json(buf, &e), 0);
                ck_assert_int_eq(e.status, records[i].status);
                ck_assert_int_eq(e.reason, records[i].reason);
                ck_assert_uint_eq(e.finished_at, records[i].finished_at);
        }
        ck_assert_str_eq((exit_record_format(&records[0], buf, sizeof(buf)), buf),
                         "{\"status\":7,\"signal\":0,\"reason\":\"exited\",\"oom_killed\":false,\"finished_at\":1}\n");
        ck_assert_int_eq(exit_record_format(&records[0], small, sizeof(small)), -ENOBUFS);
        ck_assert_int_eq(exit_record_format(&(ExitRecord) { .reason = _EXIT_REASON_MAX }, buf, sizeof(buf)),
                         -EINVAL);
}
END_TEST

START_TEST(test_json_state_exit_reserve_commit) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        ExitRecord r = { .status = 7, .reason = EXIT_REASON_EXITED, .finished_at = 42 }, e = {};
        ReservedFile f = RESERVED_FILE_NULL;
        struct stat st;

        ck_assert_int_eq(exit_record_reserve(dfd, &f), 0);
        /* The reservation is never taken for a record. */
        ck_assert_int_eq(exit_record_load(dfd, &e), -ENOENT);
        ck_assert_int_eq(fstatat(dfd, STATE_FILE_EXIT_RESERVED, &st, 0), 0);
        ck_assert_int_ge(st.st_size, EXIT_RECORD_SIZE_MAX);

        ck_assert_int_eq(exit_record_commit(&f, dfd, &r), 0);
        ck_assert_int_eq(exit_record_load(dfd, &e), 0);
        ck_assert_int_eq(e.status, 7);
        ck_assert_int_eq(e.reason, EXIT_REASON_EXITED);
        ck_assert_uint_eq(e.finished_at, 42);
        ck_assert_int_eq(fstatat(dfd, STATE_FILE_EXIT, &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_int_eq(fstatat(dfd, STATE_FILE_EXIT_RESERVED, &st, 0), -1);
        ck_assert_int_eq(errno, ENOENT);
        reserved_file_done(&f);
}
END_TEST

static int wait_status_of(void (*child)(int), int arg) {
        int status;
        pid_t pid;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                child(arg);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return status;
}

_noreturn_ static void child_exit(int code) {
        _exit(code);
}

_noreturn_ static void child_kill(int sig) {
        /* Check's runner installs SIGTERM handlers that a fork inherits: die of the real thing. */
        (void) signal(sig, SIG_DFL);
        raise(sig);
        for (;;)
                pause();
}

START_TEST(test_json_state_wait_status) {
        static const int codes[] = { 0, 1, 42, 255 };
        uint64_t before = now_usec(CLOCK_REALTIME);
        ExitRecord e;

        for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
                exit_record_from_wait_status(wait_status_of(child_exit, codes[i]), &e);
                ck_assert_int_eq(e.status, codes[i]);
                ck_assert_int_eq(e.signal, 0);
                ck_assert_int_eq(e.reason, EXIT_REASON_EXITED);
                ck_assert(!e.oom_killed);
                ck_assert_uint_ge(e.finished_at, before);
                ck_assert_uint_le(e.finished_at, now_usec(CLOCK_REALTIME));
        }

        exit_record_from_wait_status(wait_status_of(child_kill, SIGKILL), &e);
        ck_assert_int_eq(e.status, 137);
        ck_assert_int_eq(e.signal, SIGKILL);
        ck_assert_int_eq(e.reason, EXIT_REASON_SIGNALED);

        exit_record_from_wait_status(wait_status_of(child_kill, SIGTERM), &e);
        ck_assert_int_eq(e.status, 128 + SIGTERM);
        ck_assert_int_eq(e.signal, SIGTERM);
        ck_assert_int_eq(e.reason, EXIT_REASON_SIGNALED);
}
END_TEST

/* --- decimal files --------------------------------------------------------------------------- */

START_TEST(test_json_state_u64_files) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int dfd = open_dir(t);
        static const uint64_t values[] = { 0, 1, 4194304, UINT64_MAX };
        static const char *const bad[] = { "", "\n", "abc\n", "12x\n", "-1\n", " 1\n", "+1\n",
                                           "18446744073709551616\n" };
        _cleanup_free_ char *text = NULL;
        uint64_t v = 7;

        ck_assert_int_eq(state_read_u64(dfd, STATE_FILE_PID, &v), -ENOENT);

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                ck_assert_int_eq(state_write_u64(dfd, STATE_FILE_PID, values[i]), 0);
                ck_assert_int_eq(state_read_u64(dfd, STATE_FILE_PID, &v), 0);
                ck_assert_uint_eq(v, values[i]);
        }

        ck_assert_int_eq(state_write_u64(dfd, STATE_FILE_SHIM_PID, 1234), 0);
        ck_assert_int_eq(read_full_file_at(dfd, STATE_FILE_SHIM_PID, 0, &text, NULL), 0);
        ck_assert_str_eq(text, "1234\n");

        /* A file without the newline is fine too. */
        ck_assert_int_eq(write_file_atomic_at(dfd, STATE_FILE_STARTED, "99", 2, 0644), 0);
        ck_assert_int_eq(state_read_u64(dfd, STATE_FILE_STARTED, &v), 0);
        ck_assert_uint_eq(v, 99);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                v = 7;
                ck_assert_int_eq(write_file_atomic_at(dfd, "bad", bad[i], strlen(bad[i]), 0644), 0);
                ck_assert_msg(state_read_u64(dfd, "bad", &v) == -EBADMSG, "accepted: '%s'", bad[i]);
                ck_assert_uint_eq(v, 7);
        }
}
END_TEST

static Suite *json_state_suite(void) {
        Suite *s = suite_create("json-state");
        TCase *tc;

        tc = tcase_create("enums");
        tcase_add_test(tc, test_json_state_enum_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("config");
        tcase_add_test(tc, test_json_state_config_roundtrip);
        tcase_add_test(tc, test_json_state_config_minimal);
        tcase_add_test(tc, test_json_state_config_malformed);
        tcase_add_test(tc, test_json_state_config_save_load);
        suite_add_tcase(s, tc);

        tc = tcase_create("exit");
        tcase_add_test(tc, test_json_state_exit_roundtrip);
        tcase_add_test(tc, test_json_state_exit_malformed);
        tcase_add_test(tc, test_json_state_exit_save_load);
        tcase_add_test(tc, test_json_state_exit_format);
        tcase_add_test(tc, test_json_state_exit_reserve_commit);
        tcase_add_test(tc, test_json_state_wait_status);
        suite_add_tcase(s, tc);

        tc = tcase_create("u64");
        tcase_add_test(tc, test_json_state_u64_files);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(json_state_suite());
}
