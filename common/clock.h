/* SPDX-License-Identifier: MIT */
/*
 * The monotonic clock, for durations and rates: never the wall clock,
 * which an operator or NTP may step while a migration runs.
 */
#ifndef MIGFS_CLOCK_H
#define MIGFS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_usec(void)
{
	return now_ns() / 1000;
}

/* A deadline ns after ts, for pthread_cond_timedwait on this clock. */
static inline void timespec_add_ns(struct timespec *ts, uint64_t ns)
{
	ts->tv_sec += (time_t)(ns / 1000000000);
	ts->tv_nsec += (long)(ns % 1000000000);
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

#endif
