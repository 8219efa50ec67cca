// SPDX-License-Identifier: MIT
/* What the benchmark programs share; see benchutil.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

uint64_t parse_count(const char *s, const char *what)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		die("%s must be a decimal number, not '%s'", what, s);
	return v;
}

/* Page-aligned as cat's and dd's: else a 1 MiB read is two FUSE requests. */
void *touched_buffer(size_t len)
{
	void *p;

	if (posix_memalign(&p, (size_t)sysconf(_SC_PAGESIZE), len ? len : 1))
		die("no memory for a %zu-byte buffer", len);
	memset(p, 0xa5, len);
	return p;
}

uint64_t feed_file(const char *path, char *buf, size_t bufsize,
		   void (*put)(void *ctx, const char *buf, size_t len), void *ctx)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t total = 0;
	ssize_t n;

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	while ((n = read(fd, buf, bufsize)) > 0) {
		put(ctx, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (n < 0)
		die("%s: read: %s", path, strerror(errno));
	close(fd);
	return total;
}

void print_result(uint64_t amount, double seconds)
{
	printf("%" PRIu64 " %.9f\n", amount, seconds);
	fflush(stdout);
}
