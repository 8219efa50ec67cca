// SPDX-License-Identifier: MIT
/*
 * What the transfer commands (save, load, migrate and their set forms)
 * share around the engines: the signals that cut a transfer short, the
 * exit status of a failure, the stream's files, and the summary lines.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "vfio-migctl.h"

/*
 * Set by the handler transfer_signals installs.  The engines check it,
 * and hand it to the stream's reader and writer as their cancel flag: a
 * signal that comes while a write to a pipe is blocked ends that write
 * with what it had written, and the next one would block again.
 */
atomic_int interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

void transfer_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/*
	 * Every signal that would end the process and can be caught, but the
	 * faults (a fault is a bug: nothing is safe to run after it) and
	 * SIGABRT: a lost terminal (SIGHUP), a reader gone (SIGPIPE), a
	 * limit (SIGXCPU) roll back as Ctrl-C does.  No SA_RESTART: a blocked
	 * write to a pipe returns to be checked.
	 */
	static const int sigs[] = {
		SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2,
		SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR,
	};

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaction(sig, &sa, NULL);
}

int interrupt_error(struct errmsg *e)
{
	const char *name = sigabbrev_np(interrupted);

	return errmsg_set(e, -EINTR, "interrupted by SIG%s", name ? name : "?");
}

int transfer_failed(enum recovery worst)
{
	if (worst == NOT_RECOVERED)
		return EXIT_DEVICE_ERROR;
	if (worst == RECOVERED_BY_RESET)
		return EXIT_STATE_LOST;
	return interrupted ? EXIT_SIGNAL + interrupted : EXIT_FAILURE;
}

int claim_failed(const char *cmd, const char *dir, int err, const struct errmsg *e)
{
	if (devdir_gone_error(err))
		return daemon_gone(cmd, dir);
	fprintf(stderr, "vfio-migctl: %s: %s\n", cmd, e->text);
	return EXIT_FAILURE;
}

void claim_device(const char *cmd, const char *dir)
{
	struct errmsg e = { "" };
	int err;

	devdir_require(dir);
	err = devdir_claim(dir, &e);
	if (err)
		exit(claim_failed(cmd, dir, err, &e));
}

/*
 * After the commit point: the one line, what failed, what was done, and
 * where each device was left; EXIT_COMMITTED.
 */
int commit_failed(const char *cmd, const struct errmsg *why, const char *done,
		  const char *const *dirs, unsigned int n)
{
	struct errmsg e = { "" };

	errmsg_set(&e, 0, "%s; after the commit point: %s, nothing was rolled back",
		   why->text, done);
	for (unsigned int i = 0; i < n; i++)
		devdir_left(dirs[i], &e);
	fprintf(stderr, "vfio-migctl: %s: %s\n", cmd, e.text);
	return EXIT_COMMITTED;
}

FILE *summary_file(bool stream_on_stdout)
{
	return stream_on_stdout ? stderr : stdout;
}

void save_summary(const struct save_stats *st, char *buf, size_t len)
{
	static const char *const why[] = {
		[PRECOPY_NONE] = "no precopy",
		[PRECOPY_CONVERGED] = "converged",
		[PRECOPY_DOWNTIME] = "within the downtime limit",
		[PRECOPY_MAX_ROUNDS] = "at the round limit",
		[PRECOPY_FORCED] = "at the round limit, over the downtime limit (forced)",
	};

	snprintf(buf, len, "%" PRIu64 " precopy in %u rounds, %s, %" PRIu64 " stop_copy",
		 st->precopy_bytes, st->rounds, why[st->end], st->stopcopy_bytes);
}

int open_output(const char *file, bool *created)
{
	struct stat st;
	int fd;

	*created = false;
	if (!strcmp(file, "-")) {
		if (isatty(STDOUT_FILENO))
			usage_error("will not write a stream to a terminal (give a FILE or a pipe)");
		return STDOUT_FILENO;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st))
		fatal("%s", file);
	/* A failed save removes the file: not a FIFO, nor /dev/null. */
	*created = S_ISREG(st.st_mode);
	return fd;
}

void stream_describe(struct stream_device *d, const char *dir)
{
	d->features = devdir_features(dir);
	device_name(dir, d->source, sizeof(d->source));
}

/*
 * The input, and its size when it has one (a regular file, also on
 * stdin): the progress line then shows how much is left.
 */
int open_input(const char *file, uint64_t *size)
{
	struct stat st;
	int fd;

	if (!strcmp(file, "-")) {
		if (isatty(STDIN_FILENO))
			usage_error("will not read a stream from a terminal (give a FILE or a pipe)");
		fd = STDIN_FILENO;
	} else if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		fatal("%s", file);
	}
	*size = !fstat(fd, &st) && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	return fd;
}

int data_sink_put(struct sink *s, uint32_t type, const void *buf, uint32_t len)
{
	(void)type;
	return write_all(((struct data_sink *)s)->fd, buf, len, &interrupted);
}
