// SPDX-License-Identifier: MIT
/*
 * vfio-migctl watch [--interval MS] [--count N] DIR
 *
 * Live progress of one device.  An open `status` wakes poll(2) at every
 * change it shows (ABI 6.2), but bytes moving through `data` are no such
 * change, so the wait also ends every --interval to show them move.  A
 * terminal gets one line redrawn in place; anything else a timestamped
 * line per change, for logs; with --count, a line per look (vmstat's
 * count), so that N lines come on an idle device too.  The wait also
 * watches standard output: a reader that went away (| head -1) ends the
 * watch at once, not at a next line that an idle device may never give.
 * With --json each line is a record of the same numbers.
 */
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
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
	uint64_t count;		/* lines to show, one per look; 0 no limit, a line per change */
	bool tty;		/* redraw in place */
	bool json;		/* --json: records, never redrawn */
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

/* What a look shows. */
struct look {
	const struct dev_status *st;
	double mib_s;
	bool precopy;			/* and its numbers: */
	uint64_t initial, dirty;
};

static void describe(struct watch *w, const struct dev_status *st, struct look *l,
		     char *line, size_t len)
{
	int n;

	l->st = st;
	l->mib_s = rate(w, st);
	n = snprintf(line, len, "%s, saved %" PRIu64 ", resumed %" PRIu64 ", %.1f MiB/s",
		     st->state, st->bytes_saved, st->bytes_resumed, l->mib_s);
	/* A device that has just left pre_copy has no precopy (ENODATA): left out. */
	l->precopy = !strncmp(st->state, "pre_copy", 8) &&
		     devdir_precopy(w->dir, &l->initial, &l->dirty) == 0;
	if (l->precopy && n > 0 && (size_t)n < len)
		snprintf(line + n, len - (size_t)n, ", initial %" PRIu64 ", dirty %" PRIu64,
			 l->initial, l->dirty);
}

/* The look as a record: {"type": "watch", "time", "dir", "state", ...}. */
static void show_json(const struct watch *w, const struct look *l)
{
	char when[TIMESTAMP_SIZE];
	struct json j;

	timestamp_now(when, sizeof(when));
	json_begin(&j, stdout, "watch");
	json_str(&j, "time", when);
	json_str(&j, "dir", w->dir);
	json_str(&j, "state", l->st->state);
	json_u64(&j, "bytes_saved", l->st->bytes_saved);
	json_u64(&j, "bytes_resumed", l->st->bytes_resumed);
	json_u64(&j, "rate", (uint64_t)(l->mib_s * (1 << 20)));
	if (l->precopy) {
		json_u64(&j, "initial_bytes", l->initial);
		json_u64(&j, "dirty_bytes", l->dirty);
	} else {
		json_null(&j, "initial_bytes");
		json_null(&j, "dirty_bytes");
	}
	json_end(&j);
	if (ferror(stdout))
		fatal("writing the output");
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
	struct look look;
	char line[sizeof(w->shown)];
	int err = dev_status_read(w->fd, &st);

	if (err)
		return err;
	describe(w, &st, &look, line, sizeof(line));
	if (!w->count && !strcmp(line, w->shown))
		return 0;
	if (w->json)
		show_json(w, &look);
	else
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

/*
 * Sleep until `status` changes, the interval ends or a signal comes; or
 * until the reader of standard output goes away (a pipe's writing end
 * polls POLLERR then, a socket's or terminal's POLLHUP; a file never
 * does): the watch then ends as a filter does, by SIGPIPE.
 */
static void wait_change(const struct watch *w, const sigset_t *asleep)
{
	/* POLLIN is always there, as on sysfs: a change is POLLPRI (and POLLERR). */
	struct pollfd pfd[2] = { { .fd = w->fd, .events = POLLPRI },
				 { .fd = STDOUT_FILENO } };
	struct timespec timeout = { .tv_sec = w->interval_ms / 1000,
				    .tv_nsec = (long)(w->interval_ms % 1000) * 1000000 };

	if (ppoll(pfd, 2, &timeout, asleep) < 0 && errno != EINTR)
		fatal("poll %s/status", w->dir);
	if (pfd[1].revents & (POLLERR | POLLHUP))
		raise(SIGPIPE);
}

/* Below the line redrawn in place goes the last word, if any, then the prompt. */
static void finish(const struct watch *w, const char *last)
{
	struct json j;

	if (w->json && last) {
		json_begin(&j, stdout, "end");
		json_str(&j, "dir", w->dir);
		json_str(&j, "reason", last);
		json_end(&j);
		return;
	}
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
		{ "json", no_argument, NULL, 'j' },
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
		case 'j':
			w.json = true;
			break;
		}
	}
	if (argc - optind != 1)
		usage_error("watch takes one DIR");
	w.dir = argv[optind];
	devdir_require(w.dir);
	err = dev_status_open(w.dir, &w.fd);
	if (err)
		return status_error(w.dir, err);
	if (fstat(w.fd, &st))
		fatal("%s/status", w.dir);
	w.dev = st.st_dev;
	w.tty = !w.json && isatty(STDOUT_FILENO);
	transfer_signals();
	/* A reader that went away (| head) ends the watch, as for any filter. */
	signal(SIGPIPE, SIG_DFL);
	err = run(&w);
	close(w.fd);
	return err;
}
