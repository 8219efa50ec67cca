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
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "clock.h"
#include "vfio-migfsd.h"

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define LOG_WAIT_NS	1000000000ull	/* the longest a line waits for a stalled log */

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

static void field(struct log_line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void field(struct log_line *l, const char *fmt, ...)
{
	va_list ap;

	if (l->n == LOG_FIELDS)
		return;
	va_start(ap, fmt);
	if (vsnprintf(l->field[l->n], sizeof(l->field[l->n]), fmt, ap) >= 0)
		l->n++;
	va_end(ap);
}

/*
 * One line out at a time: libsystemd opens its journal socket on first use
 * with an atomic of its own that ThreadSanitizer cannot see, and lines of
 * workers interleave on stderr without it.  Its holder may be stuck in a
 * write (a stopped journald, a terminal held by ^S, a pipe nobody reads):
 * a line waits LOG_WAIT_NS for it, and once one gave up, none waits until
 * a line got out again, so that no thread (the one unmounting at SIGTERM
 * among them) is held by the log.  Lines given up are counted and said.
 */
static pthread_mutex_t emit_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stalled;
static atomic_uint_fast64_t unsent;

static bool take_emit_lock(void)
{
	struct timespec until;

	if (atomic_load(&stalled))
		return !pthread_mutex_trylock(&emit_lock);
	/* timedlock, not clocklock: the thread sanitizer sees only the former. */
	clock_gettime(CLOCK_REALTIME, &until);
	timespec_add_ns(&until, LOG_WAIT_NS);
	if (!pthread_mutex_timedlock(&emit_lock, &until))
		return true;
	atomic_store(&stalled, true);
	return false;
}

/*
 * With write(2), not stdio: exit(3) flushes every FILE (dprintf's own
 * too), so a line stuck in one would hold the end of the process.
 */
static void write_stderr(const struct log_line *l, const char *why)
{
	char line[sizeof(l->msg) + 256];
	size_t len, off = 0;
	ssize_t n;

	len = (size_t)snprintf(line, sizeof(line), "vfio-migfsd: %s%s%s\n", l->msg,
			       why ? ": " : "", why ? why : "");
	if (len >= sizeof(line)) {
		len = sizeof(line) - 1;
		line[len - 1] = '\n';
	}
	while (off < len) {
		n = write(STDERR_FILENO, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

static void send_locked(struct log_line *l)
{
	const char *why = l->err ? strerror(l->err) : NULL;
	struct iovec iov[LOG_FIELDS];

	switch (log_to) {
	case TO_JOURNAL:
		field(l, "MESSAGE=%s%s%s", l->msg, why ? ": " : "", why ? why : "");
		field(l, "PRIORITY=%d", l->pri);
		field(l, "SYSLOG_IDENTIFIER=vfio-migfsd");
		if (l->err)
			field(l, "ERRNO=%d", l->err);
		for (unsigned int i = 0; i < l->n; i++)
			iov[i] = (struct iovec){ l->field[i], strlen(l->field[i]) };
		sd_journal_sendv(iov, (int)l->n);
		break;
	case TO_SYSLOG:
		syslog(l->pri, "%s%s%s", l->msg, why ? ": " : "", why ? why : "");
		break;
	case TO_STDERR:
		write_stderr(l, why);
		break;
	}
}

void log_send(struct log_line *l)
{
	uint_fast64_t lost;

	if (!take_emit_lock()) {
		atomic_fetch_add(&unsent, 1);
		return;
	}
	atomic_store(&stalled, false);
	lost = atomic_exchange(&unsent, 0);
	if (lost) {
		struct log_line note = { .pri = LOG_WARNING };

		snprintf(note.msg, sizeof(note.msg), "%llu lines were not logged: the log "
			 "stalled (each mount's log file has its device's events)",
			 (unsigned long long)lost);
		send_locked(&note);
	}
	send_locked(l);
	pthread_mutex_unlock(&emit_lock);
}

static void vlog(int pri, const char *fmt, va_list ap, int err)
{
	struct log_line l = { .pri = pri, .err = err };
	int n = 0;

	if (log_from)
		n = snprintf(l.msg, sizeof(l.msg), "%s: ", log_from);
	vsnprintf(l.msg + n, sizeof(l.msg) - (size_t)n, fmt, ap);
	log_send(&l);
}

/*
 * A device's event, or a line of the daemon about a mount, made ready to
 * go out: it no longer needs the mount.  The errno travels as a field:
 * the line already names it.
 */
void log_event_line(struct log_line *l, const struct mount *m, const struct mig_event *ev)
{
	*l = (struct log_line){ .pri = ev->err ? LOG_WARNING : LOG_INFO };
	snprintf(l->msg, sizeof(l->msg), "%s: %s", m->mountpoint, ev->message);
	field(l, "DEVICE=%s", m->dev->name);
	field(l, "MOUNTPOINT=%s", m->mountpoint);
	field(l, "STATE=%s", mig_state_name(ev->state));
	if (ev->transition) {
		field(l, "FROM=%s", mig_state_name(ev->from));
		field(l, "TO=%s", mig_state_name(ev->to));
	}
	if (ev->err)
		field(l, "ERRNO=%d", -ev->err);
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
