/* What harness.c and harness-bus.c share and the tests don't need: allocation that asserts, time,
 * and sorting lines. */
#pragma once

#include <stdint.h>

#include "macro.h"

char *harness_xstrdup(const char *s);
void harness_sleep_usec(uint64_t usec);
char *harness_sort_lines(char *text);
