// SPDX-License-Identifier: MIT
/*
 * hammer [-bs] FILE THREADS ROUNDS [write VALUE]: open FILE once and, from
 * THREADS threads started together, pread(2) 1 MiB at offset 0 (or
 * write VALUE) ROUNDS times each, all through that one open file, as FUSE
 * then hands the requests to different workers at once.  `data` cannot
 * seek: it is read(2) on, and so is FILE with -s (`log`, followed).
 *
 * Reads: every answer must be a whole rendering of a text file (it ends
 * with a newline), or any count with -b (binary: a bitmap, `data`);
 * prints the bytes read in all.
 * An errno other than those listed with -e ERRNO (repeatable) fails.
 * Exit 0 when every call answered as allowed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_SIZE	(1024 * 1024)
#define MAX_ALLOWED	8

static int fd, rounds, nallowed;
static int allowed[MAX_ALLOWED];
static const char *value;	/* NULL: read */
static bool text = true;	/* reads must end with a newline */
static bool stream;		/* `data` and -s: read(2), not pread(2) */
static pthread_barrier_t start;
static unsigned long long total;
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool allowed_errno(int err)
{
	for (int i = 0; i < nallowed; i++)
		if (allowed[i] == err)
			return true;
	return false;
}

static void note(ssize_t n, const char *buf, int err)
{
	pthread_mutex_lock(&lock);
	if (n < 0 && !allowed_errno(err)) {
		fprintf(stderr, "hammer: %s\n", strerror(err));
		failures++;
	} else if (n > 0 && !value && text && buf[n - 1] != '\n') {
		fprintf(stderr, "hammer: a read of %zd bytes is not a whole value\n", n);
		failures++;
	} else if (n > 0) {
		total += (unsigned long long)n;
	}
	pthread_mutex_unlock(&lock);
}

static void *run(void *arg)
{
	char *buf = malloc(READ_SIZE);

	(void)arg;
	if (!buf)
		abort();
	pthread_barrier_wait(&start);
	for (int i = 0; i < rounds; i++) {
		ssize_t n;

		if (value)
			n = write(fd, value, strlen(value));
		else if (stream)
			n = read(fd, buf, READ_SIZE);
		else
			n = pread(fd, buf, READ_SIZE, 0);
		note(n, buf, errno);
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	int opt, nthreads;
	pthread_t *t;

	while ((opt = getopt(argc, argv, "bse:")) != -1) {
		if (opt == 'b')
			text = false;
		else if (opt == 's')
			stream = true;
		else if (opt != 'e' || nallowed == MAX_ALLOWED)
			return 2;
		else
			allowed[nallowed++] = atoi(optarg);
	}
	argv += optind;
	argc -= optind;
	if (argc != 3 && !(argc == 5 && !strcmp(argv[3], "write"))) {
		fprintf(stderr, "usage: hammer [-bs] [-e ERRNO]... FILE THREADS ROUNDS [write VALUE]\n");
		return 2;
	}
	value = argc == 5 ? argv[4] : NULL;
	stream = stream || !strcmp(strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0], "data");
	fd = open(argv[0], value ? O_WRONLY : O_RDONLY);
	nthreads = atoi(argv[1]);
	rounds = atoi(argv[2]);
	if (fd < 0 || nthreads < 1 || rounds < 1) {
		fprintf(stderr, "hammer: %s: %s\n", argv[0], fd < 0 ? strerror(errno) : "bad counts");
		return 2;
	}
	t = calloc((size_t)nthreads, sizeof(*t));
	pthread_barrier_init(&start, NULL, (unsigned int)nthreads);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	if (close(fd) && !allowed_errno(errno)) {
		fprintf(stderr, "hammer: close: %s\n", strerror(errno));
		failures++;
	}
	printf("%llu\n", total);
	free(t);
	return failures ? 1 : 0;
}
