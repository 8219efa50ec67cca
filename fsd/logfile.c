// SPDX-License-Identifier: MIT
/*
 * `log`: the device's history read as a stream whose offsets stay put
 * when the ring drops its oldest lines (backend/history.c).  An open file
 * sees the stream from an origin of its own, the first byte kept when it
 * opened: file offset off is stream offset origin + off.  A reader that
 * falls behind the ring (or starts again at offset 0) skips what was
 * dropped by moving its origin up, so its offsets stay contiguous and
 * `cat` reads the lines kept from offset 0.
 *
 * stat(2) comes without the open file, so it reports the longest view an
 * open file has: a `tail -f` then never finds the size it polls below its
 * own offset, which it would take for a truncation.  lseek(SEEK_END)
 * comes with the open file (FUSE_GETATTR_FH) and gets that file's size,
 * as `tail -n` and `less` need.
 */
#include <errno.h>
#include <stdint.h>

#include "vfio-migfsd.h"

static uint64_t origin_of(const struct handle *h)
{
	return __atomic_load_n(&h->origin, __ATOMIC_RELAXED);
}

void logfile_open(struct mount *m, struct handle *h)
{
	uint64_t first, end;

	migdev_log_bounds(m->dev, &first, &end);
	__atomic_store_n(&h->origin, first, __ATOMIC_RELAXED);
}

/* An origin only moves up, and never past the first byte kept. */
off_t logfile_size(struct mount *m, const struct handle *h)
{
	uint64_t first, end, origin;

	migdev_log_bounds(m->dev, &first, &end);
	origin = first;
	if (h) {
		origin = origin_of(h);
	} else {
		pthread_mutex_lock(&m->open_lock);
		for (const struct handle *o = m->open; o; o = o->next)
			if (o->node && o->node->kind == NODE_LOG && origin_of(o) < origin)
				origin = origin_of(o);
		pthread_mutex_unlock(&m->open_lock);
	}
	return (off_t)(end - (origin < first ? origin : first));
}

void logfile_read(fuse_req_t req, struct mount *m, struct handle *h,
		  size_t size, off_t off)
{
	void *buf = fs_io_buffer();
	uint64_t origin, want, pos;
	size_t n = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Workers serving one open file move its origin one at a time. */
	pthread_mutex_lock(&h->lock);
	if (off == 0)
		poll_rendered(m, h);
	origin = origin_of(h);
	if ((uint64_t)off <= UINT64_MAX - origin) {
		want = pos = origin + (uint64_t)off;
		n = migdev_log_read(m->dev, &pos, buf, size);
		if (pos != want)
			__atomic_store_n(&h->origin, origin + (pos - want), __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&h->lock);
	fuse_reply_buf(req, buf, n);
}
