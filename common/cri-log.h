/* The CRI log format: "<RFC3339Nano> stdout|stderr F|P <payload>\n".
 * F ends a line (the newline is not part of the payload); P is a partial line.
 * Concatenating payloads, with "\n" after each F record, gives back the stream byte for byte. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <time.h>

typedef enum CriStream {
        CRI_STREAM_STDOUT,
        CRI_STREAM_STDERR,
        _CRI_STREAM_MAX,
        _CRI_STREAM_INVALID = -EINVAL,
} CriStream;

const char *cri_stream_to_string(CriStream s);

#define CRI_TIMESTAMP_MAX 40

/* Writes e.g. "2026-11-24T09:13:44.123456789Z" (UTC, 9 fraction digits) with a NUL; returns length. */
size_t cri_format_timestamp(const struct timespec *ts, char buf[static CRI_TIMESTAMP_MAX]);

/* A growable output buffer. */
typedef struct CriBuffer {
        char *data;
        size_t size;
        size_t allocated;
} CriBuffer;

void cri_buffer_done(CriBuffer *b);

/* Appends the records for one chunk of stream data: one F record per complete line, and a P
 * record for a trailing piece without newline. Returns 0 or -ENOMEM. */
int cri_log_format(CriBuffer *out, CriStream stream, const struct timespec *ts, const char *data, size_t size);

/* For a write that was cut short: where the last complete record in @data (records as
 * cri_log_format() made them) ends, and how many stream bytes whole records carry (the payloads,
 * plus the newline an F record stands for). */
size_t cri_log_records_end(const char *data, size_t size);
uint64_t cri_log_stream_bytes(const char *data, size_t size);

typedef struct CriRecord {
        const char *timestamp;  /* points into the line, not NUL terminated */
        size_t timestamp_size;
        CriStream stream;
        bool partial;
        const char *payload;    /* points into the line */
        size_t payload_size;
} CriRecord;

/* Parses one line (without its trailing newline). Returns 0 or -EBADMSG. */
int cri_log_parse_line(const char *line, size_t size, CriRecord *ret);
