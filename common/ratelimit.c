/* Rate limiting of repeated log messages.
 *
 * A shim at its fd limit, a client that reconnects in a loop, a disk that fills and empties: each
 * makes the same message due again and again, and without a limit a shim wrote 72 MB of log lines
 * in 90 s. A RateLimit lets @burst messages through per interval; the first one let through after
 * a quiet spell can say how many were held back (ratelimit_take_suppressed()). */

#include <time.h>

#include "fd-util.h"
#include "macro.h"
#include "ratelimit.h"

/**
 * ratelimit_below_at() - whether one more message may go out at @now_usec
 * @rl: the limit, from RATELIMIT_INIT(); an interval or burst of 0 lets everything through
 * @now_usec: CLOCK_MONOTONIC µs
 *
 * Return: true if the message may be logged; false if it is suppressed (and counted).
 */
bool ratelimit_below_at(RateLimit *rl, uint64_t now_usec) {
        /* begin is kept one above the clock, so that 0 means "no interval yet" at any time. */
        uint64_t t = now_usec < UINT64_MAX ? now_usec + 1 : now_usec;

        if (rl->interval_usec == 0 || rl->burst == 0)
                return true;

        /* A new interval: the first message, the old one is over, or the clock went back. */
        if (rl->begin == 0 || t < rl->begin || t - rl->begin >= rl->interval_usec) {
                rl->begin = t;
                rl->num = 0;
        }
        if (rl->num < rl->burst) {
                rl->num++;
                return true;
        }
        rl->suppressed++;
        return false;
}

/**
 * ratelimit_below() - ratelimit_below_at() with the current CLOCK_MONOTONIC time
 * @rl: the limit
 *
 * Return: true if the message may be logged.
 */
bool ratelimit_below(RateLimit *rl) {
        return ratelimit_below_at(rl, now_usec(CLOCK_MONOTONIC));
}

/**
 * ratelimit_take_suppressed() - how many messages were held back since the last call
 * @rl: the limit
 *
 * Return: the count, which is reset to 0.
 */
unsigned ratelimit_take_suppressed(RateLimit *rl) {
        unsigned n = rl->suppressed;

        rl->suppressed = 0;
        return n;
}
