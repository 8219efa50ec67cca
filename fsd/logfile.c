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
 *
 * The longest view is the least origin: the mount keeps its open files of
 * `log` in a heap by origin, so that a stat costs the same with 80000 of
 * them open (each open, move and release costs log2 of their number).
 * The mount's log_lock guards the heap and each file's slot in it; an
 * origin moves under both its file's lock and log_lock.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "vfio-migfsd.h"

static uint64_t origin_of(const struct handle *h)
{
	return __atomic_load_n(&h->origin, __ATOMIC_RELAXED);
}

static void heap_set(struct mount *m, unsigned int i, struct handle *h)
{
	m->log_heap[i] = h;
	h->log_slot = i;
}

/* Move the file at slot i up or down to its place: least origin on top. */
static void heap_fix_locked(struct mount *m, unsigned int i)
{
	struct handle *h = m->log_heap[i];
	unsigned int c;

	while (i > 0 && origin_of(m->log_heap[(i - 1) / 2]) > origin_of(h)) {
		heap_set(m, i, m->log_heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	while ((c = 2 * i + 1) < m->log_open) {
		if (c + 1 < m->log_open &&
		    origin_of(m->log_heap[c + 1]) < origin_of(m->log_heap[c]))
			c++;
		if (origin_of(m->log_heap[c]) >= origin_of(h))
			break;
		heap_set(m, i, m->log_heap[c]);
		i = c;
	}
	heap_set(m, i, h);
}

int logfile_open(struct mount *m, struct handle *h)
{
	uint64_t first, end;
	int err = 0;

	migdev_log_bounds(m->dev, &first, &end);
	__atomic_store_n(&h->origin, first, __ATOMIC_RELAXED);
	pthread_mutex_lock(&m->log_lock);
	if (m->log_open == m->log_room) {
		unsigned int room = m->log_room ? 2 * m->log_room : 16;
		struct handle **heap = reallocarray(m->log_heap, room, sizeof(*heap));

		if (heap) {
			m->log_heap = heap;
			m->log_room = room;
		} else {
			err = -ENOMEM;
		}
	}
	if (!err) {
		heap_set(m, m->log_open++, h);
		heap_fix_locked(m, h->log_slot);
	}
	pthread_mutex_unlock(&m->log_lock);
	return err;
}

void logfile_release(struct mount *m, struct handle *h)
{
	unsigned int i = h->log_slot;

	pthread_mutex_lock(&m->log_lock);
	if (i != --m->log_open) {
		heap_set(m, i, m->log_heap[m->log_open]);
		heap_fix_locked(m, i);
	}
	if (!m->log_open) {
		free(m->log_heap);
		m->log_heap = NULL;
		m->log_room = 0;
	}
	pthread_mutex_unlock(&m->log_lock);
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
		pthread_mutex_lock(&m->log_lock);
		if (m->log_open)
			origin = origin_of(m->log_heap[0]);
		pthread_mutex_unlock(&m->log_lock);
	}
	return (off_t)(end - (origin < first ? origin : first));
}

static void move_origin(struct mount *m, struct handle *h, uint64_t origin)
{
	pthread_mutex_lock(&m->log_lock);
	__atomic_store_n(&h->origin, origin, __ATOMIC_RELAXED);
	heap_fix_locked(m, h->log_slot);
	pthread_mutex_unlock(&m->log_lock);
}

void logfile_read(fuse_req_t req, struct mount *m, struct handle *h,
		  size_t size, off_t off)
{
	void *buf = io_buffer();
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
			move_origin(m, h, origin + (pos - want));
	}
	pthread_mutex_unlock(&h->lock);
	fuse_reply_buf(req, buf, n);
}
