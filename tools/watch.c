// SPDX-License-Identifier: MIT
/*
 * vfio-migctl watch [--interval MS] [--count N] DIR
 *
 * Live progress of one device.  An open `status` wakes poll(2) at every
 * change it shows (ABI 6.2), but bytes moving through `data` are no such
 * change, so the wait also ends every --interval to show them move.  A
 * terminal gets one line redrawn in place; anything else a timestamped
 * line per change, for logs.
 */
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"
#include "timestamp.h"
#include "vfio-migctl.h"

#define DEFAULT_INTERVAL_MS	1000
#define MAX_INTERVAL_MS		(24 * 3600 * 1000)

struct watch {
	const char *dir;
	int fd;			/* DIR/status, polled */
	dev_t dev;		/* the mount's, to see it go */
	int interval_ms;
	uint64_t count;		/* lines to show, 0 no limit */
	bool tty;		/* redraw in place */
	char shown[256];	/* the last line shown (its text, not its time) */
	uint64_t bytes, t;	/* bytes moved at the last look, and when */
};

/* The rate since the last look, in MiB/s; counters restart with a session. */
static double rate(struct watch *w, const struct dev_status *st)
{
	uint64_t bytes = st->bytes_saved + st->bytes_resumed, t = now_usec();
	double mib_s = w->t && bytes > w->bytes && t > w->t ?
		(double)(bytes - w->bytes) / (1 << 20) / ((double)(t - w->t) / 1e6) : 0;

	w->bytes = bytes;
	w->t = t;
	return mib_s;
}

static void describe(struct watch *w, const struct dev_status *st, char *line, size_t len)
{
	uint64_t initial, dirty;
	int n = snprintf(line, len, "%s, saved %" PRIu64 ", resumed %" PRIu64 ", %.1f MiB/s",
			 st->state, st->bytes_saved, st->bytes_resumed, rate(w, st));

	/* A device that has just left pre_copy has no precopy (ENODATA): left out. */
	if (!strncmp(st->state, "pre_copy", 8) && n > 0 && (size_t)n < len &&
	    devdir_precopy(w->dir, &initial, &dirty) == 0)
		snprintf(line + n, len - (size_t)n, ", initial %" PRIu64 ", dirty %" PRIu64,
			 initial, dirty);
}

static void show(const struct watch *w, const char *line)
{
	char when[TIMESTAMP_SIZE];

	if (w->tty) {
		printf("\r\033[K%s", line);
	} else {
		timestamp_now(when, sizeof(when));
		printf("%s %s\n", when, line);
	}
	if (fflush(stdout))
		fatal("writing the output");
}

/* 1 if the line changed and was shown, 0 if not, or -errno. */
static int refresh(struct watch *w)
{
	struct dev_status st;
	char line[sizeof(w->shown)];
	int err = dev_status_read(w->fd, &st);

	if (err)
		return err;
	describe(w, &st, line, sizeof(line));
	if (!strcmp(line, w->shown))
		return 0;
	show(w, line);
	strcpy(w->shown, line);
	return 1;
}

/*
 * Whether DIR is still the mount being watched, given how the last read
 * of `status` went.  The end of the daemon fails reads with ENOTCONN (stat
 * may still answer from the kernel's cache).  After `umount -l` the open
 * `status` keeps the detached mount alive, so reads still work, but DIR
 * shows the filesystem below it.
 */
static bool mounted(const struct watch *w, int read_err)
{
	struct stat st;

	return !devdir_gone_error(read_err) && stat(w->dir, &st) == 0 &&
	       st.st_dev == w->dev;
}

/* Sleep until `status` changes, the interval ends or a signal comes. */
static void wait_change(const struct watch *w, const sigset_t *asleep)
{
	/* POLLIN is always there, as on sysfs: a change is POLLPRI (and POLLERR). */
	struct pollfd pfd = { .fd = w->fd, .events = POLLPRI };
	struct timespec timeout = { .tv_sec = w->interval_ms / 1000,
				    .tv_nsec = (long)(w->interval_ms % 1000) * 1000000 };

	if (ppoll(&pfd, 1, &timeout, asleep) < 0 && errno != EINTR)
		fatal("poll %s/status", w->dir);
}

/* Below the line redrawn in place goes the last word, if any, then the prompt. */
static void finish(const struct watch *w, const char *last)
{
	if (w->tty && w->shown[0])
		putchar('\n');
	if (last && w->tty)
		puts(last);
	else if (last)
		show(w, last);
}

static int run(struct watch *w)
{
	char gone[PATH_MAX + 32];
	sigset_t signals, asleep;
	uint64_t lines = 0;
	int got;

	/* Blocked but while asleep: a signal can never slip in before the wait. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &signals, &asleep);
	while (!interrupted && (!w->count || lines < w->count)) {
		got = refresh(w);
		if (devdir_gone_error(got) && devdir_gone(w->dir)) {
			finish(w, NULL);
			return status_error(w->dir, got);
		}
		if (!mounted(w, got)) {
			snprintf(gone, sizeof(gone), "%s is no longer mounted", w->dir);
			finish(w, gone);
			return 0;
		}
		if (got < 0) {
			finish(w, NULL);
			return status_error(w->dir, got);
		}
		lines += (uint64_t)got;
		if (!w->count || lines < w->count)
			wait_change(w, &asleep);
	}
	finish(w, NULL);
	return 0;
}

static void parse_number(const char *opt, const char *arg, uint64_t max, uint64_t *v)
{
	if (parse_u64(arg, v, 0) || !*v || *v > max)
		usage_error("%s takes 1 to %" PRIu64 ", not '%s'", opt, max, arg);
}

int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct watch w = { .interval_ms = DEFAULT_INTERVAL_MS };
	struct stat st;
	uint64_t interval;
	int c, err;

	while ((c = next_option(argc, argv, longopts)) != -1) {
		switch (c) {
		case 'i':
			parse_number("--interval", optarg, MAX_INTERVAL_MS, &interval);
			w.interval_ms = (int)interval;
			break;
		case 'c':
			parse_number("--count", optarg, UINT64_MAX, &w.count);
			break;
		}
	}
	if (argc - optind != 1)
		usage_error("watch takes one DIR");
	w.dir = argv[optind];
	err = dev_status_open(w.dir, &w.fd);
	if (err)
		return status_error(w.dir, err);
	if (fstat(w.fd, &st))
		fatal("%s/status", w.dir);
	w.dev = st.st_dev;
	w.tty = isatty(STDOUT_FILENO);
	transfer_signals();
	/* A reader that went away (| head) ends the watch, as for any filter. */
	signal(SIGPIPE, SIG_DFL);
	err = run(&w);
	close(w.fd);
	return err;
}
