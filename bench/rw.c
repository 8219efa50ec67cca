// SPDX-License-Identifier: MIT
/*
 * migbench-rw: timed reads and writes through files, the client side of
 * every benchmark that goes through a mount.  Prints "AMOUNT SECONDS".
 *
 *   read BUFSIZE FILE...      read each FILE to its end in BUFSIZE reads, one
 *                             thread per file, all started at once; bytes
 *                             and the time until the last one finished
 *   write BUFSIZE FILE SOURCE write the bytes of SOURCE into FILE in BUFSIZE
 *                             chunks; bytes
 *   toggle N FILE WORD WORD   N times: open FILE, write the next WORD and a
 *                             newline, close (as `echo WORD > FILE`); N
 *   paired N FILE BASE WORD WORD
 *                             the same N writes through one open of FILE,
 *                             each at the offset the last one left (as
 *                             `exec 5>FILE; echo WORD >&5`, or vfio-migctl
 *                             during a migration), and as many to BASE, in
 *                             turns (both words to one, then to the other)
 *                             so that both see the same moments of a busy
 *                             machine; prints "N SECONDS BASE_SECONDS",
 *                             each file's own, opening not timed
 *
 * The timed span includes opening and closing: a client cannot skip them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"

struct reader {
	pthread_t tid;
	const char *path;
	size_t bufsize;
	void *buf;
	uint64_t bytes;
	pthread_barrier_t *start;
};

static void *read_file(void *arg)
{
	struct reader *r = arg;
	ssize_t n;
	int fd;

	pthread_barrier_wait(r->start);
	fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", r->path, strerror(errno));
	while ((n = read(fd, r->buf, r->bufsize)) > 0)
		r->bytes += (uint64_t)n;
	if (n < 0)
		die("%s: read: %s", r->path, strerror(errno));
	close(fd);
	return NULL;
}

static void cmd_read(size_t bufsize, char **paths, unsigned int n)
{
	struct reader *r = calloc(n, sizeof(*r));
	pthread_barrier_t start;
	uint64_t total = 0;
	double t;

	if (!r)
		die("no memory");
	pthread_barrier_init(&start, NULL, n + 1);
	for (unsigned int i = 0; i < n; i++) {
		r[i] = (struct reader){ .path = paths[i], .bufsize = bufsize,
					.buf = touched_buffer(bufsize), .start = &start };
		if (pthread_create(&r[i].tid, NULL, read_file, &r[i]))
			die("cannot start a reader thread");
	}
	pthread_barrier_wait(&start);
	t = now_sec();
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(r[i].tid, NULL);
		total += r[i].bytes;
		free(r[i].buf);
	}
	t = now_sec() - t;
	pthread_barrier_destroy(&start);
	free(r);
	print_result(total, t);
}

struct writer {
	int fd;
	const char *path;
};

static void write_all(void *ctx, const char *p, size_t len)
{
	const struct writer *w = ctx;

	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n <= 0)
			die("%s: write: %s", w->path, n ? strerror(errno) : "no progress");
		p += n;
		len -= (size_t)n;
	}
}

static void cmd_write(size_t bufsize, const char *path, const char *source)
{
	struct writer w = { .path = path };
	char *buf = touched_buffer(bufsize);
	uint64_t total;
	double t = now_sec();

	w.fd = open(path, O_WRONLY | O_CLOEXEC);
	if (w.fd < 0)
		die("%s: %s", path, strerror(errno));
	total = feed_file(source, buf, bufsize, write_all, &w);
	close(w.fd);
	t = now_sec() - t;
	free(buf);
	print_result(total, t);
}

static int open_or_die(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	return fd;
}

/* The two words, each with its newline, as echo writes them. */
static void lines_of(char **words, char text[2][64])
{
	for (int i = 0; i < 2; i++)
		snprintf(text[i], sizeof(text[i]), "%s\n", words[i]);
}

static void cmd_toggle(uint64_t n, const char *path, char **words)
{
	char text[2][64];
	double t;
	int fd;

	lines_of(words, text);
	t = now_sec();
	for (uint64_t i = 0; i < n; i++) {
		fd = open_or_die(path);
		write_all(&(struct writer){ fd, path }, text[i % 2], strlen(text[i % 2]));
		close(fd);
	}
	print_result(n, now_sec() - t);
}

/* Both words to fd, timed. */
static double timed_pair(int fd, const char *path, char text[2][64])
{
	double t = now_sec();

	for (int i = 0; i < 2; i++)
		write_all(&(struct writer){ fd, path }, text[i], strlen(text[i]));
	return now_sec() - t;
}

static void cmd_paired(uint64_t n, const char *path, const char *base, char **words)
{
	int fd = open_or_die(path), bfd = open_or_die(base);
	double t = 0, tb = 0;
	char text[2][64];
	uint64_t done = 0;

	lines_of(words, text);
	for (; done < n; done += 2) {
		t += timed_pair(fd, path, text);
		tb += timed_pair(bfd, base, text);
	}
	close(fd);
	close(bfd);
	printf("%llu %.9f %.9f\n", (unsigned long long)done, t, tb);
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "read"))
		cmd_read(parse_count(argv[2], "BUFSIZE"), argv + 3, (unsigned int)argc - 3);
	else if (argc == 5 && !strcmp(argv[1], "write"))
		cmd_write(parse_count(argv[2], "BUFSIZE"), argv[3], argv[4]);
	else if (argc == 6 && !strcmp(argv[1], "toggle"))
		cmd_toggle(parse_count(argv[2], "N"), argv[3], argv + 4);
	else if (argc == 7 && !strcmp(argv[1], "paired"))
		cmd_paired(parse_count(argv[2], "N"), argv[3], argv[4], argv + 5);
	else
		die("usage: migbench-rw read BUFSIZE FILE... | write BUFSIZE FILE SOURCE |"
		    " toggle N FILE WORD WORD | paired N FILE BASE WORD WORD");
	return 0;
}
