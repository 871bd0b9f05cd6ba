/* Unit tests for common/path-util.c: container id validation, path predicates, bundle validation,
 * rm_rf_at(), mkdir_p(), find_executable() and get_self_dir(). */

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-file.h"
#include "macro.h"
#include "path-util.h"
#include "test-util.h"

static char *path_join(const char *a, const char *b) {
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", a, b), 0);
        return p;
}

static void write_file(const char *dir, const char *name, const char *s, mode_t mode) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write_file_atomic_at(fd, name, s, strlen(s), mode), 0);
}

/* --- ids ------------------------------------------------------------------------------------- */

START_TEST(test_path_util_id_valid) {
        char id[CONTAINER_ID_MAX + 2];

        ck_assert(container_id_is_valid("a"));
        ck_assert(container_id_is_valid("Z"));
        ck_assert(container_id_is_valid("0"));
        ck_assert(container_id_is_valid("abc-123_x.y"));
        ck_assert(container_id_is_valid("a.."));
        ck_assert(container_id_is_valid("a-"));

        memset(id, 'a', CONTAINER_ID_MAX);
        id[CONTAINER_ID_MAX] = '\0';
        ck_assert(container_id_is_valid(id));               /* 128 */
        id[CONTAINER_ID_MAX] = 'b';
        id[CONTAINER_ID_MAX + 1] = '\0';
        ck_assert(!container_id_is_valid(id));              /* 129 */
}
END_TEST

START_TEST(test_path_util_id_invalid) {
        static const char *const bad[] = {
                "", ".", "..", "../x", "a/b", "/a", " a", "a b", "a ", "-a", "_a", ".a",
                "a\n", "a\tb", "a:b", "a$b", "\xc3\xa9", "a\xc3\xa9", "*", "a*",
        };

        ck_assert(!container_id_is_valid(NULL));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(!container_id_is_valid(bad[i]), "'%s' accepted", bad[i]);
}
END_TEST

/* --- path predicates ------------------------------------------------------------------------- */

START_TEST(test_path_util_predicates) {
        ck_assert(path_is_absolute("/"));
        ck_assert(path_is_absolute("/a/b"));
        ck_assert(!path_is_absolute("a/b"));
        ck_assert(!path_is_absolute(""));
        ck_assert(!path_is_absolute(NULL));

        ck_assert(path_is_normalized("/"));
        ck_assert(path_is_normalized("/a/b"));
        ck_assert(path_is_normalized("a/b"));
        ck_assert(path_is_normalized("/a/b/"));
        ck_assert(path_is_normalized("/a/.b/c.."));
        ck_assert(!path_is_normalized(""));
        ck_assert(!path_is_normalized(NULL));
        ck_assert(!path_is_normalized("."));
        ck_assert(!path_is_normalized(".."));
        ck_assert(!path_is_normalized("/a/../b"));
        ck_assert(!path_is_normalized("/a/./b"));
        ck_assert(!path_is_normalized("/a/.."));
        ck_assert(!path_is_normalized("./a"));
        ck_assert(!path_is_normalized("//a"));
        ck_assert(!path_is_normalized("/a//b"));
        ck_assert(!path_is_normalized("/a//"));
}
END_TEST

/* --- bundles --------------------------------------------------------------------------------- */

START_TEST(test_path_util_bundle_errors) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_free_ char *missing = path_join(t, "missing"), *file = path_join(t, "file"),
                            *empty = path_join(t, "empty");
        json_object *config = NULL;
        char *reason = NULL;

        ck_assert_int_eq(bundle_validate("relative/bundle", &config, &reason), -EINVAL);
        ck_assert_int_eq(bundle_validate("", &config, &reason), -EINVAL);
        ck_assert_int_eq(bundle_validate(NULL, &config, &reason), -EINVAL);
        ck_assert_int_eq(bundle_validate(missing, &config, &reason), -ENOENT);
        write_file(t, "file", "{}", 0644);
        ck_assert_int_eq(bundle_validate(file, &config, &reason), -ENOTDIR);
        ck_assert_int_eq(mkdir(empty, 0755), 0);
        ck_assert_int_eq(bundle_validate(empty, &config, &reason), -ENOENT);

        ck_assert_ptr_null(config);
        ck_assert_ptr_null(reason);
}
END_TEST

