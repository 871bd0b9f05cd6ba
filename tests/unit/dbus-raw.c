/* The unit tests' hand marshaller (dbus-raw.h). Every step asserts that the message still fits. */

#include <check.h>
#include <string.h>

#include "dbus-raw.h"

void raw_byte(Raw *r, uint8_t v) {
        ck_assert_uint_lt(r->size, sizeof(r->data));
        r->data[r->size++] = v;
}

void raw_bytes(Raw *r, const void *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                raw_byte(r, ((const uint8_t *) p)[i]);
}

void raw_pad_fill(Raw *r, size_t a, uint8_t fill) {
        while (r->size % a != 0)
                raw_byte(r, fill);
}

void raw_pad(Raw *r, size_t a) {
        raw_pad_fill(r, a, 0);
}

void raw_uint(Raw *r, uint64_t v, size_t n) {
        raw_pad(r, n);
        for (size_t i = 0; i < n; i++)
                raw_byte(r, (uint8_t) (v >> (8 * (r->big ? n - 1 - i : i))));
}

void raw_u16(Raw *r, uint16_t v) {
        raw_uint(r, v, 2);
}

void raw_u32(Raw *r, uint32_t v) {
        raw_uint(r, v, 4);
}

void raw_u64(Raw *r, uint64_t v) {
        raw_uint(r, v, 8);
}

void raw_patch_u32(Raw *r, size_t offset, uint32_t v) {
        for (size_t i = 0; i < 4; i++)
                r->data[offset + i] = (uint8_t) (v >> (8 * (r->big ? 3 - i : i)));
}

void raw_string(Raw *r, const char *s) {
        raw_u32(r, (uint32_t) strlen(s));
        raw_bytes(r, s, strlen(s) + 1);
}

void raw_sig(Raw *r, const char *s) {
        raw_byte(r, (uint8_t) strlen(s));
        raw_bytes(r, s, strlen(s) + 1);
}

void raw_begin_full(Raw *r, char endian, uint8_t type, uint8_t version, uint32_t serial) {
        *r = (Raw) { .big = endian == 'B' };
        raw_byte(r, (uint8_t) endian);
        raw_byte(r, type);
        raw_byte(r, 0);
        raw_byte(r, version);
        raw_u32(r, 0);
        raw_u32(r, serial);
        raw_u32(r, 0);
}

void raw_begin(Raw *r, uint8_t type) {
        raw_begin_full(r, 'l', type, 1, 1);
}

void raw_field_begin(Raw *r, uint8_t code, const char *sig) {
        raw_pad(r, 8);
        raw_byte(r, code);
        raw_sig(r, sig);
}

void raw_field_str(Raw *r, uint8_t code, char type, const char *s) {
        const char sig[2] = { type, 0 };

        raw_field_begin(r, code, sig);
        if (type == 'g')
                raw_sig(r, s);
        else
                raw_string(r, s);
}

void raw_field_u32(Raw *r, uint8_t code, uint32_t v) {
        raw_field_begin(r, code, "u");
        raw_u32(r, v);
}

/* Ends the header field array and pads to the body. */
void raw_body_begin_fill(Raw *r, uint8_t fill) {
        raw_patch_u32(r, 12, (uint32_t) (r->size - DBUS_HEADER_FIXED_SIZE));
        raw_pad_fill(r, 8, fill);
        r->body_start = r->size;
}

void raw_body_begin(Raw *r) {
        raw_body_begin_fill(r, 0);
}

void raw_end(Raw *r) {
        raw_patch_u32(r, 4, (uint32_t) (r->size - r->body_start));
}

/* A method call on /p member M with body signature @sig, up to the body. */
void raw_call(Raw *r, const char *sig) {
        raw_call_full(r, 'l', sig, 0);
}

/* The same in either byte order, with a UNIX_FDS field (last) if @unix_fds is not 0. */
void raw_call_full(Raw *r, char endian, const char *sig, uint32_t unix_fds) {
        raw_begin_full(r, endian, DBUS_MESSAGE_METHOD_CALL, 1, 1);
        raw_field_str(r, 1, 'o', "/p");
        raw_field_str(r, 3, 's', "M");
        if (sig)
                raw_field_str(r, 8, 'g', sig);
        if (unix_fds > 0)
                raw_field_u32(r, 9, unix_fds);
        raw_body_begin(r);
}

/* Starts an array: its length, then the padding to @element_alignment. Returns where the length is. */
size_t raw_array_begin(Raw *r, size_t element_alignment, size_t *ret_start) {
        size_t at;

        raw_u32(r, 0);
        at = r->size - 4;
        raw_pad(r, element_alignment);
        *ret_start = r->size;
        return at;
}

void raw_array_end(Raw *r, size_t at, size_t start) {
        raw_patch_u32(r, at, (uint32_t) (r->size - start));
}

int raw_parse(Raw *r, DbusMessage *m) {
        size_t size = 0;
        int ret;

        ret = dbus_message_parse(r->data, r->size, RAW_MAX_SIZE, m, &size);
        if (ret > 0)
                ck_assert_uint_eq(size, r->size);
        return ret;
}
