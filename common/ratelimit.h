/* Rate limiting for log messages that an outside event can repeat without end (a client storm, a
 * full disk): at most @burst messages per @interval, and a count of what was suppressed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct RateLimit {
        uint64_t interval_usec;
        unsigned burst;
        uint64_t begin;                 /* CLOCK_MONOTONIC µs + 1 when the interval began; 0: none */
        unsigned num;                   /* messages let through in the current interval */
        unsigned suppressed;            /* messages held back since the last one let through */
} RateLimit;

#define RATELIMIT_INIT(interval, n) ((RateLimit) { .interval_usec = (interval), .burst = (n) })

bool ratelimit_below_at(RateLimit *rl, uint64_t now_usec);
bool ratelimit_below(RateLimit *rl);
unsigned ratelimit_take_suppressed(RateLimit *rl);