START_TEST(test_path_util_bundle_bad_json) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        static const char *const bad[] = {
                "", "{", "{\"a\": }", "not json", "[1, 2]", "[]", "42", "\"str\"", "null",
                "{} trailing", "{\"a\": 1,}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *reason = NULL;
                json_object *config = NULL;

                write_file(t, "config.json", bad[i], 0644);
                ck_assert_msg(bundle_validate(t, &config, &reason) == -EBADMSG, "'%s' accepted", bad[i]);
                ck_assert_ptr_null(config);
                ck_assert_ptr_nonnull(reason);
                ck_assert_str_ne(reason, "");
        }

        /* Without ret_reason the error is the same. */
        ck_assert_int_eq(bundle_validate(t, NULL, NULL), -EBADMSG);
}
END_TEST

START_TEST(test_path_util_bundle_too_big) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *p = path_join(t, "config.json");

        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "{", 1), 1);
        ck_assert_int_eq(ftruncate(fd, 4 * 1024 * 1024 + 1), 0);
        ck_assert_int_eq(bundle_validate(t, NULL, NULL), -EFBIG);
}
END_TEST

START_TEST(test_path_util_bundle_valid) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_free_ char *reason = NULL, *slash = NULL;
        _cleanup_json_ json_object *config = NULL;
        json_object *v;

        write_file(t, "config.json",
                   " {\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"sh\"]}}\n", 0644);
        ck_assert_int_eq(bundle_validate(t, &config, &reason), 0);
        ck_assert_ptr_null(reason);
        ck_assert_ptr_nonnull(config);
        ck_assert(json_object_object_get_ex(config, "ociVersion", &v));
        ck_assert_str_eq(json_object_get_string(v), "1.0.2");

        ck_assert_int_eq(bundle_validate(t, NULL, NULL), 0);
        slash = path_join(t, "");
        ck_assert_int_eq(bundle_validate(slash, NULL, NULL), 0);
}
END_TEST

/* json_parse_object() takes a length: what lies past it is not part of the text (the fuzzer found
 * it reading on, up to a NUL byte, when the object was followed by whitespace). */
START_TEST(test_path_util_json_parse_object_stops_at_size) {
        static const char text[] = "{\"a\": 1}  and more";
        _cleanup_json_ json_object *obj = NULL, *obj2 = NULL;
        _cleanup_free_ char *reason = NULL;

        ck_assert_int_eq(json_parse_object(text, strlen("{\"a\": 1}"), &obj, &reason), 0);
        ck_assert_ptr_null(reason);
        ck_assert(json_object_is_type(obj, json_type_object));
        ck_assert_int_eq(json_parse_object(text, strlen("{\"a\": 1} "), &obj2, NULL), 0);
        ck_assert_int_eq(json_parse_object(text, strlen("{\"a\": 1}  a"), &obj2, &reason), -EBADMSG);
        ck_assert_ptr_nonnull(reason);
}
END_TEST

/* --- rm_rf_at, mkdir_p ----------------------------------------------------------------------- */

