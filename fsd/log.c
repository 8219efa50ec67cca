// SPDX-License-Identifier: MIT
/*
 * Diagnostics and device events.  In the foreground: stderr, unless
 * systemd connected stderr to the journal.  Daemonized: the journal when
 * it listens, else syslog.  The journal gets structured fields (DEVICE=,
 * MOUNTPOINT=, FROM=, TO=, ERRNO=), so `journalctl -t vfio-migfsd` can
 * follow one device.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "vfio-migfsd.h"

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define MAX_FIELDS	10

enum log_to { TO_STDERR, TO_SYSLOG, TO_JOURNAL };

static enum log_to log_to;
static const char *log_from;	/* log_where(); only before the threads */

/* systemd names the stream it gave us as stderr in JOURNAL_STREAM=DEV:INO. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
	       !fstat(STDERR_FILENO, &st) && st.st_dev == dev && st.st_ino == ino;
}

void log_init(bool foreground)
{
	if (stderr_is_journal() || (!foreground && !access(JOURNAL_SOCKET, W_OK)))
		log_to = TO_JOURNAL;
	else
		log_to = foreground ? TO_STDERR : TO_SYSLOG;
	if (log_to == TO_SYSLOG)
		openlog("vfio-migfsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_where(const char *where)
{
	log_from = where;
}

struct fields {
	struct iovec iov[MAX_FIELDS];
	char text[MAX_FIELDS][640];
	unsigned int n;
};

static void field(struct fields *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void field(struct fields *f, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (f->n == MAX_FIELDS)
		return;
	va_start(ap, fmt);
	len = vsnprintf(f->text[f->n], sizeof(f->text[f->n]), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	f->iov[f->n].iov_base = f->text[f->n];
	f->iov[f->n].iov_len = strnlen(f->text[f->n], sizeof(f->text[f->n]));
	f->n++;
}

/*
 * One line out at a time: libsystemd opens its journal socket on first use
 * with an atomic of its own that ThreadSanitizer cannot see, and lines of
 * workers interleave on stderr without it.
 */
static pthread_mutex_t emit_lock = PTHREAD_MUTEX_INITIALIZER;

/* msg goes out; f holds the fields beyond MESSAGE and PRIORITY. */
static void emit(int pri, const char *msg, int err, struct fields *f)
{
	const char *why = err ? strerror(err) : NULL;

	pthread_mutex_lock(&emit_lock);
	switch (log_to) {
	case TO_JOURNAL:
		field(f, "MESSAGE=%s%s%s", msg, why ? ": " : "", why ? why : "");
		field(f, "PRIORITY=%d", pri);
		field(f, "SYSLOG_IDENTIFIER=vfio-migfsd");
		if (err)
			field(f, "ERRNO=%d", err);
		sd_journal_sendv(f->iov, (int)f->n);
		break;
	case TO_SYSLOG:
		syslog(pri, "%s%s%s", msg, why ? ": " : "", why ? why : "");
		break;
	case TO_STDERR:
		fprintf(stderr, "vfio-migfsd: %s%s%s\n", msg, why ? ": " : "",
			why ? why : "");
		break;
	}
	pthread_mutex_unlock(&emit_lock);
}

static void vlog(int pri, const char *fmt, va_list ap, int err)
{
	struct fields f = { .n = 0 };
	char msg[512];
	int n = 0;

	if (log_from)
		n = snprintf(msg, sizeof(msg), "%s: ", log_from);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	emit(pri, msg, err, &f);
}

/*
 * A device's event (struct migdev's sink), or a line of the daemon about
 * a mount.  The errno travels as a field: the line already names it.
 */
void log_event(void *arg, const struct mig_event *ev)
{
	const struct mount *m = arg;
	struct fields f = { .n = 0 };
	char msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", m->mountpoint, ev->message);
	field(&f, "DEVICE=%s", m->dev->name);
	field(&f, "MOUNTPOINT=%s", m->mountpoint);
	field(&f, "STATE=%s", mig_state_name(ev->state));
	if (ev->transition) {
		field(&f, "FROM=%s", mig_state_name(ev->from));
		field(&f, "TO=%s", mig_state_name(ev->to));
	}
	if (ev->err)
		field(&f, "ERRNO=%d", -ev->err);
	emit(ev->err ? LOG_WARNING : LOG_INFO, msg, 0, &f);
}

void log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, err);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, err);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void usage_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	/* In a configuration file, a bad option is an error of the file. */
	exit(log_from ? 1 : EXIT_USAGE);
}
