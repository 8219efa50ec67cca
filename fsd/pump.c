// SPDX-License-Identifier: MIT
/*
 * Read-ahead of a saving stream.  Served one request at a time, a save
 * alternates between the device filling a buffer and FUSE copying it to
 * the reader, and each waits for the other.  A pump runs the device side
 * on a thread of its own, one slot ahead: while a worker's writev copies
 * slot k to the reader, the thread fills slot k + 1.
 *
 * The slots form a ring: [head, tail) hold bytes not yet sent, the thread
 * fills slot tail, the worker sends from slot head.  The last slot the
 * thread fills holds the stream's end (0) or its error, which the reader
 * gets in its turn; the thread is then done.  A pump serves one session
 * and outlives the opens of `data` within it, so a reader that closes
 * half-way leaves the next opener exactly where it stopped.  The bytes
 * still in the slots when the session ends are dropped, as the kernel
 * drops what was not read from a data_fd.
 */
#include <pthread.h>
#include <stdlib.h>

#include "vfio-migfsd.h"

#define PUMP_SLOTS	2

struct slot {
	void *buf;
	ssize_t len;		/* bytes, or 0 at the end, or -errno */
	size_t sent;
};

struct pump {
	struct migdev *dev;
	struct migdev_stream stream;	/* bound to the session it serves */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t moved;		/* head or tail moved, or stop */
	struct slot slot[PUMP_SLOTS];
	unsigned int head, tail;
	bool stop;			/* the thread must leave */
};

static bool ring_full(const struct pump *p)
{
	return p->tail - p->head == PUMP_SLOTS;
}

static void *fill_slots(void *arg)
{
	struct pump *p = arg;
	ssize_t len = 1;

	pthread_mutex_lock(&p->lock);
	while (len > 0 && !p->stop) {
		struct slot *s = &p->slot[p->tail % PUMP_SLOTS];

		if (ring_full(p)) {
			pthread_cond_wait(&p->moved, &p->lock);
			continue;
		}
		/* Slot tail is the thread's alone until tail moves past it. */
		pthread_mutex_unlock(&p->lock);
		len = migdev_read(p->dev, &p->stream, s->buf, IO_SIZE);
		pthread_mutex_lock(&p->lock);
		s->len = len;
		s->sent = 0;
		p->tail++;
		pthread_cond_broadcast(&p->moved);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pump_free(struct pump *p)
{
	for (int i = 0; i < PUMP_SLOTS; i++)
		free(p->slot[i].buf);
	pthread_cond_destroy(&p->moved);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct pump *pump_start(struct migdev *dev, const struct migdev_stream *st)
{
	struct pump *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->dev = dev;
	p->stream = *st;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->moved, NULL);
	for (int i = 0; i < PUMP_SLOTS; i++) {
		p->slot[i].buf = malloc(IO_SIZE);
		if (!p->slot[i].buf)
			goto fail;
	}
	if (pthread_create(&p->thread, NULL, fill_slots, p))
		goto fail;
	return p;
fail:
	pump_free(p);
	return NULL;
}

uint64_t pump_session(const struct pump *p)
{
	return migdev_stream_session(&p->stream);
}

bool pump_read(struct pump *p, fuse_req_t req, size_t size)
{
	struct slot *s;

	pthread_mutex_lock(&p->lock);
	while (p->head == p->tail)
		pthread_cond_wait(&p->moved, &p->lock);
	s = &p->slot[p->head % PUMP_SLOTS];
	pthread_mutex_unlock(&p->lock);

	/* Slot head is the worker's until head moves past it. */
	if (s->len <= 0) {
		if (s->len < 0)
			fuse_reply_err(req, (int)-s->len);
		else
			fuse_reply_buf(req, NULL, 0);
		return false;
	}
	if (size > (size_t)s->len - s->sent)
		size = (size_t)s->len - s->sent;
	fuse_reply_buf(req, (char *)s->buf + s->sent, size);
	s->sent += size;
	if (s->sent == (size_t)s->len) {
		pthread_mutex_lock(&p->lock);
		p->head++;
		pthread_cond_broadcast(&p->moved);
		pthread_mutex_unlock(&p->lock);
	}
	return true;
}

void pump_end(struct pump *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->moved);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pump_free(p);
}
