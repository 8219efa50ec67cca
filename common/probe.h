/* SPDX-License-Identifier: MIT */
/*
 * A question to a mount that may never be answered.  A FUSE daemon that is
 * stopped, or stuck in a driver's ioctl, holds every request to its mount,
 * and a process waiting on one cannot be woken: not even SIGKILL ends the
 * wait once the daemon has read the request, and a process exits only
 * when all its threads have.  So the question is asked by a child
 * process, and the caller waits for its answer until a deadline; a child
 * that did not answer is killed and left to init, never waited for.
 * Shared by the daemon (is the mount on its path alive?) and vfio-migctl
 * (status).  Forks: call it before the process holds large memory (each
 * page would be copy-on-write afterwards) and before it runs threads.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stddef.h>
#include <sys/types.h>

/* How long a mount may take to answer before it is called stuck. */
#define PROBE_TIMEOUT_MS	5000

/*
 * Runs in the child: ask path, leave the answer in buf (at most len
 * bytes) and return its length, or -errno.
 */
typedef ssize_t (*probe_ask)(const char *path, char *buf, size_t len);

struct probe {
	pid_t pid;
	int fd;			/* the answer's read end, -1 once complete */
	char *raw;		/* what the child wrote: its return value, buf */
	size_t got, cap;
	ssize_t result;		/* ask's return, -ETIMEDOUT or -errno */
	char *buf;		/* the caller's: the answer lands here */
	size_t len;
};

/* Ask in a child: 0, or -errno (and the probe holds nothing). */
int probe_start(struct probe *p, probe_ask ask, const char *path, char *buf, size_t len);
/*
 * Wait for every probe of v[n] until timeout_ms from now; then each holds
 * in result what its ask returned (and its answer in its buf), or
 * -ETIMEDOUT.
 */
void probe_wait(struct probe *v, size_t n, int timeout_ms);
/* One question, asked and waited for: ask's return, -ETIMEDOUT or -errno. */
ssize_t probe(probe_ask ask, const char *path, char *buf, size_t len, int timeout_ms);

#endif