START_TEST(test_path_util_rm_rf) {
        _cleanup_tmpdir_ char *t = tmpdir_new(), *outside = tmpdir_new();
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *victim_file = path_join(outside, "keep");
        struct stat st;

        write_file(outside, "keep", "precious", 0644);

        dfd = open(t, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dfd, 0);
        ck_assert_int_eq(mkdirat(dfd, "tree", 0755), 0);
        ck_assert_int_eq(mkdirat(dfd, "tree/a", 0755), 0);
        ck_assert_int_eq(mkdirat(dfd, "tree/a/b", 0700), 0);
        ck_assert_int_eq(mkdirat(dfd, "tree/a/b/c", 0700), 0);
        ck_assert_int_eq(mkdirat(dfd, "tree/empty", 0755), 0);
        ck_assert_int_eq(write_file_atomic_at(dfd, "tree/f", "1", 1, 0644), 0);
        ck_assert_int_eq(write_file_atomic_at(dfd, "tree/a/b/g", "2", 1, 0), 0);
        ck_assert_int_eq(symlinkat(outside, dfd, "tree/a/link-to-dir"), 0);
        ck_assert_int_eq(symlinkat(victim_file, dfd, "tree/link-to-file"), 0);
        ck_assert_int_eq(symlinkat("/nonexistent", dfd, "tree/dangling"), 0);
        ck_assert_int_eq(mkfifoat(dfd, "tree/fifo", 0644), 0);

        ck_assert_int_eq(rm_rf_at(dfd, "tree"), 0);
        ck_assert_int_eq(fstatat(dfd, "tree", &st, AT_SYMLINK_NOFOLLOW), -1);
        ck_assert_int_eq(errno, ENOENT);

        /* Symlinks were removed, not followed. */
        ck_assert_int_eq(stat(victim_file, &st), 0);
        ck_assert_int_eq(st.st_size, 8);

        /* Missing targets are fine; single files and symlinks work. */
        ck_assert_int_eq(rm_rf_at(dfd, "tree"), 0);
        ck_assert_int_eq(write_file_atomic_at(dfd, "single", "x", 1, 0644), 0);
        ck_assert_int_eq(rm_rf_at(dfd, "single"), 0);
        ck_assert_int_eq(faccessat(dfd, "single", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        ck_assert_int_eq(symlinkat(outside, dfd, "toplink"), 0);
        ck_assert_int_eq(rm_rf_at(dfd, "toplink"), 0);
        ck_assert_int_eq(faccessat(dfd, "toplink", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        ck_assert_int_eq(stat(victim_file, &st), 0);

        ck_assert_int_eq(rm_rf_at(dfd, ""), -EINVAL);
}
END_TEST

START_TEST(test_path_util_mkdir_p) {
        _cleanup_tmpdir_ char *t = tmpdir_new();
        _cleanup_free_ char *deep = path_join(t, "a/b//c/d/"), *file = NULL, *under_file = NULL;
        struct stat st;

        ck_assert_int_eq(mkdir_p(deep, 0755), 0);
        ck_assert_int_eq(stat(deep, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_int_eq(mkdir_p(deep, 0755), 0);               /* exists already */
        ck_assert_int_eq(mkdir_p(t, 0755), 0);

        write_file(t, "file", "x", 0644);
        file = path_join(t, "file");
        under_file = path_join(t, "file/sub");
        ck_assert_int_eq(mkdir_p(file, 0755), -ENOTDIR);
        ck_assert_int_eq(mkdir_p(under_file, 0755), -ENOTDIR);
        ck_assert_int_eq(mkdir_p("", 0755), -EINVAL);
}
END_TEST

/* --- find_executable, get_self_dir ----------------------------------------------------------- */

START_TEST(test_path_util_find_executable) {
        _cleanup_tmpdir_ char *t = tmpdir_new(), *extra = tmpdir_new();
        _cleanup_free_ char *old_path = NULL, *found = NULL, *tool = path_join(t, "tool"),
                            *extra_tool = path_join(extra, "extra-tool"), *plain = path_join(t, "plain");
        const char *e = getenv("PATH");

        old_path = e ? strdup(e) : NULL;

        write_file(t, "tool", "#!/bin/sh\n", 0755);
        write_file(t, "plain", "not executable\n", 0644);
        write_file(extra, "extra-tool", "#!/bin/sh\n", 0755);
        write_file(extra, "tool", "#!/bin/sh\n", 0755);

        /* Relative PATH entries and empty entries are skipped; PATH wins over extra_dir. */
        {
                _cleanup_free_ char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "relative::%s:/nonexistent", t), 0);
                ck_assert_int_eq(setenv("PATH", p, 1), 0);
        }
        ck_assert_int_eq(find_executable("tool", extra, &found), 0);
        ck_assert_str_eq(found, tool);
        free(TAKE_PTR(found));

        ck_assert_int_eq(find_executable("extra-tool", extra, &found), 0);
        ck_assert_str_eq(found, extra_tool);
        free(TAKE_PTR(found));

        ck_assert_int_eq(find_executable("extra-tool", NULL, &found), -ENOENT);
        ck_assert_int_eq(find_executable("plain", extra, &found), -ENOENT);
        ck_assert_int_eq(find_executable("no-such-tool-here", extra, &found), -ENOENT);
        ck_assert_ptr_null(found);

        /* Paths: absolute only. */
        ck_assert_int_eq(find_executable(tool, NULL, &found), 0);
        ck_assert_str_eq(found, tool);
        free(TAKE_PTR(found));
        ck_assert_int_eq(find_executable("./tool", NULL, &found), -EINVAL);
        ck_assert_int_eq(find_executable("a/tool", NULL, &found), -EINVAL);
        ck_assert_int_eq(find_executable("", NULL, &found), -EINVAL);
        ck_assert_int_lt(find_executable(plain, NULL, &found), 0);
        ck_assert_int_eq(find_executable("/nonexistent/tool", NULL, &found), -ENOENT);
        ck_assert_int_eq(find_executable(t, NULL, &found), -EISDIR);
        ck_assert_ptr_null(found);

        /* Without $PATH the default list is used. */
        ck_assert_int_eq(unsetenv("PATH"), 0);
        ck_assert_int_eq(find_executable("sh", NULL, &found), 0);
        ck_assert(path_is_absolute(found));
        ck_assert_int_eq(access(found, X_OK), 0);

        if (old_path)
                ck_assert_int_eq(setenv("PATH", old_path, 1), 0);
}
END_TEST

START_TEST(test_path_util_get_self_dir) {
        _cleanup_free_ char *dir = NULL;
        char buf[PATH_MAX];
        ssize_t k;

        ck_assert_int_eq(get_self_dir(&dir), 0);
        ck_assert(path_is_absolute(dir));

        k = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        ck_assert_int_gt(k, 0);
        buf[k] = '\0';
        ck_assert_int_eq(strncmp(buf, dir, strlen(dir)), 0);
        ck_assert_int_eq(buf[strlen(dir)], '/');
        ck_assert_ptr_null(strchr(buf + strlen(dir) + 1, '/'));
}
END_TEST

static Suite *path_util_suite(void) {
        Suite *s = suite_create("path-util");
        TCase *tc;

        tc = tcase_create("id");
        tcase_add_test(tc, test_path_util_id_valid);
        tcase_add_test(tc, test_path_util_id_invalid);
        suite_add_tcase(s, tc);

        tc = tcase_create("path");
        tcase_add_test(tc, test_path_util_predicates);
        suite_add_tcase(s, tc);

        tc = tcase_create("bundle");
        tcase_add_test(tc, test_path_util_bundle_errors);
        tcase_add_test(tc, test_path_util_bundle_bad_json);
        tcase_add_test(tc, test_path_util_bundle_too_big);
        tcase_add_test(tc, test_path_util_bundle_valid);
        tcase_add_test(tc, test_path_util_json_parse_object_stops_at_size);
        suite_add_tcase(s, tc);

        tc = tcase_create("dirs");
        tcase_add_test(tc, test_path_util_rm_rf);
        tcase_add_test(tc, test_path_util_mkdir_p);
        suite_add_tcase(s, tc);

        tc = tcase_create("executables");
        tcase_add_test(tc, test_path_util_find_executable);
        tcase_add_test(tc, test_path_util_get_self_dir);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(path_util_suite());
}
