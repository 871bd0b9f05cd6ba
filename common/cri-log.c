/* The CRI log format, written by the shim for LogDriver=file and read by "berthctl logs".
 *
 * Each chunk read from the container's stdout or stderr becomes records
 * "<timestamp> <stream> F <line>\n" for every complete line and "<timestamp> <stream> P <rest>\n" for
 * a trailing piece without newline. Concatenating the payloads, adding "\n" after every F record,
 * gives back the stream byte for byte.
 *
 * cri_log_format() is on the hot path (a container can write hundreds of MiB): it formats one
 * timestamp per chunk, finds lines with memchr() and grows its buffer geometrically. The date part of
 * the timestamp is cached per second.
 *
 * A payload never holds a newline, so every newline in formatted records ends one: after a write
 * that was cut short (a full disk), cri_log_records_end() finds what part of it is whole records,
 * and cri_log_stream_bytes() how much of the stream the rest carried. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cri-log.h"
#include "macro.h"

static const char *const cri_stream_table[_CRI_STREAM_MAX] = {
        [CRI_STREAM_STDOUT] = "stdout",
        [CRI_STREAM_STDERR] = "stderr",
};

/**
 * cri_stream_to_string() - name of a stream as it appears in log lines
 * @s: the stream
 *
 * Return: "stdout", "stderr", or NULL for an invalid value.
 */
const char *cri_stream_to_string(CriStream s) {
        return s >= 0 && s < _CRI_STREAM_MAX ? cri_stream_table[s] : NULL;
}

/**
 * cri_format_timestamp() - format a time as RFC 3339 with nanoseconds, in UTC
 * @ts: the time (CLOCK_REALTIME)
 * @buf: output, at least CRI_TIMESTAMP_MAX bytes
 *
 * Writes e.g. "2026-11-24T09:13:44.123456789Z".
 *
 * Return: the length written, without the NUL.
 */
size_t cri_format_timestamp(const struct timespec *ts, char buf[static CRI_TIMESTAMP_MAX]) {
        /* "YYYY-MM-DDTHH:MM:SS." of the last second formatted, per thread. */
        static __thread time_t cached_sec = (time_t) -1;
        static __thread char cached[CRI_TIMESTAMP_MAX];
        static __thread size_t cached_len = 0;
        long nsec = ts->tv_nsec;
        size_t n;

        if (ts->tv_sec != cached_sec || cached_len == 0) {
                struct tm tm;
                size_t k = 0;

                if (gmtime_r(&ts->tv_sec, &tm))
                        k = strftime(cached, sizeof(cached) - 12, "%Y-%m-%dT%H:%M:%S.", &tm);
                if (k == 0) {
                        /* Out of range for struct tm: cannot happen with a sane clock. The cache
                         * is dropped: second -1 would find it valid otherwise. */
                        cached_len = 0;
                        memcpy(buf, "1970-01-01T00:00:00.000000000Z", 31);
                        return 30;
                }
                cached_sec = ts->tv_sec;
                cached_len = k;
        }

        if (nsec < 0 || nsec >= (long) NSEC_PER_SEC)
                nsec = 0;

        memcpy(buf, cached, cached_len);
        n = cached_len;
        for (int i = 8; i >= 0; i--) {
                buf[n + (size_t) i] = (char) ('0' + nsec % 10);
                nsec /= 10;
        }
        n += 9;
        buf[n++] = 'Z';
        buf[n] = '\0';
        return n;
}

/**
 * cri_buffer_done() - free the memory of a CriBuffer and reset it
 * @b: the buffer
 */
void cri_buffer_done(CriBuffer *b) {
        if (!b)
                return;
        free(b->data);
        *b = (CriBuffer) {};
}

static int buffer_reserve(CriBuffer *b, size_t extra) {
        size_t need, n;
        char *p;

        if (extra > SIZE_MAX - b->size)
                return -ENOMEM;
        need = b->size + extra;
        if (need <= b->allocated)
                return 0;

        n = b->allocated > SIZE_MAX / 2 ? SIZE_MAX : b->allocated * 2;
        n = MAX(n, need);
        n = MAX(n, (size_t) 4096);
        p = realloc(b->data, n);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->allocated = n;
        return 0;
}

static void buffer_append(CriBuffer *b, const void *p, size_t n) {
        memcpy(b->data + b->size, p, n);
        b->size += n;
}

