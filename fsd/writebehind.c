// SPDX-License-Identifier: MIT
/*
 * Write-behind of a resuming stream.  Answered only once the device has
 * taken its bytes, a write keeps the writer waiting through the load, and
 * the next write cannot even start its copy into the daemon.  So a write
 * is answered first and loaded after, on the same worker, from the same
 * buffer (it stays the worker's until the handler returns): the writer's
 * next write crosses FUSE while this one loads.  No copy, no thread.
 *
 * Writes keep their order with tickets: a write takes one before it is
 * answered, so the next write (sent only after that answer) takes the
 * next one, and each loads in its turn.  At most WB_EARLY writes are
 * answered ahead of their load; a further one waits, loads and is answered
 * with its own result, so a resuming device holds at most WB_EARLY + 1
 * workers.  A refused write that was already answered leaves its error
 * pending: the next write or close(2) of `data` reports it, and nothing
 * after a refusal is loaded until it has been reported.
 *
 * Writes under WB_MIN are answered after their load, as before: little
 * would overlap, and a shell's `echo x > data` never sees close(2) fail
 * (bash does not check it), while cat's short last write of a stream then
 * reports any refusal of the ones before.
 */
#include <errno.h>

#include "vfio-migfsd.h"

#define WB_EARLY	2
#define WB_MIN		(64 * 1024)

void wb_init(struct writebehind *wb)
{
	pthread_mutex_init(&wb->lock, NULL);
	pthread_cond_init(&wb->moved, NULL);
}

/* Take err, the first error not yet reported; lock held. */
static int take_error(struct writebehind *wb)
{
	int err = wb->error;

	wb->error = 0;
	return err;
}

int wb_enter(struct writebehind *wb, size_t size, struct wb_ticket *t)
{
	int err;

	pthread_mutex_lock(&wb->lock);
	err = take_error(wb);
	if (!err) {
		t->alone = wb->taken == wb->loaded;
		t->early = size >= WB_MIN && wb->taken - wb->loaded < WB_EARLY;
		t->seq = wb->taken++;
	}
	pthread_mutex_unlock(&wb->lock);
	return err;
}

int wb_turn(struct writebehind *wb, const struct wb_ticket *t)
{
	int err;

	pthread_mutex_lock(&wb->lock);
	while (wb->loaded != t->seq)
		pthread_cond_wait(&wb->moved, &wb->lock);
	/* An answered write cannot report it: leave it for the next one. */
	err = t->early ? wb->error : take_error(wb);
	pthread_mutex_unlock(&wb->lock);
	return err;
}

void wb_leave(struct writebehind *wb, const struct wb_ticket *t, int err)
{
	pthread_mutex_lock(&wb->lock);
	if (err && t->early && !wb->error)
		wb->error = err;
	wb->loaded++;
	pthread_cond_broadcast(&wb->moved);
	pthread_mutex_unlock(&wb->lock);
}

int wb_drain(struct writebehind *wb, bool report)
{
	int err;

	pthread_mutex_lock(&wb->lock);
	while (wb->loaded != wb->taken)
		pthread_cond_wait(&wb->moved, &wb->lock);
	err = report ? take_error(wb) : 0;
	pthread_mutex_unlock(&wb->lock);
	return err;
}
