/* A hand marshaller of D-Bus messages for the unit tests, independent of the code under test:
 * either byte order, any padding, any (broken) length. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbus-wire.h"

#define RAW_MAX_SIZE (1024U * 1024U)

typedef struct Raw {
        uint8_t data[8192];
        size_t size;
        bool big;
        size_t body_start;
} Raw;

void raw_byte(Raw *r, uint8_t v);
void raw_bytes(Raw *r, const void *p, size_t n);
void raw_pad_fill(Raw *r, size_t a, uint8_t fill);
void raw_pad(Raw *r, size_t a);
void raw_uint(Raw *r, uint64_t v, size_t n);
void raw_u16(Raw *r, uint16_t v);
void raw_u32(Raw *r, uint32_t v);
void raw_u64(Raw *r, uint64_t v);
void raw_patch_u32(Raw *r, size_t offset, uint32_t v);
void raw_string(Raw *r, const char *s);
void raw_sig(Raw *r, const char *s);
void raw_begin_full(Raw *r, char endian, uint8_t type, uint8_t version, uint32_t serial);
void raw_begin(Raw *r, uint8_t type);
void raw_field_begin(Raw *r, uint8_t code, const char *sig);
void raw_field_str(Raw *r, uint8_t code, char type, const char *s);
void raw_field_u32(Raw *r, uint8_t code, uint32_t v);
void raw_body_begin_fill(Raw *r, uint8_t fill);
void raw_body_begin(Raw *r);
void raw_end(Raw *r);
void raw_call(Raw *r, const char *sig);
void raw_call_full(Raw *r, char endian, const char *sig, uint32_t unix_fds);
size_t raw_array_begin(Raw *r, size_t element_alignment, size_t *ret_start);
void raw_array_end(Raw *r, size_t at, size_t start);
int raw_parse(Raw *r, DbusMessage *m);
