// SPDX-License-Identifier: MIT
/* Questions to a mount asked by a child, waited for until a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

/*
 * The child: ask, write the return value then the answer, and go.  It
 * keeps no other file open: a child stuck for good must not hold the
 * caller's (a pipe its reader waits to see closed, a lock).
 */
static void __attribute__((noreturn)) child(int fd, probe_ask ask, const char *path,
					     char *buf, size_t len)
{
	ssize_t r, done = 0, n = 0;

	if (fd)
		close_range(0, (unsigned int)fd - 1, 0);
	close_range((unsigned int)fd + 1, ~0u, 0);
	r = ask(path, buf, len);
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	while (r > 0 && done < r && (n = write(fd, buf + done, (size_t)(r - done))) > 0)
		done += n;
	_exit(n < 0);
}

int probe_start(struct probe *p, probe_ask ask, const char *path, char *buf, size_t len)
{
	int fds[2];

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->cap = sizeof(ssize_t) + len;
	if (!(p->raw = malloc(p->cap)))
		return -ENOMEM;
	if (pipe2(fds, O_CLOEXEC)) {
		free(p->raw);
		return -errno;
	}
	p->pid = fork();
	if (p->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		free(p->raw);
		return -errno;
	}
	if (p->pid == 0) {
		close(fds[0]);
		child(fds[1], ask, path, buf, len);
	}
	close(fds[1]);
	p->fd = fds[0];
	p->buf = buf;
	p->len = len;
	p->result = -ETIMEDOUT;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child closed its end: take its answer, and reap it. */
static void complete(struct probe *p)
{
	ssize_t r;

	close(p->fd);
	p->fd = -1;
	waitpid(p->pid, NULL, 0);
	if (p->got < sizeof(r)) {
		p->result = -EIO;	/* it died before answering */
		return;
	}
	memcpy(&r, p->raw, sizeof(r));
	if (r > 0 && ((size_t)r > p->len || p->got != sizeof(r) + (size_t)r))
		r = -EIO;
	if (r > 0)
		memcpy(p->buf, p->raw + sizeof(r), (size_t)r);
	p->result = r;
}

/* Read what a probe's child wrote; complete it at the end. */
static void take(struct probe *p)
{
	ssize_t n = p->got < p->cap ? read(p->fd, p->raw + p->got, p->cap - p->got) : 0;

	if (n > 0)
		p->got += (size_t)n;
	else if (n == 0 || errno != EINTR)
		complete(p);
}

/* The deadline passed: kill it, and reap it only if it is already gone. */
static void abandon(struct probe *p)
{
	if (p->fd < 0)
		return;
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, WNOHANG);
	close(p->fd);
	p->fd = -1;
	p->result = -ETIMEDOUT;
}

void probe_wait(struct probe *v, size_t n, int timeout_ms)
{
	struct pollfd *pfd = calloc(n ? n : 1, sizeof(*pfd));
	int64_t deadline = now_ms() + timeout_ms, left;
	size_t open;

	for (;;) {
		open = 0;
		for (size_t i = 0; i < n; i++)
			if (v[i].fd >= 0 && pfd)
				pfd[open++] = (struct pollfd){ .fd = v[i].fd, .events = POLLIN };
		left = deadline - now_ms();
		if (!open || left <= 0 || !pfd)
			break;
		if (poll(pfd, open, (int)left) < 0 && errno != EINTR)
			break;
		for (size_t i = 0, j = 0; i < n; i++)
			if (v[i].fd >= 0 && pfd[j++].revents)
				take(&v[i]);
	}
	for (size_t i = 0; i < n; i++) {
		abandon(&v[i]);
		if (!pfd)
			v[i].result = -ENOMEM;
		free(v[i].raw);
		v[i].raw = NULL;
	}
	free(pfd);
}

ssize_t probe(probe_ask ask, const char *path, char *buf, size_t len, int timeout_ms)
{
	struct probe p;
	int err = probe_start(&p, ask, path, buf, len);

	if (err)
		return err;
	probe_wait(&p, 1, timeout_ms);
	return p.result;
}
