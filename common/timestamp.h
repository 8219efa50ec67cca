/* SPDX-License-Identifier: MIT */
/*
 * The one timestamp of vfio-migfs: ISO 8601 in UTC with microseconds,
 * 2026-11-24T22:07:01.123456Z, in the daemon's `log` and in vfio-migctl
 * watch's lines alike, so that the two can be merged and compared.
 */
#ifndef TIMESTAMP_H
#define TIMESTAMP_H

#include <stddef.h>

/* TIMESTAMP_SIZE - 1 characters and a NUL */
#define TIMESTAMP_SIZE	28

/* Now, into buf (len >= TIMESTAMP_SIZE); returns the characters written. */
size_t timestamp_now(char *buf, size_t len);

#endif
