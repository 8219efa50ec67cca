// SPDX-License-Identifier: MIT
/*
 * `data`: the migration stream.  Saving reads go through the session's
 * read-ahead (pump.c) in STOP_COPY and straight to the device elsewhere;
 * resuming writes are answered before their load where writebehind.c
 * allows.
 */
#include <errno.h>

#include "vfio-migfsd.h"

/*
 * `data` has one opener at a time.  RELEASE comes asynchronously after the
 * last close, so a script's next `cat data` could still find the last one
 * open; FLUSH comes synchronously with every close.  So a close gives up
 * the claim, and a handle still open elsewhere (a dup) claims it again on
 * its next read or write, if nobody else took it in between.
 */
int data_open(struct mount *m, struct handle *h)
{
	int err = migdev_data_open(m->dev);

	h->claimed = !err;
	return err;
}

void data_unclaim(struct mount *m, struct handle *h)
{
	pthread_mutex_lock(&h->lock);
	if (h->claimed)
		migdev_data_release(m->dev);
	h->claimed = false;
	pthread_mutex_unlock(&h->lock);
}

static int claim(struct mount *m, struct handle *h)
{
	int err = 0;

	pthread_mutex_lock(&h->lock);
	if (!h->claimed)
		err = data_open(m, h);
	pthread_mutex_unlock(&h->lock);
	return err;
}

static void reply_io(fuse_req_t req, ssize_t n, const void *buf)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

/* Drop a pump whose session is over, or any (session 0); pump_lock held. */
static void pump_reap(struct mount *m, uint64_t session)
{
	if (m->pump && pump_session(m->pump) != session) {
		pump_end(m->pump);
		m->pump = NULL;
	}
}

void data_reap_all(struct mount *m)
{
	pthread_mutex_lock(&m->pump_lock);
	pump_reap(m, 0);
	pthread_mutex_unlock(&m->pump_lock);
}

/* Free a read-ahead whose session the device has left (by a store or alone). */
void data_reap_ended(struct mount *m)
{
	struct migdev_stream st = { 0 };
	enum mig_state s;

	pthread_mutex_lock(&m->pump_lock);
	if (m->pump && migdev_stream_bind(m->dev, &st, true, &s) == 0)
		pump_reap(m, st.session);
	else
		pump_reap(m, 0);
	pthread_mutex_unlock(&m->pump_lock);
}

/*
 * The pump for h's next read, started if the session is in STOP_COPY and
 * a read of it came back full (more is coming); until then a read of
 * STOP_COPY, *direct, goes straight to the device: most of what is left at
 * a switch-over fits one read, and a thread started for it would add its
 * start and a wake-up to the downtime.  pump_lock held.  A handle of the
 * pump's session is not checked again: the device lock would wait for the
 * pump's fill, and the pump's own reads check the session.
 */
static struct pump *pump_for(struct mount *m, struct handle *h, bool *direct, int *err)
{
	struct migdev_stream st;
	enum mig_state s;

	if (m->pump && pump_session(m->pump) == migdev_stream_session(&h->stream))
		return m->pump;
	*err = migdev_stream_bind(m->dev, &h->stream, true, &s);
	if (*err)
		return NULL;
	st.session = migdev_stream_session(&h->stream);
	pump_reap(m, st.session);
	if (!m->pump && s == MIG_STOP_COPY && m->pump_after == st.session)
		m->pump = pump_start(m->dev, &st);
	*direct = !m->pump && s == MIG_STOP_COPY;
	return m->pump;
}

/* A read of STOP_COPY came back full: read ahead from the next one on. */
static void pump_wanted(struct mount *m, uint64_t session)
{
	pthread_mutex_lock(&m->pump_lock);
	m->pump_after = session;
	pthread_mutex_unlock(&m->pump_lock);
}

/*
 * In STOP_COPY nothing but the reader decides how fast the stream goes, so
 * a pump reads it ahead (pump.c); elsewhere (PRE_COPY) the reader must see
 * what the device has now, and reads go straight to it.
 */
void data_read(fuse_req_t req, struct mount *m, struct handle *h, size_t size)
{
	void *buf = io_buffer();
	struct pump *p = NULL;
	bool direct = false;
	int err = buf ? claim(m, h) : -ENOMEM;
	ssize_t n;

	pthread_mutex_lock(&m->pump_lock);
	p = err ? NULL : pump_for(m, h, &direct, &err);
	if (p && !pump_read(p, req, size))
		pump_reap(m, 0);
	pthread_mutex_unlock(&m->pump_lock);
	if (err) {
		/* The device may have left the session on its own. */
		data_reap_ended(m);
		fuse_reply_err(req, -err);
	} else if (!p) {
		n = migdev_read(m->dev, &h->stream, buf, size);
		/* Once answered, h may be released by another worker. */
		if (direct && n == (ssize_t)size)
			pump_wanted(m, migdev_stream_session(&h->stream));
		reply_io(req, n, buf);
	}
}

/* All of it, or the device's error: the writer may have been answered. */
static int load(struct migdev *dev, struct handle *h, const char *buf,
		size_t size)
{
	while (size) {
		ssize_t n = migdev_write(dev, &h->stream, buf, size);

		if (n <= 0)
			return n ? (int)n : -EIO;
		buf += n;
		size -= (size_t)n;
	}
	return 0;
}

/*
 * Answered before its load where writebehind.c allows.  Only a write with
 * none ahead of it checks the session first: behind others the handle is
 * bound, the device lock would wait for their loads, and its own load
 * checks the session again.
 */
void data_write(fuse_req_t req, struct mount *m, struct handle *h,
		const char *buf, size_t size)
{
	struct wb_ticket t;
	enum mig_state s;
	int err = claim(m, h) ?: wb_enter(&m->wb, size, &t);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (t.alone)
		err = migdev_stream_bind(m->dev, &h->stream, false, &s);
	t.early = t.early && !err;
	if (t.early)
		fuse_reply_write(req, size);
	err = err ?: wb_turn(&m->wb, &t) ?: load(m->dev, h, buf, size);
	wb_leave(&m->wb, &t, err);
	if (t.early)
		return;
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}
