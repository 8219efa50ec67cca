// SPDX-License-Identifier: MIT
/*
 * The generic device layer: policy shared by every backend.  Backends
 * perform direct arcs; this file walks combination arcs, refuses what the
 * kernel would get wrong, finds out where a device really is after a
 * failure, and keeps data sessions apart.  What it tells (events, the
 * history, failures) is events.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "parse.h"

int migdev_init(struct migdev *dev, const struct migdev_ops *ops,
		const struct migdev_log_ops *log_ops, const char *spec,
		unsigned int flags)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = strdup(spec);
	if (!dev->name)
		return -ENOMEM;
	dev->ops = ops;
	dev->log_ops = log_ops;
	dev->flags = flags;
	dev->state = MIG_RUNNING;
	dev->log.page_size = 4096;
	dev->log.bitmap_max = MIG_DIRTY_BITMAP_MAX;
	pthread_mutex_init(&dev->log.lock, NULL);
	dev->stats.last_from = dev->stats.last_to = MIG_RUNNING;
	pthread_mutex_init(&dev->lock, NULL);
	return 0;
}

void migdev_opened_in(struct migdev *dev, enum mig_state found)
{
	migdev_event(dev, "opened in %s (left there by its last user): reset to running",
		     mig_state_name(found));
}

void migdev_close(struct migdev *dev)
{
	if (!dev)
		return;
	/*
	 * Tracking must not outlive us: the process that owns the device
	 * (a VMM handing it over) would find the device logging busy, or a
	 * type1 container logging since long ago.
	 */
	if (dev->log.tracking)
		dev->log_ops->log_stop(dev);
	for (unsigned int i = 0; i < MIG_MAX_RANGES; i++)
		free(dev->log.frozen[i]);
	pthread_mutex_destroy(&dev->log.lock);
	history_free(&dev->history);
	pthread_mutex_destroy(&dev->lock);
	free(dev->name);
	dev->ops->destroy(dev);
}

static bool in_session(enum mig_state s)
{
	return mig_state_saving(s) || s == MIG_RESUMING;
}

static void end_session(struct migdev *dev)
{
	bool saving = dev->state != MIG_RESUMING;

	if (!dev->session)
		return;
	migdev_event_locked(dev, "session %llu ended: %llu bytes %s",
		     (unsigned long long)dev->session,
		     (unsigned long long)(saving ? dev->stats.bytes_saved :
					  dev->stats.bytes_resumed),
		     saving ? "saved" : "resumed");
	dev->session = 0;
}

/*
 * Sessions begin on entering the saving group or RESUMING, end on leaving.
 * Only our own arcs begin one: a device found there (handed over in
 * stop_copy, or moved by someone else) has its data_fd elsewhere, and a
 * session we cannot read or write is no session of ours.
 */
static void note_state(struct migdev *dev, enum mig_state s, bool ours)
{
	bool was = in_session(dev->state), is = in_session(s);
	bool flip = (dev->state == MIG_RESUMING) != (s == MIG_RESUMING);

	if (!is || flip)
		end_session(dev);
	if (is && (!was || flip) && !ours)
		migdev_event_locked(dev, "no session: the device entered %s without us "
			     "(its data stream is not ours); reset it, or leave %s, "
			     "to begin one", mig_state_name(s), mig_state_name(s));
	if (is && (!was || flip) && ours) {
		dev->session = ++dev->sessions;
		dev->stats.bytes_saved = dev->stats.bytes_resumed = 0;
		migdev_event_locked(dev, "session %llu began: %s",
			     (unsigned long long)dev->session,
			     s == MIG_RESUMING ? "resuming" : "saving");
	}
	dev->state = s;
	migdev_bump(dev, true);
}

/* Ask the device where it is; a device that cannot say is in error. */
static enum mig_state refresh_state(struct migdev *dev)
{
	enum mig_state s;

	if (dev->ops->get_state(dev, &s))
		s = MIG_ERROR;
	if (s != dev->state) {
		migdev_event_with_locked(dev, (struct mig_event){ .state = s, .transition = true,
						    .from = dev->state, .to = s },
			   "the device is in %s (was %s)",
			   mig_state_name(s), mig_state_name(dev->state));
		note_state(dev, s, false);
	}
	return dev->state;
}

enum mig_state migdev_state(struct migdev *dev)
{
	enum mig_state s;

	pthread_mutex_lock(&dev->lock);
	s = refresh_state(dev);
	pthread_mutex_unlock(&dev->lock);
	return s;
}

/* Reasons a transition is refused before any arc reaches the device. */
static int check_target(struct migdev *dev, enum mig_state cur,
			enum mig_state target)
{
	enum mig_state next;

	if (target == MIG_ERROR || (unsigned int)target >= MIG_NR_STATES)
		return migdev_fail_locked(dev, -EINVAL, "%s cannot be requested",
				   mig_state_name(target));
	if (cur == MIG_ERROR)
		return -EINVAL;	/* keep the cause in last_error */
	if (!mig_state_supported(dev->flags, target))
		return migdev_fail_locked(dev, -EOPNOTSUPP, "device has no %s state",
				   mig_state_name(target));
	if (mig_next_state(dev->flags, cur, target, &next))
		return migdev_fail_locked(dev, -EINVAL, "%s -> %s is not a valid arc",
				   mig_state_name(cur), mig_state_name(target));
	return 0;
}

