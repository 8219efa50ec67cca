// SPDX-License-Identifier: MIT
/* Diagnostics: stderr in the foreground, syslog once daemonized. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "vfio-migfsd.h"

static bool use_syslog;

void log_init(bool foreground)
{
	use_syslog = !foreground;
	if (use_syslog)
		openlog("vfio-migfsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void vlog(int pri, const char *fmt, va_list ap, const char *why)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (use_syslog)
		syslog(pri, "%s%s%s", msg, why ? ": " : "", why ? why : "");
	else
		fprintf(stderr, "vfio-migfsd: %s%s%s\n", msg, why ? ": " : "",
			why ? why : "");
}

void log_warn(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, why);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, why);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
