/* Fuzzes the CRI log format: cri_log_format() (how berth-shim turns each chunk of a container's
 * output into records) and cri_log_parse_line() (how berthctl logs reads them back).
 *
 * Input: byte 0 sets the chunk size (1..256), then three timestamps (int64 seconds, int32
 * nanoseconds, little-endian), then the output. Chunk i goes to stdout or stderr ((i / 3) % 2)
 * with timestamp i % 3. Invariants:
 * - each chunk gives one F record per newline and one P record for a rest without newline;
 * - every record parses, with the chunk's stream and exactly cri_format_timestamp()'s text, which
 *   matches a fresh gmtime_r() + strftime() of the same time (its per-second cache never shows);
 * - the payloads, with "\n" after each F record, give back each stream byte for byte;
 * - the parser, run on the raw input's lines too, accepts only lines of the format and its fields
 *   stay inside the line. */

#include <time.h>

#include "cri-log.h"
#include "fuzz.h"
#include "macro.h"

#define HEADER_SIZE (1 + 3 * 12)

typedef struct Expect {
        char *data[_CRI_STREAM_MAX];
        size_t size[_CRI_STREAM_MAX];
} Expect;

static uint64_t le(const uint8_t *p, size_t n) {
        uint64_t v = 0;

        for (size_t i = n; i > 0; i--)
                v = v << 8 | p[i - 1];
        return v;
}

/* What cri_format_timestamp() must write, computed without its cache. */
static size_t expected_timestamp(const struct timespec *ts, char buf[static 64]) {
        long nsec = ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L ? ts->tv_nsec : 0;
        char date[CRI_TIMESTAMP_MAX];
        struct tm tm;

        if (!gmtime_r(&ts->tv_sec, &tm) || strftime(date, sizeof(date) - 12, "%Y-%m-%dT%H:%M:%S.", &tm) == 0)
                return (size_t) snprintf(buf, 64, "1970-01-01T00:00:00.000000000Z");
        return (size_t) snprintf(buf, 64, "%s%09ldZ", date, nsec);
}

static void append(Expect *e, CriStream s, const char *p, size_t n) {
        char *d = realloc(e->data[s], e->size[s] + n + 1);

        fuzz_check(d);
        memcpy(d + e->size[s], p, n);
        e->data[s] = d;
        e->size[s] += n;
}

/* Parses the records cri_log_format() appended for one chunk and adds their payloads to @got. */
static void check_records(const CriBuffer *out, size_t start, CriStream stream, const struct timespec *ts,
                          const char *chunk, size_t n, Expect *got) {
        size_t pos = start, f = 0, p = 0, newlines = 0;
        char want_ts[64];
        size_t want_ts_size = expected_timestamp(ts, want_ts);

        for (size_t i = 0; i < n; i++)
                newlines += chunk[i] == '\n';

        while (pos < out->size) {
                const char *line = out->data + pos;
                const char *nl = memchr(line, '\n', out->size - pos);
                CriRecord r;

                fuzz_check(nl);
                fuzz_check(cri_log_parse_line(line, (size_t) (nl - line), &r) == 0);
                fuzz_check(r.stream == stream);
                fuzz_check(r.timestamp_size == want_ts_size);
                fuzz_check(memcmp(r.timestamp, want_ts, want_ts_size) == 0);
                append(got, stream, r.payload, r.payload_size);
                if (!r.partial)
                        append(got, stream, "\n", 1);
                f += !r.partial;
                p += r.partial;
                pos = (size_t) (nl - out->data) + 1;
        }
        fuzz_check(f == newlines);
        fuzz_check(p == (n > 0 && chunk[n - 1] != '\n'));
}

/* The parser on arbitrary lines. */
static void parse_raw(const char *data, size_t size) {
        const char *p = data, *end = data + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                _cleanup_free_ char *line = (char *) fuzz_memdup((const uint8_t *) p, len);
                CriRecord r;

                if (cri_log_parse_line(line, len, &r) == 0) {
                        fuzz_check(r.timestamp == line && r.timestamp_size > 0 && r.timestamp_size < len);
                        fuzz_check(r.stream == CRI_STREAM_STDOUT || r.stream == CRI_STREAM_STDERR);
                        fuzz_check(r.payload >= line && r.payload + r.payload_size == line + len);
                }
                p += len + 1;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(cri_buffer_done) CriBuffer out = {};
        Expect want = {}, got = {};
        struct timespec ts[3];
        const char *stream_data;
        size_t chunk, stream_size;

        if (size < HEADER_SIZE)
                return 0;
        /* The timestamp cache lives across inputs: start each from the same state, so that a
         * reproducer reproduces on its own. */
        (void) cri_format_timestamp(&(struct timespec) {}, (char[CRI_TIMESTAMP_MAX]) {});
        chunk = (size_t) data[0] + 1;
        for (size_t i = 0; i < 3; i++)
                ts[i] = (struct timespec) {
                        .tv_sec = (time_t) le(data + 1 + 12 * i, 8),
                        .tv_nsec = (long) (int32_t) le(data + 1 + 12 * i + 8, 4),
                };
        stream_data = (const char *) data + HEADER_SIZE;
        stream_size = size - HEADER_SIZE;

        for (size_t i = 0, pos = 0; pos < stream_size; i++) {
                size_t n = MIN(chunk, stream_size - pos), start = out.size;
                CriStream s = (CriStream) ((i / 3) % 2);

                fuzz_check(cri_log_format(&out, s, &ts[i % 3], stream_data + pos, n) == 0);
                check_records(&out, start, s, &ts[i % 3], stream_data + pos, n, &got);
                append(&want, s, stream_data + pos, n);
                pos += n;
        }
        for (int s = 0; s < _CRI_STREAM_MAX; s++) {
                fuzz_check(got.size[s] == want.size[s]);
                fuzz_check(want.size[s] == 0 || memcmp(got.data[s], want.data[s], want.size[s]) == 0);
                free(got.data[s]);
                free(want.data[s]);
        }

        parse_raw((const char *) data, size);
        return 0;
}
