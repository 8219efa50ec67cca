// SPDX-License-Identifier: MIT
/*
 * The stalled log (fsd/log.c), in the foreground: a line waits LOG_WAIT_NS
 * for a holder stuck writing to stderr, the next ones do not wait at all,
 * and the first line out again says how many were given up.  Stderr is a
 * full pipe nobody reads; no sleep guesses when the holder is stuck: the
 * kernel says so.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "vfio-migfsd.h"

#define MS	1000000ull
#define S	(1000 * MS)

static atomic_int first_tid;

static void *first_line(void *arg)
{
	(void)arg;
	atomic_store(&first_tid, gettid());
	log_warnx("first");	/* stuck in write(2), holding emit_lock */
	return NULL;
}

/*
 * Whether tid sleeps in the kernel writing to a pipe: its wchan is
 * "anon_pipe_write" on recent kernels (6.18 here), "pipe_write" on older
 * ones.  Only the line's write(2) under emit_lock writes to the pipe.
 */
static bool in_pipe_write(pid_t tid, char *wchan, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, wchan, size - 1);
	close(fd);
	wchan[n > 0 ? n : 0] = '\0';
	return strstr(wchan, "pipe_write");
}

static bool wait_stuck(char *wchan, size_t size)
{
	uint64_t until = now_ns() + 10 * S;
	pid_t tid;

	strcpy(wchan, "(thread not started)");
	while (now_ns() < until) {
		tid = atomic_load(&first_tid);
		if (tid && in_pipe_write(tid, wchan, size))
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * Fills a pipe: halves the write each time it does not fit, down to one
 * byte, so that the page a big write left part empty is full too and any
 * line blocks.
 */
static void fill(int fd)
{
	static char junk[65536];

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (size_t n = sizeof(junk); n;)
		if (write(fd, junk, n) < 0)
			n /= 2;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
}

/* What the (nonblocking) pipe holds; text keeps the first size - 1 bytes. */
static void drain(int fd, char *text, size_t size)
{
	char buf[4096];
	size_t len = 0, k;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		k = (size_t)n < size - 1 - len ? (size_t)n : size - 1 - len;
		memcpy(text + len, buf, k);
		len += k;
	}
	text[len] = '\0';
}

static void test_stall(void **state)
{
	uint64_t t, second = 0, third = 0;
	char wchan[64], text[1024];
	bool started, stuck = false;
	const char *note;
	int saved, p[2];
	pthread_t a;

	(void)state;
	unsetenv("JOURNAL_STREAM");
	log_init(true);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);

	/*
	 * cmocka reports a failure on stderr, which would block on the full
	 * pipe: until stderr is back, only measure.
	 */
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	fill(STDERR_FILENO);
	started = !pthread_create(&a, NULL, first_line, NULL);
	if (started)
		stuck = wait_stuck(wchan, sizeof(wchan));
	if (stuck) {
		t = now_ns();
		log_warnx("second");	/* waits LOG_WAIT_NS, gives up */
		second = now_ns() - t;
		t = now_ns();
		log_warnx("third");	/* the log is known stalled: no wait */
		third = now_ns() - t;
	}
	/* Room for the first line; then it is out and read too. */
	drain(p[0], text, sizeof(text));
	if (started)
		pthread_join(a, NULL);
	drain(p[0], text, sizeof(text));
	log_warnx("after");
	drain(p[0], text, sizeof(text));
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[0]);

	if (!stuck)
		fail_msg("the first line did not block writing to the full pipe within 10 s "
			 "(wchan: \"%s\")", wchan);
	assert_in_range(second, 900 * MS, 2500 * MS - 1);
	assert_in_range(third, 0, 500 * MS - 1);
	/* The prefix makes the count exactly 2: the second and third lines. */
	note = strstr(text, "vfio-migfsd: 2 lines were not logged: the log stalled");
	if (!note || !strstr(note, "vfio-migfsd: after\n"))
		fail_msg("after the stall the log read \"%s\"", text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stall),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