/**
 * cri_log_format() - append the CRI records for one chunk of stream data
 * @out: the buffer to append to
 * @stream: where the data came from
 * @ts: the time of the chunk (NULL: now)
 * @data: the chunk
 * @size: its size; an empty chunk appends nothing
 *
 * One F record per complete line, and a P record for a trailing piece without newline.
 *
 * Return: 0, -EINVAL or -ENOMEM (@out is unchanged then).
 */
int cri_log_format(CriBuffer *out, CriStream stream, const struct timespec *ts,
                   const char *data, size_t size) {
        char prefix[CRI_TIMESTAMP_MAX + 16];
        const char *name, *p, *end;
        struct timespec now;
        size_t prefix_len, old_size;
        int r;

        if (!out || (!data && size > 0))
                return -EINVAL;
        name = cri_stream_to_string(stream);
        if (!name)
                return -EINVAL;
        if (size == 0)
                return 0;

        if (!ts) {
                (void) clock_gettime(CLOCK_REALTIME, &now);
                ts = &now;
        }

        /* "<timestamp> <stream> " */
        prefix_len = cri_format_timestamp(ts, prefix);
        prefix[prefix_len++] = ' ';
        memcpy(prefix + prefix_len, name, 6);
        prefix_len += 6;
        prefix[prefix_len++] = ' ';

        old_size = out->size;
        p = data;
        end = data + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);

                r = buffer_reserve(out, prefix_len + 3 + len);
                if (r < 0) {
                        out->size = old_size;
                        return r;
                }
                buffer_append(out, prefix, prefix_len);
                buffer_append(out, nl ? "F " : "P ", 2);
                buffer_append(out, p, len);
                buffer_append(out, "\n", 1);

                p += len + (nl ? 1 : 0);
        }

        return 0;
}

/**
 * cri_log_records_end() - the end of the last complete record in formatted records
 * @data: records as cri_log_format() appends them, possibly cut anywhere
 * @size: how many bytes of them
 *
 * Return: the offset just after the last newline in @data, or 0 when there is none.
 */
size_t cri_log_records_end(const char *data, size_t size) {
        const char *nl;

        if (!data || size == 0)
                return 0;
        nl = memrchr(data, '\n', size);
        return nl ? (size_t) (nl - data) + 1 : 0;
}

/**
 * cri_log_stream_bytes() - how many bytes of the container's stream formatted records carry
 * @data: whole records as cri_log_format() appends them (a trailing piece without newline and
 * lines that are not records count nothing)
 * @size: their size
 *
 * Each record counts its payload, and an F record one more for the newline that ended its line:
 * the count is what reconstructing the stream from these records would give back.
 *
 * Return: the number of bytes.
 */
uint64_t cri_log_stream_bytes(const char *data, size_t size) {
        const char *p = data, *end = data + size;
        uint64_t n = 0;

        if (!data)
                return 0;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                CriRecord rec;

                if (!nl)
                        break;
                if (cri_log_parse_line(p, (size_t) (nl - p), &rec) >= 0)
                        n += rec.payload_size + (rec.partial ? 0 : 1);
                p = nl + 1;
        }
        return n;
}

/**
 * cri_log_parse_line() - split one CRI log line into its fields
 * @line: the line, without its newline
 * @size: its length
 * @ret: the fields, pointing into @line
 *
 * "<timestamp> <stdout|stderr> <F|P> <payload>"; the payload may be empty, and for an empty payload
 * the space before it may be missing.
 *
 * Return: 0 or -EBADMSG.
 */
int cri_log_parse_line(const char *line, size_t size, CriRecord *ret) {
        CriRecord rec = {};
        const char *sp, *p, *end;

        if (!line || !ret)
                return -EINVAL;
        end = line + size;

        sp = memchr(line, ' ', size);
        if (!sp || sp == line)
                return -EBADMSG;
        rec.timestamp = line;
        rec.timestamp_size = (size_t) (sp - line);
        p = sp + 1;

        if (end - p < 8)        /* "stdout F" */
                return -EBADMSG;
        if (memcmp(p, "stdout ", 7) == 0)
                rec.stream = CRI_STREAM_STDOUT;
        else if (memcmp(p, "stderr ", 7) == 0)
                rec.stream = CRI_STREAM_STDERR;
        else
                return -EBADMSG;
        p += 7;

        if (*p == 'F')
                rec.partial = false;
        else if (*p == 'P')
                rec.partial = true;
        else
                return -EBADMSG;
        p++;

        if (p == end) {
                rec.payload = p;
                rec.payload_size = 0;
        } else if (*p == ' ') {
                rec.payload = p + 1;
                rec.payload_size = (size_t) (end - p - 1);
        } else
                return -EBADMSG;

        *ret = rec;
        return 0;
}
