// SPDX-License-Identifier: MIT
/*
 * What the device layer tells: the change counters behind poll(2), the
 * history behind `log` (and the sink that sends it on, to the journal),
 * and the failures behind `last_error`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "parse.h"

uint64_t migdev_events(struct migdev *dev, bool state_only)
{
	return __atomic_load_n(state_only ? &dev->state_events : &dev->events,
			       __ATOMIC_ACQUIRE);
}

void migdev_set_notify(struct migdev *dev, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&dev->lock);
	dev->notify = fn;
	dev->notify_arg = arg;
	pthread_mutex_unlock(&dev->lock);
}

void migdev_bump(struct migdev *dev, bool state)
{
	if (state)
		__atomic_add_fetch(&dev->state_events, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&dev->events, 1, __ATOMIC_RELEASE);
	if (dev->notify)
		dev->notify(dev->notify_arg);
}

void migdev_set_sink(struct migdev *dev,
		     void (*fn)(void *arg, const struct mig_event *ev), void *arg)
{
	pthread_mutex_lock(&dev->lock);
	dev->sink = fn;
	dev->sink_arg = arg;
	pthread_mutex_unlock(&dev->lock);
}

/* The line goes to the history and, with ev's fields, to the sink. */
static void vevent(struct migdev *dev, struct mig_event *ev,
		   const char *fmt, va_list ap)
{
	char line[MIG_HISTORY_LINE];

	vsnprintf(line, sizeof(line), fmt, ap);
	history_add(&dev->history, line);
	if (dev->sink) {
		ev->message = line;
		dev->sink(dev->sink_arg, ev);
	}
	migdev_bump(dev, false);
}

void migdev_event_with_locked(struct migdev *dev, struct mig_event ev,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vevent(dev, &ev, fmt, ap);
	va_end(ap);
}

void migdev_event_locked(struct migdev *dev, const char *fmt, ...)
{
	struct mig_event ev = { .state = dev->state };
	va_list ap;

	va_start(ap, fmt);
	vevent(dev, &ev, fmt, ap);
	va_end(ap);
}

void migdev_event(struct migdev *dev, const char *fmt, ...)
{
	struct mig_event ev;
	va_list ap;

	pthread_mutex_lock(&dev->lock);
	ev = (struct mig_event){ .state = dev->state };
	va_start(ap, fmt);
	vevent(dev, &ev, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&dev->lock);
}

void migdev_log_bounds(struct migdev *dev, uint64_t *first, uint64_t *end)
{
	pthread_mutex_lock(&dev->lock);
	history_bounds(&dev->history, first, end);
	pthread_mutex_unlock(&dev->lock);
}

size_t migdev_log_read(struct migdev *dev, uint64_t *pos, void *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&dev->lock);
	n = history_read(&dev->history, pos, buf, len);
	pthread_mutex_unlock(&dev->lock);
	return n;
}

static int vfail(struct migdev *dev, int err, const char *fmt, va_list ap)
{
	const char *name = errno_name(-err);
	int n;

	n = vsnprintf(dev->last_error, sizeof(dev->last_error), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(dev->last_error))
		snprintf(dev->last_error + n, sizeof(dev->last_error) - (size_t)n,
			 ": %s (%s)", strerror(-err), name ? name : "?");
	dev->last_error_usec = now_usec();
	__atomic_add_fetch(&dev->failures, 1, __ATOMIC_RELEASE);
	migdev_event_with_locked(dev, (struct mig_event){ .state = dev->state, .err = err },
		   "error: %s", dev->last_error);
	return err;
}

uint64_t migdev_failures(struct migdev *dev)
{
	return __atomic_load_n(&dev->failures, __ATOMIC_ACQUIRE);
}

/* At most 40 bytes of a written value, on one printable line. */
static void quote_value(const char *value, char *out, size_t len)
{
	size_t n = 0;

	for (; *value && n + 4 < len; value++) {
		if (*value == '\n' && !value[1])
			break;
		out[n++] = *value >= ' ' && *value < 0x7f ? *value : '?';
	}
	if (*value && value[1])
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n] = '\0';
}

void migdev_refused(struct migdev *dev, uint64_t before, const char *file,
		    const char *value, int err)
{
	const char *name = errno_name(-err);
	char quoted[48];

	quote_value(value, quoted, sizeof(quoted));
	pthread_mutex_lock(&dev->lock);
	if (migdev_failures(dev) != before)
		;	/* the store said why itself */
	else if (dev->state == MIG_ERROR)
		migdev_event_locked(dev, "write to %s refused: '%s': %s (%s)", file, quoted,
			     strerror(-err), name ? name : "?");
	else
		migdev_fail_locked(dev, err, "write to %s refused: '%s'", file, quoted);
	pthread_mutex_unlock(&dev->lock);
}

int migdev_fail_locked(struct migdev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(dev, err, fmt, ap);
	va_end(ap);
	return err;
}

int migdev_fail(struct migdev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&dev->lock);
	va_start(ap, fmt);
	vfail(dev, err, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&dev->lock);
	return err;
}
