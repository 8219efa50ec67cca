// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <time.h>

#include "timestamp.h"

size_t timestamp_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	return n + (size_t)snprintf(buf + n, len - n, ".%06ldZ", ts.tv_nsec / 1000);
}
