// SPDX-License-Identifier: MIT
#include <string.h>
#include <time.h>

#include "timestamp.h"

/* After the date and time of day: ".123456Z" */
#define FRACTION_LEN	8

/*
 * gmtime_r() and strftime() cost a device event more than the rest of its
 * line: each thread formats the date and time of day once a second.
 */
static __thread time_t second_at = -1;
static __thread char second[TIMESTAMP_SIZE - FRACTION_LEN];
static __thread size_t second_len;

size_t timestamp_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	long us;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != second_at) {
		gmtime_r(&ts.tv_sec, &tm);
		second_len = strftime(second, sizeof(second), "%Y-%m-%dT%H:%M:%S", &tm);
		second_at = ts.tv_sec;
	}
	if (len < second_len + FRACTION_LEN + 1)
		return 0;
	memcpy(buf, second, second_len);
	n = second_len;
	buf[n++] = '.';
	us = ts.tv_nsec / 1000;
	for (int i = 6; i-- > 0; us /= 10)
		buf[n + (size_t)i] = (char)('0' + us % 10);
	n += 6;
	buf[n++] = 'Z';
	buf[n] = '\0';
	return n;
}