static int walk_arcs(struct migdev *dev, enum mig_state target,
		     unsigned int *steps)
{
	enum mig_state next;
	int err;

	while (dev->state != target) {
		if (mig_next_state(dev->flags, dev->state, target, &next))
			return migdev_fail_locked(dev, -EINVAL, "%s -> %s refused",
					   mig_state_name(dev->state),
					   mig_state_name(target));
		err = dev->ops->set_state(dev, next);
		if (err) {
			enum mig_state from = dev->state;

			refresh_state(dev);
			migdev_fail_locked(dev, err, "%s -> %s failed, device is in %s",
				    mig_state_name(from), mig_state_name(next),
				    mig_state_name(dev->state));
			return -EIO;
		}
		note_state(dev, next, true);
		(*steps)++;
	}
	return 0;
}

int migdev_set_state(struct migdev *dev, enum mig_state target)
{
	unsigned int steps = 0;
	enum mig_state from;
	uint64_t t0;
	int err;

	pthread_mutex_lock(&dev->lock);
	from = refresh_state(dev);
	err = check_target(dev, from, target);
	if (err)
		goto out;
	t0 = now_usec();
	dev->stats.attempts++;
	err = walk_arcs(dev, target, &steps);
	dev->stats.last_from = from;
	dev->stats.last_to = target;
	dev->stats.last_steps = steps;
	dev->stats.last_usec = now_usec() - t0;
	dev->stats.last_result = err;
	if (!err)
		dev->stats.transitions++;
	migdev_event_with_locked(dev, (struct mig_event){ .state = dev->state, .transition = true,
					    .from = from, .to = target, .err = err },
		   "transition %s -> %s: %u arcs, %llu us, %s",
		   mig_state_name(from), mig_state_name(target), steps,
		   (unsigned long long)dev->stats.last_usec,
		   err ? errno_name(-err) : "ok");
out:
	pthread_mutex_unlock(&dev->lock);
	return err;
}

int migdev_reset(struct migdev *dev)
{
	int err;

	pthread_mutex_lock(&dev->lock);
	err = dev->ops->reset(dev);
	if (err)
		migdev_fail_locked(dev, err, "reset failed");
	/* A reset ends the session even if the state looks unchanged. */
	end_session(dev);
	if (refresh_state(dev) != MIG_RUNNING && !err)
		err = migdev_fail_locked(dev, -EIO, "reset left the device in %s",
				  mig_state_name(dev->state));
	if (!err)
		migdev_event_locked(dev, "reset: the device is in running");
	pthread_mutex_unlock(&dev->lock);
	return err ? -EIO : 0;
}

int migdev_data_open(struct migdev *dev)
{
	int err = 0;

	pthread_mutex_lock(&dev->lock);
	if (dev->data_open)
		err = -EBUSY;
	else
		dev->data_open = true;
	pthread_mutex_unlock(&dev->lock);
	return err;
}

void migdev_data_release(struct migdev *dev)
{
	pthread_mutex_lock(&dev->lock);
	dev->data_open = false;
	pthread_mutex_unlock(&dev->lock);
}

/*
 * Bind a stream to the current session on first use; a stream whose
 * session has ended never sees another one.
 */
static int stream_check(struct migdev *dev, struct migdev_stream *st,
			bool saving, int wrong_state)
{
	enum mig_state s = refresh_state(dev);
	uint64_t bound = migdev_stream_session(st);

	if (bound && bound != dev->session)
		return -ESTALE;
	if (!dev->session || (saving ? !mig_state_saving(s) : s != MIG_RESUMING))
		return wrong_state;
	__atomic_store_n(&st->session, dev->session, __ATOMIC_RELAXED);
	return 0;
}

int migdev_stream_bind(struct migdev *dev, struct migdev_stream *st,
		       bool saving, enum mig_state *state)
{
	int err;

	pthread_mutex_lock(&dev->lock);
	err = stream_check(dev, st, saving, saving ? -ENODATA : -EPERM);
	*state = dev->state;
	pthread_mutex_unlock(&dev->lock);
	return err;
}

/* The backend says the session is gone: believe the device, not us. */
static ssize_t stream_error(struct migdev *dev, ssize_t n, const char *what)
{
	if (n == -ENODEV) {
		refresh_state(dev);
		if (dev->session)
			migdev_event_locked(dev, "session %llu is gone (the device says ENODEV)",
				     (unsigned long long)dev->session);
		end_session(dev);
		return -ESTALE;
	}
	return migdev_fail_locked(dev, (int)n, "%s", what);
}

/* The stream moved n bytes: count them, and say when (stat of `data`). */
static void moved(uint64_t *count, ssize_t n, struct timespec *at)
{
	*count += (uint64_t)n;
	clock_gettime(CLOCK_REALTIME, at);
}

