/* Integration tests of container output (DESIGN.md promise 3): everything a container writes to
 * stdout and stderr is in its CRI log, byte for byte, by the time its exit is reported; the
 * records split lines as the format says (F, P); LogPath and LogDriver=none do what they say; an
 * idle shim gives back the buffers a burst of output used. */

#include <sys/random.h>
#include <sys/stat.h>

#include "harness.h"

#define BIG_SIZE (32u * 1024u * 1024u)

static char *random_bytes(size_t size) {
        char *buf = malloc(size);
        size_t done = 0;

        ck_assert_ptr_nonnull(buf);
        while (done < size) {
                ssize_t n = getrandom(buf + done, size - done, 0);

                ck_assert_msg(n > 0 || errno == EINTR, "getrandom: %m");
                if (n > 0)
                        done += n;
        }
        return buf;
}

static char *rootfs_path(const char *bundle, const char *name) {
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/rootfs/%s", bundle, name), 0);
        return p;
}

/* The first offset where a and b differ, for a readable failure. */
static size_t first_difference(const char *a, const char *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (a[i] != b[i])
                        return i;
        return n;
}

static void assert_stream(const HarnessCriLog *log, int stream, const char *want, size_t want_size) {
        const char *name = stream == 0 ? "stdout" : "stderr";
        size_t common = MIN(want_size, log->stream_sizes[stream]);

        ck_assert_msg(log->stream_sizes[stream] == want_size,
                      "%s: %zu bytes in the log, %zu written (first difference at %zu)", name,
                      log->stream_sizes[stream], want_size,
                      first_difference(log->streams[stream], want, common));
        ck_assert_msg(memcmp(log->streams[stream], want, want_size) == 0, "%s differs at byte %zu", name,
                      first_difference(log->streams[stream], want, want_size));
}

START_TEST(test_output_64mib) {
        _cleanup_free_ char *bundle = harness_make_bundle("big", "sh", "-c", "cat /out; cat /err >&2", NULL);
        _cleanup_free_ char *out_path = rootfs_path(bundle, "out"), *err_path = rootfs_path(bundle, "err");
        _cleanup_free_ char *out = random_bytes(BIG_SIZE), *err = random_bytes(BIG_SIZE);
        _cleanup_free_ char *path = NULL, *log_path = NULL;
        HarnessCriLog log = {};

        harness_write_file(out_path, out, BIG_SIZE);
        harness_write_file(err_path, err, BIG_SIZE);

        path = harness_create("big", bundle, true);
        ck_assert_int_eq(harness_wait("big"), 0);

        /* The log is complete once the exit is reported: read it right away. */
        log_path = harness_get_string("big", "LogPath");
        harness_cri_log_read(log_path, &log);
        assert_stream(&log, 0, out, BIG_SIZE);
        assert_stream(&log, 1, err, BIG_SIZE);
        harness_cri_log_done(&log);

        harness_delete("big", false);
}
END_TEST

#define BURST_SIZE (4u * 1024u * 1024u)

typedef struct LogSize {
        const char *path;
        off_t size;
} LogSize;

static bool log_reached(void *userdata) {
        const LogSize *l = userdata;
        struct stat st;

        return stat(l->path, &st) == 0 && st.st_size >= l->size;
}

/* Private_Dirty of a process, in KiB; 0 if unknown. */
static unsigned long private_dirty_kib(pid_t pid) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *p;

        ck_assert_int_ge(asprintf(&path, "/proc/%d/smaps_rollup", (int) pid), 0);
        text = harness_read_file(path, NULL);
        p = text ? strstr(text, "Private_Dirty:") : NULL;
        return p ? strtoul(p + strlen("Private_Dirty:"), NULL, 10) : 0;
}

typedef struct DirtyBelow {
        pid_t pid;
        unsigned long kib;
        unsigned long last;
} DirtyBelow;

static bool dirty_below(void *userdata) {
        DirtyBelow *d = userdata;

        d->last = private_dirty_kib(d->pid);
        return d->last > 0 && d->last < d->kib;
}

/* A burst of output touches the shim's read and CRI buffers (~0.5 MiB); once the container is
 * quiet the shim gives those pages back, so an idle shim is as small as one that never logged. */
START_TEST(test_output_idle_shim_releases_buffers) {
        _cleanup_free_ char *bundle = harness_make_bundle("burst", "sh", "-c", "cat /out; exec sleep 1000", NULL);
        _cleanup_free_ char *out_path = rootfs_path(bundle, "out"), *out = random_bytes(BURST_SIZE);
        _cleanup_free_ char *path = NULL, *log_path = NULL;
        DirtyBelow d = { .kib = 200 };
        LogSize l;

        harness_write_file(out_path, out, BURST_SIZE);
        path = harness_create("burst", bundle, true);
        d.pid = (pid_t) harness_get_u32("burst", "ShimPid");
        log_path = harness_get_string("burst", "LogPath");
        l = (LogSize) { .path = log_path, .size = BURST_SIZE };
        ck_assert_msg(harness_wait_until(log_reached, &l, 30 * USEC_PER_SEC), "the burst never reached the log");
        ck_assert_msg(harness_wait_until(dirty_below, &d, 30 * USEC_PER_SEC),
                      "the idle shim still has %lu KiB private dirty memory", d.last);
        harness_delete("burst", true);
}
END_TEST

