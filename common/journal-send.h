/* Sending one entry to the systemd journal over its native protocol, without libsystemd. */
#pragma once

#include <stddef.h>
#include <sys/uio.h>

/* At most this many fields per entry. */
#define JOURNAL_FIELDS_MAX 16

int journal_sendv(const struct iovec *fields, size_t n);
