// SPDX-License-Identifier: MIT
/*
 * migbench-storm THREADS FILE [HOLD]: what a hostile user of a mount with
 * -o allow_other does to its owner (issue 19).  First it opens HOLD as
 * many times as it is let (at most MAX_HOLD: the daemon's bound on one
 * user's open files comes first), and prints "ready HELD"; then THREADS
 * threads stat FILE with statx(AT_STATX_FORCE_SYNC), which no attribute
 * cache answers, until its standard input ends.  Prints "STATS SECONDS".
 * Run as another user (setpriv) with a raised RLIMIT_NOFILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benchutil.h"

#define MAX_HOLD	100000

static const char *path;
static bool stop;
static uint64_t stats;

static void *stat_loop(void *arg)
{
	struct statx stx;
	uint64_t n = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (statx(AT_FDCWD, path, AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &stx))
			die("%s: statx: %s", path, strerror(errno));
		n++;
	}
	__atomic_add_fetch(&stats, n, __ATOMIC_RELAXED);
	return NULL;
}

/* Opens of hold until the daemon (or the limit) says no. */
static unsigned int hold_open(const char *hold)
{
	unsigned int n = 0;

	while (n < MAX_HOLD && open(hold, O_RDONLY) >= 0)
		n++;
	if (n < MAX_HOLD && errno != EMFILE && errno != ENFILE)
		die("%s: open: %s", hold, strerror(errno));
	return n;
}

int main(int argc, char **argv)
{
	unsigned int threads, held = 0;
	pthread_t *tids;
	char buf[64];
	double t;

	if (argc != 3 && argc != 4)
		die("usage: migbench-storm THREADS FILE [HOLD]");
	threads = (unsigned int)parse_count(argv[1], "THREADS");
	path = argv[2];
	if (argc == 4)
		held = hold_open(argv[3]);
	tids = calloc(threads, sizeof(*tids));
	if (!tids)
		die("no memory");
	t = now_sec();
	for (unsigned int i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, stat_loop, NULL))
			die("cannot start a thread");
	printf("ready %u\n", held);
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	print_result(stats, now_sec() - t);
	free(tids);
	return 0;
}