static void assert_record(const HarnessCriLog *log, size_t i, int stream, bool partial,
                          const char *payload) {
        const HarnessCriRecord *r;

        ck_assert_msg(i < log->n_records, "record %zu missing (only %zu)", i, log->n_records);
        r = &log->records[i];
        ck_assert_int_eq(r->stream, stream);
        ck_assert_msg(r->partial == partial, "record %zu: tag %c, expected %c", i, r->partial ? 'P' : 'F',
                      partial ? 'P' : 'F');
        ck_assert_uint_eq(r->payload_size, strlen(payload));
        ck_assert_str_eq(r->payload, payload);
}

/* Runs a container to its end and parses its log. */
static void run_and_read_log(const char *id, char **argv, int expected_status, HarnessCriLog *ret) {
        _cleanup_free_ char *bundle = harness_make_bundlev(id, argv);
        _cleanup_free_ char *log_path = NULL;

        free(harness_create(id, bundle, true));
        ck_assert_int_eq(harness_wait(id), expected_status);
        log_path = harness_get_string(id, "LogPath");
        harness_cri_log_read(log_path, ret);
        harness_delete(id, false);
}

START_TEST(test_output_partial_line) {
        char *argv[] = { (char *) "printf", (char *) "a\\nb\\npartial", NULL };
        HarnessCriLog log = {};

        run_and_read_log("partial", argv, 0, &log);
        ck_assert_uint_eq(log.n_records, 3);
        assert_record(&log, 0, 0, false, "a");
        assert_record(&log, 1, 0, false, "b");
        assert_record(&log, 2, 0, true, "partial");
        ck_assert_str_eq(log.streams[0], "a\nb\npartial");
        ck_assert_uint_eq(log.stream_sizes[1], 0);
        harness_cri_log_done(&log);
}
END_TEST

START_TEST(test_output_empty_lines) {
        char *argv[] = { (char *) "printf", (char *) "\\n\\nx\\n\\n", NULL };
        HarnessCriLog log = {};

        run_and_read_log("empty", argv, 0, &log);
        ck_assert_str_eq(log.streams[0], "\n\nx\n\n");
        ck_assert_uint_eq(log.n_records, 4);
        assert_record(&log, 0, 0, false, "");
        assert_record(&log, 1, 0, false, "");
        assert_record(&log, 2, 0, false, "x");
        assert_record(&log, 3, 0, false, "");
        harness_cri_log_done(&log);
}
END_TEST

START_TEST(test_output_both_streams) {
        char *argv[] = { (char *) "sh", (char *) "-c",
                         (char *) "echo out; echo err >&2; printf 'no newline' >&2; exit 3", NULL };
        HarnessCriLog log = {};

        run_and_read_log("streams", argv, 3, &log);
        ck_assert_str_eq(log.streams[0], "out\n");
        ck_assert_str_eq(log.streams[1], "err\nno newline");
        harness_cri_log_done(&log);
}
END_TEST

START_TEST(test_output_log_path) {
        _cleanup_free_ char *bundle = harness_make_bundle("lp", "sh", "-c", "echo to the custom log", NULL);
        _cleanup_free_ char *custom = NULL, *got = NULL, *path = NULL, *listing = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        HarnessCriLog log = {};
        sd_bus_message *m;
        int r;

        ck_assert_int_ge(asprintf(&custom, "%s/custom.log", harness->tmpdir), 0);
        m = harness_create_begin("lp", bundle);
        harness_create_option(m, "LogPath", "s", custom);
        harness_create_option(m, "Start", "b", 1);
        r = harness_create_end(m, &error, &path);
        harness_assert_ok(r, &error);
        got = harness_get_string("lp", "LogPath");
        ck_assert_str_eq(got, custom);
        ck_assert_int_eq(harness_wait("lp"), 0);

        harness_cri_log_read(custom, &log);
        ck_assert_str_eq(log.streams[0], "to the custom log\n");
        harness_cri_log_done(&log);
        listing = harness_dir_listing(harness->log_dir);
        ck_assert_str_eq(listing, "");

        /* Only the default log goes with the container; a log the caller named stays. */
        harness_delete("lp", false);
        ck_assert_msg(harness_path_exists(custom), "the caller's LogPath %s was removed by delete", custom);
}
END_TEST

START_TEST(test_output_log_driver_none) {
        _cleanup_free_ char *bundle = harness_make_bundle("none", "sh", "-c", "echo nowhere; echo x >&2",
                                                          NULL);
        _cleanup_free_ char *got = NULL, *path = NULL, *listing = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m;
        int r;

        m = harness_create_begin("none", bundle);
        harness_create_option(m, "LogDriver", "s", "none");
        r = harness_create_end(m, &error, &path);
        harness_assert_ok(r, &error);
        got = harness_get_string("none", "LogPath");
        ck_assert_str_eq(got, "");
        harness_start("none");
        ck_assert_int_eq(harness_wait("none"), 0);
        listing = harness_dir_listing(harness->log_dir);
        ck_assert_str_eq(listing, "");
        harness_delete("none", false);
}
END_TEST

static Suite *output_suite(void) {
        Suite *s = suite_create("output");
        TCase *tc;

        tc = harness_tcase_new("big");
        tcase_add_test(tc, test_output_64mib);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("records");
        tcase_add_test(tc, test_output_partial_line);
        tcase_add_test(tc, test_output_empty_lines);
        tcase_add_test(tc, test_output_both_streams);
        suite_add_tcase(s, tc);

        tc = harness_tcase_new("drivers");
        tcase_add_test(tc, test_output_log_path);
        tcase_add_test(tc, test_output_log_driver_none);
        if (HARNESS_MEMORY_MEASURABLE)
                tcase_add_test(tc, test_output_idle_shim_releases_buffers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return harness_run_suite(output_suite());
}