ssize_t migdev_read(struct migdev *dev, struct migdev_stream *st,
		    void *buf, size_t len)
{
	ssize_t n;

	pthread_mutex_lock(&dev->lock);
	n = stream_check(dev, st, true, -ENODATA);
	if (n)
		goto out;
	n = dev->ops->save_read(dev, buf, len);
	if (n == -ENOMSG && dev->state != MIG_STOP_COPY)
		n = 0;		/* nothing more for now */
	else if (n > 0)
		moved(&dev->stats.bytes_saved, n, &dev->stats.data_at);
	else if (n < 0)
		n = stream_error(dev, n, "reading the saving stream");
out:
	pthread_mutex_unlock(&dev->lock);
	return n;
}

ssize_t migdev_write(struct migdev *dev, struct migdev_stream *st,
		     const void *buf, size_t len)
{
	ssize_t n;

	pthread_mutex_lock(&dev->lock);
	n = stream_check(dev, st, false, -EPERM);
	if (n)
		goto out;
	n = dev->ops->resume_write(dev, buf, len);
	if (n > 0)
		moved(&dev->stats.bytes_resumed, n, &dev->stats.data_at);
	else if (n < 0)
		n = stream_error(dev, n, "the device refused the resume data");
out:
	pthread_mutex_unlock(&dev->lock);
	return n;
}

int migdev_precopy(struct migdev *dev, uint64_t *initial, uint64_t *dirty)
{
	int err = -ENODATA;

	pthread_mutex_lock(&dev->lock);
	refresh_state(dev);
	if (dev->session &&
	    (dev->state == MIG_PRE_COPY || dev->state == MIG_PRE_COPY_P2P))
		err = dev->ops->precopy_info(dev, initial, dirty);
	pthread_mutex_unlock(&dev->lock);
	return err;
}

int migdev_data_size(struct migdev *dev, uint64_t *bytes)
{
	int err = -EOPNOTSUPP;

	pthread_mutex_lock(&dev->lock);
	if (dev->ops->data_size)
		err = dev->ops->data_size(dev, bytes);
	pthread_mutex_unlock(&dev->lock);
	return err;
}

struct timespec migdev_data_at(struct migdev *dev)
{
	struct timespec at;

	pthread_mutex_lock(&dev->lock);
	at = dev->stats.data_at;
	pthread_mutex_unlock(&dev->lock);
	return at;
}

int migdev_attr_show(struct migdev *dev, const struct mig_attr *a,
		     struct strbuf *sb)
{
	int err;

	pthread_mutex_lock(&dev->lock);
	err = a->show(dev, sb);
	pthread_mutex_unlock(&dev->lock);
	return err;
}

int migdev_attr_store(struct migdev *dev, const struct mig_attr *a,
		      const char *buf)
{
	int err;

	pthread_mutex_lock(&dev->lock);
	err = a->store(dev, buf);
	pthread_mutex_unlock(&dev->lock);
	return err;
}

static const char *session_kind(const struct migdev *dev)
{
	if (!dev->session && in_session(dev->state))
		return "none (the device entered it without us: no data stream)";
	if (!dev->session)
		return "none";
	return dev->state == MIG_RESUMING ? "resuming" : "saving";
}

static int show_last_transition(const struct migdev *dev, struct strbuf *sb)
{
	const struct migdev_stats *st = &dev->stats;
	const char *result = "ok";

	if (!st->attempts)
		return sb_printf(sb, "last_transition: none\n");
	if (st->last_result)
		result = errno_name(-st->last_result) ? errno_name(-st->last_result) : "failed";
	return sb_printf(sb, "last_transition: %s -> %s, %u arcs, %llu us, %s\n",
			 mig_state_name(st->last_from), mig_state_name(st->last_to),
			 st->last_steps, (unsigned long long)st->last_usec, result);
}

int migdev_status(struct migdev *dev, struct strbuf *sb)
{
	const struct migdev_stats *st = &dev->stats;
	char features[64];
	int err;

	pthread_mutex_lock(&dev->lock);
	refresh_state(dev);
	mig_features_format(dev->flags, features, sizeof(features));
	err = sb_printf(sb,
		"device: %s\nbackend: %s\nstate: %s\nfeatures: %s\n"
		"session: %s\nbytes_saved: %llu\nbytes_resumed: %llu\n"
		"transitions: %llu\n",
		dev->name, dev->ops->name, mig_state_name(dev->state), features,
		session_kind(dev),
		(unsigned long long)st->bytes_saved,
		(unsigned long long)st->bytes_resumed,
		(unsigned long long)st->transitions);
	err = err ? err : show_last_transition(dev, sb);
	err = err ? err : sb_printf(sb, "dirty_tracking: %s (%s)\nlast_error: %s\n",
		migdev_dirty_tracking(dev) ? "on" : "off",
		dev->ops->dirty_mechanism ? dev->ops->dirty_mechanism(dev) : "none",
		dev->last_error[0] ? dev->last_error : "none");
	if (!err && dev->last_error[0])
		err = sb_printf(sb, "last_error_age: %llu s\n",
				(unsigned long long)((now_usec() - dev->last_error_usec) / 1000000));
	pthread_mutex_unlock(&dev->lock);
	return err;
}
